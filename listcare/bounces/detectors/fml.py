"""fml mailing-list manager refusals (www.fml.org).

fml answers a post it refuses from "<list>-admin@..." with an ``X-MLServer`` header, a
subject such as "NOT MEMBER article from ..." or "Loop Alert: ...", and a text naming the
list: "You are not a member of this mailing list <list@example.org>." The outcome is for
that list address; the subject and the text are the diagnostic.
"""

from __future__ import annotations

import re

from ..records import Fact
from . import _common as C

NAME = "fml"

_LIST_RE = re.compile(rf"<({C.ADDR})>")


def detect(pm: C.ParsedMail) -> list[Fact] | None:
    if not pm.header("X-MLServer") or "-admin@" not in pm.from_.lower():
        return None
    text = pm.body_text()[:20000]
    cut = re.search(r"^original mail as follows:", text, re.I | re.M)
    if cut:
        text = text[: cut.start()]
    rcpts: list[str] = []
    for m in _LIST_RE.finditer(text):
        a = m.group(1).strip(".").lower()
        if a not in rcpts:
            rcpts.append(a)
    if not rcpts:
        rcpts = C.recipients_from_headers(pm.original_headers())
    if not rcpts:
        return None
    diag = C.clean(f"{pm.subject} {text}")
    return [
        Fact(
            recipient=r,
            action="failed",
            diagnostic=diag,
            message_id=C.message_id_of(pm.original_headers()),
            timestamp=C.timestamp_of(pm.header("Date")),
            detector=NAME,
            reporting_mta=C.addr_of(pm.from_).partition("@")[2],
        )
        for r in rcpts
    ]
