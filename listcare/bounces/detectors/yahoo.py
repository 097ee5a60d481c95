"""Yahoo! Mail's failure notice.

"Sorry, we were unable to deliver your message to the following address." then
"<user@host>:" and "Remote host said: ... [RCPT_TO]".
The shared scanner (:mod:`.textbounce`) extracts the facts; this module only says which
messages are its format.
"""

from __future__ import annotations

import re

from ..records import Fact
from . import _common as C
from .textbounce import detect_as

NAME = "yahoo"
FINGERPRINT = re.compile(r"sorry, we were unable to deliver your message to the following address", re.I)


def detect(pm: C.ParsedMail) -> list[Fact] | None:
    return detect_as(pm, NAME, FINGERPRINT)
