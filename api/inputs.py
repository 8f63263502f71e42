"""How a request is read, before any route sees it: bodies, query strings
and If-Match. Refusals raise werkzeug's HTTP errors or marshmallow's
ValidationError; api/problems.py turns them into problem+json.

- A route's JSON body (flask-smorest `@blp.arguments(Schema)`, location
  "json") is read only from `application/json` or `application/*+json`. A
  body of any other type, or of none, is a 415; an empty body is no body, so a
  command whose fields are all optional works without one. Routes that take
  raw bytes (file uploads: PUT of the bytes, `Content-Type` their media type)
  declare no JSON body and read `request.stream` themselves: the rule does
  not reach them, by design, and they check their own media types.
- A body nesting deeper than Python's parser can follow is a 400.
- A body sent chunked (no Content-Length) counts against the same limit as
  one that declares its length: over it, 413.
- A query parameter given twice is a 422 naming it, unless its field is a list.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import IO, Any, NoReturn, cast

import flask
import marshmallow as ma
from flask_smorest import Blueprint as SmorestBlueprint
from webargs import core
from webargs.flaskparser import FlaskParser, abort
from werkzeug.exceptions import RequestEntityTooLarge, UnsupportedMediaType
from werkzeug.utils import cached_property
from werkzeug.wsgi import LimitedStream


class BodyLimit(LimitedStream):
    """werkzeug's stream for a body without Content-Length: at the size limit
    its `readall` stops quietly and returns the first `limit` bytes, so a
    chunked body over the limit arrived cut, as "not valid JSON". This one
    reads one byte past the limit to tell a body of exactly the limit from a
    longer one, which is a 413."""

    def __init__(self, stream: IO[bytes], limit: int) -> None:
        super().__init__(stream, limit, is_max=True)
        self.source = stream

    def readall(self) -> bytes:
        data = super().readall()
        if self.is_exhausted and self.source.read(1):
            raise RequestEntityTooLarge()
        return data


class Request(flask.Request):
    """Flask's request, with the size limit enforced on chunked bodies too."""

    @cached_property
    def stream(self) -> IO[bytes]:
        limit = self.max_content_length
        if self.content_length is None and limit is not None \
                and self.environ.get("wsgi.input_terminated"):
            return cast(IO[bytes], BodyLimit(self.environ["wsgi.input"], limit))
        return super().stream


def _has_body(req: flask.Request) -> bool:
    return bool(req.get_data(cache=True))


class Parser(FlaskParser):
    """webargs' parser for every route (through `Blueprint` below)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._schemas: dict[type[ma.Schema], ma.Schema] = {}

    def _get_schema(self, argmap: Any, req: flask.Request) -> ma.Schema:
        # One instance per schema class, not one per request: building a
        # schema deep-copies its fields, a tenth of a command's time. A
        # schema keeps no state between loads.
        if isinstance(argmap, type) and issubclass(argmap, ma.Schema):
            if argmap not in self._schemas:
                self._schemas[argmap] = argmap()
            return self._schemas[argmap]
        return super()._get_schema(argmap, req)

    def _raw_load_json(self, req: flask.Request) -> Any:
        if not core.is_json(req.mimetype):
            if _has_body(req):
                raise UnsupportedMediaType(
                    f"the body is sent as {req.mimetype or 'no media type'}: send it as "
                    "JSON, with Content-Type: application/json")
            return core.missing
        try:
            return super()._raw_load_json(req)
        except RecursionError:
            self._too_deep()

    @staticmethod
    def _too_deep() -> NoReturn:
        words = "the body nests lists or objects too deep to read"
        abort(400, messages={"json": [words]}, detail=words)

    def load_querystring(self, req: flask.Request, schema: ma.Schema) -> Any:
        repeated = {name: [f"given {len(values)} times: give it once"]
                    for name, values in req.args.lists()
                    if len(values) > 1 and not self._takes_several(schema, name)}
        if repeated:
            raise ma.ValidationError(repeated)
        return super().load_querystring(req, schema)

    @staticmethod
    def _takes_several(schema: ma.Schema, name: str) -> bool:
        field = schema.fields.get(name)
        return isinstance(field, (ma.fields.List, ma.fields.Tuple))


class Blueprint(SmorestBlueprint):
    """flask-smorest's Blueprint, reading arguments with `Parser`."""

    ARGUMENTS_PARSER = Parser()


# ------------------------------------------------------------------ If-Match
# RFC 9110 §8.8.3 and §13.1.1: `*`, or a comma-separated list of entity tags
# ([W/]"opaque"); it holds when any strong tag equals the current ETag. This
# service's ETags are the standard's version in ASCII digits: "3".
ENTITY_TAG = re.compile(r'\s*(W/)?"([^"\x00-\x1f\x7f]*)"\s*')
OUR_TAG = re.compile(r"[1-9][0-9]*")
EXAMPLE = 'ETags here are the version number in ASCII digits in double quotes, e.g. "1"'


class PreconditionRequired(Exception):
    """No If-Match on a command that needs one (428)."""


@dataclass(frozen=True)
class IfMatch:
    """What an If-Match header asks: any version (`*`), or one of `versions`.
    `others` are the tags that can never match, each with why."""

    header: str
    any_version: bool = False
    versions: tuple[int, ...] = ()
    others: tuple[str, ...] = ()

    def single(self) -> int | None:
        """The one version it names when that is all it says, else None."""
        return self.versions[0] if len(self.versions) == 1 and not self.others else None

    def refusal(self, code: str, version: int) -> str:
        """Why it does not hold for `code` at `version`, in words."""
        said = []
        if self.versions:
            said.append(f"{code} is at version {version}, not "
                        f"{' or '.join(str(v) for v in self.versions)}: read it again")
        said.extend(self.others)
        if self.others:
            said.append(f"{code}'s ETag is \"{version}\"; {EXAMPLE}")
        return "; ".join(said)


def parse_if_match(header: str) -> IfMatch:
    text = header.strip()
    if text == "*":
        return IfMatch(header, any_version=True)
    versions: list[int] = []
    others: list[str] = []
    for element in _elements(text):
        match = ENTITY_TAG.fullmatch(element)
        if match is None:
            others.append(f"If-Match {_shown(element)} is not an entity tag (a quoted ETag)")
        elif match[1]:
            others.append(f"W/\"{_shown(match[2])}\" is a weak ETag, which never matches "
                          "If-Match (RFC 9110 §13.1.1)")
        elif OUR_TAG.fullmatch(match[2]):
            versions.append(int(match[2]))
        else:
            others.append(f"\"{_shown(match[2])}\" is not an ETag of this service")
    if not versions and not others:
        others.append(f"If-Match {_shown(text)} names no entity tag")
    return IfMatch(header, versions=tuple(versions), others=tuple(others))


def _elements(text: str) -> list[str]:
    """The list's members: split at commas outside quotes; empty ones dropped
    (RFC 9110 §5.6.1 lets a list have them)."""
    parts = re.findall(r'(?:[^,"]|"[^"]*"?)+', text)
    return [p for p in (part.strip() for part in parts) if p]


def _shown(text: str) -> str:
    """A header value as the client typed it: HTTP carries header bytes as
    Latin-1, so UTF-8 (a full-width digit sent by curl) is decoded back."""
    try:
        return text.encode("latin-1").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return text


def if_match() -> IfMatch:
    """The request's If-Match; PreconditionRequired without one."""
    header = flask.request.headers.get("If-Match", "").strip()
    if not header:
        raise PreconditionRequired()
    return parse_if_match(header)
