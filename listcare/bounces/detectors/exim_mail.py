"""Exim's bounce message (deliver.c).

"This message was created automatically by mail delivery software." and an
``X-Failed-Recipients`` header; indented address lines followed by the SMTP error.
The shared scanner (:mod:`.textbounce`) extracts the facts; this module only says which
messages are its format.
"""

from __future__ import annotations

import re

from ..records import Fact
from . import _common as C
from .textbounce import detect_as

NAME = "exim_mail"
FINGERPRINT = re.compile(r"message was created automatically by mail delivery software|^X-Failed-Recipients:", re.I | re.M)


def detect(pm: C.ParsedMail) -> list[Fact] | None:
    return detect_as(pm, NAME, FINGERPRINT)
