"""Automatic replies (RFC 3834): out-of-office and vacation responders.

RFC 3834 section 5 asks responders to send ``Auto-Submitted: auto-replied``; older ones
set ``X-Autoreply``/``X-Autorespond``, ``Precedence: auto_reply`` or only say so in the
subject ("Out of Office", "Automatic reply", "Abwesenheitsnotiz", "Absence"). A delivery
status notification also carries ``Auto-Submitted: auto-replied`` (RFC 3464 section 5),
so this detector runs after the bounce detectors. The person who is away is the sender.
"""

from __future__ import annotations

import re

from ..records import Fact
from . import _common as C

NAME = "autoreply"

_SUBJECT_RE = re.compile(
    r"out of (?:the )?office|automatic reply|auto(?:matic)?[- ]?(?:reply|response|antwort)|"
    r"^\s*auto:|vacation|abwesen|absence|away from (?:my|the) (?:office|desk)|"
    r"r[ée]ponse automatique|respuesta autom[aá]tica|risposta automatica|不在",
    re.I,
)


def detect(pm: C.ParsedMail) -> list[Fact] | None:
    auto = pm.header("Auto-Submitted").lower()
    prec = pm.header("Precedence").lower()
    flagged = (
        auto.startswith("auto-replied")
        or bool(pm.header("X-Autoreply") or pm.header("X-Autorespond") or pm.header("X-Autoresponder"))
        or prec == "auto_reply"
    )
    subj = pm.subject
    if not (flagged or _SUBJECT_RE.search(subj)):
        return None
    if flagged and not _SUBJECT_RE.search(subj) and not re.search(r"out of (?:the )?office|vacation|away|absent|abwesen", pm.body_text()[:5000], re.I):
        # auto-replied but not a vacation notice (ticket acknowledgements, ...): keep
        # only what says it is an absence
        return None
    return C.reply_fact(pm, hint="vacation", detector=NAME)
