"""SendGrid Event Webhook (JSON array of events; also one event per line).

Fields as documented in "Event Webhook Reference" (docs.sendgrid.com): every event has
``email``, ``timestamp`` (Unix seconds), ``event``, ``sg_event_id``, ``sg_message_id``,
and ``smtp-id``. Outcomes:

- ``delivered`` (``response``: the receiver's reply), ``deferred`` (``response``,
  ``attempt``);
- ``bounce`` with ``type`` "bounce" or "blocked" (``reason``: the receiver's text,
  ``status``: RFC 3463 code, ``bounce_classification``);
- ``dropped`` (``reason`` such as "Bounced Address", "Unsubscribed Address", "Spam
  Reporting Address": SendGrid's suppression lists -> the ``suppressed`` hint);
- ``spamreport`` (a complaint -> ``feedback``), ``unsubscribe`` / ``group_unsubscribe``.

``processed``, ``open``, ``click`` and ``group_resubscribe`` are not outcomes.
"""

from __future__ import annotations

from ..records import Fact
from ._common import epoch_time as _time

FORMAT = "sendgrid"


def sniff(text: str) -> int:
    score = 0
    for key in ('"sg_event_id"', '"sg_message_id"', '"smtp-id"'):
        if key in text:
            score += 3
    if '"event"' in text and '"email"' in text:
        score += 1
    return score if score > 1 else 0


def facts(record) -> list[Fact]:
    from ..read import smtp_codes

    if not isinstance(record, dict):
        raise TypeError("a SendGrid event is a JSON object")
    event = str(record.get("event") or "").lower()
    if not event:  # (opens, clicks... name themselves and are left out below)
        raise ValueError("a SendGrid event without its 'event' field")
    rcpt = str(record.get("email") or "")
    when = _time(record.get("timestamp"))
    mid = str(record.get("smtp-id") or record.get("sg_message_id") or "").strip()
    common = dict(recipient=rcpt, timestamp=when, message_id=mid)
    if event == "delivered":
        diag = str(record.get("response") or "")
        status, reply = smtp_codes(diag)
        return [Fact(action="delivered", status=status, reply_code=reply, diagnostic=diag, **common)]
    if event == "deferred":
        diag = str(record.get("response") or "")
        status, reply = smtp_codes(diag)
        return [Fact(action="delayed", status=status, reply_code=reply, diagnostic=diag, **common)]
    if event == "bounce":
        diag = str(record.get("reason") or "")
        status, reply = smtp_codes(diag)
        # SendGrid's bounce "type": "bounce" (permanent) or "blocked" (temporary)
        permanent = str(record.get("type") or "bounce").lower() == "bounce"
        return [Fact(action="failed", status=str(record.get("status") or status), reply_code=reply,
                     diagnostic=diag, hint="permanent" if permanent else "", **common)]
    if event == "dropped":
        reason = str(record.get("reason") or "")
        hint = "suppressed" if reason.lower().endswith("address") else ""
        return [Fact(action="failed", diagnostic=reason, hint=hint, **common)]
    if event == "spamreport":
        return [Fact(hint="feedback", feedback_type="abuse", **common)]
    if event in ("unsubscribe", "group_unsubscribe"):
        return [Fact(hint="unsubscribe", feedback_type="unsubscribe", **common)]
    return []
