"""Shared fixtures. Real parts, not mocks: a real DNS server, real SQLite files, real
bounce messages."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures"

os.environ.setdefault("MPLBACKEND", "Agg")


def corpus_dir() -> Path | None:
    """The shared Sisimai bounce corpus, or None where it is absent (a user's clone)."""
    env = os.environ.get("LISTCARE_CORPUS")
    candidates = [Path(env)] if env else []
    candidates.append(ROOT.parent / "shared" / "corpus" / "bounces")
    for c in candidates:
        if (c / "labels.csv").is_file():
            return c
    return None


@pytest.fixture(scope="session")
def corpus() -> Path:
    path = corpus_dir()
    if path is None:
        pytest.skip(
            "bounce corpus not found: set LISTCARE_CORPUS or place it at ../shared/corpus/bounces "
            "(the project's own fixtures in tests/fixtures still cover every detector)"
        )
    return path


@pytest.fixture
def fixtures() -> Path:
    return FIXTURES


@pytest.fixture(scope="session")
def dns_server():
    """A real DNS server on 127.0.0.1 (ephemeral port) serving tests/dnsserver.py's ZONE.

    ``.address`` is '127.0.0.1:PORT' (for ``nameserver=``), ``.host``/``.port`` for a
    ``dns.resolver.Resolver``, ``.names`` the documented test domains (NAMES)."""
    from tests.dnsserver import DNSServer

    with DNSServer() as server:
        yield server


def sqlite_indexes(db) -> set[str]:
    """The names of the indexes in the SQLite file *db*, read with a plain connection."""
    import sqlite3

    con = sqlite3.connect(db)
    try:
        return {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='index'")}
    finally:
        con.close()
