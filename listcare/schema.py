"""Column names, vocabularies and dtypes shared by every listcare module.

Keep names here, not as string literals scattered across modules: the events table built
by :mod:`listcare.bounces` is read by the store, the policy, the decay model and the
cadence planner, and all of them must agree on it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import pandas as pd

from .exceptions import ColumnError, sample

# --------------------------------------------------------------------------- validation
VALIDATION_STATUSES = ("valid", "invalid", "risky", "unknown")

#: stable reason codes of :func:`listcare.validate` ("" when status is valid)
VALIDATION_REASONS = (
    "",
    "empty",
    "syntax",
    "domain_not_found",  # NXDOMAIN (RFC 8020)
    "null_mx",  # RFC 7505
    "no_mail_host",  # no MX and no A/AAAA (RFC 5321 section 5.1)
    "special_use_domain",  # RFC 6761 names that never receive mail
    "typo",  # a likely typo of a popular mail domain (see suggestion)
    "disposable",
    "role",
    "dns_timeout",
    "dns_servfail",
    "dns_no_nameserver",
    "dns_budget",  # the overall DNS time budget ran out before this domain was asked
    "dns_error",
    "not_checked",  # check_dns=False: syntax only
)

VALIDATION_COLUMNS: dict[str, str] = {
    "email": "string",
    "normalized": "string",
    "domain": "string",
    "status": "string",
    "reason": "string",
    "detail": "string",
    "suggestion": "string",
    "is_disposable": "bool",
    "is_role": "bool",
    "is_freemail": "bool",
    "duplicate_of": "Int64",
}

# --------------------------------------------------------------------------- bounces
#: what happened to one recipient (see README, "Bounce kinds")
KINDS = (
    "hard",
    "soft",
    "block",
    "complaint",
    "unsubscribe",
    "delivered",
    "deferred",
    "auto_reply",
)
#: kinds that are not a failure to deliver at all
NOT_BOUNCE_KINDS = ("delivered", "complaint", "unsubscribe", "auto_reply")

#: Sisimai's reason vocabulary (https://libsisimai.org/en/reason/), used exactly
REASONS = (
    "authfailure",
    "badreputation",
    "blocked",
    "contenterror",
    "delivered",
    "exceedlimit",
    "expired",
    "failedstarttls",
    "feedback",
    "filtered",
    "hasmoved",
    "hostunknown",
    "mailboxfull",
    "mailererror",
    "mesgtoobig",
    "networkerror",
    "norelaying",
    "notaccept",
    "notcompliantrfc",
    "onhold",
    "policyviolation",
    "rejected",
    "requireptr",
    "securityerror",
    "spamdetected",
    "speeding",
    "suppressed",
    "suspend",
    "syntaxerror",
    "systemerror",
    "systemfull",
    "toomanyconn",
    "undefined",
    "userunknown",
    "vacation",
    "virusdetected",
)

EVENT_COLUMNS: dict[str, str] = {
    "event_id": "string",
    "timestamp": "datetime64[ns, UTC]",
    "recipient": "string",
    "kind": "string",
    "reason": "string",
    "status": "string",
    "reply_code": "string",
    "diagnostic": "string",
    "remote_mta": "string",
    "sender": "string",
    "message_id": "string",
    "queue_id": "string",
    "source_format": "string",
    "source": "string",
    "position": "Int64",
}

# --------------------------------------------------------------------------- contacts
#: default name of the contact-key column when a table has to name it
EMAIL = "email"
#: candidate names of the email column, compared case-insensitively with spaces,
#: '-' and '_' removed (so "E-Mail-Adresse", "email_address", "Email Address" match)
EMAIL_COLUMN_NAMES = (
    "email",
    "emailaddress",
    "emailadresse",
    "mail",
    "mailaddress",
    "mailadresse",
    "e-mail",
    "courriel",
    "correo",
    "correoelectronico",
    "recipient",
    "address",
)


def added_column_name(name: str, taken) -> str:
    """The name under which a column listcare adds to a user's table is written: *name*,
    else ``listcare_NAME``, else ``listcare_NAME_2``, ... -- never the name of a column the
    table already has (overwriting it would lose the user's data)."""
    taken = {str(c) for c in taken}
    if name not in taken:
        return name
    candidate, i = f"listcare_{name}", 2
    while candidate in taken:
        candidate, i = f"listcare_{name}_{i}", i + 1
    return candidate


def require_columns(df: pd.DataFrame, cols: Iterable[str], *, what: str = "table") -> None:
    """Raise :class:`ColumnError` naming every column of *cols* that *df* lacks."""
    cols = list(cols)
    missing = [c for c in cols if c not in df.columns]
    if missing:
        seen = [str(c) for c in df.columns]
        raise ColumnError(
            f"The {what} lacks the column(s) {', '.join(map(repr, missing))}; "
            f"it has {sample(seen, 12) if seen else 'no columns'}. "
            "Rename the columns or say which one to use.",
            missing=missing,
            seen=seen,
        )


def empty_frame(columns: Mapping[str, str], index=None) -> pd.DataFrame:
    """An empty DataFrame with *columns* and their dtypes (and an optional index)."""
    return pd.DataFrame(
        {name: pd.Series(dtype=dtype, index=index) for name, dtype in columns.items()},
        index=index,
    )


def coerce(df: pd.DataFrame, columns: Mapping[str, str]) -> pd.DataFrame:
    """A copy of *df* with exactly *columns*, in that order and with those dtypes."""
    out = pd.DataFrame(index=df.index)
    for name, dtype in columns.items():
        if name in df.columns:
            col = df[name]
        else:
            col = pd.Series(pd.NA, index=df.index)
        if dtype.startswith("datetime64"):
            out[name] = pd.to_datetime(col, utc=True)
        elif dtype == "bool":
            out[name] = col.fillna(False).astype(bool)
        else:
            out[name] = col.astype(dtype)
    return out
