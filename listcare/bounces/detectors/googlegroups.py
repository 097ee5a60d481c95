"""Google Groups' refusal to post.

The group address is in ``X-Failed-Recipients``; the text (in the sender's language)
says the group may not exist or the sender may not post to it.
The shared scanner (:mod:`.textbounce`) extracts the facts; this module only says which
messages are its format.
"""

from __future__ import annotations

import re

from ..records import Fact
from . import _common as C
from .textbounce import detect_as

NAME = "googlegroups"
FINGERPRINT = re.compile(r"google groups|googlegroups", re.I)


def detect(pm: C.ParsedMail) -> list[Fact] | None:
    return detect_as(pm, NAME, FINGERPRINT)
