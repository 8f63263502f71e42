"""gunicorn, started from `lifecycle serve` with api/gunicorn.conf.py; the
command line's --bind and --workers override it."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

from flask import Flask
from gunicorn import util
from gunicorn.app.base import BaseApplication
from gunicorn.workers.sync import SyncWorker

from api.problems import PROBLEM, unparsed_request_problem

CONFIG = Path(__file__).with_name("gunicorn.conf.py")


class ProblemWorker(SyncWorker):
    """gunicorn's sync worker, but a request that gunicorn cannot read (a
    request line or headers over its limits, bytes that are not HTTP/1.1)
    gets a problem+json answer like every other refusal, not gunicorn's HTML
    page: such a request never reaches Flask."""

    def handle_error(self, req: Any, client: Any, addr: Any, exc: BaseException) -> None:
        body = unparsed_request_problem(exc, self.cfg.limit_request_fields,
                                        self.cfg.limit_request_field_size)
        if body is None:
            super().handle_error(req, client, addr, exc)
            return
        self.log.warning("Invalid request from ip=%s: %s", (addr or ("",))[0], exc)
        payload = json.dumps(body).encode()
        head = (f"HTTP/1.1 {body['status']} {body['title']}\r\nConnection: close\r\n"
                f"Content-Type: {PROBLEM}\r\nContent-Length: {len(payload)}\r\n"
                f"X-Request-ID: {uuid.uuid4().hex}\r\n\r\n")  # its headers were never read: a new id
        try:
            util.write_nonblock(client, head.encode("latin-1") + payload)
        except OSError:
            self.log.debug("Failed to send error message.")


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
