"""Amazon SES notifications and events (JSON).

Two shapes, both documented by AWS ("Amazon SNS notification contents for Amazon SES",
"Contents of event data that Amazon SES publishes to Amazon SNS/Firehose"):

- notifications (identity feedback through SNS): ``notificationType`` Bounce, Complaint
  or Delivery, with ``bounce``/``complaint``/``delivery`` and ``mail`` objects;
- event publishing (configuration sets): ``eventType`` Bounce, Complaint, Delivery,
  DeliveryDelay, Reject, Send, Open, Click, ... with the same objects (plus
  ``deliveryDelay``).

Either may arrive wrapped in an SNS envelope (``"Type": "Notification"`` whose
``Message`` is the JSON text), one per file, as a JSON array, or as JSON lines (what a
Firehose-to-S3 export holds). Only outcomes become facts; sends, opens and clicks do not.

SES's own classification is evidence, not a decision: ``bounceType``/``bounceSubType``
are kept as ``hint`` (``Permanent/General``), except that suppression-list bounces become
the classifier's ``suppressed`` hint and complaints its ``feedback`` hint.
"""

from __future__ import annotations

import json
from datetime import datetime

from ..records import Fact

FORMAT = "ses"
_KINDS = {"bounce", "complaint", "delivery", "deliverydelay"}


def sniff(text: str) -> int:
    score = 0
    for key in ('"notificationType"', '"eventType"'):
        if key in text:
            score += 3
    if score and ('"mail"' in text or '\\"mail\\"' in text):
        score += 2
    if '"TopicArn"' in text and ('notificationType' in text or 'eventType' in text):
        score += 3
    return score


def parse_time(value) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        dt = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return dt if dt.tzinfo else None


def _strip_type(diag: str) -> str:
    """RFC 3464 diagnostic-type prefix: "smtp; 550 5.1.1 ..." -> "550 5.1.1 ..."."""
    d = (diag or "").strip()
    head, sep, rest = d.partition(";")
    if sep and head.strip().lower() in ("smtp", "x-postfix", "x-unix", "x-local"):
        return rest.strip()
    return d


def unwrap(record):
    """The SES object inside an SNS envelope (its Message is JSON text), also as AWS
    Lambda receives it from SNS (``{"Records": [{"EventSource": "aws:sns", "Sns": {...}}]}``:
    the reader hands over each of the Records)."""
    if isinstance(record, dict) and isinstance(record.get("Sns"), dict):
        record = record["Sns"]
    if isinstance(record, dict) and record.get("Type") == "Notification" and isinstance(record.get("Message"), str):
        message = record["Message"]
        try:
            return json.loads(message)
        except json.JSONDecodeError:
            if message.lstrip().startswith("{"):
                raise ValueError("the SNS envelope's Message is not whole JSON (cut off?)") from None
            return record  # a text notice ("Successfully validated SNS topic ..."): no event
    return record


def facts(record) -> list[Fact]:
    from ..read import smtp_codes

    rec = unwrap(record)
    if not isinstance(rec, dict):
        raise TypeError("an SES record is a JSON object")
    kind = str(rec.get("notificationType") or rec.get("eventType") or "").lower()
    if kind not in _KINDS:
        return []
    mail = rec.get("mail") or {}
    headers = mail.get("commonHeaders") or {}
    sender = mail.get("source") or ""
    message_id = headers.get("messageId") or mail.get("messageId") or ""
    out: list[Fact] = []
    if kind == "bounce":
        b = rec.get("bounce") or {}
        btype, sub = str(b.get("bounceType") or ""), str(b.get("bounceSubType") or "")
        hint = "suppressed" if "suppress" in sub.lower() else "/".join(x for x in (btype, sub) if x)
        when = parse_time(b.get("timestamp")) or parse_time(mail.get("timestamp"))
        for r in b.get("bouncedRecipients") or []:
            diag = _strip_type(str(r.get("diagnosticCode") or ""))
            status, reply = smtp_codes(diag)
            out.append(Fact(
                recipient=str(r.get("emailAddress") or ""), action=str(r.get("action") or "failed").lower(),
                status=str(r.get("status") or status), reply_code=reply, diagnostic=diag,
                remote_mta=str(b.get("remoteMtaIp") or ""), sender=sender, message_id=message_id,
                timestamp=when, hint=hint,
            ))
    elif kind == "complaint":
        c = rec.get("complaint") or {}
        when = parse_time(c.get("timestamp")) or parse_time(mail.get("timestamp"))
        ftype = str(c.get("complaintFeedbackType") or "abuse")
        for r in c.get("complainedRecipients") or []:
            out.append(Fact(recipient=str(r.get("emailAddress") or ""), sender=sender, message_id=message_id,
                            timestamp=when, hint="feedback", feedback_type=ftype))
    elif kind == "delivery":
        d = rec.get("delivery") or {}
        when = parse_time(d.get("timestamp")) or parse_time(mail.get("timestamp"))
        diag = str(d.get("smtpResponse") or "")
        status, reply = smtp_codes(diag)
        for r in d.get("recipients") or []:
            out.append(Fact(recipient=str(r), action="delivered", status=status, reply_code=reply, diagnostic=diag,
                            remote_mta=str(d.get("remoteMtaIp") or ""), sender=sender, message_id=message_id,
                            timestamp=when))
    else:  # deliverydelay
        d = rec.get("deliveryDelay") or {}
        when = parse_time(d.get("timestamp")) or parse_time(mail.get("timestamp"))
        for r in d.get("delayedRecipients") or []:
            diag = _strip_type(str(r.get("diagnosticCode") or ""))
            status, reply = smtp_codes(diag)
            out.append(Fact(recipient=str(r.get("emailAddress") or ""), action="delayed",
                            status=str(r.get("status") or status), reply_code=reply, diagnostic=diag,
                            remote_mta=str(d.get("reportingMTA") or ""), sender=sender,
                            message_id=message_id, timestamp=when))
    return out
