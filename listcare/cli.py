"""The ``listcare`` command: a thin adapter over the library (nothing imports this module).

Every command has an example in its help. Exit codes (also in the README):

=====  ==========================================================================
0      success
1      unexpected error (a bug: please report it with the traceback from --verbose)
2      wrong usage (unknown option, missing argument)
65     bad data (e.g. no email column found, a table lacks a column)
66     an input file cannot be opened or read
70     a cleaning run would lose or duplicate rows; nothing was written
74     the state store cannot be opened or written
75     another run holds the lock; try again later
78     a setting or config file is invalid
=====  ==========================================================================
"""

from __future__ import annotations

import functools
import logging
import sys

import click

from . import __version__
from .exceptions import ListcareError

log = logging.getLogger("listcare")


def _handle_errors(func):
    """Turn ListcareError into a one-line message and its exit code."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except ListcareError as exc:
            click.echo(f"listcare: error: {exc}", err=True)
            sys.exit(exc.exit_code)

    return wrapper


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="listcare")
@click.option("-v", "--verbose", is_flag=True, help="Log what is done to stderr.")
def main(verbose: bool) -> None:
    """Contact-list hygiene and decay analysis.

    \b
    Example:
      listcare validate contacts.csv -o validated.csv
    """
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(asctime)s %(name)s %(levelname)s %(message)s",
        stream=sys.stderr,
    )


# ---- commands are added below, one block each; keep each block self-contained ----


if __name__ == "__main__":  # pragma: no cover
    main()
