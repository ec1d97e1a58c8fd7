"""Opening the SQLite store: connection settings, numbered migrations, error translation.

Migrations are the files ``switchboard/store/migrations/NNNN_name.sql``, installed as
package data. They are append-only: once a file has been applied somewhere its text
must never change (a checksum recorded in ``schema_migrations`` guards this); a schema
change is a new numbered file.
"""

from __future__ import annotations

import hashlib
import json
import re
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from switchboard.errors import SwitchboardError

BUSY_TIMEOUT_S = 30.0
"""How long a writer waits for another process's write transaction before giving up."""

_MIGRATION_RE = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")

_SCHEMA_MIGRATIONS = """
CREATE TABLE IF NOT EXISTS schema_migrations (
    version INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    checksum TEXT NOT NULL,
    applied_at REAL NOT NULL
)
"""

# Primary result codes (the low byte of sqlite_errorcode).
_SQLITE_PERM = 3
_SQLITE_BUSY = 5
_SQLITE_LOCKED = 6
_SQLITE_READONLY = 8
_SQLITE_CORRUPT = 11
_SQLITE_FULL = 13
_SQLITE_CANTOPEN = 14
_SQLITE_NOTADB = 26


class StoreError(SwitchboardError):
    """The store could not be opened, read or written."""


class MigrationError(StoreError):
    """The database's schema does not match the migrations this version ships."""


@dataclass(frozen=True)
class Migration:
    """One numbered migration file."""

    version: int
    name: str
    sql: str
    checksum: str

    @property
    def label(self) -> str:
        return f"{self.version:04d}"


def checksum(sql: str) -> str:
    """sha256 of a migration's text, with line endings normalised."""
    return hashlib.sha256(sql.replace("\r\n", "\n").encode("utf-8")).hexdigest()


def available_migrations() -> list[Migration]:
    """The shipped migrations, in order. Raises :class:`MigrationError` on a misnamed file
    or a gap in the numbering."""
    folder = resources.files("switchboard.store").joinpath("migrations")
    found: list[Migration] = []
    for entry in folder.iterdir():
        if not entry.name.endswith(".sql"):
            continue
        match = _MIGRATION_RE.match(entry.name)
        if match is None:
            raise MigrationError(
                f"migration file {entry.name!r} is not named NNNN_name.sql",
                hint="rename it with the next four-digit number, e.g. 0002_add_audit.sql",
            )
        sql = entry.read_text(encoding="utf-8")
        found.append(Migration(int(match.group(1)), match.group(2), sql, checksum(sql)))
    found.sort(key=lambda m: m.version)
    for expected, migration in enumerate(found, start=1):
        if migration.version != expected:
            raise MigrationError(
                f"migrations must be numbered 0001, 0002, ... without gaps;"
                f" expected {expected:04d} but found {migration.label}_{migration.name}.sql"
            )
    return found


def split_statements(sql: str) -> list[str]:
    """Split a script into complete statements (``executescript`` would commit first)."""
    statements: list[str] = []
    start = 0
    for index, char in enumerate(sql):
        if char != ";":
            continue
        candidate = sql[start : index + 1]
        if sqlite3.complete_statement(candidate):
            statements.append(candidate.strip())
            start = index + 1
    return statements


def _database_file(conn: sqlite3.Connection) -> str:
    row = conn.execute("PRAGMA database_list").fetchone()
    return str(row[2]) if row is not None and row[2] else ":memory:"


def _applied(conn: sqlite3.Connection) -> dict[int, tuple[str, str]]:
    exists = conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'"
    ).fetchone()
    if exists is None:
        return {}
    rows = conn.execute("SELECT version, name, checksum FROM schema_migrations").fetchall()
    return {int(row[0]): (str(row[1]), str(row[2])) for row in rows}


def _verify(
    conn: sqlite3.Connection, applied: dict[int, tuple[str, str]], shipped: list[Migration]
) -> None:
    known = {m.version: m for m in shipped}
    for version in sorted(applied):
        migration = known.get(version)
        if migration is None:
            raise MigrationError(
                f"the store {_database_file(conn)} has schema version {version:04d}, newer than"
                f" this version of switchboard knows ({len(shipped):04d})",
                hint="upgrade switchboard, or point [store].path at another file",
            )
        name, recorded = applied[version]
        if recorded != migration.checksum or name != migration.name:
            raise MigrationError(
                f"migration {migration.label} was changed after it was applied;"
                " add a new numbered migration instead",
                hint=f"restore {migration.label}_{name}.sql to the text that was applied",
            )


def migrate(conn: sqlite3.Connection) -> list[int]:
    """Apply the pending migrations in order, each in its own transaction.

    The write lock is taken (``BEGIN IMMEDIATE``) before the applied versions are read
    again, so processes opening a fresh database at the same time apply each migration
    exactly once. Returns the versions this call applied.
    """
    shipped = available_migrations()
    applied = _applied(conn)
    _verify(conn, applied, shipped)
    done: list[int] = []
    for migration in shipped:
        if migration.version in applied:
            continue
        conn.execute("BEGIN IMMEDIATE")
        try:
            conn.execute(_SCHEMA_MIGRATIONS)
            applied = _applied(conn)
            _verify(conn, applied, shipped)
            if migration.version not in applied:
                for statement in split_statements(migration.sql):
                    conn.execute(statement)
                conn.execute(
                    "INSERT INTO schema_migrations (version, name, checksum, applied_at)"
                    " VALUES (?, ?, ?, ?)",
                    (migration.version, migration.name, migration.checksum, time.time()),
                )
                done.append(migration.version)
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
    return done


def translated(exc: sqlite3.Error, path: Path) -> StoreError:
    """The :class:`StoreError` to raise for a ``sqlite3`` error on the store at ``path``."""
    code = getattr(exc, "sqlite_errorcode", 0) & 0xFF
    if code in (_SQLITE_CORRUPT, _SQLITE_NOTADB):
        return StoreError(
            f"the store {path} is damaged or is not a Switchboard database ({exc})",
            hint=f"move {path} aside (e.g. rename it to {path.name}.bak) and a fresh store"
            " will be created, or set [store].path to another file",
        )
    if code in (_SQLITE_BUSY, _SQLITE_LOCKED):
        return StoreError(
            f"the store {path} stayed locked by another process for more than"
            f" {BUSY_TIMEOUT_S:.0f} s",
            hint="check for a hung switchboard process and try again",
        )
    if code in (_SQLITE_CANTOPEN, _SQLITE_PERM, _SQLITE_READONLY):
        return StoreError(
            f"cannot open the store {path} for writing ({exc})",
            hint="check the permissions of the file and its folder, or set [store].path",
        )
    if code == _SQLITE_FULL:
        return StoreError(f"the disk holding the store {path} is full", hint="free some space")
    return StoreError(f"store {path}: {exc}")


@contextmanager
def translate_errors(path: Path) -> Iterator[None]:
    """Turn ``sqlite3`` errors raised inside the block into :class:`StoreError`."""
    try:
        yield
    except sqlite3.Error as exc:
        raise translated(exc, path) from exc


def _enable_wal(conn: sqlite3.Connection) -> None:
    """Switch to WAL, retrying: while another process converts a fresh file, SQLite
    answers 'database is locked' here at once instead of waiting for the busy timeout."""
    deadline = time.monotonic() + BUSY_TIMEOUT_S
    delay = 0.002
    while True:
        try:
            conn.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as exc:
            code = getattr(exc, "sqlite_errorcode", 0) & 0xFF
            if code not in (_SQLITE_BUSY, _SQLITE_LOCKED) or time.monotonic() >= deadline:
                raise
        time.sleep(delay)
        delay = min(delay * 2, 0.05)


def connect(path: Path) -> sqlite3.Connection:
    """Open (creating if needed) the store at ``path`` and bring its schema up to date.

    The connection uses WAL, a busy timeout, foreign keys, explicit transactions
    (``isolation_level=None``) and :class:`sqlite3.Row` rows. It may be handed between
    threads but must not be used by two threads at once; :class:`Store` guards that.
    """
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StoreError(
            f"cannot create the folder of the store {path.parent}: {exc.strerror}",
            hint="set $SWITCHBOARD_HOME or [store].path to a writable location",
        ) from exc
    with translate_errors(path):
        conn = sqlite3.connect(
            path, timeout=BUSY_TIMEOUT_S, isolation_level=None, check_same_thread=False
        )
        try:
            conn.row_factory = sqlite3.Row
            conn.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
            _enable_wal(conn)
            conn.execute("PRAGMA synchronous = NORMAL")
            conn.execute("PRAGMA foreign_keys = ON")
            migrate(conn)
        except BaseException:
            conn.close()
            raise
    return conn


def dump_json(value: Any) -> str:
    """Compact, key-sorted JSON, as every JSON column of the store is written."""
    return json.dumps(value, separators=(",", ":"), sort_keys=True)
