"""Sendmail without a DSN part (V5, V8 text-only).

"----- The following addresses had permanent fatal errors -----" and
"----- Transcript of session follows -----" with "550 <user@host>... User unknown".
The shared scanner (:mod:`.textbounce`) extracts the facts; this module only says which
messages are its format.
"""

from __future__ import annotations

import re

from ..records import Fact
from . import _common as C
from .textbounce import detect_as

NAME = "sendmail_mail"
FINGERPRINT = re.compile(r"the following addresses had permanent fatal errors|transcript of session follows", re.I)


def detect(pm: C.ParsedMail) -> list[Fact] | None:
    return detect_as(pm, NAME, FINGERPRINT)
