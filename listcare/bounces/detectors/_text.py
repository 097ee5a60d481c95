"""The human-readable bounce text scanner every non-standard format shares.

Non-standard bounces (qmail, Exim, Gmail, Yahoo, Lotus Notes, IMail, Zoho, ...) all say the
same thing in prose: a preamble, then for each failed recipient a line naming the address
(alone, in angle brackets, indented, or after a label such as "Unknown user:"), followed
by the remote server's reply, then a marker and a copy of the original message. This
module finds those recipient lines and the text that belongs to each (flufl.bounce and
Sisimai's lhost modules read them the same way, one format at a time).
"""

from __future__ import annotations

import re

from . import _common as C

A = C.ADDR
# the address alone on a line: "<user@host>:", "  user@host", "user@host (generated from ...)"
_ALONE_RE = re.compile(rf"^\s*(?:\"[^\"\n@]{{0,80}}\"\s*)?\"?<?(?:mailto:)?({A})>?\"?\s*[:.,;]?\s*(?:\((?:generated|expanded|ultimately)[^)\n]*\))?\s*$")
# the address starting a line, followed by its reason:
# "<user@host>: Sorry, ..." (qmail), "<user@host>... User unknown" (Sendmail),
# "user@host Invalid Address, ERROR_CODE :550" (Zoho)
_LEAD_RE = re.compile(rf"^\s*<?(?:mailto:)?({A})>?(?:\.\.\.|:|\s-\s|\s+\(|\s+)\s*(\S.*)$")
# a short label, then the address: "Unknown user: user@host", "Failed recipient: <user@host>",
# "Could not be delivered to: <user@host>", "RCPT TO: user@host", "Address: <user@host>"
_LABEL_RE = re.compile(rf"^\s*([^\n:<>@]{{1,60}}?)\s*:\s*\"?<?(?:mailto:)?({A})>?\"?[.,;:]?\s*(.*)$")
# the label must name a recipient, and must not name the sender
_RCPT_LABEL_RE = re.compile(
    r"recipient|address|user|\bto\b|destinat|mailbox|empf|rcpt|account|failed|undeliver|userid|"
    r"delivery|attempts|получател|destinataire|invalid|unknown|error",
    re.I,
)
_NOT_RCPT_LABEL_RE = re.compile(r"mail from|sender|\bfrom\b|reply|return|message-id|sent by|envelope-from|contact|postmaster", re.I)
# Sendmail (V5 and later) result lines: "554 <user@host>... Remote protocol error"
_SENDMAIL_RE = re.compile(rf"^\s*[45]\d\d(?:\s+[45]\.\d{{1,3}}\.\d{{1,3}})?\s+<({A})>\.\.\.\s*(.*)$")
# Sendmail starts the transcript of each connection with "... while talking to host:"
_TALKING_RE = re.compile(r"^\s*(?:\.\.\.\s*)?while talking to ", re.I)
# an address named inline by the text ("rejected recipient <user@host>",
# "Address: <user@host>, ResponseCode 421"), used only when no line names one
_INLINE_RE = re.compile(rf"(?:recipient|address|rcpt to|delivered to|\bto)\s*:?\s*<({A})>", re.I)
# "The following recipients returned permanent errors: user@host." (X6)
_INLINE_LIST_RE = re.compile(rf"(?:recipients?|address(?:es)?)\b[^<>\n@:]{{0,60}}:\s*({A})", re.I)

# where the copy of the original message begins
_CUT_RE = re.compile(
    r"^\s*(?:"
    r"-{2,}\s*(?:\S.*)?(?:original message|copy of the message|returned message|message header|"
    r"headers? of (?:the|your)|below this line|undelivered message|original mail|message follows|"
    r"returned mail|original e-?mail|message text follows|unsent message|the message follows)"
    r"|message headers follow"
    r"|original message follows|original message headers?|the original message headers?"
    r"|a copy of the original message|below is a copy of the original|\|? ?received: from"
    r"|content-type: message/(?:rfc822|delivery-status|global-delivery-status)"
    # Exchange 2007+ in other languages: "En-têtes de message d'origine",
    # "Intestazioni originali del messaggio", "Ursprungshuvuden"
    r"|en-t[êe]tes de message d'origine|intestazioni originali del messaggio|ursprungshuvuden"
    r")",
    re.I,
)
_DASHES_RE = re.compile(r"^-{40,}\s*$")
_TRANSCRIPT_RE = re.compile(r"^\s*-+\s*transcript of session follows", re.I)
_HEADER_START_RE = re.compile(
    r"^(?:Received|Return-Path|Return-path|DKIM-Signature|DomainKey-Signature|Message-I[Dd]|"
    r"MIME-Version|Authentication-Results|ARC-Seal|X-Received|X-Google-[\w-]+):\s?\S"
)


def _lines(text: str) -> list[str]:
    out = []
    for line in text[: C.MAX_TEXT].splitlines():
        if _CUT_RE.match(line) or _HEADER_START_RE.match(line):
            break
        out.append(line[:2000])
    return out


def scan(text: str, exclude: frozenset[str] = frozenset()) -> tuple[list[tuple[str, str]], str]:
    """([(recipient, its text)...] in order of first mention, preamble text).

    Addresses in *exclude* (the bounce's own addressee, i.e. the original sender) are
    not recipients when another address is named.
    """
    lines = _lines(text)
    found: list[tuple[str, list[str]]] = []
    preamble: list[str] = []
    cur: list[str] | None = None
    pending: list[str] = []  # transcript lines not yet tied to a Sendmail result line
    orphans: list[str] = []  # lines after the recipients that belong to no block
    for line in lines:
        if found and _DASHES_RE.match(line):
            # au EZweb separates the copy of the message with a bare line of 50 dashes
            # (other formats draw such lines above their recipients, so only after one)
            break
        rcpt = ""
        rest = ""
        single = False
        m = _ALONE_RE.match(line)
        if m:
            rcpt = m.group(1)
        else:
            m = _SENDMAIL_RE.match(line)
            if m and cur is not None and found and found[-1][0] == m.group(1).strip(".").lower():
                # the reply quoted inside the recipient's own block (Gmail, Exim)
                cur.append(line)
                continue
            if m:
                rcpt, rest, single = m.group(1), line.strip(), True
            else:
                m = _LEAD_RE.match(line)
                if m:
                    rcpt, rest = m.group(1), m.group(2)
                else:
                    m = _LABEL_RE.match(line)
                    if m:
                        label = m.group(1).strip()
                        if _RCPT_LABEL_RE.search(label) and not _NOT_RCPT_LABEL_RE.search(label):
                            rcpt, rest = m.group(2), f"{label}: {m.group(3)}"
        if rcpt:
            rcpt = rcpt.strip(".").lower()
            cur = [rest] if rest else []
            if not single:
                pending = []
            if single:
                # the transcript lines just above a result line are its context
                cur = pending + cur
                pending = []
            found.append((rcpt, cur))
            if single:
                cur = None  # lines after a one-line result belong to no one
            continue
        if _TRANSCRIPT_RE.match(line):
            # Sendmail's transcript mixes the replies of every recipient: it belongs to no
            # single one (the result lines "550 <user@host>... User unknown" do)
            cur = None
            pending = []
            continue
        if _TALKING_RE.match(line):
            pending = []
        if cur is None:
            pending.append(line)
            if not found:
                preamble.append(line)
            else:
                orphans.append(line)
        else:
            cur.append(line)
    if not found:
        joined = "\n".join(lines)
        for rx in (_INLINE_RE, _INLINE_LIST_RE):
            for m in rx.finditer(joined):
                found.append((m.group(1).strip(".").lower(), []))
            if found:
                break
    if exclude and any(r not in exclude for r, _ in found):
        found = [(r, b) for r, b in found if r not in exclude]
    merged: dict[str, str] = {}
    for rcpt, body in found:
        t = "\n".join(body).strip()
        if rcpt in merged:
            if t and t not in merged[rcpt]:
                merged[rcpt] = (merged[rcpt] + "\n" + t).strip()
        else:
            merged[rcpt] = t
    if len(merged) == 1 and orphans:
        # one recipient and a transcript below it (Sendmail-like "----- Transcript of
        # session follows -----"): the transcript is that recipient's
        (rcpt, t), = merged.items()
        if not any(C.codes_of(t)):
            merged[rcpt] = (t + "\n" + "\n".join(orphans)).strip()
    return list(merged.items()), "\n".join(preamble).strip()


def human_text(text: str) -> str:
    """The human-readable part of a bounce up to the copy of the original message."""
    return "\n".join(_lines(text))


def inline_original_recipients(text: str) -> list[str]:
    """Recipients named in the To/Cc of an original message copied inline after the cut."""
    lines = text[: C.MAX_TEXT].splitlines()
    for i, line in enumerate(lines):
        if _CUT_RE.match(line) or _HEADER_START_RE.match(line):
            rest = lines[i:]
            out: list[str] = []
            for hl in rest[:200]:
                m = re.match(r"^(?:to|cc)\s*:\s*(.*)$", hl, re.I)
                if m:
                    for a in C.ADDR_RE.findall(m.group(1)):
                        a = a.strip(".").lower()
                        if a not in out:
                            out.append(a)
            return out
    return []


def blocks_by_recipient(text: str) -> dict[str, str]:
    """recipient -> its text in a human-readable bounce part (for enriching DSN facts)."""
    if not text:
        return {}
    blocks, _ = scan(text)
    return {r: C.clean(t) for r, t in blocks if t}
