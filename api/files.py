"""Documents: the files of a draft and of each approved edition (API.md
"Documents of an edition").

An upload is the raw bytes (not JSON): it is streamed from the request into a
spooled temporary file while it is hashed and counted, checked against its
media type's signature, its text extracted, and then AttachFile (a command of
the registry) records the event with the bytes in one transaction. Refusals
come before the body is read wherever they can (403, 404, 428, 422 name, 415
media type, 413 Content-Length, 409 no draft, 412 stale). Downloads stream
the stored chunks, with ETag (the SHA-256), Repr-Digest, Range and
If-None-Match."""

from __future__ import annotations

import base64
import difflib
import hashlib
import unicodedata
from collections.abc import Callable
from typing import IO, Any
from urllib.parse import quote

import marshmallow as ma
from flask import Response, request, url_for
from werkzeug.exceptions import RequestEntityTooLarge

from api import ranges
from api import schemas as s
from api.auth import actor
from api.bootstrap import service
from api.idempotent import Answer, already_recorded, idempotent
from api.inputs import Blueprint, PreconditionRequired, if_match
from api.problems import document, problem
from api.standards import (
    COMMAND_ERRORS,
    COMMAND_ROUTES,
    ETAG,
    IDEMPOTENCY_KEY,
    IF_MATCH,
    REPLAYED,
    When,
    answer,
    answer_at_version,
    as_json,
    downloadable,
    expected_version,
    find_edition,
    guard,
    load,
    path_code,
    precondition_required,
    respond,
    run,
)
from lifecycle import commands, files, workflow
from lifecycle.domain import CONTENT_FIELDS
from lifecycle.errors import InvalidInput, NotFound, StaleVersion
from lifecycle.files import Staged
from lifecycle.numbering import StandardCode
from lifecycle.vocabulary import Stage
from projections import text
from projections.contents import CHUNK, Stored, spooled
from projections.documents import edition_number
from projections.views import files_view

blp = Blueprint("files", __name__, description="Documents: the files of each draft and edition")
blp.before_request(guard)  # the standards' guard: a token, and the command's roles from the registry

DRAFT_FILE = "/standards/<code:code>/draft/files/<path:name>"
EDITION = "/standards/<code:code>/editions/<year>"
MAX_DIFF_LINES = 5_000  # lines of one file's diff in a compare

UPLOAD = {"required": True,
          "description": "the file's bytes; Content-Type is their media type, or application/octet-stream "
                         "for the type the name's extension says (.pdf, .ofd, .docx, .doc, .odt, .xlsx, "
                         ".txt, .md, .png, .jpg)",
          "content": {media_type: {"schema": {"type": "string", "format": "binary"}}
                      for media_type in (files.OCTET_STREAM, *files.MEDIA_TYPES)}}
DOWNLOAD_HEADERS = {
    "ETag": {"description": 'the SHA-256 of the bytes, quoted', "schema": {"type": "string"}},
    "Repr-Digest": {"description": "RFC 9530: sha-256=:<base64>:", "schema": {"type": "string"}},
    "Content-Disposition": {"description": "attachment; filename*=UTF-8''… (RFC 6266)",
                            "schema": {"type": "string"}},
    "Accept-Ranges": {"description": "bytes", "schema": {"type": "string"}},
}
RANGE = {"in": "header", "name": "Range", "required": False, "schema": {"type": "string"},
         "description": "bytes=first-last, bytes=first- or bytes=-suffix: 206 with that part; "
                        "416 when no range overlaps the file"}
IF_NONE_MATCH = {"in": "header", "name": "If-None-Match", "required": False, "schema": {"type": "string"},
                 "description": 'the ETag you hold: 304 if the file is still those bytes'}


def documented(*codes: int) -> Callable[[Any], Any]:
    return document(blp, *codes, 503)


def downloads(f: Any) -> Any:
    """Document a download: 200 (the file) and 206 (a part of it) in each media
    type a file may have, 304 (not modified), and the problems."""
    for status, description in ((200, "the file's bytes, sent as the file's media type; a client "
                                      "may read any of them as application/octet-stream"),
                                (206, "the part the Range asked for")):
        for media_type in (*files.MEDIA_TYPES, files.OCTET_STREAM):
            f = blp.alt_response(status, schema={"type": "string", "format": "binary"},
                                 content_type=media_type, description=description,
                                 headers={**DOWNLOAD_HEADERS, **({"Content-Range": {
                                     "description": "bytes first-last/size", "schema": {"type": "string"},
                                     "required": True}} if status == 206 else {})},
                                 success=True)(f)
    f = blp.alt_response(304, description="If-None-Match holds its ETag: not modified",
                         headers={"ETag": DOWNLOAD_HEADERS["ETag"]})(f)
    f = documented(401, 404, 412, 416, 422)(f)
    return blp.doc(parameters=[RANGE, IF_NONE_MATCH])(f)


# ------------------------------------------------------------------ commands
@blp.route(DRAFT_FILE, methods=["PUT"])
@blp.arguments(s.FileReason, location="query", as_kwargs=True, unknown=ma.RAISE)
@blp.response(201, s.FileAnswer, headers={**ETAG, **REPLAYED})
@blp.alt_response(200, schema=s.FileAnswer, description="a file of that name was replaced",
                  headers={**ETAG, **REPLAYED})
@documented(*COMMAND_ERRORS, 415)
@blp.doc(parameters=[IF_MATCH, IDEMPOTENCY_KEY], requestBody=UPLOAD)
def attach_file(code: str, name: str, reason: str | None = None) -> Response:
    """Attach a file to the open draft, or replace its file of that name.

    The body is the file's raw bytes and `Content-Type` its media type (PDF,
    OFD, DOCX, DOC, ODT, XLSX, TXT, Markdown, PNG, JPEG). 201 for a new name,
    200 for a replaced file; `file.text` says what text was extracted."""
    parsed = path_code(code)
    try:
        condition = if_match()
    except PreconditionRequired:
        return precondition_required(parsed)
    expected = expected_version(parsed, condition)
    files.check_name(name)
    media_type = files.media_type_of_upload(request.content_type, name)
    files.check_media_type(media_type)
    # Refuse what the command would refuse before reading the body, unless
    # this is a retry that gets the first answer.
    existed = False if already_recorded() else _check_draft(parsed, expected, name)
    limit = service().settings.max_file_bytes
    if request.content_length is not None and request.content_length > limit:
        return _too_large(limit)
    received = _receive(limit)
    if isinstance(received, Response):
        return received
    source, sha256, size = received
    try:
        files.check_bytes(media_type, source)
        staged = Staged(sha256, size, media_type, source, text.extract(media_type, source))

        def send() -> Answer:
            standard = service().handle(commands.AttachFile(
                code=parsed, expected_version=expected, actor=actor(), reason=reason, name=name,
                content=staged))
            body, status, headers = answer(standard, 200 if existed else 201)
            location = url_for("files.draft_file", code=standard.code, name=name)
            return {**body, "file": _file_answer(name, staged)}, status, {**headers, "Location": location}

        request_hash = hashlib.sha256(f"PUT {request.path}\n{media_type}\n{sha256}".encode()).hexdigest()
        return respond(idempotent(send, answer_at_version, request_hash))
    finally:
        source.close()


@blp.route(DRAFT_FILE, methods=["DELETE"])
@blp.arguments(s.FileReason, location="query", as_kwargs=True, unknown=ma.RAISE)
@blp.response(200, s.StandardOut, headers={**ETAG, **REPLAYED})
@documented(*COMMAND_ERRORS)
@blp.doc(parameters=[IF_MATCH, IDEMPOTENCY_KEY])
def remove_file(code: str, name: str, reason: str | None = None) -> Response:
    """Remove a file from the open draft."""
    return run(code, commands.RemoveFile, name=name, reason=reason)


for _command in (commands.AttachFile, commands.RemoveFile):  # the guard reads their roles
    COMMAND_ROUTES[f"{blp.name}.{_command.spec.name}"] = (_command,)


def _check_draft(code: StandardCode, expected: int | None, name: str) -> bool:
    """Before the body is read: 404, 409 (no open draft) and 412 (stale)
    as the command would answer them; whether the draft has `name` already."""
    rows = service().reads.standard(str(code), service().today())
    if rows is None:
        raise NotFound(f"no standard {code}", code=str(code))
    if expected is not None and rows.version != expected:
        raise StaleVersion(f"{code} is at version {rows.version}, not {expected}: read it again",
                           version=rows.version)
    workflow.check("attach_file", Stage(rows.stage), str(code))
    return name in (rows.doc["draft"] or {}).get("files", {})


def _too_large(limit: int) -> Response:
    return problem(413, f"a file may be at most {limit // (1024 * 1024)} MB (LIFECYCLE_MAX_FILE_MB); "
                   "nothing was stored", kind="too-large", limit=limit)


def _receive(limit: int) -> tuple[IO[bytes], str, int] | Response:
    """The body into a spooled temporary file, hashed and counted as it comes;
    413 as soon as it passes `limit` (a chunked body has no Content-Length)."""
    request.max_content_length = limit  # the JSON limit of the app is far smaller
    out, digest, size = spooled(), hashlib.sha256(), 0
    try:
        while block := request.stream.read(CHUNK):
            size += len(block)
            if size > limit:
                raise RequestEntityTooLarge
            digest.update(block)
            out.write(block)
    except RequestEntityTooLarge:
        out.close()
        return _too_large(limit)
    except BaseException:
        out.close()
        raise
    if size == 0:
        out.close()
        raise InvalidInput("body", "the body is empty: send the file's bytes")
    out.seek(0)
    return out, digest.hexdigest(), size


def _file_answer(name: str, staged: Staged) -> dict[str, Any]:
    extraction = staged.text
    return {"name": name, "media_type": staged.media_type, "size": staged.size, "sha256": staged.sha256,
            "text": {"status": extraction.status, "characters": len(extraction.text),
                     "detail": extraction.detail}}


# ------------------------------------------------------------------ reads
@blp.route(DRAFT_FILE, methods=["GET"])
@blp.arguments(s.NoQuery, location="query", as_kwargs=True, unknown=ma.RAISE)
@downloads
def draft_file(code: str, name: str) -> Response:
    """A file of the open draft.

    Its bytes as they are now, with `ETag` (the SHA-256) and `Repr-Digest`;
    `Range`, `If-None-Match` and `HEAD` as for an edition's file."""
    rows = load(path_code(code), When())
    draft = rows.doc["draft"]
    if draft is None:
        raise NotFound(f"{rows.code} has no open draft")
    return _download(rows.code, "the draft", draft.get("files", {}), name)


@blp.route(f"{EDITION}/files", methods=["GET"])
@blp.arguments(s.Clocks, location="query", as_kwargs=True, unknown=ma.RAISE)
@blp.response(200, s.FilePage)
@documented(401, 404, 422)
def edition_files(code: str, year: str, **clocks: Any) -> dict[str, Any]:
    """The files an edition's approval bound, with what text each gave.

    Each with its name, media type, size and SHA-256, and whether its text
    was extracted for search."""
    when = When(**clocks)
    rows = load(path_code(code), when)
    raw = find_edition(rows, year, when)
    items = files_view(raw.get("files"))
    texts = service().reads.texts([f["sha256"] for f in items])
    for f in items:
        status, detail, characters = texts.get(f["sha256"], ("none", None, 0))
        f["text"] = {"status": status, "characters": characters or 0, "detail": detail}
    return {"items": items, "next": None}


@blp.route(f"{EDITION}/files/<path:name>", methods=["GET"])
@blp.arguments(s.Clocks, location="query", as_kwargs=True, unknown=ma.RAISE)
@downloads
@downloadable  # a standard's page links it through /register/ with the cookie
def edition_file(code: str, year: str, name: str, **clocks: Any) -> Response:
    """A file of an edition: the bytes its approval bound, as of a day.

    `ETag` is the SHA-256 and `Repr-Digest` (RFC 9530) its base64; `Range`
    answers 206 with a part (416 when none overlaps), `If-None-Match` 304."""
    when = When(**clocks)
    rows = load(path_code(code), when)
    raw = find_edition(rows, year, when)
    return _download(rows.code, edition_number(rows.code, raw["year"]) or "", raw.get("files", {}), name)


def _download(code: str, owner: str, named: dict[str, Any], name: str) -> Response:
    ref = named.get(name)
    if ref is None:
        raise NotFound(f"{owner} of {code} has no file {name!r}", files=sorted(named))
    info = service().contents.stored(ref["sha256"])
    if info is None:
        return problem(503, f"the store does not hold the bytes of {name!r} ({ref['sha256']}); "
                       "run `lifecycle verify`", kind="content-missing", headers={"Retry-After": "60"})
    return send(info, ref["media_type"], name)


def send(info: Stored, media_type: str, name: str) -> Response:
    """The bytes of a content, whole or the part a Range asks for, a chunk at
    a time; conditional on If-None-Match (and If-Range)."""
    etag = f'"{info.sha256}"'
    headers = {
        "ETag": etag,
        "Accept-Ranges": "bytes",
        "Content-Disposition": disposition(name),
        "Repr-Digest": f"sha-256=:{base64.b64encode(bytes.fromhex(info.sha256)).decode()}:",
        "Cache-Control": "private, no-cache",
        "X-Content-Type-Options": "nosniff",
    }
    if request.if_none_match and request.if_none_match.contains_weak(info.sha256):
        return Response(status=304, headers=headers)
    if request.if_match and not request.if_match.contains(info.sha256):
        return problem(412, "If-Match does not name these bytes", kind="precondition-failed")
    start, stop, status = 0, info.size, 200
    if _range_applies(etag):
        try:
            part = ranges.requested(request.headers.get("Range"), info.size)
        except ranges.Unsatisfiable:
            return problem(416, f"no range of {request.headers.get('Range')!r} overlaps the "
                           f"{info.size} bytes of {name!r}", kind="range-not-satisfiable",
                           headers={**headers, "Content-Range": ranges.unsatisfied_range(info.size)})
        if part is not None:
            (start, stop), status = part, 206
            headers["Content-Range"] = ranges.content_range(start, stop, info.size)
    headers["Content-Length"] = str(stop - start)
    content_type = f"{media_type}; charset=utf-8" if media_type in files.TEXT_TYPES else media_type
    # A generator: nothing is read from the store until the server sends the
    # body, a chunk at a time (and a HEAD request never does).
    body = service().contents.read(info, start, stop)
    return Response(body, status=status, headers=headers, content_type=content_type,
                    direct_passthrough=True)


def _range_applies(etag: str) -> bool:
    """If-Range (RFC 9110 §13.1.5): the Range counts only if it names these
    bytes by their strong ETag (no date can: downloads carry no Last-Modified)."""
    condition = request.headers.get("If-Range")
    return condition is None or condition.strip() == etag


def disposition(name: str) -> str:
    """attachment, with the UTF-8 name (RFC 6266 / RFC 8187 filename*) and a
    plain ASCII `filename` for old clients."""
    plain = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
    plain = "".join(ch if ch.isprintable() and ch not in '"\\;%' else "_" for ch in plain).strip()
    stem, dot, suffix = plain.rpartition(".")
    if not plain or (dot and not stem.strip(" ._")) or not plain.strip(" ._"):
        plain = "file" + (f".{suffix}" if dot and suffix else "")
    return f"attachment; filename=\"{plain}\"; filename*=UTF-8''{quote(name, safe='!#$&+-.^_`|~')}"


# ------------------------------------------------------------------ compare
@blp.route(f"{EDITION}/compare/<other>", methods=["GET"])
@blp.arguments(s.Clocks, location="query", as_kwargs=True, unknown=ma.RAISE)
@blp.response(200, s.CompareOut)
@documented(401, 404, 422)
def compare(code: str, year: str, other: str, **clocks: Any) -> Response:
    """Compare two editions of a standard: from `other` to `year`.

    The fields that changed, the files added, removed and changed, and a
    unified diff of the text of each changed file that has text in both."""
    when = When(**clocks)
    rows = load(path_code(code), when)
    new = find_edition(rows, year, when)
    old = find_edition(rows, other, when)
    old_name, new_name = (edition_number(rows.code, e["year"]) or "" for e in (old, new))
    old_files, new_files = old.get("files", {}), new.get("files", {})
    changed = sorted(n for n in set(old_files) & set(new_files)
                     if old_files[n]["sha256"] != new_files[n]["sha256"])
    out: dict[str, Any] = {
        "from": old_name, "to": new_name,
        "fields": {f: {"old": old.get(f), "new": new.get(f)}
                   for f in CONTENT_FIELDS if old.get(f) != new.get(f)},
        "files": {
            "added": files_view({n: new_files[n] for n in new_files if n not in old_files}),
            "removed": files_view({n: old_files[n] for n in old_files if n not in new_files}),
            "changed": [{"name": n, "old": files_view({n: old_files[n]})[0],
                         "new": files_view({n: new_files[n]})[0]} for n in changed],
            "unchanged": sorted(n for n in set(old_files) & set(new_files) if n not in changed),
        },
        "diff": {}, "truncated": [],
    }
    reads = service().reads
    for name in changed:
        before, after = reads.text_of(old_files[name]["sha256"]), reads.text_of(new_files[name]["sha256"])
        if before and after:
            lines = list(difflib.unified_diff(before.splitlines(), after.splitlines(),
                                              f"{old_name}/{name}", f"{new_name}/{name}", lineterm=""))
            if len(lines) > MAX_DIFF_LINES:
                lines = lines[:MAX_DIFF_LINES]
                out["truncated"].append(name)
            out["diff"][name] = lines
    return as_json(out)  # already in its documented shape
