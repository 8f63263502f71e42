"""References, what cites what, and the review due list are bitemporal like
the catalogue (issue 12): for random (as_of, known_at) pairs, on both
stores, the answers the tables give equal those of a fresh projection of
just the events the register had recorded by known_at."""

from __future__ import annotations

import random
import time
from datetime import date, timedelta

import pytest

from lifecycle import commands as cmd
from lifecycle.seed import seed
from lifecycle.vocabulary import ReviewOutcome
from projections import citations
from projections.memory import MemoryStore
from projections.queries import Reads
from projections.rebuild import Rows
from projections.views import standard_view
from projections.writer import Writer
from tests.people import send
from tests.store.test_bitemporal import Oracle, _moments

D1, D2, A1, P1 = "起草人甲", "起草人乙", "批准人甲", "发布人甲"


def _story(svc, today: date) -> list[list]:
    """Interleaved histories: standards citing JGSW01001, 01002 and 05001
    (dated and not), revisions of what they cite, reviews, a withdrawal."""
    d = date

    def new(code, title, refs, years=None):
        fields = {"title": title, "references": refs, **({"review_years": years} if years else {})}
        c = code[4:6], code[6:]
        return lambda: send(svc, cmd.DraftStandard, category=c[0], sub_item=c[1], fields=fields, actor=D1)

    def issue(code, approved, issued, effective):
        return [lambda: send(svc, cmd.Submit, code, actor=D1),
                lambda: send(svc, cmd.Approve, code, approved_on=approved, actor=A1),
                lambda: send(svc, cmd.Publish, code, issued_on=issued, effective_on=effective, actor=P1)]

    def revise(code, approved, issued, effective, refs=None):
        steps = [lambda: send(svc, cmd.OpenRevision, code, actor=D2, reason="修订")]
        if refs is not None:
            steps.append(lambda: send(svc, cmd.EditDraft, code, changes={"references": refs}, actor=D2))
        return steps + issue(code, approved, issued, effective)

    def review(code, on, outcome=ReviewOutcome.CONFIRM):
        return lambda: send(svc, cmd.Review, code, reviewed_on=on, outcome=outcome, actor=A1, reason="复审")

    return [
        [*revise("JGSW01001", d(2021, 3, 1), d(2021, 3, 10), d(2021, 6, 1)),
         *revise("JGSW01001", today - timedelta(days=40), today - timedelta(days=30), today + timedelta(days=30))],
        [lambda: send(svc, cmd.Publish, "JGSW05001", issued_on=d(2019, 3, 1), effective_on=d(2019, 4, 1),
                      actor=P1),
         *revise("JGSW05001", d(2022, 5, 1), d(2022, 5, 5), d(2022, 7, 1), refs=["JGSW01001—2018"])],
        [new("JGSW06001", "其他管理标准 引用甲", ["JGSW01001", "JGSW05001—2018", "GB/T 19001—2016"]),
         *issue("JGSW06001", d(2020, 1, 1), d(2020, 1, 5), d(2020, 2, 1)),
         review("JGSW06001", d(2021, 8, 1))],
        [new("JGSW06002", "其他管理标准 引用乙", ["JGSW01002", "JGSW05001"], years=2),
         *issue("JGSW06002", d(2020, 6, 1), d(2020, 6, 5), d(2020, 7, 1)),
         review("JGSW06002", d(2022, 6, 1)), review("JGSW06002", d(2024, 5, 1))],
        [lambda: send(svc, cmd.Withdraw, "JGSW01002", withdrawn_on=d(2023, 1, 1), actor=A1,
                      reason="并入新版")],
        [new("JGSW06003", "其他管理标准 引用丙", ["JGSW06001", "资产管理标准 要求"], years=3),
         *issue("JGSW06003", d(2021, 1, 1), d(2021, 1, 5), d(2021, 2, 1)),
         *revise("JGSW06001", d(2023, 2, 1), d(2023, 2, 5), d(2023, 3, 1)),
         # amendment sheets: one gives a new reference list (the planned one becomes a number)
         lambda: send(svc, cmd.OpenAmendment, "JGSW06003", year=2021, summary="更正", changes="3.1 改为……",
                      references=["JGSW06001", "JGSW05002"], actor=D1),
         lambda: send(svc, cmd.ApproveAmendment, "JGSW06003", year=2021, n=1, approved_on=d(2024, 3, 1),
                      effective_on=d(2024, 4, 1), actor=A1),
         lambda: send(svc, cmd.OpenAmendment, "JGSW06003", year=2021, summary="再次更正", changes="4.2",
                      actor=D2),
         lambda: send(svc, cmd.DropAmendment, "JGSW06003", year=2021, n=2, actor=D2, reason="不需要")],
        # an emergency approval, its paperwork completed late
        [new("JGSW06004", "其他管理标准 紧急", ["JGSW01002"]),
         lambda: send(svc, cmd.EmergencyApprove, "JGSW06004", approved_on=d(2022, 8, 1),
                      paperwork_due=d(2022, 9, 1), actor=A1, reason="防汛紧急"),
         lambda: send(svc, cmd.Publish, "JGSW06004", issued_on=d(2022, 8, 2), effective_on=d(2022, 8, 2),
                      actor=P1),
         lambda: send(svc, cmd.CompletePaperwork, "JGSW06004", year=2022, completed_on=d(2022, 11, 1),
                      actor="审查人", reason="补办")],
    ]


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def history(request, tmp_path_factory):
    from api.bootstrap import bootstrap
    from lifecycle.config import Settings
    from tests.conftest import reset_postgres

    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('citations') / 'store.db'}"
    else:
        url = request.getfixturevalue("postgres_database")
        reset_postgres(url)
    svc = bootstrap(Settings(database_url=url, signing_key=str(tmp_path_factory.mktemp("k") / "k.pem")))
    seed(svc)
    histories = _story(svc, svc.today())
    rng = random.Random(20261201)
    while any(histories):
        rng.choice([h for h in histories if h]).pop(0)()
        time.sleep(0.002)
    yield svc
    svc.close()


def _reads_known_at(svc, oracle: Oracle, known_at: str | None) -> Reads:
    """A fresh projection of the events recorded by `known_at`, in memory."""
    rows = Rows(svc.settings.zone, svc.settings.review_years)
    for events in oracle.events.values():
        for at, event in events:
            if known_at is None or at <= known_at:
                rows.add(0, event)
    store, writer = MemoryStore(), Writer("?")
    with store.transaction(commit=True) as c:
        writer.write(c, rows.finish())
    return Reads(store, writer)


def test_the_story_has_every_kind_of_reason(history):
    today = history.today()
    items = {i["code"]: i for i in citations.due(history.reads, today + timedelta(days=30), 0, None)}
    reasons = {r for i in items.values() for r in i["reasons"]}
    assert reasons == {"interval", "reference_changed"}, items
    late = {i["code"]: i for i in citations.due(history.reads, date(2022, 10, 1), 0, None)}
    assert late["JGSW06004"]["reasons"] == ["paperwork"] and late["JGSW06004"]["overdue_days"] == 30


def test_answers_equal_a_fresh_projection_for_random_pairs_of_clocks(history):
    oracle = Oracle(history)
    rng = random.Random(4343)
    moments = _moments(oracle.times)
    start, span = date(2018, 6, 1), (history.today() + timedelta(days=400) - date(2018, 6, 1)).days
    fresh: dict = {}
    checked = 0
    for i in range(120):
        day = start + timedelta(days=rng.randrange(span + 1))
        known_at = moments[i] if i < 4 else rng.choice(moments)
        within = rng.choice([0, 30, 90, 365, 2000])
        if known_at not in fresh:
            fresh[known_at] = _reads_known_at(history, oracle, known_at)
        then = fresh[known_at]
        where = f"on {day} known at {known_at} within {within}"
        assert citations.due(history.reads, day, within, known_at) == citations.due(then, day, within, None), where
        for code in ("JGSW01001", "JGSW01002", "JGSW05001", "JGSW06001"):
            live = citations.referenced_by(history.reads, code, day, known_at)
            assert live == citations.referenced_by(then, code, day, None), (code, where)
            checked += len(live)
        for code, year in (("JGSW06001", 2020), ("JGSW06002", 2020), ("JGSW05001", 2022), ("JGSW01003", 2018),
                           ("JGSW06003", 2021), ("JGSW06004", 2022)):
            assert citations.references(history.reads, code, year, day, known_at) == \
                citations.references(then, code, year, day, None), (code, year, where)
        for code in ("JGSW06003", "JGSW06004", "JGSW06001"):  # editions, amendment sheets included
            live, fresh_rows = history.reads.standard(code, day, known_at), then.standard(code, day, None)
            assert (live is None) == (fresh_rows is None), (code, where)
            if live is not None and live.state is not None:
                assert standard_view(live, day) == standard_view(fresh_rows, day), (code, where)
    assert checked > 50


def test_a_store_with_older_projections_is_rebuilt_when_prepared(settings, signing_key):
    """Upgrading: projections written before the due list existed lack its rows;
    the process that prepares the store rebuilds them from the log."""
    from api.bootstrap import bootstrap

    first = bootstrap(settings)
    seed(first)
    with first.reads.datastore.transaction(commit=True) as c:  # what an older version left behind
        c.execute("DELETE FROM edition_references")
        c.execute("DELETE FROM projection_meta")
    assert citations.referenced_by(first.reads, "JGSW01001", date(2020, 1, 1), None) == []
    first.close()
    again = bootstrap(settings)  # as gunicorn's master or a CLI command does
    assert [i["number"] for i in citations.referenced_by(again.reads, "JGSW01001", date(2020, 1, 1), None)] == [
        "JGSW01003—2018"]
    from projections.schema import PROJECTION_VERSION

    assert again.reads.projection_version() == PROJECTION_VERSION
    again.close()
