"""Fuzzing (issue 6, item 1): schemathesis runs against the app's own OpenAPI
document, as a user holding every role, with If-Match set to the current ETag
most of the time, so that generated cases reach the commands; now and then a
JSON body goes under another Content-Type, or none, and must be a 415
(issue 10). Every response must be no 5xx, documented (status code, content type, headers) and match its
documented schema. Nothing is excluded: what it finds is fixed in the code.

Bounded for CI: a fixed seed, derandomised, at most MAX_EXAMPLES generated
cases per operation in the fuzzing phase (plus schemathesis' deterministic
coverage and examples phases), on SQLite (FUZZ_STORE=postgresql for the other).
The schema loads from the app's /openapi.json; calls go through the WSGI app."""

from __future__ import annotations

import json
import os
import time
from datetime import date

import hypothesis
import pytest
import schemathesis
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.core import NOT_SET, NotSet
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from api import create_app
from api.bootstrap import bootstrap
from lifecycle import commands as cmd
from lifecycle import numbering
from lifecycle.config import Settings
from lifecycle.seed import seed
from lifecycle.users import Role
from tests.people import add_user, reissue_token, revoke_user, send

PREFIX = "/api/v1"
# CI runs the fixed, derandomised set; FUZZ_SEED / FUZZ_EXAMPLES explore further
# (e.g. FUZZ_SEED=7 FUZZ_EXAMPLES=300 [FUZZ_STORE=postgresql] pytest tests/api/test_fuzz.py).
MAX_EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES") or 50)
SEED = int(os.environ.get("FUZZ_SEED") or 20240601)
DERANDOMIZE = "FUZZ_SEED" not in os.environ
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
]

# Markers the generated headers may carry; replaced at call time (below).
CURRENT_ETAG = "__current_etag__"
FUZZER = "fuzzer"
WHO = "X-Fuzz-Caller"  # which token the case is sent with; removed before the call
SENT_AS = "X-Fuzz-Sent-As"  # how a JSON body is sent (below); removed before the call
# A JSON body sent as something else, as curl and browsers do by default ("":
# no Content-Type at all). Every one must be refused 415 (issue 10, finding 1).
NOT_JSON = ("application/x-www-form-urlencoded", "text/plain", "multipart/form-data; boundary=x",
            "application/xml", "")
FULL_WIDTH = str.maketrans("0123456789", "０１２３４５６７８９")


def _config() -> schemathesis.Config:
    return schemathesis.Config.from_dict({
        "seed": SEED,
        "suppress-health-check": ["too_slow", "filter_too_much", "data_too_large"],
        "generation": {
            "mode": "all",  # valid and invalid data
            "max-examples": MAX_EXAMPLES,
            "deterministic": DERANDOMIZE,
            "database": "none",
        },
        "phases": {"stateful": {"enabled": False}},
    })


class Fuzz:
    """The store under test and what the hooks need to know about it."""

    def __init__(self, database_url: str) -> None:
        self.service = bootstrap(Settings(database_url=database_url))
        self.app = create_app(service=self.service)
        self.app.config.update(TESTING=True)
        self.client = self.app.test_client()
        self.token = add_user(self.service, FUZZER, list(Role))
        self.tokens = {FUZZER: self.token, "auditor": add_user(self.service, "auditor", [Role.AUDITOR]),
                       "nobody": "not-a-token"}
        self.codes = self._populate()
        self.calls = 0
        self.statuses: dict[tuple[str, int], int] = {}

    def _populate(self) -> list[str]:
        """The 2018 catalogue plus standards in every stage, drafted by
        someone else so that the fuzzer may approve them."""
        s = self.service
        add_user(s, "author", [Role.DRAFTER])
        add_user(s, "boss", [Role.APPROVER, Role.PUBLISHER])
        codes = [str(n).split("—")[0] for n in seed(s)]
        today = s.today()

        def new(title: str):
            drafted = send(s, cmd.DraftStandard, category="06", actor="author",
                           fields={"title": title, "summary": "第一行\n第二行"})
            return numbering.parse_code(drafted.code)

        def issue(code, approved, issued, effective, trial=False):
            send(s, cmd.Submit, code, actor="author")
            send(s, cmd.Approve, code, approved_on=approved, actor="boss")
            send(s, cmd.Publish, code, issued_on=issued, effective_on=effective, trial=trial, actor="boss")

        drafting = new("起草中的标准")                           # draft
        submitted = new("送审中的标准")
        send(s, cmd.Submit, submitted, actor="author")           # under review
        approved = new("已批准的标准")
        send(s, cmd.Submit, approved, actor="author")
        send(s, cmd.Approve, approved, approved_on=today, actor="boss")  # approved
        issued = new("现行的标准")
        issue(issued, date(2020, 3, 1), date(2020, 3, 2), date(2020, 4, 1))
        revising = new("修订中的标准")
        issue(revising, date(2021, 5, 1), date(2021, 5, 2), date(2021, 6, 1), trial=True)
        send(s, cmd.OpenRevision, revising, actor="author", reason="修订")
        withdrawn = new("已废止的标准")
        issue(withdrawn, date(2019, 5, 1), date(2019, 5, 2), date(2019, 6, 1))
        send(s, cmd.Withdraw, withdrawn, withdrawn_on=date(2022, 1, 1), actor="boss", reason="废止")
        codes += [str(c) for c in (drafting, submitted, approved, issued, revising, withdrawn)]
        return codes

    def etag(self, code: str) -> str | None:
        resp = self.client.get(f"{PREFIX}/standards/{code}",
                               headers={"Authorization": f"Bearer {self.token}"})
        return resp.headers.get("ETag") if resp.status_code == 200 else None

    def close(self) -> None:
        self.service.close()


class _NoStore:
    """create_app wants a service; the OpenAPI document needs none (it is made
    from the routes and schemas), so the schema loads at collection time
    without touching a store. Calls go to the fixture's app (`app=` below)."""


# File uploads take raw bytes in each accepted media type (schemathesis knows
# application/octet-stream and text/plain; these are sent the same way).
for _media_type in ("application/pdf", "application/ofd", "application/msword",
                    "application/vnd.oasis.opendocument.text",
                    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                    "application/vnd.openxmlformats-officedocument.wordprocessingml.document"):
    schemathesis.serializer.alias(_media_type, "application/octet-stream")

schema = schemathesis.openapi.from_wsgi(f"{PREFIX}/openapi.json", create_app(service=_NoStore()),
                                        config=_config())
STATE: dict[str, Fuzz] = {}


@pytest.fixture(scope="module")
def fuzz(tmp_path_factory: pytest.TempPathFactory, request):
    """SQLite for CI's budget; FUZZ_STORE=postgresql fuzzes the PostgreSQL store."""
    if os.environ.get("FUZZ_STORE") == "postgresql":
        from tests.conftest import reset_postgres

        url = request.getfixturevalue("postgres_database")
        reset_postgres(url)
    else:
        url = f"sqlite:///{tmp_path_factory.mktemp('fuzz') / 'fuzz.db'}"
    state = Fuzz(url)
    STATE["fuzz"] = state
    started = time.monotonic()
    yield state
    STATE.pop("fuzz", None)
    print(f"\nfuzz: {state.calls} calls in {time.monotonic() - started:.1f}s")
    for (operation, status), count in sorted(state.statuses.items()):
        print(f"  {operation} {status}: {count}")
    state.close()


def _spellings(codes: list[str]):
    """Spellings the numbering rules accept for a real standard."""
    def variants(c: str) -> list[str]:
        # mostly canonical; else lower case, the seed's JGSW/, full-width digits,
        # or with a year (404 where the path takes a standard, not an edition)
        return [c, c, c, c, c.lower(), f"JGSW/{c[4:]}",
                c[:4] + c[4:].translate(FULL_WIDTH), f"{c}-2018"]
    # a snapshot of the codes: a list that grew while cases are drawn would make
    # hypothesis see a different strategy from one case to the next
    return st.sampled_from(tuple(codes)).flatmap(lambda c: st.sampled_from(variants(c)))


@schema.hook("flatmap_path_parameters")
def real_codes(context, path_parameters):
    """Most cases name a real standard (else they only ever meet 404)."""
    if not path_parameters or "code" not in path_parameters or "fuzz" not in STATE:
        return st.just(path_parameters)  # (explicit examples are made at collection, before the store)
    spellings = _spellings(STATE["fuzz"].codes)
    parts = {"code": st.one_of(spellings, spellings, spellings, st.just(path_parameters["code"]))}
    if "year" in path_parameters:
        parts["year"] = st.one_of(st.sampled_from(["2018", "2019", "2020", "2021"]),
                                  st.just(path_parameters["year"]))
    return st.fixed_dictionaries(parts).map(lambda chosen: {**path_parameters, **chosen})


@schema.hook("flatmap_headers")
def current_etag(context, headers):
    """If-Match: usually the ETag just read (filled in at call time), else
    what was generated (stale, malformed) or nothing (428)."""
    if not headers or "If-Match" not in headers:
        return st.just(headers)
    return st.sampled_from([CURRENT_ETAG, CURRENT_ETAG, CURRENT_ETAG, None, "keep"]).map(
        lambda choice: _with_if_match(headers, choice))


@schema.hook("flatmap_case")
def who_calls(context, case):
    """Mostly the user with every role; now and then an auditor (403 on
    commands) or an unknown token (401)."""
    def call_as(name: str):
        case.headers = {**(case.headers or {}), WHO: name}
        return case
    return st.sampled_from([FUZZER] * 8 + ["auditor", "nobody"]).map(call_as)


@schema.hook("flatmap_case")
def how_sent(context, case):
    """Mostly as documented (JSON); now and then the same body under another
    Content-Type, or none."""
    if isinstance(case.body, NotSet) or case.media_type != "application/json":
        return st.just(case)

    def send_as(choice: str):
        case.headers = {**(case.headers or {}), SENT_AS: choice}
        return case
    return st.sampled_from(["json"] * 6 + list(NOT_JSON)).map(send_as)


def _as_other_media_type(case, sent_as: str) -> dict:
    """The call's arguments that send the generated JSON body under `sent_as`."""
    body = case.body
    data = body if isinstance(body, bytes) else json.dumps(body, ensure_ascii=False).encode()
    if sent_as:
        case.headers["Content-Type"] = sent_as
    else:
        case.body = NOT_SET  # else the transport adds Content-Type: application/json
    return {"data": data}


def _with_if_match(headers: dict, choice: str | None) -> dict:
    headers = dict(headers)
    if choice is None:
        headers.pop("If-Match", None)
    elif choice != "keep":
        headers["If-Match"] = choice
    return headers


@schema.parametrize()
@hypothesis.settings(deadline=None, max_examples=MAX_EXAMPLES, derandomize=DERANDOMIZE, database=None,
                     suppress_health_check=list(hypothesis.HealthCheck))
def test_every_answer_conforms(case, fuzz: Fuzz):
    """No 5xx, and every answer is what the OpenAPI document says."""
    headers = dict(case.headers or {})
    headers["Authorization"] = f"Bearer {fuzz.tokens[headers.pop(WHO, FUZZER)]}"  # the auth hook
    if headers.get("If-Match") == CURRENT_ETAG:
        code = (case.path_parameters or {}).get("code", "")
        headers["If-Match"] = fuzz.etag(code) or '"1"'
    sent_as = headers.pop(SENT_AS, "json")
    case.headers = headers
    extra = _as_other_media_type(case, sent_as) if sent_as != "json" else {}
    response = case.call_and_validate(checks=CHECKS, app=fuzz.app, **extra)
    if extra.get("data"):  # refused before anything is read: only the token and role come first
        no_route = response.status_code == 404 and "there is nothing at" in response.text  # e.g. an id not a UUID
        assert response.status_code in (401, 403, 415) or no_route, (sent_as, response.status_code, response.text)
    if response.status_code == 201 and case.operation.path == "/api/v1/standards":
        fuzz.codes.append(response.json()["code"])  # later operations may work on what this one drafted
    fuzz.calls += 1
    key = (f"{case.method} {case.operation.path}", response.status_code)
    fuzz.statuses[key] = fuzz.statuses.get(key, 0) + 1


# ------------------------------------------------------------------ what the fuzzing stands on
# (issue 6, items 3 and 4): the refusals the generated cases meet, pinned down.
def test_unknown_and_revoked_tokens_get_the_same_401(client, service, tokens):
    """An unknown token, a revoked user's token and a replaced token are
    indistinguishable: the same status, headers and bytes."""
    add_user(service, "leaver", [Role.AUDITOR])
    revoked = reissue_token(service, "leaver")
    revoke_user(service, "leaver")
    old = tokens["auditor"]
    reissue_token(service, "auditor")
    answers = []
    for token in ("no-such-token", revoked, old, "", "x" * 5000):
        resp = client.get(f"{PREFIX}/standards", headers={"Authorization": f"Bearer {token}"})
        answers.append((resp.status_code, resp.mimetype, resp.headers.get("WWW-Authenticate"),
                        resp.get_data()))
    assert answers[0][0] == 401 and answers[0][1] == "application/problem+json"
    assert all(a == answers[0] for a in answers), answers


def test_a_valid_token_still_works_after_the_constant_time_check(client, auth):
    assert client.get(f"{PREFIX}/standards", headers=auth("auditor")).status_code == 200


def _create(client, auth, **body):
    body.setdefault("category", "05")
    body.setdefault("title", "后勤服务管理标准 测试工作指南")
    return client.post(f"{PREFIX}/standards", json=body, headers=auth("drafter"))


@pytest.mark.parametrize("summary, kept", [
    ("第一行\n第二行", "第一行\n第二行"),
    ("列\t表\r\n下一行\r末行", "列\t表\n下一行\n末行"),
    ("  \n前后空白去掉\n  ", "前后空白去掉"),
])
def test_summary_keeps_line_breaks_and_tabs(client, auth, summary, kept):
    resp = _create(client, auth, summary=summary)
    assert resp.status_code == 201, resp.get_data(as_text=True)
    assert resp.get_json()["draft"]["summary"] == kept


@pytest.mark.parametrize("field, value", [
    ("title", "标题\n第二行"), ("title", "标题\t制表"), ("title", "标题\u0007"),
    ("title", "标题\u2028分行"), ("title", "\u0085标题"), ("kind", "技术\n标准"),
    ("owner_department", "政策\r法规处"), ("reason", "原因\x00"),
    ("summary", "摘要\u0007"), ("summary", "摘要\x1b[31m"),
    ("title", "   "), ("title", ""), ("summary", "\n\t\n"),
])
def test_control_characters_and_empty_text_are_refused(client, auth, field, value):
    resp = _create(client, auth, **{field: value})
    assert resp.status_code == 422, resp.get_data(as_text=True)
    assert resp.mimetype == "application/problem+json"
    assert field in resp.get_json()["errors"]


def test_drafting_units_are_one_line_each(client, auth):
    resp = _create(client, auth, drafting_units=["云南省机关事务管理局", "第二\n单位"])
    assert resp.status_code == 422
    assert "drafting_units" in resp.get_json()["errors"]


def test_a_lone_surrogate_is_refused_not_stored(client, auth):
    body = '{"category": "05", "title": "标题\\ud800"}'
    resp = client.post(f"{PREFIX}/standards", data=body, content_type="application/json",
                       headers=auth("drafter"))
    assert resp.status_code == 422, resp.get_data(as_text=True)
    assert "title" in resp.get_json()["errors"]


def test_titles_are_nfc_and_trimmed(client, auth):
    resp = _create(client, auth, title="  Cafe\u0301 服务指南 \u3000")
    assert resp.status_code == 201, resp.get_data(as_text=True)
    assert resp.get_json()["title"] == "Caf\u00e9 服务指南"


def test_full_width_digits_in_category_and_sub_item(client, auth):
    resp = _create(client, auth, category="０５", sub_item="０４２")
    assert resp.status_code == 201, resp.get_data(as_text=True)
    assert resp.get_json()["code"] == "JGSW05042"


def test_unknown_body_fields_and_query_parameters_are_named(client, auth):
    resp = _create(client, auth, colour="red", extra=1)
    assert resp.status_code == 422
    assert {"colour", "extra"} <= set(resp.get_json()["errors"])
    resp = client.get(f"{PREFIX}/standards?colour=red&q=%07", headers=auth("auditor"))
    assert resp.status_code == 422
    assert {"colour", "q"} <= set(resp.get_json()["errors"])


def test_routes_without_query_parameters_refuse_them(client, auth, service):
    from lifecycle.seed import seed as load
    load(service)
    for path in ("/categories", "/numbers/JGSW05001", "/standards/JGSW05001/events"):
        resp = client.get(f"{PREFIX}{path}?colour=red", headers=auth("auditor"))
        assert resp.status_code == 422, (path, resp.get_data(as_text=True))
        assert "colour" in resp.get_json()["errors"]
    resp = client.post(f"{PREFIX}/standards?colour=red", json={"category": "05", "title": "标题"},
                       headers=auth("drafter"))
    assert resp.status_code == 422 and "colour" in resp.get_json()["errors"]


def test_events_after_beyond_any_position_is_422_not_500(client, auth):
    resp = client.get(f"{PREFIX}/events?after={2**64}", headers=auth("auditor"))
    assert resp.status_code == 422, resp.get_data(as_text=True)
    assert "after" in resp.get_json()["errors"]


def test_options_is_answered_without_a_token_or_a_500(client):
    for path in ("/standards", "/standards/JGSW05001/approve", "/events", "/categories"):
        resp = client.options(PREFIX + path)
        assert resp.status_code == 200, (path, resp.get_data(as_text=True))
        assert "Allow" in resp.headers


def test_numbers_with_line_breaks_reach_the_numbering_rules(client, auth):
    """The route takes any text (it used to 404 on a line break)."""
    resp = client.get(f"{PREFIX}/numbers/JGSW05%0A001", headers=auth("auditor"))
    assert resp.status_code == 200, resp.get_data(as_text=True)
    assert resp.get_json()["canonical"] == "JGSW05001"
    resp = client.get(f"{PREFIX}/numbers/%0A%0A", headers=auth("auditor"))
    assert resp.status_code == 422, resp.get_data(as_text=True)
    assert resp.mimetype == "application/problem+json"


def test_errors_are_documented_as_problem_json(client):
    doc = client.get(f"{PREFIX}/openapi.json").get_json()
    for path, operations in doc["paths"].items():
        for method, operation in operations.items():
            if method == "parameters":
                continue
            assert "default" not in operation["responses"], (method, path)
            for status, response in operation["responses"].items():
                if int(status) >= 400:
                    assert list(response["content"]) == ["application/problem+json"], (method, path, status)
