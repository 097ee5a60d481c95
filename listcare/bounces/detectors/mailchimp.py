"""Mailchimp audience export (CSV): the "cleaned" file, and campaign bounce reports.

An audience export ("Export audience") holds ``cleaned_members_export_*.csv`` with
``Email Address`` and merge fields plus ``CLEAN_TIME``, ``CLEAN_CAMPAIGN_TITLE``,
``CLEAN_CAMPAIGN_ID`` (Mailchimp "cleaned" the address: a hard bounce, or soft bounces
that kept failing). A campaign report's bounce export has ``Email Address`` and
``Bounce Type`` ("hard"/"soft"). Mailchimp gives no SMTP codes or texts: the facts are
its own verdict, marked in the diagnostic so a reader sees where it came from. A cleaned
address is on Mailchimp's suppression list (hint ``suppressed``); a hard / soft bounce
gets RFC 3463's generic permanent / persistent-transient status ``5.0.0`` / ``4.0.0``.
"""

from __future__ import annotations

from datetime import UTC, datetime

from ..records import Fact

FORMAT = "mailchimp"

_EMAIL_COLUMNS = ("email address", "email", "e-mail address")


def sniff(text: str) -> int:
    first = text.lstrip("\ufeff").split("\n", 1)[0].lower()
    if "email address" not in first and "email" not in first:
        return 0
    score = 0
    for key in ("clean_time", "clean_campaign_title", "clean_campaign_id", "bounce type"):
        if key in first:
            score += 3
    return score


def _time(value: str):
    value = (value or "").strip()
    for fmt in ("%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d"):
        try:
            return datetime.strptime(value, fmt).replace(tzinfo=UTC)
        except ValueError:
            continue
    return None


def facts(row: dict) -> list[Fact]:
    lowered = {str(k).strip().lower(): (v or "") for k, v in row.items()}
    email = next((lowered[c] for c in _EMAIL_COLUMNS if lowered.get(c)), "")
    if not email:
        raise ValueError("no email address in the row")
    if "bounce type" not in lowered and not any(k.startswith("clean_") for k in lowered):
        # neither a bounce report nor a cleaned-members export (a subscribed-members
        # export or any contact list forced to this format): no evidence of anything
        raise ValueError("not a Mailchimp bounce or cleaned-members row (no Bounce Type, no CLEAN_ columns)")
    btype = lowered.get("bounce type", "").strip().lower()
    if btype == "soft":
        status, diag = "4.0.0", "Mailchimp: soft bounce"
    elif btype == "hard":
        status, diag = "5.0.0", "Mailchimp: hard bounce"
    else:
        # "cleaned": Mailchimp put the address on its own suppression list and will not
        # mail it again -- the classifier's "suppressed" evidence
        diag = "Mailchimp: cleaned (hard bounce or repeated soft bounces)"
        title = lowered.get("clean_campaign_title", "").strip()
        if title:
            diag += f" in campaign {title!r}"
        when = _time(lowered.get("clean_time", ""))
        return [Fact(recipient=email, action="failed", diagnostic=diag, timestamp=when, hint="suppressed")]
    when = _time(lowered.get("bounce time", ""))
    return [
        Fact(
            recipient=email, action="failed", status=status, diagnostic=diag, timestamp=when,
            hint="permanent" if btype == "hard" else "",
        )
    ]
