"""listcare's exceptions: a small tree under :class:`ListcareError`.

Every message is written for the person who has to fix the problem: it says what was
wrong and what to do, and it never echoes a whole address list (at most a few samples).

Each class carries the process exit code the CLI uses for it (sysexits(3) values, so cron
mail and monitoring can tell "your input is bad" from "try again later").
"""

from __future__ import annotations


class ListcareError(ValueError):
    """Base class of every error listcare raises on purpose."""

    #: exit code of ``listcare`` when this error ends a command (EX_DATAERR)
    exit_code = 65


class InputError(ListcareError):
    """An input file or value cannot be used: missing, unreadable, wrong format."""

    exit_code = 66  # EX_NOINPUT


class ColumnError(InputError):
    """A table lacks a column that is needed (or the email column cannot be found)."""

    exit_code = 65  # EX_DATAERR

    def __init__(self, message: str, *, missing=(), seen=()):
        super().__init__(message)
        self.missing = tuple(missing)
        self.seen = tuple(seen)


class FormatError(InputError):
    """An input file was read but its content is malformed (e.g. a CSV row with more
    fields than the header)."""

    exit_code = 65  # EX_DATAERR: the file is there; its data is bad


class OutputError(ListcareError):
    """An output file or folder cannot be created or written."""

    exit_code = 73  # EX_CANTCREAT


class ConfigError(ListcareError):
    """A setting (TOML config, option, resolver, nameserver) is invalid."""

    exit_code = 78  # EX_CONFIG


class StoreError(ListcareError):
    """The state store cannot be opened, migrated or written."""

    exit_code = 74  # EX_IOERR


class LockedError(StoreError):
    """Another run holds the store's lock."""

    exit_code = 75  # EX_TEMPFAIL: cron should simply try again next time


class ConservationError(ListcareError):
    """A cleaning run would lose or duplicate input rows; nothing was written."""

    exit_code = 70  # EX_SOFTWARE


def sample(values, n: int = 3) -> str:
    """A short, privacy-preserving rendering of some values for an error message."""
    values = list(values)
    shown = ", ".join(repr(v) for v in values[:n])
    more = len(values) - n
    return shown + (f" and {more} more" if more > 0 else "")


__all__ = [
    "ListcareError",
    "InputError",
    "ColumnError",
    "FormatError",
    "OutputError",
    "ConfigError",
    "StoreError",
    "LockedError",
    "ConservationError",
    "sample",
]
