"""RFC 9457 problem details for every error: the one place that maps the
domain's refusals and HTTP errors to status codes and bodies."""

from __future__ import annotations

import logging
from collections.abc import Callable
from http import HTTPStatus
from typing import Any, TypeVar

import marshmallow as ma
from eventsourcing.persistence import OperationalError, PersistenceError
from flask import Flask, Response, json, request
from gunicorn.http import errors as http_errors
from werkzeug.exceptions import HTTPException

from lifecycle import errors
from lifecycle.config import ConfigError
from lifecycle.numbering import NumberError

log = logging.getLogger(__name__)

PROBLEM = "application/problem+json"

F = TypeVar("F", bound=Callable[..., Any])  # a route function

STATUS_OF = {
    errors.InvalidTransition: 409,
    errors.Conflict: 409,
    errors.NotFound: 404,
    errors.Forbidden: 403,
    errors.InvalidInput: 422,
    errors.StaleVersion: 412,
    errors.UnsupportedMedia: 415,
}


class ProblemSchema(ma.Schema):
    """RFC 9457 problem details; `errors` holds per-field messages. Other
    members (`reason`, `code`, `version` …) are extensions, as RFC 9457 allows."""

    class Meta:
        unknown = ma.INCLUDE  # documented as additionalProperties: extension members

    type = ma.fields.String(required=True,
                            metadata={"description": "URI reference naming the kind of problem"})
    title = ma.fields.String(required=True)
    status = ma.fields.Integer(required=True)
    detail = ma.fields.String(required=True)
    instance = ma.fields.String()
    errors = ma.fields.Dict(
        keys=ma.fields.String(), values=ma.fields.Raw(),
        metadata={"description": "field name -> list of messages"},
    )


# What each refusal means, as the OpenAPI document says it. Every error is a
# problem (application/problem+json); `document` lists them on a route, so the
# document names every status code an operation can answer with.
ERROR_DESCRIPTIONS = {
    400: "malformed JSON, or a malformed Idempotency-Key",
    401: "no valid bearer token",
    403: "your roles (or a rule such as no self-approval) forbid it",
    404: "no such standard or edition",
    409: "invalid transition or conflict",
    412: "If-Match is stale: the standard changed since you read it",
    413: "the body is larger than the limit",
    415: ("the body is not sent as JSON, or a file's media type is not accepted "
          "or its bytes are not of that type"),
    414: "the request line is longer than 8,190 bytes (answered by the server before any route)",
    416: "no range of the Range header overlaps the file (Content-Range: bytes */size)",
    422: "invalid input: `errors` names each field",
    428: "If-Match required: GET the standard first",
    431: "too many header fields, or one too large (answered by the server before any route)",
    503: "the store cannot answer or write; nothing was recorded (Retry-After)",
}
HEADER_DOCS = {
    401: {"WWW-Authenticate": {"description": "the scheme to use (Bearer)",
                               "schema": {"type": "string"}}},
    416: {"Content-Range": {"description": "bytes */size", "schema": {"type": "string"},
                            "required": True}},
    503: {"Retry-After": {"description": "seconds to wait before trying again",
                          "schema": {"type": "string"}, "required": True}},
}


def document(blp: Any, *codes: int) -> Callable[[F], F]:
    """Decorator: document each status in `codes` as a problem response."""
    def wrap(f: F) -> F:
        for code in codes:
            f = blp.alt_response(code, schema=ProblemSchema, content_type=PROBLEM,
                                 description=ERROR_DESCRIPTIONS[code],
                                 headers=HEADER_DOCS.get(code))(f)
        return f
    return wrap


def problem_body(status: int, detail: str, *, kind: str | None = None, title: str | None = None,
                 instance: str | None = None, **extra: Any) -> dict[str, Any]:
    """The members of a problem (RFC 9457); `extra` adds extension members."""
    phrase = HTTPStatus(status).phrase
    return {
        "type": f"urn:jgsw:problem:{kind or phrase.lower().replace(' ', '-')}",
        "title": title or phrase,
        "status": status,
        "detail": detail,
        "instance": instance,
        **{k: v for k, v in extra.items() if v is not None},
    }


def problem(status: int, detail: str, *, kind: str | None = None, title: str | None = None,
            headers: dict[str, str] | None = None, **extra: Any) -> Response:
    body = problem_body(status, detail, kind=kind, title=title,
                        instance=request.path if request else None, **extra)
    response = Response(json.dumps(body), status=status, mimetype=PROBLEM)
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def _flatten(messages: Any) -> dict[str, Any]:
    """webargs nests messages by location ({"json": {...}}); clients want fields."""
    if not isinstance(messages, dict):
        return {"_": messages}
    flat: dict[str, Any] = {}
    for location, fields in messages.items():
        if isinstance(fields, dict):
            flat.update(fields)
        else:
            flat[location] = fields
    return flat


def http_problem(error: HTTPException) -> Response:
    data = getattr(error, "data", None) or {}
    messages = data.get("errors") or data.get("messages")
    code = error.code or 500
    if code == 422 and messages:
        fields = _flatten(messages)
        names = ", ".join(sorted(fields))
        return problem(422, f"invalid input: {names}", kind="invalid-input", errors=fields)
    if code == 400 and messages:
        return problem(400, data.get("detail") or "the body is not valid JSON", kind="malformed-json",
                       errors=_flatten(messages))
    if code == 413:
        return problem(413, "the request body is larger than the limit of "
                       f"{request.max_content_length} bytes", kind="too-large")
    if code == 404 and request.url_rule is None:
        empty = " (a path has no empty segments: no '//')" if "//" in request.path else ""
        return problem(404, f"there is nothing at {request.path}{empty}")
    if code == 405:
        return problem(405, f"{request.method} is not allowed on {request.path}",
                       headers={"Allow": ", ".join(getattr(error, "valid_methods", None) or [])})
    return problem(code, data.get("message") or error.description or error.name,
                   headers=data.get("headers"))


def unparsed_request_problem(error: BaseException, max_fields: int,
                             max_field_bytes: int) -> dict[str, Any] | None:
    """The problem for a request gunicorn refuses to read, before Flask sees
    it (its own answer is an HTML page); None for what is not the client's
    fault (gunicorn answers 500). The limits are gunicorn's settings."""
    if not isinstance(error, http_errors.ParseException) \
            or isinstance(error, http_errors.ConfigurationProblem):
        return None
    if isinstance(error, http_errors.LimitRequestLine):
        return problem_body(414, f"the request line is longer than {error.max_size} bytes: "
                            "shorten the path or the query", kind="request-line-too-long")
    if isinstance(error, http_errors.LimitRequestHeaders):
        many = str(error) == "limit request headers fields"
        detail = (f"more than {max_fields} header fields" if many else
                  f"a header field is longer than {max_field_bytes} bytes")
        return problem_body(431, f"{detail}: send fewer or shorter headers",
                            kind="header-fields-too-large")
    if isinstance(error, http_errors.UnsupportedTransferCoding):
        return problem_body(501, f"{error}: send the body with Content-Length or chunked")
    if isinstance(error, http_errors.ForbiddenProxyRequest):
        return problem_body(403, "this address may not send a PROXY line")
    return problem_body(400, f"the request is not valid HTTP/1.1: {error}", kind="malformed-request")


def domain_problem(error: errors.DomainError) -> Response:
    status = STATUS_OF.get(type(error), 409)
    # The domain's details are extension members; they never replace the problem's own.
    extra: dict[str, Any] = {k: v for k, v in error.details.items()
                             if k not in ("field", "type", "title", "status", "detail", "instance")}
    if isinstance(error, errors.InvalidInput):
        extra["errors"] = {error.field: [error.message]}
    return problem(status, error.message, kind=error.kind, **extra)


def number_problem(error: NumberError) -> Response:
    """A bad number in a body field (a bad one in a path is a 404, see routes)."""
    return problem(422, error.message, kind=f"number-{error.reason}",
                   errors={"number": [error.message]}, reason=error.reason)


# What the driver said -> why the store cannot write, in words for an operator.
# SQLite: "database or disk is full" (SQLITE_FULL), "attempt to write a readonly
# database" (SQLITE_READONLY), "disk I/O error" (e.g. the file made immutable
# under an open connection). PostgreSQL: DiskFull (53100, "No space left on
# device"), ReadOnlySqlTransaction (25006, "read-only transaction").
STORE_FAULTS = (
    ("full", ("disk is full", "no space left", "disk full", "diskfull"),
     "the store's disk is full"),
    ("read-only", ("readonly", "read-only", "read only"),
     "the store is read-only"),
    ("io-error", ("disk i/o error", "i/o error"),
     "the store's file cannot be written (I/O error)"),
)


def store_fault(error: BaseException) -> tuple[str, str]:
    """(reason, words) for a store failure; looks at the driver's exception too."""
    texts: list[str] = []
    seen: BaseException | None = error
    while seen is not None and len(texts) < 5:
        texts.append(f"{type(seen).__name__} {seen}".lower())
        seen = seen.__cause__ or seen.__context__
    text = " ".join(texts)
    for reason, needles, words in STORE_FAULTS:
        if any(needle in text for needle in needles):
            return reason, words
    return "unavailable", "the event store is unavailable"


def store_problem(error: Exception) -> Response:
    """503: the store cannot answer or cannot write. The transaction was rolled
    back, so nothing of the command was recorded; no traceback in the body."""
    if isinstance(error, ConfigError):
        reason, words = "misconfigured", str(error)
    else:
        reason, words = store_fault(error)
    log.error("store cannot serve the request (%s): %s: %s", reason, type(error).__name__, error)
    from api.operations import store_unavailable

    store_unavailable(reason)
    return problem(503, f"{words}: the store cannot write, so nothing was recorded. "
                   "Try again shortly.", kind="store-unavailable", title="Store unavailable",
                   headers={"Retry-After": "5"}, reason=reason)


def unexpected_problem(error: Exception) -> Response:
    if isinstance(error, HTTPException):
        return http_problem(error)
    log.exception("unexpected error")
    return problem(500, "an unexpected error occurred; it has been logged", kind="internal")


def init_app(app: Flask) -> None:
    app.register_error_handler(HTTPException, http_problem)
    app.register_error_handler(errors.DomainError, domain_problem)
    app.register_error_handler(NumberError, number_problem)
    app.register_error_handler(OperationalError, store_problem)
    app.register_error_handler(PersistenceError, store_problem)
    app.register_error_handler(ConfigError, store_problem)
    app.register_error_handler(Exception, unexpected_problem)
