"""gunicorn, started from `lifecycle serve`. Each worker builds its own
application after the fork (no preload), against a store the master already
prepared, so workers never race to create tables."""

from __future__ import annotations

import multiprocessing
import os
from typing import Any

from gunicorn.app.base import BaseApplication

from lifecycle.config import Settings


class Server(BaseApplication):
    def __init__(self, settings: Settings, options: dict[str, Any]) -> None:
        self.settings = settings
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self):
        # Runs in each worker after the fork.
        from api import create_app

        return create_app(self.settings, create_tables=False)


def default_workers() -> int:
    return min(8, 2 * multiprocessing.cpu_count())


def serve(settings: Settings, bind: str, workers: int | None = None) -> None:
    options = {
        "bind": bind,
        "workers": workers or int(os.environ.get("LIFECYCLE_WORKERS", 0) or default_workers()),
        "preload_app": False,
        "graceful_timeout": 30,   # SIGTERM: finish requests in flight, then stop
        "timeout": 60,
        "accesslog": "-",
        "errorlog": "-",
        "loglevel": "info",
        "proc_name": "lifecycle",
    }
    Server(settings, options).run()
