"""Gmail's text bounces.

"Delivery to the following recipient failed permanently:" and "Technical details
of permanent failure: ... The error that the other server returned was: ...".
The shared scanner (:mod:`.textbounce`) extracts the facts; this module only says which
messages are its format.
"""

from __future__ import annotations

import re

from ..records import Fact
from . import _common as C
from .textbounce import detect_as

NAME = "gmail"
FINGERPRINT = re.compile(r"delivery to the following recipients? (?:failed|has been delayed)|technical details of (?:permanent|temporary) failure", re.I)


def detect(pm: C.ParsedMail) -> list[Fact] | None:
    return detect_as(pm, NAME, FINGERPRINT)
