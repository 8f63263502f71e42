"""Moving a log between stores: SQLite -> PostgreSQL -> SQLite keeps every
position, the chain head and the catalogue; bad files load nothing."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from api.bootstrap import bootstrap
from api.cli import main
from lifecycle import commands as cmd
from lifecycle import numbering
from lifecycle.config import Settings
from lifecycle.seed import seed
from lifecycle.users import Role
from projections.queries import CatalogueFilter
from projections.register import Register
from projections.verify import verify_log
from tests.conftest import reset_postgres
from tests.people import add_user


def history(app: Register) -> None:
    seed(app)
    code = numbering.parse_code("JGSW05001")
    on = {"code": code, "expected_version": None}
    app.handle(cmd.Publish(**on, issued_on=date(2019, 3, 1), effective_on=date(2019, 4, 1), actor="pub"))
    app.handle(cmd.OpenRevision(**on, actor="drafter", reason="复审：修订"))
    app.handle(cmd.Submit(**on, actor="drafter"))
    app.handle(cmd.Approve(**on, approved_on=date(2021, 5, 10), actor="approver"))
    app.handle(cmd.Publish(**on, issued_on=date(2021, 6, 1), effective_on=date(2021, 7, 1), trial=True,
                           actor="pub"))
    app.handle(cmd.Withdraw(code=numbering.parse_code("JGSW01002"), expected_version=None,
                            withdrawn_on=date(2024, 1, 1), actor="approver", reason="并入 JGSW01003"))


def catalogue(app: Register, day: date) -> list:
    rows, _ = app.reads.catalogue(CatalogueFilter(limit=500), day)
    return [(r.code, r.version, r.state, r.doc, r.editions) for r in rows]


def export_to(runner, url: str, path: Path) -> None:
    result = runner.invoke(main, ["export", str(path)], env={"LIFECYCLE_DATABASE_URL": url})
    assert result.exit_code == 0, result.output


def import_from(runner, url: str, path: Path) -> str:
    result = runner.invoke(main, ["import", str(path)], env={"LIFECYCLE_DATABASE_URL": url})
    assert result.exit_code == 0, result.output
    return result.stdout.strip()


@pytest.fixture
def stores(tmp_path, postgres_database):
    reset_postgres(postgres_database)
    first = f"sqlite:///{tmp_path / 'first.db'}"
    back = f"sqlite:///{tmp_path / 'back.db'}"
    return first, postgres_database, back


def test_sqlite_to_postgresql_to_sqlite(stores, tmp_path):
    from click.testing import CliRunner

    runner = CliRunner()
    first_url, pg_url, back_url = stores
    first = bootstrap(Settings(database_url=first_url))
    history(first)
    add_user(first, "auditor1", [Role.AUDITOR])
    checked = verify_log(first)
    head, last = checked.head, checked.last
    assert checked.broken is None

    export_to(runner, first_url, tmp_path / "one.jsonl")
    assert import_from(runner, pg_url, tmp_path / "one.jsonl") == head
    export_to(runner, pg_url, tmp_path / "two.jsonl")
    assert (tmp_path / "one.jsonl").read_bytes() == (tmp_path / "two.jsonl").read_bytes()
    assert import_from(runner, back_url, tmp_path / "two.jsonl") == head

    pg = bootstrap(Settings(database_url=pg_url))
    back = bootstrap(Settings(database_url=back_url))
    for app in (pg, back):
        assert (verify_log(app).head, verify_log(app).last) == (head, last)
        for day in (date(2019, 6, 1), date(2021, 6, 15), date(2021, 7, 1), date(2025, 1, 1)):
            assert catalogue(app, day) == catalogue(first, day)
        assert app.reads.dump() == first.reads.dump()
    # The log goes on where it left off on the new store.
    pg.handle(cmd.DraftStandard(category="06", fields={"title": "迁移后的第一个草案"}, actor="drafter"))
    assert pg.recorder.max_notification_id() == last + 1
    assert verify_log(pg).broken is None
    for app in (first, pg, back):
        app.close()


def test_import_refuses_a_store_that_is_not_empty(service, runner, tmp_path, settings):
    seed(service)
    export_to(runner, settings.database_url, tmp_path / "log.jsonl")
    result = runner.invoke(main, ["import", str(tmp_path / "log.jsonl")])
    assert result.exit_code != 0 and "not empty" in result.output


@pytest.mark.parametrize("damage", ["edit", "truncate", "header", "garbage"])
def test_a_damaged_file_loads_nothing(damage, tmp_path, stores):
    from click.testing import CliRunner

    runner = CliRunner()
    first_url, pg_url, _ = stores
    first = bootstrap(Settings(database_url=first_url))
    history(first)
    first.close()
    path = tmp_path / "log.jsonl"
    export_to(runner, first_url, path)
    lines = path.read_text(encoding="utf-8").splitlines()
    if damage == "edit":
        event = json.loads(lines[5])
        event["originator_version"] += 1
        lines[5] = json.dumps(event)
        expected = "position 5: the chain breaks here"
    elif damage == "truncate":
        lines = lines[:-3]
        expected = "cut short or edited"
    elif damage == "header":
        lines[0] = json.dumps({"format": "something else"})
        expected = "not a jgsw-event-log/1 file"
    else:
        lines[7] = "{not json"
        expected = "line 8: not an event"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = runner.invoke(main, ["import", str(path)], env={"LIFECYCLE_DATABASE_URL": pg_url})
    assert result.exit_code != 0 and expected in result.output, result.output
    pg = bootstrap(Settings(database_url=pg_url))
    assert not pg.recorder.max_notification_id()
    assert pg.reads.dump()["standard_log"] == []
    pg.close()
