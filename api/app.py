"""The Flask application (API.md). create_app builds the eventsourcing application in
the process that serves it: under gunicorn, in each worker after the fork."""

from __future__ import annotations

from typing import Any

from flask import Flask, Response
from flask_smorest import Api
from werkzeug.exceptions import HTTPException
from werkzeug.routing import BaseConverter

from api import openapi, problems
from api.bootstrap import bootstrap
from api.inputs import Request
from api.problems import ProblemSchema
from lifecycle import VERSION
from lifecycle.config import Settings
from projections.register import Register

PREFIX = "/api/v1"


class StandardCodeConverter(BaseConverter):
    """A standard number in a path: one segment, or the seed's own spelling
    with a slash after the prefix (JGSW/01001); the numbering rules parse it."""

    regex = r"(?:(?i:(?:yn)?\s*jgsw\s*/))?[^/]+"


class NumberTextConverter(BaseConverter):
    """The text /numbers/ parses: anything, slashes and line breaks included,
    so that a bad number is a 422 saying what is wrong with it, not a 404."""

    part_isolating = False
    regex = r"[^/][\s\S]*?"
    weight = 200


def _one_or_more_characters(converter: BaseConverter) -> dict[str, Any]:
    return {"type": "string", "minLength": 1}

MAX_BODY_BYTES = 64 * 1024


class ProblemApi(Api):
    """flask-smorest with RFC 9457 problem details for every error."""

    ERROR_SCHEMA = ProblemSchema
    # No catch-all "default" response: each route documents the problems it
    # can answer with (problems.document), in application/problem+json.
    DEFAULT_ERROR_RESPONSE_NAME = None

    def handle_http_exception(self, error: HTTPException) -> Response:
        return problems.http_problem(error)


def create_app(settings: Settings | None = None, *, service: Register | None = None,
               create_tables: bool = True, config: dict[str, Any] | None = None) -> Flask:
    app = Flask(__name__)
    app.request_class = Request  # the body limit holds for chunked bodies too
    # `//` in a path is a 404 problem like any unknown path, not an HTML 308
    # redirect that routing would answer before the token is checked.
    app.url_map.merge_slashes = False
    app.config.update(
        API_TITLE="JGSW standards lifecycle",
        API_VERSION=VERSION,  # info.version: the package's
        OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX=PREFIX,
        OPENAPI_JSON_PATH="openapi.json",
        MAX_CONTENT_LENGTH=MAX_BODY_BYTES,
        API_SPEC_OPTIONS={
            "components": {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
            "security": [{"bearer": []}],
        },
    )
    app.config.update(config or {})
    app.json.ensure_ascii = False  # type: ignore[attr-defined]  # Chinese as sent, no \u escapes
    app.json.sort_keys = False  # type: ignore[attr-defined]
    app.url_map.converters["code"] = StandardCodeConverter
    app.url_map.converters["text"] = NumberTextConverter

    register = app.extensions["lifecycle"] = service or bootstrap(settings, create_tables=create_tables)
    from api import operations

    # First hooks: request ids, the log, /metrics (a stand-in register without settings: on).
    operations.init_app(app, getattr(getattr(register, "settings", None), "metrics", True))

    from api.standards import PageCache

    app.extensions["lifecycle_pages"] = PageCache()
    api = ProblemApi(app, spec_kwargs=openapi.spec_kwargs())
    openapi.register_components(api.spec)
    api.register_converter(StandardCodeConverter, _one_or_more_characters)
    api.register_converter(NumberTextConverter, _one_or_more_characters)
    from api import audit, files, meta, pages, reviews, standards, subscriptions

    api.register_blueprint(standards.blp, url_prefix=PREFIX)
    api.register_blueprint(files.blp, url_prefix=PREFIX)
    api.register_blueprint(audit.blp, url_prefix=PREFIX)
    api.register_blueprint(meta.blp, url_prefix=PREFIX)
    api.register_blueprint(reviews.blp, url_prefix=PREFIX)
    api.register_blueprint(subscriptions.blp, url_prefix=PREFIX)
    problems.init_app(app)
    pages.init_app(app)  # the pages for people and the offline API docs (/api/v1/docs)
    return app
