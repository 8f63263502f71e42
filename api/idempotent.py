"""The Idempotency-Key header on commands: a retry with the same key and body
gets the first answer (status, body, ETag) and records nothing; the same key
with another body is a 422 problem."""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from typing import Any

from flask import Response, request

from api.auth import actor
from api.bootstrap import service
from api.operations import replayed
from api.problems import problem
from lifecycle import idempotency
from lifecycle.idempotency import AlreadyRecorded, IdempotencyKey
from lifecycle.ports import StoredAnswer

# A command's answer before it is serialised: (body, status, headers).
Answer = tuple[Any, int, dict[str, str]]

HEADER = "Idempotency-Key"
MAX_KEY = 200
WAIT_FOR_FIRST = 5.0  # seconds a concurrent retry waits for the first answer to be stored


def _request_hash() -> str:
    body = request.get_json(silent=True)
    content = (json.dumps(body, sort_keys=True, ensure_ascii=False).encode()
               if body is not None else request.get_data())
    return hashlib.sha256(f"{request.method} {request.path}\n".encode() + content).hexdigest()


def _bad_key(text: str) -> bool:
    return not (0 < len(text) <= MAX_KEY and text.isascii() and text.isprintable())


def _replay(stored: StoredAnswer) -> Answer:
    headers = {"Idempotency-Replayed": "true"}
    if stored.etag:
        headers["ETag"] = stored.etag
    if stored.location:
        headers["Location"] = stored.location
    assert stored.status is not None  # stored with the body
    return json.loads(stored.body or "null"), stored.status, headers


def _mismatch() -> Response:
    return problem(422, f"this {HEADER} was used for a different request; use a new key "
                   "for a new command", kind="idempotency-key-reused",
                   errors={HEADER: ["already used with another method, path or body"]})


def _scoped(header: str) -> str:
    """A key belongs to the user who sent it."""
    return f"{actor()}:{header.strip()}"


def already_recorded() -> bool:
    """This request carries an Idempotency-Key whose command is recorded: its
    answer is the first one, whatever the standard's state is now."""
    header = request.headers.get(HEADER)
    return (header is not None and not _bad_key(header.strip())
            and service().reads.idempotency(_scoped(header)) is not None)


def idempotent(command: Callable[[], Answer], answer_at: Callable[[str, int], Answer],
               request_hash: str | None = None) -> Answer | Response:
    """Run `command` (returning (body, status, headers)) at most once per key.
    `answer_at(code, version)` rebuilds an answer if the first one was never
    stored (the process died between recording and answering). A streamed
    body (a file) is hashed by its route and given as `request_hash`."""
    header = request.headers.get(HEADER)
    if header is None:
        return command()
    if _bad_key(header.strip()):
        return problem(400, f"{HEADER} must be 1 to {MAX_KEY} printable ASCII characters",
                       kind="bad-idempotency-key")
    app = service()
    key = IdempotencyKey(_scoped(header), request_hash or _request_hash())
    stored = app.reads.idempotency(key.key)
    if stored is None:
        try:
            with idempotency.using(key):
                result = command()
        except AlreadyRecorded:
            stored = _wait_for(app, key.key)
        else:
            body, status, headers = result
            if 200 <= status < 300:
                app.reads.remember_answer(key.key, status, headers.get("ETag"),
                                          headers.get("Location"), json.dumps(body, ensure_ascii=False))
            return result
    if stored.request_hash != key.request_hash:
        return _mismatch()
    replayed()
    if stored.body is None:
        body, status, headers = answer_at(stored.code, stored.version)
        return body, status, {**headers, "Idempotency-Replayed": "true"}
    return _replay(stored)


def _wait_for(app: Any, key: str) -> StoredAnswer:
    """A copy of this request was recorded a moment ago: wait for its answer."""
    deadline = time.monotonic() + WAIT_FOR_FIRST
    while True:
        stored = app.reads.idempotency(key)
        assert stored is not None  # claimed with the events a moment ago
        if stored.body is not None or time.monotonic() > deadline:
            return stored
        time.sleep(0.02)
