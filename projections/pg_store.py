"""eventsourcing's PostgreSQL datastore, with a cheaper check that a pooled
connection is still alive.

The library's pre-ping (psycopg_pool's `check_connection`) sends an empty
query on every checkout: one round trip each time, and a command checks out
a connection four times (the token, the aggregate's newer events, the last
record time, the save). Its job is to find the sessions the server has ended
(a restart, `pg_terminate_backend`, a failover) before a command uses one,
so that a worker recovers on its next command (tests/e2e/test_faults.py).

A session the server ends leaves its socket readable: the server sends a
FATAL error and closes the connection. An idle session in autocommit has
nothing else to read (our pooled connections LISTEN to nothing), so a
connection is checked without a round trip:

1. its socket has something to read (the end of the session, or a message we
   do not expect): ping it;
2. it has not been used for PING_IDLE_SECONDS, or never by us (a new
   connection): ping it, as before, which also finds a peer that went away
   without a word (a network that dropped the connection answers the ping
   with a reset);
3. otherwise it was used a moment ago and nothing came since: take it.

A ping that fails closes the connection (the pool drops it and opens another)
and the next one is taken, as psycopg_pool does with its own check."""

from __future__ import annotations

import select
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from time import monotonic
from typing import Any

import psycopg
from eventsourcing.postgres import PostgresDatastore, PostgresFactory
from psycopg import Connection

# A connection used this recently, with nothing to read on its socket, is
# taken without a ping (HikariCP's aliveBypassWindowMs has the same idea, 500 ms).
PING_IDLE_SECONDS = 1.0


def ping(conn: Connection[Any]) -> bool:
    """The pool's own check (an empty query); False, with the connection
    closed, if the session is gone."""
    try:
        conn.execute("")
    except psycopg.Error:
        conn.close()
        return False
    return True


def readable(conn: Connection[Any]) -> bool:
    """Has the server sent anything to this idle connection?"""
    try:
        ready, _, _ = select.select([conn.pgconn.socket], [], [], 0)
    except (OSError, ValueError, psycopg.Error):  # no socket any more
        return True
    return bool(ready)


class CheckedPostgresDatastore(PostgresDatastore):
    """The library's datastore, checking connections as described above
    (when the environment asks for a pre-ping, POSTGRES_PRE_PING)."""

    def __init__(self, *args: Any, pre_ping: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, pre_ping=False, **kwargs)  # the pool itself checks nothing
        self.pre_ping = pre_ping
        # When each connection was last given back (weak: the pool decides how long one lives).
        self._used: weakref.WeakKeyDictionary[Connection[Any], float] = weakref.WeakKeyDictionary()

    def change_counter(self) -> None:
        """PostgreSQL has no cheap counter of commits (Reads keeps nothing)."""

    def alive(self, conn: Connection[Any]) -> bool:
        used = self._used.get(conn)
        if used is not None and monotonic() - used < PING_IDLE_SECONDS and not readable(conn):
            return True
        return ping(conn)

    @contextmanager
    def get_connection(self) -> Iterator[Connection[Any]]:
        if not self.pre_ping:
            with super().get_connection() as conn:
                yield conn
            return
        # Every connection in the pool may be dead (the server restarted):
        # one more attempt than the pool holds reaches a connection opened now.
        attempts = (self.pool.max_size or self.pool.min_size) + 1
        for attempt in range(attempts):
            with super().get_connection() as conn:
                if attempt < attempts - 1 and not self.alive(conn):
                    continue  # closed by ping(): the pool drops it when it comes back
                try:
                    yield conn
                finally:
                    self._used[conn] = monotonic()
                return


class CheckedPostgresFactory(PostgresFactory):
    """The library's factory on a CheckedPostgresDatastore (api/bootstrap.py
    names it in PERSISTENCE_MODULE)."""

    def __init__(self, env: Any) -> None:
        super().__init__(env)
        plain = self.datastore  # built by the library from the environment; its pool is not open yet
        pool = plain.pool
        info = pool.kwargs
        assert isinstance(info, dict)
        self.datastore = CheckedPostgresDatastore(
            dbname=info["dbname"],
            host=info["host"],
            port=info["port"],
            user=info["user"],
            password=info["password"],
            connect_timeout=pool.timeout,
            idle_in_transaction_session_timeout=plain.idle_in_transaction_session_timeout,
            pool_size=pool.min_size,
            max_overflow=pool.max_size - pool.min_size,
            max_waiting=pool.max_waiting,
            conn_max_age=pool.max_lifetime,
            pre_ping=plain.pre_ping,
            lock_timeout=plain.lock_timeout,
            schema=plain.schema,
            pool_open_timeout=plain.pool_open_timeout,
            get_password_func=pool.get_password_func,
            single_row_tracking=plain.single_row_tracking,
            originator_id_type=plain.originator_id_type,
            enable_db_functions=plain.enable_db_functions,
        )
        plain.close()
