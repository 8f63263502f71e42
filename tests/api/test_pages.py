"""The pages for people (issue 14) through Flask's test client, on both
stores: sign-in and the session cookie, every page, escaping, security
headers, bad input, downloads with the cookie. The browser itself is driven
in tests/e2e/test_browser.py."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from api import create_app
from api.bootstrap import bootstrap
from tests.api.helpers import PREFIX, assert_problem
from tests.people import reissue_token, revoke_user

HTML = {"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}


def sign_in(client, token: str, **extra):
    return client.post("/register/sign-in", data={"token": token, **extra}, headers=HTML)


def page(client, path: str) -> str:
    resp = client.get(path, headers=HTML)
    assert resp.status_code == 200, (resp.status_code, resp.location, resp.get_data(as_text=True)[:500])
    assert resp.mimetype == "text/html"
    return resp.get_data(as_text=True)


@pytest.fixture
def reader(client, tokens, seeded):
    """The test client signed in as the auditor."""
    assert sign_in(client, tokens["auditor"]).status_code == 303
    return client


def cookie_of(resp) -> str:
    found = [c for c in resp.headers.getlist("Set-Cookie") if c.startswith("jgsw_session=")]
    assert len(found) == 1, resp.headers.getlist("Set-Cookie")
    return found[0]


# ------------------------------------------------------------------ signing in
def test_root_redirects_to_the_register(client):
    resp = client.get("/")
    assert resp.status_code == 302 and resp.location == "/register/"


def test_pages_ask_a_browser_to_sign_in_and_a_script_for_a_token(client, seeded):
    resp = client.get("/register/standards/JGSW05004?as_of=2019-06-01", headers=HTML)
    assert resp.status_code == 303
    assert resp.location == "/register/sign-in?next=/register/standards/JGSW05004?as_of%3D2019-06-01"
    assert_problem(client.get("/register/"), 401)


def test_sign_in_sets_a_strict_http_only_cookie_for_eight_hours(client, tokens, seeded):
    form = page(client, "/register/sign-in")
    assert 'type="password"' in form and 'method="post"' in form and '<label for="token">' in form
    resp = sign_in(client, tokens["drafter"], next="/register/reviews")
    assert resp.status_code == 303 and resp.location == "/register/reviews"
    cookie = cookie_of(resp)
    attributes = {part.strip().split("=")[0].lower() for part in cookie.split(";")[1:]}
    assert {"httponly", "path", "expires"} <= attributes and "secure" not in attributes
    assert "SameSite=Strict" in cookie and "Path=/register" in cookie
    assert tokens["drafter"] not in cookie  # neither the token
    assert page(client, "/register/reviews")


def test_the_cookie_expires_eight_hours_after_signing_in(app, client, tokens, seeded):
    assert app.permanent_session_lifetime == timedelta(hours=8)
    assert app.config["SESSION_REFRESH_EACH_REQUEST"] is False
    cookie = cookie_of(sign_in(client, tokens["drafter"]))
    from email.utils import parsedate_to_datetime

    expires = parsedate_to_datetime(re.search(r"Expires=([^;]+)", cookie).group(1))
    from datetime import UTC, datetime

    assert timedelta(hours=7, minutes=59) < expires - datetime.now(UTC) <= timedelta(hours=8)


def test_the_cookie_is_secure_over_https(app, tokens, seeded):
    client = app.test_client()
    resp = client.post("/register/sign-in", data={"token": tokens["drafter"]}, headers=HTML,
                       base_url="https://register.example")
    assert "; Secure" in cookie_of(resp)


def test_a_wrong_token_is_refused_and_sets_no_cookie(client, tokens, seeded):
    resp = sign_in(client, tokens["drafter"] + "x")
    assert resp.status_code == 401 and "令牌无效" in resp.get_data(as_text=True)
    assert not resp.headers.getlist("Set-Cookie")
    resp = client.post("/register/sign-in", data={"token": "nope"})
    assert_problem(resp, 401)


def test_a_token_never_goes_in_a_url(client, tokens, seeded):
    body = assert_problem(client.get(f"/register/sign-in?token={tokens['drafter']}"), 400)
    assert "never goes in a URL" in body["detail"]
    assert_problem(client.get(f"/register/?token={tokens['drafter']}"), 400)


def test_a_form_posted_from_another_site_is_refused(client, tokens, seeded):
    resp = client.post("/register/sign-in", data={"token": tokens["drafter"]},
                       headers={"Origin": "https://evil.example"})
    assert_problem(resp, 403)
    assert not resp.headers.getlist("Set-Cookie")


def test_next_never_leaves_the_register(client, tokens, seeded):
    for target in ("https://evil.example/", "//evil.example/register/", "/api/v1/events", "/register/\\x"):
        resp = sign_in(client, tokens["drafter"], next=target)
        assert resp.location == "/register/", target


@pytest.mark.parametrize("role", ["drafter", "reviewer", "approver", "publisher", "auditor", "admin"])
def test_every_role_reads_every_page(app, tokens, seeded, role):
    client = app.test_client()
    sign_in(client, tokens[role])
    assert "JGSW05004" in page(client, "/register/")
    assert "JGSW01001—2018" in page(client, "/register/standards/JGSW01001")
    assert "复审到期" in page(client, "/register/reviews")


def test_a_revoked_users_cookie_stops_working_on_the_next_request(client, service, tokens, seeded):
    sign_in(client, tokens["drafter"])
    assert page(client, "/register/")
    revoke_user(service, "drafter")
    resp = client.get("/register/", headers=HTML)
    assert resp.status_code == 303 and resp.location.startswith("/register/sign-in")
    assert "jgsw_session=;" in resp.headers["Set-Cookie"]  # cleared


def test_a_reissued_token_signs_the_old_cookie_out(client, service, tokens, seeded):
    sign_in(client, tokens["approver"])
    new_token = reissue_token(service, "approver")
    assert client.get("/register/", headers=HTML).status_code == 303
    sign_in(client, new_token)
    assert page(client, "/register/")


def test_sign_out_clears_the_cookie(client, tokens, seeded):
    sign_in(client, tokens["drafter"])
    assert 'action="/register/sign-out"' in page(client, "/register/")
    assert "退出登录" in page(client, "/register/sign-out")
    resp = client.post("/register/sign-out", headers=HTML)
    assert resp.status_code == 303 and "jgsw_session=;" in resp.headers["Set-Cookie"]
    assert client.get("/register/", headers=HTML).status_code == 303


def test_the_api_keeps_bearer_tokens_only(reader, client, tokens):
    assert_problem(reader.get(PREFIX + "/standards"), 401)
    assert_problem(reader.get(PREFIX + "/standards.xlsx"), 401)
    # The session cookie sent to the API anyway (a client ignoring its Path) is not read, nor answered.
    cookie = cookie_of(sign_in(client, tokens["auditor"])).split(";")[0].split("=", 1)[1]
    client.set_cookie("jgsw_session", cookie, path="/")
    refused = client.get(PREFIX + "/standards")
    assert_problem(refused, 401)
    assert not refused.headers.getlist("Set-Cookie")
    answered = client.get(PREFIX + "/standards", headers={"Authorization": f"Bearer {tokens['auditor']}"})
    assert answered.status_code == 200 and not answered.headers.getlist("Set-Cookie")


def test_every_host_signs_with_one_key_kept_in_the_store(settings, service, tokens, seeded):
    """A cookie signed by one host is good on another host of the same store."""
    first = create_app(service=service).test_client()
    cookie = cookie_of(sign_in(first, tokens["drafter"])).split(";")[0].split("=", 1)[1]
    other_register = bootstrap(settings)
    try:
        other = create_app(service=other_register).test_client()
        other.set_cookie("jgsw_session", cookie, path="/register")
        assert "JGSW05004" in page(other, "/register/")
        assert other_register.session_key() == service.session_key()
    finally:
        other_register.close()


def test_lifecycle_secret_key_signs_when_set(settings, tokens, seeded):
    from dataclasses import replace

    register = bootstrap(replace(settings, secret_key="from-the-environment"))
    try:
        assert register.session_key() == "from-the-environment"
        client = create_app(service=register).test_client()
        sign_in(client, tokens["drafter"])
        assert page(client, "/register/")
    finally:
        register.close()


# ------------------------------------------------------------------ the catalogue
def test_search_finds_the_greening_guide(reader):
    html = page(reader, "/register/?q=绿化")
    assert re.findall(r'href="/register/standards/(JGSW\d+)"', html) == ["JGSW05004"]
    assert "后勤服务管理标准 绿化服务工作指南" in html


def test_statuses_in_colour_and_words_dates_for_people_and_machines(reader):
    html = page(reader, "/register/?as_of=2019-06-01&category=01")
    assert html.count('<span class="status status-trial">试行</span>') == 3
    assert '<time datetime="2018-12-31">2018年12月31日</time>' in html
    assert '<time datetime="2019-06-01">2019年6月1日</time>' in html  # the day asked about
    assert "JGSW01001—2018" in html and "JGSW05004" not in html


def test_filters_keep_their_values_and_pages_follow(reader):
    html = page(reader, "/register/?limit=2&level=basic")
    assert '<option value="basic" selected>' in html
    found = re.search(r'<a rel="next" href="([^"]+)"', html)
    assert found and "after=JGSW01002" in found.group(1) and "level=basic" in found.group(1)
    second = page(reader, found.group(1).replace("&amp;", "&"))
    assert "回到第一页" in second and "JGSW01001" not in second and "JGSW01004" in second
    assert '<a rel="next"' not in second


def test_the_spreadsheet_downloads_with_the_cookie(reader, api):
    mine = reader.get("/register/standards.xlsx?category=05&as_of=2019-06-01", headers=HTML)
    assert mine.status_code == 200 and mine.mimetype.endswith("spreadsheetml.sheet")
    theirs = api.get("/standards.xlsx?category=05&as_of=2019-06-01")
    assert mine.data == theirs.data
    html = page(reader, "/register/?category=05&q=绿化")
    assert 'href="/register/standards.xlsx?category=05&amp;q=%E7%BB%BF%E5%8C%96"' in html


def test_only_downloads_are_served_with_the_cookie(reader):
    assert_problem(reader.get("/register/standards/JGSW01001/editions/2018/files/x.pdf"), 404)


# ------------------------------------------------------------------ a standard
def test_a_standard_with_three_editions(reader, api):
    code = "JGSW01001"
    api.revise(code, api.today - timedelta(days=900), api.today - timedelta(days=890),
               api.today - timedelta(days=880))
    api.revise(code, api.today - timedelta(days=300), api.today - timedelta(days=290),
               api.today - timedelta(days=280))
    html = page(reader, f"/register/standards/{code}")
    year = (api.today - timedelta(days=300)).year
    assert f"<h1><span class=\"code\">{code}—{year}</span> 内部标准编号规则</h1>" in html
    in_force = html.split('id="in-force"')[1].split("</section>")[0]
    assert f"{code}—{year}" in in_force and "现行" in in_force and "approver" in in_force
    editions = html.split('id="editions"')[1].split("</section>")[0]
    assert editions.count("<tr>") == 4  # header + three editions
    assert editions.count("status-superseded") == 2
    svg = html.split("<svg")[1].split("</svg>")[0]
    assert len(re.findall(r'<g class="edition">', svg)) == 3
    assert re.findall(r'class="seg seg-(\w+)"', svg).count("current") == 2
    assert "seg-trial" in svg and "seg-superseded" in svg and "今天" in svg


def test_as_of_2019_shows_the_first_edition_on_trial(reader, api):
    api.revise("JGSW01001", api.today - timedelta(days=30), api.today - timedelta(days=20),
               api.today - timedelta(days=10))
    html = page(reader, "/register/standards/JGSW01001?as_of=2019-06-01")
    in_force = html.split('id="in-force"')[1].split("</section>")[0]
    assert "JGSW01001—2018" in in_force and '<span class="status status-trial">试行</span>' in in_force
    assert html.split('id="editions"')[1].split("</section>")[0].count("<tr>") == 2  # the one edition of that day
    svg = html.split("<svg")[1].split("</svg>")[0]
    assert svg.count('<g class="edition">') == 2  # the timeline: every edition, the day marked
    assert "查询日 2019年6月1日" in svg


def test_the_event_history_shows_only_to_auditors_and_admins(app, tokens, reader):
    assert "事件记录（审计）" in page(reader, "/register/standards/JGSW01001")
    for role, shown in (("drafter", False), ("approver", False), ("admin", True)):
        client = app.test_client()
        sign_in(client, tokens[role])
        assert ("事件记录（审计）" in page(client, "/register/standards/JGSW01001")) is shown, role


def test_what_users_typed_is_escaped(reader, api):
    code = api.draft(title="<script>alert(1)</script>", summary='"><img src=x onerror=alert(1)>')
    api.ok(code, "submit", "drafter", {"reason": "<b>理由</b>"})
    html = page(reader, f"/register/standards/{code}") + page(reader, "/register/?q=script")
    assert "<script>alert" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<b>理由</b>" not in html and "&lt;b&gt;理由&lt;/b&gt;" in html


def test_no_inline_script_or_style_and_headers_that_forbid_them(reader):
    for path in ("/register/", "/register/standards/JGSW01001", "/register/reviews", "/register/sign-in"):
        resp = reader.get(path, headers=HTML)
        html = resp.get_data(as_text=True)
        assert not re.search(r"<script(?![^>]*\bsrc=)", html), path
        assert not re.search(r"\sstyle=|<style|\son\w+=", html), path
        assert not re.search(r"(src|href)=\"(https?:)?//", html), path  # nothing from outside
        csp = resp.headers["Content-Security-Policy"]
        assert "unsafe-inline" not in csp and "frame-ancestors 'none'" in csp and "default-src 'none'" in csp
        assert resp.headers["X-Frame-Options"] == "DENY"
        assert resp.headers["Cache-Control"] == "no-store"


def test_bad_input_is_a_4xx_naming_it(reader):
    body = assert_problem(reader.get("/register/?as_of=2019-02-30"), 422)
    assert "as_of" in body["errors"]
    assert "limit" in assert_problem(reader.get("/register/?limit=0"), 422)["errors"]
    assert "colour" in assert_problem(reader.get("/register/?colour=red"), 422)["errors"]
    assert "status" in assert_problem(reader.get("/register/?status=a&status=b"), 422)["errors"]
    assert_problem(reader.get("/register/standards/JGSW09001"), 404)
    assert_problem(reader.get("/register/standards/JGSW06999"), 404)
    assert_problem(reader.get("/register/nothing-here"), 404)
    resp = reader.get("/register/?as_of=2019-02-30", headers=HTML)
    assert resp.status_code == 422 and resp.mimetype == "text/html"
    assert "输入有误" in resp.get_data(as_text=True) and "as_of" in resp.get_data(as_text=True)


def test_no_form_changes_the_register(reader, service):
    before = service.log_position()
    for path in ("/register/", "/register/standards/JGSW01001", "/register/reviews"):
        html = page(reader, path)
        posts = re.findall(r'<form[^>]*method="post"[^>]*action="([^"]+)"', html)
        assert set(posts) <= {"/register/sign-out", "/register/sign-in"}, path
    assert reader.post("/register/standards/JGSW01001").status_code == 405
    assert service.log_position() == before


# ------------------------------------------------------------------ the due list
def test_the_due_list_page(reader):
    html = page(reader, "/register/reviews?within=30&as_of=2023-06-01")
    assert "没有到期或 30 天内将到期的复审" in html
    assert '<input id="within" name="within" type="number" min="0" max="3650" value="30">' in html
    html = page(reader, "/register/reviews?within=0&as_of=2024-01-01")  # the seed, five years on
    for code in ("JGSW01001", "JGSW01002", "JGSW01003"):
        assert f'>{code}</a>' in html
    assert "今天到期" in html and "到复审期" in html
    assert "within" in assert_problem(reader.get("/register/reviews?within=4000"), 422)["errors"]


def test_the_due_list_renders_items(app, reader):
    """The list's query comes with issue 12; the page draws what it returns."""
    from flask import g, render_template

    from api.pages.session import Reader

    items = [{"code": "JGSW01001", "edition": "JGSW01001—2018", "due_on": "2024-01-01",
              "overdue_days": 30, "reasons": ["interval", "reference_changed"]},
             {"code": "JGSW01002", "edition": "JGSW01002—2018", "due_on": "2024-03-01",
              "overdue_days": -20, "reasons": ["paperwork"]}]
    with app.test_request_context("/register/reviews"):
        g.reader = Reader("auditor", frozenset())
        from api.standards import When

        html = render_template("pages/reviews.html", items=items, when=When(), within=90)
    assert "逾期 30 天" in html and "还有 20 天" in html
    assert "到复审期、引用的标准已变化" in html and "紧急批准待补办手续" in html
    assert '<time datetime="2024-01-01">2024年1月1日</time>' in html


def test_sections_the_views_will_carry(app, reader):
    """Amendments, references, referenced-by and files (other issues add them
    to the views): the standard page renders them when present."""
    from flask import g, render_template

    from api.pages.session import Reader
    from api.standards import When

    edition = {"number": "JGSW05001—2018", "year": 2018, "title": "公务接待工作指南", "status": "current",
               "status_label": "现行", "approved_on": "2018-06-01", "approved_by": "a", "issued_on": "2018-12-31",
               "issued_by": "p", "effective_on": "2019-01-01", "trial": False, "replaces": None,
               "replaced_by": None, "withdrawn_on": None, "superseded_on": None,
               "amendments": [{"n": 1, "number": "JGSW05001—2018/XG1—2026", "summary": "改第5条",
                               "approved_on": "2026-02-01", "effective_on": "2026-03-01", "status": "in_force"}],
               "references": [{"reference": "JGSW01001—2018", "internal": True, "dated": True,
                               "resolves_to": "JGSW01001—2018", "status": "superseded",
                               "warning": "注日期引用的版本已被代替"}, "GB/T 19001—2016"],
               "files": [{"name": "正文.pdf", "media_type": "application/pdf", "size": 1234,
                          "sha256": "ab" * 32}]}
    view = {"code": "JGSW05001", "category": "05", "sub_item": "001", "level": "item", "level_label": "分项",
            "title": "公务接待工作指南", "status": "current", "status_label": "现行", "edition": edition,
            "draft": None, "version": 9, "reviews": [], "referenced_by": [
                {"number": "JGSW05000—2018", "reference": "JGSW05001", "dated": False}]}
    from api.pages.timeline import timeline

    with app.test_request_context("/register/standards/JGSW05001"):
        g.reader = Reader("auditor", frozenset())
        when = When()
        html = render_template("pages/standard.html", view=view, editions=[edition], when=when,
                               in_force=edition, files=edition["files"], references=edition["references"],
                               drawing=timeline([edition], when.day, when.day), history=None,
                               recorded=str, category_name="后勤服务标准")
    assert "JGSW05001—2018/XG1—2026" in html and "改第5条" in html and "已实施" in html
    assert "注日期引用的版本已被代替" in html and "GB/T 19001—2016" in html
    assert "JGSW05000—2018（引用为 JGSW05001）" in html
    assert 'href="/register/standards/JGSW05001/editions/2018/files/%E6%AD%A3%E6%96%87.pdf"' in html
    assert "ab" * 32 in html
    assert 'class="amendment"' in html.split("<svg")[1]  # the amendment's mark on the timeline


# ------------------------------------------------------------------ the API docs, offline
def test_api_docs_load_nothing_from_outside(client):
    resp = client.get("/api/v1/docs")
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200 and "swagger-ui" in html
    sources = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert sources and all(s.startswith("/") for s in sources), sources
    for source in sources:
        assert client.get(source).status_code == 200, source
    assert not re.search(r"<script(?![^>]*\bsrc=)", html)
    assert "unsafe-inline" not in resp.headers["Content-Security-Policy"]
    assert client.get("/api/v1/docs/swagger-ui/../../openapi.json").status_code == 404


def test_a_standard_page_shows_what_it_cites_and_what_cites_it(reader):
    html = page(reader, "/register/standards/JGSW01003?as_of=2020-01-01")
    assert "引用标准" in html and "JGSW01002 → JGSW01002—2018" in html
    assert "资产管理标准 要求" in html
    html = page(reader, "/register/standards/JGSW01001?as_of=2020-01-01")
    assert "被以下标准引用" in html and "JGSW01003—2018（引用为 JGSW01001）" in html
