"""Reading the date columns of a contact list (``acquired_at``, ``last_contacted_at``).

One parser for every module that reads them (the policy's sunset rule, the cadence
planner), so that one cell is never read two ways. Pure: pandas and numpy only.

Rules, in order:

* datetime64 columns (Parquet, xlsx read by pandas) are already dates: passed through,
  tz-naive ones taken as UTC, whatever their unit (ns, us, ms, s). Values that int64
  nanoseconds cannot hold (before 1677-09-21 or after 2262-04-11, e.g. a ``9999-12-31``
  "never" placeholder) are missing *and* bad, never wrapped around. Object columns of
  Python ``datetime`` / ``date`` objects are read as such (the same range rule).
* ISO 8601 (``2026-11-27``, ``2026-11-27T10:00:00+01:00``) first: what our own outputs
  and most tools write, and pandas reads a whole column of it vectorised. Offsets are
  converted to UTC; dates without one are taken as UTC.
* Numeric dates ``a<sep>b<sep>year`` (one separator, ``.``, ``/`` or ``-``, used twice;
  ``a`` and ``b`` one or two digits; a four- or two-digit year), optionally followed by a
  wall-clock time: a comma and/or spaces (or ``T``), then ``H:MM``, ``H:MM:SS`` or
  ``H:MM:SS.fff`` (``.`` or ``,``, up to 9 fractional digits), then optionally AM/PM
  (``AM``, ``pm``, ``a.m.``, ``P.M.``..., with or without a space before it). With
  AM/PM the hour is on a 12-hour clock: 0-12, 12 AM is 0h, 12 PM is 12h, 1-11 PM add
  12h (as dateutil reads it); an hour over 12 with AM/PM is bad. Times are taken as UTC.
* ``d.m.yyyy`` / ``dd.mm.yy`` (dotted) is day-first: every locale that writes dates with
  dots (German, Austrian, Swiss, Nordic, Czech, Polish... Excel exports) writes
  day.month.year; no locale writes month.day.year with dots.
* ``a/b/yyyy`` (and ``a-b-yyyy``) is decided per *column*, by the evidence the column
  holds, since the same list was exported by one program in one locale. A cell whose
  first field is over 12 (and second not) can only be day-first: day-first evidence; a
  second field over 12 (and first not) is month-first evidence. Such cells are always
  read the only way that makes them a date, and so are cells with both fields equal
  (``03/03``). The *ambiguous* cells (both fields 12 or less, and different) follow the
  order with the clear majority of the evidence, "clear" meaning the other order has at
  most 10% of the evidence cells: one typo or stray row does not flip or spoil a column.
  Without a clear majority the column mixes conventions and its ambiguous cells are bad
  (not guessed). Without any evidence nothing in the data decides, and the column is
  read month-first: that is what US-locale Excel / Google Sheets write with slashes, and
  what pandas and dateutil (and so earlier versions of listcare) assumed, so such lists
  read as they always did.
* Anything else with a four-digit year and a month name (``27 Nov 2026``, RFC 2822
  ``Fri, 27 Nov 2026 10:00:00 +0100``) or year-first (``2026/11/27``) goes to dateutil;
  a year is required because dateutil fills missing fields from today (a hidden clock).
* Two-digit years follow POSIX ``strptime`` (%y): 69-99 are 1969-1999, 00-68 2000-2068.
* Empty and whitespace-only cells are missing (never contacted), not bad.
"""

from __future__ import annotations

import re
import warnings

import numpy as np
import pandas as pd

__all__ = ["NAT", "parse_dates", "timestamp"]

#: NaT as int64 nanoseconds
NAT = np.iinfo(np.int64).min
_NS_MAX = np.iinfo(np.int64).max  # the latest int64 ns; the earliest is NAT + 1
_DAY = 86_400 * 10**9

# the numeric dates: day/month/year with one separator used twice, and an optional
# wall-clock time. The reference grammar: _fast_fields reads the same language
# vectorised and leaves only what it cannot (non-ASCII, very long cells) to this regex.
_DMY = (
    r"^(?P<a>\d{1,2})(?P<sep>[./-])(?P<b>\d{1,2})(?P=sep)(?P<y>\d{4}|\d{2})"
    r"(?:(?:, *|[ T]+)(?P<hh>\d{1,2}):(?P<mm>\d{2})"
    r"(?::(?P<ss>\d{2})(?:[.,](?P<frac>\d{1,9}))?)?"
    r"(?: *(?P<ap>[aApP])\.?[mM]\.?)?)?$"
)
# what dateutil may read without guessing the order of numbers or filling in the year
_WORDY = (
    r"(?i)^(?=.*\d{4})(?:.*\b(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?(?![a-z])"
    r"|\d{4}[./-])"
)  # a month *name* (not any three letters: "01.11.2026 10:00 UTC" is no month name)
# the first cell of a column of numeric dates (only chooses which pass runs first)
_DMY_START = re.compile(r"\s*\d{1,2}[./-]")

# the fields of a numeric date, as rows of an int32 array (one column per cell)
_A, _SEP, _B, _Y, _Y2, _HH, _MM, _SS, _FRAC, _AP = range(10)
_WIDTH = 32  # longer cells (a numeric date padded with many spaces) go to the regex
_CHUNK = 1 << 17  # rows per char matrix (_CHUNK x (_WIDTH + 1) x 4 bytes)
_WS = np.zeros(128, dtype=bool)  # ASCII whitespace as str.strip() sees it
_WS[[9, 10, 11, 12, 13, 28, 29, 30, 31, 32]] = True
_DIGIT = np.zeros(128, dtype=bool)
_DIGIT[48:58] = True
_MONTH_DAYS = np.array([0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31], dtype=np.int32)


_ONE_NUMERIC = re.compile(r"\s*(\d{1,2})([./-])(\d{1,2})\2(\d{4}|\d{2})(?![\d./-])")


def timestamp(value) -> pd.Timestamp:
    """``pd.Timestamp(value)`` for one date given by a person (``as_of``), except that a
    numeric date in a string follows this module's rules instead of pandas' month-first
    guess: dotted is day-first (``01.11.2026`` is 1 November), and a slashed or dashed
    one whose two fields could each be the month (``01/11/2026``) is refused
    (:class:`~listcare.exceptions.ConfigError`): one cell holds no evidence of its
    order, and a night read as the wrong month decides the wrong suppressions."""
    if isinstance(value, str):
        m = _ONE_NUMERIC.match(value)
        if m:
            a, sep, b = int(m[1]), m[2], int(m[3])
            if sep != "." and a != b and a <= 12 and b <= 12:
                from .exceptions import ConfigError

                raise ConfigError(
                    f"{value.strip()!r} could be day {a} of month {b} or month {a}, day "
                    f"{b}: write the date as YYYY-MM-DD (e.g. '2026-11-27')."
                )
            ns, bad = parse_dates(pd.Series([value], dtype=object))
            if not bad[0] and ns[0] != NAT:
                return pd.Timestamp(int(ns[0]))  # (naive: taken as UTC, as parse_dates does)
            if sep == "." or a > 12 or b > 12:
                # an order it can only have, and more after it ("01.11.2026 10:00 UTC"):
                # the date in ISO order, the rest as given, for pandas
                day, month = (b, a) if sep != "." and b > 12 else (a, b)
                year = int(m[4])
                if len(m[4]) == 2:  # POSIX %y, as parse_dates reads it
                    year += 1900 if year >= 69 else 2000
                return pd.Timestamp(f"{year}-{month:02d}-{day:02d}{value[m.end():]}")
    return pd.Timestamp(value)


def parse_dates(col: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Int64 nanoseconds since the epoch, UTC (:data:`NAT` where missing or unreadable),
    and a mask of the non-empty cells that are not dates. The input is not modified."""
    n = len(col)
    if pd.api.types.is_datetime64_any_dtype(col):
        values = col
        if isinstance(col.dtype, pd.DatetimeTZDtype):
            values = col.dt.tz_convert("UTC").dt.tz_localize(None)
        values = values.to_numpy()
        ns = _as_ns(values)
        return ns, (ns == NAT) & ~np.isnat(values)
    raw = col.to_numpy(dtype=object)
    missing = pd.isna(raw)
    ns = np.full(n, NAT, dtype=np.int64)
    todo = np.flatnonzero(~missing)
    if not todo.size:
        return ns, missing & False
    # Which pass runs first only saves time (ISO never reads a numeric date): a column
    # of numeric dates skips the ISO pass failing on each cell.
    first = raw[todo[0]]
    iso_first = not (isinstance(first, str) and _DMY_START.match(first))
    if iso_first:
        if todo.size == n:
            ns = _iso(raw)
        else:
            ns[todo] = _iso(raw[todo])
        todo = np.flatnonzero((ns == NAT) & ~missing)
        if not todo.size:
            return ns, missing & False
    got, blank, other = _numeric(raw if todo.size == n else raw[todo])
    ns[todo] = got
    missing[todo[blank]] = True
    rest = todo[other]
    if rest.size and not iso_first:
        ns[rest] = _iso(raw[rest])
        rest = rest[ns[rest] == NAT]
    if rest.size:
        ns[rest] = _wordy(pd.Series(raw[rest], dtype=object).astype(str).str.strip())
    return ns, (ns == NAT) & ~missing


def _iso(values: np.ndarray) -> np.ndarray:
    """ISO 8601 text (and datetime objects) as int64 ns, UTC; NAT where not."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return _utc_ns(pd.to_datetime(values, utc=True, errors="coerce", format="ISO8601"))


def _wordy(text: pd.Series) -> np.ndarray:
    """Stripped text that is neither empty nor a numeric date: padded or otherwise odd
    ISO first, then dateutil for month names / year-first."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        got = _utc_ns(pd.to_datetime(text, utc=True, errors="coerce", format="ISO8601"))
        wordy = (got == NAT) & text.str.match(_WORDY).to_numpy()
        if wordy.any():
            got[wordy] = _utc_ns(
                pd.to_datetime(text[wordy], utc=True, errors="coerce", format="mixed")
            )
    return got


def _numeric(values: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Non-missing cells as int64 ns where they are numeric dates (NAT where such a cell
    is no date), a mask of the blank ones and a mask of the others (neither)."""
    n = len(values)
    fields = np.zeros((10, n), dtype=np.int32)
    matched = np.zeros(n, dtype=bool)
    blank = np.zeros(n, dtype=bool)
    if pd.api.types.infer_dtype(values, skipna=False) == "string":
        slow = np.zeros(n, dtype=bool)
        for i in range(0, n, _CHUNK):  # contiguous: slices, not index arrays
            rows = slice(i, i + _CHUNK)
            fields[:, rows], matched[rows], blank[rows], slow[rows] = _fast_fields(values[rows])
    else:
        is_str = np.fromiter((isinstance(v, str) for v in values), dtype=bool, count=n)
        slow = ~is_str
        fast = np.flatnonzero(is_str)
        for i in range(0, fast.size, _CHUNK):
            rows = fast[i : i + _CHUNK]
            fields[:, rows], matched[rows], blank[rows], slow[rows] = _fast_fields(values[rows])
    slow = np.flatnonzero(slow)
    if slow.size:
        text = pd.Series(values[slow], dtype=object).astype(str).str.strip()
        f, m = _regex_fields(text)
        fields[:, slow], matched[slow], blank[slow] = f, m, (text == "").to_numpy()
    if matched.all():
        return _dmy_ns(fields), blank, ~matched
    out = np.full(n, NAT, dtype=np.int64)
    out[matched] = _dmy_ns(fields[:, matched])
    return out, blank, ~matched & ~blank


def _fast_fields(strs: np.ndarray) -> tuple[np.ndarray, ...]:
    """The regex :data:`_DMY` on stripped strings, vectorised over a char matrix: the
    fields, a mask of matches, of blank cells, and of cells left to the regex (longer
    than :data:`_WIDTH` or not ASCII)."""
    n = len(strs)
    u = strs.astype(f"<U{_WIDTH + 1}")  # cut: longer ones are seen by their length
    chars = u.view(np.uint32).reshape(n, _WIDTH + 1)
    length = np.strings.str_len(u)
    slow = (length > _WIDTH) | (chars.max(axis=1, initial=0) > 127)
    chars = np.where(slow[:, None], 0, chars).ravel()  # ASCII only from here
    length[slow] = 0
    base = np.arange(n, dtype=np.int64) * (_WIDTH + 1)

    def at(p: np.ndarray, rows: np.ndarray | None = None) -> np.ndarray:
        return chars[(base if rows is None else base[rows]) + np.minimum(p, _WIDTH)]

    # strip: [begin, end) without the whitespace around
    begin = np.zeros(n, dtype=np.int64)
    end = length.astype(np.int64)
    while (lead := np.flatnonzero((begin < end) & _WS[at(begin)])).size:
        begin[lead] += 1
    while (trail := np.flatnonzero((end > begin) & _WS[at(end - 1)])).size:
        end[trail] -= 1
    blank = (begin == end) & ~slow
    fields = np.zeros((10, n), dtype=np.int32)
    ok = ~slow & ~blank
    p = begin

    def digits(p: np.ndarray, most: int, rows: np.ndarray | None = None):
        """Up to *most* ASCII digits at *p*: their value and count."""
        value = np.zeros(len(p), dtype=np.int64)
        count = np.zeros(len(p), dtype=np.int64)
        going = np.ones(len(p), dtype=bool)
        for i in range(most):
            c = at(p + i, rows)
            going &= _DIGIT[c]
            value = np.where(going, value * 10 + c - 48, value)
            count += going
        return value, count

    fields[_A], k = digits(p, 2)
    ok &= k >= 1
    p = p + k
    sep = at(p)
    ok &= (sep == 46) | (sep == 47) | (sep == 45)  # . / -
    fields[_SEP] = sep
    fields[_B], k = digits(p + 1, 2)
    ok &= k >= 1
    p = p + 1 + k
    ok &= at(p) == sep
    fields[_Y], k = digits(p + 1, 4)
    ok &= (k == 4) | (k == 2)
    fields[_Y2] = k == 2
    p = p + 1 + k
    # the time, on the cells that go on after the date
    t = np.flatnonzero(ok & (p < end))
    ok &= p == end
    if t.size:
        q = p[t]
        c = at(q, t)
        good = (c == 44) | (c == 32) | (c == 84)  # , space T
        q = q + 1
        comma = c == 44
        while True:  # more spaces (and T unless after a comma)
            c = at(q, t)
            more = np.flatnonzero(good & ((c == 32) | (~comma & (c == 84))))
            if not more.size:
                break
            q[more] += 1
        hh, k = digits(q, 2, t)
        good &= k >= 1
        q = q + k
        good &= at(q, t) == 58  # :
        mm, k = digits(q + 1, 2, t)
        good &= k == 2
        q = q + 1 + k
        ss = np.zeros(t.size, dtype=np.int64)
        frac = np.zeros(t.size, dtype=np.int64)
        has = good & (at(q, t) == 58)
        if has.any():
            s, k = digits(q + 1, 2, t)
            has &= k == 2
            good &= (at(q, t) != 58) | has
            ss = np.where(has, s, 0)
            q = np.where(has, q + 3, q)
            c = at(q, t)
            dot = has & ((c == 46) | (c == 44))
            if dot.any():
                f, k = digits(q + 1, 9, t)
                good &= ~dot | (k >= 1)
                frac = np.where(dot, f * 10 ** (9 - np.maximum(k, 0)), 0)
                q = np.where(dot, q + 1 + k, q)
        ap = np.zeros(t.size, dtype=np.int64)
        r = good & (q < end[t])
        if r.any():
            while (more := np.flatnonzero(r & (at(q, t) == 32))).size:
                q[more] += 1
            c = at(q, t) | 32  # lower case
            r &= (c == 97) | (c == 112)  # a p
            ap = np.where(r, np.where(c == 97, 1, 2), 0)
            letter = r.copy()
            q = np.where(r, q + 1, q)
            q = np.where(r & (at(q, t) == 46), q + 1, q)
            r &= (at(q, t) | 32) == 109  # m
            good &= ~letter | r  # an a or p without its m: not the grammar (_DMY)
            ap = np.where(r, ap, 0)
            q = np.where(r, q + 1, q)
            q = np.where(r & (at(q, t) == 46), q + 1, q)
        good &= q == end[t]
        ok[t] = good
        fields[_HH, t], fields[_MM, t], fields[_SS, t] = hh, mm, ss
        fields[_FRAC, t], fields[_AP, t] = frac, ap
    return fields, ok, blank, slow


def _regex_fields(text: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """The fields of the stripped cells that match :data:`_DMY`, and a mask of those."""
    fields = np.zeros((10, len(text)), dtype=np.int32)
    f = text.str.extract(_DMY)
    matched = f["a"].notna().to_numpy()
    if matched.any():
        f = f[matched]
        fields[_A, matched] = f["a"].astype(np.int64)
        fields[_SEP, matched] = f["sep"].map(ord)
        fields[_B, matched] = f["b"].astype(np.int64)
        fields[_Y, matched] = f["y"].astype(np.int64)
        fields[_Y2, matched] = f["y"].str.len() == 2
        for key, column in (("hh", _HH), ("mm", _MM), ("ss", _SS)):
            fields[column, matched] = f[key].fillna("0").astype(np.int64)
        fields[_FRAC, matched] = f["frac"].fillna("").str.ljust(9, "0").astype(np.int64)
        fields[_AP, matched] = f["ap"].str.lower().map({"a": 1, "p": 2}).fillna(0).astype(np.int64)
    return fields, matched


def _dmy_ns(fields: np.ndarray) -> np.ndarray:
    """The numeric dates of one column (their int32 fields) as int64 ns, NAT where no
    date: dotted day-first, slashed in the order the column's evidence decides."""
    a, b = fields[_A], fields[_B]
    day, month = a.copy(), b.copy()  # dotted: day-first everywhere
    slashed = fields[_SEP] != ord(".")
    if slashed.any():
        a_big, b_big = a > 12, b > 12
        day_first = slashed & a_big & ~b_big  # only one reading makes these a date
        month_first = slashed & b_big & ~a_big
        ambiguous = slashed & ~a_big & ~b_big & (a != b)
        votes_day, votes_month = int(day_first.sum()), int(month_first.sum())
        if 10 * min(votes_day, votes_month) > votes_day + votes_month:
            day[ambiguous] = 0  # conventions mixed in one column: no such day, so bad
        elif votes_day <= votes_month:  # month-first, or nothing decides (module doc)
            month_first |= ambiguous
        day[month_first], month[month_first] = b[month_first], a[month_first]
    year = fields[_Y]
    short = fields[_Y2] == 1
    if short.any():
        year = year + np.where(short, np.where(year >= 69, 1900, 2000), 0).astype(np.int32)
    ok = (month >= 1) & (month <= 12)
    month = np.where(ok, month, 1)
    leap = (year % 4 == 0) & ((year % 100 != 0) | (year % 400 == 0))
    ok &= (day >= 1) & (day <= _MONTH_DAYS[month] + (leap & (month == 2)))
    # days since 1970-01-01 in the proleptic Gregorian calendar (H. Hinnant's
    # days_from_civil)
    march = month > 2
    y = year - ~march
    era = y // 400
    yoe = y - era * 400
    doy = (153 * (month + np.where(march, -3, 9)) + 2) // 5 + day - 1
    days = era * 146_097 + yoe * 365 + yoe // 4 - yoe // 100 + doy - 719_468
    clock = None
    if fields[_HH:].any():  # a time of day somewhere
        hour, ap = fields[_HH], fields[_AP]
        ok &= np.where(ap == 0, hour < 24, hour <= 12) & (fields[_MM] < 60) & (fields[_SS] < 60)
        hour = np.where(ap == 0, hour, hour % 12 + np.where(ap == 2, 12, 0))
        seconds = (hour * 60 + fields[_MM]) * 60 + fields[_SS]
        clock = seconds.astype(np.int64) * 10**9 + fields[_FRAC]
    return _ns(days, clock, ok)


def _ns(days: np.ndarray, clock: np.ndarray | None, ok: np.ndarray) -> np.ndarray:
    """days * 1 day + clock (ns, None for 0) as int64 ns, NAT where not ok or beyond
    int64 ns."""
    limit = _NS_MAX // _DAY  # days whose every time of day fits
    inner = ok & (np.abs(days) < limit)
    out = np.where(inner, days, 0).astype(np.int64) * _DAY
    if clock is not None:
        out += clock
    out[~inner] = NAT
    for i in np.flatnonzero(ok & ~inner & (np.abs(days) <= limit + 1)):
        # the edge days, as Python ints
        value = int(days[i]) * _DAY + (0 if clock is None else int(clock[i]))
        if NAT < value <= _NS_MAX:
            out[i] = value
    return out


def _as_ns(values: np.ndarray) -> np.ndarray:
    """A naive datetime64 array of any unit as int64 ns; NAT where NaT or out of range."""
    unit, count = np.datetime_data(values.dtype)
    factor = int(np.timedelta64(count, unit) // np.timedelta64(1, "ns"))
    raw = values.view(np.int64)
    out = raw.copy()
    if factor != 1:
        fits = (np.abs(raw) <= _NS_MAX // factor) & ~np.isnat(values)
        out[:] = NAT
        out[fits] = raw[fits] * factor
    return out


def _utc_ns(d) -> np.ndarray:
    """A tz-aware (UTC) DatetimeIndex or Series as a writable int64 ns array."""
    return _as_ns(np.asarray(pd.DatetimeIndex(d).tz_convert(None)))
