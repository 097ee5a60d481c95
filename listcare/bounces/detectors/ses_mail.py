"""Amazon SES notifications delivered by email (an SNS e-mail subscription).

The body is the JSON notification (``notificationType`` Bounce/Complaint/Delivery, or an
event-publishing ``eventType``), usually wrapped in the SNS envelope whose ``Message`` is
the JSON text, and followed by SNS's "--" unsubscribe footer. The JSON itself is read by
the SES provider-export detector (:mod:`.ses`), so mail and exports agree.
"""

from __future__ import annotations

import json

from ..records import Fact
from . import _common as C

NAME = "ses_mail"


def _json_of(text: str):
    cut = text.find("\n\n--\n")
    if cut > 0:
        text = text[:cut]
    start, end = text.find("{"), text.rfind("}")
    if start < 0 or end <= start:
        return None
    body = text[start : end + 1]
    # long lines folded by the mailer ("!\n " in SNS mails) are joined first
    for candidate in (body, body.replace("!\n ", ""), body.replace("\n", "")):
        try:
            return json.loads(candidate)
        except ValueError:
            continue
    return None


def detect(pm: C.ParsedMail) -> list[Fact] | None:
    text = pm.body_text()
    if '"notificationType"' not in text and '"eventType"' not in text and '\\"notificationType\\"' not in text:
        return None
    obj = _json_of(text[: C.MAX_TEXT])
    if not isinstance(obj, dict):
        return None
    from . import ses

    facts = ses.facts(obj)
    for f in facts:
        f.detector = NAME
        f.recipient = C.addr_of(f.recipient) or f.recipient.strip().lower()
        f.reporting_mta = f.reporting_mta or "amazonses.com"
        if f.timestamp is None:
            f.timestamp = C.timestamp_of(pm.header("Date"))
    return facts or None
