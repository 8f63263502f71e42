"""The projection tables, bitemporal: every row holds over a span of record
time [recorded_from, recorded_to) (when the register said it; OPEN while it
still does) and, for statuses, a span of valid time [valid_from, valid_to)
(the days it was so in the world). Dates and times are fixed-width ISO text
on every store, so comparisons are plain string comparisons and a rebuild
gives byte-identical rows."""

from __future__ import annotations

OPEN = "9999-12-31T23:59:59.999999Z"  # recorded_to of rows the register still says

# table -> (identity columns, payload columns). A row is identity +
# (recorded_from, recorded_to) + payload.
BITEMPORAL = {
    # one row per standard per change: version, stage, open draft, reviews
    "standard_log": (("code",), ("version", "stage", "doc")),
    # the catalogue: status intervals in valid time
    "catalogue_states": (("code", "valid_from"),
                         ("valid_to", "category", "status", "edition_year", "level", "title")),
    # each approved edition, whole
    "edition_states": (("code", "year"), ("doc",)),
    # the files each approved edition binds (never changed after the approval)
    "edition_files": (("code", "year", "name"), ("media_type", "size", "sha256")),
}
# Read models of the files' contents (projections/search.py), keyed by SHA-256:
# rebuilt from the stored contents, in the order the log first names them.
TEXT_TABLES = ("content_text", "text_grams")
TABLES = (*BITEMPORAL, "users", "originators")

STATEMENTS = (
    """CREATE TABLE IF NOT EXISTS standard_log (
        code TEXT NOT NULL,
        recorded_from TEXT NOT NULL,
        recorded_to TEXT NOT NULL,
        version INTEGER NOT NULL,
        stage TEXT NOT NULL,
        doc TEXT NOT NULL,
        PRIMARY KEY (code, recorded_from))""",
    "CREATE INDEX IF NOT EXISTS standard_log_open ON standard_log (recorded_to, code)",
    """CREATE TABLE IF NOT EXISTS catalogue_states (
        code TEXT NOT NULL,
        valid_from TEXT NOT NULL,
        recorded_from TEXT NOT NULL,
        recorded_to TEXT NOT NULL,
        valid_to TEXT NOT NULL,
        category TEXT NOT NULL,
        status TEXT NOT NULL,
        edition_year INTEGER,
        level TEXT NOT NULL,
        title TEXT NOT NULL,
        PRIMARY KEY (code, valid_from, recorded_from))""",
    "CREATE INDEX IF NOT EXISTS catalogue_states_open ON catalogue_states (recorded_to, code)",
    "CREATE INDEX IF NOT EXISTS catalogue_states_by_status "
    "ON catalogue_states (recorded_to, status, code)",
    """CREATE TABLE IF NOT EXISTS edition_states (
        code TEXT NOT NULL,
        year INTEGER NOT NULL,
        recorded_from TEXT NOT NULL,
        recorded_to TEXT NOT NULL,
        doc TEXT NOT NULL,
        PRIMARY KEY (code, year, recorded_from))""",
    """CREATE TABLE IF NOT EXISTS edition_files (
        code TEXT NOT NULL,
        year INTEGER NOT NULL,
        name TEXT NOT NULL,
        recorded_from TEXT NOT NULL,
        recorded_to TEXT NOT NULL,
        media_type TEXT NOT NULL,
        size BIGINT NOT NULL,
        sha256 TEXT NOT NULL,
        PRIMARY KEY (code, year, name, recorded_from))""",
    # The bytes of every file, once per SHA-256, in chunks: not a projection
    # but part of the record, like the events that name them (written in the
    # same transaction; kept by rebuild; carried by export and import).
    """CREATE TABLE IF NOT EXISTS contents (
        sha256 TEXT PRIMARY KEY,
        size BIGINT NOT NULL,
        chunk_size INTEGER NOT NULL,
        chunks INTEGER NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS content_chunks (
        sha256 TEXT NOT NULL,
        seq INTEGER NOT NULL,
        data BLOB NOT NULL,
        PRIMARY KEY (sha256, seq))""",
    # The text of each content (`doc` numbers contents in the order the log
    # first names them) and, per character and pair of characters, the set of
    # docs whose text holds it (a serialised roaring bitmap).
    """CREATE TABLE IF NOT EXISTS content_text (
        doc INTEGER PRIMARY KEY,
        sha256 TEXT NOT NULL UNIQUE,
        status TEXT NOT NULL,
        detail TEXT,
        text TEXT NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS text_grams (
        gram TEXT PRIMARY KEY,
        docs BLOB NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS users (
        name TEXT PRIMARY KEY,
        roles TEXT NOT NULL,
        token_hash TEXT UNIQUE,
        version INTEGER NOT NULL)""",
    # aggregate id -> what it is (standard JGSW05001, user alice), for the audit log
    """CREATE TABLE IF NOT EXISTS originators (
        originator_id TEXT PRIMARY KEY,
        kind TEXT NOT NULL,
        name TEXT NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS projection_position (
        name TEXT PRIMARY KEY,
        position BIGINT NOT NULL)""",
    # Idempotency-Key of a command -> its first answer (not a projection: kept
    # by rebuild, pruned after lifecycle.idempotency.KEEP).
    """CREATE TABLE IF NOT EXISTS idempotency (
        key TEXT PRIMARY KEY,
        request_hash TEXT NOT NULL,
        code TEXT NOT NULL,
        version INTEGER NOT NULL,
        created_at TEXT NOT NULL,
        status INTEGER,
        etag TEXT,
        location TEXT,
        body TEXT)""",
    "CREATE INDEX IF NOT EXISTS idempotency_by_age ON idempotency (created_at)",
    """CREATE TABLE IF NOT EXISTS event_chain (
        position BIGINT PRIMARY KEY,
        hash TEXT NOT NULL)""",
)

POSITION_NAME = "projections"
