"""The state store of the nightly job: one SQLite file by default (SQLAlchemy Core).

What it keeps (see README, "The nightly clean job"):

* ``events``: every bounce/delivery outcome ever ingested, append-only and unique on
  ``event_id`` (re-ingesting the same evidence changes nothing);
* ``checkpoints``: per log file, its identity (device, inode, hash of the first line) and
  the byte offset read so far, so a nightly run reads only what is new and survives
  logrotate (:func:`plan_log_reads`);
* ``validation_cache``: per domain, the DNS verdict and when it was checked, so DNS is not
  repeated every night (``unknown`` verdicts are never served: they are retried);
* ``suppressions``: the last run's non-``keep`` decisions, written as a diff (a night
  changes a few thousand of them; rewriting all of them every night cost a second and
  tens of MB of WAL for a million-row list);
* ``decision_changes``: for the addresses the last run changed, the decision its base run
  had, so a rerun of the same night can still compare with that run;
* ``runs``: one row per run (``as_of``, counts) so a report can say what changed;
* ``last_delivery``: per recipient, the time of its last ``delivered`` event, kept up to
  date as events are added: the nightly history read scans it (one row per address)
  instead of grouping every delivery ever stored (8M stored events: 0.3 s against
  1.15 s, and the gap grows with every month of history).

The SQL is portable on purpose (a later step points the store at PostgreSQL): plain
Core tables, ``INSERT ... ON CONFLICT`` through the dialect's own ``insert`` (SQLite and
PostgreSQL both have it), and SQLite-only settings (WAL, ``synchronous``) applied only
when the URL is SQLite. Event timestamps are stored as integer microseconds since the
Unix epoch (UTC): portable, exact and fast to bulk-load; small tables use
timezone-naive UTC ``DateTime`` columns.

Nothing here reads the clock: every time comes from the caller (``as_of``).
"""

from __future__ import annotations

import contextlib
import dataclasses
import gzip
import hashlib
import json
import logging
import os
import re
import sqlite3
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import sqlalchemy as sa

from . import schema
from .dates import timestamp
from .exceptions import ConfigError, InputError, StoreError

log = logging.getLogger(__name__)

__all__ = [
    "Store",
    "Checkpoint",
    "FileIdentity",
    "DomainRecord",
    "file_identity",
    "plan_log_reads",
    "rotated_siblings",
    "SCHEMA_VERSION",
]

#: rows turned into driver values at a time when bulk-inserting events
BATCH_ROWS = 50_000
#: add_events drops and rebuilds the history index for a load of at least this many
#: events that is bigger than the table was
_REBUILD_MIN_ROWS = 20_000
#: SQLite page cache (negative: KiB)
_SQLITE_CACHE = -262144
#: how much of a file's start is read to find (and hash) its first line
_HEAD_BYTES = 65_536


# =========================================================================== types
class UTCDateTime(sa.types.TypeDecorator):
    """Aware UTC datetimes in, aware UTC datetimes out; stored naive UTC (portable)."""

    impl = sa.DateTime
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        ts = _to_utc(value)
        return ts.tz_convert(None).to_pydatetime()

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if isinstance(value, str):  # defensive: an old SQLite row written as text
            value = datetime.fromisoformat(value)
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _to_utc(value) -> pd.Timestamp:
    """A UTC ``pd.Timestamp`` from a datetime, Timestamp, date string (naive = UTC)."""
    try:
        ts = timestamp(value)
    except ConfigError:
        raise
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"Cannot read {value!r} as a date/time; use e.g. 2026-11-27.") from exc
    if ts is pd.NaT:
        raise ConfigError("A date/time is missing (NaT); give e.g. as_of='2026-11-27'.")
    return ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")


# =========================================================================== schema
# The *current* tables, used by the queries below. Migrations create them step by step
# with their own DDL, so these objects are never used with ``create_all``.
_md = sa.MetaData()


def _meta_columns() -> list[sa.Column]:
    return [
        sa.Column("key", sa.String(64), primary_key=True),
        sa.Column("value", sa.Text, nullable=False),
    ]


meta_t = sa.Table("meta", _md, *_meta_columns())


def _event_columns(with_run_id: bool) -> list[sa.Column]:
    cols: list[sa.Column] = []
    for name, dtype in schema.EVENT_COLUMNS.items():
        if name == "event_id":
            cols.append(sa.Column(name, sa.String(64), primary_key=True))
        elif name == "timestamp":
            # microseconds since 1970-01-01 UTC (see module docstring)
            cols.append(sa.Column(name, sa.BigInteger))
        elif dtype == "Int64":
            cols.append(sa.Column(name, sa.BigInteger))
        elif name == "diagnostic":
            cols.append(sa.Column(name, sa.Text))
        else:
            cols.append(sa.Column(name, sa.String))
    if with_run_id:
        cols.append(sa.Column("run_id", sa.Integer))
    return cols


events_t = sa.Table("events", _md, *_event_columns(with_run_id=True))
#: what the nightly history read walks instead of scanning and sorting the whole table:
#: the last delivery per address (GROUP BY recipient within kind), the few deciding
#: events (by kind) and the counts per kind (covered by the index alone)
events_kind_ix = sa.Index(
    "ix_events_kind_recipient_ts", events_t.c.kind, events_t.c.recipient, events_t.c.timestamp
)
#: what counts the events a run (and the runs after one) ingested, without a scan
events_run_ix = sa.Index("ix_events_run_id", events_t.c.run_id)


def _last_delivery_columns() -> list[sa.Column]:
    return [
        sa.Column("recipient", sa.String, primary_key=True),
        sa.Column("timestamp", sa.BigInteger, nullable=False),  # microseconds, UTC
    ]


# clustered by recipient in SQLite (WITHOUT ROWID): the nightly read walks it in order
last_delivery_t = sa.Table(
    "last_delivery", _md, *_last_delivery_columns(), sqlite_with_rowid=False
)


def _checkpoint_columns() -> list[sa.Column]:
    return [
        sa.Column("path", sa.String, primary_key=True),
        sa.Column("device", sa.BigInteger, nullable=False),
        sa.Column("inode", sa.BigInteger, nullable=False),
        sa.Column("first_line_hash", sa.String(64), nullable=False),
        sa.Column("byte_offset", sa.BigInteger, nullable=False),
        sa.Column("size", sa.BigInteger, nullable=False),
        sa.Column("mtime_ns", sa.BigInteger, nullable=False),
    ]


checkpoints_t = sa.Table(
    "checkpoints",
    _md,
    *_checkpoint_columns(),
    # lines before byte_offset: the next read starts there without counting them again
    sa.Column("line_count", sa.BigInteger),
)


def _validation_columns() -> list[sa.Column]:
    return [
        sa.Column("domain", sa.String, primary_key=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("reason", sa.String(32), nullable=False),
        sa.Column("detail", sa.Text, nullable=False),
        sa.Column("mx", sa.Text),  # JSON list of hosts, or NULL
        sa.Column("checked_at", UTCDateTime, nullable=False),
    ]


validation_t = sa.Table("validation_cache", _md, *_validation_columns())


def _suppression_columns(with_run_id: bool) -> list[sa.Column]:
    cols = [
        sa.Column("address", sa.String, primary_key=True),
        sa.Column("decision", sa.String(16), nullable=False),
        sa.Column("rule", sa.String(32), nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("since", sa.BigInteger),  # microseconds since the epoch, UTC
        sa.Column("flags", sa.String),
        sa.Column("evidence", sa.Text),  # JSON list
    ]
    return [*cols, sa.Column("run_id", sa.Integer)] if with_run_id else cols


suppressions_t = sa.Table(
    "suppressions",
    _md,
    *_suppression_columns(with_run_id=True),
    # a 64-bit fingerprint of the row's decision columns (see _row_digests): what the
    # nightly diff compares, instead of reading back every evidence text
    sa.Column("digest", sa.BigInteger),
)


def _run_columns() -> list[sa.Column]:
    return [
        sa.Column("run_id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("as_of", UTCDateTime, nullable=False),
        sa.Column("started", UTCDateTime),
        sa.Column("finished", UTCDateTime),
        sa.Column("counts", sa.Text),  # JSON object
    ]


runs_t = sa.Table("runs", _md, *_run_columns())


def _snapshot_columns() -> list[sa.Column]:
    return [
        sa.Column("run_id", sa.Integer, primary_key=True),
        sa.Column("address", sa.String, primary_key=True),
        sa.Column("decision", sa.String(16), nullable=False),
        sa.Column("rule", sa.String(32), nullable=False),
    ]


def _changes_columns() -> list[sa.Column]:
    # the version-3 snapshots' shape: the run, an address, and the base run's decision of
    # the address ("keep": it was not suppressed) with its rule
    return _snapshot_columns()


changes_t = sa.Table("decision_changes", _md, *_changes_columns())
#: meta keys: which run the suppressions table holds; whose changes are kept, from which base
_META_SUPPRESSIONS_RUN = "suppressions_of_run"
_META_CHANGES = "decision_changes_of_run"


# ------------------------------------------------------------------ migrations
def _m1_initial(conn: sa.Connection) -> None:
    md = sa.MetaData()
    sa.Table("meta", md, *_meta_columns())
    sa.Table("events", md, *_event_columns(with_run_id=False))
    sa.Table("checkpoints", md, *_checkpoint_columns())
    sa.Table("validation_cache", md, *_validation_columns())
    sa.Table("suppressions", md, *_suppression_columns(with_run_id=False))
    md.create_all(conn, checkfirst=False)


def _m2_runs(conn: sa.Connection) -> None:
    """Version 2: the runs table, and which run ingested each event / made each decision."""
    md = sa.MetaData()
    sa.Table("runs", md, *_run_columns())
    md.create_all(conn, checkfirst=False)
    conn.execute(sa.text("ALTER TABLE events ADD COLUMN run_id INTEGER"))
    conn.execute(sa.text("ALTER TABLE suppressions ADD COLUMN run_id INTEGER"))


def _m3_snapshots(conn: sa.Connection) -> None:
    """Version 3: per-run decision snapshots, so a rerun of the same night can report the
    changes against the same earlier run as the interrupted run would have."""
    md = sa.MetaData()
    sa.Table("snapshots", md, *_snapshot_columns())
    md.create_all(conn, checkfirst=False)


def _m4_events_index(conn: sa.Connection) -> None:
    """Version 4: the index :data:`events_kind_ix` (the next night's run reads the history
    through it: 2M events, a few seconds less every night)."""
    events_kind_ix.create(conn)


def _m5_decision_changes(conn: sa.Connection) -> None:
    """Version 5: a run no longer copies its ~100k decisions into ``snapshots``: the
    suppressions table is written as a diff (``digest``: a fingerprint of each row, so
    the diff reads two columns, not the evidence texts), and ``decision_changes`` keeps
    the base run's decision of each address the last run changed (enough to rebuild the
    base run's decisions for a rerun of the same night).

    A version-4 store's suppressions table holds its last finished run's decisions, and
    its snapshots table that run's and its base run's: their difference becomes the
    changes, so a rerun of that night right after the upgrade still reports against the
    same earlier run. Plain SQL (no rows through Python): it runs on the server too."""
    md = sa.MetaData()
    sa.Table("decision_changes", md, *_changes_columns())
    md.create_all(conn, checkfirst=False)
    conn.execute(sa.text("ALTER TABLE suppressions ADD COLUMN digest BIGINT"))
    snaps = sa.Table("snapshots", sa.MetaData(), *_snapshot_columns())
    changes = sa.Table("decision_changes", sa.MetaData(), *_changes_columns())
    last = (
        sa.select(sa.func.max(runs_t.c.run_id))
        .where(runs_t.c.counts.is_not(None))
        .scalar_subquery()
    )
    # the version-4 job kept two generations: the last run's and its base run's
    base = sa.select(sa.func.max(snaps.c.run_id)).where(snaps.c.run_id != last).scalar_subquery()
    b, lr = snaps.alias("b"), snaps.alias("l")
    base_differs = sa.select(last, b.c.address, b.c.decision, b.c.rule).where(
        b.c.run_id == base,
        ~sa.exists().where(
            lr.c.run_id == last,
            lr.c.address == b.c.address,
            lr.c.decision == b.c.decision,
            lr.c.rule == b.c.rule,
        ),
    )
    new_in_last = sa.select(last, lr.c.address, sa.literal("keep"), sa.literal("")).where(
        lr.c.run_id == last,
        base.is_not(None),
        ~sa.exists().where(b.c.run_id == base, b.c.address == lr.c.address),
    )
    conn.execute(
        sa.insert(changes).from_select(
            ["run_id", "address", "decision", "rule"], sa.union_all(base_differs, new_in_last)
        )
    )
    as_text = sa.String
    conn.execute(
        sa.insert(meta_t).from_select(
            ["key", "value"],
            sa.select(
                sa.literal(_META_SUPPRESSIONS_RUN), sa.cast(last, as_text)
            ).where(last.is_not(None)),
        )
    )
    conn.execute(
        sa.insert(meta_t).from_select(
            ["key", "value"],
            sa.select(
                sa.literal(_META_CHANGES),
                sa.literal('{"run_id": ')
                + sa.cast(last, as_text)
                + sa.literal(', "base_run_id": ')
                + sa.cast(base, as_text)
                + sa.literal("}"),
            ).where(last.is_not(None), base.is_not(None)),
        )
    )
    snaps.drop(conn)


def _m6_last_delivery(conn: sa.Connection) -> None:
    """Version 6: ``last_delivery`` (the last delivery per recipient, filled from the
    stored events and kept up to date by :meth:`Store.add_events`) and an index on
    ``events.run_id``: the nightly job's read of the last deliveries and its count of
    the events new since the last run no longer grow with the history. Plain SQL."""
    md = sa.MetaData()
    table = sa.Table(
        "last_delivery", md, *_last_delivery_columns(), sqlite_with_rowid=False
    )
    md.create_all(conn, checkfirst=False)
    events_run_ix.create(conn)
    ts = events_t.c.timestamp
    conn.execute(
        sa.insert(table).from_select(
            ["recipient", "timestamp"],
            sa.select(events_t.c.recipient, sa.func.max(ts))
            .where(
                events_t.c.kind == "delivered",
                ts.is_not(None),
                events_t.c.recipient.is_not(None),
            )
            .group_by(events_t.c.recipient),
        )
    )


def _m7_checkpoint_lines(conn: sa.Connection) -> None:
    """Version 7: ``checkpoints.line_count``, the lines before the offset: the next
    night starts reading a log at its offset instead of counting the lines before it
    (a 2M-line log: 430 MB read again every night). NULL for older checkpoints (their
    next read counts once more)."""
    conn.execute(sa.text("ALTER TABLE checkpoints ADD COLUMN line_count BIGINT"))


#: forward migrations, in order; migration *i* takes a store from version i to i + 1.
#: Never edit a released step: append a new one.
MIGRATIONS: list[Callable[[sa.Connection], None]] = [
    _m1_initial,
    _m2_runs,
    _m3_snapshots,
    _m4_events_index,
    _m5_decision_changes,
    _m6_last_delivery,
    _m7_checkpoint_lines,
]
SCHEMA_VERSION = len(MIGRATIONS)


def _schema_version(conn: sa.Connection) -> int:
    insp = sa.inspect(conn)
    if not insp.has_table("meta"):
        if insp.get_table_names():
            raise StoreError(
                "This database has tables but is not a listcare store (no 'meta' table); "
                "point --store at a new file or at an existing listcare store."
            )
        return 0
    value = conn.execute(
        sa.select(meta_t.c.value).where(meta_t.c.key == "schema_version")
    ).scalar_one_or_none()
    try:
        return int(value) if value is not None else 0
    except ValueError as exc:
        raise StoreError(f"The store's schema_version {value!r} is not a number.") from exc


def _migrate(conn: sa.Connection, target: int = SCHEMA_VERSION) -> int:
    version = _schema_version(conn)
    if version > len(MIGRATIONS):
        raise StoreError(
            f"The store has schema version {version}, newer than this listcare understands "
            f"({len(MIGRATIONS)}); upgrade listcare (pip install -U listcare)."
        )
    for step in range(version, target):
        MIGRATIONS[step](conn)
        _upsert(conn, meta_t, [{"key": "schema_version", "value": str(step + 1)}], ["key"])
        log.info("store migrated to schema version %d", step + 1)
    return max(version, target)


def _dialect_insert(conn: sa.Connection, table: sa.Table):
    name = conn.dialect.name
    if name == "sqlite":
        from sqlalchemy.dialects.sqlite import insert
    elif name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:  # pragma: no cover - only SQLite and PostgreSQL are supported
        raise StoreError(f"Unsupported database {name!r}: use SQLite or PostgreSQL.")
    return insert(table)


def _upsert(conn: sa.Connection, table: sa.Table, rows: list[dict], keys: list[str]) -> None:
    if not rows:
        return
    stmt = _dialect_insert(conn, table)
    update = {c.name: stmt.excluded[c.name] for c in table.columns if c.name not in keys}
    conn.execute(stmt.on_conflict_do_update(index_elements=keys, set_=update), rows)


def _bulk_insert(conn: sa.Connection, stmt, keys: list[str], arrays: list[np.ndarray]) -> int:
    """*stmt* over column *arrays*, in batches; returns the rows written.

    The statement is compiled once by SQLAlchemy for this dialect and handed to the
    driver: per-row parameter processing in SQLAlchemy costs more than the insert itself
    (only plain string/integer columns go through here, which need no bind processor).
    On SQLite a batch is a few statements of many rows each (see :func:`_sqlite_rows`);
    elsewhere it is the driver's ``executemany``.
    """
    compiled = stmt.compile(dialect=conn.dialect, column_keys=keys)
    order = list(compiled.positiontup) if compiled.positional else None
    pos = {k: i for i, k in enumerate(keys)}
    n = len(arrays[0]) if arrays else 0
    sqlite = conn.dialect.name == "sqlite" and order is not None
    changed = 0  # rows the database reports as written (-1: a driver that cannot tell)
    for start in range(0, n, BATCH_ROWS):
        stop = min(start + BATCH_ROWS, n)
        if order is not None:
            cols = [arrays[pos[k]][start:stop].tolist() for k in order]
            if sqlite:
                changed += _sqlite_rows(conn, str(compiled), cols)
                continue
            rows = list(zip(*cols, strict=True))
        else:
            cols = [a[start:stop].tolist() for a in arrays]
            rows = [dict(zip(keys, vals, strict=True)) for vals in zip(*cols, strict=True)]
        res = conn.exec_driver_sql(str(compiled), rows)
        count = res.rowcount if conn.dialect.supports_sane_multi_rowcount else -1
        changed = -1 if changed < 0 or count is None or count < 0 else changed + count
    return changed


def _sqlite_rows(conn: sa.Connection, sql: str, cols: list[list]) -> int:
    """Execute the one-row INSERT *sql* (``?`` parameters) for the rows of the columns
    *cols*, as statements of up to ~2,000 rows each (``VALUES (...), (...), ...``).

    Why not ``executemany``: Python's sqlite3 releases the GIL around every
    ``sqlite3_step``, i.e. once per row, and must win it back after each. While the
    nightly job's worker thread runs Python code, every one of those hand-backs waits
    for the worker's switch interval (5 ms): measured, 100,000 events took 0.33 s
    alone and 257 s beside a busy thread. One statement per ~2,000 rows waits ~50
    times instead (0.58 s beside the same thread; 0.26 s alone).
    """
    width = len(cols)
    n = len(cols[0]) if cols else 0
    group = "(" + ", ".join(["?"] * width) + ")"
    head, sep, tail = sql.partition(" VALUES " + group)
    if not sep or "?" in head or "?" in tail:  # pragma: no cover - not the one-row form
        raise StoreError(f"Unexpected INSERT form for the bulk path: {sql[:80]!r}")
    dbapi = conn.connection.driver_connection
    # SQLite's bound-parameter limit (32,766 since 3.32; 999 in older builds)
    getlimit = getattr(dbapi, "getlimit", None)  # (another SQLite driver: the old limit)
    limit = getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER) if getlimit else 999
    per = max(1, min(2_000, limit // max(width, 1)))
    flat = [None] * (n * width)
    for j, col in enumerate(cols):
        flat[j::width] = col
    cur = dbapi.cursor()
    written = 0
    try:
        for start in range(0, n, per):
            k = min(per, n - start)
            cur.execute(
                f"{head} VALUES {', '.join([group] * k)}{tail}",
                flat[start * width : (start + k) * width],
            )
            written += cur.rowcount
    finally:
        cur.close()
    return written


def _fetch_raw(conn: sa.Connection, stmt) -> list[tuple]:
    """All rows of *stmt* as plain tuples, straight from the driver's cursor.

    For millions of rows SQLAlchemy's Row objects cost a third of the fetch; the SQL is
    still compiled by SQLAlchemy for this dialect, on the connection of the open
    transaction. Only for columns whose types need no result processing.
    """
    compiled = stmt.compile(dialect=conn.dialect)
    params = compiled.params
    if compiled.positional:
        params = tuple(params[k] for k in compiled.positiontup)
    cur = conn.connection.driver_connection.cursor()
    try:
        cur.execute(str(compiled), params)
        return cur.fetchall()
    finally:
        cur.close()


def _transpose(rows: list[tuple], width: int) -> list[np.ndarray]:
    """The columns of fetched rows as object arrays (numpy builds the 2-D array in C:
    about 4x faster than ``zip(*rows)`` for a million rows)."""
    if not rows:
        return [np.empty(0, dtype=object) for _ in range(width)]
    table = np.empty((len(rows), width), dtype=object)
    table[:] = rows
    return [table[:, j] for j in range(width)]


def _nullable(col: pd.Series) -> np.ndarray:
    """An object array with None for missing values (what DB drivers expect)."""
    return col.astype(object).where(col.notna(), None).to_numpy()


def _micros(col: pd.Series) -> np.ndarray:
    """UTC datetimes as integer microseconds since the epoch (None where missing)."""
    ts = pd.to_datetime(col, utc=True)
    us = ts.array.asi8 // 1000 if len(ts) else np.array([], dtype="int64")
    return np.where(ts.isna().to_numpy(), None, us.astype(object))


_MAX_MICROS = np.iinfo(np.int64).max // 1000


def _from_micros(values) -> pd.Series:
    try:  # the usual case, no NULL: straight to int64 (a nullable array costs 10x)
        us = np.fromiter(values, dtype=np.int64, count=len(values))
        if len(us) and np.abs(us).max() > _MAX_MICROS:  # past what datetime64[ns] holds
            raise OverflowError
    except (TypeError, ValueError, OverflowError):
        return pd.Series(
            pd.to_datetime(pd.array(list(values), dtype="Int64"), unit="us", utc=True)
        ).astype("datetime64[ns, UTC]")
    return pd.Series(pd.DatetimeIndex((us * 1000).view("M8[ns]")).tz_localize("UTC"))


# =========================================================================== files
@dataclass(frozen=True)
class FileIdentity:
    """Who a log file is: logrotate renames keep device/inode, copies keep the first line."""

    device: int
    inode: int
    first_line_hash: str  # "" when the file has no complete first line yet
    size: int
    mtime_ns: int


@dataclass(frozen=True)
class Checkpoint:
    """How far a log file was read: its identity then and the byte offset reached.

    For a ``.gz`` file the offset counts uncompressed bytes.
    """

    path: str
    device: int
    inode: int
    first_line_hash: str
    offset: int
    size: int
    mtime_ns: int
    #: lines before *offset* (None: not known, e.g. a checkpoint of schema 6 or older)
    lines: int | None = None

    @classmethod
    def of(
        cls, path, offset: int, identity: FileIdentity | None = None, lines: int | None = None
    ) -> Checkpoint:
        ident = identity or file_identity(path)
        return cls(
            str(path),
            ident.device,
            ident.inode,
            ident.first_line_hash,
            int(offset),
            ident.size,
            ident.mtime_ns,
            None if lines is None else int(lines),
        )


def _first_line_hash(path: Path) -> str:
    opener = gzip.open if path.name.endswith(".gz") else open
    try:
        with opener(path, "rb") as f:
            head = f.read(_HEAD_BYTES)
    except (OSError, EOFError):  # unreadable or a truncated/corrupt .gz
        return ""
    nl = head.find(b"\n")
    if nl >= 0:
        line = head[: nl + 1]
    elif len(head) == _HEAD_BYTES:  # an absurdly long first line: its first 64 KiB
        line = head
    else:  # no complete first line yet: identity unknown
        return ""
    return hashlib.blake2b(line, digest_size=16).hexdigest()


def file_identity(path) -> FileIdentity:
    """Device, inode, first-line hash, size and mtime of *path* (InputError if missing)."""
    path = Path(path)
    try:
        st = path.stat()
    except OSError as exc:
        raise InputError(f"Cannot read the log file {str(path)!r}: {exc.strerror}.") from exc
    return FileIdentity(st.st_dev, st.st_ino, _first_line_hash(path), st.st_size, st.st_mtime_ns)


_ROTATED_NUM = re.compile(r"^\.(\d+)(\.gz)?$")


def rotated_siblings(path) -> list[Path]:
    """Files logrotate made from *path*, oldest first.

    Numbered rotations (``mail.log.1``, ``mail.log.2.gz``: higher is older) come first,
    then ``dateext`` ones (``mail.log-20261126[.gz]``, ordered by name, i.e. by date).
    """
    path = Path(path)
    try:
        entries = list(path.parent.iterdir())
    except OSError:
        return []
    numbered: list[tuple[int, Path]] = []
    dated: list[Path] = []
    for p in entries:
        if p == path or not p.name.startswith(path.name) or not p.is_file():
            continue
        rest = p.name[len(path.name) :]
        m = _ROTATED_NUM.match(rest)
        if m:
            numbered.append((int(m.group(1)), p))
        elif rest.startswith("-") and re.match(r"^-\d{8,10}(\.gz)?$", rest):
            dated.append(p)
    numbered.sort(key=lambda t: -t[0])
    return [p for _, p in numbered] + sorted(dated, key=lambda p: p.name)


def plan_log_reads(path, checkpoints) -> list[tuple[Path, int]]:
    """Which files to read, from which byte offset, to get everything new in log *path*.

    *checkpoints* is a mapping ``{path: Checkpoint}`` (or one :class:`Checkpoint`, or
    None). Cases:

    * no checkpoint: ``[(path, 0)]``;
    * the file at *path* is the checkpointed one (same device, inode and first line, not
      shorter than the offset): ``[(path, offset)]``;
    * it is not (logrotate renamed it away, or ``copytruncate`` emptied it): find the
      checkpointed file among the rotations (``path.1``, ``path.1.gz``, ``path.N.gz``,
      ``path-DATE``) by its first-line hash, read its remainder, then every newer
      rotation from 0, then the new file from 0;
    * the checkpointed file is gone: read the rotations modified since the checkpoint
      and the new file from 0 (re-read events are dropped by ``event_id``; nothing is
      lost that still exists).

    Offsets into ``.gz`` files count uncompressed bytes.
    """
    path = Path(path)
    if isinstance(checkpoints, Checkpoint) or checkpoints is None:
        cp = checkpoints
    else:
        cp = checkpoints.get(str(path))
        if cp is None:
            cp = checkpoints.get(path)
    current = file_identity(path) if path.exists() else None
    if cp is None:
        return [(path, 0)] if current else []

    if current is not None and _is_same_file(current, cp):
        return [(path, cp.offset)]

    siblings = rotated_siblings(path)
    found = None
    if cp.first_line_hash:
        matches = [i for i, p in enumerate(siblings) if _first_line_hash(p) == cp.first_line_hash]
        if matches:
            # several copies of the same file (e.g. .1 and an older .2.gz made from a
            # copy): prefer the one that is the very inode we read, else the newest
            same_inode = [
                i
                for i in matches
                if not siblings[i].name.endswith(".gz")
                and _inode(siblings[i]) == (cp.device, cp.inode)
            ]
            found = same_inode[0] if same_inode else matches[-1]
    plan: list[tuple[Path, int]] = []
    if found is not None:
        plan.append((siblings[found], cp.offset))
        plan.extend((p, 0) for p in siblings[found + 1 :])
    else:
        if cp.first_line_hash:
            log.warning(
                "the log file read last time as %s is gone; reading rotations modified since",
                path,
            )
        plan.extend((p, 0) for p in siblings if _mtime_ns(p) >= cp.mtime_ns)
    if current is not None:
        plan.append((path, 0))
    return plan


def _is_same_file(ident: FileIdentity, cp: Checkpoint) -> bool:
    if (ident.device, ident.inode) != (cp.device, cp.inode):
        return False
    if ident.size < cp.offset:  # truncated in place (copytruncate)
        return False
    if cp.first_line_hash:
        return ident.first_line_hash == cp.first_line_hash
    return cp.offset == 0  # nothing was read: nothing to lose


def _inode(p: Path) -> tuple[int, int]:
    st = p.stat()
    return (st.st_dev, st.st_ino)


def _mtime_ns(p: Path) -> int:
    try:
        return p.stat().st_mtime_ns
    except OSError:
        return 0


# =========================================================================== store
@dataclass(frozen=True)
class DomainRecord:
    """One cached DNS verdict for a domain."""

    domain: str
    status: str
    reason: str
    detail: str
    mx: tuple[str, ...] | None
    checked_at: datetime


@contextlib.contextmanager
def _owner_only_umask() -> Iterator[None]:
    # Files SQLite creates while this is set (the database, -wal, -shm) are 0600.
    old = os.umask(0o077)
    try:
        yield
    finally:
        os.umask(old)


def _resolve_target(target) -> tuple[str, Path | None]:
    text = os.fspath(target) if isinstance(target, os.PathLike) else str(target)
    if "://" in text:
        url = sa.engine.make_url(text)
        if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
            return text, Path(url.database)
        return text, None
    return f"sqlite:///{Path(text)}", Path(text)


def check_store_path(path: Path) -> None:
    """Raise StoreError unless a store file can live at *path* (its folder exists and the
    path is not a folder): checked before anything, the lock file included, is created."""
    if path.is_dir():
        raise StoreError(f"The store {str(path)!r} is a folder; give a file name such as listcare.db.")
    if not path.parent.is_dir():
        raise StoreError(
            f"Cannot create the store {str(path)!r}: the folder {str(path.parent)!r} does not exist."
        )


def needs_migration(path: Path) -> bool:
    """Whether the SQLite store at *path* has an older schema, found out read-only (opening
    a :class:`Store` would migrate it; anything unexpected is left for it to report)."""
    import sqlite3

    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            row = conn.execute(
                f"SELECT value FROM {meta_t.name} WHERE key = 'schema_version'"
            ).fetchone()
        finally:
            conn.close()
        return row is not None and int(row[0]) < SCHEMA_VERSION
    except (sqlite3.Error, ValueError):
        return False


class Store:
    """The job's state: ``Store("listcare.db")`` or ``Store("postgresql://...")``.

    Opening creates the file (owner-only, WAL mode) or migrates an older store forward.
    Group a run's writes in ``with store.transaction():`` so that a crash leaves the
    previous state; outside a transaction each call commits on its own.

    Example::

        with Store("listcare.db") as store, store.transaction():
            run = store.begin_run(as_of="2026-11-27")
            new = store.add_events(events, run_id=run)
    """

    def __init__(self, target: str | os.PathLike = "listcare.db", *, echo: bool = False):
        self.url, self.path = _resolve_target(target)
        self._conn: sa.Connection | None = None
        self._bulk = False  # inside bulk_load(): see there
        self._bulk_ids: list | None = None  # the deliveries a bulk load stored without a run
        if self.path is not None:
            check_store_path(self.path)
        try:
            with _owner_only_umask():
                if self.path is not None and not self.path.exists():
                    os.close(os.open(self.path, os.O_CREAT | os.O_WRONLY, 0o600))
                self._engine = sa.create_engine(self.url, echo=echo)
                if self._engine.dialect.name == "sqlite":
                    _sqlite_setup(self._engine)
                with self._engine.begin() as conn:
                    self.schema_version = _migrate(conn)
        except StoreError:
            self._dispose()
            raise
        except (sa.exc.SQLAlchemyError, OSError) as exc:
            self._dispose()
            raise StoreError(
                f"Cannot open the store {self._where()}: {_short(exc)}. Is it a listcare "
                "store, and can this user write it and its folder?"
            ) from exc

    # ------------------------------------------------------------------ plumbing
    def _where(self) -> str:
        return repr(str(self.path)) if self.path is not None else "(database URL)"

    def _dispose(self) -> None:
        engine = getattr(self, "_engine", None)
        if engine is not None:
            engine.dispose()

    def close(self) -> None:
        self._dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Store({str(self.path) if self.path else '<url>'!r}, schema={self.schema_version})"

    @contextlib.contextmanager
    def transaction(self) -> Iterator[Store]:
        """One transaction for everything inside the block: all of it commits, or none."""
        if self._conn is not None:
            raise StoreError("A store transaction is already open; do not nest them.")
        try:
            with self._engine.begin() as conn:
                self._conn = conn
                try:
                    yield self
                finally:
                    self._conn = None
        except sa.exc.SQLAlchemyError as exc:
            raise StoreError(f"Writing the store {self._where()} failed: {_short(exc)}") from exc

    @contextlib.contextmanager
    def _connect(self) -> Iterator[sa.Connection]:
        if self._conn is not None:
            yield self._conn
            return
        try:
            with self._engine.begin() as conn:
                yield conn
        except sa.exc.SQLAlchemyError as exc:
            raise StoreError(f"The store {self._where()} failed: {_short(exc)}") from exc

    # ------------------------------------------------------------------ events
    def add_events(self, events: pd.DataFrame, *, run_id: int | None = None) -> int:
        """Append *events* (schema.EVENT_COLUMNS); returns how many were new.

        Rows whose ``event_id`` is already stored are ignored, so ingesting the same
        evidence twice changes nothing.
        """
        schema.require_columns(events, ["event_id"], what="events table")
        if len(events) == 0:
            return 0
        df = schema.coerce(events, schema.EVENT_COLUMNS)
        missing = df["event_id"].isna() | (df["event_id"] == "")
        if missing.any():
            raise InputError(
                f"{int(missing.sum())} event(s) have no event_id (e.g. rows "
                f"{list(df.index[missing][:3])}); events come from listcare.read_bounces."
            )
        bad_kind = df["kind"].notna() & ~df["kind"].isin(schema.KINDS)
        if bad_kind.any():
            raise InputError(
                f"{int(bad_kind.sum())} event(s) have an unknown kind "
                f"({', '.join(sorted(set(df.loc[bad_kind, 'kind'].astype(str)))[:5])}); "
                f"known kinds: {', '.join(schema.KINDS)}. Nothing was stored."
            )
        if self._bulk:
            return self._insert(df, run_id)
        # one load is a block of its own: a big load into a small table (the first
        # night) builds the history index afterwards, in one sort, instead of row by row
        # (measured: 500k events 25 s with the index in place, 12 s + 1.5 s to build it
        # after); inside the transaction, so a crash rolls the DROP back with the rest
        big = len(df) >= _REBUILD_MIN_ROWS and len(df) > self.count_events()
        with self.bulk_load(run_id=run_id, index=big):
            return self._insert(df, run_id)

    def _insert(self, df: pd.DataFrame, run_id: int | None) -> int:
        """The rows of *df* (coerced, checked) into events, inside a bulk_load block;
        returns how many were new."""
        names = list(schema.EVENT_COLUMNS)
        with self._connect() as conn:
            # (SQLite counts the rows each multi-row INSERT writes: no COUNT(*) of the
            # growing table)
            exact = conn.dialect.name == "sqlite"
            before = None if exact else self._count_events(conn)
            stmt = _dialect_insert(conn, events_t).on_conflict_do_nothing(
                index_elements=["event_id"]
            )
            written = 0
            # driver values batch by batch: whole-column copies of 2M events cost ~300 MB
            for start in range(0, len(df), BATCH_ROWS):
                part = df.iloc[start : start + BATCH_ROWS]
                arrays = [
                    _micros(part[c]) if c == "timestamp" else _nullable(part[c]) for c in names
                ]
                arrays.append(np.full(len(part), run_id, dtype=object))
                w = _bulk_insert(conn, stmt, [*names, "run_id"], arrays)
                written = -1 if written < 0 or w < 0 else written + w
            if self._bulk_ids is not None:  # (a block without a run: by these ids)
                self._bulk_ids.extend(self._delivered_ids(df))
            if written >= 0 and exact:
                # SQLite counts exactly the rows inserted (ON CONFLICT DO NOTHING skips
                # are not changes): no second COUNT(*) over millions of events
                return written
            if before is None:  # pragma: no cover - SQLite always reports its row counts
                raise StoreError("The database did not say how many events were stored.")
            return self._count_events(conn) - before

    @contextlib.contextmanager
    def bulk_load(self, *, run_id: int | None = None, index: bool = True) -> Iterator[Store]:
        """Many :meth:`add_events` calls as one load (a long log stored a batch at a time,
        so that it is never in memory whole), ``last_delivery`` brought up to date once
        at the end of the block, not per call.

        *index*: a load that outgrows the store (the first night): the history index is
        dropped for the block and built once at its end, and ``last_delivery`` is filled
        by one ordered walk of it. Else the index stays and ``last_delivery`` follows the
        rows the block stored (those of *run_id*; without one, the ids the block
        stored). All in the open transaction (one is opened for the block if none is):
        a failure rolls it all back, the dropped index included.
        """
        if self._bulk:
            raise StoreError("A bulk load is already open; do not nest them.")
        outer = self.transaction() if self._conn is None else contextlib.nullcontext()
        with outer:
            if index:
                with self._connect() as conn:
                    events_kind_ix.drop(conn)
            self._bulk = True
            self._bulk_ids = [] if run_id is None and not index else None

            def finish() -> None:
                ids, self._bulk, self._bulk_ids = self._bulk_ids or (), False, None
                with self._connect() as conn:
                    if index:
                        events_kind_ix.create(conn)
                    self._note_deliveries(conn, whole=index, run_id=run_id, ids=ids)

            try:
                yield self
            except BaseException:
                # normally the transaction rolls back, the dropped index with it; but a
                # caller may catch the error and commit what was stored: not without
                # the index (nor with last_delivery behind)
                with contextlib.suppress(Exception):
                    finish()
                raise
            finish()

    @staticmethod
    def _delivered_ids(df: pd.DataFrame) -> list:
        kinds = df["kind"].astype("string").fillna("").to_numpy(dtype=object)
        return list(dict.fromkeys(df["event_id"].to_numpy(dtype=object)[kinds == "delivered"]))

    @staticmethod
    def _note_deliveries(
        conn: sa.Connection, *, whole: bool = False, run_id: int | None = None, ids=()
    ) -> None:
        """Raise ``last_delivery`` to the deliveries just stored, always from the stored
        rows (an id stored before keeps its stored content, whatever was offered):

        * *whole* (after a load bigger than what was stored: the first night): every
          stored delivery, walking the history index in order (8M events: 1.4 s; by
          run_id, which fetches each row on its own, the first night took 17 s longer);
        * else those of *run_id*, through the run_id index;
        * else those of the event *ids*, a few thousand at a time.

        Taking the maximum again over a delivery already in the table changes nothing.
        (The casts: on the kind, SQLite's planner would take the history index and
        visit every delivery ever stored -- 5 s a query on 2M events -- not these few.)
        """
        ts = events_t.c.timestamp
        kind = events_t.c.kind
        delivered = sa.cast(kind, sa.String) == "delivered"
        if whole:
            selections = [kind == "delivered"]
        elif run_id is not None:
            selections = [sa.and_(events_t.c.run_id == run_id, delivered)]
        else:
            ids = list(ids)
            selections = [
                sa.and_(events_t.c.event_id.in_(ids[i : i + 5000]), delivered)
                for i in range(0, len(ids), 5000)
            ]
        for where in selections:
            source = (
                sa.select(events_t.c.recipient, sa.func.max(ts))
                .where(where, ts.is_not(None), events_t.c.recipient.is_not(None))
                .group_by(events_t.c.recipient)
            )
            stmt = _dialect_insert(conn, last_delivery_t).from_select(
                ["recipient", "timestamp"], source
            )
            newer = stmt.excluded.timestamp > last_delivery_t.c.timestamp
            conn.execute(
                stmt.on_conflict_do_update(
                    index_elements=["recipient"],
                    set_={
                        "timestamp": sa.case(
                            (newer, stmt.excluded.timestamp), else_=last_delivery_t.c.timestamp
                        )
                    },
                )
            )

    @staticmethod
    def _count_events(conn: sa.Connection) -> int:
        return conn.execute(sa.select(sa.func.count()).select_from(events_t)).scalar_one()

    def count_events(self, *, after_run: int | None = None) -> int:
        """Stored events (only those ingested by runs after *after_run*, if given)."""
        with self._connect() as conn:
            if after_run is None:
                return self._count_events(conn)
            stmt = sa.select(sa.func.count()).where(events_t.c.run_id > after_run)
            return conn.execute(stmt).scalar_one()

    def events(
        self,
        columns: Iterable[str] | None = None,
        *,
        until=None,
        kinds: Iterable[str] | None = None,
    ) -> pd.DataFrame:
        """Stored events as a DataFrame with the schema's dtypes.

        *until*: only events up to this time (and those without a timestamp); *kinds*:
        only these kinds (e.g. read the millions of ``delivered`` events with fewer
        columns than the bounces).
        """
        names = list(columns) if columns is not None else list(schema.EVENT_COLUMNS)
        unknown = [c for c in names if c not in events_t.c]
        if unknown:
            raise InputError(f"The events table has no column(s) {unknown}.")
        stmt = sa.select(*[events_t.c[c] for c in names])
        if until is not None:
            limit = int(_to_utc(until).value // 1000)
            ts = events_t.c.timestamp
            stmt = stmt.where(sa.or_(ts <= limit, ts.is_(None)))
        if kinds is not None:
            # OR of equalities, not IN: an "expanding" IN parameter needs SQLAlchemy's
            # own execution (see _fetch_raw); the kinds are a handful. (SQLite scans the
            # table in stored order: measured on 8M events, the history index was no
            # faster for the 5% that are bounces, and ten times slower from a cold
            # page cache, one random read per row.)
            stmt = stmt.where(sa.or_(sa.false(), *[events_t.c.kind == k for k in kinds]))
        with self._connect() as conn:
            # in the order they were stored (an index walk by kind would change it, and
            # with it which of two simultaneous events a decision names); the server
            # step has no rowid: event_id order there, stable too
            if conn.dialect.name == "sqlite":
                stmt = stmt.order_by(sa.literal_column("events.rowid"))
            else:
                stmt = stmt.order_by(events_t.c.event_id)
            rows = _fetch_raw(conn, stmt)
        cols = _transpose(rows, len(names))
        del rows
        out = {}
        for name, values in zip(names, cols, strict=True):
            if name == "timestamp":
                out[name] = _from_micros(values)
            elif name in ("run_id", "position"):
                out[name] = pd.Series(pd.array(list(values), dtype="Int64"))
            else:
                out[name] = pd.Series(np.array(values, dtype=object), dtype="string")
        return pd.DataFrame(out, columns=names)

    def last_deliveries(self, *, until=None) -> pd.DataFrame:
        """``recipient`` and ``timestamp`` of the last ``delivered`` event per recipient
        (up to *until*), in recipient order.

        All the policy needs of the (many) deliveries. Read from ``last_delivery`` (one
        row per recipient, whatever the length of the history); only for the recipients
        whose last delivery came after *until* (today's, for a run as of midnight) is
        the one before it looked up in the events, through the history index.
        """
        last = last_delivery_t.alias("l")
        stmt = sa.select(last.c.recipient, last.c.timestamp)
        if until is not None:
            limit = int(_to_utc(until).value // 1000)
            e = events_t.alias("e")
            # a last delivery after *until*: the one before it, by one index seek
            before = (
                sa.select(sa.func.max(e.c.timestamp))
                .where(
                    e.c.kind == "delivered",
                    e.c.recipient == last.c.recipient,
                    e.c.timestamp <= limit,
                )
                .scalar_subquery()
            )
            inner = sa.select(
                last.c.recipient.label("recipient"),
                sa.case((last.c.timestamp <= limit, last.c.timestamp), else_=before).label("ts"),
            ).subquery()
            stmt = sa.select(inner.c.recipient, inner.c.ts).where(inner.c.ts.is_not(None))
        stmt = stmt.order_by(stmt.selected_columns[0])
        with self._connect() as conn:
            rows = _fetch_raw(conn, stmt)
        recipients, micros = _transpose(rows, 2)
        del rows
        return pd.DataFrame(
            {
                "recipient": pd.Series(np.array(recipients, dtype=object), dtype="string"),
                "timestamp": _from_micros(micros),
            }
        )

    def counts_by_kind(self, *, until=None, since: Iterable = ()) -> list[dict[str, int]]:
        """The events per kind with a timestamp up to *until*, then for each time in
        *since* those of them after it (e.g. the last 30 days): one pass over the events
        for all of them (each :meth:`count_by_kind` is a pass of its own)."""
        ts = events_t.c.timestamp
        starts = [int(_to_utc(t).value // 1000) for t in since]
        stmt = sa.select(
            events_t.c.kind,
            sa.func.count(),
            *[sa.func.sum(sa.case((ts > start, 1), else_=0)) for start in starts],
        ).where(
            # (an event stored without a kind, through the API, is no kind to count)
            ts.is_not(None),
            events_t.c.kind.is_not(None),
        )
        if until is not None:
            stmt = stmt.where(ts <= int(_to_utc(until).value // 1000))
        with self._connect() as conn:
            rows = sorted(conn.execute(stmt.group_by(events_t.c.kind)).fetchall())
        return [
            {str(r[0]): int(r[j]) for r in rows if j == 1 or int(r[j] or 0) > 0}
            for j in range(1, 2 + len(starts))
        ]

    def count_by_kind(self, *, after=None, until=None) -> dict[str, int]:
        """Number of events per kind with a timestamp in (*after*, *until*]."""
        counts = self.counts_by_kind(until=until, since=[] if after is None else [after])
        return counts[-1]

    # ------------------------------------------------------------------ checkpoints
    def checkpoints(self) -> dict[str, Checkpoint]:
        with self._connect() as conn:
            rows = conn.execute(sa.select(checkpoints_t)).mappings().all()
        return {
            r["path"]: Checkpoint(
                r["path"],
                r["device"],
                r["inode"],
                r["first_line_hash"],
                r["byte_offset"],
                r["size"],
                r["mtime_ns"],
                r["line_count"],
            )
            for r in rows
        }

    def plan_reads(self, path) -> list[tuple[Path, int]]:
        """:func:`plan_log_reads` for *path* with this store's checkpoints."""
        return plan_log_reads(path, self.checkpoints())

    def save_checkpoint(
        self,
        path,
        offset: int,
        *,
        actual_path=None,
        identity: FileIdentity | None = None,
        lines: int | None = None,
    ) -> Checkpoint:
        """Record that log *path* was read up to *offset* of the file *actual_path*.

        *actual_path* (default *path*) is the file the offset belongs to: the last file
        of the plan. Pass the *identity* taken before reading it, so a rotation during
        the read is noticed next time. *lines*: how many lines lie before *offset*
        (``read_bounces``' ``df.attrs["lines"]``), so the next read need not count them.
        """
        of = actual_path if actual_path is not None else path
        # (stored under the log's own path)
        cp = dataclasses.replace(Checkpoint.of(of, offset, identity, lines), path=str(path))
        row = {
            "path": cp.path,
            "device": cp.device,
            "inode": cp.inode,
            "first_line_hash": cp.first_line_hash,
            "byte_offset": cp.offset,
            "size": cp.size,
            "mtime_ns": cp.mtime_ns,
            "line_count": cp.lines,
        }
        with self._connect() as conn:
            _upsert(conn, checkpoints_t, [row], ["path"])
        return cp

    # ------------------------------------------------------------------ validation cache
    def put_validation(self, results: Mapping[str, Any], *, checked_at) -> int:
        """Cache per-domain DNS verdicts (objects or dicts with status, reason, detail, mx)."""
        when = _to_utc(checked_at)
        rows = []
        for domain, res in results.items():
            get = res.get if isinstance(res, Mapping) else lambda k, r=res: getattr(r, k, None)
            mx = get("mx")
            rows.append(
                {
                    "domain": str(domain),
                    "status": str(get("status") or ""),
                    "reason": str(get("reason") or ""),
                    "detail": str(get("detail") or ""),
                    "mx": None
                    if mx is None
                    else json.dumps(list(mx) if not isinstance(mx, str) else [mx]),
                    "checked_at": when,
                }
            )
        with self._connect() as conn:
            for start in range(0, len(rows), BATCH_ROWS):
                _upsert(conn, validation_t, rows[start : start + BATCH_ROWS], ["domain"])
        return len(rows)

    def cached_validation(
        self, domains: Iterable[str] | None = None, *, as_of, max_age=timedelta(days=30)
    ) -> dict[str, DomainRecord]:
        """Fresh cached verdicts: checked no longer than *max_age* before *as_of*.

        ``unknown`` verdicts (timeouts, SERVFAIL) are never served: they are retried.
        """
        max_age = pd.Timedelta(max_age)
        oldest = _to_utc(as_of) - max_age
        stmt = sa.select(validation_t).where(
            validation_t.c.status != "unknown", validation_t.c.checked_at >= oldest
        )
        with self._connect() as conn:
            rows = conn.execute(stmt).mappings().all()
        wanted = None if domains is None else set(domains)
        out = {}
        for r in rows:
            if wanted is not None and r["domain"] not in wanted:
                continue
            out[r["domain"]] = DomainRecord(
                r["domain"],
                r["status"],
                r["reason"],
                r["detail"],
                None if r["mx"] is None else tuple(json.loads(r["mx"])),
                r["checked_at"],
            )
        return out

    # ------------------------------------------------------------------ suppressions
    def replace_suppressions(self, decisions: pd.DataFrame, *, run_id: int | None = None) -> int:
        """Make the table equal to the non-``keep`` rows of *decisions* (policy.decide).

        Only what differs is written: rows of addresses no longer suppressed are deleted,
        new and changed rows are written with *run_id*; a row that is exactly as stored
        keeps its ``run_id`` (the run that last wrote it). Returns the number of rows.
        """
        schema.require_columns(
            decisions, ["address", "decision", "rule", "reason", "since"], what="decisions"
        )
        d = decisions[decisions["decision"] != "keep"]
        n = len(d)
        dup = d["address"].duplicated()
        if dup.any():
            raise InputError(
                f"{int(dup.sum())} address(es) have more than one decision; decide() gives "
                "one row per address."
            )
        evidence = d["evidence"] if "evidence" in d else pd.Series(None, index=d.index)
        evidence = evidence.map(lambda e: e if e is None or isinstance(e, str) else json.dumps(e))
        values = [
            _nullable(d["address"]),
            _nullable(d["decision"]),
            _nullable(d["rule"].fillna("")),
            _nullable(d["reason"].fillna("")),
            _micros(d["since"]),
            _nullable(d["flags"].fillna("")) if "flags" in d else np.full(n, "", dtype=object),
            _nullable(evidence),
        ]
        digest = _row_digests(values[1:])
        with self._connect() as conn:
            stored = _transpose(
                _fetch_raw(conn, sa.select(suppressions_t.c.address, suppressions_t.c.digest)),
                2,
            )
            at = pd.Index(stored[0]).get_indexer(values[0])  # stored addresses are unique
            same = at >= 0
            # object ==, None (a row from before version 5) never equal: written again
            same[same] = stored[1][at[same]] == digest[same]
            write = np.flatnonzero(~same)
            gone = pd.Index(values[0]).get_indexer(stored[0]) < 0
            drop = [*stored[0][gone].tolist(), *values[0][write[at[write] >= 0]].tolist()]
            if drop:
                stmt = sa.delete(suppressions_t).where(
                    suppressions_t.c.address == sa.bindparam("a")
                )
                for part in _batches(drop):
                    conn.execute(stmt, [{"a": a} for a in part])
            if len(write):
                _bulk_insert(
                    conn,
                    sa.insert(suppressions_t),
                    [*_SUPP_KEYS, "run_id", "digest"],
                    [
                        *(v[write] for v in values),
                        np.full(len(write), run_id, dtype=object),
                        digest[write].astype(object),
                    ],
                )
            _upsert(
                conn,
                meta_t,
                [{"key": _META_SUPPRESSIONS_RUN, "value": "" if run_id is None else str(run_id)}],
                ["key"],
            )
        return n

    def suppressions(self, columns: Iterable[str] | None = None) -> pd.DataFrame:
        """The stored decisions (all columns, or only *columns*: the job's carry-over
        of ``since`` needs four, not the long evidence texts)."""
        every = ["address", "decision", "rule", "reason", "since", "flags", "evidence", "run_id"]
        cols = every if columns is None else [c for c in every if c in set(columns)]
        if columns is not None and len(cols) != len(set(columns)):
            unknown = sorted(set(columns) - set(every))
            raise InputError(f"The suppressions table has no column(s) {unknown}.")
        with self._connect() as conn:  # plain columns: the driver's tuples, no Row objects
            rows = _fetch_raw(
                conn,
                sa.select(*[suppressions_t.c[c] for c in cols]).order_by(suppressions_t.c.address),
            )
        df = pd.DataFrame.from_records(rows, columns=cols)
        if "since" in df:
            df["since"] = _from_micros(df["since"])
        if "run_id" in df:
            df["run_id"] = pd.array(df["run_id"], dtype="Int64")
        for c in ("address", "decision", "rule", "reason", "flags", "evidence"):
            if c in df:
                df[c] = df[c].astype("string")
        return df

    # ------------------------------------------------------------------ runs
    def begin_run(self, *, as_of, started=None) -> int:
        """Record a run (its ``as_of``; *started* is the caller's wall clock, optional)."""
        with self._connect() as conn:
            res = conn.execute(
                sa.insert(runs_t).values(
                    as_of=_to_utc(as_of), started=None if started is None else _to_utc(started)
                )
            )
            return int(res.inserted_primary_key[0])

    def finish_run(self, run_id: int, counts: Mapping[str, Any], *, finished=None) -> None:
        with self._connect() as conn:
            conn.execute(
                sa.update(runs_t)
                .where(runs_t.c.run_id == run_id)
                .values(
                    counts=json.dumps(counts, sort_keys=True, default=str),
                    finished=None if finished is None else _to_utc(finished),
                )
            )

    def runs(self) -> list[dict]:
        """All runs, oldest first, with ``counts`` decoded (None while unfinished)."""
        with self._connect() as conn:
            rows = conn.execute(sa.select(runs_t).order_by(runs_t.c.run_id)).mappings().all()
        return [
            {**r, "counts": None if r["counts"] is None else json.loads(r["counts"])} for r in rows
        ]

    def base_run(self, *, as_of) -> dict | None:
        """The latest finished run with an earlier ``as_of``: what a report compares to.

        A rerun of the same night (same ``as_of``) gets the same base as the first try.
        """
        when = _to_utc(as_of)
        done = [r for r in self.runs() if r["counts"] is not None and r["as_of"] < when]
        return done[-1] if done else None

    def save_changes(
        self,
        run_id: int,
        decisions: pd.DataFrame,
        *,
        base_run_id: int | None,
        base_decisions: pd.DataFrame,
    ) -> int:
        """Keep, for the addresses whose decision differs between the base run and
        *decisions* (this run's), the base run's decision: with the suppressions table
        they rebuild the base run's decisions (:meth:`snapshot`) for a rerun of this
        night. Only the last run's changes are kept. *base_decisions*: the base run's
        (``snapshot(base_run_id)``, read *before* this run replaced the suppressions:
        afterwards the store no longer holds them). Returns how many were kept."""
        base = base_decisions
        cols: list[np.ndarray] = []
        if base_run_id is not None:
            b_addr, b_dec, b_rule = _decision_arrays(base)
            n_addr, n_dec, n_rule = _decision_arrays(decisions)
            at = pd.Index(n_addr).get_indexer(b_addr)
            hit = at >= 0
            differs = ~hit  # released since the base run
            differs[hit] = (n_dec[at[hit]] != b_dec[hit]) | (n_rule[at[hit]] != b_rule[hit])
            new = pd.Index(b_addr).get_indexer(n_addr) < 0  # not suppressed by the base run
            k = int(new.sum())
            cols = [
                np.concatenate([b_addr[differs], n_addr[new]]),
                np.concatenate([b_dec[differs], np.full(k, "keep", dtype=object)]),
                np.concatenate([b_rule[differs], np.full(k, "", dtype=object)]),
            ]
        n = len(cols[0]) if cols else 0
        with self._connect() as conn:
            conn.execute(sa.delete(changes_t))
            if n:
                _bulk_insert(
                    conn,
                    sa.insert(changes_t),
                    ["run_id", "address", "decision", "rule"],
                    [np.full(n, run_id, dtype=object), *cols],
                )
            mark = json.dumps({"run_id": run_id, "base_run_id": base_run_id})
            _upsert(conn, meta_t, [{"key": _META_CHANGES, "value": mark}], ["key"])
        return n

    def snapshot(self, run_id: int | None, *, current: pd.DataFrame | None = None) -> pd.DataFrame:
        """A run's non-``keep`` decisions (address, decision, rule) while the store can
        still tell them: those of the run the suppressions table holds, and of that run's
        base run (from :meth:`save_changes`); empty otherwise.

        *current*: the suppressions table as :meth:`suppressions` returned it earlier in
        the same transaction (with address, decision and rule), so that it is not read
        again."""
        cols = ["address", "decision", "rule"]
        empty = pd.DataFrame({c: pd.Series(dtype="string") for c in cols})
        if run_id is None:
            return empty
        with self._connect() as conn:
            meta = dict(
                conn.execute(
                    sa.select(meta_t.c.key, meta_t.c.value).where(
                        meta_t.c.key.in_([_META_SUPPRESSIONS_RUN, _META_CHANGES])
                    )
                ).all()
            )
            held = meta.get(_META_SUPPRESSIONS_RUN, "")
            changes = json.loads(meta.get(_META_CHANGES) or "{}")
            if held == str(run_id):
                delta = None
            elif (
                held
                and str(changes.get("run_id")) == held
                and changes.get("base_run_id") == run_id
            ):
                delta = _fetch_raw(
                    conn,
                    sa.select(*[changes_t.c[c] for c in cols]).where(
                        changes_t.c.run_id == int(held)
                    ),
                )
            else:
                return empty
            if current is None:
                rows = _fetch_raw(conn, sa.select(*[suppressions_t.c[c] for c in cols]))
                frame = pd.DataFrame.from_records(rows, columns=cols)
                del rows
            else:
                frame = current[cols]
        if delta is not None:
            d = pd.DataFrame.from_records(delta, columns=cols).astype("string")
            frame = pd.concat(
                [
                    frame[~frame["address"].isin(d["address"])].astype("string"),
                    d[d["decision"] != "keep"],
                ],
                ignore_index=True,
            )
        return frame.astype("string").reset_index(drop=True)

    def last_run(self) -> dict | None:
        """The latest run that finished (has counts), or None."""
        done = [r for r in self.runs() if r["counts"] is not None]
        return done[-1] if done else None


_SUPP_KEYS = ("address", "decision", "rule", "reason", "since", "flags", "evidence")


def _batches(items: list, size: int = BATCH_ROWS) -> Iterator[list]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _row_digests(columns: list[np.ndarray]) -> np.ndarray:
    """A 64-bit fingerprint (int64) per row of the driver values of the suppression
    columns after ``address``: pandas' vectorised hash, the same in every run and process
    (a change of pandas' hash would only make one night rewrite every row)."""
    # object columns as they are (astype(str) would build fixed-width unicode arrays as
    # wide as the longest evidence text); NULL as a character no text value holds
    frame = pd.DataFrame(
        {
            i: np.where(pd.isna(c), "\x00", c if c.dtype == object else c.astype(object))
            for i, c in enumerate(columns)
        }
    )
    return pd.util.hash_pandas_object(frame, index=False).to_numpy().view(np.int64)


def _decision_arrays(decisions: pd.DataFrame | None) -> tuple[np.ndarray, ...]:
    """address, decision, rule ("" for none) of the non-``keep`` rows, as object arrays."""
    if decisions is None or not len(decisions):
        return tuple(np.empty(0, dtype=object) for _ in range(3))
    d = decisions[decisions["decision"] != "keep"]
    rule = d["rule"].fillna("") if "rule" in d else pd.Series("", index=d.index)
    return tuple(c.to_numpy(dtype=object) for c in (d["address"], d["decision"], rule))


def _sqlite_setup(engine: sa.Engine) -> None:
    @sa.event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record):
        # Let SQLAlchemy, not the sqlite3 module, decide when transactions begin
        # (the documented recipe: pysqlite's implicit BEGIN skips DDL and SELECTs).
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        try:
            cur.execute("PRAGMA journal_mode=WAL")
            # FULL: a committed run survives a power cut, not only a killed process
            cur.execute("PRAGMA synchronous=FULL")
            cur.execute("PRAGMA busy_timeout=10000")
            # bulk inserts of millions of events with random ids: 1M take 22 s with
            # SQLite's default 2 MiB cache, 8 s with 256 MiB (measured)
            cur.execute(f"PRAGMA cache_size={_SQLITE_CACHE}")
        finally:
            cur.close()

    @sa.event.listens_for(engine, "begin")
    def _on_begin(conn):
        conn.exec_driver_sql("BEGIN")


def _short(exc: BaseException) -> str:
    text = str(getattr(exc, "orig", None) or exc)
    return text.splitlines()[0][:200] if text else type(exc).__name__
