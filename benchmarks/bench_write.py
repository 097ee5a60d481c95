"""Benchmark: ``listcare.write_contacts`` on a 1,000,000-row list against pandas' ``to_csv``.

    python benchmarks/bench_write.py               # the nightly job's size
    python benchmarks/bench_write.py --rows 50000  # quick

The nightly job writes its lists (clean, suppressed, reconfirm, flagged: together about
the whole input list) with ``write_contacts`` every night. This generates the bench
list of benchmarks/_gen.py (email, name, acquisition date; some cells a spreadsheet
would run as a formula, some with the separator or quotes in them) and writes it:

* ``listcare``: ``write_contacts(df, path, like=df)`` (formula guard, the list's own
  separator and line ending, atomic write, rows built a column at a time);
* ``naive``: the same guarded frame through ``DataFrame.to_csv`` (the csv module's row
  loop), the way write_contacts wrote before.

Each runs in a fresh child process (its own peak RSS). It prints rows/s, seconds, peak
RSS, the ratio, and whether both files are byte for byte the same.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def generate(path: Path, rows: int) -> None:
    import numpy as np
    from _gen import make_list

    emails, _, _ = make_list(rows, max(10, rows // 20))
    rng = np.random.default_rng(7)
    days = rng.integers(0, 2000, size=len(emails))
    names = [f"Contact {i}" for i in range(len(emails))]
    for i in range(0, len(names), 997):  # text a CSV writer must quote
        names[i] = f'Doe, "Jo" {i}'
    for i in range(5, len(names), 1009):  # a formula the guard must neutralise
        names[i] = f"=HYPERLINK(\"http://x.example/{i}\")"
    with open(path, "w", encoding="utf-8", newline="") as f:
        f.write("email,name,acquired_at\r\n")
        for e, n, d in zip(emails, names, days, strict=True):
            day = f"2021-01-01+{int(d)}"
            f.write(f"{_quote(e)},{_quote(n)},{day}\r\n")


def _quote(v: str) -> str:
    if any(c in v for c in ',"\r\n'):
        return '"' + v.replace('"', '""') + '"'
    return v


def stage(name: str, src: Path, out: Path) -> dict:
    import csv

    from listcare.contacts import escape_formulas, read_contacts, write_contacts

    df = read_contacts(src)
    before = _peak_rss_mb()
    t = time.perf_counter()
    if name == "listcare":
        write_contacts(df, out, like=df)
    else:
        info = df.attrs["listcare"]
        with open(out, "w", encoding=info["encoding"], newline="") as f:
            escape_formulas(df).to_csv(
                f, sep=info["sep"], index=False, lineterminator=info["lineterminator"],
                quoting=csv.QUOTE_MINIMAL, quotechar='"', doublequote=True, na_rep="",
            )
    seconds = time.perf_counter() - t
    return {
        "stage": name,
        "rows": len(df),
        "seconds": seconds,
        "peak_rss_mb": _peak_rss_mb(),
        "rss_before_mb": before,
        "sha256": hashlib.sha256(out.read_bytes()).hexdigest(),
    }


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--rows", type=int, default=1_000_000)
    p.add_argument("--stage", help=argparse.SUPPRESS)
    p.add_argument("--src", help=argparse.SUPPRESS)
    p.add_argument("--out", help=argparse.SUPPRESS)
    a = p.parse_args(argv)
    if a.stage:
        print(json.dumps(stage(a.stage, Path(a.src), Path(a.out))))
        return 0
    with tempfile.TemporaryDirectory(prefix="lc-bench-write-") as tmp:
        src = Path(tmp) / "contacts.csv"
        generate(src, a.rows)
        res = {}
        for name in ("listcare", "naive"):
            cmd = [sys.executable, __file__, "--stage", name, "--src", str(src),
                   "--out", str(Path(tmp) / f"{name}.csv")]
            proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
            if proc.returncode != 0:
                sys.stderr.write(proc.stderr)
                raise SystemExit(f"{name} failed")
            res[name] = json.loads(proc.stdout.strip().splitlines()[-1])
    print(f"{a.rows:,} rows (email, name, acquired_at)")
    for name, r in res.items():
        print(
            f"  {name:<9} {r['rows'] / r['seconds']:>12,.0f} rows/s  {r['seconds']:6.2f} s  "
            f"peak RSS {r['peak_rss_mb']:,.0f} MB (list read: {r['rss_before_mb']:,.0f} MB)"
        )
    ratio = res["naive"]["seconds"] / res["listcare"]["seconds"]
    print(f"write_contacts is {ratio:.1f}x the naive to_csv")
    print(f"same bytes: {res['listcare']['sha256'] == res['naive']['sha256']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
