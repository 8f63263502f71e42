"""Answers the reads keep while nothing is committed (projections/queries.py,
Reads._kept): the user of a token and the log position. On SQLite they are
kept until data_version says another connection committed; PostgreSQL keeps
nothing. Either way a change made elsewhere is seen by the next request."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from api.bootstrap import bootstrap
from lifecycle.commands import RevokeToken
from lifecycle.config import Settings
from lifecycle.users import Role
from projections.sqlite_store import RecoveringSQLiteDatastore
from projections.writer import values
from tests.people import OPERATOR, add_user


def test_the_counter_moves_on_every_commit_and_only_then(tmp_path: Path):
    db = tmp_path / "counted.db"
    datastore = RecoveringSQLiteDatastore(str(db), lock_timeout=5)
    try:
        with datastore.transaction(commit=True) as c:
            c.execute("CREATE TABLE t (x INTEGER)")
        first = datastore.change_counter()
        assert first is not None
        with datastore.transaction(commit=False) as c:  # a read commits nothing
            c.execute("SELECT COUNT(*) FROM t")
        assert datastore.change_counter() == first
        with datastore.transaction(commit=True) as c:  # this datastore's own pooled connection
            c.execute("INSERT INTO t VALUES (1)")
        second = datastore.change_counter()
        assert second != first
        other = sqlite3.connect(db)  # another process would be the same: another connection
        with other:
            other.execute("INSERT INTO t VALUES (2)")
        other.close()
        assert datastore.change_counter() not in (first, second)
    finally:
        datastore.close()


def test_a_threads_watching_connection_ends_with_the_thread(tmp_path: Path):
    """A threaded server starts a thread per request: each thread's
    connection for data_version is closed when the thread ends, not kept."""
    import gc
    import threading

    datastore = RecoveringSQLiteDatastore(str(tmp_path / "threads.db"), lock_timeout=5)
    try:
        counters = []
        for _ in range(20):
            thread = threading.Thread(target=lambda: counters.append(datastore.change_counter()))
            thread.start()
            thread.join()
        gc.collect()
        assert all(c is not None for c in counters) and len({c[0] for c in counters}) == 20
        assert len(datastore._watchers) == 0
    finally:
        datastore.close()


def test_a_store_in_memory_keeps_nothing():
    datastore = RecoveringSQLiteDatastore(":memory:", lock_timeout=5)
    try:
        assert datastore.change_counter() is None
    finally:
        datastore.close()


def _catalogue(client, token: str):
    return client.get("/api/v1/standards?limit=5", headers={"Authorization": f"Bearer {token}"})


def test_a_token_revoked_by_another_host_is_refused_at_once(client, service, settings: Settings):
    """The first request keeps the token's user; a revocation recorded
    through another register (another host, its own connections) is seen by
    the very next request."""
    token = add_user(service, "reader", [Role.AUDITOR])
    assert _catalogue(client, token).status_code == 200
    assert _catalogue(client, token).status_code == 200  # answered from what was kept
    other = bootstrap(settings)
    try:
        other.handle(RevokeToken(name="reader", actor=OPERATOR))
    finally:
        other.close()
    refused = _catalogue(client, token)
    assert refused.status_code == 401, refused.get_data(as_text=True)


def test_a_standard_drafted_by_another_host_changes_the_page_and_its_etag(client, service, settings: Settings,
                                                                       tokens, auth):
    first = client.get("/api/v1/standards?limit=5", headers=auth("auditor"))
    again = client.get("/api/v1/standards?limit=5", headers=auth("auditor"))
    assert first.headers["ETag"] == again.headers["ETag"] and first.json["items"] == []
    other = bootstrap(settings)
    try:
        from api import create_app
        drafted = create_app(service=other).test_client().post(
            "/api/v1/standards", json={"category": "05", "title": "会议服务规范"}, headers=auth("drafter"))
        assert drafted.status_code == 201, drafted.get_data(as_text=True)
    finally:
        other.close()
    after = client.get("/api/v1/standards?limit=5", headers=auth("auditor"))
    assert after.headers["ETag"] != first.headers["ETag"]
    assert [item["code"] for item in after.json["items"]] == [drafted.json["code"]]
    not_modified = client.get("/api/v1/standards?limit=5",
                              headers={**auth("auditor"), "If-None-Match": first.headers["ETag"]})
    assert not_modified.status_code == 200


def test_a_consistent_block_answered_from_kept_reads_opens_no_transaction(client, service, store, tokens, auth):
    """The catalogue's guard reads the token's user and the log position in
    one `consistent` block; once both are kept, the block reads nothing
    (SQLite), and the page is sent from the worker's cache."""
    assert client.get("/api/v1/standards?limit=5", headers=auth("auditor")).status_code == 200
    opened = []
    real = service.reads.datastore.transaction

    def counted(*args, **kwargs):
        opened.append(kwargs)
        return real(*args, **kwargs)

    service.reads.datastore.transaction = counted
    try:
        answer = client.get("/api/v1/standards?limit=5", headers=auth("auditor"))
    finally:
        del service.reads.datastore.transaction
    assert answer.status_code == 200
    assert len(opened) == (0 if store == "sqlite" else 1)


def test_a_consistent_block_sees_one_state_even_when_answered_from_kept_reads(service, settings: Settings):
    """A block whose first read was answered from what was kept goes on
    answering as of that state: a commit by another host between two of its
    reads is seen by the next block, not halfway through this one."""
    from lifecycle.commands import DraftStandard

    service.handle(DraftStandard(category="05", fields={"title": "会议服务规范"}, actor="drafter"))
    reads = service.reads
    reads.position()  # kept
    with reads.consistent():
        first = reads.position()
        other = bootstrap(settings)
        try:
            other.handle(DraftStandard(category="05", fields={"title": "接待服务规范"}, actor="drafter"))
        finally:
            other.close()
        assert reads.position() == first
    assert reads.position() > first


def test_one_read_transaction_sees_one_state(service, settings: Settings):
    """`Reads.cursor()` is one view across its queries on both stores (on
    PostgreSQL a REPEATABLE READ transaction: its default would let the second
    query see a command committed after the first)."""
    from lifecycle.commands import DraftStandard

    count = "SELECT COUNT(*) FROM standard_log"
    with service.reads.cursor() as c:
        c.execute(count)
        before = list(values(c.fetchall()[0]))
        other = bootstrap(settings)
        try:
            other.handle(DraftStandard(category="05", fields={"title": "会议服务规范"}, actor="drafter"))
        finally:
            other.close()
        c.execute(count)
        assert list(values(c.fetchall()[0])) == before
    with service.reads.cursor() as c:
        c.execute(count)
        assert list(values(c.fetchall()[0])) != before


def test_a_statement_reads_in_autocommit_and_its_errors_are_the_librarys(tmp_path: Path):
    """Writer.statement on SQLite: one SELECT with no BEGIN around it (SQLite
    makes it a read transaction of its own), seeing the latest commit; an
    error in it is the library's PersistenceError kind, as a transaction's
    would be, and the connection goes back to the pool usable."""
    from eventsourcing.persistence import OperationalError

    from projections.writer import Writer

    db = tmp_path / "statement.db"
    datastore = RecoveringSQLiteDatastore(str(db), lock_timeout=5)
    writer = Writer()
    try:
        with datastore.transaction(commit=True) as c:
            c.execute("CREATE TABLE t (x INTEGER)")
        other = sqlite3.connect(db)
        for n in (1, 2):
            with other:
                other.execute("INSERT INTO t VALUES (?)", (n,))
            with writer.statement(datastore) as c:
                c.execute("SELECT COUNT(*) FROM t")
                assert c.fetchone()[0] == n
                assert not c.connection.in_transaction  # no BEGIN: nothing held open
        other.close()
        try:
            with writer.statement(datastore) as c:
                c.execute("SELECT * FROM no_such_table")
        except OperationalError as e:
            assert "no_such_table" in str(e)
        else:
            raise AssertionError("a failed statement raised nothing")
        with writer.statement(datastore) as c:
            c.execute("SELECT COUNT(*) FROM t")
            assert c.fetchone()[0] == 2
    finally:
        datastore.close()


def test_a_page_sent_again_holds_only_for_its_token_query_and_unchanged_store(client, service, settings: Settings,
                                                                             app, store):
    """A catalogue page this worker sent is sent again at once for the same
    credentials and query while nothing is committed (api/standards.py,
    catalogue_guard): the same bytes and ETag. Another token, a wrong one,
    If-None-Match or a commit anywhere goes the whole way."""
    token = add_user(service, "reader", [Role.AUDITOR])
    other_token = add_user(service, "other-reader", [Role.AUDITOR])
    answers = [_catalogue(client, token) for _ in range(3)]
    assert {a.status_code for a in answers} == {200}
    assert len({a.get_data() for a in answers}) == 1 and len({a.headers["ETag"] for a in answers}) == 1
    sent_again = app.extensions["lifecycle_pages"].answers
    assert len(sent_again) == (1 if store == "sqlite" else 0)  # PostgreSQL keeps nothing
    assert _catalogue(client, token + "x").status_code == 401
    assert _catalogue(client, "").status_code == 401
    mine = _catalogue(client, other_token)
    assert mine.status_code == 200 and mine.get_data() == answers[0].get_data()
    not_modified = client.get("/api/v1/standards?limit=5", headers={"Authorization": f"Bearer {token}",
                                                                    "If-None-Match": answers[0].headers["ETag"]})
    assert not_modified.status_code == 304
    other = bootstrap(settings)
    try:
        other.handle(RevokeToken(name="reader", actor=OPERATOR))
    finally:
        other.close()
    assert _catalogue(client, token).status_code == 401
    assert _catalogue(client, other_token).status_code == 200
