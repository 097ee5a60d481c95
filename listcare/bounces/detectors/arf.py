"""Feedback-loop reports (ARF, RFC 5965) and one-click unsubscribe mails.

An ARF report is a ``multipart/report; report-type=feedback-report`` whose
``message/feedback-report`` part names the ``Feedback-Type`` (abuse, opt-out, fraud,
auth-failure, not-spam, virus, other) and, when the reporter is willing,
``Original-Rcpt-To`` (one per complaining recipient, RFC 6650 section 3). Without it the
recipient is read from the attached original message's ``To``.

Apple Mail's unsubscribe button and list-unsubscribe ``mailto:`` links (RFC 2369) send a
plain message whose subject is "unsubscribe"; its sender is the subscriber who opts out.
"""

from __future__ import annotations

import re

from ..records import Fact
from . import _common as C

NAME = "arf"

_FIELD_RE = re.compile(r"^([A-Za-z][A-Za-z0-9-]{1,40})\s*:\s*(.*)$")


def _fields(part) -> list[tuple[str, str]]:
    payload = part.get_payload()
    out: list[tuple[str, str]] = []
    if isinstance(payload, list):
        for sub in payload:
            try:
                out.extend((k.lower(), " ".join(str(v).split())) for k, v in sub.items())
            except Exception:  # noqa: BLE001
                continue
        return out
    last = None
    for line in C.decode_part(part).splitlines():
        if line[:1] in (" ", "\t") and last is not None:
            out[last] = (out[last][0], out[last][1] + " " + line.strip())
            continue
        m = _FIELD_RE.match(line)
        if m:
            out.append((m.group(1).lower(), m.group(2).strip()))
            last = len(out) - 1
    return out


def _report(pm: C.ParsedMail, part) -> list[Fact]:
    fields = _fields(part)
    get = dict(reversed(fields)).get  # first value wins
    ftype = (get("feedback-type") or "other").split()[0].lower() if get("feedback-type") else "other"
    rcpts = []
    for k, v in fields:
        if k in ("original-rcpt-to", "removal-recipient"):
            a = C.addr_of(v)
            if a and a not in rcpts:
                rcpts.append(a)
    orig = pm.original_headers()
    if not rcpts:
        rcpts = C.recipients_from_headers(orig)
    if not rcpts:
        rcpts = [""]  # the reporter redacted the recipient; the complaint still counts
    ts = C.timestamp_of(get("arrival-date") or get("received-date") or pm.header("Date"))
    sender = C.addr_of(get("original-mail-from") or "") or (C.addr_of(C.header(orig, "From")) if orig is not None else "")
    diag = C.clean(" ".join(f"{k}: {v}" for k, v in fields if k in ("feedback-type", "user-agent", "source-ip", "reported-domain", "auth-failure")))
    return [
        Fact(
            recipient=r,
            action="",
            diagnostic=diag,
            sender=sender,
            message_id=C.message_id_of(orig),
            timestamp=ts,
            hint="feedback",
            feedback_type=ftype,
            remote_mta=get("reporting-mta") or "",
            detector=NAME,
        )
        for r in rcpts
    ]


_UNSUB_SUBJECT_RE = re.compile(r"^\s*(?:unsubscribe|remove me|opt[- ]?out)\b", re.I)


def detect(pm: C.ParsedMail) -> list[Fact] | None:
    parts = pm.parts_of("message/feedback-report")
    if parts:
        facts: list[Fact] = []
        for p in parts:
            facts.extend(_report(pm, p))
        return facts
    # RFC 2369 mailto: unsubscribe, Apple Mail's "X-Apple-Unsubscribe: true"
    if pm.header("X-Apple-Unsubscribe").lower() == "true" or (
        _UNSUB_SUBJECT_RE.match(pm.subject) and not pm.parts_of("message/delivery-status")
    ):
        return C.reply_fact(pm, hint="unsubscribe", feedback_type="opt-out", detector="unsubscribe")
    return None
