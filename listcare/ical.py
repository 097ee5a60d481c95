"""iCalendar (RFC 5545) export of a cadence plan: one all-day event per send day.

Written by hand (no dependency) because only one shape of event is needed; the format's
sharp edges are handled and tested: content lines end in CRLF (section 3.1), lines longer
than 75 octets are folded with CRLF + SPACE without splitting a UTF-8 character (3.1),
TEXT values escape backslash, semicolon, comma and newline (3.3.11), an all-day event has
``DTSTART;VALUE=DATE`` and an exclusive ``DTEND`` on the next day (3.6.1), and every
VEVENT has the required ``UID`` and ``DTSTAMP`` (3.6.1). DTSTAMP is the plan's ``as_of``
(no hidden clock), so the same plan always gives the same file, and the UIDs are stable
for the same settings, so re-importing an updated plan replaces the old events.
"""

from __future__ import annotations

import os

import pandas as pd

from .atomic import atomic_write_bytes

__all__ = ["write_ics", "to_ics", "fold", "escape_text"]

_CRLF = "\r\n"


def escape_text(value: str) -> str:
    """Escape a TEXT value (RFC 5545 section 3.3.11)."""
    return (
        str(value)
        .replace("\\", "\\\\")
        .replace(";", "\\;")
        .replace(",", "\\,")
        .replace("\r\n", "\\n")
        .replace("\n", "\\n")
        .replace("\r", "\\n")
    )


def fold(line: str, limit: int = 75) -> str:
    """Fold one content line at *limit* octets (RFC 5545 section 3.1), CRLF-joined.

    Continuation lines start with one SPACE, which counts towards their 75 octets, and a
    multi-octet UTF-8 character is never split.
    """
    pieces: list[str] = []
    current: list[str] = []
    size = 0
    budget = limit
    for ch in line:
        n = len(ch.encode("utf-8"))
        if size + n > budget:
            pieces.append("".join(current))
            current, size, budget = [], 0, limit - 1
        current.append(ch)
        size += n
    pieces.append("".join(current))
    return (_CRLF + " ").join(pieces)


def _uid_seed(plan) -> str:
    from .cadence import plan_uid_seed

    return plan_uid_seed(plan)


def to_ics(plan, *, name: str = "listcare sends") -> str:
    """The iCalendar text of *plan* (a :class:`listcare.cadence.CadencePlan`)."""
    daily = plan.daily
    as_of = pd.Timestamp(plan.as_of)
    dtstamp = as_of.strftime("%Y%m%dT%H%M%SZ")
    seed = _uid_seed(plan)
    interval = int(plan.interval / pd.Timedelta(days=1))
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//listcare//cadence plan//EN",
        "CALSCALE:GREGORIAN",
        "METHOD:PUBLISH",
        f"X-WR-CALNAME:{escape_text(name)}",
    ]
    for day, row in daily.iterrows():
        total = int(row["volume"]) + int(row["phone"])
        if total == 0:
            continue
        day = pd.Timestamp(day)
        parts = [f"{int(row[r]):,} {r}" for r in ("due", "overdue", "reconfirm") if int(row[r])]
        if int(row["phone"]):
            parts.append(f"{int(row['phone']):,} phone follow-up(s)")
        summary = f"listcare: {int(row['volume']):,} emails" + (
            f" + {int(row['phone']):,} calls" if int(row["phone"]) else ""
        )
        cap = row["capacity"]
        desc = (
            f"Planned sends: {', '.join(parts)}.\n"
            f"Expected hard bounces: {float(row['expected_hard_bounces']):.1f}.\n"
            f"Cadence: every {interval} days"
            + ("" if pd.isna(cap) else f"; capacity {int(cap):,} emails a day")
            + f". Plan as of {as_of.date()}."
        )
        lines += [
            "BEGIN:VEVENT",
            f"UID:{day.strftime('%Y%m%d')}-{seed}@listcare",
            f"DTSTAMP:{dtstamp}",
            f"DTSTART;VALUE=DATE:{day.strftime('%Y%m%d')}",
            f"DTEND;VALUE=DATE:{(day + pd.Timedelta(days=1)).strftime('%Y%m%d')}",
            f"SUMMARY:{escape_text(summary)}",
            f"DESCRIPTION:{escape_text(desc)}",
            "TRANSP:TRANSPARENT",
            "END:VEVENT",
        ]
    lines.append("END:VCALENDAR")
    return "".join(fold(line) + _CRLF for line in lines)


def write_ics(plan, path: str | os.PathLike, *, name: str = "listcare sends") -> str:
    """Write *plan*'s send days to *path* as iCalendar, atomically; returns the path."""
    atomic_write_bytes(path, to_ics(plan, name=name).encode("utf-8"))
    return os.fspath(path)
