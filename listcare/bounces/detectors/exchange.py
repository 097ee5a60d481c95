"""Microsoft Exchange / Office 365 non-delivery reports without a DSN part.

Exchange 2003: "Your message ... did not reach the following recipient(s):" then
"user@host on <date>" and an "MSEXCH:IMS:... (000C05A6) Unknown Recipient" line.
Exchange 2007 and later: "Delivery has failed to these recipients or groups:" and, under
"Diagnostic information for administrators:", the address alone on a line followed by
"#550 5.1.1 RESOLVER.ADR.RecipNotFound; not found ##" or "Remote Server returned '...'".
The shared scanner (:mod:`.textbounce`) extracts the facts; this module only says which
messages are its format.
"""

from __future__ import annotations

import re

from ..records import Fact
from . import _common as C
from .textbounce import detect_as

NAME = "exchange"
FINGERPRINT = re.compile(
    r"did not reach the following recipient|delivery has failed to these recipients|"
    r"diagnostic information for administrators|msexch:|\bresolver\.(?:adr|rst)\.|generating server:|"
    r"your message did not reach some or all of the intended recipients",
    re.I,
)


def detect(pm: C.ParsedMail) -> list[Fact] | None:
    return detect_as(pm, NAME, FINGERPRINT)
