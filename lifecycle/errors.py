"""The domain's refusals. Each names the HTTP-independent kind of failure;
the API maps kinds to status codes in one place (api/problems.py)."""

from __future__ import annotations


class DomainError(Exception):
    """Base of every refusal the domain gives. `kind` is a stable slug."""

    kind = "domain-error"

    def __init__(self, message: str, **details: object) -> None:
        super().__init__(message)
        self.message = message
        self.details = details


class InvalidTransition(DomainError):
    """The command is not allowed in the standard's current stage."""

    kind = "invalid-transition"


class Conflict(DomainError):
    """The command contradicts recorded facts (a number taken, a year used)."""

    kind = "conflict"


class NotFound(DomainError):
    kind = "not-found"


class Forbidden(DomainError):
    """A rule about people, e.g. nobody approves what they drafted."""

    kind = "forbidden"


class InvalidInput(DomainError):
    """A value breaks a domain rule; `field` names it for per-field messages."""

    kind = "invalid-input"

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message, field=field)
        self.field = field


class UnsupportedMedia(DomainError):
    """A file's media type is not accepted, or its bytes are not of that type."""

    kind = "unsupported-media-type"


class StaleVersion(DomainError):
    """The If-Match version is not the standard's version."""

    kind = "stale-version"
