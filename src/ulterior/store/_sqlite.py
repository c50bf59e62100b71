from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel

from ulterior.errors import UsageError
from ulterior.records import Observation, Run, utc_now

RunStatus = Literal["running", "complete", "failed"]

# Each entry upgrades the schema by one version; PRAGMA user_version records how far we are.
# Every statement is idempotent, so two processes initialising one new store cannot collide.
_MIGRATIONS: tuple[tuple[str, ...], ...] = (
    (
        """CREATE TABLE IF NOT EXISTS runs (
            id TEXT PRIMARY KEY,
            job TEXT NOT NULL,
            status TEXT NOT NULL,
            created TEXT NOT NULL,
            updated TEXT NOT NULL,
            record TEXT NOT NULL
        )""",
        """CREATE TABLE IF NOT EXISTS observations (
            key TEXT PRIMARY KEY,
            subject TEXT NOT NULL,
            item_id TEXT NOT NULL,
            condition TEXT NOT NULL,
            record TEXT NOT NULL
        )""",
        """CREATE TABLE IF NOT EXISTS run_observations (
            run_id TEXT NOT NULL REFERENCES runs(id),
            key TEXT NOT NULL REFERENCES observations(key),
            PRIMARY KEY (run_id, key)
        )""",
        """CREATE TABLE IF NOT EXISTS documents (
            kind TEXT NOT NULL,
            key TEXT NOT NULL,
            created TEXT NOT NULL,
            record TEXT NOT NULL,
            PRIMARY KEY (kind, key)
        )""",
    ),
)

# SQLite caps the number of host parameters in one statement; stay well below it.
_IN_CHUNK = 500

# How long a writer waits for another process's transaction before giving up (seconds).
BUSY_TIMEOUT_S = 60.0


@dataclass(frozen=True)
class StoreRecords:
    """Everything a store holds about runs, for carrying it to another store.

    A worker that computes on a store of its own returns these; the driver's store takes
    them in with :meth:`Store.import_records`.

    Attributes:
        runs: Each run with its status.
        observations: Every observation, once.
        links: (run id, observation key) pairs: which observations each run used.
    """

    runs: tuple[tuple[Run, RunStatus], ...] = ()
    observations: tuple[Observation, ...] = ()
    links: tuple[tuple[str, str], ...] = ()


class Store:
    """Results on disk: an SQLite database in WAL mode and an artifact directory beside it.

    Observations are keyed by a content hash of (subject, item, condition, settings), so the
    same computation is never repeated, and a run is linked to the observations it used,
    whether it computed them or found them cached. Every write is its own transaction: a
    crash loses at most the batch in flight.

    Several processes may use one store at once: each write transaction takes the write lock
    when it begins (``BEGIN IMMEDIATE``) and waits up to :data:`BUSY_TIMEOUT_S` for it, the
    schema is created idempotently, and rows that two writers may both add are inserted
    with ``OR IGNORE`` (the same content hash means the same value).
    """

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        if self.path.is_dir():
            raise UsageError(f"--store {self.path} is a folder; give the path of a file in it, "
                             f"e.g. {self.path / 'ulterior.sqlite'}")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            # isolation_level=None: no implicit transactions; each write opens its own.
            self._db = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_S, isolation_level=None)
        except (sqlite3.DatabaseError, OSError) as exc:
            raise self._cannot_open(exc) from None
        try:
            self._db.execute(f"PRAGMA busy_timeout={int(BUSY_TIMEOUT_S * 1000)}")
            self._set_wal()
            self._db.execute("PRAGMA foreign_keys=ON")
            self._migrate()
        except (sqlite3.DatabaseError, OSError) as exc:
            self._db.close()
            raise self._cannot_open(exc) from None

    def _cannot_open(self, exc: Exception) -> UsageError:
        return UsageError(
            f"cannot open store {self.path}: {exc}; pass --store with a writable SQLite path"
        )

    def _set_wal(self) -> None:
        """Switch to WAL; another process switching at the same moment may hold the lock."""
        import time

        deadline = time.monotonic() + BUSY_TIMEOUT_S
        while True:
            try:
                self._db.execute("PRAGMA journal_mode=WAL")
                return
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction, holding the write lock from its start."""
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield self._db
        except BaseException:
            if self._db.in_transaction:  # SQLite may have rolled back already (disk full)
                self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    @classmethod
    @contextmanager
    def open(cls, path: Path) -> Iterator[Store]:
        """Open the store at ``path`` for the duration of a ``with`` block."""
        store = cls(path)
        try:
            yield store
        finally:
            store.close()

    def close(self) -> None:
        """Close the database connection."""
        self._db.close()

    @property
    def artifact_dir(self) -> Path:
        """Directory for large arrays that live beside the records, addressed by hash."""
        return self.path.with_name(self.path.stem + "-artifacts")

    @property
    def schema_version(self) -> int:
        """Schema version of the database file."""
        return int(self._db.execute("PRAGMA user_version").fetchone()[0])

    def _migrate(self) -> None:
        if self.schema_version == len(_MIGRATIONS):
            return
        with self._write() as db:  # re-read under the lock: another process may have done it
            current = self.schema_version
            if current > len(_MIGRATIONS):
                raise UsageError(
                    f"store {self.path} was written by a newer ulterior (schema {current}); "
                    "upgrade ulterior"
                )
            for version in range(current, len(_MIGRATIONS)):
                for statement in _MIGRATIONS[version]:
                    db.execute(statement)
            db.execute(f"PRAGMA user_version={len(_MIGRATIONS)}")

    # -- runs ---------------------------------------------------------------------------

    def start_run(self, run: Run) -> RunStatus | None:
        """Register ``run``; return the status it already had, or None if it is new.

        Safe when several processes register the same run at once: one inserts it, the
        others find it and mark it running again.
        """
        now = utc_now().isoformat()
        with self._write() as db:
            inserted = db.execute(
                "INSERT OR IGNORE INTO runs VALUES (?,?,?,?,?,?)",
                (run.id, run.job, "running", run.created.isoformat(), now,
                 run.model_dump_json()),
            ).rowcount
            if inserted:
                return None
            (status,) = db.execute("SELECT status FROM runs WHERE id=?", (run.id,)).fetchone()
            db.execute("UPDATE runs SET status='running', updated=? WHERE id=?", (now, run.id))
        previous: RunStatus = status
        return previous

    def finish_run(self, run_id: str, status: RunStatus = "complete") -> None:
        """Mark a run complete (or failed)."""
        with self._write() as db:
            db.execute(
                "UPDATE runs SET status=?, updated=? WHERE id=?",
                (status, utc_now().isoformat(), run_id),
            )

    def get_run(self, run_id: str) -> tuple[Run, RunStatus] | None:
        """Return the run with this id and its status, if it exists."""
        row = self._db.execute("SELECT record, status FROM runs WHERE id=?", (run_id,)).fetchone()
        return None if row is None else (Run.model_validate_json(row[0]), row[1])

    def runs(self, job: str | None = None) -> list[tuple[Run, RunStatus]]:
        """Return runs, newest first, optionally only those of one job."""
        sql = "SELECT record, status FROM runs"
        args: tuple[str, ...] = ()
        if job is not None:
            sql, args = sql + " WHERE job=?", (job,)
        rows = self._db.execute(sql + " ORDER BY updated DESC", args).fetchall()
        return [(Run.model_validate_json(record), status) for record, status in rows]

    # -- observations -------------------------------------------------------------------

    def cached(self, keys: Sequence[str]) -> dict[str, Observation]:
        """Return the observations already stored under any of ``keys``."""
        found: dict[str, Observation] = {}
        for start in range(0, len(keys), _IN_CHUNK):
            chunk = list(keys[start : start + _IN_CHUNK])
            marks = ",".join("?" * len(chunk))
            rows = self._db.execute(
                f"SELECT key, record FROM observations WHERE key IN ({marks})", chunk
            )
            for key, record in rows:
                found[key] = Observation.model_validate_json(record)
        return found

    def add_observations(self, run_id: str, observations: Iterable[Observation]) -> None:
        """Store ``observations`` and link them to ``run_id``, in one transaction."""
        rows = [(o.key, o.subject, o.item_id, o.condition, o.model_dump_json())
                for o in observations]
        with self._write() as db:
            db.executemany("INSERT OR IGNORE INTO observations VALUES (?,?,?,?,?)", rows)
            db.executemany(
                "INSERT OR IGNORE INTO run_observations VALUES (?,?)",
                [(run_id, row[0]) for row in rows],
            )
            self._touch(run_id)

    def link(self, run_id: str, keys: Iterable[str]) -> None:
        """Link already-stored observations to ``run_id`` (cache hits)."""
        with self._write() as db:
            db.executemany(
                "INSERT OR IGNORE INTO run_observations VALUES (?,?)",
                [(run_id, key) for key in keys],
            )
            self._touch(run_id)

    def observations(self, run_id: str) -> list[Observation]:
        """Return every observation linked to ``run_id``."""
        rows = self._db.execute(
            "SELECT o.record FROM observations o JOIN run_observations r ON o.key=r.key "
            "WHERE r.run_id=? ORDER BY o.item_id, o.condition",
            (run_id,),
        )
        return [Observation.model_validate_json(record) for (record,) in rows]

    def _touch(self, run_id: str) -> None:
        self._db.execute("UPDATE runs SET updated=? WHERE id=?", (utc_now().isoformat(), run_id))

    # -- carrying records between stores ------------------------------------------------

    def export_records(self) -> StoreRecords:
        """Every run, observation and link this store holds."""
        runs = self._db.execute("SELECT record, status FROM runs ORDER BY id").fetchall()
        observations = self._db.execute("SELECT record FROM observations ORDER BY key")
        links = self._db.execute("SELECT run_id, key FROM run_observations ORDER BY run_id, key")
        return StoreRecords(
            runs=tuple((Run.model_validate_json(r), status) for r, status in runs),
            observations=tuple(Observation.model_validate_json(r) for (r,) in observations),
            links=tuple((run_id, key) for run_id, key in links),
        )

    def import_records(self, records: StoreRecords) -> None:
        """Take in records computed on another store, in one transaction; idempotent.

        Observations are keyed by content hash and inserted only when new, runs by id (an
        existing run takes the imported status), links by (run, key): importing the same
        records twice, as a retried unit of work may return them, adds nothing.
        """
        now = utc_now().isoformat()
        with self._write() as db:
            db.executemany(
                "INSERT INTO runs VALUES (?,?,?,?,?,?) ON CONFLICT(id) DO UPDATE SET "
                "status=excluded.status, updated=excluded.updated",
                [(run.id, run.job, status, run.created.isoformat(), now, run.model_dump_json())
                 for run, status in records.runs],
            )
            db.executemany(
                "INSERT OR IGNORE INTO observations VALUES (?,?,?,?,?)",
                [(o.key, o.subject, o.item_id, o.condition, o.model_dump_json())
                 for o in records.observations],
            )
            db.executemany("INSERT OR IGNORE INTO run_observations VALUES (?,?)",
                           list(records.links))

    # -- documents ----------------------------------------------------------------------

    def put_document(self, kind: str, key: str, record: BaseModel) -> None:
        """Store a record of another kind (a simulation, a probe, ...) under (kind, key)."""
        with self._write() as db:
            db.execute(
                "INSERT OR REPLACE INTO documents VALUES (?,?,?,?)",
                (kind, key, utc_now().isoformat(), record.model_dump_json()),
            )

    def get_document(self, kind: str, key: str) -> dict[str, Any] | None:
        """The document stored under (kind, key) as parsed JSON, or None."""
        import json

        row = self._db.execute("SELECT record FROM documents WHERE kind=? AND key=?",
                               (kind, key)).fetchone()
        return None if row is None else dict(json.loads(row[0]))

    def get_documents(self, kind: str) -> list[dict[str, Any]]:
        """Return the documents of one kind as parsed JSON, oldest first."""
        import json

        rows = self._db.execute(
            "SELECT record FROM documents WHERE kind=? ORDER BY created", (kind,)
        )
        return [json.loads(record) for (record,) in rows]
