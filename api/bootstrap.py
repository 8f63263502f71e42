"""The composition root: the one place that wires the register together
(cosmicpython's bootstrap.py). The Flask app, the `lifecycle` CLI and
gunicorn's master all build their register here.

eventsourcing picks the application recorder by topic from the environment;
ours are the library's SQLite and PostgreSQL recorders extended to write the
chain and the projections in the transaction that records the events."""

from __future__ import annotations

from lifecycle.config import Settings
from projections.register import Register

# SQLite's connections are proved writable before a write (projections/sqlite_store.py);
# PostgreSQL's are checked alive without a round trip when they can be (projections/pg_store.py).
FACTORIES = {"sqlite": "projections.sqlite_store:RecoveringSQLiteFactory",
             "postgresql": "projections.pg_store:CheckedPostgresFactory"}
RECORDERS = {
    "sqlite": "projections.recorder:ProjectingSQLiteRecorder",
    "postgresql": "projections.pg_recorder:ProjectingPostgresRecorder",
}


def bootstrap(settings: Settings | None = None, *, create_tables: bool = True) -> Register:
    """The register on the configured store. `create_tables=False` in
    gunicorn's workers: the master prepared the store before they started."""
    settings = settings or Settings.from_env()
    env = {**settings.eventsourcing_env(create_tables),
           "APPLICATION_RECORDER_TOPIC": RECORDERS[settings.store_kind]}
    if settings.store_kind in FACTORIES:
        env["PERSISTENCE_MODULE"] = FACTORIES[settings.store_kind]
    register = Register(settings, env)
    if create_tables:  # the one who prepares the store brings its projections up to date
        register.upgrade_projections()
    return register


def service() -> Register:
    """The register of the Flask app handling this request."""
    from flask import current_app  # here, so the command line starts without Flask
    register: Register = current_app.extensions["lifecycle"]
    return register
