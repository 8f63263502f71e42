"""The browsable API documentation at /api/v1/docs, with no internet access:
Swagger UI's scripts and styles come from the flask-swagger-ui package
(which ships swagger-ui-dist and follows its releases), served by this
service; the page starts Swagger UI from a script of ours, not an inline one,
so the Content-Security-Policy needs no 'unsafe-inline'."""

from __future__ import annotations

from importlib.resources import files

from flask import Blueprint, Response, abort, render_template, send_from_directory, url_for

SWAGGER_UI = files("flask_swagger_ui") / "dist"
ASSETS = ("swagger-ui.css", "swagger-ui-bundle.js", "swagger-ui-standalone-preset.js",
          "favicon-32x32.png", "favicon-16x16.png")

blp = Blueprint("api_docs", __name__, template_folder="templates")


@blp.get("/api/v1/docs")
def page() -> str:
    return render_template("pages/api_docs.html", spec_url=url_for("api-docs.openapi_json"))


@blp.get("/api/v1/docs/swagger-ui/<name>")
def swagger_ui(name: str) -> Response:
    if name not in ASSETS:
        abort(404)
    return send_from_directory(str(SWAGGER_UI), name, max_age=86400)
