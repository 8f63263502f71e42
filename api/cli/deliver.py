"""`lifecycle deliver`: push the standards' events to the subscriptions
(projections/deliverer.py) until stopped. `lifecycle serve` starts one beside
its workers (api/gunicorn.conf.py), unless LIFECYCLE_DELIVER=0."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
from typing import Any

import click

from api.cli.common import open_register
from lifecycle.config import Settings

STOP_WAIT = 30  # seconds a stopping deliverer gets to finish its POSTs in flight


@click.command()
@click.option("--parent", type=int, default=None, hidden=True,
              help="stop when the process with this id is gone (set by `lifecycle serve`)")
def deliver(parent: int | None) -> None:
    """Deliver the standards' events to the subscriptions (webhooks) until stopped."""
    from projections.deliverer import Deliverer

    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format="%(asctime)s [%(process)d] [deliverer] %(levelname)s %(message)s")
    deliverer = Deliverer(open_register())

    def stop(signum: int, frame: Any) -> None:
        deliverer.stop()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    deliverer.run(parent=parent)


def start_beside_server() -> subprocess.Popen[bytes] | None:
    """In gunicorn's master: a `lifecycle deliver` child that stops with the
    server (on_exit), or by itself if the master dies without saying so."""
    if not Settings.from_env().deliver:
        return None
    return subprocess.Popen([sys.executable, "-m", "api.cli", "deliver", "--parent", str(os.getpid())])


def stop_beside_server(child: subprocess.Popen[bytes] | None) -> None:
    if child is None or child.poll() is not None:
        return
    child.terminate()
    try:
        child.wait(timeout=STOP_WAIT)
    except subprocess.TimeoutExpired:
        child.kill()
        child.wait(timeout=5)
