"""Sendmail (``sm-mta``/``sendmail`` syslog lines): one line per delivery attempt.

From Sendmail's ``op.me`` ("Log Entries") and any ``maillog``::

    Nov 26 10:00:01 mx sm-mta[1234]: 5AQA01x1012345: to=<a@example.com>, ctladdr=<u@x>
      (1000/1000), delay=00:00:01, xdelay=00:00:01, mailer=esmtp, pri=120321,
      relay=mx.example.com. [192.0.2.1], dsn=2.0.0, stat=Sent (Ok: queued as 4F1)
    Nov 26 10:00:02 mx sm-mta[1234]: 5AQA01x1012345: to=<b@example.com>,<c@example.com>,
      delay=..., mailer=esmtp, pri=..., relay=..., dsn=4.0.0,
      stat=Deferred: Connection refused by mx.example.com.
    Nov 26 10:00:03 mx sm-mta[1234]: 5AQA01x1012345: to=d@example.com, ..., dsn=5.1.1,
      stat=User unknown

(each one line). ``to=`` may list several recipients (one row each). The outcome is the
``dsn=`` class (2 delivered, 4 delayed, 5 failed), or the ``stat=`` word when ``dsn=`` is
missing; ``stat=queued`` is not an outcome. The diagnostic is the ``stat=`` text.
"""

from __future__ import annotations

import re

from .postfix import TS

FORMAT = "sendmail"

_PROGRAM = r"(?:sm-mta|sendmail|sm-msp-queue|sm-mta-\w+)"
_LINE = re.compile(
    r"^(?:<\d{1,3}>)?(" + TS.decode() + r") (\S+) " + _PROGRAM + r"(?:\[\d+\])?: (\w+): to=(.*?), (?=\w+=).*?\bstat=(.*)$"
)
_RELAY = re.compile(r", relay=([^,]*)")
_DSN = re.compile(r", dsn=(\d\.\d{1,3}\.\d{1,3}),")
_SNIFF = re.compile(r"^(?:<\d{1,3}>)?(?:" + TS.decode() + r") \S+ " + _PROGRAM + r"(?:\[\d+\])?: ", re.M)
_ADDR = re.compile(r"<([^<>]*)>|([^\s,<>]+@[^\s,<>]+|[^\s,<>]+)")


def sniff(head: str) -> int:
    return len(_SNIFF.findall(head))


def recipients(field: str) -> list[str]:
    """The addresses of a ``to=`` field: ``<a@x>,<b@y>`` or ``a@x,b@y``."""
    out = []
    for m in _ADDR.finditer(field):
        a = (m.group(1) if m.group(1) is not None else m.group(2) or "").strip()
        if a and not a.startswith("|") and not a.startswith("/"):
            out.append(a)
    return out


class Parser:
    def __init__(self, ctx):
        self.ctx = ctx

    def feed(self, block: bytes, first_line: int) -> int:
        from ..read import smtp_codes, smtp_command

        ctx = self.ctx
        lines = block.split(b"\n")
        for i, raw in enumerate(lines):
            if b" stat=" not in raw or b": to=" not in raw:
                continue
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError:
                line = raw.decode("latin-1")
            m = _LINE.match(line.rstrip("\r"))
            position = first_line + i
            if m is None:
                ctx.errors.add(ctx.source, position, "malformed Sendmail delivery line: skipped")
                continue
            ts, _host, qid, to, stat = m.groups()
            fields = line[: m.start(5)]
            r = _RELAY.search(fields)
            relay = r.group(1) if r else ""
            d = _DSN.search(fields)
            dsn = d.group(1) if d else ""
            stat = stat.strip()
            word = stat.split(None, 1)[0].rstrip(":").lower() if stat else ""
            if word == "queued":
                continue  # accepted into the queue: not an outcome yet
            if dsn[:1] == "2" or word == "sent":
                action = "delivered"
            elif dsn[:1] == "4" or word == "deferred":
                action = "delayed"
            else:
                action = "failed"
            diag = stat
            if word in ("sent", "deferred") and " " in stat:
                diag = stat.split(None, 1)[1].strip()
                if diag.startswith("(") and diag.endswith(")"):
                    diag = diag[1:-1]
            status, reply = smtp_codes(diag)
            status = dsn or status
            command = smtp_command(diag) if action != "delivered" else ""
            remote = (relay or "").split(" ", 1)[0].rstrip(".")
            if remote.startswith("["):
                remote = remote.strip("[]")
            stamp = ctx.ts(ts)
            for index, rcpt in enumerate(recipients(to)):
                ctx.add_row(raw, index, position, stamp, rcpt, action, status, reply, diag, remote,
                            queue_id=qid, command=command)
        return len(lines) - 1

    def finish(self) -> None:
        pass
