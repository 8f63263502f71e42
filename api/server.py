"""gunicorn, started from `lifecycle serve` with api/gunicorn.conf.py; the
command line's --bind and --workers override it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Flask
from gunicorn.app.base import BaseApplication

CONFIG = Path(__file__).with_name("gunicorn.conf.py")


class Server(BaseApplication):
    def __init__(self, overrides: dict[str, Any]) -> None:
        self.overrides = overrides
        super().__init__()

    def load_config(self) -> None:
        # What gunicorn's own `-c FILE` does: every module-level setting applies.
        namespace: dict[str, Any] = {"__file__": str(CONFIG)}
        exec(compile(CONFIG.read_text(), str(CONFIG), "exec"), namespace)
        for key, value in namespace.items():
            if key in self.cfg.settings:
                self.cfg.set(key, value)
        for key, value in self.overrides.items():
            if value is not None:
                self.cfg.set(key, value)

    def load(self) -> Flask:
        # Runs in each worker after the fork.
        from api.wsgi import app

        return app


def serve(bind: str | None = None, workers: int | None = None) -> None:
    Server({"bind": bind, "workers": workers}).run()
