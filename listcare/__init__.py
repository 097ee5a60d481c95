"""listcare: contact-list hygiene and decay analysis.

The public names below are imported lazily (PEP 562), so ``import listcare`` stays fast
and does not pull in dnspython, matplotlib or SQLAlchemy until they are used.
"""

from __future__ import annotations

import importlib

__version__ = "0.1.0"

# public name -> module that defines it
_EXPORTS = {
    # contact lists
    "read_contacts": "listcare.contacts",
    "write_contacts": "listcare.contacts",
    "find_email_column": "listcare.contacts",
    "example_path": "listcare.contacts",
    # validation
    "validate": "listcare.address.validate",
    # bounces
    "read_bounces": "listcare.bounces.read",
    "classify": "listcare.bounces.reasons",
    # decay
    "DecayModel": "listcare.decay",
    "durations_from": "listcare.decay",
    "bounce_rate_by_cohort": "listcare.decay",
    # the nightly job
    "Store": "listcare.store",
    "clean": "listcare.nightly",
    # cadence
    "plan_cadence": "listcare.cadence",
    "CapacityWarning": "listcare.cadence",
    # errors
    "ListcareError": "listcare.exceptions",
    "InputError": "listcare.exceptions",
    "ColumnError": "listcare.exceptions",
    "OutputError": "listcare.exceptions",
    "ConfigError": "listcare.exceptions",
    "StoreError": "listcare.exceptions",
    "LockedError": "listcare.exceptions",
    "ConservationError": "listcare.exceptions",
}

__all__ = ["__version__", *_EXPORTS]


def __getattr__(name: str):
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'listcare' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(__all__)


# registers the ``df.listcare`` pandas accessor (imports pandas only; the rest lazily)
from . import accessor as _accessor  # noqa: E402,F401
