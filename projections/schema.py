"""The projection tables. Dates are ISO text (YYYY-MM-DD) on every store, so
comparisons are plain string comparisons and rows are byte-identical across a
rebuild."""

from __future__ import annotations

TABLES = ("catalogue", "catalogue_status", "editions", "users")

STATEMENTS = (
    """CREATE TABLE IF NOT EXISTS catalogue (
        code TEXT PRIMARY KEY,
        category TEXT NOT NULL,
        sub_item TEXT NOT NULL,
        level TEXT NOT NULL,
        titles TEXT NOT NULL,
        stage TEXT NOT NULL,
        version INTEGER NOT NULL,
        doc TEXT NOT NULL)""",
    "CREATE INDEX IF NOT EXISTS catalogue_by_category ON catalogue (category, sub_item)",
    """CREATE TABLE IF NOT EXISTS catalogue_status (
        code TEXT NOT NULL,
        valid_from TEXT NOT NULL,
        valid_to TEXT NOT NULL,
        status TEXT NOT NULL,
        edition_year INTEGER,
        PRIMARY KEY (code, valid_from))""",
    "CREATE INDEX IF NOT EXISTS catalogue_status_by_day ON catalogue_status (valid_from, valid_to)",
    "CREATE INDEX IF NOT EXISTS catalogue_status_by_status ON catalogue_status (status, code)",
    """CREATE TABLE IF NOT EXISTS editions (
        code TEXT NOT NULL,
        year INTEGER NOT NULL,
        number TEXT NOT NULL,
        title TEXT NOT NULL,
        approved_on TEXT NOT NULL,
        approved_by TEXT NOT NULL,
        issued_on TEXT,
        effective_on TEXT,
        trial INTEGER NOT NULL,
        superseded_on TEXT,
        withdrawn_on TEXT,
        replaces TEXT,
        replaced_by TEXT,
        doc TEXT NOT NULL,
        PRIMARY KEY (code, year))""",
    """CREATE TABLE IF NOT EXISTS users (
        name TEXT PRIMARY KEY,
        roles TEXT NOT NULL,
        token_hash TEXT UNIQUE,
        version INTEGER NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS projection_position (
        name TEXT PRIMARY KEY,
        position INTEGER NOT NULL)""",
)

# Which column keys an aggregate's rows in each table.
KEYS = {"catalogue": "code", "catalogue_status": "code", "editions": "code", "users": "name"}
POSITION_NAME = "projections"
