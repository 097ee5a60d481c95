"""The nightly clean job: contacts + new bounce evidence -> clean / suppressed / reconfirm.

One run, in order (see README, "The nightly clean job"):

1. take the lock (``flock`` on ``STORE.lock`` beside the store): a second, overlapping
   run fails at once with :class:`~listcare.exceptions.LockedError` (exit code 75);
2. read the contact list and validate the addresses, asking DNS only for domains not
   fresh in the store's cache -- in a worker thread, while this one does step 3 (the
   two sides share nothing; the thread never touches the store, whose one connection
   belongs to the transaction);
3. in **one store transaction**: read from every bounce input only what is new (log
   checkpoints follow logrotate; other inputs are re-read and deduplicated by
   ``event_id``) and store it as it is read (a long log a batch at a time, so that the
   first night's log is never in memory whole), save checkpoints and the DNS cache,
   recompute every decision from the full history (:func:`listcare.policy.decide`),
   check that every input row lands in exactly one output (else
   :class:`~listcare.exceptions.ConservationError`, nothing is written), write the outputs
   to temporary files (the lists in the worker thread while the decisions (only
   those that changed), the base run's decisions of the changed addresses and the run
   are saved);
4. only after the commit, rename the temporary files over ``clean.csv``,
   ``suppressed.csv``, ``reconfirm.csv``, ``flagged.csv``, ``decay.png``, ``report.md`` and (last)
   ``report.json``.

A crash before the commit leaves the store and the previous outputs as they were; a
crash after it leaves the new state in the store, and a rerun (same ``as_of``) writes
the same outputs an uninterrupted run would have: the report compares with the last
run of an *earlier* ``as_of`` and counts events by the run that ingested them, never by
what this particular process happened to read.
"""

from __future__ import annotations

import collections
import concurrent.futures
import contextlib
import fcntl
import json
import logging
import os
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from . import schema
from .display import (
    ROWS_NOTE,
    Report,
    decay_sentences,
    since_phrase,
    suppression_list_sentence,
)
from .exceptions import (
    ConfigError,
    ConservationError,
    ListcareError,
    LockedError,
    OutputError,
    StoreError,
)
from .policy import _KIND as _KIND_CODE
from .policy import (
    Policy,
    _address_keys,
    _decide,
    carry_since,
    load_policy,
    prepare_contacts,
)
from .store import (
    Store,
    _resolve_target,
    _to_utc,
    check_store_path,
    file_identity,
    needs_migration,
    plan_log_reads,
)

log = logging.getLogger(__name__)

__all__ = ["clean", "OUTPUT_FILES", "lock_path_for"]

#: the files a run writes into ``out_dir``, in the order they are renamed into place
OUTPUT_FILES = (
    "clean.csv",
    "suppressed.csv",
    "reconfirm.csv",
    "flagged.csv",
    "decay.png",
    "report.md",
    "report.json",
)
_PENDING = ".pending"
_HISTORY_COLUMNS = [
    "event_id",
    "timestamp",
    "recipient",
    "kind",
    "reason",
    "diagnostic",
    "remote_mta",
    "source",
    "position",
]
#: the kinds whose every event can decide something (see policy.decide)
_DECIDING_KINDS = ("hard", "soft", "block", "complaint", "unsubscribe")


# =========================================================================== lock
def lock_path_for(store, out_dir) -> Path:
    """``STORE.lock`` beside a store file; ``OUT_DIR/.listcare.lock`` for a server store."""
    if isinstance(store, Store):
        path = store.path
    else:
        path = _resolve_target(store)[1]
        if path is not None:
            check_store_path(path)  # before the lock file is created beside it
    if path is not None:
        return path.with_name(path.name + ".lock")
    return Path(out_dir) / ".listcare.lock"


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    except OSError as exc:
        raise StoreError(
            f"Cannot create the lock file {str(path)!r} beside the store: {exc.strerror}. "
            "The store's folder must be writable by the user the job runs as."
        ) from exc
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            raise LockedError(
                f"Another listcare run holds the lock {str(path)!r}; nothing was done. "
                "Try again when it has finished (cron: simply at the next run)."
            ) from exc
        try:
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def _make_folder(path: Path, what: str, error: type[ListcareError], mode: int) -> None:
    """Create *path* and any missing parent, each with *mode* (``Path.mkdir`` would give
    the parents the default mode: not owner-only)."""
    missing = []
    p = path
    while not p.exists() and p != p.parent:
        missing.append(p)
        p = p.parent
    try:
        for folder in reversed(missing):
            folder.mkdir(mode=mode, exist_ok=True)
        if path.exists() and not path.is_dir():
            raise FileExistsError
    except FileExistsError:
        raise error(f"The {what} {str(path)!r} is a file; give a folder.") from None
    except OSError as exc:
        raise error(f"Cannot create the {what} {str(path)!r}: {exc.strerror}.") from None


# =========================================================================== job
class _DryRun(Exception):
    """Raised inside the transaction of a dry run so that nothing is committed."""


@dataclass(frozen=True)
class _Night:
    """One run's inputs and settings, as :func:`clean` resolved them (the store apart)."""

    contacts: Any
    bounces: Any
    out_dir: Path
    as_of: pd.Timestamp
    policy: Policy
    dry_run: bool
    check_dns: bool
    nameserver: str | None
    email_column: str | None
    date_columns: dict  # prepare_contacts' acquired_column / last_contacted_column


def clean(
    contacts,
    bounces=(),
    *,
    store,
    out_dir,
    as_of,
    dry_run: bool = False,
    check_dns: bool = True,
    config=None,
    nameserver: str | None = None,
    email_column: str | None = None,
    acquired_column: str | None = None,
    last_contacted_column: str | None = None,
) -> dict:
    """Run the nightly job once; returns the report (also written as report.json/.md).

    *contacts*: a path (CSV/xlsx/Parquet, see :func:`listcare.read_contacts`) or a
    DataFrame. *bounces*: a path or a list of paths (mail logs incl. rotations, bounce
    mail files, Maildir folders, provider exports). *store*: a :class:`Store` or its
    path/URL. *config*: a TOML path, a :class:`~listcare.policy.Policy` or None
    (defaults). *dry_run*: compute and return the report but change nothing (no store
    writes, no output files). *acquired_column* / *last_contacted_column*: the list's
    columns with the acquisition and last-contact dates, when they are not named
    ``acquired_at`` / ``last_contacted_at`` (the sunset rule and the decay figures use
    them; a list without either is aged by its deliveries alone, and the report says so).

    Example::

        report = clean("contacts.csv", ["/var/log/mail.log"], store="listcare.db",
                       out_dir="out", as_of="2026-11-27")
    """
    as_of = _to_utc(as_of)
    policy = config if isinstance(config, Policy) else load_policy(config)
    out_dir = Path(out_dir)
    from .bounces.read import _Input

    # one list (a generator is read once, by the checks below or the run)
    bounces = [bounces] if isinstance(bounces, (str, os.PathLike)) else list(bounces or ())
    inputs = [_Input(item, n) for n, item in enumerate(bounces, 1)]  # (an empty path: its error)
    store_path = None if isinstance(store, Store) else _resolve_target(store)[1]
    if isinstance(contacts, (str, os.PathLike)) and not Path(contacts).is_file():
        from .contacts import read_contacts

        read_contacts(contacts, email_column=email_column)  # its clear error, before any file
    listed = (
        os.fspath(contacts)
        if isinstance(contacts, (str, os.PathLike))
        else (getattr(contacts, "attrs", {}).get("listcare") or {}).get("path")
    )
    if listed:
        _check_list_not_an_output(listed, out_dir)  # (before any file, too)
    if store_path is not None and store_path.is_dir():
        check_store_path(store_path)  # its clear error, before anything is created
    if store_path is not None and not store_path.exists():
        # a first night has no checkpoint a missing log could be followed from (its
        # rotations): a bounce path that does not exist is the reader's error, now,
        # before the store and the output folder are created
        for inp in inputs:
            if not Path(inp.name).exists():
                inp.open().close()
    if store_path is not None or isinstance(store, Store) and store.path is not None:
        _check_store_not_an_output(store_path or store.path, out_dir)
    if not dry_run:
        if store_path is not None and store_path.parent.resolve() != out_dir.resolve():
            # owner-only: the store holds every address (a crontab's state/ folder need
            # not exist before the first night, as out/ need not); a store inside the
            # output folder leaves that folder as the outputs want it
            _make_folder(store_path.parent, "store's folder", StoreError, 0o700)
        _make_folder(out_dir, "output folder", OutputError, 0o777)
    if (
        store_path is not None
        and store_path.parent.resolve() != out_dir.resolve()
        and (not dry_run or store_path.parent.is_dir())  # (a dry run: a throwaway store)
    ):
        check_store_path(store_path)  # before anything is created (a store in out/ is fine)
    if not dry_run and not os.access(out_dir, os.W_OK | os.X_OK):
        raise OutputError(
            f"Cannot write into the output folder {str(out_dir)!r}: permission denied. "
            "Nothing was done."
        )
    if not dry_run:
        for name in OUTPUT_FILES:  # checked now: a rename after the commit must not fail
            if (out_dir / name).is_dir():
                raise OutputError(
                    f"{str(out_dir / name)!r} is a folder, where the job writes its "
                    f"{name}: move it away. Nothing was done."
                )
    if dry_run and not isinstance(store, Store):
        path = _resolve_target(store)[1]
        older = path is not None and path.exists() and needs_migration(path)
        if path is not None and (not path.exists() or older):
            # a dry run against a store that does not exist yet: a throwaway one, so
            # that "nothing is written" holds for the store file and its lock too; and
            # against an older store, a copy: opening the store itself would migrate it
            # (a one-way step: the older listcare would no longer open it)
            import sqlite3
            import tempfile

            with tempfile.TemporaryDirectory(prefix="listcare-dry-run-") as tmp:
                # (a folder apart from the outputs': the store may share an output's name)
                throwaway_path = Path(tmp) / "store" / path.name
                throwaway_path.parent.mkdir(mode=0o700)
                if older:
                    src = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
                    dst = sqlite3.connect(throwaway_path)
                    try:
                        src.backup(dst)  # a consistent copy, even beside a running job
                    finally:
                        dst.close()
                        src.close()
                with Store(throwaway_path) as throwaway:
                    return clean(
                        contacts,
                        bounces,
                        store=throwaway,
                        out_dir=Path(tmp),
                        as_of=as_of,
                        dry_run=True,
                        check_dns=check_dns,
                        config=policy,
                        nameserver=nameserver,
                        email_column=email_column,
                        acquired_column=acquired_column,
                        last_contacted_column=last_contacted_column,
                    )
    if dry_run and not out_dir.is_dir():
        out_dir = Path(".")  # nothing is written in a dry run; a server store's lock needs a folder
    with _locked(lock_path_for(store, out_dir)):
        own = not isinstance(store, Store)
        st = Store(store) if own else store
        night = _Night(
            contacts=contacts,
            bounces=bounces,
            out_dir=out_dir,
            as_of=as_of,
            policy=policy,
            dry_run=dry_run,
            check_dns=check_dns,
            nameserver=nameserver,
            email_column=email_column,
            date_columns={
                "acquired_column": acquired_column,
                "last_contacted_column": last_contacted_column,
            },
        )
        try:
            return _run(night, st)
        finally:
            if own:
                st.close()


def _run(night: _Night, st: Store):
    from .contacts import find_email_column, read_contacts

    contacts, out_dir, as_of, email_column = (
        night.contacts,
        night.out_dir,
        night.as_of,
        night.email_column,
    )
    timings: dict[str, float] = {}
    t0 = time.perf_counter()

    # the store's DNS cache: this thread reads it while the worker reads the list, and
    # hands it over (the worker never touches the store: inside the transaction below,
    # every store call uses its one connection, which belongs to this thread)
    cache: concurrent.futures.Future = concurrent.futures.Future()

    def read_cache() -> None:
        try:
            cache.set_result(_dns_cache(st, as_of, night.policy) if night.check_dns else {})
        except BaseException as exc:
            cache.set_exception(exc)
            raise

    def contacts_side():
        """Read and validate the list: it needs nothing of the night's evidence, so it
        runs in a worker thread while this one reads, stores and fetches the history
        (pandas' parser, Arrow's kernels, SQLite and the DNS waits release the GIL)."""
        t = time.perf_counter()
        if isinstance(contacts, pd.DataFrame):
            cdf = contacts
            path = (cdf.attrs.get("listcare") or {}).get("path")
        else:
            cdf = read_contacts(contacts, email_column=email_column)
            path = os.fspath(contacts)
        col = find_email_column(
            cdf, email_column or (cdf.attrs.get("listcare") or {}).get("email_column")
        )
        if path:
            _check_list_not_an_output(path, out_dir)  # (a DataFrame read from a file)
        timings["read_contacts"] = time.perf_counter() - t
        t = time.perf_counter()
        checked = _validate(cdf, cache.result(), night.check_dns, night.nameserver, col)
        timings["validate"] = time.perf_counter() - t
        t = time.perf_counter()
        # the policy's keys, codes and dates
        prepared = prepare_contacts(cdf, col, checked[0], **night.date_columns)
        # what the decay fit imports (a quarter of a second), while this thread is free
        import scipy.optimize  # noqa: F401

        timings["prepare_contacts"] = time.perf_counter() - t
        return cdf, path, col, checked, prepared

    # the pool's exit waits for the worker (never left running, whatever happens here)
    with concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="listcare-contacts") as pool:
        try:
            return _run_store(night, st, pool, contacts_side, read_cache, timings, t0)
        finally:
            cache.cancel()  # (if never read: the worker's wait ends, the pool's exit too)


def _run_store(night: _Night, st: Store, pool, contacts_side, read_cache, timings, t0):
    """The rest of :func:`_run`: the night's evidence, then (with *contacts_side* running
    in *pool*, and the DNS cache handed to it by *read_cache*) the store's transaction,
    then the outputs."""
    bounces, out_dir, as_of, policy, dry_run = (
        night.bounces,
        night.out_dir,
        night.as_of,
        night.policy,
        night.dry_run,
    )
    # what to read of every bounce input (every planned file opened once: an unreadable
    # input stops the run here, at once, before the list is read and validated)
    plans = _plan_evidence(st, bounces)
    contacts_job = pool.submit(contacts_side)
    read_cache()

    pending: list[Path] = []  # every output file written so far (removed on failure)
    table_files: list[Path] = []  # the same, of the worker thread until it is done
    tables = None
    report: dict = {}
    try:
        try:
            with st.transaction():
                run_id = st.begin_run(as_of=as_of)
                base = st.base_run(as_of=as_of)
                # a night before the store's latest (a mistyped --as-of, or a look back)
                latest = max(
                    (r["as_of"] for r in st.runs() if r["counts"] is not None), default=None
                )
                backdated = latest if latest is not None and latest > as_of else None
                # ---- bounces: only what is new, stored as it is read (a long log a
                # batch at a time: the first night's log is never in memory whole)
                new_events, checkpoints, read_stats = _ingest_new_evidence(
                    st, plans, as_of, run_id, timings
                )
                t = time.perf_counter()
                for path, offset, actual, ident, lines in checkpoints:
                    st.save_checkpoint(
                        path, offset, actual_path=actual, identity=ident, lines=lines
                    )
                timings["store_ingest"] += time.perf_counter() - t

                t = time.perf_counter()
                history = _history(st, as_of)
                new_since = st.count_events(after_run=base["run_id"] if base else None)
                timings["history"] = time.perf_counter() - t
                t = time.perf_counter()
                cdf, contacts_path, email_col, checked, prepared = contacts_job.result()
                validation, fresh_domains, cached_n = checked
                undated = prepared["acquired_at"] is None and prepared["last_contacted_at"] is None
                unreadable = prepared["unreadable_dates"]
                timings["wait_for_contacts"] = time.perf_counter() - t
                st.put_validation(fresh_domains, checked_at=as_of)

                t = time.perf_counter()
                decided, row_codes, keys = _decide(
                    history,
                    validation,
                    cdf,
                    as_of=as_of,
                    policy=policy,
                    email_column=email_col,
                    prepared=prepared,
                )
                del prepared
                del history
                # the suppressions table, read once: for the carried-over dates and for the
                # base run's decisions the report compares with
                held = st.suppressions(["address", "decision", "rule", "since"])
                decisions = carry_since(decided, held)
                previous = st.snapshot(base["run_id"] if base else None, current=held)
                del held
                del decided
                timings["decide"] = time.perf_counter() - t

                t = time.perf_counter()
                outputs, per_row, positions = _split(cdf, validation, decisions, row_codes)
                _check_conservation(len(cdf), positions)
                if not dry_run:
                    # the lists are written by the worker thread while this one
                    # makes the report and writes the store (SQLite and file writes
                    # release the GIL)
                    tables = pool.submit(_write_tables, out_dir, outputs, cdf, table_files)
                decay, model, starts = _decay(cdf, email_col, keys, decisions, per_row, as_of)
                del keys
                # the events per kind up to as_of and in its last 30 days, in one scan:
                # the report's total and rates, and the cohort chart's size check
                counts_all, counts_30d = st.counts_by_kind(
                    until=as_of, since=[as_of - pd.Timedelta(days=30)]
                )
                cohorts = (
                    _cohorts(st, starts, model, decay, as_of, counts_all) if not dry_run else None
                )
                on_list = np.zeros(len(decisions), dtype=bool)
                listed = np.asarray(row_codes)
                on_list[listed[listed >= 0]] = True
                report = _report(
                    cdf,
                    per_row,
                    decisions,
                    on_list,
                    counts_30d,
                    sum(counts_all.values()),
                    previous,
                    base,
                    new_since,
                    as_of,
                    policy,
                    decay,
                )
                report["notes"] = _notes(undated, unreadable, as_of, backdated)
                timings["report"] = time.perf_counter() - t

                t = time.perf_counter()
                st.replace_suppressions(decisions, run_id=run_id)
                st.save_changes(
                    run_id,
                    decisions,
                    base_run_id=base["run_id"] if base else None,
                    base_decisions=previous,
                )
                timings["store_write"] = time.perf_counter() - t
                if tables is not None:
                    t = time.perf_counter()
                    chart = {
                        "model": model,
                        "cohorts": cohorts,
                        "list_name": Path(contacts_path).name if contacts_path else None,
                    }
                    _write_report_files(out_dir, report, chart, pending)
                    timings["write"] = tables.result() + time.perf_counter() - t
                    pending[:0] = table_files  # published first, report.json last
                    table_files = []
                t = time.perf_counter()
                run_stats = {
                    **report["outcomes"],
                    "new_events": new_events,
                    "lines_read": read_stats["lines_read"],
                    "skipped_records": read_stats["errors"],
                    "domains_looked_up": len(fresh_domains),
                    "domains_from_cache": cached_n,
                }
                # durations (a monotonic clock, never a date) for the operator's history
                seconds = {k: round(v, 3) for k, v in timings.items()}
                st.finish_run(run_id, {**run_stats, "seconds": seconds})
                if dry_run:
                    raise _DryRun
            # (the run's own record holds the stages up to here: the commit comes after it)
            timings["store_commit"] = time.perf_counter() - t
        except _DryRun:
            pass
    except BaseException:
        if tables is not None:
            concurrent.futures.wait([tables])  # then none of its files is still being written
        for p in [*table_files, *pending]:
            with contextlib.suppress(OSError):
                p.unlink()
        raise

    # ---- committed: now (and only now) the outputs replace the previous ones
    written = _publish(pending, out_dir) if not dry_run else {}
    timings["total"] = time.perf_counter() - t0
    log.info(
        "clean run %d%s: %s; %d new events from %d log lines; stages %s",
        run_id,
        " (dry run, rolled back)" if dry_run else "",
        report["outcomes"],
        run_stats["new_events"],
        run_stats["lines_read"],
        {k: round(v, 2) for k, v in timings.items()},
    )
    return Report(
        {
            **report,
            "run": {
                "run_id": run_id,
                "dry_run": dry_run,
                **{k: v for k, v in run_stats.items() if k not in report["outcomes"]},
                "skipped_samples": read_stats["samples"],
                # the store's latest night when this one is before it (else None)
                "backdated_from": None if backdated is None else backdated.isoformat(),
                "seconds": {k: round(v, 3) for k, v in timings.items()},
                "outputs": written,
            },
        }
    )


# =========================================================================== steps
def _history(st: Store, as_of) -> pd.DataFrame:
    """What the policy needs of the full history: every outcome that can decide something
    (bounces, complaints, unsubscribes) with its evidence columns, and of the millions of
    deliveries only the last one per address (the policy uses nothing else of them;
    deferred and auto-replies decide nothing and are only counted, in SQL)."""
    heavy = st.events(_HISTORY_COLUMNS, until=as_of, kinds=_DECIDING_KINDS)
    last = st.last_deliveries(until=as_of)
    if not len(last):
        return heavy
    light = pd.DataFrame(index=last.index)
    for c in _HISTORY_COLUMNS:
        if c in last.columns:
            light[c] = last[c]
        elif c == "kind":
            light[c] = pd.Series("delivered", index=last.index, dtype="string")
        else:
            light[c] = pd.Series(pd.NA, index=last.index, dtype=heavy[c].dtype)
    return pd.concat([heavy, light], ignore_index=True)


#: log rows read before a batch is stored (a batch holds ~130 MB while it is read)
BATCH_ROWS = 250_000
#: bytes a log line takes, about: to tell a load bigger than the stored history
_BYTES_PER_LINE = 200
#: log lines (estimated) from which a load that outgrows the store is a bulk load
BULK_MIN_LINES = 20_000


def _plan_evidence(st: Store, bounces) -> list[tuple[Path, list | None, dict]]:
    """For every bounce input, the files to read and from where (:meth:`Store.plan_reads`:
    a log after logrotate is its rotations' rest, then the new file; None for a folder,
    read whole), and the lines before the checkpoint's offset (``read_bounces(lines=)``).
    Each planned file is opened once: one that cannot be is the reader's own error, now."""
    from .bounces.read import _Input

    if bounces is None:
        items = []
    elif isinstance(bounces, (str, os.PathLike)):
        items = [bounces]
    else:
        items = list(bounces)
    plans = []
    checkpoints = st.checkpoints()  # (read once, for every input's plan)
    for item in items:
        path = Path(item)
        plan = None if path.is_dir() else (plan_log_reads(path, checkpoints) or [(path, 0)])
        for p, _ in plan or []:
            _Input(os.fspath(p), 1).open().close()  # InputError: missing, not readable
        # the lines before the checkpoint's offset, for the file it belongs to (the log
        # itself, or its rotation): that read starts at the offset without counting them
        cp = checkpoints.get(str(path))
        lines = {}
        if plan and cp is not None and cp.lines is not None and plan[0][1] == cp.offset > 0:
            lines[os.fspath(plan[0][0])] = cp.lines
        plans.append((path, plan, lines))
    return plans


def _ingest_new_evidence(st: Store, plans, as_of, run_id: int, timings: dict):
    """Read what is new in every bounce input (:func:`_plan_evidence`) and store it
    (inside the run's transaction): logs a batch at a time, each batch stored while the
    rest is read. Returns (new events, checkpoints to save for the logs, read
    statistics); adds the reading and storing seconds to *timings*."""
    from .bounces.read import read_bounces

    checkpoints = []
    stats = {"lines_read": 0, "errors": 0, "samples": []}
    stored = [0, 0.0]  # new events, seconds spent storing

    def store(df: pd.DataFrame) -> None:
        t = time.perf_counter()
        stored[0] += st.add_events(df, run_id=run_id)
        stored[1] += time.perf_counter() - t

    # a load that will outgrow what is stored (the first night): the history index is
    # built once at its end instead of row by row (see Store.bulk_load)
    planned = sum(
        max(0, _file_size(p) - off) for _, plan, _ in plans if plan for p, off in plan
    ) // _BYTES_PER_LINE
    bulk = planned >= BULK_MIN_LINES and planned > st.count_events()
    t0 = time.perf_counter()
    # (last_delivery follows once at the end, not batch by batch)
    with st.bulk_load(run_id=run_id, index=bulk):
        for path, plan, lines in plans:
            if plan is None:  # a folder of bounce mails: read whole
                df = read_bounces([os.fspath(path)], as_of=as_of)
            else:  # a log from its checkpoint (or any file, from its start)
                last = plan[-1][0]
                ident = file_identity(last) if last.exists() else None
                df = read_bounces(
                    [os.fspath(p) for p, _ in plan],
                    as_of=as_of,
                    offsets={os.fspath(p): off for p, off in plan if off},
                    on_batch=store,
                    batch_rows=BATCH_ROWS,
                    lines=lines,
                    # the live log may be mid-write: its unterminated last line waits
                    # (after logrotate it is read from the rotation, whole)
                    growing=[os.fspath(last)] if _still_written(last, path, as_of) else [],
                )
                end = df.attrs.get("offsets", {}).get(os.fspath(last))
                if end is not None and ident is not None:  # a log: remember how far we got
                    n = df.attrs.get("lines", {}).get(os.fspath(last))
                    checkpoints.append((os.fspath(path), end, last, ident, n))
            errs = df.attrs.get("errors") or {}
            stats["lines_read"] += int(df.attrs.get("lines_read", 0))
            stats["errors"] += int(errs.get("count", 0))
            stats["samples"].extend(list(errs.get("samples", []))[:5])
            if len(df):
                store(df)
            del df
        t = time.perf_counter()
    stored[1] += time.perf_counter() - t  # (the end of a bulk load: the index built)
    timings["read_bounces"] = time.perf_counter() - t0 - stored[1]
    timings["store_ingest"] = stored[1]
    return stored[0], checkpoints, stats


def _still_written(last: Path, path: Path, as_of) -> bool:
    """Is *last* the live log, written to in the day before the night or since? A log
    last written long before it (a static copy that simply does not end in a newline)
    is finished: its last line is read. (The file's time against as_of, not a clock.)"""
    if last != path:
        return False
    try:
        mtime = pd.Timestamp(last.stat().st_mtime_ns, unit="ns", tz="UTC")
    except OSError:
        return True
    return mtime >= as_of - pd.Timedelta(days=1)


def _file_size(path: Path) -> int:
    """Bytes of a planned log read (a compressed rotation counts five times its size)."""
    try:
        size = path.stat().st_size
    except OSError:
        return 0
    return size * 5 if path.suffix == ".gz" else size


def _dns_cache(st: Store, as_of, policy) -> dict:
    """The store's per-domain DNS verdicts still fresh at *as_of* (unknowns are retried)."""
    return st.cached_validation(
        as_of=as_of, max_age=pd.Timedelta(days=policy.validation_max_age_days)
    )


def _validate(cdf, cached, check_dns, nameserver, email_col):
    from .address.validate import validate

    known = None
    if check_dns:
        from .address.dns import DomainResult

        known = {
            d: DomainResult(r.status, r.reason, r.detail, tuple(r.mx or ()))
            for d, r in cached.items()
        }
    validation = validate(
        cdf,
        check_dns=check_dns,
        nameserver=nameserver,
        known_domains=known,
        email_column=email_col,
    )
    # taken out of the frame (which this job made and owns): pandas deep-copies attrs
    # into every frame and column derived from it, and the per-domain verdicts of a
    # real list (40,000 domains) made each such step cost a second: 33 s in all
    domains = validation.attrs.pop("domains", None) or {}
    fresh = {d: r for d, r in domains.items() if d not in cached}
    used_cache = sum(1 for d in domains if d in cached)
    return validation, fresh, used_cache


def _split(cdf: pd.DataFrame, validation: pd.DataFrame, decisions: pd.DataFrame, row_codes=None):
    """Each contact row's decision; the output tables (input columns, input order; flagged is a view of clean).

    *row_codes*: each validation row's position in *decisions* (from policy._decide);
    without it, the rows are matched by address key.
    """
    if row_codes is not None and len(row_codes) == len(validation):
        codes = np.asarray(row_codes, dtype=np.int64)
    else:
        email = validation["email"].astype("string")
        base = validation["normalized"].astype("string")
        base = base.where(base.notna() & (base != ""), email)
        index = pd.Index(decisions["address"].to_numpy(dtype=object), dtype=object)
        codes = index.get_indexer(pd.Index(_address_keys(base), dtype=object))
    found = codes >= 0
    every = bool(found.all())
    n = len(cdf)

    def take(col, fill):
        vals = decisions[col].to_numpy(dtype=object, na_value=fill)  # codes are positions
        if every:
            return vals[codes]
        arr = np.full(n, fill, dtype=object)
        arr[found] = vals[codes[found]]
        return arr

    decision = take("decision", "suppress")
    rule = take("rule", "invalid")
    reason = take("reason", "")
    flags = take("flags", "")
    evidence = take("evidence", "[]")
    since_ns = np.full(n, np.iinfo(np.int64).min, dtype=np.int64)
    since_ns[found] = decisions["since"].array.asi8[codes[found]]
    # rows with no usable address at all (empty cell, unreadable): suppressed, with why
    if (~found).any():
        vr = validation["reason"].astype("string").fillna("").to_numpy(dtype=object)
        vd = validation["detail"].astype("string").fillna("").to_numpy(dtype=object)
        for i in np.flatnonzero(~found):
            reason[i] = f"No usable email address in this row ({vr[i] or 'empty'})" + (
                f": {vd[i]}" if vd[i] else ""
            )
    # the date of the few decisions that have one (strftime on a million rows costs seconds)
    since = np.full(n, "", dtype=object)
    dated = since_ns != np.iinfo(np.int64).min
    since[dated] = since_ns[dated].view("M8[ns]").astype("M8[D]").astype(str)
    per_row = pd.DataFrame(
        {
            "decision": decision,
            "rule": rule,
            "reason": reason,
            "since": since,
            "flags": flags,
            "evidence": evidence,
        },
        index=cdf.index,
    )

    def extra(mask, cols):
        out = cdf[mask].copy()
        for c in cols:
            name = schema.added_column_name(c, out.columns)
            out[name] = per_row.loc[mask, c].astype(str).to_numpy()
        return out

    outputs = {
        "clean": cdf[per_row["decision"].to_numpy() == "keep"],
        "suppressed": extra(
            per_row["decision"].to_numpy() == "suppress",
            ["rule", "reason", "since", "flags", "evidence"],
        ),
        "reconfirm": extra(
            per_row["decision"].to_numpy() == "reconfirm", ["rule", "reason", "since", "flags"]
        ),
        # the clean rows the policy flags (disposable, role, DNS unknown) but keeps: the
        # "keep, flag" action needs a place where the flag can be seen row by row. They
        # are in clean.csv as well (this is a view, not a fourth outcome).
        "flagged": extra(
            (per_row["decision"].to_numpy() == "keep")
            & (per_row["flags"].to_numpy(dtype=object) != ""),
            ["flags"],
        ),
    }
    dec = per_row["decision"].to_numpy()
    positions = {
        "clean": np.flatnonzero(dec == "keep"),
        "suppressed": np.flatnonzero(dec == "suppress"),
        "reconfirm": np.flatnonzero(dec == "reconfirm"),
    }
    return outputs, per_row, positions


def _output_encoding(cdf: pd.DataFrame) -> str:
    """The encoding the lists are written in: the CSV list's own; UTF-8 with a BOM
    for an .xlsx or Parquet list (the outputs are CSV, and Excel reads a BOM-less UTF-8
    file as the local code page: umlauts would come out garbled)."""
    info = cdf.attrs.get("listcare") or {}
    if info.get("format", "csv") != "csv":
        return "utf-8-sig"
    return info.get("encoding") or "utf-8"


def _check_conservation(n_rows: int, positions: dict) -> None:
    """Every input row (by position) in exactly one output, else ConservationError."""
    counts = {k: len(v) for k, v in positions.items()}
    seen = np.bincount(
        np.concatenate([np.asarray(v, dtype=np.int64) for v in positions.values()]),
        minlength=n_rows,
    )
    lost, dup = int((seen[:n_rows] == 0).sum()), int((seen > 1).sum())
    extra = int(seen[n_rows:].sum())
    if lost or dup or extra or sum(counts.values()) != n_rows:
        raise ConservationError(
            f"The run would write {sum(counts.values())} rows ({counts}) for {n_rows} input "
            f"rows ({lost} lost, {dup} duplicated, {extra} unknown); nothing was written "
            "and the store is unchanged. Please report this bug."
        )


def _report(
    cdf, per_row, decisions, on_list, counts_30d, total, previous, base, new_since, as_of, policy,
    decay,
) -> dict:
    """What happened, deterministically: the same store state gives the same report.

    *on_list*: which rows of *decisions* are addresses of this list (the policy decides
    for every address of the store's history too)."""
    dec = per_row["decision"]
    outcomes = {
        "rows": len(cdf),
        "clean": int((dec == "keep").sum()),
        "suppressed": int((dec == "suppress").sum()),
        "reconfirm": int((dec == "reconfirm").sum()),
    }
    by_rule = {
        outcome: {str(k): int(v) for k, v in per_row.loc[dec == d, "rule"].value_counts().items()}
        for outcome, d in (("suppressed", "suppress"), ("reconfirm", "reconfirm"))
    }
    flagged = per_row["flags"].to_numpy(dtype=object)
    flagged = collections.Counter(  # only the few flagged rows are split
        f for v in flagged[flagged != ""] for f in str(v).split(",")
    )
    flags = {str(k): int(flagged[k]) for k in sorted(flagged)}

    # ---- what changed since the last run of an earlier night, for the addresses on this
    # list (one row per address, as the policy decides them). The store decides for every
    # address it has seen, but an address that merely left the list was not "released",
    # and one that is not on it is not news about this list.
    listed = decisions.loc[on_list, ["address", "decision", "rule"]]
    now = listed[listed["decision"].to_numpy(dtype=object) != "keep"]
    now_dec = now["decision"].to_numpy(dtype=object)
    before_dec = np.full(len(now), "", dtype=object)  # "": not in that snapshot
    released = 0
    if len(previous):
        prev = previous.drop_duplicates("address")
        prev_index = pd.Index(prev["address"].to_numpy(dtype=object))
        at = prev_index.get_indexer(now["address"].to_numpy(dtype=object))
        hit = at >= 0
        before_dec[hit] = prev["decision"].to_numpy(dtype=object)[at[hit]]
        kept = listed[listed["decision"].to_numpy(dtype=object) == "keep"]
        released = int((prev_index.get_indexer(kept["address"].to_numpy(dtype=object)) >= 0).sum())
    newly = (now_dec == "suppress") & (before_dec != "suppress")
    changes: dict = {
        "since_run_as_of": base["as_of"].date().isoformat() if base else None,
        "newly_suppressed": _count_by(now["rule"][newly]),
        "newly_reconfirm": int(((now_dec == "reconfirm") & (before_dec != "reconfirm")).sum()),
        "released": released,
    }

    # ---- events and bounce rates
    kinds = pd.Series(counts_30d, dtype="int64")
    attempts = int(sum(kinds.get(k, 0) for k in ("delivered", "hard", "soft", "block")))
    rates = {
        k: round(int(kinds.get(k, 0)) / attempts, 6) if attempts else None
        for k in ("hard", "soft", "block")
    }
    blocks = decisions.attrs.get("blocks", [])
    providers = [{**b, "first": _iso(b["first"]), "last": _iso(b["last"])} for b in blocks[:10]]

    return {
        "as_of": as_of.isoformat(),
        "outcomes": outcomes,
        "rules": by_rule,
        "flags": flags,
        "addresses": {str(k): int(v) for k, v in listed["decision"].value_counts().items()},
        "suppression_list": {
            str(k): int(v)
            for k, v in decisions["decision"].value_counts().items()
            if k != "keep"
        },
        "changes": changes,
        "events": {
            "total": int(total),
            "new_since_last_run": new_since,
            "last_30_days": {str(k): int(v) for k, v in kinds.items()},
            "bounce_rates_30_days": rates,
        },
        "sender_reputation": {
            "blocks_30_days": int(sum(b["blocks"] for b in blocks)),
            "providers": providers,
        },
        "decay": decay,
        "policy": {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(policy).items()},
    }


#: hard bounces in the store's history needed before the job fits its own decay rate;
#: with fewer, the 2.1%-a-month benchmark is used (and the report says so)
MIN_HARD_BOUNCES_TO_FIT = 30
#: at most this many addresses (a fixed-hash sample) go into the fit
FIT_SAMPLE = 200_000
#: the cohort chart reads every send outcome of the store; above this many it is skipped
MAX_COHORT_SENDS = 1_000_000
_DAYS_PER_MONTH = 365.25 / 12  # as listcare.decay


def _decay(cdf, email_col, keys, decisions, per_row, as_of):
    """The decay figures of the report: the rate (fitted from the store's history when it
    holds enough hard bounces, else the benchmark) and the expected hard-bounce share of
    the input list and of the clean list if mailed today.

    A row's age is the time since it was last known good: its address's last successful
    delivery in the store, else its acquisition date (``acquired_at``); a row whose
    address already hard-bounced counts as a certain bounce. *keys* are the policy's
    :class:`~listcare.policy.AddressCodes` (rows of *decisions*): every hard bounce and,
    of the deliveries, the last per address; the last delivery before a hard bounce is
    exact whenever nothing was delivered to the address after it bounced (it is
    suppressed from then on). Addresses are matched by those integer codes, never
    normalised again. Returns (report section, model, the frame of starts and addresses
    for the cohort chart, or None without dates).
    """
    from .decay import DecayModel, durations_of_pairs, match_keys

    n = len(cdf)
    nat = np.iinfo(np.int64).min
    acquired = keys.acquired  # the policy read it (None: the list has no such column)
    if acquired is None:
        acquired = np.full(n, nat, dtype=np.int64)
    has_start = (acquired != nat) & (acquired <= as_of.value)
    # rows without a usable date start at the epoch: only their deliveries are used
    start_ns = np.where(has_start, acquired, 0)
    ccode = keys.contacts if keys.contacts is not None else np.full(n, -1, dtype=np.int64)
    ek, ets = keys.event_kinds, keys.event_ts
    use = ((ek == _KIND_CODE["hard"]) | (ek == _KIND_CODE["delivered"])) & (ets != nat)
    e_code, e_ts, e_hard = keys.event_codes[use], ets[use], ek[use] == _KIND_CODE["hard"]
    pos, rep = match_keys(ccode, ccode >= 0, e_code)
    t = e_ts[rep]
    after = t >= start_ns[pos]
    d = durations_of_pairs(
        start_ns, pos[after], t[after], e_hard[rep[after]], as_of.value, index=pd.RangeIndex(n)
    )
    del pos, rep, t, after

    # ---- the rate: one row per address (duplicate rows are one person), dated, mailed
    first = np.zeros(n, dtype=bool)
    has_key = np.flatnonzero(ccode >= 0)
    first[has_key[np.unique(ccode[has_key], return_index=True)[1]]] = True
    fit_mask = first & has_start & d["mailed"].to_numpy(dtype=bool)
    mailed_n = int(fit_mask.sum())
    addresses = decisions["address"].to_numpy(dtype=object, na_value="")
    if mailed_n > FIT_SAMPLE:
        # a deterministic sample (by a fixed hash of the address): the rate's precision
        # is ample and the Weibull part of the fit stays seconds on a million contacts
        cand = np.flatnonzero(fit_mask)
        h = pd.util.hash_array(addresses[ccode[cand]], categorize=False)
        keep = cand[np.argsort(h, kind="stable")[:FIT_SAMPLE]]
        fit_mask = np.zeros(n, dtype=bool)
        fit_mask[keep] = True
    fit_rows = d[fit_mask]
    hard_n = int(fit_rows["event"].sum())
    model = DecayModel()
    source = "benchmark"
    fit_error = None
    if hard_n >= MIN_HARD_BOUNCES_TO_FIT and float(fit_rows["duration"].sum()) > 0:
        try:
            model = DecayModel().fit(
                fit_rows["duration"], fit_rows["event"], last_good=fit_rows["last_good"]
            )
            source = "fitted"
        except (ArithmeticError, ValueError, ListcareError) as exc:
            # the night's lists must still be written: the benchmark, and the report says why
            log.warning("decay fit failed, using the benchmark: %s", exc)
            model, fit_error = DecayModel(), f"{type(exc).__name__}: {exc}"
    decay = {
        "source": source,
        "monthly_rate": round(float(model.monthly_rate), 6),
        "monthly_rate_ci": (
            [round(float(x), 6) for x in model.monthly_rate_ci_] if source == "fitted" else None
        ),
        "annual_rate": round(float(model.annual_rate), 6),
        "hard_bounces_in_history": hard_n,
        "contacts_in_fit": int(len(fit_rows)) if source == "fitted" else 0,
        "mailed_addresses": mailed_n,
        "min_hard_bounces_to_fit": MIN_HARD_BOUNCES_TO_FIT,
        "fit_error": fit_error,
    }

    # ---- expected hard bounces if mailed today, per row: a hard bounce is a certain
    # bounce unless a delivery to the address came after it (the policy keeps those)
    small = nat
    last_dl = decisions["last_delivered"].array.asi8
    row_dl = np.full(n, small, dtype=np.int64)
    row_dl[has_key] = np.minimum(last_dl[ccode[has_key]], as_of.value)
    end_ns = _ns(d["end"])
    event = d["event"].to_numpy(dtype=bool) & ~(row_dl > end_ns)
    # and every row the policy suppressed for a hard bounce, also one dated before the
    # row's acquisition or not dated at all (the fit cannot use those; the forecast
    # must, or it would disagree with the report's own count of hard-bounced rows)
    event |= per_row["rule"].to_numpy(dtype=object) == "hard"
    delivered = (row_dl != small) & ~event
    good_ns = np.where(
        delivered, np.maximum(row_dl, np.where(has_start, start_ns, small)), start_ns
    )
    known = delivered | has_start
    age = (as_of.value - good_ns) / (_DAYS_PER_MONTH * 86400e9)
    age = np.where(known, np.maximum(age, 0.0), np.nan)
    gone = np.where(
        event, 1.0, np.where(known, np.asarray(model.decayed(np.nan_to_num(age))), np.nan)
    )

    def expect(mask) -> dict:
        rows = mask & (known | event)
        m = int(rows.sum())
        # the rate of the rows that can be aged stands for the list only if they are
        # most of it (an undated list: only its bounced and delivered rows, a biased few)
        enough = m > 0 and 2 * m >= int(mask.sum())
        alive = rows & ~event
        return {
            "rows": int(mask.sum()),
            "rows_with_age": m,
            "known_hard_bounced": int((rows & event).sum()),
            "mean_months_since_last_good": (
                round(float(age[alive].mean()), 2) if alive.any() else None
            ),
            "expected_hard_bounce_rate": round(float(gone[rows].mean()), 6) if enough else None,
        }

    decay["input_list"] = expect(np.ones(n, dtype=bool))
    decay["clean_list"] = expect(per_row["decision"].to_numpy() == "keep")
    # the headline figure (kept under its old name): the input list mailed as it is
    decay["expected_hard_bounce_rate"] = decay["input_list"]["expected_hard_bounce_rate"]
    starts = None
    if has_start.any():
        rows = np.flatnonzero(has_start)
        starts = pd.DataFrame(
            {
                "email": cdf[email_col].to_numpy()[rows],
                "start": pd.DatetimeIndex(start_ns[rows].view("M8[ns]")).tz_localize("UTC"),
            },
            index=rows,
        )
    return decay, model, starts


def _ns(values) -> np.ndarray:
    """UTC timestamps as int64 nanoseconds, whatever the column's resolution."""
    return pd.Series(values).astype("datetime64[ns, UTC]").array.asi8


def _cohorts(st: Store, starts, model, decay: dict, as_of, counts: dict):
    """Observed hard-bounce rate by age cohort of this list (every send outcome in the
    store), for the chart; None when the rate is the benchmark or nothing was mailed.
    *counts*: the store's events per kind up to *as_of* (the report's own count)."""
    from .decay import SEND_OUTCOMES, bounce_rate_by_cohort

    if starts is None or decay["source"] != "fitted":
        return None
    n_sends = sum(int(counts.get(k, 0)) for k in SEND_OUTCOMES)
    if n_sends > MAX_COHORT_SENDS:
        log.info("cohort chart skipped: %d send outcomes in the store", n_sends)
        return None
    sends = st.events(["recipient", "timestamp", "kind"], until=as_of, kinds=SEND_OUTCOMES)
    sends = sends[sends["timestamp"].notna()]
    table = bounce_rate_by_cohort(
        starts, sends, start="start", email_column="email", model=model, as_of=as_of
    )
    return table if int(table["mailed"].sum()) else None


def _count_by(s: pd.Series) -> dict:
    return {str(k): int(v) for k, v in s.value_counts().sort_index().items()}


def _iso(ts) -> str | None:
    return None if ts is None or pd.isna(ts) else pd.Timestamp(ts).isoformat()


def _notes(undated: bool, unreadable: dict, as_of=None, backdated=None) -> list[str]:
    """What a reader of the report should know about how far its figures go."""
    notes = []
    if backdated is not None:
        notes.append(
            f"This run is as of {night_text(as_of)}, before the store's latest run (as of "
            f"{night_text(backdated)}): its decisions leave out the evidence after "
            f"{night_text(as_of)}, and the next run reports its changes against this one. "
            "To look at an earlier night without replacing the outputs, use --dry-run."
        )
    for column, (n, cells) in sorted(unreadable.items()):
        notes.append(
            f"{n} row(s) whose {column} is not a date (e.g. "
            f"{', '.join(repr(c) for c in cells)}): those rows are aged by their "
            "deliveries alone. Dates may be ISO (2026-11-27), dotted day-first "
            "(27.11.2026) or slashed, one order per column."
        )
    if undated:
        notes.append(
            "The list has no acquired_at or last_contacted_at column: contacts are aged "
            "by their deliveries in the store alone, so the sunset rule cannot send a "
            "never-mailed contact to reconfirm. Name your date columns with "
            "--acquired / --last-contacted (Python: acquired_column=, last_contacted_column=)."
        )
    return notes


def _markdown(report: dict) -> str:
    o = report["outcomes"]
    lines = [
        f"# listcare clean run, as of {report['as_of'][:10]}",
        "",
        "| outcome | rows |",
        "|---|---:|",
        f"| clean | {o['clean']} |",
        f"| suppressed | {o['suppressed']} |",
        f"| reconfirm | {o['reconfirm']} |",
        f"| **input rows** | **{o['rows']}** |",
        "",
        ROWS_NOTE,
        "",
        *[f"> Note: {n}\n" for n in report.get("notes") or []],
        "## Why",
        "",
        "| outcome | rule | rows |",
        "|---|---|---:|",
    ]
    for outcome, rules in report["rules"].items():
        for rule, n in sorted(rules.items()):
            lines.append(f"| {outcome} | {rule} | {n} |")
    if report["flags"]:
        lines += [
            "",
            "Flags (rows; kept unless the policy says otherwise): "
            + ", ".join(f"{k} {v}" for k, v in sorted(report["flags"].items()))
            + ". The kept ones are listed with their flags in flagged.csv (and are in "
            "clean.csv too).",
        ]
    ch = report["changes"]
    lines += ["", "## Changes", ""]
    if ch["since_run_as_of"]:
        lines.append(f"Since the run as of {ch['since_run_as_of']}, of this list's addresses:")
    else:
        lines.append("First run: everything is new. Of this list's addresses:")
    ns = ", ".join(f"{k} {v}" for k, v in ch["newly_suppressed"].items()) or "none"
    lines += [
        f"- newly suppressed addresses: {sum(ch['newly_suppressed'].values())} ({ns})",
        f"- addresses newly to reconfirm: {ch['newly_reconfirm']}",
        f"- addresses no longer suppressed or to reconfirm: {ch['released']}",
        "",
        suppression_list_sentence(report.get("suppression_list") or {}),
        "",
        "## Bounces (last 30 days)",
        "",
    ]
    ev = report["events"]
    rates = ev["bounce_rates_30_days"]
    lines.append(
        f"{ev['total']} events in the store, {ev['new_since_last_run']} new since "
        f"{since_phrase(report)}. "
        + ", ".join(f"{k}: {_pct(v)}" for k, v in rates.items())
        + " of delivery attempts."
    )
    sr = report["sender_reputation"]
    if sr["blocks_30_days"]:
        lines += [
            "",
            "## Sender reputation alert",
            "",
            f"{sr['blocks_30_days']} messages were refused because of the *sender* (blocklists, "
            "spam filters, policy). These addresses are not suppressed; check your "
            "sending reputation with these providers:",
            "",
            "| provider | blocks | addresses | most common reason |",
            "|---|---:|---:|---|",
        ]
        lines += [
            f"| {p['provider']} | {p['blocks']} | {p['addresses']} | {p['reason']} |"
            for p in sr["providers"]
        ]
    lines += ["", "## Decay", ""]
    sentences = decay_sentences(report["decay"])
    lines += [sentences[0][0].upper() + sentences[0][1:], ""] + [f"- {x}" for x in sentences[1:]]
    return "\n".join(lines) + "\n"


def _pct(x) -> str:
    return "n/a" if x is None else f"{100 * x:.1f}%"


def _write_tables(out_dir: Path, outputs: dict, cdf, pending: list[Path]) -> float:
    """clean/suppressed/reconfirm as complete hidden ``.NAME.pending`` files (each
    added to *pending* before it is written); renamed after the commit. Returns seconds."""
    from .contacts import write_contacts

    t = time.perf_counter()
    for name in ("clean", "suppressed", "reconfirm", "flagged"):
        # the pending name ends in .pending: tell write_contacts it is CSV like the input
        tmp = out_dir / f".{name}.csv{_PENDING}"
        csv_tmp = tmp.with_name(tmp.name + ".csv")
        pending.extend([tmp, csv_tmp])
        with _writing(out_dir, f"{name}.csv"):
            write_contacts(
                outputs[name],
                csv_tmp,
                like=cdf if "listcare" in cdf.attrs else None,
                encoding=_output_encoding(cdf),
                # what the job adds (a remote server's bounce text) may hold characters
                # the list's own encoding has not: escaped, never a failed night
                unencodable="escape",
            )
            os.replace(csv_tmp, tmp)
        pending.remove(csv_tmp)
    return time.perf_counter() - t


@contextlib.contextmanager
def _writing(out_dir: Path, name: str) -> Iterator[None]:
    """An OS error while an output is written as :class:`OutputError` naming the output
    (not its hidden temporary file); nothing was committed or replaced."""
    try:
        yield
    except (OSError, OutputError) as exc:
        why = exc.strerror if isinstance(exc, OSError) else None
        if why is None and isinstance(exc.__cause__, OSError):
            why = exc.__cause__.strerror
        raise OutputError(
            f"Cannot write {name} in {str(out_dir)!r}: {why or exc}. Nothing was "
            "committed and the previous outputs are untouched."
        ) from exc


def _write_report_files(out_dir: Path, report: dict, chart: dict | None, pending: list) -> None:
    """decay.png, report.md and report.json as hidden ``.NAME.pending`` files."""
    from .atomic import atomic_write_bytes, atomic_write_text

    def target(name):
        p = out_dir / f".{name}{_PENDING}"
        pending.append(p)
        return p

    with _writing(out_dir, "decay.png"):
        atomic_write_bytes(target("decay.png"), _chart(report, chart or {}, out_dir / "decay.png"))
    with _writing(out_dir, "report.md"):
        atomic_write_text(target("report.md"), _markdown(report))
    with _writing(out_dir, "report.json"):
        atomic_write_text(
            target("report.json"), json.dumps(report, indent=2, sort_keys=True, default=str) + "\n"
        )


def _publish(pending: list[Path], out_dir: Path) -> dict:
    """Rename the pending files over the outputs (report.json last), then fsync the folder."""
    written = {}
    for p in pending:
        final = p.with_name(p.name[1 : -len(_PENDING)])
        with _writing(out_dir, final.name):
            os.replace(p, final)
        written[final.name] = str(final)
    _fsync_dir(out_dir)
    return written


def _chart(report: dict, chart: dict, previous: Path | None = None) -> bytes:
    """The headline chart as PNG bytes: this list's decay model (fitted, or the benchmark
    when the store has too little history) with the observed hard-bounce rate of this
    list's age cohorts, titled with the list's name and the run's date.

    The PNG records a signature of everything drawn in its Description; when *previous*
    (the last chart) has the same one, its bytes are reused (a rerun draws nothing).
    Fixed metadata (no software version, no date) makes the bytes depend on the inputs only.
    """
    import hashlib
    import io

    from .decay import DecayModel

    d = report["decay"]
    model = chart.get("model") or DecayModel(d["monthly_rate"])
    cohorts = chart.get("cohorts")
    name = chart.get("list_name") or "the contact list"
    day = report["as_of"][:10]
    if d.get("source") == "fitted":
        title = f"{name}, as of {day}: decay fitted from its bounce history"
        if cohorts is None:
            title += " (observed cohorts not drawn)"
    else:
        title = f"{name}, as of {day}: too little bounce history to fit, 2.1%-a-month benchmark"
    table = "" if cohorts is None else cohorts.to_csv(index=False, float_format="%.9g")
    digest = hashlib.sha256(
        json.dumps([title, d, table], sort_keys=True, default=str).encode()
    ).hexdigest()[:16]
    signature = f"listcare decay chart v2, monthly_rate={d['monthly_rate']!r}, inputs={digest}"
    if previous is not None:
        with contextlib.suppress(OSError):
            data = previous.read_bytes()
            if data.startswith(b"\x89PNG") and signature.encode("latin-1") in data:
                return data

    # a Figure of its own, not pyplot's: no GUI backend, no global figure registry to
    # close, and a third of a second less to import every night
    from matplotlib.figure import Figure

    from .plotting import plot_decay_vs_bounce

    fig = Figure(figsize=(9, 6), dpi=100, layout="constrained")
    ax = plot_decay_vs_bounce(model, cohorts, ax=fig.add_subplot())
    ax.set_title(title, fontsize=10)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100, metadata={"Software": None, "Description": signature})
    return buf.getvalue()


def night_text(when) -> str:
    """A run's ``as_of`` for a person: its date, with the time of day (UTC) when it is not
    midnight (two runs on one date are then told apart)."""
    ts = _to_utc(when)
    if ts == ts.normalize():
        return f"{ts:%Y-%m-%d}"
    return f"{ts:%Y-%m-%d %H:%M:%S} UTC" if ts.second or ts.microsecond else f"{ts:%Y-%m-%d %H:%M} UTC"


def _check_list_not_an_output(path: str, out_dir: Path) -> None:
    for name in OUTPUT_FILES:
        if _same_path(out_dir / name, path):
            raise OutputError(
                f"The contact list {path!r} is inside the output folder as "
                f"{name!r} and would be overwritten; use another --out-dir."
            )


def _check_store_not_an_output(store_path: Path, out_dir: Path) -> None:
    """A store named as one of the files every run replaces (or as its temporary file)
    would be renamed over by that output after the commit, its data left in the -wal.
    (Names compared without case: on macOS and Windows "Report.json" is report.json.)"""
    for name in OUTPUT_FILES:
        if store_path.name.casefold() in (name, f".{name}{_PENDING}") and _same_path(
            store_path.parent, out_dir
        ):
            raise ConfigError(
                f"The store {str(store_path)!r} is the output folder's {name!r}, which "
                "every run replaces; give --store another name (e.g. "
                f"{str(store_path.with_name('listcare.db'))!r}). Nothing was done."
            )


def _same_path(a, b) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return os.path.abspath(a) == os.path.abspath(b)


def _fsync_dir(directory: Path) -> None:
    from .atomic import _fsync_dir as fsync

    fsync(os.fspath(directory))
