"""Mailgun events (Events API pages ``{"items": [...], "paging": ...}``, webhook payloads
``{"signature": ..., "event-data": {...}}``, or a list / JSON lines of either).

Per "Events" in Mailgun's documentation: ``event`` is delivered, failed (``severity``
permanent or temporary), rejected, complained, unsubscribed, accepted, opened, clicked,
stored. ``delivery-status`` holds ``code`` (SMTP reply), ``message`` and
``description`` (the receiver's text), ``mx-host``; ``reason`` says e.g. "bounce",
"suppress-bounce", "suppress-unsubscribe", "suppress-complaint", "generic".
"""

from __future__ import annotations

from ..records import Fact
from ._common import epoch_time as _time

FORMAT = "mailgun"


def sniff(text: str) -> int:
    score = 0
    for key in ('"event-data"', '"delivery-status"', '"log-level"', '"recipient-domain"'):
        if key in text:
            score += 3
    if '"items"' in text and '"paging"' in text:
        score += 2
    return score


def facts(record) -> list[Fact]:
    from ..read import smtp_codes

    if not isinstance(record, dict):
        raise TypeError("a Mailgun event is a JSON object")
    if isinstance(record.get("event-data"), dict):
        record = record["event-data"]
    event = str(record.get("event") or "").lower()
    rcpt = str(record.get("recipient") or "")
    when = _time(record.get("timestamp"))
    msg = record.get("message") or {}
    headers = msg.get("headers") or {} if isinstance(msg, dict) else {}
    ds = record.get("delivery-status") or {}
    code = str(ds.get("code") or "")
    diag = str(ds.get("description") or ds.get("message") or "").strip()
    status, reply = smtp_codes(diag)
    if code.isdigit() and len(code) == 3:
        reply = code
    common = dict(recipient=rcpt, timestamp=when, message_id=str(headers.get("message-id") or ""),
                  sender=str(headers.get("from") or ""), remote_mta=str(ds.get("mx-host") or ""))
    if event == "delivered":
        return [Fact(action="delivered", status=status, reply_code=reply, diagnostic=diag, **common)]
    if event == "failed":
        reason = str(record.get("reason") or "")
        severity = str(record.get("severity") or "").lower()
        action = "delayed" if severity == "temporary" else "failed"
        hint = "suppressed" if reason.startswith("suppress") else ""
        if not hint and reason == "old":
            hint = "expired"  # Mailgun gave up retrying ("Too old"): not a dead address
        elif not hint and severity == "permanent":
            hint = "permanent"  # Mailgun's own verdict: decides only without SMTP evidence
        return [Fact(action=action, status=status, reply_code=reply, diagnostic=diag or reason, hint=hint, **common)]
    if event == "complained":
        return [Fact(hint="feedback", feedback_type="abuse", **common)]
    if event == "unsubscribed":
        return [Fact(hint="unsubscribe", feedback_type="unsubscribe", **common)]
    return []
