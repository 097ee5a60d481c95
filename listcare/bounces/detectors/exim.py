"""Exim main log (``mainlog``): one line per delivery attempt, flagged after the message id.

From the Exim specification, chapter "Log files" ("Logging message reception and
delivery")::

    2026-11-26 10:00:01 1tAbCd-0001Xy-AB => a@example.com R=dnslookup T=remote_smtp
      H=mx.example.com [192.0.2.1] X=TLS1.3:... CV=yes C="250 2.0.0 OK id=1x"
    2026-11-26 10:00:01 1tAbCd-0001Xy-AB -> b@example.com R=dnslookup ...
    2026-11-26 10:00:02 1tAbCd-0001Xy-AB ** c@example.com R=dnslookup T=remote_smtp
      H=mx.example.com [192.0.2.1]: SMTP error from remote mail server after RCPT
      TO:<c@example.com>: 550 5.1.1 <c@example.com>: Recipient address rejected: User unknown
    2026-11-26 10:00:02 1tAbCd-0001Xy-AB == d@example.com R=dnslookup T=remote_smtp
      defer (-44) H=mx.example.com [192.0.2.1]: SMTP error from remote mail server after
      RCPT TO:<d@example.com>: 451 4.7.1 Greylisted

(each one line). ``=>`` and ``->`` (an additional address in the same delivery) are
deliveries, ``**`` a permanent failure, ``==`` a deferral; ``*>`` (a delivery suppressed
by ``-N``) is not an outcome. ``address <original>`` means the address was redirected:
the original is the one the sender used, so it is the recipient. Timestamps may carry
milliseconds (``+millisec``) and a zone (``log_timezone``); a ``[pid]`` may follow.
Message ids are the classic 6-6-2 form or Exim 4.97's 6-11-4 form.
"""

from __future__ import annotations

import re

FORMAT = "exim"

_LINE = re.compile(
    r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(?:\.\d{3})?)( [+-]\d{4})? (?:\[\d+\] )?"
    r"(\w{6}-\w{6,11}-\w{2,4}) (=>|->|\*\*|==) (\S+)(?: <([^>\s]*)>)?(.*)$"
)
_SNIFF = re.compile(
    r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(?:\.\d{3})?(?: [+-]\d{4})? (?:\[\d+\] )?"
    r"(?:\w{6}-\w{6,11}-\w{2,4} (?:<=|=>|->|\*\*|==|Completed)|Start queue run|End queue run)",
    re.M,
)
_HOST = re.compile(r"\bH=(\S+)")
_CONFIRM = re.compile(r'\bC="((?:[^"\\]|\\.)*)"')
_FLAGS = ("=>", "->", "**", "==")
_ACTION = {"=>": "delivered", "->": "delivered", "**": "failed", "==": "delayed"}


def sniff(head: str) -> int:
    return len(_SNIFF.findall(head))


def _diagnostic(rest: str) -> str:
    """The text after the fields: everything after the first ': ' outside quotes."""
    cleaned = _CONFIRM.sub("", rest)
    i = cleaned.find(": ")
    if i >= 0:
        return cleaned[i + 2:].strip()
    if cleaned.startswith(":"):
        return cleaned[1:].strip()
    return ""


class Parser:
    def __init__(self, ctx):
        self.ctx = ctx

    def feed(self, block: bytes, first_line: int) -> int:
        from ..read import smtp_codes, smtp_command

        ctx = self.ctx
        lines = block.split(b"\n")
        for i, raw in enumerate(lines):
            if b" => " not in raw and b" ** " not in raw and b" == " not in raw and b" -> " not in raw:
                continue
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError:
                line = raw.decode("latin-1")
            line = line.rstrip("\r")
            m = _LINE.match(line)
            if m is None:
                continue
            ts, zone, msgid, flag, addr, orig, rest = m.groups()
            if addr.endswith(":") and not orig:  # "** a@x: Unrouteable address"
                addr, rest = addr[:-1], ":" + rest
            position = first_line + i
            stamp = ctx.ts(ts.replace(" ", "T") + (zone.strip() if zone else ""))
            action = _ACTION[flag]
            hint = ""
            host = _HOST.search(rest)
            remote = host.group(1) if host else ""
            if action == "delivered":
                c = _CONFIRM.search(rest)
                diag = c.group(1) if c else ""
                status, reply = smtp_codes(diag) if diag else ("", "")
                command = ""
            else:
                diag = _diagnostic(rest)
                status, reply = smtp_codes(diag)
                command = smtp_command(diag)
                if action == "failed" and "retry timeout exceeded" in diag:
                    hint = "expired"  # Exim gave up after its retry rules' cutoff
            if addr.startswith("|") or addr.startswith("/"):
                continue  # a pipe or file delivery (local alias), not a contact's address
            recipient = orig or addr
            ctx.add_row(raw, 0, position, stamp, recipient, action, status, reply, diag, remote,
                        queue_id=msgid, hint=hint, command=command)
        return len(lines) - 1

    def finish(self) -> None:
        pass
