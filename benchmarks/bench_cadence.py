"""Benchmark: plan the cadence of 1,000,000 contacts over 180 days.

Prints the time and peak RSS of :func:`listcare.plan_cadence` and of a naive planner
(the same rules written with Python loops over every contact on every send day) measured
in the same run on a sample and extrapolated linearly (it is linear in the contacts),
the ratio, and whether both planned the very same sends for the sample.
Target (issue 6): under 10 s and 1.5 GB on 2 cores.

    python3 benchmarks/bench_cadence.py              # 1,000,000 contacts
    python3 benchmarks/bench_cadence.py -n 100000    # a quicker run
"""

from __future__ import annotations

import argparse
import bisect
import datetime
import math
import resource
import sys
import time
import warnings

import numpy as np
import pandas as pd

from listcare.cadence import CapacityWarning, plan_cadence

AS_OF = pd.Timestamp("2026-11-27")


def peak_rss_mb() -> float:
    kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    return kb / 1024.0 if sys.platform != "darwin" else kb / 2**20


def make_contacts(n: int, seed: int = 6) -> pd.DataFrame:
    """Deterministic contacts as read from a CSV: strings, some last contacts empty."""
    rng = np.random.default_rng(seed)
    acquired = AS_OF - pd.to_timedelta(rng.integers(0, 900, n), unit="D")
    since = rng.integers(0, 400, n)
    last = acquired + pd.to_timedelta(np.minimum(since, (AS_OF - acquired).days), unit="D")
    last = AS_OF - (AS_OF - last)
    never = rng.random(n) < 0.15
    last_s = last.strftime("%Y-%m-%d").to_numpy(dtype=object)
    last_s[never] = ""
    return pd.DataFrame(
        {
            "email": [f"contact{i}@example{i % 97}.com" for i in range(n)],
            "acquired_at": acquired.strftime("%Y-%m-%d"),
            "last_contacted_at": last_s,
            "source": np.where(rng.random(n) < 0.5, "webinar", "shop"),
        }
    )


def naive_plan(df: pd.DataFrame, *, interval: int, horizon: int, capacity: int | None,
               sunset: int = 365) -> list[tuple[int, str, int]]:
    """The same plan written the obvious way: Python loops over every contact, every day.

    Same rules as :func:`listcare.plan_cadence` (Mon-Fri, reconfirmation batches first,
    earliest deadline first at the water-filling level, release after half the interval),
    so its sends can be compared one by one. Returns (send-day index, email, wave) of the
    regular waves.
    """
    as_of = AS_OF.date()
    days = [d for d in range(horizon) if (AS_OF + pd.Timedelta(days=d)).weekday() < 5]
    n_days = len(days)
    half = max(1, math.ceil(interval / 2))

    def last_le(off):
        return bisect.bisect_right(days, off) - 1

    def first_ge(off):
        return bisect.bisect_left(days, max(off, 0))

    regular, stale = [], []
    for rec in df.itertuples(index=False):
        d = rec.last_contacted_at or rec.acquired_at
        off = min(0, (datetime.date.fromisoformat(d) - as_of).days)
        (stale if -off > sunset else regular).append((off, rec.email))
    # listcare breaks ties by a stable hash of the casefolded address
    folded = np.array([e.strip().casefold() for e in df["email"]], dtype=object)
    hashes = dict(zip(df["email"], pd.util.hash_array(folded, categorize=False).tolist(), strict=True))

    def tie(email):
        return hashes[email]

    stale.sort(key=lambda c: (-c[0], tie(c[1])))
    rc_per_day = [0] * n_days
    if stale:
        batch = math.ceil(len(stale) / n_days)
        if capacity is not None:
            batch = min(batch, max(1, capacity // 10))
        for i in range(len(stale)):
            if i // batch < n_days:
                rc_per_day[i // batch] += 1
    cap = None if capacity is None else [max(capacity - r, 0) for r in rc_per_day]
    regular.sort(key=lambda c: (c[0] + interval, tie(c[1])))
    contacts = [
        {"pos": i, "email": e, "dl": off + interval, "rel": off + half, "wave": 0}
        for i, (off, e) in enumerate(regular)
    ]
    sends, acc = [], 0.0
    for t in range(n_days):
        pending = [c for c in contacts if c["dl"] < horizon]
        if not pending:
            break
        counts = [0] * (n_days - t)
        for c in pending:
            counts[min(max(max(last_le(c["dl"]), 0) - t, 0), n_days - t - 1)] += 1
        cum, run = [], 0
        for x in counts:
            run += x
            cum.append(run)
        rate = max(0.0, max((cum[k] - acc) / (k + 1) for k in range(len(cum))))
        if cap is None:
            need, room = cum[0], len(contacts)
        else:
            future, run = [], 0
            for k in range(len(cum)):
                future.append(run)
                if t + k + 1 < n_days:
                    run += cap[t + k + 1]
            need, room = max(0, max(cum[k] - future[k] for k in range(len(cum)))), cap[t]
        acc = min(acc + rate, rate + 1.0)
        want = min(max(need, math.floor(acc + 1e-9)), room)
        if want <= 0:
            continue
        cands = sorted(
            (max(last_le(c["dl"]), 0), c["pos"], c) for c in pending if first_ge(c["rel"]) <= t
        )
        chosen = cands[:want]
        if not chosen:
            continue
        acc = max(acc - len(chosen), 0.0)
        for _, _, c in chosen:
            c["wave"] += 1
            sends.append((t, c["email"], c["wave"]))
            c["dl"] = days[t] + interval
            c["rel"] = days[t] + half
    return sends


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-n", type=int, default=1_000_000, help="contacts (default 1,000,000)")
    ap.add_argument("--naive-sample", type=int, default=20_000, help="contacts for the naive run")
    ap.add_argument("--capacity", type=int, default=None, help="daily capacity (default n / 25)")
    args = ap.parse_args()
    n = args.n
    capacity = args.capacity or max(1, n // 25)

    df = make_contacts(n)
    rss_data = peak_rss_mb()
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CapacityWarning)  # reported below as feasible=
        plan = plan_cadence(df, as_of=AS_OF, every="60D", daily_capacity=capacity, horizon="180D")
    fast = time.perf_counter() - t0
    rss = peak_rss_mb()
    print(f"plan_cadence: {n:,} contacts, 180 days, capacity {capacity:,}/day")
    print(f"  {len(plan):,} sends planned on {int((plan.daily['volume'] > 0).sum())} send days, "
          f"feasible={plan.feasible}, busiest day {int(plan.daily['volume'].max()):,}")
    print(f"  time {fast:.2f} s ({n / fast:,.0f} contacts/s); peak RSS {rss:,.0f} MB "
          f"(data alone {rss_data:,.0f} MB)")

    m = min(args.naive_sample, n)
    sample = df.iloc[:m].reset_index(drop=True)
    cap_m = max(1, capacity * m // n)
    t0 = time.perf_counter()
    naive = naive_plan(sample, interval=60, horizon=180, capacity=cap_m)
    slow = (time.perf_counter() - t0) * (n / m)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CapacityWarning)
        small = plan_cadence(sample, as_of=AS_OF, every="60D", daily_capacity=cap_m, horizon="180D")
    regular = small[small["wave"] >= 1]
    fast_sends = sorted(zip(((regular["date"] - AS_OF).dt.days).tolist(), regular["email"], regular["wave"], strict=True))
    days = sorted({d for d in range(180) if (AS_OF + pd.Timedelta(days=d)).weekday() < 5})
    naive_sends = sorted((days[t], e, w) for t, e, w in naive)
    print(f"naive per-contact loop: {m:,}-contact sample, extrapolated to {n:,}: {slow:,.1f} s "
          f"({n / slow:,.0f} contacts/s; it is linear in the contacts)")
    print(f"  same {len(naive_sends):,} sends as plan_cadence on the sample: {fast_sends == naive_sends}")
    print(f"ratio: plan_cadence is {slow / fast:,.1f}x faster")
    target = "met" if fast < 10 and rss < 1536 else "NOT met"
    print(f"target (< 10 s, < 1.5 GB): {target}")


if __name__ == "__main__":
    main()
