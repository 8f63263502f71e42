"""api/gunicorn.conf.py: what a worker does once it has built its application."""

import gc
import runpy
from pathlib import Path

CONF = Path(__file__).resolve().parents[2] / "api" / "gunicorn.conf.py"


def test_a_worker_freezes_what_its_application_built():
    """Full collections then skip the modules and the application: no pause
    of tens of milliseconds in the middle of a request."""
    hooks = runpy.run_path(str(CONF))
    gc.unfreeze()
    try:
        hooks["post_worker_init"](object())
        assert gc.get_freeze_count() > 1000
    finally:
        gc.unfreeze()
