"""Signing in to the pages: a user's token, typed once into a form, becomes
a session cookie (Flask's signed cookie) that names the user and a
fingerprint of their token. Every request checks both against the users
table, so a revoked or re-issued token signs the cookie out at once. The API
never reads this cookie: it keeps bearer tokens only."""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from flask import Flask, Request, request, session
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface

from api.bootstrap import service
from lifecycle.users import Role, hash_token, may

COOKIE = "jgsw_session"
LIFETIME = timedelta(hours=8)  # a working day, counted from signing in


class RegisterSessions(SecureCookieSessionInterface):
    """Flask's signed cookie, keyed by the register's session key (from
    LIFECYCLE_SECRET_KEY or the store: every host signs alike), fetched only
    once somebody signs in; Secure whenever the request came over HTTPS."""

    def get_signing_serializer(self, app: Flask) -> Any:
        if not app.secret_key:
            app.secret_key = app.extensions["lifecycle"].session_key()
        return super().get_signing_serializer(app)

    def open_session(self, app: Flask, request: Request) -> SecureCookieSession | None:
        path = self.get_cookie_path(app)
        if request.path != path and not request.path.startswith(path + "/"):
            return None  # outside the pages (the API): Flask's null session, never read, never saved
        if self.get_cookie_name(app) not in request.cookies:
            return self.session_class()  # nobody signed in: no key needed
        return super().open_session(app, request)

    def get_cookie_secure(self, app: Flask) -> bool:
        return request.is_secure


def configure(app: Flask) -> None:
    app.session_interface = RegisterSessions()
    app.config.update(
        SESSION_COOKIE_NAME=COOKIE,
        SESSION_COOKIE_PATH="/register",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Strict",
        PERMANENT_SESSION_LIFETIME=LIFETIME,
        SESSION_REFRESH_EACH_REQUEST=False,  # eight hours from signing in, not from the last click
    )


@dataclass(frozen=True)
class Reader:
    """Who is reading: any role may read every page."""

    name: str
    roles: frozenset[Role]

    @property
    def reads_audit(self) -> bool:
        """The full event history shows only to auditors and admins, as in the API."""
        return may(self.roles, "read_audit")


def fingerprint(token_hash: str) -> str:
    """Names the token in the cookie without showing its hash (the cookie is
    signed, not encrypted)."""
    key = service().session_key().encode()
    return hmac.new(key, token_hash.encode(), "sha256").hexdigest()


def sign_in(token: str) -> Reader | None:
    found = service().authenticate(token)
    if found is None:
        return None
    name, roles = found
    session.clear()
    session.permanent = True
    session["user"] = name
    session["token"] = fingerprint(hash_token(token))
    return Reader(name, frozenset(Role(r) for r in roles if r))


def signed_in() -> Reader | None:
    """The reader of this request, checked against the users table; a cookie
    whose user is gone, revoked or holds another token is cleared."""
    name, mark = session.get("user"), session.get("token")
    if not isinstance(name, str) or not isinstance(mark, str):
        return None
    found = service().reads.user_by_name(name)
    if found is None or found[1] is None or not hmac.compare_digest(mark, fingerprint(found[1])):
        session.clear()
        return None
    return Reader(name, frozenset(Role(r) for r in found[0] if r))


def sign_out() -> None:
    session.clear()
