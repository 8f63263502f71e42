"""The bare endpoints that scripts/bench.py compares the service with, served by
gunicorn exactly as `lifecycle serve` is (sync workers, access log on):

    gunicorn --workers 2 --chdir scripts bench_baselines:app

- POST /save   one eventsourcing `app.save` of three events (a new aggregate
               and two more events) on a plain `Application`, on SQLite with
               the settings the service uses (BENCH_BASELINE_DB names the file),
               or on PostgreSQL (BENCH_BASELINE_POSTGRES names the database);
- POST /echo   a bare Flask POST whose JSON body a marshmallow schema validates;
- GET  /page   a bare Flask GET sending the bytes of the file BENCH_PAGE_FILE
               (the catalogue page the service answers, read once);
- PUT  /blob   the request body streamed in 1 MiB chunks into a table of the
               service's own store (BENCH_BLOB_DB), hashed as it comes, in one
               transaction: what an upload must at least do;
- GET  /blob/<id>  those chunks streamed back: what a download must at least do;
- GET  /health what the start-up timer polls.
"""

from __future__ import annotations

import hashlib
import os
import sqlite3

import marshmallow as ma
from eventsourcing.application import Application
from eventsourcing.domain import Aggregate
from flask import Flask, Response, jsonify, request


class Thing(Aggregate):
    class Noted(Aggregate.Event):
        text: str

        def apply(self, thing: Thing) -> None:
            thing.notes.append(self.text)

    def __init__(self, title: str) -> None:
        self.title = title
        self.notes: list[str] = []

    def note(self, text: str) -> None:
        self.trigger_event(self.Noted, text=text)


class Plain(Application):
    name = "baseline"


class Body(ma.Schema):
    class Meta:
        unknown = ma.RAISE

    category = ma.fields.String(required=True, validate=ma.validate.Length(equal=2))
    title = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=200))
    summary = ma.fields.String(validate=ma.validate.Length(max=2000))
    drafting_units = ma.fields.List(ma.fields.String(validate=ma.validate.Length(max=100)),
                                    validate=ma.validate.Length(max=20))


SCHEMA = Body()
app = Flask(__name__)
app.json.ensure_ascii = False
_store: Plain | None = None


def postgres_env(url: str, create_table: bool = False) -> dict[str, str]:
    """eventsourcing's PostgreSQL recorder on the database `url` names, as the
    service configures it: the tables are made once, before the workers start
    (scripts/bench.py), since two workers making them at once may meet
    PostgreSQL's "tuple concurrently updated" even when they exist."""
    from lifecycle.config import Settings

    return {**Settings(database_url=url).eventsourcing_env(True), "CREATE_TABLE": "y" if create_table else "n"}


def store() -> Plain:
    """Built on first use, in the worker (after the fork), as the service does."""
    global _store
    if _store is None:
        _store = Plain(env=postgres_env(os.environ["BENCH_BASELINE_POSTGRES"])
                       if os.environ.get("BENCH_BASELINE_POSTGRES") else {
            "PERSISTENCE_MODULE": "eventsourcing.sqlite",
            "SQLITE_DBNAME": os.environ["BENCH_BASELINE_DB"],
            "SQLITE_LOCK_TIMEOUT": "30",
            "CREATE_TABLE": "y",
        })
    return _store


@app.post("/save")
def save():
    body = request.get_json()
    thing = Thing(str(body.get("title", "")))
    thing.note("first")
    thing.note("second")
    store().save(thing)  # one save, three events
    return jsonify({"id": str(thing.id), "version": thing.version}), 201


@app.post("/echo")
def echo():
    try:
        body = SCHEMA.load(request.get_json())
    except ma.ValidationError as e:
        return jsonify(e.messages), 422
    return jsonify(body), 201


_page: bytes | None = None


@app.get("/page")
def page():
    """The same bytes the service's catalogue page is, with nothing to build."""
    global _page
    if _page is None:
        with open(os.environ["BENCH_PAGE_FILE"], "rb") as f:
            _page = f.read()
    return Response(_page, mimetype="application/json")


@app.get("/health")
def health():
    return jsonify({"status": "ok"})


CHUNK = 1 << 20


def blobs() -> sqlite3.Connection:
    db = sqlite3.connect(os.environ["BENCH_BLOB_DB"], timeout=30, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("CREATE TABLE IF NOT EXISTS bench_blobs (id INTEGER, seq INTEGER, data BLOB, "
               "PRIMARY KEY (id, seq))")
    return db


@app.put("/blob")
def put_blob():
    request.max_content_length = None
    digest, size = hashlib.sha256(), 0
    with blobs() as db:
        db.execute("BEGIN IMMEDIATE")
        blob = db.execute("SELECT COALESCE(MAX(id), 0) + 1 FROM bench_blobs").fetchone()[0]
        seq = 0
        while block := request.stream.read(CHUNK):
            digest.update(block)
            size += len(block)
            db.execute("INSERT INTO bench_blobs VALUES (?, ?, ?)", (blob, seq, block))
            seq += 1
        db.execute("COMMIT")
    return jsonify({"id": blob, "size": size, "sha256": digest.hexdigest()}), 201


@app.get("/blob/<int:blob>")
def get_blob(blob: int):
    db = blobs()
    chunks = db.execute("SELECT COUNT(*) FROM bench_blobs WHERE id = ?", (blob,)).fetchone()[0]

    def body():
        for seq in range(chunks):
            yield db.execute("SELECT data FROM bench_blobs WHERE id = ? AND seq = ?", (blob, seq)).fetchone()[0]
        db.close()

    return Response(body(), mimetype="application/octet-stream")
