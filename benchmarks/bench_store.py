"""Benchmark: storing a night's new events (``Store.add_events``) alone and beside a busy
Python thread, against the driver's ``executemany``.

    python benchmarks/bench_store.py                           # the next night's size
    python benchmarks/bench_store.py --history 100000 --rows 20000  # quick

The nightly job stores the night's events in its main thread while a worker thread
reads and validates the contact list. Python's sqlite3 releases the GIL around every
``sqlite3_step``; ``executemany`` steps once per row, and each time must win the GIL
back from a thread running Python, which gives it up only every switch interval (5 ms).
This measures, on a store already holding ``--history`` events (the history index in
place):

* ``listcare``: ``Store.add_events`` (multi-row statements of up to 2,000 rows);
* ``naive``: the same INSERT, one row per step, through the driver's ``executemany``.

Each alone, then beside a thread that runs pure Python the whole time. Beside that
thread the naive insert crawls (every row waits a switch interval), so it is timed on
``--naive-rows`` rows only and compared in rows per second. It prints rows/s, seconds,
peak RSS and the ratios.
"""

from __future__ import annotations

import argparse
import resource
import shutil
import sqlite3
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from listcare import schema  # noqa: E402
from listcare.store import Store, _micros, _nullable  # noqa: E402


def events(n: int, start: int) -> pd.DataFrame:
    i = np.arange(start, start + n)
    rng = np.random.default_rng(start)
    kinds = np.where(rng.random(n) < 0.95, "delivered", "hard")
    return pd.DataFrame(
        {
            "event_id": [f"{k:032x}" for k in i],
            "timestamp": pd.Timestamp("2026-08-01", tz="UTC") + pd.to_timedelta(i, unit="s"),
            "recipient": [f"user{k % 900_000}@d{k % 5000}.example" for k in i],
            "kind": kinds,
            "reason": np.where(kinds == "hard", "userunknown", "delivered"),
            "status": np.where(kinds == "hard", "5.1.1", "2.0.0"),
            "reply_code": np.where(kinds == "hard", "550", "250"),
            "diagnostic": np.where(kinds == "hard", "550 5.1.1 User unknown", "250 2.0.0 Ok"),
            "remote_mta": "mx1.example.net",
            "queue_id": [f"Q{k:09X}" for k in i],
            "source_format": "postfix",
            "source": "/var/log/mail.log",
            "position": i + 1,
        }
    )


class Busy:
    """A thread running pure Python (as the job's worker does in its comprehensions)."""

    def __enter__(self):
        self._stop = False

        def spin():
            while not self._stop:
                [str(k).lower() for k in range(10_000)]

        self._t = threading.Thread(target=spin, daemon=True)
        self._t.start()
        return self

    def __exit__(self, *exc):
        self._stop = True
        self._t.join()


def naive_insert(db: Path, df: pd.DataFrame, run_id: int) -> int:
    """The same INSERT as the store's, one row per step (``executemany``)."""
    df = schema.coerce(df, schema.EVENT_COLUMNS)
    names = [*schema.EVENT_COLUMNS, "run_id"]
    cols = [_micros(df[c]) if c == "timestamp" else _nullable(df[c]) for c in schema.EVENT_COLUMNS]
    cols.append(np.full(len(df), run_id, dtype=object))
    rows = list(zip(*[c.tolist() for c in cols], strict=True))
    con = sqlite3.connect(db, isolation_level=None)
    try:
        con.execute("BEGIN")
        cur = con.executemany(
            f"INSERT INTO events ({', '.join(names)}) VALUES ({', '.join('?' * len(names))}) "
            "ON CONFLICT (event_id) DO NOTHING",
            rows,
        )
        con.execute("COMMIT")
        return cur.rowcount
    finally:
        con.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--history", type=int, default=1_000_000, help="events already stored")
    ap.add_argument("--rows", type=int, default=100_000, help="new events to store")
    ap.add_argument("--naive-rows", type=int, default=2_000, help="naive rows beside a thread")
    args = ap.parse_args()

    with tempfile.TemporaryDirectory(prefix="listcare-bench-store-") as tmp:
        base = Path(tmp) / "base.db"
        t = time.perf_counter()
        with Store(base) as st:
            for start in range(0, args.history, 250_000):
                st.add_events(events(min(250_000, args.history - start), start), run_id=1)
        print(f"store with {args.history:,} events built in {time.perf_counter() - t:.1f} s")
        new = events(args.rows, 10**9)
        few = new.iloc[: args.naive_rows]

        def copy(name: str) -> Path:
            p = Path(tmp) / name
            for suffix in ("", "-wal", "-shm"):
                if Path(f"{base}{suffix}").exists():
                    shutil.copy(f"{base}{suffix}", f"{p}{suffix}")
            return p

        results = {}
        for busy in (False, True):
            for how in ("listcare", "naive"):
                df = few if (busy and how == "naive") else new
                db = copy(f"{how}-{busy}.db")
                ctx = Busy() if busy else None
                if ctx:
                    ctx.__enter__()
                try:
                    t = time.perf_counter()
                    if how == "listcare":
                        with Store(db) as st:
                            n = st.add_events(df, run_id=2)
                    else:
                        n = naive_insert(db, df, 2)
                    secs = time.perf_counter() - t
                finally:
                    if ctx:
                        ctx.__exit__(None, None, None)
                assert n == len(df), (how, busy, n)
                results[(how, busy)] = len(df) / secs
                where = "beside a busy thread" if busy else "alone"
                print(
                    f"{how:9} {where:21} {len(df):>9,} rows {secs:7.2f} s "
                    f"{len(df) / secs:>11,.0f} rows/s"
                )
        for busy in (False, True):
            ratio = results[("listcare", busy)] / results[("naive", busy)]
            print(f"listcare / naive, {'beside a busy thread' if busy else 'alone'}: {ratio:.1f}x")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS {peak:.0f} MB")


if __name__ == "__main__":
    main()
