"""eventsourcing's SQLite datastore, with connections that cannot stay
read-only after the store is writable again.

SQLite opens a file read-write if it can and silently read-only if it cannot
(an immutable file or -wal, a read-only mount, modes): such a connection says
"attempt to write a readonly database" for as long as it lives, even after
the disk is writable again. A connection opened read-write that hit the fault
("disk I/O error") writes again once the disk does. So a worker whose pool
opened a connection while the store was read-only (for a read, say, even if
it never tried to write then) would answer 503 to commands afterwards, by luck
of which pooled connection a command takes.

Two rules make the recovery deterministic:

1. A connection is proved writable the first time it is taken for a write:
   inside BEGIN IMMEDIATE … ROLLBACK it rewrites `user_version` with its own
   value (nothing is committed). A connection that fails is closed and the
   next one is taken, until one opened by this very checkout: if that one
   fails too the store really is read-only, and the write says so (503).
2. A connection whose transaction failed with SQLITE_READONLY, SQLITE_IOERR
   or SQLITE_CANTOPEN is closed when it goes back to the pool, so it is never
   reused (whatever state the pager or WAL index kept)."""

from __future__ import annotations

import itertools
import os
import sqlite3
import threading
import weakref
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from typing import Any

from eventsourcing.persistence import OperationalError
from eventsourcing.sqlite import SQLiteConnection, SQLiteDatastore, SQLiteFactory, SQLiteTransaction

# Primary result codes (the low byte of an extended one): https://sqlite.org/rescode.html
SQLITE_IOERR = 10
SQLITE_READONLY = 8
SQLITE_CANTOPEN = 14
STALE_CODES = frozenset({SQLITE_READONLY, SQLITE_IOERR, SQLITE_CANTOPEN})
_WATCHERS = itertools.count(1)  # numbers the connections that watch data_version


class _Watcher(sqlite3.Connection):
    """A connection that asks only PRAGMA data_version (a subclass: weakly referable)."""


def stale_connection_error(error: BaseException) -> bool:
    """True if SQLite's error (anywhere in the chain) means the connection
    that got it may not write again: read-only, an I/O error, a file it cannot open."""
    seen: BaseException | None = error
    for _ in range(5):
        if seen is None:
            return False
        if isinstance(seen, sqlite3.Error) and \
                (getattr(seen, "sqlite_errorcode", 0) or 0) & 0xFF in STALE_CODES:
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def writable(conn: SQLiteConnection) -> bool:
    """Can this connection write? SQLite refuses a write on a connection
    opened read-only with SQLITE_READONLY; rolled back, so nothing changes."""
    cursor = conn.cursor()
    try:
        cursor.execute("BEGIN IMMEDIATE")
        cursor.execute("PRAGMA user_version")
        version = int(cursor.fetchone()[0])
        cursor.execute(f"PRAGMA user_version = {version}")
    except sqlite3.Error as e:
        if not stale_connection_error(e):  # busy past the lock timeout, say: as the write would be
            raise OperationalError(e) from e
        return False
    finally:
        with suppress(sqlite3.Error):  # no transaction left to roll back
            conn.rollback()
    return True


class RecoveringSQLiteDatastore(SQLiteDatastore):
    """The library's datastore; every connection goes through get_connection
    (the library's transaction() calls it, and so do our deliveries)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._lock = threading.Lock()
        self._seen: weakref.WeakSet[SQLiteConnection] = weakref.WeakSet()
        self._proved: weakref.WeakSet[SQLiteConnection] = weakref.WeakSet()
        # Per thread, a connection that only asks data_version; weakly held here, so
        # a thread's ends with the thread (a threaded server starts one per request).
        self._watch = threading.local()
        self._watchers: weakref.WeakSet[_Watcher] = weakref.WeakSet()

    def change_counter(self) -> tuple[int, int] | None:
        """A value that changes whenever anything is committed to the store:
        SQLite's data_version on a connection of this thread that writes
        nothing (so every commit is another connection's), beside a number
        naming that connection (a new one counts afresh). None when it cannot
        say: a store in memory (another connection sees another database), or
        a fault (the next call opens a new connection)."""
        if self.pool.is_sqlite_memory_mode:
            return None
        watch = self._watch
        try:
            if getattr(watch, "conn", None) is None or watch.pid != os.getpid():
                # (a forked process never uses its parent's connection: it opens its own)
                watch.conn = sqlite3.connect(self.pool.db_name, uri=True, check_same_thread=False,
                                             isolation_level=None, factory=_Watcher)
                watch.number, watch.pid = next(_WATCHERS), os.getpid()
                with self._lock:
                    self._watchers.add(watch.conn)
            return watch.number, watch.conn.execute("PRAGMA data_version").fetchone()[0]
        except sqlite3.Error:
            self._forget_watcher()
            return None

    def _forget_watcher(self) -> None:
        conn, self._watch.conn = getattr(self._watch, "conn", None), None
        if conn is not None:
            with self._lock:
                self._watchers.discard(conn)
            with suppress(sqlite3.Error):
                conn.close()

    def close(self) -> None:
        with self._lock:
            watchers, self._watchers = list(self._watchers), weakref.WeakSet()
        for conn in watchers:
            with suppress(sqlite3.Error):
                conn.close()
        super().close()

    @contextmanager
    def cursor(self) -> Iterator[sqlite3.Cursor]:
        """A cursor for one read statement. The pool's connections are in
        autocommit, where SQLite makes a statement a read transaction of its
        own: no BEGIN … ROLLBACK around it, as the library's transaction
        sends (they were half of a token check's time). Errors are the
        library's kinds, as from its transactions."""
        with self.get_connection(commit=False) as conn:
            try:
                with conn.cursor() as cursor:  # the sqlite3 cursor, closed after
                    yield cursor
            except Exception as e:
                # SQLiteTransaction's exit holds the library's mapping of
                # sqlite3's errors to its own: it raises `e` translated.
                SQLiteTransaction(conn, commit=False).__exit__(type(e), e, e.__traceback__)
                raise

    @contextmanager
    def get_connection(self, *, commit: bool) -> Iterator[SQLiteConnection]:
        conn = self._checkout(commit)
        try:
            yield conn
        except BaseException as e:
            if stale_connection_error(e):
                conn.close()  # the pool drops a closed connection when it is put back
            raise
        finally:
            self.pool.put_connection(conn)

    def _checkout(self, commit: bool) -> SQLiteConnection:
        conn = self.pool.get_connection(is_writer=commit)
        if not commit:
            self._seen.add(conn)
            return conn
        limit = self.pool.pool_size + self.pool.max_overflow + 1
        for _ in range(limit):
            if conn in self._proved:
                return conn
            new = conn not in self._seen
            self._seen.add(conn)
            if writable(conn):
                self._proved.add(conn)
                return conn
            if new:  # opened just now, and still read-only: the write will say why
                return conn
            conn.close()
            self.pool.put_connection(conn)
            conn = self.pool.get_connection(is_writer=True)
        return conn


class RecoveringSQLiteFactory(SQLiteFactory):
    """The library's factory on a RecoveringSQLiteDatastore (PERSISTENCE_MODULE
    names this class; api/bootstrap.py sets it)."""

    def __init__(self, env: Any) -> None:
        super().__init__(env)
        plain = self.datastore  # built by the library from the environment; no connection opened yet
        self.datastore = RecoveringSQLiteDatastore(
            db_name=plain.pool.db_name,
            lock_timeout=plain.pool.lock_timeout,
            single_row_tracking=plain.single_row_tracking,
            originator_id_type=plain.originator_id_type,
        )
        plain.close()
