"""Documents of an edition (issue 11), through the API, on both stores:
attach, replace, remove; approval binds the bytes; download with ETag,
Repr-Digest, Content-Disposition, Range (RFC 9110's examples), If-None-Match
and HEAD; as-of; compare; and every refused input writes nothing."""

from __future__ import annotations

import base64
import hashlib
from datetime import date
from urllib.parse import quote

import pytest

from tests import files as f
from tests.api.helpers import PREFIX, assert_problem

NAME = "标准正文.pdf"


def put(api, code: str, name: str, data: bytes, media_type: str | None = f.PDF, role: str = "drafter",
        etag: str | None = "fresh", **headers: str):
    if etag == "fresh":
        etag = api.etag(code)
    if etag is not None:
        headers["If-Match"] = etag
    if media_type is not None:
        headers["Content-Type"] = media_type
    return api.client.put(f"{PREFIX}/standards/{code}/draft/files/{quote(name)}", data=data,
                          headers=api.auth(role, **headers))


def attached(api, code: str, name: str, data: bytes, media_type: str = f.PDF, status: int = 201) -> dict:
    resp = put(api, code, name, data, media_type)
    assert resp.status_code == status, resp.get_data(as_text=True)
    return resp.get_json()


def download(api, path: str, role: str = "auditor", method: str = "GET", **headers: str):
    return api.client.open(f"{PREFIX}{path}", method=method, headers=api.auth(role, **headers))


def stored_contents(service) -> int:
    with service.reads.cursor() as c:
        c.execute("SELECT COUNT(*) FROM contents")
        row = c.fetchone()
    return list(row.values())[0] if isinstance(row, dict) else row[0]


def issue_with_file(api, data: bytes, media_type: str, name: str = NAME, **body) -> tuple[str, int]:
    """A standard drafted with one file, approved today and issued: (code, year)."""
    code = api.draft(**body)
    attached(api, code, name, data, media_type)
    api.ok(code, "submit", "drafter")
    view = api.ok(code, "approve", "approver")
    year = view["editions"][-1]["year"]
    api.publish(code, api.today, api.today)
    return code, year


# ------------------------------------------------------------------ attach
def test_attach_replace_and_remove_files_of_a_draft(api):
    code = api.draft()
    pdf = f.sample("sample-zh.pdf")
    body = attached(api, code, NAME, pdf)
    digest = hashlib.sha256(pdf).hexdigest()
    assert body["file"] == {"name": NAME, "media_type": f.PDF, "size": len(pdf), "sha256": digest,
                            "text": {"status": "extracted", "characters": body["file"]["text"]["characters"],
                                     "detail": None}}
    assert body["draft"]["files"] == [{"name": NAME, "media_type": f.PDF, "size": len(pdf), "sha256": digest}]
    assert body["version"] == 2

    docx = f.sample("sample-zh.docx")
    replaced = attached(api, code, NAME, docx, f.DOCX, status=200)
    assert replaced["draft"]["files"][0]["sha256"] == hashlib.sha256(docx).hexdigest()
    attached(api, code, "附录A.md", f.sample("sample-zh.md"), f.MARKDOWN)
    assert [x["name"] for x in api.get(f"/standards/{code}").get_json()["draft"]["files"]] == [NAME, "附录A.md"]

    resp = api.client.delete(f"{PREFIX}/standards/{code}/draft/files/{quote(NAME)}?reason=重复",
                             headers=api.auth("drafter", **{"If-Match": api.etag(code)}))
    assert resp.status_code == 200, resp.get_data(as_text=True)
    assert [x["name"] for x in resp.get_json()["draft"]["files"]] == ["附录A.md"]
    events = api.get(f"/standards/{code}/events").get_json()["items"]
    assert [e["type"] for e in events] == ["standard.drafted", "standard.file_attached",
                                           "standard.file_attached", "standard.file_attached",
                                           "standard.file_removed"]
    assert events[1]["data"] == {"name": NAME, "media_type": f.PDF, "size": len(pdf), "sha256": digest}
    assert events[4]["reason"] == "重复"


def test_whoever_attaches_a_file_may_not_approve_the_draft(api, service, tokens):
    from lifecycle.users import Role
    from tests.people import add_user

    tokens["both"] = add_user(service, "both", [Role.DRAFTER, Role.APPROVER])
    code = api.draft()
    assert put(api, code, NAME, f.sample("sample-zh.pdf"), role="both").status_code == 201
    assert api.get(f"/standards/{code}").get_json()["draft"]["edited_by"] == ["both"]
    api.ok(code, "submit", "drafter")
    body = assert_problem(api.command(code, "approve", "both"), 403)
    assert body["rule"] == "no-self-approval"
    api.ok(code, "approve", "approver")


def test_an_attacher_is_a_contributor_in_the_domain():
    from datetime import date as d

    from lifecycle.domain import Standard
    from lifecycle.errors import Forbidden
    from lifecycle.numbering import parse_code

    s = Standard.create(parse_code("JGSW05001"), {"title": "标题"}, actor="alice")
    s.attach_file("正文.pdf", f.PDF, 10, "ab" * 32, actor="bob")
    s.submit(actor="alice")
    with pytest.raises(Forbidden):
        s.approve(d(2026, 1, 5), d(2026, 1, 5), actor="bob")
    s.approve(d(2026, 1, 5), d(2026, 1, 5), actor="carol")
    assert s.editions[0].files == {"正文.pdf": {"media_type": f.PDF, "size": 10, "sha256": "ab" * 32}}


# ------------------------------------------------------------------ approval binds the bytes
def test_approval_binds_the_files_and_they_never_change(api):
    pdf = f.sample("sample-zh.pdf")
    code, year = issue_with_file(api, pdf, f.PDF)
    digest = hashlib.sha256(pdf).hexdigest()
    approved = [e for e in api.get(f"/standards/{code}/events").get_json()["items"]
                if e["type"] == "standard.approved"]
    assert approved[0]["data"]["files"] == {NAME: {"media_type": f.PDF, "size": len(pdf), "sha256": digest}}
    assert approved[0]["signature"]["meaning"] == "approval"

    listing = api.get(f"/standards/{code}/editions/{year}/files").get_json()["items"]
    assert listing == [{"name": NAME, "media_type": f.PDF, "size": len(pdf), "sha256": digest,
                        "text": {"status": "extracted", "characters": listing[0]["text"]["characters"],
                                 "detail": None}}]
    edition = api.get(f"/standards/{code}/editions/{year}").get_json()
    assert edition["files"] == [{"name": NAME, "media_type": f.PDF, "size": len(pdf), "sha256": digest}]
    assert api.get(f"/standards/{code}").get_json()["edition"]["files"] == edition["files"]

    # An issued standard has no open draft: nothing can be attached (409), nothing written.
    before = api.position()
    resp = put(api, code, NAME, b"%PDF-1.4 changed", f.PDF)
    assert_problem(resp, 409)
    assert api.position() == before

    # A revision starts with the edition's files (the same hashes); changing them
    # changes the draft, never the edition.
    api.ok(code, "revisions", "drafter", {"reason": "修订"})
    draft = api.get(f"/standards/{code}").get_json()["draft"]
    assert draft["files"] == edition["files"]
    attached(api, code, NAME, f.sample("sample-zh.docx"), f.DOCX, status=200)
    assert api.get(f"/standards/{code}/editions/{year}").get_json()["files"] == edition["files"]
    resp = download(api, f"/standards/{code}/editions/{year}/files/{quote(NAME)}")
    assert resp.data == pdf


# ------------------------------------------------------------------ download
def test_download_headers(api):
    pdf = f.sample("sample-zh.pdf")
    code, year = issue_with_file(api, pdf, f.PDF)
    digest = hashlib.sha256(pdf).digest()
    for role in ("auditor", "drafter", "reviewer", "publisher", "approver", "admin"):
        resp = download(api, f"/standards/{code}/editions/{year}/files/{quote(NAME)}", role=role)
        assert resp.status_code == 200
        assert resp.data == pdf
    assert resp.headers["ETag"] == f'"{digest.hex()}"'
    assert resp.headers["Content-Type"] == f.PDF
    assert resp.headers["Content-Length"] == str(len(pdf))
    assert resp.headers["Accept-Ranges"] == "bytes"
    assert resp.headers["Repr-Digest"] == f"sha-256=:{base64.b64encode(digest).decode()}:"
    assert resp.headers["Content-Disposition"] == (
        "attachment; filename=\"file.pdf\"; filename*=UTF-8''%E6%A0%87%E5%87%86%E6%AD%A3%E6%96%87.pdf")
    # the whole edition number as the year segment, any spelling
    again = download(api, f"/standards/{code.lower()}/editions/{code}-{year}/files/{quote(NAME)}")
    assert again.status_code == 200 and again.data == pdf
    resp = api.client.get(f"{PREFIX}/standards/{code}/editions/{year}/files/{quote(NAME)}")
    assert_problem(resp, 401)


def test_disposition_keeps_an_ascii_name_and_a_utf8_one():
    from api.files import disposition

    assert disposition("report v2.pdf") == "attachment; filename=\"report v2.pdf\"; filename*=UTF-8''report%20v2.pdf"
    assert disposition("第3章 Café.docx").startswith("attachment; filename=\"3 Cafe.docx\"; filename*=UTF-8''")
    assert disposition('a"b;c.txt').startswith('attachment; filename="a_b_c.txt"')
    assert disposition("正文").startswith('attachment; filename="file";')


TEN_THOUSAND = bytes((i * 7) % 256 for i in range(10_000)).replace(b"\x00", b"0")


@pytest.fixture
def ten_thousand(api):
    """A draft with a 10,000-byte text file (the size of RFC 9110's examples)."""
    data = (b"0123456789" * 1000)
    code = api.draft()
    attached(api, code, "r.txt", data, f.TXT)
    return code, data


# RFC 9110 §14.1.2 and §14.2, on a representation of 10,000 bytes
@pytest.mark.parametrize("header, status, part", [
    ("bytes=0-499", 206, (0, 500)),              # the first 500 bytes
    ("bytes=500-999", 206, (500, 1000)),         # the second 500 bytes
    ("bytes=-500", 206, (9500, 10000)),          # the final 500 bytes
    ("bytes=9500-", 206, (9500, 10000)),         # the final 500 bytes
    ("bytes=500-600,601-999", 206, (500, 1000)),  # other ways of saying 500-999 (coalesced)
    ("bytes=500-700,601-999", 206, (500, 1000)),
    ("bytes=0-0,-1", 200, (0, 10000)),           # first and last byte: two parts, the whole is sent
    ("bytes= 0-999, 4500-5499, -1000", 200, (0, 10000)),
    ("bytes=9999-20000", 206, (9999, 10000)),    # last-pos past the end: the remainder
    ("bytes=-20000", 206, (0, 10000)),           # suffix longer than the file: all of it
    ("BYTES=0-1", 206, (0, 2)),                  # the unit is case-insensitive
    ("items=0-5", 200, (0, 10000)),              # another unit: ignored
    ("bytes=5-1", 200, (0, 10000)),              # invalid: ignored
    ("bytes=abc", 200, (0, 10000)),
    ("bytes=10000-", 416, None),                 # starts past the end: unsatisfiable
    ("bytes=10000-10005,20000-", 416, None),
    ("bytes=-0", 416, None),
])
def test_range_requests_per_rfc_9110(api, ten_thousand, header, status, part):
    code, data = ten_thousand
    resp = download(api, f"/standards/{code}/draft/files/r.txt", Range=header)
    assert resp.status_code == status, resp.get_data(as_text=True)
    if status == 416:
        assert resp.headers["Content-Range"] == "bytes */10000"
        assert resp.mimetype == "application/problem+json"
        return
    start, stop = part
    assert resp.data == data[start:stop]
    assert resp.headers["Content-Length"] == str(stop - start)
    if status == 206:
        assert resp.headers["Content-Range"] == f"bytes {start}-{stop - 1}/10000"
    else:
        assert "Content-Range" not in resp.headers
    # Repr-Digest is of the whole representation, also for a part (RFC 9530 §3)
    digest = base64.b64encode(hashlib.sha256(data).digest()).decode()
    assert resp.headers["Repr-Digest"] == f"sha-256=:{digest}:"


def test_ranges_unit_rules():
    from api import ranges

    assert ranges.requested(None, 10) is None
    assert ranges.requested("bytes=,", 10) is None
    assert ranges.requested("bytes=0-4,5-9", 10) == (0, 10)
    with pytest.raises(ranges.Unsatisfiable):
        ranges.requested("bytes=10-", 10)


def test_conditional_requests_and_head(api, ten_thousand):
    code, data = ten_thousand
    path = f"/standards/{code}/draft/files/r.txt"
    tag = f'"{hashlib.sha256(data).hexdigest()}"'
    for condition in (tag, f"W/{tag}", '"other", ' + tag, "*"):
        resp = download(api, path, **{"If-None-Match": condition})
        assert resp.status_code == 304, condition
        assert resp.data == b"" and resp.headers["ETag"] == tag
    assert download(api, path, **{"If-None-Match": '"other"'}).status_code == 200
    # If-Range: the Range counts only for these bytes' strong ETag
    assert download(api, path, Range="bytes=0-9", **{"If-Range": tag}).status_code == 206
    resp = download(api, path, Range="bytes=0-9", **{"If-Range": '"stale"'})
    assert resp.status_code == 200 and resp.data == data
    resp = download(api, path, Range="bytes=0-9", **{"If-Range": "Tue, 01 Dec 2026 00:00:00 GMT"})
    assert resp.status_code == 200
    assert_problem(download(api, path, **{"If-Match": '"other"'}), 412)
    head = download(api, path, method="HEAD")
    assert head.status_code == 200 and head.data == b""
    assert head.headers["Content-Length"] == "10000" and head.headers["ETag"] == tag
    assert head.headers["Content-Type"] == "text/plain; charset=utf-8"


def test_a_file_of_several_chunks_streams_whole_and_in_parts(api, service):
    from projections.contents import CHUNK

    data = bytes((i * 31 + i // 997) % 256 for i in range(2 * CHUNK + 12345))
    data = b"%PDF-1.4\n" + data
    code = api.draft()
    attached(api, code, "big.pdf", data)
    sha = hashlib.sha256(data).hexdigest()
    assert service.contents.stored(sha).chunks == 3
    resp = download(api, f"/standards/{code}/draft/files/big.pdf")
    assert resp.data == data and resp.headers["Content-Length"] == str(len(data))
    for start, stop in ((CHUNK - 5, CHUNK + 5), (0, 2 * CHUNK + 1), (2 * CHUNK, len(data))):
        resp = download(api, f"/standards/{code}/draft/files/big.pdf", Range=f"bytes={start}-{stop - 1}")
        assert resp.status_code == 206 and resp.data == data[start:stop], (start, stop)


def test_files_as_of_a_day(api):
    """The files of the edition in force on a day: a revision's new file is not
    shown as of a day before the revision existed."""
    old_pdf, new_pdf = f.pdf_with_text("first edition"), f.pdf_with_text("second edition")
    code = api.draft()
    attached(api, code, NAME, old_pdf)
    api.ok(code, "submit", "drafter")
    api.ok(code, "approve", "approver", {"approved_on": "2019-03-01"})
    api.publish(code, date(2019, 3, 2), date(2019, 4, 1))
    api.ok(code, "revisions", "drafter", {"reason": "修订"})
    attached(api, code, NAME, new_pdf, status=200)
    api.ok(code, "submit", "drafter")
    year = api.ok(code, "approve", "approver")["editions"][-1]["year"]
    api.publish(code, api.today, api.today)
    path = f"/standards/{code}/editions/{{}}/files/{quote(NAME)}"
    assert download(api, path.format(2019)).data == old_pdf
    assert download(api, path.format(year)).data == new_pdf
    resp = download(api, path.format(year) + "?as_of=2020-01-01")
    assert_problem(resp, 404)  # that edition did not exist yet
    assert download(api, path.format(2019) + "?as_of=2020-01-01").data == old_pdf
    in_force = api.get(f"/standards/{code}?as_of=2020-01-01").get_json()["edition"]
    assert in_force["files"][0]["sha256"] == hashlib.sha256(old_pdf).hexdigest()
    assert_problem(download(api, path.format(2019).replace(quote(NAME), "nothing.pdf")), 404)


# ------------------------------------------------------------------ compare
def test_compare_two_editions(api):
    code = api.draft(title="绿化服务工作指南", summary="第一版")
    attached(api, code, "正文.md", "1 范围\n本标准规定了绿化。\n2 要求\n草坪每周修剪。\n".encode(), f.MARKDOWN)
    attached(api, code, "附录.md", b"appendix", f.MARKDOWN)
    api.ok(code, "submit", "drafter")
    api.ok(code, "approve", "approver", {"approved_on": "2019-03-01"})
    api.publish(code, date(2019, 3, 2), date(2019, 4, 1))
    api.ok(code, "revisions", "drafter", {"reason": "修订", "title": "绿化服务工作指南（修订）"})
    attached(api, code, "正文.md", "1 范围\n本标准规定了绿化。\n2 要求\n草坪每两周修剪。\n".encode(), f.MARKDOWN,
             status=200)
    api.client.delete(f"{PREFIX}/standards/{code}/draft/files/{quote('附录.md')}",
                      headers=api.auth("drafter", **{"If-Match": api.etag(code)}))
    attached(api, code, "图.png", b"\x89PNG\r\n\x1a\n" + bytes(50), f.PNG)
    api.ok(code, "submit", "drafter")
    year = api.ok(code, "approve", "approver")["editions"][-1]["year"]
    resp = api.get(f"/standards/{code}/editions/{year}/compare/2019")
    assert resp.status_code == 200, resp.get_data(as_text=True)
    body = resp.get_json()
    assert body["from"] == f"{code}—2019" and body["to"] == f"{code}—{year}"
    assert body["fields"] == {"title": {"old": "绿化服务工作指南", "new": "绿化服务工作指南（修订）"}}
    assert [x["name"] for x in body["files"]["added"]] == ["图.png"]
    assert [x["name"] for x in body["files"]["removed"]] == ["附录.md"]
    assert [x["name"] for x in body["files"]["changed"]] == ["正文.md"]
    assert body["diff"]["正文.md"] == [
        f"--- {code}—2019/正文.md", f"+++ {code}—{year}/正文.md", "@@ -1,4 +1,4 @@",
        " 1 范围", " 本标准规定了绿化。", " 2 要求", "-草坪每周修剪。", "+草坪每两周修剪。"]
    assert_problem(api.get(f"/standards/{code}/editions/{year}/compare/2010"), 404)


# ------------------------------------------------------------------ refusals write nothing
@pytest.mark.parametrize("name", [
    "a/b.pdf", "a\\b.pdf", "..pdf", "a..b.pdf", "x\x07.pdf", ".hidden.pdf", "x" * 201, " 前后.pdf",
    "\u202egpj.pdf",
])
def test_bad_names_are_422_and_write_nothing(api, service, name):
    code = api.draft()
    before, contents = api.position(), stored_contents(service)
    resp = put(api, code, name, f.sample("sample-zh.pdf"))
    body = assert_problem(resp, 422)
    assert "name" in body["errors"]
    assert api.position() == before and stored_contents(service) == contents


@pytest.mark.parametrize("media_type, data", [
    (f.PDF, b"not a pdf at all"),
    (f.DOCX, b"PK\x03\x04 not really a zip"),
    (f.DOCX, f.zipped({"other.xml": b"<x/>"})),
    (f.XLSX, f.zipped({"word/document.xml": b"<x/>"})),
    (f.OFD, f.zipped({"Doc_0/Document.xml": b"<x/>"})),
    (f.ODT, f.zipped({"content.xml": b"<x/>", "mimetype": b"application/zip"})),
    (f.PNG, b"\xff\xd8\xff jpeg bytes"),
    (f.JPEG, b"\x89PNG\r\n\x1a\n"),
    (f.DOC, b"PK\x03\x04"),
    (f.TXT, "中文".encode("gb18030")),
    (f.MARKDOWN, b"ok \xe4\xb8"),
    ("application/zip", f.zipped({"a": b"b"})),
    ("text/html", b"<html>"),
    (None, b"%PDF-1.4"),
])
def test_bytes_that_are_not_their_media_type_are_415_and_write_nothing(api, service, media_type, data):
    code = api.draft()
    before, contents = api.position(), stored_contents(service)
    resp = put(api, code, "文件", data, media_type)
    assert_problem(resp, 415)
    assert api.position() == before and stored_contents(service) == contents


def test_every_accepted_type_with_honest_bytes(api):
    code = api.draft()
    honest = {
        f.PDF: f.sample("sample-zh.pdf"), f.OFD: f.sample("sample-zh.ofd"), f.DOCX: f.sample("sample-zh.docx"),
        f.ODT: f.sample("sample-zh.odt"), f.MARKDOWN: f.sample("sample-zh.md"), f.TXT: "正文".encode(),
        f.PNG: b"\x89PNG\r\n\x1a\n" + bytes(20), f.JPEG: b"\xff\xd8\xff\xe0" + bytes(20),
        f.DOC: b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(20),
        f.XLSX: f.zipped({"xl/workbook.xml": b"<workbook/>", "[Content_Types].xml": b"<x/>"}),
    }
    for i, (media_type, data) in enumerate(honest.items()):
        body = attached(api, code, f"f{i}", data, media_type)
        expected = "none" if media_type in (f.PNG, f.JPEG, f.DOC, f.XLSX) else "extracted"
        assert body["file"]["text"]["status"] == expected, (media_type, body["file"])


def test_other_refusals_write_nothing(api, service):
    issued, _ = api.issued()
    code = api.draft()
    pdf = f.sample("sample-zh.pdf")
    before, contents = api.position(), stored_contents(service)
    assert_problem(put(api, code, NAME, b""), 422)                          # empty body
    assert_problem(put(api, code, NAME, pdf, etag=None), 428)                # no If-Match
    assert_problem(put(api, code, NAME, pdf, etag='"99"'), 412)              # stale
    assert_problem(put(api, issued, NAME, pdf), 409)                         # no open draft
    assert_problem(put(api, code, NAME, pdf, role="auditor"), 403)           # not a drafter
    assert_problem(put(api, "JGSW06999", NAME, pdf, etag='"1"'), 404)        # no such standard
    resp = api.client.put(f"{PREFIX}/standards/{code}/draft/files/x.pdf", data=pdf,
                          headers={"Content-Type": f.PDF, "If-Match": '"1"'})
    assert_problem(resp, 401)
    resp = api.client.delete(f"{PREFIX}/standards/{code}/draft/files/none.pdf",
                             headers=api.auth("drafter", **{"If-Match": api.etag(code)}))
    assert_problem(resp, 404)
    api.ok(code, "submit", "drafter")
    before = api.position()
    assert_problem(put(api, code, NAME, pdf), 409)                           # under review
    assert api.position() == before and stored_contents(service) == contents


class Exploding:
    """A request body that must not be read."""

    def read(self, *args):
        raise AssertionError("the body was read")

    readline = readlines = read


def test_over_the_limit_is_413_before_the_body_is_read(api, service):
    code = api.draft()
    before = api.position()
    limit = service.settings.max_file_bytes
    resp = api.client.put(
        f"{PREFIX}/standards/{code}/draft/files/big.pdf",
        headers=api.auth("drafter", **{"If-Match": api.etag(code), "Content-Type": f.PDF}),
        environ_overrides={"CONTENT_LENGTH": str(limit + 1), "wsgi.input": Exploding()})
    body = assert_problem(resp, 413)
    assert "50 MB" in body["detail"]
    assert api.position() == before


def test_a_smaller_limit_from_the_environment(tmp_path, monkeypatch):
    from lifecycle.config import ConfigError, Settings

    assert Settings.from_env({"LIFECYCLE_MAX_FILE_MB": "2"}).max_file_bytes == 2 * 1024 * 1024
    assert Settings.from_env({}).max_file_mb == 50
    for bad in ("0", "-1", "1.5", "lots", "99999"):
        with pytest.raises(ConfigError):
            Settings.from_env({"LIFECYCLE_MAX_FILE_MB": bad})


def test_a_body_past_the_limit_is_refused_as_it_streams(service, settings, auth, tokens):
    """No Content-Length (a chunked body): 413 as soon as it passes the limit."""
    from dataclasses import replace

    from api import create_app

    small = replace(service.settings, max_file_mb=1)
    service.settings = small
    client = create_app(service=service).test_client()
    code = client.post(f"{PREFIX}/standards", json={"category": "05", "title": "标题"},
                       headers=auth("drafter")).get_json()["code"]
    before = service.recorder.max_notification_id()
    sent = []

    def body():
        for _ in range(8):
            sent.append(1)
            yield b"%PDF" + bytes(512 * 1024 - 4)

    resp = client.put(f"{PREFIX}/standards/{code}/draft/files/big.pdf",
                      headers=auth("drafter", **{"If-Match": '"1"', "Content-Type": f.PDF}),
                      environ_overrides={"wsgi.input_terminated": True, "wsgi.input": body_stream(body())})
    assert_problem(resp, 413)
    assert len(sent) <= 4, "the body was read on past the limit"
    assert service.recorder.max_notification_id() == before


def body_stream(chunks):
    import io

    class Stream(io.RawIOBase):
        def __init__(self):
            self.buffer = b""

        def readable(self):
            return True

        def readinto(self, b):
            while not self.buffer:
                try:
                    self.buffer = next(chunks)
                except StopIteration:
                    return 0
            n = min(len(b), len(self.buffer))
            b[:n], self.buffer = self.buffer[:n], self.buffer[n:]
            return n

    return io.BufferedReader(Stream())


def test_idempotency_key_on_an_upload(api):
    code = api.draft()
    pdf = f.sample("sample-zh.pdf")
    tag = api.etag(code)
    first = put(api, code, NAME, pdf, etag=tag, **{"Idempotency-Key": "up-1"})
    assert first.status_code == 201
    position = api.position()
    again = put(api, code, NAME, pdf, etag=tag, **{"Idempotency-Key": "up-1"})
    assert again.status_code == 201 and again.headers["Idempotency-Replayed"] == "true"
    assert again.get_json() == first.get_json() and api.position() == position
    other = put(api, code, NAME, f.pdf_with_text("other"), etag=tag, **{"Idempotency-Key": "up-1"})
    assert_problem(other, 422)
    assert api.position() == position


# ------------------------------------------------------------------ hostile files: stored without text
@pytest.mark.parametrize("media_type, make, detail", [
    (f.PDF, f.pdf_flate_bomb, "Limit reached"),
    (f.PDF, f.pdf_page_loop, "cyclic"),
    (f.PDF, lambda: f.sample("sample-zh.pdf")[:1500], "could not be read"),
    (f.DOCX, lambda: f.zip_bomb("word/document.xml", 300 << 20, {"[Content_Types].xml": b"<x/>"}),
     "zip bomb"),
    (f.ODT, lambda: f.zip_bomb("content.xml", 300 << 20, {"mimetype": f.ODT.encode()}), "zip bomb"),
    (f.OFD, lambda: f.zip_bomb("OFD.xml", 300 << 20), "zip bomb"),
    (f.OFD, lambda: f.ofd(pages={"Doc_0/Pages/Page_0/Content.xml":
                                 b'<?xml version="1.0"?><!DOCTYPE l [<!ENTITY a "aaaaaaaaaa">'
                                 b'<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">]><p>&b;</p>'}), "Entities"),
    (f.OFD, lambda: f.ofd(document=b'<ofd:Document xmlns:ofd="http://www.ofdspec.org/2016"><ofd:Pages>'
                                   b'<ofd:Page BaseLoc="../../secret.xml"/></ofd:Pages></ofd:Document>'),
     "outside its package"),
], ids=["pdf-flate-bomb", "pdf-page-loop", "pdf-truncated", "docx-zip-bomb", "odt-zip-bomb", "ofd-zip-bomb",
        "ofd-entities", "ofd-path-escape"])
def test_a_hostile_file_is_stored_without_text_and_the_answer_says_so(api, service, media_type, make, detail):
    data = make()
    code = api.draft()
    body = attached(api, code, "恶意文件", data, media_type)
    assert body["file"]["text"]["status"] == "failed", body["file"]
    assert detail in body["file"]["text"]["detail"]
    assert download(api, f"/standards/{code}/draft/files/{quote('恶意文件')}").data == data
    import io

    from projections.text import extract

    assert extract(media_type, io.BytesIO(data)) == extract(media_type, io.BytesIO(data))  # deterministic


def test_the_openapi_document_declares_a_binary_upload(client):
    doc = client.get(f"{PREFIX}/openapi.json").get_json()
    put_op = doc["paths"]["/api/v1/standards/{code}/draft/files/{name}"]["put"]
    content = put_op["requestBody"]["content"]
    assert put_op["requestBody"]["required"] is True
    assert {"application/octet-stream", f.PDF, f.OFD, f.DOCX, f.MARKDOWN} <= set(content)
    assert content[f.PDF]["schema"] == {"type": "string", "format": "binary"}
    assert {"201", "200", "413", "415", "409", "412", "428"} <= set(put_op["responses"])
    get_op = doc["paths"]["/api/v1/standards/{code}/editions/{year}/files/{name}"]["get"]
    assert {"200", "206", "304", "416"} <= set(get_op["responses"])
    assert f.PDF in get_op["responses"]["200"]["content"]


def test_bytes_sent_as_octet_stream_take_the_type_of_their_names_extension(api, service):
    """What a client generated from the OpenAPI document sends for every upload."""
    code = api.draft()
    pdf = f.pdf_with_text("会议服务")
    body = attached(api, code, "标准正文.PDF", pdf, "application/octet-stream")
    assert (body["file"]["media_type"], body["file"]["text"]["status"]) == (f.PDF, "extracted")
    resp = download(api, f"/standards/{code}/draft/files/{quote('标准正文.PDF')}")
    assert (resp.mimetype, resp.data) == (f.PDF, pdf)
    before = stored_contents(service)
    for name, data in (("说明", pdf), ("说明.bin", pdf), ("图.png", pdf)):  # no extension, unknown, lying
        resp = put(api, code, name, data, "application/octet-stream")
        assert resp.status_code == 415, (name, resp.get_data(as_text=True))
        assert resp.mimetype == "application/problem+json"
    assert "extension" in put(api, code, "说明.bin", pdf, "application/octet-stream").get_json()["detail"]
    assert stored_contents(service) == before
