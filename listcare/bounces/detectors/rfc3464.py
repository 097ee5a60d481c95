"""RFC 3464 delivery status notifications (and RFC 6533 message/global-delivery-status).

The machine-readable part is a per-message block followed by one block per recipient
(RFC 3464 section 2.1): ``Final-Recipient``, ``Action``, ``Status``, ``Remote-MTA``,
``Diagnostic-Code``. Many MTAs put a poor or empty ``Diagnostic-Code`` there and the real
SMTP reply only in the human-readable part (Postfix: "host ... said: 550 ... (in reply to
RCPT TO command)"), so the human-readable text of the recipient is used as well.

Some gateways put the same fields into a ``text/plain`` part instead of a
``message/delivery-status`` one; those are read too.
"""

from __future__ import annotations

import re

from ..records import Fact
from . import _common as C
from ._text import blocks_by_recipient, human_text

NAME = "rfc3464"

_FIELD_RE = re.compile(r"^([A-Za-z][A-Za-z0-9-]{1,40})\s*:\s*(.*)$")
# a text part that carries DSN fields itself (no message/delivery-status part)
_TEXT_DSN_RE = re.compile(r"^(?:final|original)-recipient\s*:", re.I | re.M)


def _blocks(text: str) -> list[dict[str, str]]:
    """Split delivery-status text into field blocks (blank-line separated, folded lines
    joined). Field names are lower-cased; the first value of a repeated field wins."""
    blocks: list[dict[str, str]] = []
    cur: dict[str, str] = {}
    last = ""
    for line in text.splitlines():
        if not line.strip():
            if cur:
                blocks.append(cur)
                cur, last = {}, ""
            continue
        if line[0] in " \t" and last:
            cur[last] += " " + line.strip()
            continue
        m = _FIELD_RE.match(line)
        if m:
            name = m.group(1).lower()
            if name in cur and name in ("final-recipient", "original-recipient") and "action" in cur:
                # a new recipient without the blank line between blocks
                blocks.append(cur)
                cur = {}
            last = name
            cur.setdefault(name, m.group(2).strip())
        else:
            last = ""
    if cur:
        blocks.append(cur)
    return blocks


def _ds_text(part) -> str:
    """Text of a message/delivery-status part whatever the parser made of it."""
    payload = part.get_payload()
    if isinstance(payload, list):
        chunks = []
        for sub in payload:
            try:
                chunks.append("\n".join(f"{k}: {C.header_text(v)}" for k, v in sub.items()))
            except Exception:  # noqa: BLE001
                continue
        return "\n\n".join(chunks)
    return C.decode_part(part)


def _code_value(value: str) -> str:
    """'smtp; 550 5.1.1 ...' -> '550 5.1.1 ...'; a non-SMTP diagnostic type is kept
    ('X-Unix; 71' names a local mailer's exit status, RFC 3464 section 2.3.6)."""
    kind, sep, rest = value.partition(";")
    if sep and len(kind) < 20 and " " not in kind.strip():
        if kind.strip().lower() in ("smtp", "dns", "rfc822", ""):
            return rest.strip()
        return f"{kind.strip()}; {rest.strip()}"
    return value.strip()


def facts_from_ds_text(text: str, pm: C.ParsedMail, detector: str = NAME) -> list[Fact]:
    blocks = _blocks(text)
    per_message: dict[str, str] = {}
    facts: list[Fact] = []
    human = None
    whole = None  # the human-readable part up to the returned message, read once
    orig = pm.original_headers()
    n_rcpt = sum(1 for b in blocks if b.get("final-recipient") or b.get("original-recipient"))
    for b in blocks:
        rcpt = C.addr_of(b.get("final-recipient", "")) or C.addr_of(b.get("original-recipient", ""))
        if not rcpt:
            if not facts:
                per_message.update({k: v for k, v in b.items() if k not in per_message})
            continue
        diag = C.clean(_code_value(b.get("diagnostic-code", "")))
        if not diag:
            # "Status: 4.0.0 (cat.example.net: host name lookup failure)": a comment
            # (RFC 5322 3.2.2) after the code is the only explanation some MTAs give
            m = re.search(r"\((.+)\)", b.get("status", ""))
            if m:
                diag = C.clean(m.group(1))
        status = ""
        m = C.STATUS_RE.search(b.get("status", ""))
        if m:
            status = ".".join(m.groups())
        d_status, reply = C.codes_of(diag)
        if human is None:
            human = blocks_by_recipient(pm.body_text())
        htext = human.get(rcpt, "")
        if not htext and n_rcpt == 1 and (not status or re.fullmatch(r"[45]\.[05]\.0", status)):
            # one recipient: the whole human-readable part is about it (Sendmail's
            # transcript, Gmail's "Address not found")
            whole = human_text(pm.body_text()) if whole is None else whole
            htext = C.clean(whole)
        final = b.get("final-recipient", "") + " " + b.get("x-actual-recipient", "")
        if not diag and "|" in final:
            # delivery to a program (".forward"/alias pipe) failed: RFC 3464 2.3.2
            diag = C.clean("pipe to " + final[final.index("|") :])
        # the human-readable text often carries the remote reply the DSN lacks
        if htext and (not diag or (not reply and not d_status) or len(diag) < 12):
            diag = C.clean(f"{diag} {htext}" if diag and diag not in htext else htext)
            h_status, h_reply = C.codes_of(diag)
            reply = reply or h_reply
            d_status = d_status or h_status
        if not status or (d_status and d_status[0] == status[0] and re.fullmatch(r"[45]\.0\.0|4\.4\.7", status)):
            # "Status: 5.0.0" says nothing the reply's own "550 5.1.0" does not say better
            status = d_status or status
        action = b.get("action", "").split()[0].lower() if b.get("action", "").split() else ""
        command = C.command_of(f"{diag} {htext}")
        if not command and n_rcpt == 1:
            whole = human_text(pm.body_text()) if whole is None else whole
            command = C.command_of(whole)
        # "dns; mx.example.jp. (192.0.2.1, the server for the domain ...)" -> the host name
        remote = (_code_value(b.get("remote-mta", "")).split() or [""])[0].rstrip(".").lower()
        ts = C.timestamp_of(b.get("last-attempt-date") or per_message.get("arrival-date") or pm.header("Date"))
        facts.append(
            Fact(
                recipient=rcpt,
                action=action,
                status=status,
                reply_code=reply,
                diagnostic=diag,
                remote_mta=remote,
                sender=C.addr_of(per_message.get("x-postfix-sender", ""))
                or (C.addr_of(C.header(orig, "Return-Path")) or C.addr_of(C.header(orig, "From")) if orig is not None else ""),
                message_id=C.message_id_of(orig),
                queue_id=per_message.get("x-postfix-queue-id", "").strip(),
                timestamp=ts,
                command=command,
                detector=detector,
                reporting_mta=(per_message.get("reporting-mta", "").split(";")[-1].split() or [""])[0].lower(),
            )
        )
    return facts


def detect(pm: C.ParsedMail) -> list[Fact] | None:
    parts = pm.parts_of("message/delivery-status", "message/global-delivery-status")
    facts: list[Fact] = []
    for part in parts:
        facts.extend(facts_from_ds_text(_ds_text(part), pm))
    if facts:
        return facts
    # DSN fields inside a text part (some gateways and list servers)
    for text in pm.texts():
        if _TEXT_DSN_RE.search(text) and re.search(r"^(?:status|action)\s*:", text, re.I | re.M):
            facts = facts_from_ds_text(text, pm)
            if facts:
                return facts
    return None
