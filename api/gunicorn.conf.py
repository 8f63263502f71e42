"""gunicorn settings for the lifecycle API, used by `lifecycle serve` and by
`gunicorn -c api/gunicorn.conf.py api.wsgi:app`.

Connection budget on PostgreSQL: each worker process holds a pool of
POSTGRES_POOL_SIZE (2) connections, growing to 4 under load, so one server
uses at most workers x 4 (+1 for the master while it prepares the store)."""

import multiprocessing
import os

bind = os.environ.get("LIFECYCLE_BIND") or "127.0.0.1:8000"
workers = int(os.environ.get("LIFECYCLE_WORKERS") or min(8, 2 * multiprocessing.cpu_count()))
worker_class = "api.server.ProblemWorker"  # sync, answering unreadable requests as problem+json
preload_app = False      # each worker builds its application (and its pool) after the fork
timeout = 60             # a worker silent this long is restarted
graceful_timeout = 30    # on SIGTERM, requests in flight get this long to finish
keepalive = 5
limit_request_line = 8190
limit_request_fields = 100
accesslog = None  # the app writes one JSON line per request on stderr (api/operations.py) instead
errorlog = "-"
loglevel = "info"
proc_name = "lifecycle"


def on_starting(server: object) -> None:
    """In the master, before any worker starts: the metrics' directory (before
    anything imports prometheus_client, which picks its mode at import), then
    the store's tables once, so workers never race to create them (they start
    with CREATE_TABLE=n)."""
    from api.operations import prepare_multiprocess_dir
    from lifecycle.config import Settings

    prepare_multiprocess_dir(Settings.from_env().metrics)
    from api.bootstrap import bootstrap

    bootstrap(create_tables=True).close()


def post_worker_init(worker: object) -> None:
    """The worker has built its application: what it holds lives as long as
    the worker, so move it out of the collector's reach (gc.freeze). A full
    collection then walks only what requests made since, instead of pausing
    a request for every module, schema and cached aggregate."""
    import gc

    gc.freeze()


def child_exit(server: object, worker: object) -> None:
    """A worker is gone: prometheus-client forgets its live gauges."""
    from api.operations import worker_exited

    worker_exited(worker.pid)  # type: ignore[attr-defined]


def when_ready(server: object) -> None:
    """Start the webhook deliverer beside the workers (unless LIFECYCLE_DELIVER=0)."""
    from api.cli.deliver import start_beside_server

    server.deliverer = start_beside_server()  # type: ignore[attr-defined]


def on_exit(server: object) -> None:
    """The deliverer stops with the server."""
    from api.cli.deliver import stop_beside_server

    stop_beside_server(getattr(server, "deliverer", None))
    from api.operations import remove_multiprocess_dir

    remove_multiprocess_dir()
