"""qmail-send (qmail's bounce text, qmail-send.c).

"Hi. This is the qmail-send program at ..."; one "<user@host>:" block per recipient.
The shared scanner (:mod:`.textbounce`) extracts the facts; this module only says which
messages are its format.
"""

from __future__ import annotations

import re

from ..records import Fact
from . import _common as C
from .textbounce import detect_as

NAME = "qmail"
FINGERPRINT = re.compile(r"this is the qmail-send program|qmail-send program at", re.I)


def detect(pm: C.ParsedMail) -> list[Fact] | None:
    return detect_as(pm, NAME, FINGERPRINT)
