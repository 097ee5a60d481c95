"""Render the README charts to docs/images/*.png.

Uses the bundled example data (listcare/data/examples/contacts.csv with its
``acquired_at`` column and postfix.log, read through read_contacts/read_bounces) when it
is there; ``--simulate`` (or missing example data) uses a deterministic simulated list
instead and says so on the charts.

    python3 scripts/make_charts.py [--out docs/images] [--as-of 2026-11-01] [--simulate]
"""

from __future__ import annotations

import argparse
import io
import math
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from listcare import DecayModel, bounce_rate_by_cohort, durations_from  # noqa: E402
from listcare.atomic import atomic_write_bytes  # noqa: E402
from listcare.decay import MONTH_DAYS  # noqa: E402
from listcare.plotting import plot_decay_vs_bounce, plot_events, plot_survival  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "listcare" / "data" / "examples"


#: the date the bundled example log runs up to (listcare/data/examples/README.md)
EXAMPLES_AS_OF = "2026-11-01"


def example_data(as_of):
    """(contacts, events, as_of, label) from the bundled examples, or None if absent."""
    contacts_csv, log = EXAMPLES / "contacts.csv", EXAMPLES / "postfix.log"
    if not (contacts_csv.is_file() and log.is_file()):
        return None
    from listcare import read_bounces, read_contacts

    contacts = read_contacts(contacts_csv)
    if "acquired_at" not in contacts.columns:
        print(f"{contacts_csv} has no acquired_at column", file=sys.stderr)
        return None
    as_of = as_of or EXAMPLES_AS_OF
    events = read_bounces([str(log)], as_of=as_of)
    return contacts, events, as_of, "bundled example data"


def simulated_data(seed: int = 2026):
    """A list of 5,000 contacts from four sources, mailed roughly quarterly, 2.1%/month."""
    rng = np.random.default_rng(seed)
    n = 5000
    as_of = pd.Timestamp("2026-06-30", tz="UTC")
    age0 = rng.uniform(0, 42, n)
    start = as_of - pd.to_timedelta(age0 * MONTH_DAYS, unit="D")
    life = rng.exponential(1 / -math.log1p(-0.021), n)
    emails = np.array([f"contact{i}@example.com" for i in range(n)], dtype=object)
    # old contacts were imported and first mailed late (like the 2008 list mailed in 2010)
    first = np.where(
        rng.random(n) < 0.5, rng.uniform(0, age0), np.minimum(age0, rng.uniform(0, 3, n))
    )
    k = np.arange(0, 15)
    send = first[:, None] + 3 * k[None, :] + rng.uniform(-0.5, 0.5, (n, k.size))
    sent = (send >= 0) & (send <= age0[:, None])
    bad = send >= life[:, None]
    stop = np.where(bad & sent, send, np.inf).min(axis=1)
    keep = sent & (send <= stop[:, None])
    rows, cols = np.nonzero(keep)
    kind = np.where(
        bad[rows, cols], "hard", np.where(rng.random(rows.size) < 0.03, "soft", "delivered")
    )
    events = pd.DataFrame(
        {
            "recipient": emails[rows],
            "timestamp": start[rows] + pd.to_timedelta(send[rows, cols] * MONTH_DAYS, unit="D"),
            "kind": kind,
        }
    )
    source = rng.choice(["web-form", "trade-fair", "whitepaper", "purchased"], n)
    contacts = pd.DataFrame({"email": emails, "acquired_at": start, "source": source})
    return contacts, events, as_of, "simulated data (2.1% a month)"


def save(ax, path: Path) -> None:
    buf = io.BytesIO()
    ax.figure.savefig(buf, format="png", dpi=110)
    atomic_write_bytes(path, buf.getvalue())
    print(f"wrote {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description="Render the README charts.")
    ap.add_argument("--out", type=Path, default=ROOT / "docs" / "images")
    ap.add_argument("--as-of", default=None, help="date the example evidence runs up to")
    ap.add_argument("--simulate", action="store_true", help="use simulated data, not the examples")
    args = ap.parse_args(argv)
    data = None if args.simulate else example_data(args.as_of)
    if data is None:
        if not args.simulate:
            print("example data not found: using simulated data", file=sys.stderr)
        data = simulated_data()
    contacts, events, as_of, label = data
    d = durations_from(contacts, events, as_of=as_of)
    mailed = d[d["mailed"]]  # contacts the evidence says nothing about are left out
    model = DecayModel().fit(mailed["duration"], mailed["event"], last_good=mailed["last_good"])
    cohorts = bounce_rate_by_cohort(contacts, events, model=model, as_of=as_of)
    print(f"{label}: {len(contacts):,} contacts, {len(mailed):,} mailed, {len(events):,} events")
    print(model)
    print(model.summary.to_string())
    print(cohorts.to_string())
    if "source" in contacts.columns:
        by = DecayModel.fit_by(
            mailed["duration"],
            mailed["event"],
            contacts.loc[mailed.index, "source"],
            last_good=mailed["last_good"],
        )
        print(by.table.to_string())
        print(by.summary.to_string())
    args.out.mkdir(parents=True, exist_ok=True)
    ax = plot_decay_vs_bounce(model, cohorts)
    ax.set_title(f"List decay: the older the list, the more it bounces ({label})")
    save(ax, args.out / "decay_vs_bounce.png")
    ax = plot_survival(model)
    ax.set_title(f"Share of contacts still good ({label})")
    save(ax, args.out / "survival.png")
    ax = plot_events(events)
    ax.set_title(f"Bounces over time by kind ({label})")
    save(ax, args.out / "events.png")
    return 0


if __name__ == "__main__":
    sys.exit(main())
