"""Postmark bounces (``GET /bounces`` ``{"TotalCount": n, "Bounces": [...]}``, the bounce
webhook, or a list / JSON lines of them).

Per Postmark's "Bounce API" and "Bounce webhook": ``Email``, ``Type`` / ``TypeCode``
(HardBounce 1, Transient 2, Unsubscribe 16, Subscribe 32, AutoResponder 64,
AddressChange 128, DnsError 256, SpamNotification 512, OpenRelayTest 1024, Unknown 2048,
SoftBounce 4096, VirusNotification 8192, ChallengeVerification 16384, BadEmailAddress
100000, SpamComplaint 100001, ManuallyDeactivated 100002, Unconfirmed 100003, Blocked
100006, SMTPApiError 100007, InboundError 100008, DMARCPolicy 100009, TemplateRenderingFailed
100010), ``Description``, ``Details`` (the receiver's text), ``BouncedAt``, ``MessageID``,
``From``. Delivery webhooks (``RecordType`` "Delivery") are deliveries.
"""

from __future__ import annotations

from ..records import Fact
from .ses import parse_time

FORMAT = "postmark"

#: Postmark Type -> (action, hint) facts; the classifier decides the reason from them
#: together with the Details text
_TYPES = {
    "hardbounce": ("failed", "permanent"),
    "softbounce": ("failed", ""),
    "transient": ("delayed", ""),
    "dnserror": ("failed", ""),
    "blocked": ("failed", ""),
    "dmarcpolicy": ("failed", ""),
    "bademailaddress": ("failed", "permanent"),
    "unknown": ("failed", ""),
    "spamcomplaint": ("", "feedback"),
    "unsubscribe": ("", "unsubscribe"),
    "autoresponder": ("", "vacation"),
    "manuallydeactivated": ("failed", "suppressed"),
}


def sniff(text: str) -> int:
    score = 0
    for key in ('"TypeCode"', '"BouncedAt"', '"MessageID"', '"RecordType"', '"Bounces"'):
        if key in text:
            score += 2
    return score if score >= 4 else 0


def facts(record) -> list[Fact]:
    from ..read import smtp_codes

    if not isinstance(record, dict):
        raise TypeError("a Postmark bounce is a JSON object")
    rtype = str(record.get("RecordType") or "")
    rcpt = str(record.get("Email") or record.get("Recipient") or "")
    common = dict(recipient=rcpt, message_id=str(record.get("MessageID") or ""),
                  sender=str(record.get("From") or ""))
    if rtype == "Delivery":
        diag = str(record.get("Details") or "")
        status, reply = smtp_codes(diag)
        return [Fact(action="delivered", status=status, reply_code=reply, diagnostic=diag,
                     timestamp=parse_time(record.get("DeliveredAt")), **common)]
    if rtype == "SpamComplaint":
        return [Fact(hint="feedback", feedback_type="abuse", timestamp=parse_time(record.get("BouncedAt")), **common)]
    btype = str(record.get("Type") or "")
    if not btype:
        if rtype in ("", "Bounce"):  # a bounce whose kind is missing is not "no bounce"
            raise ValueError("a Postmark bounce without its 'Type'")
        return []  # opens, clicks, subscription changes
    action, hint = _TYPES.get(btype.lower(), ("failed", ""))
    diag = str(record.get("Details") or "").strip()
    if diag.lower().startswith("smtp;"):
        diag = diag[5:].strip()
    status, reply = smtp_codes(diag)
    return [Fact(action=action, status=status, reply_code=reply, diagnostic=diag or str(record.get("Description") or ""),
                 hint=hint, feedback_type={"feedback": "abuse", "unsubscribe": "unsubscribe"}.get(hint, ""),
                 timestamp=parse_time(record.get("BouncedAt")), **common)]
