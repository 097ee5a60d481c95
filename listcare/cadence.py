"""Cadence planning: contact every active address about every two months, smoothly.

A list stays healthy only if it is mailed regularly: an address that went bad is then
found (and suppressed) after one interval, not after a year and a half. For each active
contact :func:`plan_cadence` plans sends so that no gap between two contacts exceeds the
interval within the planning horizon, with the stalest contacts first, and spreads the
volume over the send days so that the daily volume stays within the capacity and is as
even as the deadlines allow (Gmail's sender guidelines on rate limiting: "send email at
a consistent rate, avoid sending emails in bursts", avoid sudden volume spikes).

How the days are filled (an earliest-deadline-first fill with water-filling levels):
each contact has a deadline (last contact + interval, as the last send day on or before
it) and an earliest day (last contact + half the interval, so that smoothing never turns
into pestering). On each send day the planner sends, in deadline order (stalest first,
then by a stable hash of the address for determinism), as many contacts as the larger of

* the *level*: the smallest constant daily rate that meets every known deadline,
  ``max_k (deadlines due within the next k send days) / k`` (water-filling; fractional
  rates are carried over from day to day), and
* the *need*: what must go today because the capacity of the coming days cannot take it,

but never more than the day's capacity. Each day is a few numpy operations over all
contacts (a histogram of deadlines, a cumulative sum, one ``argpartition``), not a loop
over contacts, so a million contacts over 180 days take seconds.

Contacts past the sunset threshold are not mailed in regular waves: they get one
reconfirmation mail, sent in small daily batches from the first send day on, and the
plan reports the bounce rate that wave is expected to have. Suppressed addresses and
addresses that fail the syntax check (:mod:`listcare.address.syntax`, email-validator's
rules, no DNS) are never planned. Every input row ends up either in the plan or in
``plan.excluded`` with a reason.
"""

from __future__ import annotations

import hashlib
import math
import os
import re
import warnings
from collections.abc import Iterable

import numpy as np
import pandas as pd

from .dates import parse_dates, timestamp  # the one list-date reader, shared with the policy
from .exceptions import ColumnError, ConfigError, InputError, sample

__all__ = ["plan_cadence", "CadencePlan", "CapacityWarning", "interval_for_target", "MONTH_DAYS"]

#: days in an average Gregorian month (the decay model measures ages in these months)
MONTH_DAYS = 365.25 / 12.0

#: ``reason`` of a planned send
PLAN_REASONS = ("due", "overdue", "reconfirm")
#: ``reason`` of an input row that is not in the plan
EXCLUDED_REASONS = (
    "no_address",  # the email cell is empty
    "invalid_address",  # not an address by email-validator's syntax rules: can never be delivered
    "duplicate",  # the same address (case-insensitively) appears on an earlier/fresher row
    "suppressed",  # on the suppression list (state=...)
    "bad_date",  # a date cell that cannot be read as a date
    "unknown_channel",  # a channel other than email/phone
    "reconfirm_later",  # past sunset; the reconfirmation batches do not reach it in the horizon
    "no_capacity",  # eligible, but the capacity leaves no room for it in the horizon
    "not_due",  # active, but its first deadline is after the horizon: nothing to send yet
)
CHANNELS = ("email", "phone")

PLAN_COLUMNS = {  # the columns of a plan and their dtypes
    "date": "datetime64[ns]",
    "email": "object",
    "wave": "int64",
    "reason": "object",
    "channel": "object",
    "deadline": "datetime64[ns]",
    "expected_bounce": "float64",
    "row": "int64",
}

_WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_MONTHS_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(m|mo|mon|month|months)\s*$", re.I)
_CODE_EMAIL, _CODE_PHONE, _CODE_BOTH = 1, 2, 3
_R_DUE, _R_OVERDUE, _R_RECONFIRM = 0, 1, 2
_DONE = np.iinfo(np.int64).max  # priority key of a contact that needs no more sends


class CapacityWarning(UserWarning):
    """The capacity cannot meet every deadline of a cadence plan (see ``plan.warnings``)."""


class CadencePlan(pd.DataFrame):
    """One row per planned send, plus what the plan means (see :func:`plan_cadence`).

    Columns: ``date``, ``email`` (the contact key, as written in the input), ``wave``
    (0 = reconfirmation, 1 = each contact's first send in the horizon, 2 = its second,
    ...), ``reason`` (``due``, ``overdue``, ``reconfirm``), ``channel`` (``email`` or
    ``phone``), ``deadline`` (the day by which this send was due), ``expected_bounce``
    (hard-bounce probability of this send from the decay model; 0 for phone) and ``row``
    (0-based position of the contact in the input: ``contacts.iloc[row]``).

    Attributes: ``daily`` (per send day: volume by reason, phone calls, capacity,
    expected hard bounces), ``waves`` (one row per wave), ``excluded`` (input rows not in
    the plan, with a reason), ``interval`` (``pd.Timedelta``), ``content_budget``
    (campaigns a year the cadence needs), ``feasible`` and ``warnings``, ``as_of``,
    ``horizon``, ``capacity``, ``settings``. Slicing or computing on a plan gives plain
    DataFrames (the attributes describe the whole plan only).
    """

    _metadata = [
        "daily",
        "waves",
        "excluded",
        "interval",
        "content_budget",
        "feasible",
        "warnings",
        "as_of",
        "horizon",
        "capacity",
        "settings",
    ]

    @property
    def _constructor(self):
        return pd.DataFrame

    def summary(self) -> str:
        """A few lines for a person: waves, content budget, exclusions, warnings."""
        days = int(self.interval / pd.Timedelta(days=1))
        lines = [
            f"Cadence plan as of {self.as_of.date()} for {int(self.horizon / pd.Timedelta(days=1))} days: "
            f"every {days} days, content budget {self.content_budget} "
            f"campaign{'s' if self.content_budget != 1 else ''} a year.",
        ]
        active = self.daily[self.daily["volume"] > 0]
        if len(active):
            cap = "no capacity limit" if self.capacity is None else f"capacity {self.capacity:,}"
            peak = int(active["volume"].max())
            bounces = float(self.daily["expected_hard_bounces"].sum())
            lines.append(
                f"{len(self):,} sends on {len(active)} of {len(self.daily)} send days; "
                f"busiest day {peak:,} email{'s' if peak != 1 else ''} ({cap}); "
                f"expected hard bounces {bounces:,.{1 if bounces < 10 else 0}f}."
            )
            if self.capacity is None and peak > 3 * float(active["volume"].median()):
                lines.append(
                    "  The busiest day is over 3x a typical one (overdue contacts all go first): "
                    "a daily capacity spreads them (daily_capacity=..., CLI --daily-capacity)."
                )
        for _, w in self.waves.iterrows():
            name = "reconfirm" if w["wave"] == 0 else f"wave {w['wave']}"
            lines.append(
                f"  {name:<10} {w['first_date'].date()} .. {w['last_date'].date()}: "
                f"{w['contacts']:,} contact{'s' if w['contacts'] != 1 else ''}, "
                f"expected bounce rate {w['expected_bounce_rate']:.1%}"
            )
        if len(self.excluded):
            counts = self.excluded["reason"].value_counts()
            lines.append("Not planned: " + ", ".join(f"{k} {v:,}" for k, v in counts.items()) + ".")
        lines.extend(f"WARNING: {w}" for w in self.warnings)
        return "\n".join(lines)

    def to_ics(self, path, *, name: str = "listcare sends") -> str:
        """Write the send days as an iCalendar file (see :func:`listcare.ical.write_ics`)."""
        from .ical import write_ics

        return write_ics(self, path, name=name)


# ----------------------------------------------------------------------- settings parsing
def _days(value, what: str, *, allow_zero: bool = False) -> int:
    """Whole days from ``"60D"``, ``"8W"``, ``"2M"`` (months of 365.25/12 days), int, Timedelta."""
    if isinstance(value, bool):
        raise ConfigError(f"{what} must be a duration such as '60D', not {value!r}.")
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value)  # "60" from the command line (metavar DAYS): days, not ns
    if isinstance(value, (int, np.integer)):
        days = float(value)
    elif isinstance(value, (float, np.floating)):
        days = float(value)
    elif isinstance(value, str) and _MONTHS_RE.match(value):
        days = float(_MONTHS_RE.match(value).group(1)) * MONTH_DAYS
        days = round(days)
    else:
        try:
            td = pd.Timedelta(value)
        except (ValueError, TypeError) as exc:
            raise ConfigError(
                f"{what} must be a duration such as '60D', '8W' or '2M' (months), not {value!r}."
            ) from exc
        if pd.isna(td):
            raise ConfigError(f"{what} must be a duration such as '60D', not {value!r}.")
        days = td / pd.Timedelta(days=1)
    if math.isnan(days) or days != int(days):
        raise ConfigError(f"{what} must be a whole number of days, got {value!r}.")
    if days < 0 or (days == 0 and not allow_zero):
        raise ConfigError(f"{what} must be positive, got {value!r}.")
    return int(days)


def _day(value, what: str) -> pd.Timestamp:
    """A calendar day: a tz-aware value's own date (midnight in Berlin on 3 November is
    3 November, not 2 November in UTC)."""
    if value is None:
        raise ConfigError(f"{what} is required (no hidden clock): pass a date such as '2026-11-27'.")
    try:
        ts = timestamp(value)
    except ConfigError:
        raise
    except (ValueError, TypeError) as exc:
        raise ConfigError(f"{what} must be a date such as '2026-11-27', not {value!r}.") from exc
    if pd.isna(ts):
        raise ConfigError(f"{what} must be a date such as '2026-11-27', not {value!r}.")
    if ts.tzinfo is not None:
        ts = ts.tz_localize(None)  # (the wall time where it was given)
    return ts.normalize()


def parse_send_days(send_days) -> tuple[int, ...]:
    """Weekdays (0 = Monday) from ``"Mon-Fri"``, ``"Mon,Wed,Fri"``, ``"daily"`` or a list."""
    if send_days is None:
        return tuple(range(5))
    items = send_days
    if isinstance(send_days, str):
        text = send_days.strip().lower()
        if text in ("daily", "all", "every day", "mon-sun"):
            return tuple(range(7))
        items = [p for p in re.split(r"[\s,;]+", text) if p]
    out: set[int] = set()
    for item in items:
        if isinstance(item, (int, np.integer)) and not isinstance(item, bool):
            if not 0 <= int(item) <= 6:
                raise ConfigError(f"send_days: weekday numbers are 0 (Monday) to 6 (Sunday), not {item!r}.")
            out.add(int(item))
            continue
        part = str(item).strip().lower()
        ends = part.split("-")
        try:
            idx = [_WEEKDAYS.index(e[:3]) for e in ends if e]
        except ValueError:
            idx = None
        if not idx or len(idx) != len(ends) or len(idx) > 2 or any(len(e) < 3 for e in ends):
            raise ConfigError(
                f"send_days must be like 'Mon-Fri', 'Mon,Wed,Fri' or 'daily'; cannot read {item!r}."
            )
        if len(idx) == 1:
            out.add(idx[0])
        else:
            a, b = idx
            out.update(range(a, b + 1) if a <= b else [*range(a, 7), *range(0, b + 1)])
    if not out:
        raise ConfigError("send_days is empty: give at least one weekday, e.g. 'Mon-Fri'.")
    return tuple(sorted(out))


def interval_for_target(target_bounce_rate: float, *, model=None, visibility: float = 1.0, max_days: int = 3650) -> int:
    """Longest interval in days whose expected bounce share per send stays within the target.

    A contact last reached *t* months ago has decayed with probability ``decayed(t)``;
    only a share *visibility* of decayed addresses shows as a hard bounce (a person who
    changed jobs may leave a live mailbox behind), so a send is expected to bounce with
    ``visibility * decayed(t)``. The interval is the largest whole number of days with
    ``visibility * decayed(days / MONTH_DAYS) <= target``: at 2.1% a month and full
    visibility a 2% target gives 28 days (about a month); at visibility 0.5 the same
    target allows 58 days, because only half the decay is visible. It works for any
    model whose ``decayed`` grows with age (also a fitted one).
    """
    target = float(target_bounce_rate)
    if not 0.0 < target < 1.0 or math.isnan(target):
        raise ConfigError(f"target_bounce_rate must be a share between 0 and 1 (0.02 for 2%), got {target_bounce_rate!r}.")
    visibility = _visibility(visibility)
    model = _model(model)
    days = np.arange(1, max_days + 1, dtype=float)
    share = visibility * np.asarray(model.decayed(days / MONTH_DAYS), dtype=float)
    ok = np.flatnonzero(share <= target + 1e-12)
    if ok.size == 0:
        raise ConfigError(
            f"Even a 1-day interval is expected to bounce {share[0]:.2%} per send, above the "
            f"target {target:.2%}: raise target_bounce_rate or check the decay model."
        )
    # the first day above the target ends the interval (decayed grows with age)
    above = np.flatnonzero(share > target + 1e-12)
    if not above.size:
        warnings.warn(
            f"A target bounce rate of {target:.2%} is never reached within {max_days} days "
            f"(after {max_days} days the expected rate is {share[-1]:.2%}): the interval is "
            f"capped at {max_days} days. Is the target or the visibility what you meant?",
            UserWarning,
            stacklevel=2,
        )
        return int(days[-1])
    return int(above[0])


def _positive_int(value, what: str) -> int:
    ok = isinstance(value, (int, np.integer)) and not isinstance(value, bool)
    ok = ok or (isinstance(value, (float, np.floating)) and float(value).is_integer())
    if not ok or value < 1:
        raise ConfigError(f"{what} must be a positive whole number, got {value!r}.")
    return int(value)


def _visibility(visibility) -> float:
    v = float(visibility)
    if not 0.0 < v <= 1.0 or math.isnan(v):
        raise ConfigError(f"visibility must be a share in (0, 1] (1.0 = every decayed address bounces), got {visibility!r}.")
    return v


def _model(model):
    if model is None:
        from .decay import DecayModel

        return DecayModel()
    if not hasattr(model, "decayed"):
        raise ConfigError(f"model must be a listcare.DecayModel (something with .decayed(months)), not {type(model).__name__}.")
    return model


# ----------------------------------------------------------------------- input parsing
def _state_keys(state, as_of: pd.Timestamp | None = None) -> tuple[set[str], set[str]]:
    """Casefolded addresses to suppress and to reconfirm, from *state*; with *as_of*,
    only decisions whose ``since`` is not after it (a plan as of an earlier day must not
    use what a later night decided), where the table has ``since``.

    *state* is duck-typed; any of these works:

    * an object with a ``suppressions()`` method (a :class:`listcare.Store`) returning a
      DataFrame as below;
    * a DataFrame with an address column (``address``/``email``/``recipient``/...) and,
      optionally, a ``decision`` column as written by :func:`listcare.policy.decide`:
      ``suppress`` is never planned, ``reconfirm`` goes to the reconfirmation wave,
      ``keep`` is planned normally; without a ``decision`` column every row is suppressed;
    * a set, list, tuple, ``pd.Index`` or ``pd.Series`` of addresses (all suppressed).
    """
    if state is None:
        return set(), set()
    fn = getattr(state, "suppressions", None)
    if callable(fn):
        state = fn()
    reconfirm = pd.Series([], dtype="object")
    if isinstance(state, pd.DataFrame):
        df = state
        col = next((c for c in ("address", "email", "recipient", "normalized") if c in df.columns), None)
        if col is None:
            from .contacts import find_email_column

            col = find_email_column(df)
        if as_of is not None and "since" in df.columns:
            # as_of is a calendar day: a decision that started on it counts
            end = pd.Timestamp(as_of).tz_localize("UTC") + pd.Timedelta(days=1)
            since = pd.to_datetime(df["since"], utc=True, errors="coerce")
            df = df[~(since >= end).to_numpy()]
        if "decision" in df.columns:
            decision = df["decision"].astype("string").str.strip().str.lower().fillna("")
            values = df.loc[(decision == "suppress").to_numpy(), col]
            reconfirm = df.loc[(decision == "reconfirm").to_numpy(), col]
        else:
            values = df[col]
    elif isinstance(state, (pd.Series, pd.Index)):
        values = state
    elif isinstance(state, Iterable) and not isinstance(state, (str, bytes)):
        values = list(state)
    else:
        raise ConfigError(
            "state must be a listcare.Store, a DataFrame of decisions, or a set/list/Series of "
            f"suppressed addresses; got {type(state).__name__}."
        )

    def fold(v) -> set[str]:
        keys = pd.Series(v, dtype="object").dropna().astype(str).str.strip().str.casefold()
        return set(keys[keys != ""])

    return fold(values), fold(reconfirm)


def _state_delivered_days(state, as_of: pd.Timestamp, folded: np.ndarray) -> np.ndarray | None:
    """Per contact, the day (days since 1970-01-01, UTC) of its last successful delivery
    in *state*, or the int64 minimum where there is none; None if *state* keeps no
    deliveries (it has no ``last_deliveries`` method, as a :class:`listcare.Store` has).

    Deliveries up to the end of the day *as_of* count (later ones are in the future of
    the plan: no hidden clock). Addresses are compared stripped and casefolded, as the
    suppressions are.
    """
    fn = getattr(state, "last_deliveries", None)
    if state is None or not callable(fn):
        return None
    last = fn(until=as_of + pd.Timedelta(days=1) - pd.Timedelta(microseconds=1))
    nat = np.iinfo(np.int64).min
    out = np.full(len(folded), nat, dtype=np.int64)
    if last is None or not len(last):
        return out
    ts = pd.to_datetime(last["timestamp"], utc=True).dt.tz_convert(None)
    keys = last["recipient"].astype("object").fillna("").astype(str).str.strip().str.casefold()
    ok = ts.notna().to_numpy() & (keys != "").to_numpy()
    days = ts.to_numpy(dtype="datetime64[ns]")[ok].astype("datetime64[D]").astype(np.int64)
    # two stored spellings of one address (case) fold to one key: the later delivery wins
    per_key = pd.Series(days, index=keys.to_numpy()[ok]).groupby(level=0).max()
    pos = per_key.index.get_indexer(folded)
    hit = pos >= 0
    out[hit] = per_key.to_numpy()[pos[hit]]
    return out


def _parse_dates(col: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Day numbers (days since 1970-01-01, UTC) and a mask of cells that are not dates.

    Empty cells are simply missing (never contacted), not bad. The rules (ISO first,
    dotted day-first, slashed decided per column) are :func:`listcare.dates.parse_dates`.
    """
    ns, bad = parse_dates(col)
    days = ns.view("M8[ns]").astype("datetime64[D]").astype(np.int64)
    days[ns == np.iinfo(np.int64).min] = np.iinfo(np.int64).min
    return days, bad


def _channels(col: pd.Series | None, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Channel codes (1 email, 2 phone, 3 both) and a mask of unreadable cells."""
    if col is None:
        return np.full(n, _CODE_EMAIL, dtype=np.int8), np.zeros(n, dtype=bool)
    text = col.astype("string").fillna("").str.strip().str.lower()
    codes = np.zeros(n, dtype=np.int8)
    bad = np.zeros(n, dtype=bool)
    # few distinct values in practice: parse each once
    uniq, inv = np.unique(text.to_numpy(dtype=object).astype(str), return_inverse=True)
    parsed = np.zeros(len(uniq), dtype=np.int8)
    for i, value in enumerate(uniq):
        parts = [p for p in re.split(r"[\s,;+/|&]+", value) if p and p != "and"]
        code = 0
        ok = True
        for p in parts:
            if p in ("email", "e-mail", "mail"):
                code |= _CODE_EMAIL
            elif p in ("phone", "tel", "telephone", "call"):
                code |= _CODE_PHONE
            elif p == "both":
                code |= _CODE_BOTH
            else:
                ok = False
        parsed[i] = (code or _CODE_EMAIL) if ok else -1
    codes = parsed[inv]
    bad = codes < 0
    codes[bad] = 0
    return codes, bad


# ----------------------------------------------------------------------- the scheduler
class _Calendar:
    """Send days as offsets from as_of, with lookup tables from calendar offsets."""

    def __init__(self, as_of: pd.Timestamp, horizon_days: int, weekdays, holidays, extra: int):
        dates = pd.date_range(as_of, periods=horizon_days, freq="D")
        ok = np.isin(dates.weekday, weekdays) & ~dates.isin(holidays)
        self.offsets = np.flatnonzero(ok).astype(np.int64)
        self.dates = dates[ok]
        self.E = horizon_days
        self.S = len(self.offsets)
        span = np.arange(horizon_days + extra + 2, dtype=np.int64)
        # index of the last send day on or before each offset (-1: none)
        self._last_le = np.searchsorted(self.offsets, span, side="right") - 1
        # index of the first send day on or after each offset (S: none in the horizon)
        self._first_ge = np.searchsorted(self.offsets, span, side="left")

    def last_le(self, off: np.ndarray) -> np.ndarray:
        off = np.asarray(off, dtype=np.int64)
        if off.size and off.min() >= 0 and off.max() < len(self._last_le):
            return self._last_le[off]
        return np.searchsorted(self.offsets, off, side="right") - 1

    def first_ge(self, off: np.ndarray) -> np.ndarray:
        off = np.asarray(off, dtype=np.int64)
        if off.size and off.min() >= 0 and off.max() < len(self._first_ge):
            return self._first_ge[off]
        return np.searchsorted(self.offsets, np.maximum(off, 0), side="left")


def _edf(cal: _Calendar, dl_off, rel_off, prev_off, follow_up, cap, interval, half, gap):
    """Earliest-deadline-first fill with water-filling levels (see the module docstring).

    Arrays are per contact, already in priority order (stalest first, then the hash of
    the address), so the position in the arrays is the tie-break. *cap* is the capacity per send day
    (``None``: unlimited). Returns the sends as arrays (day index, contact position,
    wave, deadline offset, gap in days since the previous contact) and the phone
    follow-ups (day index, contact position, wave).
    """
    S, E = cal.S, cal.E
    n = len(dl_off)
    dl_off = dl_off.copy()
    prev_off = prev_off.copy()
    pos = np.arange(n, dtype=np.int64)
    dl_idx = np.maximum(cal.last_le(dl_off), 0)  # overdue: the first send day
    pending = dl_off < E
    rel_idx = cal.first_ge(np.minimum(np.maximum(rel_off, 0), E))
    key = np.where(pending, dl_idx * n + pos, _DONE)
    hist = np.bincount(dl_idx[pending], minlength=S).astype(np.int64)
    waves = np.zeros(n, dtype=np.int64)
    if cap is not None:
        capc = np.concatenate([[0], np.cumsum(cap)])
    out_t, out_i, out_w, out_dl, out_gap = [], [], [], [], []
    ph_t, ph_i, ph_w = [], [], []
    acc = 0.0
    for t in range(S):
        total = int(hist.sum())
        if total == 0:
            break
        h = hist[t:].copy()
        h[0] += int(hist[:t].sum())  # late ones must go now
        cum = np.cumsum(h)
        # `acc` is the share of the level already counted but not yet sent (a fraction of
        # a contact); it is still in `cum`, so it is taken off to keep the level constant
        rate = max(0.0, float(np.max((cum - acc) / np.arange(1, len(cum) + 1))))
        if cap is None:
            need = int(cum[0])
            room = n
        else:
            future = capc[t + 1 : S + 1] - capc[t + 1]
            need = int(max(0, np.max(cum - future)))
            room = int(cap[t])
        acc = min(acc + rate, rate + 1.0)
        want = max(need, int(math.floor(acc + 1e-9)))
        want = min(want, room)
        if want <= 0:
            continue
        cand = np.flatnonzero((rel_idx <= t) & (key < _DONE))
        k = min(want, cand.size)
        if k == 0:
            continue
        if k < cand.size:
            part = np.argpartition(key[cand], k - 1)[:k]
            chosen = cand[part]
        else:
            chosen = cand
        chosen = chosen[np.argsort(key[chosen], kind="stable")]
        acc = max(acc - k, 0.0)
        off_t = int(cal.offsets[t])
        out_t.append(np.full(k, t, dtype=np.int32))
        out_i.append(chosen)
        w = waves[chosen] + 1
        waves[chosen] = w
        out_w.append(w)
        out_dl.append(dl_off[chosen])
        out_gap.append(off_t - prev_off[chosen])
        hist -= np.bincount(dl_idx[chosen], minlength=S)
        prev_off[chosen] = off_t
        release = np.full(k, off_t + half, dtype=np.int64)
        if follow_up is not None:
            fu = chosen[follow_up[chosen]]
            if fu.size:
                p_idx = cal.first_ge(np.full(fu.size, off_t + gap, dtype=np.int64))
                inside = p_idx < S
                if inside.any():
                    ph_t.append(p_idx[inside].astype(np.int32))
                    ph_i.append(fu[inside])
                    ph_w.append(waves[fu[inside]])
                # the next email only `gap` days after the call (or after the horizon)
                p_off = np.where(inside, cal.offsets[np.minimum(p_idx, S - 1)], E)
                release_fu = np.maximum(off_t + half, p_off + gap)
                release[follow_up[chosen]] = release_fu
        new_dl = off_t + interval
        dl_off[chosen] = new_dl
        if new_dl < E:
            di = int(cal.last_le(np.array([new_dl]))[0])
            dl_idx[chosen] = di
            hist[di] += k
            key[chosen] = di * n + chosen
        else:
            key[chosen] = _DONE
        rel_idx[chosen] = cal.first_ge(np.minimum(release, E))
    unmet = np.flatnonzero(key < _DONE)

    def cat(parts, dt):
        return np.concatenate(parts) if parts else np.zeros(0, dtype=dt)

    return (
        cat(out_t, np.int32),
        cat(out_i, np.int64),
        cat(out_w, np.int64),
        cat(out_dl, np.int64),
        cat(out_gap, np.int64),
        (cat(ph_t, np.int32), cat(ph_i, np.int64), cat(ph_w, np.int64)),
        unmet,
        dl_off,
    )


# ----------------------------------------------------------------------- the planner
def plan_cadence(
    contacts,
    *,
    as_of,
    every=None,
    target_bounce_rate: float | None = None,
    visibility: float = 1.0,
    daily_capacity: int | None = None,
    send_days="Mon-Fri",
    holidays=(),
    horizon="180D",
    model=None,
    state=None,
    email_column: str | None = None,
    last_contacted: str | None = "last_contacted_at",
    acquired: str | None = "acquired_at",
    sunset="365D",
    reconfirm_daily_batch: int | None = None,
    channel_column: str | None = None,
    min_channel_gap_days: int = 3,
    strict: bool = False,
) -> CadencePlan:
    """Plan sends so that every active contact hears from you at least every interval.

    *contacts*: a DataFrame (e.g. from :func:`listcare.read_contacts`) or a path to read.
    Each contact's last contact is ``last_contacted`` or, if empty (never contacted),
    ``acquired``; a contact with neither date is treated as stale (reconfirmation).
    When *state* is a :class:`listcare.Store` (anything with ``last_deliveries()``), the
    last successful delivery it recorded for the address (up to the end of the day
    *as_of*) counts as a contact too: the last contact is the later of that delivery
    and ``last_contacted``, so a contact the nightly job saw delivered last month is due
    on the cadence, not sent to reconfirmation because the contact file is older (as
    ``listcare clean`` on the same store decides). Addresses that fail the syntax check
    (:func:`listcare.address.syntax.columns`: email-validator's rules, no DNS lookup) can
    never be delivered: they are not planned (``plan.excluded``, ``invalid_address``).
    *as_of* is the first day of the plan (no hidden clock); the plan covers *horizon*
    days from it (the horizon's end is exclusive).

    *every* is the interval (``"60D"``, ``"8W"``, ``"2M"``; ``None`` means ``"60D"``
    unless *target_bounce_rate* is given, in which case the interval is the longest
    one whose expected bounce share per send, ``visibility * model.decayed(t)``, stays
    within the target; see :func:`interval_for_target`: at the default 2.1% a month, a
    2% target gives 28 days; with visibility 0.5, 58 days). Give one or the other.

    Every active contact is planned so that, within the horizon, no gap between two
    contacts exceeds the interval (the first send by last contact + interval; overdue
    contacts from the first send day); the stalest go first. *daily_capacity* limits
    emails per send day (phone calls are not counted against it); the volume is spread
    as evenly as the deadlines allow. *send_days* (``"Mon-Fri"``, ``"Mon,Wed,Fri"``,
    ``"daily"``) and *holidays* (dates) restrict the days. If the capacity cannot meet
    every deadline, the plan says so in ``plan.warnings`` (and a
    :class:`CapacityWarning`), ``plan.feasible`` is False, and with ``strict=True`` a
    :class:`~listcare.exceptions.ConfigError` is raised instead. The capacity is never
    exceeded.

    Contacts whose last contact is older than *sunset* (default 365 days) get one
    reconfirmation email instead of regular waves, sent first, in daily batches of
    *reconfirm_daily_batch* (default: spread evenly over the horizon, at most a tenth of
    the capacity); the waves table reports the bounce rate that wave is expected to have.
    Addresses suppressed in *state* (a :class:`listcare.Store`, or a set/Series/DataFrame
    of addresses: see :func:`_state_keys`) are never planned; addresses the store's
    policy marked ``reconfirm`` go to the reconfirmation wave.

    *channel_column* (optional) holds ``email``, ``phone`` or both (``email,phone``):
    phone-only contacts are called on the cadence; contacts with both are emailed and get
    a phone follow-up at least *min_channel_gap_days* after each email, and the next
    email is at least that long after the call: never two channels to one contact within
    that many days.

    Returns a :class:`CadencePlan`: a DataFrame with one row per send and the attributes
    ``daily``, ``waves``, ``excluded``, ``interval``, ``content_budget``, ``feasible``,
    ``warnings``. The input is not modified.

    Example::

        >>> plan = plan_cadence(read_contacts("contacts.csv"), as_of="2026-11-27",
        ...                     every="60D", daily_capacity=5000)
        >>> print(plan.summary())
    """
    # ---- settings
    as_of = _day(as_of, "as_of")
    if isinstance(contacts, (str, os.PathLike)):
        from .contacts import read_contacts

        contacts = read_contacts(contacts, email_column=email_column)
    if not isinstance(contacts, pd.DataFrame):
        raise InputError(f"contacts must be a DataFrame or a path, not {type(contacts).__name__}.")
    visibility = _visibility(visibility)
    model = _model(model)
    if every is not None and target_bounce_rate is not None:
        raise ConfigError("Give either every (a fixed interval) or target_bounce_rate, not both.")
    if target_bounce_rate is not None:
        interval = interval_for_target(target_bounce_rate, model=model, visibility=visibility)
    else:
        interval = _days("60D" if every is None else every, "every")
    horizon_days = _days(horizon, "horizon")
    sunset_days = _days(sunset, "sunset")
    gap = _days(min_channel_gap_days, "min_channel_gap_days", allow_zero=True)
    weekdays = parse_send_days(send_days)
    if isinstance(holidays, (str, pd.Timestamp)) or not isinstance(holidays, Iterable):
        holidays = [holidays] if holidays is not None else []
    holiday_index = pd.DatetimeIndex([_day(h, "holidays") for h in holidays])
    if daily_capacity is not None:
        daily_capacity = _positive_int(daily_capacity, "daily_capacity")
    if reconfirm_daily_batch is not None:
        reconfirm_daily_batch = _positive_int(reconfirm_daily_batch, "reconfirm_daily_batch")
        if daily_capacity is not None and reconfirm_daily_batch > daily_capacity:
            raise ConfigError(
                f"reconfirm_daily_batch ({reconfirm_daily_batch}) exceeds daily_capacity ({daily_capacity})."
            )
    half = max(1, math.ceil(interval / 2))
    cal = _Calendar(as_of, horizon_days, weekdays, holiday_index, extra=interval + 4 * gap + 14)
    if cal.S == 0:
        raise ConfigError(
            f"No send day in the {horizon_days}-day horizon from {as_of.date()}: check send_days and holidays."
        )

    # ---- the input
    from .contacts import find_email_column

    email_col = find_email_column(contacts, email_column)
    date_cols = [c for c in (last_contacted, acquired) if c is not None]
    present = [c for c in date_cols if c in contacts.columns]
    if not present:
        raise ColumnError(
            f"The contact list needs a date of last contact or of acquisition (columns "
            f"{', '.join(map(repr, date_cols)) or 'none given'}); it has {sample(map(str, contacts.columns), 12)}. "
            "Name the columns with last_contacted=... and acquired=... (CLI: --last-contacted, --acquired).",
            missing=date_cols,
            seen=[str(c) for c in contacts.columns],
        )
    # a column named on purpose (not the default name) that is not there is a typo: a
    # plan without it would silently send many more contacts to reconfirmation
    for named, default in ((last_contacted, "last_contacted_at"), (acquired, "acquired_at")):
        if named is not None and named != default and named not in contacts.columns:
            raise ColumnError(
                f"The contact list has no column {named!r}; it has "
                f"{sample(map(str, contacts.columns), 12)}.",
                missing=[named],
                seen=[str(c) for c in contacts.columns],
            )
    if channel_column is not None and channel_column not in contacts.columns:
        raise ColumnError(
            f"The contact list has no channel column {channel_column!r}; it has {sample(map(str, contacts.columns), 12)}.",
            missing=[channel_column],
            seen=[str(c) for c in contacts.columns],
        )
    n_rows = len(contacts)
    raw_keys = contacts[email_col].to_numpy(dtype=object)
    # one pass: the address as compared (spaces around it and case do not matter)
    folded = np.empty(n_rows, dtype=object)
    folded[:] = [v.strip().casefold() if isinstance(v, str) else "" for v in raw_keys]
    keys_np = np.where(pd.isna(raw_keys), "", raw_keys).astype(object)
    # ties (same deadline) are broken by a stable hash of the address: deterministic and
    # independent of the row order, and no letter of the alphabet always goes first
    fcode, uniques = pd.factorize(folded)  # equal addresses share a code
    fhash = pd.util.hash_array(np.asarray(uniques, dtype=object), categorize=False)[fcode]
    nat = np.iinfo(np.int64).min
    as_of_day = int(as_of.to_datetime64().astype("datetime64[D]").astype(np.int64))
    last_day = np.full(n_rows, nat, dtype=np.int64)
    acq_day = np.full(n_rows, nat, dtype=np.int64)
    bad_date = np.zeros(n_rows, dtype=bool)
    if last_contacted is not None and last_contacted in contacts.columns:
        last_day, bad = _parse_dates(contacts[last_contacted])
        bad_date |= bad
    delivered_day = _state_delivered_days(state, as_of, folded)
    if delivered_day is not None:  # the store saw a later successful delivery: a contact
        last_day = np.maximum(last_day, delivered_day)  # NaT is the int64 minimum
    if acquired is not None and acquired in contacts.columns:
        acq_day, bad = _parse_dates(contacts[acquired])
        bad_date |= bad
    anchor = np.where(last_day != nat, last_day, acq_day)
    known = anchor != nat
    anchor_off = np.where(known, anchor - as_of_day, -(sunset_days + 1))
    future = known & (anchor_off > 0)
    anchor_off = np.minimum(anchor_off, 0)  # a date after as_of counts as contacted on as_of
    codes, bad_channel = _channels(
        contacts[channel_column] if channel_column is not None else None, n_rows
    )
    if (codes == _CODE_BOTH).any() and 2 * gap >= interval:
        raise ConfigError(
            f"An interval of {interval} days leaves no room for a phone follow-up with "
            f"min_channel_gap_days={gap} (an email, the call {gap} days later and the next "
            f"email {gap} days after that): use a longer interval or a shorter gap."
        )
    suppressed, to_reconfirm = _state_keys(state, as_of)

    # ---- who is not planned, and why (first reason wins)
    reason = np.zeros(n_rows, dtype=np.int8)  # 0: planned, else 1 + index in EXCLUDED_REASONS

    def exclude(mask, name):
        reason[(reason == 0) & mask] = 1 + EXCLUDED_REASONS.index(name)

    exclude(folded == "", "no_address")
    # syntax only (no DNS: planning must not depend on the network); the Arrow fast path
    # takes a million addresses in about a second
    from .address.syntax import columns as syntax_columns

    exclude(~syntax_columns(contacts[email_col], strip=True).ok, "invalid_address")
    exclude(bad_date, "bad_date")
    exclude(bad_channel, "unknown_channel")
    if suppressed:
        exclude(pd.Series(folded).isin(suppressed).to_numpy(), "suppressed")
    # duplicates: keep the freshest row of each address (then the first)
    ok = reason == 0
    order = np.lexsort((np.arange(n_rows), -anchor_off, fcode))
    order = order[ok[order]]
    if order.size:
        f_sorted = fcode[order]
        first = np.ones(order.size, dtype=bool)
        first[1:] = f_sorted[1:] != f_sorted[:-1]
        reason[order[~first]] = 1 + EXCLUDED_REASONS.index("duplicate")
    del order, fcode, uniques
    eligible = reason == 0
    stale = eligible & (-anchor_off > sunset_days)
    if to_reconfirm:  # the store's policy asked for reconfirmation (e.g. soft bounces)
        stale |= eligible & pd.Series(folded).isin(to_reconfirm).to_numpy()
    regular = eligible & ~stale
    warn: list[str] = []
    if interval > sunset_days:
        warn.append(
            f"The interval ({interval} days) is longer than the sunset ({sunset_days} days): "
            "contacts pass the sunset between two sends and are asked to reconfirm instead "
            "of being mailed. Shorten the interval (every=, CLI --every) or lengthen the "
            "sunset (sunset=, --sunset)."
        )
    if future.any():
        warn.append(
            f"{int(future.sum()):,} contact(s) have a last-contact or acquisition date after as_of; "
            "they are taken as contacted on as_of."
        )

    # ---- reconfirmation wave: freshest first (the likeliest to be alive go first, and a
    # batch that bounces badly warns you before the worst part of the list is mailed)
    rc = np.flatnonzero(stale)
    rc = rc[np.lexsort((fhash[rc], -anchor_off[rc]))]
    rc_cap = np.zeros(cal.S, dtype=np.int64)
    rc_t = np.zeros(0, dtype=np.int64)
    if rc.size:
        batch = reconfirm_daily_batch
        if batch is None:
            batch = math.ceil(rc.size / cal.S)
            if daily_capacity is not None:
                batch = min(batch, max(1, daily_capacity // 10))
        t_all = np.arange(rc.size) // batch
        later = t_all >= cal.S
        if later.any():
            reason[rc[later]] = 1 + EXCLUDED_REASONS.index("reconfirm_later")
            warn.append(
                f"{int(later.sum()):,} of {rc.size:,} contacts past sunset do not fit in the reconfirmation "
                f"batches of {batch:,} a day within the horizon; they are listed in plan.excluded "
                "(reason reconfirm_later)."
            )
        rc = rc[~later]
        rc_t = t_all[~later]
        email_rc = codes[rc] != _CODE_PHONE
        rc_cap = np.bincount(rc_t[email_rc], minlength=cal.S).astype(np.int64)

    # ---- regular waves, one fill per channel (phone calls have no email capacity)
    reg = np.flatnonzero(regular)
    dl0 = anchor_off[reg] + interval
    reg = reg[np.lexsort((fhash[reg], dl0))]
    parts = []
    unmet_rows = []
    late_count = 0
    late_overdue = 0
    backlog_until = -1
    for code_set, capped in (((_CODE_EMAIL, _CODE_BOTH), True), ((_CODE_PHONE,), False)):
        idx = reg[np.isin(codes[reg], code_set)]
        if idx.size == 0:
            continue
        cap = None
        if capped and daily_capacity is not None:
            cap = np.maximum(daily_capacity - rc_cap, 0)
        follow = codes[idx] == _CODE_BOTH if capped else None
        if follow is not None and follow.any():
            half_c = max(half, 2 * gap)
        else:
            follow = None
            half_c = half
        a_off = anchor_off[idx]
        t, i, w, dl, g, (pt, pi, pw), unmet, _ = _edf(
            cal, a_off + interval, a_off + half_c, a_off, follow, cap, interval, half_c, gap
        )
        first_dl_idx = cal.last_le(dl)
        late = t > np.maximum(first_dl_idx, 0)
        late_count += int(late.sum())
        overdue0 = (cal.last_le(a_off[i] + interval) < 0) & (w == 1)
        late_overdue += int((late & overdue0).sum())
        if (late & overdue0).any():
            backlog_until = max(backlog_until, int(t[late & overdue0].max()))
        rsn = np.where(overdue0, _R_OVERDUE, _R_DUE)
        exp = (
            visibility * np.asarray(model.decayed(np.maximum(g, 0) / MONTH_DAYS), dtype=float)
            if capped
            else np.zeros(len(t))
        )
        parts.append(_part(t, idx[i], w, rsn, 0 if capped else 1, dl, exp, False))
        if pt.size:
            # the follow-up has the reason of the email it follows
            pr = np.where((pw == 1) & (cal.last_le(a_off[pi] + interval) < 0), _R_OVERDUE, _R_DUE)
            parts.append(_part(pt, idx[pi], pw, pr, 1, cal.offsets[pt], np.zeros(pt.size), True))
        planned_once = np.zeros(idx.size, dtype=bool)
        planned_once[i] = True
        del t, i, w, dl, g, pt, pi, pw, late, overdue0, first_dl_idx, rsn, exp
        unmet_rows.append(idx[unmet])
        reason[idx[~planned_once & (a_off + interval < cal.E)]] = 1 + EXCLUDED_REASONS.index("no_capacity")
        reason[idx[~planned_once & (a_off + interval >= cal.E)]] = 1 + EXCLUDED_REASONS.index("not_due")
    unmet_all = np.concatenate(unmet_rows) if unmet_rows else np.zeros(0, dtype=np.int64)
    n_unplanned = int((reason == 1 + EXCLUDED_REASONS.index("no_capacity")).sum())
    n_short = unmet_all.size - n_unplanned
    if late_count or unmet_all.size:
        bits = []
        if late_overdue:
            bits.append(
                f"{late_overdue:,} overdue contacts cannot all go on the first send day "
                f"({cal.dates[0].date()}); "
                + (
                    f"those that fit are sent by {cal.dates[backlog_until].date()}"
                    if n_unplanned
                    else f"the backlog is cleared by {cal.dates[backlog_until].date()}"
                )
            )
        if late_count - late_overdue:
            bits.append(f"{late_count - late_overdue:,} sends would be later than their deadline")
        if n_short > 0:
            bits.append(f"{n_short:,} contacts cannot get all the sends they need")
        if n_unplanned:
            bits.append(f"{n_unplanned:,} contacts cannot be planned at all (plan.excluded, reason no_capacity)")
        fix = ""
        if daily_capacity is not None:
            fix = (
                f" Raise daily_capacity (CLI: --daily-capacity) above {daily_capacity:,}, lengthen "
                "the interval, add send days, or lower reconfirm_daily_batch (--reconfirm-batch)."
            )
        warn.append(f"The capacity cannot keep every gap within {interval} days: " + "; ".join(bits) + "." + fix)

    if rc.size:
        age = -anchor_off[rc] + cal.offsets[rc_t]
        exp = visibility * np.asarray(model.decayed(age / MONTH_DAYS), dtype=float)
        phone = codes[rc] == _CODE_PHONE
        exp = np.where(phone, 0.0, exp)
        parts.append(_part(rc_t, rc, 0, _R_RECONFIRM, phone, cal.offsets[rc_t], exp, False))

    # ---- the tables (built column by column: a million contacts make millions of sends)
    fields = ("t", "rows", "wave", "rsn", "chan", "dl", "exp", "follow")
    cols = {f: np.concatenate([p[f] for p in parts]) if parts else _part()[f] for f in fields}
    del parts
    # date, then channel (emails first), then the priority order within the day
    order = np.argsort(cols["t"].astype(np.int64) * 2 + cols["chan"], kind="stable")
    for f in fields:
        cols[f] = cols[f][order]
    del order
    t, chan, rsn, exp, wave = cols["t"], cols["chan"], cols["rsn"], cols["exp"], cols["wave"]
    day_ns = np.timedelta64(1, "D")
    as_of64 = as_of.to_datetime64()
    plan = CadencePlan(
        {
            "date": as_of64 + cal.offsets[t] * day_ns,
            "email": keys_np[cols["rows"]],
            "wave": wave.astype(np.int64),
            "reason": np.asarray(PLAN_REASONS, dtype=object)[rsn],
            "channel": np.asarray(CHANNELS, dtype=object)[chan],
            "deadline": as_of64 + np.minimum(cols["dl"], cal.E + interval).astype(np.int64) * day_ns,
            "expected_bounce": exp,
            "row": cols["rows"].astype(np.int64),
        },
        copy=False,
    )

    is_email = chan == 0
    daily = pd.DataFrame(index=pd.DatetimeIndex(cal.dates, name="date"))
    for code, name in enumerate(PLAN_REASONS):
        daily[name] = np.bincount(t[is_email & (rsn == code)], minlength=cal.S).astype(np.int64)
    daily["phone"] = np.bincount(t[~is_email], minlength=cal.S).astype(np.int64)
    daily["volume"] = daily[list(PLAN_REASONS)].sum(axis=1)
    daily["capacity"] = pd.array([daily_capacity] * cal.S, dtype="Int64")
    daily["expected_hard_bounces"] = np.bincount(t[is_email], weights=exp[is_email], minlength=cal.S)
    waves = _waves_table(cal, t, wave, is_email, exp, cols["follow"])
    del cols, t, chan, rsn, exp, wave, is_email

    excluded_rows = np.flatnonzero(reason)
    excluded = pd.DataFrame(
        {
            "row": excluded_rows.astype(np.int64),
            "email": keys_np[excluded_rows],
            "reason": np.asarray(("", *EXCLUDED_REASONS), dtype=object)[reason[excluded_rows]],
        }
    )
    feasible = not (late_count or unmet_all.size)
    if not feasible:
        if strict:
            raise ConfigError(warn[-1])
        warnings.warn(warn[-1], CapacityWarning, stacklevel=2)

    plan.daily = daily
    plan.waves = waves
    plan.excluded = excluded
    plan.interval = pd.Timedelta(days=interval)
    plan.content_budget = math.ceil(365.25 / interval)
    plan.feasible = feasible
    plan.warnings = warn
    plan.as_of = as_of
    plan.horizon = pd.Timedelta(days=horizon_days)
    plan.capacity = daily_capacity
    plan.settings = {
        "interval_days": interval,
        "target_bounce_rate": target_bounce_rate,
        "visibility": visibility,
        "monthly_rate": getattr(model, "monthly_rate", None),
        "send_days": [_WEEKDAYS[d].capitalize() for d in weekdays],
        "holidays": [str(h.date()) for h in holiday_index],
        "horizon_days": horizon_days,
        "sunset_days": sunset_days,
        "min_channel_gap_days": gap,
        "email_column": str(email_col),
    }
    return plan


def _part(t=(), rows=(), wave=0, rsn=0, chan=0, dl=(), exp=(), follow=False) -> dict:
    """One block of sends in compact dtypes (scalars are broadcast)."""
    n = len(t)
    return {
        "t": np.asarray(t, dtype=np.int32),
        "rows": np.asarray(rows, dtype=np.int64),
        "wave": np.broadcast_to(np.asarray(wave, dtype=np.int32), (n,)),
        "rsn": np.broadcast_to(np.asarray(rsn, dtype=np.int8), (n,)),
        "chan": np.broadcast_to(np.asarray(chan, dtype=np.int8), (n,)),
        "dl": np.asarray(dl, dtype=np.int32),
        "exp": np.asarray(exp, dtype=np.float64),
        "follow": np.broadcast_to(np.asarray(follow, dtype=bool), (n,)),
    }


def _waves_table(cal: _Calendar, t, wave, is_email, exp, follow) -> pd.DataFrame:
    """One row per wave: dates, contacts, sends, expected hard bounces and their rate."""
    cols = ["wave", "first_date", "last_date", "contacts", "sends", "expected_hard_bounces", "expected_bounce_rate"]
    if t.size == 0:
        return pd.DataFrame({c: pd.Series(dtype="int64" if c in ("wave", "contacts", "sends") else "float64") for c in cols})
    w = wave.astype(np.int64)
    size = int(w.max()) + 1
    sends = np.bincount(w, minlength=size)
    present = np.flatnonzero(sends)
    span = pd.DataFrame({"w": w, "t": t}).groupby("w")["t"].agg(["min", "max"]).reindex(present)
    emails = np.bincount(w[is_email], minlength=size)[present]
    bounces = np.bincount(w[is_email], weights=exp[is_email], minlength=size)[present]
    out = pd.DataFrame(
        {
            "wave": present.astype(np.int64),
            "first_date": cal.dates[span["min"].to_numpy()],
            "last_date": cal.dates[span["max"].to_numpy()],
            # a phone follow-up shares the wave of its email: count each contact once
            "contacts": np.bincount(w[~follow], minlength=size)[present].astype(np.int64),
            "sends": sends[present].astype(np.int64),
            "expected_hard_bounces": bounces,
            "expected_bounce_rate": np.divide(bounces, emails, out=np.zeros(len(present)), where=emails > 0),
        }
    )
    return out


def plan_uid_seed(plan: CadencePlan) -> str:
    """A short stable hash of the plan's settings (for iCalendar UIDs)."""
    text = repr(sorted(plan.settings.items())) + str(plan.as_of)
    return hashlib.sha1(text.encode()).hexdigest()[:12]
