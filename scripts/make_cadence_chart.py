"""Render docs/images/cadence.png: the bundled example contacts planned every 60 days.

    python3 scripts/make_cadence_chart.py [--out docs/images/cadence.png] [--as-of DATE]
                                          [--every 60D] [--daily-capacity N]

``--as-of`` defaults to the day after the newest date in the example list (so the chart
does not depend on today's date); ``--daily-capacity`` defaults to a round number about
1.5 times the steady-state daily volume the cadence needs, so the overdue backlog shows
as a stretch at the capacity line and the later waves as smooth lower volume.
"""

from __future__ import annotations

import argparse
import io
import math
import warnings
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import pandas as pd  # noqa: E402

from listcare import plan_cadence, read_contacts  # noqa: E402
from listcare.atomic import atomic_write_bytes  # noqa: E402
from listcare.cadence import CapacityWarning, parse_send_days  # noqa: E402
from listcare.contacts import example_path  # noqa: E402
from listcare.plotting import plot_cadence  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


def _nice_ceil(x: float) -> int:
    """The smallest of 1, 2, 2.5, 5 x 10^k that is at least x."""
    if x <= 1:
        return 1
    k = 10 ** math.floor(math.log10(x))
    for m in (1, 2, 2.5, 5, 10):
        if m * k >= x:
            return int(m * k)
    return int(10 * k)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=str(ROOT / "docs" / "images" / "cadence.png"))
    ap.add_argument("--contacts", default=None, help="default: the bundled example contacts.csv")
    ap.add_argument("--as-of", default=None)
    ap.add_argument("--every", default="60D")
    ap.add_argument("--daily-capacity", type=int, default=None)
    args = ap.parse_args()

    df = read_contacts(args.contacts or example_path("contacts.csv"))
    as_of = args.as_of
    if as_of is None:
        dates = pd.concat(
            [pd.to_datetime(df[c], errors="coerce", utc=True, format="mixed")
             for c in ("last_contacted_at", "acquired_at") if c in df.columns]
        )
        as_of = (dates.max().tz_convert(None).normalize() + pd.Timedelta(days=1)).date().isoformat()
    capacity = args.daily_capacity
    if capacity is None:  # a first plan without a limit tells the steady-state volume
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", CapacityWarning)
            free = plan_cadence(df, as_of=as_of, every=args.every)
        per_interval = free.interval.days * len(parse_send_days("Mon-Fri")) / 7
        regular = free.loc[free["wave"] >= 1, "row"].nunique()
        capacity = _nice_ceil(1.5 * regular / per_interval + float(free.daily["reconfirm"].to_numpy().max(initial=0)))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CapacityWarning)
        plan = plan_cadence(df, as_of=as_of, every=args.every, daily_capacity=capacity)
    print(plan.summary())

    ax = plot_cadence(plan)
    ax.figure.set_size_inches(10, 5.5)
    buf = io.BytesIO()
    ax.figure.savefig(buf, format="png", dpi=110, metadata={"Software": None})
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(args.out, buf.getvalue())
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
