"""The bitemporal projection tables against a replay of the log (the oracle).

A rich history is recorded through the service; then, for many random pairs
(day, known_at), what the tables answer must equal what replaying only the
events recorded by `known_at` and asking that aggregate about `day` gives."""

from __future__ import annotations

import os
import random
import secrets
import time
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta

import pytest

from lifecycle import commands as cmd
from lifecycle import numbering
from lifecycle.domain import Standard
from lifecycle.seed import seed
from lifecycle.vocabulary import ReviewOutcome
from projections.documents import record_time, rows_of
from projections.projector import event_at
from projections.queries import CatalogueFilter
from projections.rebuild import notifications, rebuild
from projections.schema import OPEN

D1, D2, R1, A1, A2, P1 = "d1", "d2", "r1", "a1", "a2", "p1"
NEVER_DRAFTED = "JGSW06099"


def C(text: str) -> numbering.StandardCode:
    return numbering.parse_code(text)


def _histories(svc, today: date) -> list[list]:
    """One list of steps per standard; the steps are run interleaved."""
    later = lambda n: today + timedelta(days=n)  # noqa: E731
    d = date

    def draft(code, title, actor=D1, **extra):
        c = C(code)
        return lambda: svc.handle(cmd.DraftStandard(category=c.category, sub_item=c.sub_item,
                                                    fields={"title": title, **extra}, actor=actor))

    def edit(code, actor=D2, **changes):
        return lambda: svc.handle(cmd.EditDraft(code=C(code), expected_version=None, changes=changes,
                                                actor=actor, reason="措辞修改"))

    def submit(code, actor=D1):
        return lambda: svc.handle(cmd.Submit(code=C(code), expected_version=None, actor=actor))

    def back(code, actor=R1):
        return lambda: svc.handle(cmd.RequestChanges(code=C(code), expected_version=None, actor=actor,
                                                     reason="请补充范围"))

    def approve(code, on, actor=A1):
        return lambda: svc.handle(cmd.Approve(code=C(code), expected_version=None, approved_on=on,
                                              actor=actor))

    def publish(code, issued, effective, trial=False, actor=P1):
        return lambda: svc.handle(cmd.Publish(code=C(code), expected_version=None, issued_on=issued,
                                              effective_on=effective, trial=trial, actor=actor))

    def revise(code, actor=D1, title=None):
        return lambda: svc.handle(cmd.OpenRevision(code=C(code), expected_version=None, actor=actor,
                                                   reason="修订：内容更新", title=title))

    def withdraw(code, on, actor=A2):
        return lambda: svc.handle(cmd.Withdraw(code=C(code), expected_version=None, withdrawn_on=on,
                                               actor=actor, reason="废止：不再适用"))

    def review(code, on, outcome, actor=A2):
        return lambda: svc.handle(cmd.Review(code=C(code), expected_version=None, reviewed_on=on,
                                             outcome=ReviewOutcome(outcome), actor=actor,
                                             reason=f"复审：{outcome}"))

    return [
        # seeded, approved 2018: issue, revise (changes requested once), review
        [publish("JGSW05001", d(2019, 3, 1), d(2019, 4, 1)), revise("JGSW05001"),
         edit("JGSW05001", summary="第二版"), submit("JGSW05001"), back("JGSW05001"),
         edit("JGSW05001", title="后勤服务管理标准 公务接待工作指南（修订）"), submit("JGSW05001"),
         approve("JGSW05001", d(2021, 5, 10)), publish("JGSW05001", d(2021, 6, 1), d(2021, 7, 1)),
         review("JGSW05001", d(2024, 3, 1), "confirm")],
        # seeded: issued on trial, withdrawn
        [publish("JGSW05002", d(2019, 1, 15), d(2019, 1, 15), trial=True),
         withdraw("JGSW05002", d(2020, 6, 30))],
        # seeded: revision takes effect in the future, withdrawn before it does
        [publish("JGSW05003", d(2019, 2, 1), d(2019, 3, 1)), revise("JGSW05003"), submit("JGSW05003"),
         approve("JGSW05003", d(2022, 1, 10)), publish("JGSW05003", d(2022, 2, 1), later(60)),
         withdraw("JGSW05003", later(30))],
        # seeded: withdrawn after its revision took effect
        [publish("JGSW05004", d(2019, 1, 1), d(2019, 2, 1)), revise("JGSW05004"), submit("JGSW05004"),
         approve("JGSW05004", d(2020, 2, 2)), publish("JGSW05004", d(2020, 3, 1), d(2020, 4, 1)),
         withdraw("JGSW05004", d(2023, 9, 9))],
        # seeded trial edition, revised into a formal one
        [revise("JGSW01001"), submit("JGSW01001"), approve("JGSW01001", d(2020, 6, 6)),
         publish("JGSW01001", d(2020, 7, 1), d(2020, 8, 1))],
        # a review that opens a revision, approved and not issued
        [draft("JGSW02001", "机关经费管理标准 预算编制"), edit("JGSW02001", level="item"),
         submit("JGSW02001"), approve("JGSW02001", d(2019, 7, 7)),
         publish("JGSW02001", d(2019, 8, 1), d(2020, 1, 1)),
         review("JGSW02001", d(2023, 5, 5), "revise"), edit("JGSW02001", actor=D1, summary="修订稿"),
         submit("JGSW02001"), approve("JGSW02001", d(2024, 2, 2))],
        [draft("JGSW02002", "机关经费管理标准 草案")],
        [draft("JGSW02003", "机关经费管理标准 送审", actor=D2), submit("JGSW02003", actor=D2)],
        [draft("JGSW02004", "机关经费管理标准 退回"), submit("JGSW02004"), back("JGSW02004"),
         edit("JGSW02004", summary="已补充")],
        # issued long ago, effective in the future, confirmed by a review
        [draft("JGSW03001", "资产管理标准 台账"), submit("JGSW03001"),
         approve("JGSW03001", d(2020, 10, 10)), publish("JGSW03001", d(2020, 11, 1), later(200)),
         review("JGSW03001", d(2025, 1, 1), "confirm")],
        # on trial from 2017, withdrawn by a review
        [draft("JGSW03002", "资产管理标准 处置"), submit("JGSW03002"), approve("JGSW03002", d(2017, 5, 5)),
         publish("JGSW03002", d(2017, 6, 1), d(2017, 7, 1), trial=True),
         review("JGSW03002", d(2021, 1, 1), "withdraw")],
        # three editions
        [draft("JGSW04001", "节能标准 用电"), submit("JGSW04001"), approve("JGSW04001", d(2018, 3, 3)),
         publish("JGSW04001", d(2018, 4, 4), d(2018, 5, 5)),
         revise("JGSW04001", title="节能标准 用电（第二版）"), submit("JGSW04001"),
         approve("JGSW04001", d(2019, 9, 9)), publish("JGSW04001", d(2019, 10, 10), d(2020, 1, 1)),
         revise("JGSW04001"), submit("JGSW04001"), approve("JGSW04001", d(2023, 3, 3)),
         publish("JGSW04001", d(2023, 4, 4), d(2023, 5, 5))],
        # issued and effective today
        [draft("JGSW06001", "其他管理标准 档案", level="other"), submit("JGSW06001"),
         approve("JGSW06001", d(2025, 12, 12)), publish("JGSW06001", today, today)],
        # approved today
        [draft("JGSW06002", "其他管理标准 印章"), submit("JGSW06002"), approve("JGSW06002", None)],
        # withdrawn with a revision draft open
        [draft("JGSW01005", "基础通用标准 术语补充"), submit("JGSW01005"),
         approve("JGSW01005", d(2021, 1, 1)), publish("JGSW01005", d(2021, 2, 1), d(2021, 3, 1)),
         revise("JGSW01005"), withdraw("JGSW01005", d(2022, 2, 2))],
        # withdrawn before it ever took effect
        [draft("JGSW06003", "其他管理标准 未实施"), submit("JGSW06003"),
         approve("JGSW06003", d(2019, 1, 1)), publish("JGSW06003", d(2019, 2, 2), d(2019, 12, 12)),
         withdraw("JGSW06003", d(2019, 6, 6))],
    ]


def _build(svc) -> None:
    seed(svc)
    histories = _histories(svc, svc.today())
    rng = random.Random(20261127)
    while any(histories):
        steps = rng.choice([h for h in histories if h])
        steps.pop(0)()
        time.sleep(0.002)


def _history_days(svc) -> set[date]:
    days = {svc.today()}
    aggregates, _ = __import__("projections.rebuild", fromlist=["replay"]).replay(svc)
    for agg in aggregates.values():
        if not isinstance(agg, Standard):
            continue
        paper = agg.paperwork(svc.settings.zone)
        days.update(x for x in (paper.drafted_on, paper.submitted_on) if x)
        for e in agg.editions:
            days.update(x for x in (e.approved_on, e.issued_on, e.effective_on,
                                    e.superseded_on, e.withdrawn_on) if x)
        days.update(r["reviewed_on"] for r in agg.reviews)
    out = set()
    for x in days:
        out.update({x - timedelta(days=1), x, x + timedelta(days=1)})
    return out


class Oracle:
    """Replays, per aggregate, only the events recorded by a moment."""

    def __init__(self, svc) -> None:
        self.zone = svc.settings.zone
        self.events: dict = defaultdict(list)  # originator -> [(record time, event)]
        last: dict = {}
        for batch in notifications(svc):
            for n in batch:
                event = svc.mapper.to_domain_event(n)
                at = event_at(event, last.get(event.originator_id))
                last[event.originator_id] = at
                self.events[event.originator_id].append((at, event))
        self.times = sorted({at for evs in self.events.values() for at, _ in evs})
        self._cache: dict = {}

    def aggregate(self, originator, known_at: str | None):
        evs = self.events[originator]
        n = len(evs) if known_at is None else sum(1 for at, _ in evs if at <= known_at)
        key = (originator, n)
        if key not in self._cache:
            agg = None
            for _, e in evs[:n]:
                agg = e.mutate(agg)
            self._cache[key] = agg
        return self._cache[key]

    def standards(self, known_at: str | None) -> dict[str, Standard]:
        out = {}
        for originator in self.events:
            agg = self.aggregate(originator, known_at)
            if isinstance(agg, Standard):
                out[agg.code] = agg
        return out


def _moments(times: list[str]) -> list[str | None]:
    parse = lambda t: datetime.strptime(t, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)  # noqa: E731
    first, last = parse(times[0]), parse(times[-1])
    out: list[str | None] = [None, record_time(first - timedelta(seconds=1)),
                             record_time(first - timedelta(microseconds=1)),
                             record_time(last + timedelta(seconds=1))]
    out += times
    for a, b in zip(times, times[1:]):
        mid = parse(a) + (parse(b) - parse(a)) / 2
        if times.index(a) % 3 == 0:
            out.append(record_time(parse(a) + timedelta(microseconds=1)))
        out.append(record_time(mid))
    return out


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def history(request, tmp_path_factory):
    """The history, recorded once per kind of store (PostgreSQL as tests/conftest.py provides it)."""
    from api.bootstrap import bootstrap
    from lifecycle.config import Settings

    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('bitemporal') / 'store.db'}"
    else:
        try:
            url = request.getfixturevalue("postgres_database")
        except pytest.FixtureLookupError:
            pytest.skip("tests/conftest.py provides no PostgreSQL database")
        from tests.conftest import reset_postgres

        reset_postgres(url)
    svc = bootstrap(Settings(database_url=url))
    _build(svc)
    yield svc
    svc.close()


def _same(code, table, expected, where):
    assert table is not None, f"{code} {where}: the tables have no record, the replay has"
    assert table.code == expected.code
    assert table.version == expected.version, (code, where)
    assert table.stage == expected.stage, (code, where)
    assert table.doc == expected.doc, (code, where)
    assert table.editions == expected.editions, (code, where)
    assert table.state == expected.state, (code, where, table.state, expected.state)


def test_history_is_rich(history):
    oracle = Oracle(history)
    standards = oracle.standards(None)
    assert len(standards) == 9 + 11
    stages = {s.stage.value for s in standards.values()}
    assert stages >= {"draft", "under_review", "approved", "issued", "revision_approved", "withdrawn"}
    assert len(oracle.times) == sum(len(v) for v in oracle.events.values())  # all record times differ
    assert max(len(s.editions) for s in standards.values()) == 3


def test_tables_equal_a_replay_for_random_pairs_of_clocks(history):
    svc = history
    oracle = Oracle(svc)
    rng = random.Random(4242)
    special = sorted(_history_days(svc))
    span = (date(2030, 12, 31) - date(2017, 1, 1)).days
    moments = _moments(oracle.times)
    codes = sorted(oracle.standards(None)) + [NEVER_DRAFTED]
    zone = svc.settings.zone
    pairs = []
    for i in range(300):
        day = rng.choice(special) if rng.random() < 0.6 else date(2017, 1, 1) + timedelta(rng.randrange(span + 1))
        known_at = moments[i] if i < 4 else rng.choice(moments)
        pairs.append((day, known_at))
    seen_absent = seen_unknown = seen_present = 0
    for day, known_at in pairs:
        where = f"on {day} known at {known_at}"
        replayed = oracle.standards(known_at)
        expected_rows = {code: rows_of(std, zone, day) for code, std in replayed.items()}
        for code in codes:
            table = svc.reads.standard(code, day, known_at)
            if code not in expected_rows:
                assert table is None, f"{code} {where}: the tables say {table}, the replay has no record"
                seen_unknown += 1
                continue
            _same(code, table, expected_rows[code], where)
            if expected_rows[code].state is None:
                seen_absent += 1
            else:
                seen_present += 1
        rows, more = svc.reads.catalogue(CatalogueFilter(limit=500), day, known_at)
        assert more is False
        wanted = sorted((c, r.state) for c, r in expected_rows.items() if r.state is not None)
        assert [(r.code, r.state) for r in rows] == wanted, where
        for r in rows:
            _same(r.code, r, expected_rows[r.code], where)
    assert seen_absent and seen_unknown and seen_present


@pytest.mark.parametrize("sparse", [0, 10**9], ids=["code-order", "by-day-or-moment"])
def test_each_way_of_reading_a_page_gives_the_replay(history, monkeypatch, sparse):
    """A catalogue page is read in code order, or through an index by day or
    by record time when few standards existed (Reads._plan, on SQLite): each
    way, pages of three in a row give what the replay gives."""
    from projections.queries import Reads

    monkeypatch.setattr(Reads, "SPARSE", sparse)
    svc = history
    oracle = Oracle(svc)
    rng = random.Random(77)
    special = sorted(_history_days(svc))
    moments = _moments(oracle.times)
    for _ in range(60):
        day, known_at = rng.choice(special), rng.choice(moments)
        for status in (None, "current"):
            replayed = oracle.standards(known_at)
            wanted = sorted(code for code, std in replayed.items()
                            if (state := rows_of(std, svc.settings.zone, day).state) is not None
                            and status in (None, state[0]))
            got, after, more = [], None, True
            while more:
                rows, more = svc.reads.catalogue(CatalogueFilter(limit=3, after=after, status=status),
                                                 day, known_at)
                got += [r.code for r in rows]
                after = rows[-1].code if rows else None
            assert got == wanted, f"on {day} known at {known_at}, status {status}"


@pytest.mark.parametrize("sparse", [1, 7, 40, 10**6])
def test_the_plan_knows_without_counting_what_counting_would_choose(history, monkeypatch, sparse):
    """Reads._plan skips the count of an index when the SPARSE-th smallest
    day (or moment) of it, kept per log position, already says that the day
    (or moment) is not sparse; the index it chooses is the one counting
    every candidate would choose."""
    from projections.queries import BY_CODE, OPEN_BY_STATUS, OPEN_IN_CODE_ORDER, Reads

    if history.settings.store_kind != "sqlite":
        pytest.skip("PostgreSQL's planner chooses: Reads._plan is SQLite's")
    monkeypatch.setattr(Reads, "SPARSE", sparse)
    reads = history.reads

    def counted(day: date, known_at: str | None, by_status: bool) -> str:
        """The plan as it was chosen before the kept bounds: every candidate counted."""
        if known_at is None:
            candidates = [("catalogue_states_open_by_day", "recorded_to = ? AND valid_from <= ?",
                           [OPEN, day.isoformat()])]
        else:
            candidates = [("catalogue_states_by_day", "valid_from <= ?", [day.isoformat()]),
                          ("catalogue_states_by_moment", "recorded_from <= ?", [known_at])]
        best = (sparse, BY_CODE if known_at else OPEN_BY_STATUS if by_status else OPEN_IN_CODE_ORDER)
        with reads.cursor() as c:
            for index, where, params in candidates:
                c.execute(f"SELECT COUNT(*) FROM (SELECT 1 FROM catalogue_states INDEXED BY {index} "
                          f"WHERE {where} LIMIT ?) x", (*params, sparse))
                best = min(best, (c.fetchone()[0], index), key=lambda b: b[0])
        return best[1]

    rng = random.Random(sparse)
    days, moments = sorted(_history_days(history)), _moments(Oracle(history).times)
    chosen = set()
    for _ in range(150):
        day, known_at, by_status = rng.choice(days), rng.choice(moments), rng.random() < 0.5
        with reads.cursor() as c:
            plan = reads._plan(c, day, known_at, by_status)
        assert plan == counted(day, known_at, by_status), f"on {day} known at {known_at}"
        chosen.add(plan)
    assert len(chosen) >= (2 if sparse < 10**6 else 1)


def test_catalogue_before_everything_is_empty_and_now_is_full(history):
    oracle = Oracle(history)
    before = record_time(datetime.strptime(oracle.times[0], "%Y-%m-%dT%H:%M:%S.%fZ")
                         .replace(tzinfo=UTC) - timedelta(seconds=1))
    today = history.today()
    assert history.reads.catalogue(CatalogueFilter(limit=500), today, before) == ([], False)
    rows, _ = history.reads.catalogue(CatalogueFilter(limit=500), today, None)
    assert len(rows) == 20


def test_rebuild_gives_the_same_rows(history):
    before = history.reads.dump()
    assert before["catalogue_states"] and before["standard_log"] and before["edition_states"]
    position = rebuild(history)
    assert position == history.recorder.max_notification_id()
    assert history.reads.dump() == before


# ------------------------------------------------------------------ skewed clocks
@pytest.fixture(params=["sqlite", "postgresql"])
def lone(request, tmp_path):
    """A store of its own, so as not to share the module's PostgreSQL database
    (on PostgreSQL the last record time is read in the insert's pipeline)."""
    from api.bootstrap import bootstrap
    from lifecycle.config import Settings

    if request.param == "sqlite":
        svc = bootstrap(Settings(database_url=f"sqlite:///{tmp_path / 'skew.db'}"))
        yield svc
        svc.close()
        return
    import psycopg

    from tests.conftest import REQUIRE_POSTGRES, SERVER_URL, _with_database

    try:
        admin = psycopg.connect(SERVER_URL, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as e:
        if REQUIRE_POSTGRES:
            pytest.fail(f"no PostgreSQL server at {SERVER_URL}: {e}")
        pytest.skip(f"no PostgreSQL server at {SERVER_URL}: {e}")
    name = f"lifecycle_skew_{os.getpid()}_{secrets.token_hex(3)}"
    with admin:
        admin.execute(f'CREATE DATABASE "{name}"')
        try:
            svc = bootstrap(Settings(database_url=_with_database(SERVER_URL, name)))
            yield svc
            svc.close()
        finally:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def skewed_clock(monkeypatch):
    """Event timestamps from a clock that can be set ahead (another server's)."""
    import eventsourcing.domain as es_domain

    real = es_domain.datetime_now_with_tzinfo
    skew = {"by": timedelta(0)}
    monkeypatch.setattr(es_domain, "datetime_now_with_tzinfo", lambda: real() + skew["by"])
    return skew


def _skewed_history(svc, skew) -> None:
    """Drafted on a server 10 s ahead; the later commands on one that is not.
    Regression: commands once took the previous record time from the last
    event's raw timestamp (modified_on) instead of the record time the
    projections hold, so record times went backwards, rows had
    recorded_to < recorded_from, and differed from a rebuild and a replay."""
    code = C("JGSW02001")
    skew["by"] = timedelta(seconds=10)
    svc.handle(cmd.DraftStandard(category="02", sub_item="001", fields={"title": "机关经费管理标准 时钟"},
                                 actor=D1))
    skew["by"] = timedelta(0)
    for command in (cmd.Submit(code=code, expected_version=None, actor=D1),
                    cmd.Approve(code=code, expected_version=None, approved_on=date(2020, 1, 1), actor=A1),
                    cmd.Publish(code=code, expected_version=None, issued_on=date(2020, 2, 1),
                                effective_on=date(2020, 3, 1), actor=P1)):
        time.sleep(0.002)
        svc.handle(command)


def test_a_clock_that_ran_ahead_gives_the_same_rows_as_a_rebuild(lone, skewed_clock):
    service = lone
    _skewed_history(service, skewed_clock)
    before = service.reads.dump()
    rebuild(service)
    assert service.reads.dump() == before


def test_a_clock_that_ran_ahead_answers_like_a_replay(lone, skewed_clock):
    service = lone
    _skewed_history(service, skewed_clock)
    oracle = Oracle(service)
    zone = service.settings.zone
    parse = lambda t: datetime.strptime(t, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)  # noqa: E731
    start = parse(oracle.times[0]) - timedelta(seconds=12)
    moments = [record_time(start + timedelta(milliseconds=250 * i)) for i in range(100)] + [None]
    for known_at in moments:
        replayed = oracle.standards(known_at)
        for day in (date(2019, 12, 31), date(2020, 1, 1), date(2020, 2, 1), date(2020, 3, 1)):
            table = service.reads.standard("JGSW02001", day, known_at)
            if "JGSW02001" not in replayed:
                assert table is None, (known_at, day, table)
            else:
                _same("JGSW02001", table, rows_of(replayed["JGSW02001"], zone, day), (known_at, day))
