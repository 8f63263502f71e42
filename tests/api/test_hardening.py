"""Issue 10 (hardening, round 2): the HTTP and input findings, each with the
tester's reproduction, on both stores. What a refusal must be: a 4xx
problem+json naming what is wrong, and nothing written."""

from __future__ import annotations

import json

import pytest

from tests.api.helpers import PREFIX, assert_problem

JSON_COMMANDS = [  # (path, role, method, a valid body for a standard in the right stage)
    ("approve", "approver", "POST", {"approved_on": "2025-03-15", "reason": "per meeting"}),
    ("submit", "drafter", "POST", {"reason": "送审"}),
    ("draft", "drafter", "PATCH", {"title": "新标题"}),
]


def _submitted(api) -> tuple[str, str]:
    code = api.submitted()
    return code, api.etag(code)


# ------------------------------------------------------------------ 1: JSON bodies only
@pytest.mark.parametrize("content_type", [
    "application/x-www-form-urlencoded",  # curl -d's default
    "text/plain",
    "multipart/form-data; boundary=x",
    None,                                 # a body without any Content-Type
])
def test_a_command_body_not_sent_as_json_is_415_and_records_nothing(api, content_type):
    """Finding 1: curl -X POST …/approve -H 'If-Match: "2"' -d '{"approved_on": …}'."""
    code, etag = _submitted(api)
    before = api.position()
    body = json.dumps({"approved_on": "2025-03-15", "reason": "per meeting"})
    headers = api.auth("approver", **{"If-Match": etag})
    if content_type:
        headers["Content-Type"] = content_type
    resp = api.client.post(f"{PREFIX}/standards/{code}/approve", data=body, headers=headers)
    problem = assert_problem(resp, 415)
    assert "application/json" in problem["detail"]
    assert api.position() == before
    assert api.get(f"/standards/{code}").get_json()["status"] == "under_review"


@pytest.mark.parametrize("path, role, method, body", JSON_COMMANDS)
def test_every_json_command_refuses_form_bodies(api, path, role, method, body):
    code = api.draft() if path == "draft" else api.submitted()
    if path == "submit":
        code = api.draft()
    before = api.position()
    resp = api.client.open(f"{PREFIX}/standards/{code}/{path}", method=method,
                           data="title=x", content_type="application/x-www-form-urlencoded",
                           headers=api.auth(role, **{"If-Match": api.etag(code)}))
    assert_problem(resp, 415)
    assert api.position() == before


def test_drafting_refuses_a_text_plain_body(api):
    before = api.position()
    resp = api.client.post(f"{PREFIX}/standards", data='{"category": "05", "title": "标题"}',
                           content_type="text/plain", headers=api.auth("drafter"))
    assert_problem(resp, 415)
    assert api.position() == before


@pytest.mark.parametrize("content_type", ["application/json", "application/merge-patch+json",
                                          "application/json; charset=utf-8"])
def test_json_and_plus_json_types_are_read(api, content_type):
    code, etag = _submitted(api)
    resp = api.client.post(f"{PREFIX}/standards/{code}/approve", content_type=content_type,
                           data=json.dumps({"reason": "会议通过"}),
                           headers=api.auth("approver", **{"If-Match": etag}))
    assert resp.status_code == 200, resp.get_data(as_text=True)
    assert api.get(f"/standards/{code}/events").get_json()["items"][-1]["reason"] == "会议通过"


@pytest.mark.parametrize("content_type", [None, "application/x-www-form-urlencoded"])
def test_a_command_without_a_body_works_when_every_field_is_optional(api, content_type):
    code = api.draft()
    headers = api.auth("drafter", **{"If-Match": api.etag(code)})
    if content_type:
        headers["Content-Type"] = content_type
    resp = api.client.post(f"{PREFIX}/standards/{code}/submit", headers=headers)
    assert resp.status_code == 200, resp.get_data(as_text=True)
    assert resp.get_json()["stage"] == "under_review"


# ------------------------------------------------------------------ 4: no 500 from odd input
def test_a_body_nesting_lists_5000_deep_is_400(api):
    before = api.position()
    resp = api.client.post(f"{PREFIX}/standards", data="[" * 5000 + "]" * 5000,
                           content_type="application/json", headers=api.auth("drafter"))
    problem = assert_problem(resp, 400)
    assert "deep" in problem["detail"]
    assert api.position() == before


@pytest.mark.parametrize("known_at", ["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-12:00"])
@pytest.mark.parametrize("path", ["/standards", "/standards/JGSW05001",
                                  "/standards/JGSW05001/editions",
                                  "/standards/JGSW05001/editions/2018"])
def test_known_at_that_overflows_in_utc_is_422_on_every_read(api, seeded, path, known_at):
    resp = api.get(path, query_string={"known_at": known_at})
    assert "known_at" in assert_problem(resp, 422)["errors"]


# ------------------------------------------------------------------ 9: as_of within the register's years
@pytest.mark.parametrize("as_of", ["9999-12-31", "1948-12-31", "2101-01-01", "0001-01-01"])
@pytest.mark.parametrize("path", ["/standards", "/standards/JGSW05001",
                                  "/standards/JGSW05001/editions",
                                  "/standards/JGSW05001/editions/2018"])
def test_as_of_outside_1949_to_2100_is_422_naming_the_range(api, seeded, path, as_of):
    problem = assert_problem(api.get(path, query_string={"as_of": as_of}), 422)
    message = " ".join(problem["errors"]["as_of"])
    assert "1949-01-01" in message and "2100-12-31" in message


@pytest.mark.parametrize("as_of", ["1949-01-01", "2100-12-31"])
def test_as_of_at_the_ends_of_the_range_is_answered(api, seeded, as_of):
    assert api.get("/standards", query_string={"as_of": as_of}).status_code == 200


# ------------------------------------------------------------------ 10: chunked bodies over the limit
def _chunked(body: bytes) -> dict:
    """What gunicorn gives a chunked request: no Content-Length, a stream it ends."""
    return {"wsgi.input_terminated": True, "CONTENT_LENGTH": "", "HTTP_TRANSFER_ENCODING": "chunked"}


def test_a_chunked_body_over_64_kib_is_413(api):
    before = api.position()
    body = json.dumps({"category": "05", "title": "标题", "summary": "a" * (70 * 1024)}).encode()
    resp = api.client.post(f"{PREFIX}/standards", data=body, content_type="application/json",
                           headers=api.auth("drafter"), environ_overrides=_chunked(body))
    assert_problem(resp, 413)
    assert api.position() == before


def test_a_chunked_body_of_exactly_64_kib_is_read(api):
    head = '{"category": "05", "title": "标题"}'.encode()
    body = head + b" " * (64 * 1024 - len(head))  # JSON may end in white space
    assert len(body) == 64 * 1024
    resp = api.client.post(f"{PREFIX}/standards", data=body, content_type="application/json",
                           headers=api.auth("drafter"), environ_overrides=_chunked(body))
    assert resp.status_code == 201, resp.get_data(as_text=True)[:300]


# ------------------------------------------------------------------ 11: visible text, no bidi controls
@pytest.mark.parametrize("title", ["\u200b", "\ufeff", "\u200b\ufeff\u200b", "\u3000\u200b",
                                   "\u2060", "\u3164", "\u0301", "\u00ad"])
def test_a_title_without_a_visible_character_is_refused(api, title):
    before = api.position()
    errors = assert_problem(api.create(title=title), 422)["errors"]
    assert "title" in errors
    assert api.position() == before


@pytest.mark.parametrize("control", ["\u202a", "\u202b", "\u202c", "\u202d", "\u202e",
                                     "\u2066", "\u2067", "\u2068", "\u2069",
                                     "\u200e", "\u200f", "\u061c"])
def test_bidirectional_controls_are_refused_in_every_text_field(api, control):
    before = api.position()
    for field in ("title", "summary", "reason", "kind", "owner_department"):
        errors = assert_problem(api.create(**{field: f"标准{control}名称"}), 422)["errors"]
        assert field in errors, (field, errors)
        assert f"U+{ord(control):04X}" in " ".join(errors[field])
    errors = assert_problem(api.create(drafting_units=[f"单位{control}"]), 422)["errors"]
    assert "drafting_units" in errors
    assert api.position() == before


def test_visible_text_with_joiners_and_ideographic_spaces_is_kept(api):
    resp = api.create(title="\u3000后勤\u200d服务 指南\u3000")
    assert resp.status_code == 201, resp.get_data(as_text=True)
    assert resp.get_json()["title"] == "后勤\u200d服务 指南"


# ------------------------------------------------------------------ 14: If-Match, said clearly
@pytest.mark.parametrize("tag", ['"1e0"', '"１"', '" 1"', '"01"', 'W/"1"', "1e0"])
def test_an_if_match_that_is_no_etag_of_ours_says_what_is_wrong(api, tag):
    code = api.draft()
    before = api.position()
    problem = assert_problem(api.command(code, "submit", "drafter", etag=tag), 412)
    assert "-1" not in problem["detail"]
    assert 'e.g. "1"' in problem["detail"]
    assert problem["version"] == 1
    assert api.position() == before


def test_a_version_that_does_not_exist_is_named_in_the_412(api):
    code = api.draft()
    problem = assert_problem(api.command(code, "submit", "drafter", etag='"99999999999999"'), 412)
    assert "99999999999999" in problem["detail"] and "-1" not in problem["detail"]
    assert problem["version"] == 1


@pytest.mark.parametrize("header", ['"1", "2"', '"2", "1"', '"7" , "1"', 'W/"1", "1"', '"x", "1"',
                                    '"1",'])
def test_an_if_match_list_matches_when_any_member_does(api, header):
    """RFC 9110 §13.1.1: If-Match is `*` or a list; it holds if any strong tag matches."""
    code = api.draft()
    resp = api.command(code, "submit", "drafter", etag=header)
    assert resp.status_code == 200, resp.get_data(as_text=True)


def test_an_if_match_list_without_the_current_version_is_412_naming_them(api):
    code = api.draft()
    api.ok(code, "draft", "drafter", {"summary": "改"}, method="PATCH")
    before = api.position()
    problem = assert_problem(api.command(code, "submit", "drafter", etag='"1", "3"'), 412)
    assert problem["version"] == 2
    assert "1" in problem["detail"] and "3" in problem["detail"]
    assert api.position() == before


def test_an_if_match_list_on_an_unknown_standard_is_404(api):
    assert_problem(api.command("JGSW06999", "submit", "drafter", etag='"1", "2"'), 404)


# ------------------------------------------------------------------ 15: query parameters, digits, //
@pytest.mark.parametrize("query, field", [
    ("limit=2&limit=abc", "limit"), ("limit=2&limit=2", "limit"),
    ("as_of=2020-01-01&as_of=2021-01-01", "as_of"), ("category=05&category=01", "category"),
])
def test_a_repeated_query_parameter_is_422(api, seeded, query, field):
    problem = assert_problem(api.get(f"/standards?{query}"), 422)
    assert field in problem["errors"]


def test_a_repeated_query_parameter_is_422_on_the_audit_log_too(api, seeded):
    assert "after" in assert_problem(api.get("/events?after=1&after=2"), 422)["errors"]


@pytest.mark.parametrize("field, value", [
    ("sub_item", "¹⁷"), ("category", "⁵"), ("category", "₀₅"), ("sub_item", "①"),
    ("sub_item", "𝟏𝟕"), ("category", "٠٥"), ("sub_item", "١٧"),
])
def test_digits_other_than_ascii_and_full_width_are_refused(api, field, value):
    before = api.position()
    errors = assert_problem(api.create(**{field: value}), 422)["errors"]
    assert field in errors
    assert api.position() == before


def test_superscript_digits_are_refused_in_the_catalogue_filter_too(api, seeded):
    assert "category" in assert_problem(api.get("/standards?category=⁵"), 422)["errors"]


def test_ascii_and_full_width_digits_are_accepted(api):
    assert api.draft(category="０５", sub_item="０１７") == "JGSW05017"
    assert api.draft(category="6", sub_item="18") == "JGSW06018"


@pytest.mark.parametrize("path", ["//standards", "/standards//JGSW05001", "/standards/JGSW05001//editions"])
def test_a_double_slash_is_a_problem_not_an_html_redirect(api, seeded, path):
    resp = api.client.get(PREFIX + path)  # no token
    assert resp.status_code in (401, 404), resp.status_code
    assert_problem(resp, resp.status_code)
    assert "Location" not in resp.headers
