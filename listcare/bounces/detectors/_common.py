"""Helpers shared by the mail detectors: a parsed-message wrapper with bounded MIME
walking, text extraction, and the small extractors (addresses, status and reply codes,
SMTP command) every bounce format needs.

Nothing here decides a reason; it only reads what a message says.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from email.header import Header, decode_header
from email.message import Message
from email.utils import getaddresses, parsedate_to_datetime

#: a hostile message cannot make us walk more parts than this, or deeper than this
MAX_PARTS = 200
MAX_DEPTH = 12
#: longest diagnostic text we keep for one recipient (characters)
MAX_DIAGNOSTIC = 1200
#: a bounce's human-readable text is short; we never scan more than this (characters)
MAX_TEXT = 200_000
#: longest header value read (characters)
MAX_HEADER = 8192

ADDR = r"[^\s<>()\[\]@,;:\"']+@[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?"
ADDR_RE = re.compile(ADDR)
# RFC 3463 enhanced status code: class.subject.detail, not part of an IP address
STATUS_RE = re.compile(r"(?<![\w.])([245])\.(\d{1,3})\.(\d{1,3})(?![\w]|\.\d)")
# an SMTP reply code followed by an enhanced code ("550 5.1.1", "550-5.1.1")
REPLY_STATUS_RE = re.compile(r"(?<![\w.])([245][0-9][0-9])[ -]#?([245]\.\d{1,3}\.\d{1,3})(?![\w]|\.\d)")
# an SMTP reply code at the start of the text, or after "said:"-like words
REPLY_RE = re.compile(
    r"(?:^|said:?|returned:?|error:?|response:?|reply:?|error_code\s*:|responsecode|\]:|<<<|\)|;|:)\s*([245][0-9][0-9])(?=[ -,]|$)",
    re.IGNORECASE | re.MULTILINE,
)

# the SMTP command a reply answered, as MTAs phrase it
_COMMAND_RES = (
    # Postfix: "(in reply to RCPT TO command)", "(in reply to end of DATA command)"
    re.compile(r"in reply to (rcpt to|mail from|end of data|data|helo|ehlo)\b", re.I),
    # Exim: "SMTP error from remote mail server after RCPT TO:<...>:"
    re.compile(r"after (rcpt to|mail from|end of data|data|initial connection|helo|ehlo)\b", re.I),
    # GMX/1&1: "SMTP error from remote server after RCPT command"
    re.compile(r"after (rcpt|mail|data) command", re.I),
    # qmail: "most progress was RCPT TO response"
    re.compile(r"progress was (rcpt to|mail from|data) response", re.I),
    # DragonFly Mail Agent: "host [ip] did not like our RCPT TO:"
    re.compile(r"did not like our (rcpt to|mail from|data)\b", re.I),
    # qmail-remote: "... does not like recipient." / "... does not like sender."
    re.compile(r"does not like (recipient|sender)", re.I),
    re.compile(r"failed on (data) command", re.I),
    # m-FILTER: "-------SMTP command" then the command alone on the next line
    re.compile(r"-+\s*smtp command\s+(rcpt|mail|data|helo|ehlo)\b", re.I),
    # Yahoo: "[RCPT_TO]"
    re.compile(r"\[(rcpt_to|mail_from|data)\]", re.I),
    # Sendmail transcript: ">>> RCPT To:<...>" followed by "<<< 550 ..."
    re.compile(r">>> (rcpt to|mail from|data|helo|ehlo)\b", re.I),
)
_COMMAND_NAMES = {
    "rcpt to": "RCPT",
    "rcpt": "RCPT",
    "recipient": "RCPT",
    "sender": "MAIL",
    "mail": "MAIL",
    "rcpt_to": "RCPT",
    "mail from": "MAIL",
    "mail_from": "MAIL",
    "data": "DATA",
    "end of data": "DATA",
    "helo": "HELO",
    "ehlo": "HELO",
    "initial connection": "CONN",
}


def command_of(text: str) -> str:
    """The SMTP command the remote server answered, if the text says so (last one wins
    for Sendmail transcripts, where the failing command is the last one sent)."""
    text = " ".join(text.split())
    for rx in _COMMAND_RES:
        found = rx.findall(text)
        if found:
            return _COMMAND_NAMES.get(found[-1].lower(), "")
    return ""


def codes_of(text: str) -> tuple[str, str]:
    """(enhanced status, reply code) found in a diagnostic text, '' when absent.

    Failure codes (4xx/5xx) win over success codes: a Sendmail or Postfix transcript
    shows the 250 replies that preceded the failing one.
    """
    pairs = [m for m in REPLY_STATUS_RE.finditer(text) if m.group(1)[0] in "45"]
    if pairs:
        return pairs[0].group(2), pairs[0].group(1)
    status = ""
    for m in STATUS_RE.finditer(text):
        if m.group(1) in "45":
            status = ".".join(m.groups())
            break
    reply = ""
    for m in REPLY_RE.finditer(text):
        if m.group(1)[0] in "45":
            reply = m.group(1)
            break
    return status, reply


# "550-5.7.1 ... 550 5.7.1 ...": the reply code and status repeated on every line of a
# multi-line SMTP reply (RFC 5321 section 4.2.1)
_CONTINUATION_RE = re.compile(r"(?<=\s)([245]\d\d)[ -](?:#?[245]\.\d{1,3}\.\d{1,3}\s+)?")


def clean(text: str, limit: int = MAX_DIAGNOSTIC) -> str:
    """Collapse whitespace, drop the repeated code prefixes of a multi-line SMTP reply,
    and cap the length of a diagnostic text."""
    text = " ".join(text.split())
    m = re.match(r"^([245]\d\d)[ -]", text)
    if m:
        code = m.group(1)
        text = _CONTINUATION_RE.sub(lambda k: "" if k.group(1) == code else k.group(0), text)
    return text[:limit]


def addr_of(value: str) -> str:
    """The address in a header value or 'rfc822; user@host', lower-cased, '' if none."""
    if not value:
        return ""
    value = value[:2000].strip()  # an address is short; a hostile header is not
    if ";" in value:
        kind, _, rest = value.partition(";")
        if "@" in rest or kind.strip().lower() in ("rfc822", "x-unknown", "unknown"):
            value = rest
    m = ADDR_RE.search(value.replace("\n", " "))
    if not m:
        return ""
    return m.group(0).strip(".").lower()


def timestamp_of(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        dt = parsedate_to_datetime(" ".join(str(value).split()))
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if dt is None:
        return None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    try:
        return dt.astimezone(UTC)
    except (OverflowError, ValueError):
        return None


def header_text(v) -> str:
    """A header value as text. Raw 8-bit bytes (an address with an umlaut written by an
    SMTPUTF8 server, RFC 6532) are UTF-8, else Latin-1, as the log readers take them:
    compat32 hands them over as an "unknown-8bit" Header whose str() is U+FFFD."""
    if isinstance(v, Header):
        out = []
        for chunk, charset in decode_header(v):
            if isinstance(chunk, str):
                out.append(chunk)
            elif charset in (None, "unknown-8bit"):
                out.append(utf8_or_latin1(chunk))
            else:
                try:
                    out.append(chunk.decode(charset, "replace"))
                except LookupError:
                    out.append(utf8_or_latin1(chunk))
        return "".join(out)
    s = str(v)
    if any("\udc80" <= c <= "\udcff" for c in s):  # (surrogate-escaped bytes)
        return utf8_or_latin1(s.encode("utf-8", "surrogateescape"))
    return s


def utf8_or_latin1(data: bytes) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def header(msg: Message, name: str) -> str:
    """A header's value as text, unfolded; '' when absent or unreadable."""
    try:
        v = msg.get(name)
    except Exception:  # noqa: BLE001 - a broken header must not lose the message
        return ""
    if v is None:
        return ""
    try:
        s = header_text(v)[:MAX_HEADER]
    except Exception:  # noqa: BLE001
        return ""
    return " ".join(s.split())


def decode_part(part: Message) -> str:
    """A leaf part's text (transfer-decoded, charset-decoded with replacement)."""
    try:
        payload = part.get_payload(decode=True)
    except Exception:  # noqa: BLE001
        payload = None
    if payload is None:
        raw = part.get_payload()
        return raw if isinstance(raw, str) else ""
    charset = "utf-8"
    try:
        charset = part.get_content_charset() or "utf-8"
    except Exception:  # noqa: BLE001
        pass
    if charset.lower() in ("iso-2022-jp", "iso-2022-jp-2", "csiso2022jp"):
        charset = "iso2022_jp_ext"
    try:
        return payload.decode(charset, "replace")
    except (LookupError, ValueError):
        return payload.decode("utf-8", "replace")


_TAG_RE = re.compile(r"<(?:br|p|div|tr|li|h\d)\b[^>]*>", re.I)
_ANY_TAG_RE = re.compile(r"<[^>]{0,2000}>")


def html_to_text(html: str) -> str:
    import html as _html

    html = re.sub(r"(?is)<(script|style)\b.*?</\1>", " ", html[:MAX_TEXT])
    html = _TAG_RE.sub("\n", html)
    html = _ANY_TAG_RE.sub(" ", html)
    return _html.unescape(html)


class ParsedMail:
    """One parsed message plus bounded, cached views of it for the detectors."""

    def __init__(self, msg: Message):
        self.msg = msg
        self._parts: list[tuple[int, Message]] | None = None
        self._texts: list[str] | None = None
        self.truncated = False

    def header(self, name: str) -> str:
        return header(self.msg, name)

    @property
    def subject(self) -> str:
        return self.header("Subject")

    @property
    def from_(self) -> str:
        return self.header("From")

    def parts(self) -> list[tuple[int, Message]]:
        """(depth, part) for every part, depth-first, at most MAX_PARTS, at most MAX_DEPTH
        deep; parts of an attached original message (message/rfc822) are not entered."""
        if self._parts is not None:
            return self._parts
        out: list[tuple[int, Message]] = []
        stack: list[tuple[int, Message]] = [(0, self.msg)]
        while stack:
            depth, part = stack.pop()
            if len(out) >= MAX_PARTS:
                self.truncated = True
                break
            out.append((depth, part))
            if depth >= MAX_DEPTH:
                self.truncated = True
                continue
            ctype = _ctype(part)
            if ctype.startswith("multipart/"):
                payload = part.get_payload()
                if isinstance(payload, list):
                    stack.extend((depth + 1, p) for p in reversed(payload[:MAX_PARTS]) if isinstance(p, Message))
        self._parts = out
        return out

    def parts_of(self, *ctypes: str) -> list[Message]:
        return [p for _, p in self.parts() if _ctype(p) in ctypes]

    def texts(self) -> list[str]:
        """Human-readable text of the bounce: every text/plain (or text/html when there
        is no plain text) leaf outside the attached original message."""
        if self._texts is not None:
            return self._texts
        plain: list[str] = []
        html: list[str] = []
        for _, p in self.parts():
            ctype = _ctype(p)
            if ctype.startswith("multipart/"):
                if isinstance(p.get_payload(), str) and p.get_payload().strip():
                    # a multipart whose boundary could not be read: its body is text
                    plain.append(p.get_payload()[:MAX_TEXT])
                continue
            disp = header(p, "Content-Disposition").lower()
            if ctype == "text/plain" or (ctype == "" and p is self.msg):
                if disp.startswith("attachment") and plain:
                    continue
                plain.append(decode_part(p)[:MAX_TEXT])
            elif ctype == "text/html":
                html.append(html_to_text(decode_part(p)))
        self._texts = plain if plain else html
        if not self._texts and not self.msg.is_multipart():
            self._texts = [decode_part(self.msg)[:MAX_TEXT]]
        return self._texts

    def body_text(self) -> str:
        texts = self.texts()
        return texts[0] if texts else ""

    def original_headers(self) -> Message | None:
        """The headers of the returned original message, when attached as a part."""
        for p in self.parts_of("message/rfc822", "text/rfc822-headers", "message/rfc822-headers", "message/global", "message/global-headers"):
            if _ctype(p) in ("text/rfc822-headers", "message/rfc822-headers", "message/global-headers"):
                from email import policy
                from email.parser import Parser

                try:
                    return Parser(policy=policy.compat32).parsestr(decode_part(p)[:MAX_TEXT], headersonly=True)
                except Exception:  # noqa: BLE001
                    continue
            payload = p.get_payload()
            if isinstance(payload, list) and payload and isinstance(payload[0], Message):
                return payload[0]
        return None


def _ctype(part: Message) -> str:
    try:
        return part.get_content_type().lower()
    except Exception:  # noqa: BLE001
        return ""


def recipients_from_headers(msg: Message | None) -> list[str]:
    if msg is None:
        return []
    out = []
    for name in ("To", "Cc"):
        try:
            values = msg.get_all(name) or []
        except Exception:  # noqa: BLE001
            values = []
        for _, a in getaddresses([str(v)[:MAX_HEADER] for v in values[:20]]):
            a = addr_of(a)
            if a and a not in out:
                out.append(a)
    return out


def message_id_of(msg: Message | None) -> str:
    if msg is None:
        return ""
    m = re.search(r"<[^<>\s]+>", header(msg, "Message-ID"))
    return m.group(0) if m else ""


def epoch_time(value) -> datetime | None:
    """A provider's Unix timestamp (seconds, maybe fractional, maybe a string) as UTC."""
    try:
        return datetime.fromtimestamp(float(value), tz=UTC)
    except (TypeError, ValueError, OverflowError, OSError):
        return None


def reply_fact(pm, *, hint: str, detector: str, feedback_type: str = ""):
    """The one Fact of a message the recipient's own side sent back (an auto-reply, an
    RFC 2369 unsubscribe mail): the recipient is its sender. None without a sender."""
    from ..records import Fact

    who = addr_of(pm.header("From")) or addr_of(pm.header("Reply-To"))
    if not who:
        return None
    return [
        Fact(
            recipient=who,
            diagnostic=clean(pm.body_text()[:500]),
            message_id=message_id_of(pm.msg),
            timestamp=timestamp_of(pm.header("Date")),
            hint=hint,
            feedback_type=feedback_type,
            detector=detector,
        )
    ]
