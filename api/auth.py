"""Bearer tokens (flask-httpauth) and the role rules of API.md."""

from __future__ import annotations

from typing import Any

from flask import Response, g, request
from flask_httpauth import HTTPTokenAuth

from api.bootstrap import service
from api.problems import problem
from lifecycle.errors import Forbidden
from lifecycle.users import PERMISSIONS, Role, may

auth = HTTPTokenAuth(scheme="Bearer")


@auth.verify_token
def verify_token(token: str) -> dict[str, Any] | None:
    if not token:
        return None
    found = service().authenticate(token)
    if found is None:
        return None
    name, roles = found
    return {"name": name, "roles": {Role(r) for r in roles}}


@auth.error_handler
def unauthorized(status: int) -> Response:
    if status == 403:
        return problem(403, "your roles do not allow this", kind="forbidden")
    return problem(401, "a valid bearer token is required: Authorization: Bearer <token>",
                   kind="unauthorized")


# flask-httpauth's check, decorating nothing: made once, not on every request.
_login_required = auth.login_required(lambda: None)


def require_login() -> Any:
    """Blueprint-wide hook: every endpoint it guards needs a valid token."""
    return _login_required()


def check_access(command: str | None) -> Any:
    """A blueprint's before_request: a valid token, then (for `command`) a
    role that may run it, before the body is even read. OPTIONS passes: Flask
    answers it (Allow), and flask-httpauth would let it through unauthenticated."""
    if request.method == "OPTIONS":
        return None
    refused = require_login()
    if refused is not None:
        return refused
    if command is not None:
        authorize(command)
    return None


def user() -> dict[str, Any]:
    return auth.current_user()


def actor() -> str:
    return user()["name"]


def authorize(command: str) -> None:
    """403 unless the user holds a role that may run `command`."""
    if not may(user()["roles"], command):
        allowed = PERMISSIONS[command]
        raise Forbidden(
            f"{actor()} may not {command.replace('_', ' ')}: it needs the role "
            f"{' or '.join(sorted(r.value for r in allowed))}",
            rule="role",
        )
    g.actor = actor()
