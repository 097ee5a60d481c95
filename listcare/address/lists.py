"""Curated lists: disposable, role and free-mail addresses, and typo suggestions.

Pure (no DNS import). The lists are data files in ``listcare/data/`` (one entry per
line, ``#`` comments), loaded once on first use with :mod:`importlib.resources`.
Disposable domains come from the ``disposable-email-domains`` package (its ``blocklist``
and ``allowlist``).

Typo suggestions avoid the classic false positive of mailcheck-style suggesters, which
"correct" any domain that is a near miss of a popular one (mac.com -> me.com,
comcast.com -> comcast.net, gmx.com -> gmx.de): here a near miss is only suggested when
the typed domain is a *known* typo (``known_typo_domains.txt``, for typo domains that do
exist in DNS) or when DNS says it cannot receive mail. A domain with a working mail host
is never corrected.
"""

from __future__ import annotations

import functools
from collections.abc import Collection, Mapping
from importlib import resources

_DATA = "data"


def _lines(name: str) -> list[str]:
    text = resources.files("listcare").joinpath(_DATA, name).read_text(encoding="utf-8")
    out = []
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            out.append(line)
    return out


@functools.cache
def role_local_parts() -> frozenset[str]:
    """Local parts of role mailboxes (lowercase), from ``role_local_parts.txt``."""
    return frozenset(x.lower() for x in _lines("role_local_parts.txt"))


@functools.cache
def freemail_domains() -> frozenset[str]:
    """Free-mail provider domains, from ``freemail_domains.txt``."""
    return frozenset(x.lower() for x in _lines("freemail_domains.txt"))


@functools.cache
def popular_domains() -> tuple[str, ...]:
    """Popular mail domains, most common first (targets of typo suggestions)."""
    return tuple(dict.fromkeys(x.lower() for x in _lines("popular_mail_domains.txt")))


@functools.cache
def known_typos() -> dict[str, str]:
    """Known typo domain -> the domain meant, from ``known_typo_domains.txt``."""
    out = {}
    for line in _lines("known_typo_domains.txt"):
        typo, correct = line.lower().split()
        out[typo] = correct
    return out


@functools.cache
def _disposable_sets() -> tuple[frozenset[str], frozenset[str]]:
    from disposable_email_domains import allowlist, blocklist

    return frozenset(blocklist), frozenset(allowlist)


# --------------------------------------------------------------------------- checks
def _parents(domain: str):
    """The domain and each parent domain, most specific first (not the bare TLD)."""
    labels = domain.split(".")
    for i in range(len(labels) - 1):
        yield ".".join(labels[i:])


def is_disposable(
    domain: str,
    *,
    blocklist: Collection[str] | None = None,
    allowlist: Collection[str] | None = None,
) -> bool:
    """Whether *domain* (ASCII) or a parent domain is a disposable-mail domain.

    The most specific listed name decides: a domain on the allowlist is not disposable
    even when a parent is blocked (the package's allowlist exists for such exceptions).
    *blocklist*/*allowlist* default to the ``disposable-email-domains`` package's.
    """
    if blocklist is None or allowlist is None:
        default_block, default_allow = _disposable_sets()
        blocklist = default_block if blocklist is None else blocklist
        allowlist = default_allow if allowlist is None else allowlist
    for d in _parents(domain.lower().rstrip(".")):
        if d in allowlist:
            return False
        if d in blocklist:
            return True
    return False


def is_role(local: str) -> bool:
    """Whether a local part names a role mailbox (info@, vertrieb@, noreply@, ...).

    Compared case-insensitively, ignoring a sub-address tag ("info+news" is info).
    """
    base = local.lower().split("+", 1)[0]
    return base in role_local_parts()


def is_freemail(domain: str) -> bool:
    """Whether *domain* is a free-mail provider's (gmx.de, gmail.com, ...)."""
    return domain.lower() in freemail_domains()


# --------------------------------------------------------------------------- typos
# QWERTY with the German QWERTZ y/z swap treated as neighbours too: a slip to an
# adjacent key is the most common typing error (Damerau 1964; mailcheck.js uses
# plain edit distance, which cannot tell "gmx.ne" from a deliberate domain).
_ROWS = ("1234567890-", "qwertyuiop", "asdfghjkl", "zxcvbnm")
_STAGGER = (0.0, 0.5, 0.75, 1.25)


@functools.cache
def _adjacent() -> frozenset[tuple[str, str]]:
    pos = {}
    for r, (row, off) in enumerate(zip(_ROWS, _STAGGER, strict=True)):
        for c, ch in enumerate(row):
            pos[ch] = (r, c + off)
    pairs = set()
    for a, (ra, xa) in pos.items():
        for b, (rb, xb) in pos.items():
            if a != b and abs(ra - rb) <= 1 and abs(xa - xb) <= 1.0:
                pairs.add((a, b))
    pairs.update({("y", "z"), ("z", "y")})
    return frozenset(pairs)


_SUB_ADJACENT = 0.75  # substitution by a neighbouring key
_TRANSPOSE = 0.75  # two letters swapped ("gmial")
_DOUBLE = 0.75  # a letter typed twice or once instead of twice ("gmaill", "yaho")


def typo_distance(typed: str, target: str, limit: float = 2.0) -> float:
    """Weighted Damerau-Levenshtein (optimal string alignment) distance.

    Cheaper than 1 for the common slips (neighbouring key, swapped letters, doubled
    letter); returns a value above *limit* as soon as the distance must exceed it.
    """
    if typed == target:
        return 0.0
    n, m = len(typed), len(target)
    if abs(n - m) > limit:
        return limit + 1.0
    adj = _adjacent()
    prev2: list[float] | None = None
    prev = [float(j) for j in range(m + 1)]
    for i in range(1, n + 1):
        a = typed[i - 1]
        cur = [float(i)] + [0.0] * m
        for j in range(1, m + 1):
            b = target[j - 1]
            if a == b:
                sub = prev[j - 1]
            else:
                sub = prev[j - 1] + (_SUB_ADJACENT if (a, b) in adj else 1.0)
            # deleting a typed letter that doubles its neighbour is a cheap slip
            dele = prev[j] + (_DOUBLE if i >= 2 and typed[i - 2] == a else 1.0)
            ins = cur[j - 1] + (_DOUBLE if j >= 2 and target[j - 2] == b else 1.0)
            best = min(sub, dele, ins)
            if (
                prev2 is not None
                and i > 1
                and j > 1
                and a == target[j - 2]
                and typed[i - 2] == b
                and a != b
            ):
                best = min(best, prev2[j - 2] + _TRANSPOSE)
            cur[j] = best
        # later rows only grow from this row, or (transposition) from the previous one
        if min(cur) > limit and min(prev) + _TRANSPOSE > limit:
            return limit + 1.0
        prev2, prev = prev, cur
    return prev[m]


def _limit_for(domain: str) -> float:
    # one slip in short domains, two in longer ones: "gmx.ne" is one slip from two
    # popular domains, "t-onlien.de" two from one
    return 1.0 if len(domain) <= 8 else 2.0


def nearest_popular(domain: str, popular: tuple[str, ...] | None = None) -> str:
    """The popular domain *domain* is a near miss of, or '' (none, or ambiguous)."""
    domain = domain.lower()
    popular = popular_domains() if popular is None else popular
    if domain in popular:
        return ""
    # a dot left out: "gmxde.de", "gmailcom.com" (first label = a popular domain sans dot)
    first = domain.split(".", 1)[0]
    for cand in popular:
        if first == cand.replace(".", ""):
            return cand
    limit = _limit_for(domain)
    best, best_d, tie = "", limit + 1.0, False
    for cand in popular:
        d = typo_distance(domain, cand, limit)
        if d < best_d - 1e-9:
            best, best_d, tie = cand, d, False
        elif abs(d - best_d) <= 1e-9 and d <= limit:
            tie = True
    if best_d > limit or tie:
        return ""
    return best


def suggest_domain(
    domain: str,
    *,
    mail_host: bool | None,
    known: Mapping[str, str] | None = None,
) -> str:
    """The domain probably meant when *domain* is a typo, else ''.

    *mail_host*: what DNS said about *domain*: ``True`` (it has a mail host: MX or
    A/AAAA), ``False`` (it cannot receive mail: NXDOMAIN, null MX, no host) or ``None``
    (not checked or no answer). A known typo (``known_typo_domains.txt``) is suggested
    in every case; a near miss of a popular domain only when ``mail_host is False``.
    """
    domain = domain.lower()
    known = known_typos() if known is None else known
    if domain in known:
        return known[domain]
    if mail_host is not False:
        return ""
    return nearest_popular(domain)


__all__ = [
    "is_disposable",
    "is_role",
    "is_freemail",
    "suggest_domain",
    "nearest_popular",
    "typo_distance",
    "role_local_parts",
    "freemail_domains",
    "popular_domains",
    "known_typos",
]
