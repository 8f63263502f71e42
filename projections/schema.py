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
    # each edition's normative references, in valid time (amendments change them)
    "edition_references": (("code", "year", "seq", "valid_from"),
                           ("valid_to", "reference", "kind", "dated", "cited_code", "cited_year",
                            "effective_on")),
    # when the edition in force is due for periodic review, in valid time
    "review_clock": (("code", "valid_from"), ("valid_to", "edition_year", "clock_from", "due_on")),
    # the days a standard changed for those who cite it: a new edition in force, a withdrawal
    "standard_changes": (("code", "day"), ("kind", "edition_year")),
    # an emergency approval's paperwork, owed from the approval until completed
    "paperwork_due": (("code", "year"), ("valid_from", "valid_to", "due_on")),
    # the files each approved edition binds (never changed after the approval)
    "edition_files": (("code", "year", "name"), ("media_type", "size", "sha256")),
}
TABLES = (*BITEMPORAL, "users", "originators", "subscriptions")

# Every projection table's columns, in order, and those that name a row: what
# `lifecycle verify` compares with a replay of the log.
COLUMNS: dict[str, tuple[str, ...]] = {
    **{t: (*ident, "recorded_from", "recorded_to", *payload) for t, (ident, payload) in BITEMPORAL.items()},
    "users": ("name", "roles", "token_hash", "version"),
    "subscriptions": ("id", "url", "types", "categories", "description", "state", "state_reason", "state_by",
                      "created_at", "created_by", "changed_at", "version"),
    "originators": ("originator_id", "kind", "name"),
    "projection_position": ("name", "position"),
}
IDENTITY: dict[str, tuple[str, ...]] = {
    **{t: (*ident, "recorded_from") for t, (ident, _) in BITEMPORAL.items()},
    "users": ("name",), "subscriptions": ("id",), "originators": ("originator_id",),
    "projection_position": ("name",),
}
# Read models of the files' contents (projections/search.py), keyed by SHA-256:
# rebuilt from the stored contents, in the order the log first names them.
TEXT_TABLES = ("content_text", "text_grams")

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
    # A page in code order tests each row's days in the index, reading the
    # table only for the rows it keeps: on a day in the past (most rows of a
    # code are other days' states) that is a sixth of the time.
    "CREATE INDEX IF NOT EXISTS catalogue_states_open_in_code_order "
    "ON catalogue_states (recorded_to, code, valid_from, valid_to)",
    "DROP INDEX IF EXISTS catalogue_states_open",  # the one above begins with its columns
    "CREATE INDEX IF NOT EXISTS catalogue_states_open_by_status "
    "ON catalogue_states (recorded_to, status, code, valid_from, valid_to)",
    "DROP INDEX IF EXISTS catalogue_states_by_status",  # likewise
    # For days and moments when few standards existed (projections/queries.py, Reads._plan)
    "CREATE INDEX IF NOT EXISTS catalogue_states_open_by_day "
    "ON catalogue_states (recorded_to, valid_from, valid_to, code)",
    "CREATE INDEX IF NOT EXISTS catalogue_states_by_day "
    "ON catalogue_states (valid_from, valid_to, recorded_from, recorded_to, code)",
    "CREATE INDEX IF NOT EXISTS catalogue_states_by_moment "
    "ON catalogue_states (recorded_from, recorded_to, valid_from, valid_to, code)",
    """CREATE TABLE IF NOT EXISTS edition_states (
        code TEXT NOT NULL,
        year INTEGER NOT NULL,
        recorded_from TEXT NOT NULL,
        recorded_to TEXT NOT NULL,
        doc TEXT NOT NULL,
        PRIMARY KEY (code, year, recorded_from))""",
    """CREATE TABLE IF NOT EXISTS edition_references (
        code TEXT NOT NULL,
        year INTEGER NOT NULL,
        seq INTEGER NOT NULL,
        valid_from TEXT NOT NULL,
        recorded_from TEXT NOT NULL,
        recorded_to TEXT NOT NULL,
        valid_to TEXT NOT NULL,
        reference TEXT NOT NULL,
        kind TEXT NOT NULL,
        dated INTEGER NOT NULL,
        cited_code TEXT,
        cited_year INTEGER,
        effective_on TEXT,
        PRIMARY KEY (code, year, seq, valid_from, recorded_from))""",
    "CREATE INDEX IF NOT EXISTS edition_references_cited "
    "ON edition_references (recorded_to, cited_code)",
    """CREATE TABLE IF NOT EXISTS review_clock (
        code TEXT NOT NULL,
        valid_from TEXT NOT NULL,
        recorded_from TEXT NOT NULL,
        recorded_to TEXT NOT NULL,
        valid_to TEXT NOT NULL,
        edition_year INTEGER NOT NULL,
        clock_from TEXT NOT NULL,
        due_on TEXT NOT NULL,
        PRIMARY KEY (code, valid_from, recorded_from))""",
    "CREATE INDEX IF NOT EXISTS review_clock_due ON review_clock (recorded_to, due_on)",
    """CREATE TABLE IF NOT EXISTS standard_changes (
        code TEXT NOT NULL,
        day TEXT NOT NULL,
        recorded_from TEXT NOT NULL,
        recorded_to TEXT NOT NULL,
        kind TEXT NOT NULL,
        edition_year INTEGER,
        PRIMARY KEY (code, day, recorded_from))""",
    """CREATE TABLE IF NOT EXISTS paperwork_due (
        code TEXT NOT NULL,
        year INTEGER NOT NULL,
        recorded_from TEXT NOT NULL,
        recorded_to TEXT NOT NULL,
        valid_from TEXT NOT NULL,
        valid_to TEXT NOT NULL,
        due_on TEXT NOT NULL,
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
    # each subscription as its events leave it (lifecycle/subscriptions.py)
    """CREATE TABLE IF NOT EXISTS subscriptions (
        id TEXT PRIMARY KEY,
        url TEXT NOT NULL,
        types TEXT,
        categories TEXT,
        description TEXT,
        state TEXT NOT NULL,
        state_reason TEXT,
        state_by TEXT,
        created_at TEXT NOT NULL,
        created_by TEXT NOT NULL,
        changed_at TEXT NOT NULL,
        version INTEGER NOT NULL)""",
    # The deliverer's own rows (projections/deliveries.py), not projections:
    # written with a subscription's events, never rebuilt, never exported.
    # A signing secret is read by the deliverer alone.
    """CREATE TABLE IF NOT EXISTS subscription_secrets (
        subscription_id TEXT PRIMARY KEY,
        secret TEXT NOT NULL)""",
    # Times are seconds since 1970 on the database's clock, so that hosts
    # whose clocks differ agree on leases.
    """CREATE TABLE IF NOT EXISTS deliveries (
        subscription_id TEXT PRIMARY KEY,
        position BIGINT NOT NULL,
        delivered BIGINT NOT NULL,
        attempts INTEGER NOT NULL,
        failing_since DOUBLE PRECISION,
        next_attempt DOUBLE PRECISION,
        last_attempt DOUBLE PRECISION,
        last_status INTEGER,
        last_error TEXT,
        holder TEXT,
        lease_until DOUBLE PRECISION)""",
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
    # what version of the projections the rows are (PROJECTION_VERSION)
    """CREATE TABLE IF NOT EXISTS projection_meta (
        name TEXT PRIMARY KEY,
        value TEXT NOT NULL)""",
    # Keys the service makes for itself (the session cookies' signing key):
    # made once, by the first host to need one, then read by every host. Not
    # a projection, so rebuild keeps them.
    """CREATE TABLE IF NOT EXISTS service_keys (
        name TEXT PRIMARY KEY,
        value TEXT NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS event_chain (
        position BIGINT PRIMARY KEY,
        hash TEXT NOT NULL)""",
)

POSITION_NAME = "projections"

# What the projections hold. A version that adds tables or changes what rows
# mean bumps it; a store whose projections are older is rebuilt from its log
# when the service starts (projections.register.Register.upgrade_projections).
#   1  the catalogue, editions, users (issues 2-9)
#   2  references, the review clock, standards' changes (issue 12)
#   3  amendment sheets in editions and references, emergency paperwork (issue 13)
#   4  subscriptions (issue 17)
#   5  edition files, the files' text and its search index (issue 11)
PROJECTION_VERSION = 5
