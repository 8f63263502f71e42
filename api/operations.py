"""Signals for operators (API.md "Operations"): an X-Request-ID on every
answer, one JSON line per request on stderr, and GET /metrics in
Prometheus's text format.

Under gunicorn the workers are separate processes, so the series go through
prometheus-client's multiprocess mode: the master makes a private directory
and names it in PROMETHEUS_MULTIPROC_DIR before any worker starts (and before
prometheus_client is imported: it picks its mode at import), each worker
writes its own files there, /metrics in whichever worker serves it reads them
all, and a worker's files are marked dead when it exits (gunicorn.conf.py).
Without gunicorn (`flask run`, the test client) the same series live in the
process. Positions are read from the store at scrape time, in the serving
process. Labels are bounded: a route is Flask's rule (`/api/v1/standards/<code:code>`),
never the path; a method outside the usual verbs is `other`."""

from __future__ import annotations

import logging
import os
import shutil
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import orjson
from eventsourcing.persistence import PersistenceError
from flask import Flask, Response, g, request

from api.bootstrap import service
from lifecycle.application import StandardsApp

REQUEST_ID = "X-Request-ID"
MAX_REQUEST_ID = 200
MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
OWNED_ENV = "LIFECYCLE_METRICS_DIR_OWNED"  # set when the master made the directory (and removes it)
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
UNMATCHED = "<unmatched>"  # the route label of a path no rule matches (a 404)
PROJECTIONS = ("standard_log", "catalogue_states", "edition_states", "users")

# ------------------------------------------------------------------ request ids
def request_id(header: str | None) -> str:
    """The client's own id if it is 1-200 printable ASCII characters, else a new one."""
    if header and len(header) <= MAX_REQUEST_ID and all(" " <= ch <= "~" for ch in header):
        return header
    return uuid.uuid4().hex


# ------------------------------------------------------------------ the request log
def log_request(fields: dict[str, Any]) -> None:
    """The request's line on stderr: {"message": "request", fields…, "time"},
    JSON in UTF-8 (orjson), written whole in one call. Not through `logging`:
    a record, a formatter and a handler's lock took a tenth of a cached
    page's time, and nothing configures this stream but its place (stderr).
    A stderr that cannot be written never costs the answer."""
    line = orjson.dumps({"message": "request", **fields, "time": datetime.now(UTC).isoformat()})
    try:
        stream = sys.stderr
        stream.write(line.decode() + "\n")
        stream.flush()
    except (OSError, ValueError):  # closed or gone: the answer is sent all the same
        pass


def _user() -> str | None:
    found = g.get("flask_httpauth_user")  # the API's bearer token, or a page's download
    if isinstance(found, dict) and isinstance(found.get("name"), str):
        return str(found["name"])
    reader = g.get("reader")  # a page's session
    return getattr(reader, "name", None)


# ------------------------------------------------------------------ metrics
class Metrics:
    """The series of one process; in multiprocess mode their values are files."""

    def __init__(self) -> None:
        from prometheus_client import Counter, Histogram

        self.multiprocess = bool(os.environ.get(MULTIPROC_ENV))
        self.requests = Counter("lifecycle_http_requests",
                                "HTTP answers by route template, method and status",
                                ["route", "method", "status"], registry=None)
        self.latency = Histogram("lifecycle_http_request_duration_seconds",
                                 "time from the request to its answer's headers, by route and method",
                                 ["route", "method"], registry=None)
        self.commands = Counter("lifecycle_commands", "commands by type (the registry's class name) and "
                                "outcome: recorded, conflict, refused, replayed, unavailable, failed",
                                ["command", "outcome"], registry=None)
        self.unavailable = Counter("lifecycle_store_unavailable", "503 answers by cause (full, read-only, "
                                   "io-error, unavailable, misconfigured)", ["reason"], registry=None)
        self.replays = Counter("lifecycle_idempotent_replays",
                               "commands answered from an Idempotency-Key's first answer", registry=None)
        self._answers: dict[tuple[str, str, int], tuple[Any, Any]] = {}

    def answered(self, route: str, method: str, status: int, seconds: float) -> None:
        """Count one answer and its latency. Each label set's series are kept
        here once made (label sets are bounded: routes, verbs, statuses), so
        an answer skips prometheus-client's label checks and lock."""
        found = self._answers.get((route, method, status))
        if found is None:
            found = self._answers[(route, method, status)] = (
                self.requests.labels(route, method, str(status)), self.latency.labels(route, method))
        found[0].inc()
        found[1].observe(seconds)

    def collectors(self) -> list[Any]:
        return [self.requests, self.latency, self.commands, self.unavailable, self.replays]


_metrics: Metrics | None = None


def metrics() -> Metrics:
    global _metrics  # noqa: PLW0603  # one set of series per process, whatever the apps
    if _metrics is None:
        _metrics = Metrics()
    return _metrics


def observe_command(command: str, outcome: str) -> None:
    metrics().commands.labels(command, outcome).inc()


def store_unavailable(reason: str) -> None:
    """Count a 503 by its cause (api/problems.store_problem)."""
    if _metrics is not None:
        _metrics.unavailable.labels(reason).inc()


def replayed() -> None:
    """Count an answer replayed for an Idempotency-Key (api/idempotent.py)."""
    if _metrics is not None:
        _metrics.replays.inc()


class Positions:
    """Gauges read from the store when scraped: the log's last position and
    each projection's; `lifecycle_store_up` 0 when the store cannot answer."""

    def __init__(self, register: Any) -> None:
        self.register = register

    def collect(self) -> Iterator[Any]:
        from prometheus_client.core import GaugeMetricFamily

        up = GaugeMetricFamily("lifecycle_store_up", "1 if the store answered this scrape")
        try:
            log_position, projected = self.register.log_position(), self.register.reads.position()
        except PersistenceError:
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        yield GaugeMetricFamily("lifecycle_log_position", "the event log's last position", value=log_position)
        projections = GaugeMetricFamily("lifecycle_projection_position",
                                        "the log position each projection has reached", labels=["projection"])
        for name in PROJECTIONS:
            projections.add_metric([name], projected)
        yield projections


def scrape() -> Response:
    from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest, multiprocess

    registry = CollectorRegistry()
    found = metrics()
    if found.multiprocess:
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]  # every worker's files
    else:
        for collector in found.collectors():
            registry.register(collector)
    registry.register(Positions(service()))
    return Response(generate_latest(registry), content_type=CONTENT_TYPE_LATEST)


# ------------------------------------------------------------------ gunicorn's master
def prepare_multiprocess_dir(enabled: bool) -> None:
    """In gunicorn's master, before workers start and before anything else
    imports prometheus_client (it reads the directory's name at import): an
    empty directory for the workers' files. The operator's
    PROMETHEUS_MULTIPROC_DIR is emptied of old files; otherwise a private one
    is made under the system's temporary directory (not beside the store: a
    full store disk must not take the metrics' memory-mapped files with it)."""
    global _mark_dead  # noqa: PLW0603  # the master's, set once before any worker exists
    if not enabled:
        os.environ.pop(MULTIPROC_ENV, None)
        return
    given = os.environ.get(MULTIPROC_ENV)
    if given:
        os.makedirs(given, exist_ok=True)
        for name in os.listdir(given):
            if name.endswith(".db"):
                os.unlink(os.path.join(given, name))
    else:
        os.environ[MULTIPROC_ENV] = tempfile.mkdtemp(prefix="lifecycle-metrics-")
        os.environ[OWNED_ENV] = "1"
    # Imported now, not in child_exit: that runs in a SIGCHLD handler, and a
    # second worker's exit during the first import found the module half made
    # (ImportError, and the master exited 1 instead of 0).
    from prometheus_client import multiprocess

    _mark_dead = multiprocess.mark_process_dead


_mark_dead: Any = None


def worker_exited(pid: int) -> None:
    """gunicorn's child_exit (a signal handler in the master: nothing may
    raise here): the worker's live gauges go; its counters stay summed."""
    if _mark_dead is not None and os.environ.get(MULTIPROC_ENV):
        try:
            _mark_dead(pid)
        except OSError as e:  # the directory went first (on_exit)
            logging.getLogger(__name__).warning("metrics of worker %s: %s", pid, e)


def remove_multiprocess_dir() -> None:
    """gunicorn's on_exit: the private directory goes with the server."""
    if os.environ.pop(OWNED_ENV, None):
        shutil.rmtree(os.environ.pop(MULTIPROC_ENV, ""), ignore_errors=True)


# ------------------------------------------------------------------ the app
def init_app(app: Flask, enabled: bool) -> None:
    """Hooks first, so every answer (errors and 404s included) gets its id and line."""
    if enabled:
        metrics()
        register = app.extensions["lifecycle"]
        if isinstance(register, StandardsApp):
            register.command_observer = observe_command
        app.add_url_rule("/metrics", "metrics", scrape, methods=["GET"])

    @app.before_request
    def start() -> None:
        g.request_started = time.perf_counter()
        g.request_id = request_id(request.headers.get(REQUEST_ID))

    @app.after_request
    def finish(response: Response) -> Response:
        req = request._get_current_object()  # type: ignore[attr-defined]  # once, not per attribute
        rid = g.get("request_id") or request_id(req.headers.get(REQUEST_ID))
        response.headers[REQUEST_ID] = rid
        seconds = time.perf_counter() - g.get("request_started", time.perf_counter())
        rule = req.url_rule
        route = rule.rule if rule is not None else None
        method = req.method if req.method in METHODS else "other"
        status = response.status_code
        if enabled:
            metrics().answered(route or UNMATCHED, method, status, seconds)
        log_request({"id": rid, "user": _user(), "method": method, "route": route,
                     "status": status, "duration_ms": round(seconds * 1000, 3)})
        return response
