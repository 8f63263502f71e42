"""Downloads through /register/ with the session cookie: the page route
answers what the API's route for the same file answers, as the signed-in
reader. Only API reads marked `downloadable` (api/standards.py) are served
this way, so the cookie reaches files and spreadsheets and nothing else."""

from __future__ import annotations

from flask import Response, current_app, g, request
from werkzeug.exceptions import HTTPException

from api.pages.session import Reader
from lifecycle.errors import NotFound


def serve_download(api_path: str, reader: Reader) -> Response:
    adapter = current_app.url_map.bind_to_environ(request.environ)
    try:
        endpoint, args = adapter.match(api_path, method="GET")
    except HTTPException:
        raise NotFound(f"nothing to download at {request.path}") from None
    view = current_app.view_functions[endpoint]
    if not getattr(view, "downloadable", False):
        raise NotFound(f"{request.path} is not a download")
    g.flask_httpauth_user = {"name": reader.name, "roles": set(reader.roles)}  # as flask-httpauth would
    return current_app.make_response(current_app.ensure_sync(view)(**args))
