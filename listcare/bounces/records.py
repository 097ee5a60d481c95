"""The record every detector produces: the facts of one recipient outcome.

Detectors fill what their source says and leave the rest empty; they never decide
``reason`` or ``kind``. :func:`listcare.bounces.reasons.classify` does that from these facts.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime


@dataclass(slots=True)
class Fact:
    recipient: str
    #: RFC 3464 section 2.3.3 action (failed, delayed, delivered, relayed, expanded), or a
    #: log's outcome mapped onto it (Postfix bounced -> failed, deferred -> delayed,
    #: expired -> failed with hint "expired"), or "" when the source says nothing
    action: str = ""
    status: str = ""  # RFC 3463 enhanced status code, e.g. "5.1.1"
    reply_code: str = ""  # SMTP reply code, e.g. "550"
    diagnostic: str = ""  # the remote server's text
    remote_mta: str = ""
    sender: str = ""
    message_id: str = ""
    queue_id: str = ""
    timestamp: datetime | None = None  # timezone-aware UTC
    position: int = 0  # 1-based line number, or message index in a mailbox
    #: what the source itself states beyond the SMTP facts, for the classifier:
    #: "feedback" (ARF report), "vacation" (RFC 3834 auto-reply), "expired",
    #: "unsubscribe", "suppressed", or a provider's own bounce type such as
    #: "Permanent/General" (SES) -- never a decision, only evidence
    hint: str = ""
    feedback_type: str = ""  # ARF Feedback-Type (abuse, opt-out, ...) when hint == "feedback"
    #: the bytes/text this fact came from (a log line, a message's bytes): hashed into
    #: event_id so that re-reading the same evidence gives the same id
    evidence: str | bytes = ""
    #: the SMTP command the remote server answered (RCPT, MAIL, DATA, HELO, CONN) when
    #: the source says so ("in reply to RCPT TO command"): a user-unknown text after DATA
    #: is a content filter, not a dead address
    command: str = ""
    #: name of the detector that produced this fact (e.g. "rfc3464", "qmail"), for audits
    detector: str = ""
    #: the MTA that wrote the report (RFC 3464 Reporting-MTA, or the bounce sender's
    #: domain): some providers' replies are only readable knowing who answered
    reporting_mta: str = ""


def event_id(source_format: str, evidence: str | bytes, recipient: str, index: int = 0) -> str:
    """Stable id of one outcome: the same evidence always gives the same id.

    The source file name is deliberately not part of it: a log line read again after
    logrotate renamed ``mail.log`` to ``mail.log.1`` must not count twice.
    """
    h = hashlib.blake2b(digest_size=12)
    h.update(source_format.encode())
    h.update(b"\0")
    h.update(evidence if isinstance(evidence, bytes) else evidence.encode("utf-8", "replace"))
    h.update(b"\0")
    h.update(recipient.encode("utf-8", "replace"))
    h.update(b"\0%d" % index)
    return h.hexdigest()
