"""The Flask API (API.md), built by `create_app` in api/app.py. The package
imports nothing itself, so that the `lifecycle` command line (api/cli) starts
without loading Flask and the OpenAPI machinery it does not use."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from api.app import PREFIX, create_app

__all__ = ["PREFIX", "create_app"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from api import app

        return getattr(app, name)
    raise AttributeError(f"module 'api' has no attribute {name!r}")
