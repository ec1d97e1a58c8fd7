"""Numbered, append-only migrations and the connection settings of the store."""

from __future__ import annotations

import json
import re
import sqlite3
import subprocess
import sys
from datetime import datetime
from importlib import resources
from pathlib import Path

import pytest

from switchboard.config.schema import BudgetConfig
from switchboard.store import Ledger, MigrationError, Store, StoreError, connect, migrate
from switchboard.store import db as store_db
from switchboard.store.consistency import outcome_drift
from switchboard.store.db import Migration, available_migrations, checksum, split_statements
from switchboard.store.ledger import spend_drift

EXPECTED_TABLES = {
    "schema_migrations",
    "tasks",
    "attempts",
    "events",
    "provider_health",
    "reservations",
    "spend",
    "attempt_outcomes",
}


def _tables(conn: sqlite3.Connection) -> set[str]:
    rows = conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall()
    return {row[0] for row in rows}


def _recorded(path: Path) -> list[tuple[int, str, str]]:
    raw = sqlite3.connect(path)
    try:
        rows = raw.execute(
            "SELECT version, name, checksum FROM schema_migrations ORDER BY version"
        ).fetchall()
    finally:
        raw.close()
    return [(int(v), str(n), str(c)) for v, n, c in rows]


def test_fresh_database_gets_every_migration(tmp_path: Path) -> None:
    path = tmp_path / "nested" / "folder" / "store.db"
    conn = connect(path)
    try:
        assert _tables(conn) >= EXPECTED_TABLES
    finally:
        conn.close()
    shipped = available_migrations()
    assert shipped, "at least one migration ships with the package"
    assert _recorded(path) == [(m.version, m.name, m.checksum) for m in shipped]


def test_reopening_applies_nothing_new(tmp_path: Path) -> None:
    path = tmp_path / "store.db"
    connect(path).close()
    before = _recorded(path)
    conn = connect(path)
    try:
        assert migrate(conn) == []
    finally:
        conn.close()
    assert _recorded(path) == before


def test_changed_migration_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "store.db"
    connect(path).close()
    raw = sqlite3.connect(path)
    with raw:
        raw.execute("UPDATE schema_migrations SET checksum = 'tampered' WHERE version = 1")
    raw.close()

    with pytest.raises(MigrationError) as caught:
        connect(path)
    assert caught.value.message == (
        "migration 0001 was changed after it was applied; add a new numbered migration instead"
    )
    assert isinstance(caught.value, StoreError)


def test_database_from_a_newer_version_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "store.db"
    connect(path).close()
    raw = sqlite3.connect(path)
    with raw:
        raw.execute(
            "INSERT INTO schema_migrations (version, name, checksum, applied_at)"
            " VALUES (9999, 'future', 'x', 0)"
        )
    raw.close()

    with pytest.raises(MigrationError, match="schema version 9999, newer"):
        connect(path)


def test_migration_files_are_numbered_contiguously_from_0001() -> None:
    folder = resources.files("switchboard.store").joinpath("migrations")
    names = sorted(entry.name for entry in folder.iterdir() if entry.name.endswith(".sql"))
    assert names, "migrations are installed as package data"
    for name in names:
        assert re.fullmatch(r"\d{4}_[a-z0-9_]+\.sql", name), name
    numbers = [int(name[:4]) for name in names]
    assert numbers == list(range(1, len(names) + 1))
    assert [m.version for m in available_migrations()] == numbers


def test_connection_settings(tmp_path: Path) -> None:
    conn = connect(tmp_path / "store.db")
    try:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
        assert conn.execute("PRAGMA busy_timeout").fetchone()[0] >= 30_000
        assert conn.isolation_level is None
        assert isinstance(conn.execute("SELECT 1 AS one").fetchone(), sqlite3.Row)
    finally:
        conn.close()


def test_failed_migration_leaves_nothing_behind(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "store.db"
    connect(path).close()
    broken_sql = "CREATE TABLE half_done (x INTEGER);\nCREATE TABLE broken (;\n"
    applied = available_migrations()
    broken = Migration(len(applied) + 1, "broken", broken_sql, checksum(broken_sql))
    shipped = [*applied, broken]
    monkeypatch.setattr(store_db, "available_migrations", lambda: shipped)

    with pytest.raises(StoreError):
        connect(path)
    monkeypatch.undo()

    assert [v for v, _, _ in _recorded(path)] == [m.version for m in available_migrations()]
    raw = sqlite3.connect(path)
    try:
        assert "half_done" not in _tables(raw)
    finally:
        raw.close()


def test_split_statements_keeps_triggers_and_strings_whole() -> None:
    sql = (
        "-- a comment; with a semicolon\n"
        "CREATE TABLE t (x TEXT DEFAULT 'a;b');\n"
        "CREATE TRIGGER tr AFTER INSERT ON t BEGIN\n"
        "  UPDATE t SET x = 'c;d';\n"
        "END;\n"
    )
    statements = split_statements(sql)
    assert len(statements) == 2
    assert statements[0].endswith("DEFAULT 'a;b');")
    assert statements[1].startswith("CREATE TRIGGER") and statements[1].endswith("END;")


def test_unreadable_file_raises_store_error_with_a_fix(tmp_path: Path) -> None:
    path = tmp_path / "store.db"
    path.write_bytes(b"this is not a database, just some text" * 100)
    with pytest.raises(StoreError) as caught:
        Store.open(path)
    assert str(path) in caught.value.message
    assert caught.value.hint is not None and "store.db.bak" in caught.value.hint


_OPEN_AT_ONCE = """
import json, sys
from pathlib import Path
from switchboard.store import db
sys.stdout.write("ready\\n")
sys.stdout.flush()
sys.stdin.readline()
applied = []
apply_pending = db.migrate
def recording(conn):
    done = apply_pending(conn)
    applied.extend(done)
    return done
db.migrate = recording
db.connect(Path(sys.argv[1])).close()
print(json.dumps(applied))
"""


def test_processes_opening_a_fresh_database_together(tmp_path: Path) -> None:
    path = tmp_path / "fresh.db"
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", _OPEN_AT_ONCE, str(path)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(6)
    ]
    for worker in workers:
        assert worker.stdout is not None
        assert worker.stdout.readline().strip() == "ready"
    for worker in workers:
        assert worker.stdin is not None
        worker.stdin.write("go\n")
        worker.stdin.flush()
    applied: list[int] = []
    for worker in workers:
        out, err = worker.communicate(timeout=120)
        assert worker.returncode == 0, err
        applied.extend(json.loads(out.strip().splitlines()[-1]))

    shipped = available_migrations()
    # every migration was applied exactly once, by whichever process got the lock first
    assert sorted(applied) == [m.version for m in shipped]
    assert _recorded(path) == [(m.version, m.name, m.checksum) for m in shipped]


def _at(day: str, time: str = "12:00:00") -> float:
    return datetime.fromisoformat(f"{day}T{time}+00:00").timestamp()


def test_upgrading_a_store_fills_the_running_totals_from_its_rows(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A store written before the totals existed keeps its spend and success rates."""
    path = tmp_path / "store.db"
    first = available_migrations()[:1]
    monkeypatch.setattr(store_db, "available_migrations", lambda: first)
    connect(path).close()
    monkeypatch.undo()

    raw = sqlite3.connect(path)
    with raw:
        for task_id, task_type in [("t_1", "bugfix"), ("t_2", "bugfix"), ("t_3", "docs")]:
            raw.execute(
                "INSERT INTO tasks (id, prompt, task_type, created_at, updated_at)"
                " VALUES (?, 'p', ?, 0, 0)",
                (task_id, task_type),
            )
        raw.executemany(
            "INSERT INTO attempts (task_id, number, provider, status, started_at)"
            " VALUES (?, 1, ?, ?, 0)",
            [
                ("t_1", "a", "succeeded"),
                ("t_1", "a", "failed"),
                ("t_2", "a", "succeeded"),
                ("t_2", "b", "cancelled"),
                ("t_2", "b", "running"),
                ("t_3", "b", "succeeded"),
            ],
        )
        # (provider, task_type, project, amount, spent, actual, status, created_at)
        raw.executemany(
            "INSERT INTO reservations (task_id, provider, task_type, project, scopes, amount,"
            " spent, actual, status, pid, hostname, created_at)"
            " VALUES ('t_1', ?, ?, ?, '[]', ?, ?, ?, ?, 1, 'elsewhere', ?)",
            [
                (
                    "a",
                    "bugfix",
                    "acme",
                    5_000,
                    0,
                    4_000,
                    "settled",
                    _at("2025-05-31", "23:59:59.5"),
                ),
                ("a", "bugfix", None, 3_000, 700, 700, "released", _at("2025-06-01", "00:00:00")),
                ("b", "docs", "acme", 2_000, 2_500, None, "open", _at("2025-06-15")),
                ("b", "docs", None, 1_000, 0, None, "open", _at("2025-06-15")),
                ("a", "bugfix", "acme", 9_000, 0, 8_000, "settled", _at("2024-12-31")),
            ],
        )
    raw.close()

    budgets = {
        "monthly": BudgetConfig(scope="global", limit_usd=1, period="month"),
        "daily-b": BudgetConfig(scope="provider:b", limit_usd=1, period="day"),
        "acme": BudgetConfig(scope="project:acme", limit_usd=1, period="total"),
        "bugfix": BudgetConfig(scope="task_type:bugfix", limit_usd=1, period="month"),
    }
    with Store.open(path, clock=lambda: _at("2025-06-15")) as store:
        assert spend_drift(store) == {}
        assert outcome_drift(store) == {}
        assert store.success_stats("bugfix") == {"a": (2, 3)}
        assert store.success_stats("docs") == {"b": (1, 1)}

        ledger = Ledger(store, budgets)
        figures = {s.name: (s.spent, s.reserved) for s in ledger.status()}
        assert figures == {
            "monthly": (700, 2_500 + 1_000),
            "daily-b": (0, 2_500 + 1_000),
            "acme": (4_000 + 8_000, 2_500),
            "bugfix": (700, 0),
        }
        may = {s.name: (s.spent, s.reserved) for s in ledger.status(now=_at("2025-05-31"))}
        assert may["monthly"] == (4_000, 0)
        assert ledger.totals() == {"total": 12_700, "today": 0, "month": 700}

        # and the totals move on from there
        ledger.settle(
            ledger.reserve("t_4", None, provider="b", task_type="docs", project=None, amount=100),
            90,
        )
        assert ledger.totals()["today"] == 90
        assert spend_drift(store) == {}


def test_the_period_sums_indexes_are_gone(tmp_path: Path) -> None:
    """Budget checks read the totals; the indexes that served sums by period are dropped."""
    conn = connect(tmp_path / "store.db")
    try:
        names = {
            row[0]
            for row in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'reservations'"
            )
        }
    finally:
        conn.close()
    assert "reservations_created_at" not in names
    assert {"reservations_task_id", "reservations_open"} <= names
