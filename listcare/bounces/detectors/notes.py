"""Lotus Notes / Domino's undeliverable message.

"------- Failure Reasons  --------" then the reason and the address, or
"Your message ... was not delivered to: ... because: ...".
The shared scanner (:mod:`.textbounce`) extracts the facts; this module only says which
messages are its format.
"""

from __future__ import annotations

import re

from ..records import Fact
from . import _common as C
from .textbounce import detect_as

NAME = "notes"
FINGERPRINT = re.compile(r"-+ failure reasons\s+-+|was not delivered to:|domino directory", re.I)


def detect(pm: C.ParsedMail) -> list[Fact] | None:
    return detect_as(pm, NAME, FINGERPRINT)
