"""Benchmark: durations from contacts + events, then a decay fit (issue 4).

Default size is the issue's: 10,000,000 contacts and 2,000,000 events. Two approaches run
on the same deterministic data, each in its own process so each gets its own peak RSS:

* listcare: ``durations_from`` (vectorised address matching) + ``DecayModel().fit``
  (exponential with interval, Weibull with profile interval and test, Kaplan-Meier);
* naive: pandas merge + groupby for the durations, then lifelines' ExponentialFitter.

Run:  python3 benchmarks/bench_decay.py [--contacts N] [--events M]
Target: listcare at least as fast as lifelines' fit alone, peak RSS under 4 GB.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
import warnings

import numpy as np
import pandas as pd

AS_OF = pd.Timestamp("2026-06-30", tz="UTC")
MONTH_NS = 365.25 / 12 * 86_400e9


def make_data(n_contacts: int, n_events: int, seed: int = 4):
    """Contacts acquired over 4 years; events pick random contacts (some upper-cased)."""
    rng = np.random.default_rng(seed)
    emails = [f"user{i}@d{i % 997}.example" for i in range(n_contacts)]
    base = pd.Timestamp("2022-06-30", tz="UTC").value
    acquired = base + rng.integers(0, int(48 * MONTH_NS), n_contacts)
    contacts = pd.DataFrame({"email": emails, "acquired_at": pd.to_datetime(acquired, utc=True)})
    who = rng.integers(0, n_contacts, n_events)
    when = acquired[who] + rng.exponential(12 * MONTH_NS, n_events).astype(np.int64)
    when = np.minimum(when, AS_OF.value)
    kind = rng.choice(
        np.array(["delivered", "hard", "soft", "block"], dtype=object),
        n_events,
        p=[0.8, 0.1, 0.07, 0.03],
    )
    recipient = np.array(emails, dtype=object)[who]
    upper = np.arange(n_events) % 7 == 0
    recipient[upper] = [r.upper() for r in recipient[upper]]
    events = pd.DataFrame(
        {"recipient": recipient, "timestamp": pd.to_datetime(when, utc=True), "kind": kind}
    )
    return contacts, events


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # Linux: KiB


def stage_listcare(n_contacts: int, n_events: int) -> dict:
    from listcare.decay import DecayModel, durations_from

    contacts, events = make_data(n_contacts, n_events)
    t0 = time.perf_counter()
    d = durations_from(contacts, events, as_of=AS_OF)
    t1 = time.perf_counter()
    model = DecayModel().fit(d["duration"], d["event"])
    t2 = time.perf_counter()
    return {
        "durations_s": t1 - t0,
        "fit_s": t2 - t1,
        "total_s": t2 - t0,
        "rss_mb": peak_rss_mb(),
        "monthly_rate": model.monthly_rate_,
        "events": model.events_,
        "weibull_shape": model.weibull_shape_,
    }


def stage_naive(n_contacts: int, n_events: int) -> dict:
    from lifelines import ExponentialFitter

    contacts, events = make_data(n_contacts, n_events)
    t0 = time.perf_counter()
    c = contacts.assign(key=contacts["email"].str.strip().str.lower(), row=np.arange(len(contacts)))
    e = events.assign(key=events["recipient"].str.strip().str.lower())
    e = e[e["kind"].isin(["hard", "delivered"]) & (e["timestamp"] <= AS_OF)]
    m = c[["key", "row", "acquired_at"]].merge(e[["key", "timestamp", "kind"]], on="key")
    m = m[m["timestamp"] >= m["acquired_at"]]
    hard = m[m["kind"] == "hard"].groupby("row")["timestamp"].min()
    ok = m[m["kind"] == "delivered"].groupby("row")["timestamp"].max()
    end = pd.Series(AS_OF, index=c["row"])
    end.loc[ok.index] = ok
    end.loc[hard.index] = hard
    event = np.zeros(len(c), dtype=bool)
    event[hard.index.to_numpy()] = True
    dur = (end.to_numpy() - c["acquired_at"].to_numpy()) / pd.Timedelta(days=365.25 / 12)
    t1 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fitter = ExponentialFitter().fit(np.maximum(dur, 1e-9), event)
    t2 = time.perf_counter()
    return {
        "durations_s": t1 - t0,
        "fit_s": t2 - t1,
        "total_s": t2 - t0,
        "rss_mb": peak_rss_mb(),
        "monthly_rate": float(-np.expm1(-1.0 / fitter.lambda_)),
        "events": int(event.sum()),
    }


def run_stage(name: str, n_contacts: int, n_events: int) -> dict:
    out = subprocess.run(
        [
            sys.executable,
            __file__,
            "--stage",
            name,
            "--contacts",
            str(n_contacts),
            "--events",
            str(n_events),
        ],
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--contacts", type=int, default=10_000_000)
    ap.add_argument("--events", type=int, default=2_000_000)
    ap.add_argument("--stage", choices=["listcare", "naive"], help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.stage:
        fn = stage_listcare if args.stage == "listcare" else stage_naive
        print(json.dumps(fn(args.contacts, args.events)))
        return
    print(
        f"bench_decay: {args.contacts:,} contacts, {args.events:,} events (data generation not timed)"
    )
    ours = run_stage("listcare", args.contacts, args.events)
    naive = run_stage("naive", args.contacts, args.events)
    for label, r in (
        ("listcare (durations_from + DecayModel.fit)", ours),
        ("naive (pandas merge + lifelines ExponentialFitter)", naive),
    ):
        print(
            f"  {label}:\n    durations {r['durations_s']:.2f} s, fit {r['fit_s']:.2f} s, total {r['total_s']:.2f} s "
            f"({args.contacts / r['total_s']:,.0f} contacts/s), peak RSS {r['rss_mb']:,.0f} MB, "
            f"monthly rate {r['monthly_rate']:.5f}, events {r['events']:,}"
        )
    print(
        f"  listcare fit includes Weibull + Kaplan-Meier (Weibull shape {ours['weibull_shape']:.3f})"
    )
    print(f"  ratio fit (lifelines / listcare): {naive['fit_s'] / ours['fit_s']:.1f}x")
    print(f"  ratio total (naive / listcare): {naive['total_s'] / ours['total_s']:.1f}x")
    if (
        abs(ours["monthly_rate"] - naive["monthly_rate"]) > 1e-6
        or ours["events"] != naive["events"]
    ):
        print("  WARNING: the two approaches disagree")
        sys.exit(1)


if __name__ == "__main__":
    main()
