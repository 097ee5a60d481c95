"""Reading the date columns of a contact list (``acquired_at``, ``last_contacted_at``).

One parser for every module that reads them (the policy's sunset rule, the cadence
planner), so that one cell is never read two ways. Pure: pandas and numpy only.

Rules, in order:

* datetime64 columns (Parquet, xlsx read by pandas) are already dates: passed through,
  tz-naive ones taken as UTC.
* ISO 8601 (``2026-11-27``, ``2026-11-27T10:00:00+01:00``) first: what our own outputs
  and most tools write, and pandas reads a whole column of it vectorised. Offsets are
  converted to UTC; dates without one are taken as UTC.
* ``d.m.yyyy`` / ``dd.mm.yy`` (optionally with ``HH:MM[:SS]``) is day-first: every
  locale that writes dates with dots (German, Austrian, Swiss, Nordic, Czech, Polish...
  Excel exports) writes day.month.year; no locale writes month.day.year with dots.
* ``a/b/yyyy`` (and ``a-b-yyyy``) is decided per *column*, never per cell, since the
  same list was exported by one program in one locale: a first field > 12 anywhere means
  the column is day-first (UK/EU), a second field > 12 means month-first (US). When both
  occur the column mixes conventions: cells that only one reading makes a date (a field
  > 12, or both fields equal) are read so, the others are bad (not guessed). When
  neither occurs nothing in the data decides, and the column is read month-first: that is
  what US-locale Excel / Google Sheets write with slashes, and what pandas and dateutil
  (and so earlier versions of listcare) assumed, so such lists read as they always did.
* Anything else with a four-digit year and a month name (``27 Nov 2026``, RFC 2822
  ``Fri, 27 Nov 2026 10:00:00 +0100``) or year-first (``2026/11/27``) goes to dateutil;
  a year is required because dateutil fills missing fields from today (a hidden clock).
* Two-digit years follow POSIX ``strptime`` (%y): 69-99 are 1969-1999, 00-68 2000-2068.
* Empty and whitespace-only cells are missing (never contacted), not bad.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

__all__ = ["NAT", "parse_dates"]

#: NaT as int64 nanoseconds
NAT = np.iinfo(np.int64).min

# day/month/year with one separator used twice, and an optional wall-clock time
_DMY = (
    r"^(?P<a>\d{1,2})(?P<sep>[./-])(?P<b>\d{1,2})(?P=sep)(?P<y>\d{4}|\d{2})"
    r"(?:[ T]+(?P<hh>\d{1,2}):(?P<mm>\d{2})(?::(?P<ss>\d{2}))?)?$"
)
# what dateutil may read without guessing the order of numbers or filling in the year
_WORDY = r"(?i)^(?=.*\d{4})(?:.*[a-z]{3}|\d{4}[./-])"


def parse_dates(col: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Int64 nanoseconds since the epoch, UTC (:data:`NAT` where missing or unreadable),
    and a mask of the non-empty cells that are not dates. The input is not modified."""
    n = len(col)
    if pd.api.types.is_datetime64_any_dtype(col):
        d = pd.to_datetime(col, utc=True).dt.tz_localize(None)
        return d.to_numpy(dtype="datetime64[ns]").view(np.int64).copy(), np.zeros(n, dtype=bool)
    raw = col.to_numpy(dtype=object)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        ns = _utc_ns(pd.to_datetime(raw, utc=True, errors="coerce", format="ISO8601"))
    missing = pd.isna(raw)
    failed = np.flatnonzero((ns == NAT) & ~missing)
    if failed.size:
        text = pd.Series(raw[failed], dtype=object).astype(str).str.strip()
        blank = (text == "").to_numpy()
        missing[failed[blank]] = True
        ns[failed] = _not_iso(text)
    return ns, (ns == NAT) & ~missing


def _not_iso(text: pd.Series) -> np.ndarray:
    """The cells the ISO pass left (stripped text) as int64 ns."""
    out = np.full(len(text), NAT, dtype=np.int64)
    f = text.str.extract(_DMY)
    dmy = f["a"].notna().to_numpy()
    if dmy.any():
        f = f[dmy]
        a = f["a"].astype(np.int64).to_numpy()
        b = f["b"].astype(np.int64).to_numpy()
        dotted = (f["sep"] == ".").to_numpy()
        day, month = a.copy(), b.copy()  # dotted: day-first everywhere
        slashed = ~dotted
        if slashed.any():
            sa, sb = a[slashed], b[slashed]
            day_first, month_first = bool((sa > 12).any()), bool((sb > 12).any())
            if day_first and month_first:
                # conventions mixed in one column: read only what one reading allows
                us = sb > 12
                ambiguous = (sa <= 12) & (sb <= 12) & (sa != sb)
                sd, sm = np.where(us, sb, sa), np.where(us, sa, sb)
                sd[ambiguous] = 0  # no such day: NaT, counted as bad
            elif day_first:
                sd, sm = sa, sb
            else:  # month-first, or nothing in the column decides (see module doc)
                sd, sm = sb, sa
            day[slashed], month[slashed] = sd, sm
        year = f["y"].astype(np.int64).to_numpy()
        short = f["y"].str.len().to_numpy() == 2
        year[short] += np.where(year[short] >= 69, 1900, 2000)
        clock = f[["hh", "mm", "ss"]].fillna("0").astype(np.int64).to_numpy()
        ok = (clock[:, 0] < 24) & (clock[:, 1] < 60) & (clock[:, 2] < 60)
        parts = pd.DataFrame(
            {
                "year": year,
                "month": month,
                "day": day,
                "hour": clock[:, 0],
                "minute": clock[:, 1],
                "second": clock[:, 2],
            }
        )
        got = pd.to_datetime(parts, errors="coerce").to_numpy(dtype="datetime64[ns]").view(np.int64)
        out[dmy] = np.where(ok, got, NAT)
    rest = ~dmy & (text != "").to_numpy()
    if rest.any():
        # padded or otherwise odd ISO first, then dateutil for month names / year-first
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            r = text[rest]
            got = _utc_ns(pd.to_datetime(r, utc=True, errors="coerce", format="ISO8601"))
            wordy = (got == NAT) & r.str.match(_WORDY).to_numpy()
            if wordy.any():
                got[wordy] = _utc_ns(
                    pd.to_datetime(r[wordy], utc=True, errors="coerce", format="mixed")
                )
        out[rest] = got
    return out


def _utc_ns(d) -> np.ndarray:
    """A tz-aware (UTC) DatetimeIndex or Series as a writable int64 ns array."""
    index = pd.DatetimeIndex(d).tz_convert(None)
    return np.asarray(index, dtype="datetime64[ns]").view(np.int64).copy()
