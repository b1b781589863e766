"""Trial results in SQLite: one row per trial key, committed as each trial finishes.

Only the sweep's parent process writes, one transaction per finished trial, so a sweep killed at
any moment (even by SIGKILL) leaves every trial it had recorded intact; running it again skips
them. ``runs`` counts how many times a trial's result was written: it stays 1 for finished trials
(``ok`` or ``diverged``); a ``failed`` trial is tried again on the next run.

Several sweeps may run on one database at once (``rampup lab run`` twice, on one machine or on
several that share the file): each claims a trial before running it with a **lease** (table
``leases``: key, owner, expiry), renewed while the trial runs and dropped when its result is
written, so no trial runs twice. A lease whose owner died is taken over once it expires, or at once
when the owner was a process of this machine that no longer exists.

A rampup database says so in its header (``PRAGMA application_id``, :data:`APPLICATION_ID`). Any other
SQLite file is refused before a byte of it is written; a file from before the marker, whose only table
is ``trials`` with rampup's columns, is adopted (marked, and given the columns added since). A damaged
file is refused when opened (``PRAGMA quick_check``), and any later SQLite fault is a
:class:`~rampup.RampupError` naming ``--db``.
"""

from __future__ import annotations

import json
import os
import secrets
import socket
import sqlite3
import threading
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from types import TracebackType
from typing import Any, Literal

from rampup.errors import RampupError
from rampup.lab.result import TrialConfig, TrialResult

__all__ = ["APPLICATION_ID", "DEFAULT_DB", "FINISHED", "LEASE_S", "LeaseKeeper", "Store", "TrialRow", "new_owner"]

#: the SQLite application id of a rampup lab database ("RAMP"), in the header at byte 68
APPLICATION_ID = 0x52414D50
_SQLITE_MAGIC = b"SQLite format 3\x00"

#: where results go unless told otherwise
DEFAULT_DB = "rampup-lab.db"
#: statuses that count as finished (never run again)
FINISHED = ("ok", "diverged")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS trials (
    key TEXT PRIMARY KEY,
    task TEXT NOT NULL,
    warmup TEXT NOT NULL,
    schedule TEXT NOT NULL,
    peak_lr REAL NOT NULL,
    seed INTEGER NOT NULL,
    steps INTEGER NOT NULL,
    status TEXT NOT NULL,
    diverged INTEGER NOT NULL,
    initial_loss REAL,
    final_loss REAL,
    spikes INTEGER,
    max_grad_norm REAL,
    warmup_steps INTEGER,
    wall_s REAL,
    train_losses TEXT,
    eval_steps TEXT,
    eval_losses TEXT,
    config TEXT NOT NULL,
    error TEXT,
    runs INTEGER NOT NULL DEFAULT 1,
    finished_at TEXT NOT NULL,
    flags TEXT,
    ramp_done_at INTEGER,
    grad_norms TEXT
)
"""
_LEASES = """
CREATE TABLE IF NOT EXISTS leases (
    key TEXT PRIMARY KEY,
    owner TEXT NOT NULL,
    expires REAL NOT NULL
)
"""
#: seconds a claim on a trial lasts unless renewed (a running sweep renews it every third of that)
LEASE_S = 60.0
#: seconds SQLite waits for another sweep's transaction to end before giving up
BUSY_TIMEOUT_S = 60.0

Claim = Literal["claimed", "taken", "done"]


def new_owner() -> str:
    """A sweep's lease owner: ``host/pid/random`` (the pid lets a sweep on the same host see a dead owner)."""
    return f"{socket.gethostname()}/{os.getpid()}/{uuid.uuid4().hex[:8]}"


def _owner_is_dead(owner: str) -> bool:
    """Whether ``owner`` was a process of this machine that no longer exists (another host's: unknown, False)."""
    host, _, rest = owner.partition("/")
    pid_text = rest.partition("/")[0]
    if os.name != "posix" or host != socket.gethostname() or not pid_text.isdigit():
        return False  # (on Windows os.kill(pid, 0) would end the process: wait for the lease to expire)
    pid = int(pid_text)
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except OSError:  # it exists (owned by another user) or we cannot tell
        return False
    return False


#: columns added after the first release, with their types (added to older databases when opened)
_ADDED = (("flags", "TEXT"), ("ramp_done_at", "INTEGER"), ("grad_norms", "TEXT"))

#: the columns of the first release: a marker-less ``trials`` table needs all of these and nothing unknown

_COLUMNS = (
    "key, task, warmup, schedule, peak_lr, seed, steps, status, diverged, initial_loss, final_loss, spikes, "
    "max_grad_norm, warmup_steps, wall_s, train_losses, eval_steps, eval_losses, config, error, runs, finished_at, "
    "flags, ramp_done_at, grad_norms"
)
_FIRST_COLUMNS = frozenset(_COLUMNS.split(", ")) - {name for name, _ in _ADDED}


@dataclass(frozen=True)
class TrialRow:
    """One stored trial, as read back."""

    key: str
    task: str
    warmup: str
    schedule: str
    peak_lr: float
    seed: int
    steps: int
    status: str
    diverged: bool
    initial_loss: float | None
    final_loss: float | None
    spikes: int | None
    max_grad_norm: float | None
    warmup_steps: int | None
    wall_s: float | None
    train_losses: list[float | None]
    eval_steps: list[int]
    eval_losses: list[float | None]
    config: TrialConfig
    error: str | None
    runs: int
    finished_at: str
    flags: list[dict[str, Any]] | None = None
    ramp_done_at: int | None = None
    #: the global gradient norm of every update (empty for databases from before it was recorded)
    grad_norms: list[float | None] = field(default_factory=list)


def _bad_path(path: str | os.PathLike[str], why: object) -> RampupError:
    return RampupError("--db", str(path), "a SQLite file that can be created and written", hint=str(why))


def _foreign(path: Path, why: str) -> RampupError:
    return RampupError(
        "--db",
        str(path),
        "a rampup lab database, or a path where one can be created",
        hint=f"{why}; rampup leaves it untouched: pass another --db",
    )


def _damaged(path: Path, why: object) -> RampupError:
    return RampupError(
        "--db", str(path), "an intact rampup lab database", hint=f"SQLite says: {why}; pass another --db"
    )


def _header(path: Path) -> bytes | None:
    """The first 100 bytes of an existing file (the SQLite header), or None if there is no file or it is empty."""
    if not path.is_file():
        return None
    with path.open("rb") as handle:
        head = handle.read(100)
    return head or None


def _check_ownership(path: Path, head: bytes) -> bool:
    """Whether ``path`` is rampup's (True: marked; False: from before the marker); raise if it is not ours.

    Read through a read-only connection: nothing is written to a file that is refused.
    """
    if not head.startswith(_SQLITE_MAGIC) or len(head) < 100:
        raise _foreign(path, "it is not a SQLite database")
    application_id = int.from_bytes(head[68:72], "big")
    if application_id == APPLICATION_ID:
        return True
    if application_id != 0:
        raise _foreign(path, f"it is another program's SQLite database (application id {application_id:#010x})")
    try:
        db = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
        try:
            tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            tables = {name for name in tables if not name.startswith("sqlite_")}
            columns = {row[1] for row in db.execute("PRAGMA table_info(trials)")}
        finally:
            db.close()
    except sqlite3.Error as error:
        raise _damaged(path, error) from None
    if not tables:
        return False  # an empty SQLite file: nothing in it to harm
    known = set(_COLUMNS.split(", "))
    if tables != {"trials"} or not (_FIRST_COLUMNS <= columns <= known):
        shown = ", ".join(sorted(tables)[:5]) + (", ..." if len(tables) > 5 else "")
        raise _foreign(path, f"it is another program's SQLite database (tables: {shown})")
    return False


class Store:
    """A results database (created if missing). Unwritable paths raise :class:`RampupError`."""

    def __init__(self, path: str | os.PathLike[str] = DEFAULT_DB, *, readonly: bool = False) -> None:
        self.path = Path(path)
        try:
            if self.path.is_dir():
                raise _bad_path(path, "it is a directory")
            head = _header(self.path)
            if readonly:
                if head is None:
                    raise RampupError("--db", str(path), "an existing rampup lab database", hint="run a sweep first")
                _check_ownership(self.path, head)
                self._db = sqlite3.connect(f"{self.path.resolve().as_uri()}?mode=ro", uri=True)
                self._check_intact()
                self._db.execute("SELECT count(*) FROM trials").fetchone()
            else:
                marked = head is not None and _check_ownership(self.path, head)
                self.path.parent.mkdir(parents=True, exist_ok=True)
                self._db = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_S)
                if head is not None:
                    self._check_intact()
                if not marked:
                    self._db.execute(f"PRAGMA application_id = {APPLICATION_ID}")
                self._db.execute(_SCHEMA)
                self._db.execute(_LEASES)
            present = {row[1] for row in self._db.execute("PRAGMA table_info(trials)")}
            if not readonly:
                for name, kind in _ADDED:
                    if name not in present:
                        self._db.execute(f"ALTER TABLE trials ADD COLUMN {name} {kind}")
                        present.add(name)
                # a real write proves the file writable; each process its own table (two sweeps start at once)
                probe = f"probe_{os.getpid()}_{secrets.token_hex(4)}"
                self._db.execute(f"CREATE TABLE {probe} (x INTEGER)")
                self._db.execute(f"DROP TABLE {probe}")
                self._db.commit()
        except RampupError:
            raise
        except sqlite3.DatabaseError as error:
            if isinstance(error, sqlite3.OperationalError) and head is None:
                raise _bad_path(path, error) from None
            raise _damaged(self.path, error) from None
        except OSError as error:
            raise _bad_path(path, error) from None
        # a read-only database from before a column was added reads it as NULL
        self._select = ", ".join(name if name in present else f"NULL AS {name}" for name in _COLUMNS.split(", "))

    def __enter__(self) -> Store:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        self._db.close()

    def _check_intact(self) -> None:
        """``PRAGMA quick_check``: a file with damaged pages is refused before a sweep runs on it."""
        found = self._db.execute("PRAGMA quick_check").fetchall()
        if found != [("ok",)]:
            raise _damaged(self.path, " ".join(" ".join(str(row[0]).split()) for row in found[:3]))

    def _query(self, sql: str, args: Any = ()) -> list[Any]:
        try:
            return self._db.execute(sql, args).fetchall()
        except sqlite3.Error as error:
            raise _damaged(self.path, error) from None

    def finished_keys(self) -> set[str]:
        """Keys of the trials that need no more running."""
        marks = ",".join("?" for _ in FINISHED)
        rows = self._query(f"SELECT key FROM trials WHERE status IN ({marks})", FINISHED)
        return {row[0] for row in rows}

    def record(self, result: TrialResult, owner: str | None = None) -> None:
        """Write one result and commit it (a rerun of the same key counts up ``runs``); ``owner``'s lease on
        the trial is dropped in the same transaction."""
        config = result.config
        values: tuple[Any, ...] = (
            config.key,
            config.task,
            config.warmup,
            config.schedule,
            config.peak_lr,
            config.seed,
            config.steps,
            result.status,
            int(result.diverged),
            result.initial_loss,
            result.final_loss,
            result.spikes,
            result.max_grad_norm,
            result.warmup_steps,
            result.wall_s,
            json.dumps(result.train_losses),
            json.dumps(result.eval_steps),
            json.dumps(result.eval_losses),
            json.dumps(config.to_dict(), sort_keys=True),
            result.error,
            1,
            datetime.now(timezone.utc).isoformat(timespec="seconds"),
            json.dumps(result.flags),
            result.ramp_done_at,
            json.dumps(result.grad_norms),
        )
        names = _COLUMNS.split(", ")
        updates = ", ".join(f"{name} = excluded.{name}" for name in names[1:] if name not in ("runs", "finished_at"))
        try:
            with self._db:
                self._db.execute(
                    f"INSERT INTO trials ({_COLUMNS}) VALUES ({','.join('?' * len(values))}) "
                    f"ON CONFLICT(key) DO UPDATE SET {updates}, runs = runs + 1, finished_at = excluded.finished_at",
                    values,
                )
                if owner is not None:
                    self._db.execute("DELETE FROM leases WHERE key = ? AND owner = ?", (config.key, owner))
        except sqlite3.Error as error:
            raise _bad_path(self.path, error) from None

    def runs(self, keys: Iterable[str]) -> dict[str, int]:
        """How many times each of these trials has been written so far (absent: never)."""
        wanted = set(keys)
        return {key: runs for key, runs in self._query("SELECT key, runs FROM trials") if key in wanted}

    def claim(self, key: str, owner: str, *, lease_s: float = LEASE_S, runs_seen: int = 0) -> Claim:
        """Claim a trial for ``owner``: ``claimed`` (run it), ``taken`` (another live sweep runs it) or ``done``
        (finished, or written by another sweep since this one read ``runs_seen``). One IMMEDIATE transaction,
        so two sweeps never both get ``claimed`` for one trial."""
        try:
            if self._db.in_transaction:
                self._db.commit()
            self._db.execute("BEGIN IMMEDIATE")
            try:
                row = self._db.execute("SELECT status, runs FROM trials WHERE key = ?", (key,)).fetchone()
                if row is not None and (row[0] in FINISHED or row[1] > runs_seen):
                    return "done"
                lease = self._db.execute("SELECT owner, expires FROM leases WHERE key = ?", (key,)).fetchone()
                now = time.time()
                if lease is not None and lease[0] != owner and lease[1] > now and not _owner_is_dead(lease[0]):
                    return "taken"
                self._db.execute(
                    "INSERT INTO leases (key, owner, expires) VALUES (?, ?, ?) "
                    "ON CONFLICT(key) DO UPDATE SET owner = excluded.owner, expires = excluded.expires",
                    (key, owner, now + lease_s),
                )
                return "claimed"
            finally:
                self._db.commit()
        except sqlite3.Error as error:
            raise _bad_path(self.path, error) from None

    def release(self, owner: str) -> None:
        """Drop every lease ``owner`` still holds (a sweep that stops hands back what it did not run)."""
        try:
            with self._db:
                self._db.execute("DELETE FROM leases WHERE owner = ?", (owner,))
        except sqlite3.Error as error:
            raise _bad_path(self.path, error) from None

    def leases(self) -> list[tuple[str, str, float]]:
        """The current leases as ``(key, owner, expires)`` (expiry in seconds since the epoch)."""
        present = self._query("SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'leases'")
        if not present:
            return []
        return [tuple(row) for row in self._query("SELECT key, owner, expires FROM leases ORDER BY key")]

    def rows(self, task: str | None = None, keys: Iterable[str] | None = None) -> list[TrialRow]:
        """Stored trials (of one task, or with the given keys), in a stable order."""
        query = f"SELECT {self._select} FROM trials"
        args: list[Any] = []
        if task is not None:
            query += " WHERE task = ?"
            args.append(task)
        query += " ORDER BY task, warmup, peak_lr, seed, key"
        wanted = set(keys) if keys is not None else None
        out = []
        for row in self._query(query, args):
            if wanted is not None and row[0] not in wanted:
                continue
            out.append(
                TrialRow(
                    key=row[0],
                    task=row[1],
                    warmup=row[2],
                    schedule=row[3],
                    peak_lr=row[4],
                    seed=row[5],
                    steps=row[6],
                    status=row[7],
                    diverged=bool(row[8]),
                    initial_loss=row[9],
                    final_loss=row[10],
                    spikes=row[11],
                    max_grad_norm=row[12],
                    warmup_steps=row[13],
                    wall_s=row[14],
                    train_losses=json.loads(row[15] or "[]"),
                    eval_steps=json.loads(row[16] or "[]"),
                    eval_losses=json.loads(row[17] or "[]"),
                    config=TrialConfig.from_dict(json.loads(row[18])),
                    error=row[19],
                    runs=row[20],
                    finished_at=row[21],
                    flags=None if row[22] is None else json.loads(row[22]),
                    ramp_done_at=row[23],
                    grad_norms=json.loads(row[24] or "[]"),
                )
            )
        return out


class LeaseKeeper:
    """A thread that renews ``owner``'s leases every third of ``lease_s`` on its own connection, so a
    trial that runs longer than a lease keeps its claim while the sweep lives."""

    def __init__(self, path: str | os.PathLike[str], owner: str, lease_s: float = LEASE_S) -> None:
        self.path, self.owner, self.lease_s = Path(path), owner, lease_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="rampup-lease-keeper", daemon=True)

    def __enter__(self) -> LeaseKeeper:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def _run(self) -> None:
        db = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_S)
        try:
            while not self._stop.wait(self.lease_s / 3):
                try:
                    with db:
                        db.execute(
                            "UPDATE leases SET expires = ? WHERE owner = ?", (time.time() + self.lease_s, self.owner)
                        )
                except sqlite3.Error:  # busy for a whole minute: try again at the next beat
                    continue
        finally:
            db.close()
