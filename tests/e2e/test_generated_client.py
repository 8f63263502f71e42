"""The approval workflow as its team would write it: through a Python client
that openapi-python-client generates from /api/v1/openapi.json, against a
real `lifecycle serve` (gunicorn) on each store.

The client is generated once per session; each store gets one server. Only
typed attribute access (`standard.edition.number`), never a dict: a renamed
field, a nested object the generator cannot type, or a changed operationId
(the generated function's name) fails here."""

from __future__ import annotations

import hashlib
import importlib
import json
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import date, datetime
from io import BytesIO
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import requests
from openapi_spec_validator import validate

from api.bootstrap import bootstrap
from lifecycle.config import Settings
from lifecycle.seed import seed
from lifecycle.users import Role
from tests import files as f
from tests.conftest import STORES
from tests.e2e.conftest import Server, store_url
from tests.people import add_user

pytestmark = pytest.mark.e2e

PACKAGE = "jgsw_client"
# The generator reads each upload as application/octet-stream (which the
# register accepts, typing the bytes by the name's extension) and says it
# skips the other media types the document lists for the same body.
EXPECTED_WARNINGS = ("PUT /api/v1/standards/{code}/draft/files/{name}",)
ROLES = {"drafter": Role.DRAFTER, "approver": Role.APPROVER, "publisher": Role.PUBLISHER,
         "auditor": Role.AUDITOR}
# Every function the workflow calls, by module: a renamed operationId fails to import.
OPERATIONS = {
    "standards": ("draft_standard", "edit_draft", "submit_standard", "approve_standard", "publish_standard",
                  "open_revision", "open_amendment", "approve_amendment", "get_standard", "list_standards",
                  "list_editions", "get_edition", "list_edition_references", "list_citing_editions"),
    "files": ("attach_draft_file", "download_edition_file", "list_edition_files"),
    "audit": ("list_standard_events",),
}


def the_document() -> dict[str, Any]:
    """The document the service serves, made without a store (as the fuzz test does)."""
    from api import create_app

    class NoStore:  # the document is made from the routes and schemas, never the store
        pass

    return create_app(service=NoStore()).test_client().get("/api/v1/openapi.json").get_json()


class Generated:
    """The generated package and the functions the workflow calls."""

    def __init__(self, root: Path, document: dict[str, Any]) -> None:
        self.document = document
        sys.path.insert(0, str(root))
        self.package = importlib.import_module(PACKAGE)
        self.models = importlib.import_module(f"{PACKAGE}.models")
        self.types = importlib.import_module(f"{PACKAGE}.types")
        self.api: dict[str, ModuleType] = {
            name: importlib.import_module(f"{PACKAGE}.api.{tag}.{name}")
            for tag, names in OPERATIONS.items() for name in names}

    def client(self, base_url: str, token: str) -> Any:
        # An answer the document does not declare raises errors.UnexpectedStatus.
        return self.package.AuthenticatedClient(base_url=base_url, token=token,
                                                raise_on_unexpected_status=True)


@pytest.fixture(scope="session")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Generated]:
    """Validate the document, generate a client from it, import it: once a session."""
    started = time.monotonic()
    root = tmp_path_factory.mktemp("generated")
    document = the_document()
    validate(document)  # openapi-spec-validator: a valid OpenAPI 3.0 document
    (root / "openapi.json").write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")
    (root / "config.json").write_text(json.dumps({"post_hooks": []}))  # no ruff run over the output
    generator = Path(sys.executable).parent / "openapi-python-client"
    done = subprocess.run([str(generator), "generate", "--path", str(root / "openapi.json"),
                           "--output-path", str(root / PACKAGE), "--meta", "none",
                           "--config", str(root / "config.json")],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    warned = [line for line in done.stdout.splitlines() if line.startswith("WARNING")]
    unexpected = [line for line in warned if not line.endswith(tuple(f"{w} within files." for w in
                                                                     EXPECTED_WARNINGS))]
    assert not unexpected, done.stdout  # nothing else of the document was left out of the client
    client = Generated(root, document)
    print(f"client generated and imported in {time.monotonic() - started:.1f} s")
    yield client
    sys.path.remove(str(root))
    for name in [m for m in sys.modules if m == PACKAGE or m.startswith(f"{PACKAGE}.")]:
        del sys.modules[name]


@pytest.fixture(scope="module", params=STORES)
def served(request, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """One seeded server per store, with a user for each role."""
    workdir = tmp_path_factory.mktemp(f"client-{request.param}")
    url = store_url(request, workdir)
    key = str(workdir / "signing-key.pem")
    # The seed and the users in this process (as `lifecycle seed` and `user
    # add` would record them), sparing six interpreter starts.
    register = bootstrap(Settings(database_url=url, signing_key=key))
    try:
        seed(register)
        tokens = {name: add_user(register, name, [role]) for name, role in ROLES.items()}
    finally:
        register.close()
    srv = Server(workdir, url, workers=1)
    srv.env.update(LIFECYCLE_SIGNING_KEY=key, LIFECYCLE_DELIVER="0")  # no subscriptions here
    srv.tokens = tokens
    srv.start()
    yield srv
    srv.stop()


def etag(response: Any) -> str:
    return response.headers["ETag"]


def test_the_approval_workflow_through_a_generated_client(generated: Generated, served: Server):
    g, m, ops = generated, generated.models, generated.api
    base = served.url.removesuffix("/api/v1")
    drafter, approver, publisher, auditor = (g.client(base, served.tokens[n]) for n in
                                             ("drafter", "approver", "publisher", "auditor"))
    assert requests.get(f"{served.url}/openapi.json", timeout=10).json() == g.document  # what it serves

    # A 422 read as a typed problem: the field is named in `errors`.
    refused = ops["draft_standard"].sync_detailed(
        client=drafter, body=m.DraftCreate(category="99", title="后勤服务管理标准 会议服务工作指南"))
    assert refused.status_code == 422
    problem = refused.parsed
    assert isinstance(problem, m.Problem)
    assert (problem.status, problem.type_) == (422, "urn:jgsw:problem:invalid-input")
    assert "category" in problem.errors.additional_properties

    # Draft, with a reference to the 2018 catalogue, and attach the text as a file.
    drafted = ops["draft_standard"].sync_detailed(client=drafter, body=m.DraftCreate(
        category="05", title="后勤服务管理标准 会议服务工作指南", references=["JGSW01001—2018"]))
    assert drafted.status_code == 201, drafted.content
    standard = drafted.parsed
    code = standard.code
    assert standard.edition is None and standard.draft.title == "后勤服务管理标准 会议服务工作指南"
    assert standard.draft.references == ["JGSW01001—2018"]
    pdf = f.pdf_with_text("会议服务工作指南 第1章 范围")
    attached = ops["attach_draft_file"].sync_detailed(
        code, "标准正文.pdf", client=drafter, if_match=etag(drafted),
        body=g.types.File(payload=BytesIO(pdf), file_name="标准正文.pdf", mime_type="application/pdf"))
    assert attached.status_code == 201, attached.content
    answer = attached.parsed
    assert isinstance(answer, m.FileAnswer)
    assert (answer.file.name, answer.file.media_type, answer.file.size) == ("标准正文.pdf", "application/pdf",
                                                                           len(pdf))
    assert answer.file.sha256 == hashlib.sha256(pdf).hexdigest()
    assert answer.draft.files[0].name == "标准正文.pdf"

    submitted = ops["submit_standard"].sync_detailed(code, client=drafter, if_match=etag(attached),
                                                     body=m.Reason(reason="材料齐全，提交审查"))
    assert submitted.status_code == 200 and submitted.parsed.draft.stage == "under_review"

    # A 412 read as a typed problem: an ETag read before the submission.
    stale = ops["approve_standard"].sync_detailed(code, client=approver, if_match=etag(attached),
                                                  body=m.Approve(approved_on=date(2024, 3, 1)))
    assert stale.status_code == 412
    assert isinstance(stale.parsed, m.Problem) and stale.parsed.status == 412
    assert stale.parsed.type_ == "urn:jgsw:problem:stale-version"

    approved = ops["approve_standard"].sync_detailed(code, client=approver, if_match=etag(submitted),
                                                     body=m.Approve(approved_on=date(2024, 3, 1)))
    assert approved.status_code == 200, approved.content
    first = f"{code}—2024"
    assert approved.parsed.edition is None  # none issued yet
    assert (approved.parsed.editions[0].number, approved.parsed.editions[0].status) == (
        first, m.EditionBriefStatus.APPROVED)
    published = ops["publish_standard"].sync_detailed(code, client=publisher, if_match=etag(approved),
                                                      body=m.Publish(issued_on=date(2024, 3, 10),
                                                                     effective_on=date(2024, 4, 1)))
    assert published.status_code == 200, published.content
    standard = published.parsed
    assert (standard.status, standard.edition.number, standard.edition.effective_on) == (
        m.StandardOutStatus.CURRENT, first, "2024-04-01")
    assert standard.editions[0].number == first and standard.draft is None

    # The catalogue and the editions, typed all the way down.
    page = ops["list_standards"].sync(client=auditor, category="05", limit=500)
    [row] = [item for item in page.items if item.code == code]
    assert row.edition.number == first and row.status_label == "现行"
    [edition] = ops["list_editions"].sync(code, client=auditor).items
    assert (edition.number, edition.files[0].name, edition.references) == (first, "标准正文.pdf",
                                                                           ["JGSW01001—2018"])

    # The file, downloaded as the approval bound it.
    [listed] = ops["list_edition_files"].sync(code, "2024", client=auditor).items
    assert (listed.sha256, listed.text.status) == (hashlib.sha256(pdf).hexdigest(), m.TextOutStatus.EXTRACTED)
    downloaded = ops["download_edition_file"].sync_detailed(code, "2024", "标准正文.pdf", client=auditor)
    assert downloaded.status_code == 200
    assert isinstance(downloaded.parsed, g.types.File) and downloaded.parsed.payload.read() == pdf
    assert downloaded.headers["Repr-Digest"].startswith("sha-256=:")

    # The reference, resolved; and who cites JGSW01001.
    [reference] = ops["list_edition_references"].sync(code, "2024", client=auditor,
                                                      as_of=date(2025, 1, 1)).items
    assert (reference.reference, reference.resolves_to, reference.dated) == (
        "JGSW01001—2018", "JGSW01001—2018", True)
    citing = ops["list_citing_editions"].sync("JGSW01001", client=auditor, as_of=date(2025, 1, 1))
    assert first in [item.number for item in citing.items]

    # The events so far; `known_at` the moment of the issue.
    events = ops["list_standard_events"].sync(code, client=auditor).items
    assert [e.type_ for e in events][-2:] == ["standard.approved", "standard.issued"]
    assert events[-2].signature.meaning == "approval" and events[-2].actor == "approver"
    issued_at = datetime.fromisoformat(events[-1].recorded_at.replace("Z", "+00:00"))

    # An amendment sheet, in force from today.
    today = datetime.now(Settings().zone).date()  # the office's day, as the service's (UTC+8 by default)
    opened = ops["open_amendment"].sync_detailed(code, "2024", client=drafter, if_match=etag(published),
                                                 body=m.AmendmentOpen(summary="更正第3.1条的服务时限",
                                                                      changes="3.1 会前30分钟完成布置。"))
    assert opened.status_code == 201, opened.content
    amended = ops["approve_amendment"].sync_detailed(
        code, "2024", 1, client=approver, if_match=etag(opened),
        body=m.AmendmentApprove(approved_on=today, effective_on=today))
    assert amended.status_code == 200, amended.content
    sheet = ops["get_edition"].sync(code, "2024", client=auditor).amendments[0]
    assert (sheet.number, sheet.status) == (f"{first}/XG1—{today.year}", m.AmendmentOutStatus.IN_FORCE)

    # A revision: a new edition this year replaces the first.
    revision = ops["open_revision"].sync_detailed(code, client=drafter, if_match=etag(amended),
                                                  body=m.Revision(reason="复审结论：修订"))
    assert revision.status_code == 200 and revision.parsed.draft.revision_of == first
    edited = ops["edit_draft"].sync_detailed(code, client=drafter, if_match=etag(revision),
                                             body=m.DraftEdit(title="后勤服务管理标准 会议服务工作规范"))
    assert edited.status_code == 200 and edited.parsed.draft.title == "后勤服务管理标准 会议服务工作规范"
    resubmitted = ops["submit_standard"].sync_detailed(code, client=drafter, if_match=etag(edited),
                                                       body=m.Reason())
    reapproved = ops["approve_standard"].sync_detailed(code, client=approver, if_match=etag(resubmitted),
                                                       body=m.Approve())
    assert reapproved.status_code == 200, reapproved.content
    second = f"{code}—{today.year}"
    reissued = ops["publish_standard"].sync_detailed(code, client=publisher, if_match=etag(reapproved),
                                                     body=m.Publish(issued_on=today, effective_on=today))
    assert reissued.status_code == 200, reissued.content
    now = reissued.parsed
    assert (now.edition.number, now.edition.replaces, now.title) == (second, first,
                                                                     "后勤服务管理标准 会议服务工作规范")
    assert [e.number for e in now.editions] == [first, second]
    assert now.editions[0].replaced_by == second

    # Both clocks: what was in force on a day, and what the register said at a moment.
    then = ops["get_standard"].sync(code, client=auditor, as_of=date(2025, 1, 1))
    assert (then.edition.number, then.edition.replaced_by, then.title) == (first, None,
                                                                           "后勤服务管理标准 会议服务工作指南")
    said = ops["get_standard"].sync(code, client=auditor, known_at=issued_at)
    assert (said.edition.number, said.version, said.draft) == (first, standard.version, None)
    assert said.edition.amendments == []
    before = ops["get_standard"].sync_detailed(code, client=auditor, as_of=date(2020, 1, 1))
    assert before.status_code == 404 and isinstance(before.parsed, m.Problem)
