"""The pages in a real browser (issue 14): Debian's Chromium, headless,
driven by Playwright against a real `lifecycle serve`, on both stores. Each
page is saved to var/screenshots/ (look at them), and axe-core (the script
axe-playwright-python ships) checks each page for serious or critical
accessibility problems. Chromium comes from Debian (`.ci/run` installs it),
never a browser download."""

from __future__ import annotations

import hashlib
import shutil
from datetime import date, timedelta
from pathlib import Path

import pytest
import requests

from tests.e2e.conftest import bearer

pytestmark = pytest.mark.e2e

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        "--lang=zh-CN"]  # date fields as the office's computers show them
SCREENSHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    if shutil.which("chromium") is None and not Path(CHROMIUM).exists():
        pytest.fail("Debian's chromium is not installed (.ci/run installs it: apt-get install chromium)")
    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield launched
        launched.close()


def root(server) -> str:
    return server.url.removesuffix("/api/v1")


def revise(server, code: str, approved: date, issued: date, effective: date, trial: bool = False) -> None:
    """A new edition through the API, as the people of the office would record it."""
    def send(action: str, who: str, body: dict) -> None:
        etag = requests.get(f"{server.url}/standards/{code}", headers=bearer(server, "auditor"),
                            timeout=10).headers["ETag"]
        resp = requests.post(f"{server.url}/standards/{code}/{action}", json=body, timeout=10,
                             headers=bearer(server, who, **{"If-Match": etag}))
        assert resp.status_code == 200, resp.text

    send("revisions", "drafter", {"reason": "修订：内容更新"})
    send("submit", "drafter", {})
    send("approve", "approver", {"approved_on": approved.isoformat()})
    send("publish", "publisher", {"issued_on": issued.isoformat(), "effective_on": effective.isoformat(),
                                  "trial": trial})


class Visit:
    """One browser tab on the server: every request it makes is noted (all
    must stay on the server), every page is screenshotted and checked by axe."""

    def __init__(self, browser, server, store: str, width: int = 1280) -> None:
        self.base = root(server)
        self.store = store
        self.context = browser.new_context(viewport={"width": width, "height": 900}, locale="zh-CN",
                                           accept_downloads=True)
        self.page = self.context.new_page()
        self.requested: list[str] = []
        self.page.on("request", lambda r: self.requested.append(r.url))
        self.console: list[str] = []
        self.page.on("console", lambda m: self.console.append(f"{m.type}: {m.text}"))

    def open(self, path: str) -> None:
        self.page.goto(self.base + path)

    def follow(self, selector: str) -> None:
        """Click what loads another page, and return once that page has
        loaded: count() and inner_text() do not wait, so reading right after
        a click may read a page still arriving (a search once counted 0 rows)."""
        with self.page.expect_navigation():
            self.page.click(selector)

    def shot(self, name: str) -> Path:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / f"{name}-{self.store}.png"
        self.page.screenshot(path=str(path), full_page=True)
        return path

    def accessible(self) -> None:
        from axe_playwright_python.sync_playwright import Axe

        found = Axe().run(self.page).response["violations"]
        bad = [(v["id"], v["impact"], [n["target"] for n in v["nodes"]][:3]) for v in found
               if v["impact"] in ("serious", "critical")]
        assert bad == [], (self.page.url, bad)

    def stayed_home(self) -> None:
        away = [u for u in self.requested if not u.startswith((self.base, "data:"))]
        assert away == [], away
        assert not [c for c in self.console if "Content Security Policy" in c], self.console


def test_a_person_looks_things_up(browser, server, settings):
    store = "postgresql" if settings.database_url.startswith("postgres") else "sqlite"
    today = date.today()
    revise(server, "JGSW01001", today - timedelta(days=1200), today - timedelta(days=1190),
           today - timedelta(days=1180))
    revise(server, "JGSW01001", today - timedelta(days=400), today - timedelta(days=390),
           today - timedelta(days=380))
    tab = Visit(browser, server, store)
    page = tab.page

    # signing in: the form, then the catalogue
    tab.open("/")
    assert page.url.startswith(tab.base + "/register/sign-in")
    tab.shot("1-sign-in")
    tab.accessible()
    page.fill("#token", server.tokens["drafter"])
    tab.follow("form.sign-in button[type=submit]")
    assert page.url == tab.base + "/register/"
    assert "token" not in page.url and server.tokens["drafter"] not in page.url
    tab.shot("2-catalogue")
    tab.accessible()

    # searching 绿化 finds JGSW05004
    page.fill("#q", "绿化")
    tab.follow("form.filters button[type=submit]")
    rows = page.locator("table.catalogue tbody tr")
    assert rows.count() == 1
    assert rows.first.locator("td").first.inner_text() == "JGSW05004"
    tab.shot("3-search")

    # the spreadsheet of what is shown: the same bytes as the API gives
    with page.expect_download() as caught:
        page.click("a.download")
    downloaded = Path(caught.value.path()).read_bytes()
    api = requests.get(f"{server.url}/standards.xlsx", params={"q": "绿化"}, timeout=10,
                       headers=bearer(server, "auditor"))
    assert hashlib.sha256(downloaded).hexdigest() == hashlib.sha256(api.content).hexdigest()
    assert caught.value.suggested_filename.endswith(".xlsx")

    # a standard with three editions: the edition in force, every edition, the timeline
    tab.open("/register/")
    tab.follow("text=JGSW01001—")
    year = (today - timedelta(days=400)).year
    assert page.locator("dl.facts dd.number").inner_text() == f"JGSW01001—{year}"
    assert page.locator("table.editions tbody tr").count() == 3
    bars = page.locator("svg g.edition")
    assert bars.count() == 3
    labels = page.locator("svg text.seg-label").all_text_contents()
    assert {"试行", "现行", "被代替"} <= set(labels)
    assert page.locator("svg .day-today").count() == 1
    assert set(page.locator("ul.legend li").all_inner_texts()) >= {"试行", "现行", "被代替", "今天"}
    tab.shot("4-standard-three-editions")
    tab.accessible()
    tab.page.emulate_media(media="print")
    pdf = SCREENSHOTS / f"4-standard-print-{store}.pdf"
    page.pdf(path=str(pdf), format="A4", print_background=True)
    assert pdf.read_bytes().startswith(b"%PDF")
    tab.page.emulate_media(media="screen")

    # the as-of day moved to 2019-06-01: the first edition, on trial
    page.fill("#as_of", "2019-06-01")
    tab.follow("form.as-of button[type=submit]")
    assert "as_of=2019-06-01" in page.url
    assert page.locator("dl.facts dd.number").inner_text() == "JGSW01001—2018"
    assert page.locator("p.lead .status").inner_text() == "试行"
    assert page.locator("svg .day-as-of").count() == 1
    assert page.locator("svg g.edition").count() == 3  # the whole history, the day asked marked on it
    tab.shot("5-standard-as-of-2019")

    # the review due list
    tab.follow("nav >> text=复审到期")
    assert page.locator("h1").inner_text() == "复审到期"
    tab.shot("6-reviews")
    tab.accessible()

    # signing out: back to the form, and the pages ask again
    tab.follow("form.who button[type=submit]")
    assert page.url.startswith(tab.base + "/register/sign-in")
    tab.open("/register/")
    assert page.url.startswith(tab.base + "/register/sign-in")
    tab.stayed_home()
    tab.context.close()


def test_a_phone_360_px_wide(browser, server, settings):
    store = "postgresql" if settings.database_url.startswith("postgres") else "sqlite"
    today = date.today()
    revise(server, "JGSW01002", today - timedelta(days=800), today - timedelta(days=790),
           today - timedelta(days=700), trial=True)
    tab = Visit(browser, server, store, width=360)
    tab.open("/register/sign-in")
    tab.page.fill("#token", server.tokens["auditor"])
    tab.follow("form.sign-in button[type=submit]")
    for path, name in (("/register/", "7-phone-catalogue"), ("/register/standards/JGSW01002", "8-phone-standard")):
        tab.open(path)
        assert tab.page.evaluate("document.scrollingElement.scrollWidth") <= 360, path
        tab.shot(name)
        tab.accessible()
    svg = tab.page.locator("figure.timeline svg").bounding_box()
    assert svg is not None and svg["width"] <= 360
    # the auditor sees the history, in the office's words
    assert tab.page.locator("section.history tbody tr").count() >= 6
    tab.stayed_home()
    tab.context.close()


def test_the_api_docs_work_offline(browser, server, settings):
    store = "postgresql" if settings.database_url.startswith("postgres") else "sqlite"
    tab = Visit(browser, server, store)
    tab.open("/api/v1/docs")
    tab.page.wait_for_selector(".swagger-ui .opblock", timeout=20000)
    assert tab.page.locator(".swagger-ui .opblock").count() > 10
    tab.shot("9-api-docs")
    tab.stayed_home()
    tab.context.close()


def test_a_file_downloads_with_the_cookie(browser, server, settings):
    """An edition's file, attached and approved through the API, is linked
    from the standard's page and downloads there with the session cookie:
    the same bytes, under its Chinese name."""
    from tests import files

    store = "postgresql" if settings.database_url.startswith("postgres") else "sqlite"
    today = date.today()
    body = files.pdf_with_text("JGSW file for the page")
    r = requests.post(f"{server.url}/standards", json={"category": "05", "title": "公文用纸规范"},
                      headers=bearer(server, "drafter"), timeout=10)
    assert r.status_code == 201, r.text
    code = r.json()["code"]
    r = requests.put(f"{server.url}/standards/{code}/draft/files/正文.pdf", data=body, timeout=30,
                     headers=bearer(server, "drafter", **{"If-Match": r.headers["ETag"],
                                                          "Content-Type": files.PDF}))
    assert r.status_code == 201, r.text
    for action, who, fields in (
            ("submit", "drafter", {}),
            ("approve", "approver", {"approved_on": (today - timedelta(days=30)).isoformat()}),
            ("publish", "publisher", {"issued_on": (today - timedelta(days=20)).isoformat(),
                                      "effective_on": (today - timedelta(days=10)).isoformat()})):
        etag = requests.get(f"{server.url}/standards/{code}", headers=bearer(server, "auditor"),
                            timeout=10).headers["ETag"]
        r = requests.post(f"{server.url}/standards/{code}/{action}", json=fields, timeout=10,
                          headers=bearer(server, who, **{"If-Match": etag}))
        assert r.status_code == 200, r.text

    tab = Visit(browser, server, store)
    page = tab.page
    tab.open(f"/register/standards/{code}")
    assert page.url.startswith(tab.base + "/register/sign-in")  # no cookie yet: sign in first
    page.fill("#token", server.tokens["auditor"])
    tab.follow("form.sign-in button[type=submit]")
    assert page.url == f"{tab.base}/register/standards/{code}"
    link = page.locator("section[aria-labelledby=files] a", has_text="正文.pdf")
    assert link.count() == 1
    assert hashlib.sha256(body).hexdigest() in page.inner_text("section[aria-labelledby=files]")
    tab.shot("10-standard-with-files")
    tab.accessible()
    href = link.get_attribute("href")
    with page.expect_download() as download:
        link.click()
    saved = Path(download.value.path())
    assert download.value.suggested_filename == "正文.pdf"
    assert hashlib.sha256(saved.read_bytes()).hexdigest() == hashlib.sha256(body).hexdigest()

    # Without the cookie the same page address gives no file.
    assert href and href.startswith(f"/register/standards/{code}/editions/")
    r = requests.get(tab.base + href, allow_redirects=False, timeout=10)
    assert r.status_code in (302, 303, 401) and r.content != body
    tab.stayed_home()
    tab.context.close()
