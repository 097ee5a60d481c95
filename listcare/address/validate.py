"""``listcare.validate``: which addresses on a list are bad, and why.

Combines the pure syntax check (:mod:`.syntax`, email-validator's verdicts), the curated
lists (:mod:`.lists`) and, when asked, DNS (:mod:`.dns`, imported only then). Costly work
is done once per distinct string (email-validator for anything but a plain ASCII
address) and once per distinct domain (DNS, lists, typo suggestion, sentences), so a
1M-row list with 50,000 domains costs 50,000 DNS lookups, not a million. Only the cheap
ASCII syntax check and the vectorised status composition run per row: checking a plain
address costs about as much as hashing it to find its duplicates would.

Status precedence (the first that applies wins; ``reason`` names it):

1. ``invalid``: empty, syntax, special_use_domain, domain_not_found, null_mx,
   no_mail_host
2. ``unknown``: dns_timeout, dns_servfail, dns_no_nameserver, dns_budget, dns_error
3. ``risky``: typo (a known typo domain that does receive mail: many typo-squatter
   domains are also on the disposable list, and the fix is what helps), disposable, role
4. ``valid``: everything checked and fine (reason ``''``); with ``check_dns=False``
   this is ``unknown``/``not_checked`` instead (the domain was not looked up)

Duplicates: ``duplicate_of`` is the index label of the first row whose normalised
address is the same, compared case-insensitively (RFC 5321 2.4 allows case-sensitive
local parts but calls relying on them bad practice; no large provider does), after
stripping surrounding whitespace. Only syntactically valid addresses have duplicates.
"""

from __future__ import annotations

import inspect
import sys
import time
from collections.abc import Iterable, Mapping

import numpy as np
import pandas as pd

from ..exceptions import InputError
from ..schema import VALIDATION_COLUMNS
from . import lists, syntax

#: reasons of a domain that cannot receive mail (DNS said so; RFC 8020, 7505, 5321 5.1)
NO_MAIL_HOST_REASONS = frozenset({"domain_not_found", "null_mx", "no_mail_host"})

_DETAIL = {
    "valid": "The address is well-formed and its domain accepts mail.",
    "not_checked": "The address is well-formed; its domain was not checked (DNS was off).",
    "disposable": "{domain} is a disposable (throwaway) mail domain.",
    "typo": "{domain} is a known misspelling of {suggested}; did you mean {suggested}?",
    "role": "This is a role mailbox (a team or function such as info@, not a person).",
    "dns_unknown": "The domain {domain} could not be checked ({reason}); try again later.",
    "dns_invalid": "The domain {domain} cannot receive mail ({reason}).",
}

# a domain's DNS status as a small code (0: valid, or not looked up)
_UNKNOWN, _INVALID = 1, 2
_DNS_STATUS = {"unknown": _UNKNOWN, "invalid": _INVALID}


# --------------------------------------------------------------------------- input
def _as_series(emails, email_column: str | None) -> pd.Series:
    if isinstance(emails, pd.DataFrame):
        from ..contacts import find_email_column

        return emails[find_email_column(emails, email_column)]
    if isinstance(emails, pd.Series):
        return emails
    if isinstance(emails, (str, bytes)):
        raise InputError(
            "validate() takes many addresses (a list, Series or DataFrame), not one string: "
            "wrap it in a list, e.g. validate([address])."
        )
    if isinstance(emails, Iterable):
        values = list(emails)
        arr = np.empty(len(values), dtype=object)
        arr[:] = values  # element-wise: never turned into a 2-D array or a string dtype
        return pd.Series(arr, dtype=object, copy=False)
    raise InputError(
        f"validate() takes a list, Series or DataFrame of addresses, not {type(emails).__name__}."
    )


# --------------------------------------------------------------------------- DNS
def _progress_enabled(progress: bool | None) -> bool:
    if progress is None:
        try:
            return sys.stderr.isatty()
        except (AttributeError, ValueError):
            return False
    return bool(progress)


def _check_dns(
    domains: list[str],
    *,
    known: Mapping | None,
    show_progress: bool,
    options: dict,
) -> dict:
    """DomainResult for every domain: from *known* when there, else from DNS."""
    results = {}
    todo = []
    for d in domains:
        if known is not None and d in known:
            results[d] = known[d]
        else:
            todo.append(d)
    if not todo:
        return results
    from . import dns  # lazily: dnspython is slow to import and not needed without DNS

    accepts = inspect.signature(dns.check_domains).parameters
    kwargs = {k: v for k, v in options.items() if v is not None}
    if not show_progress:
        # no bar at all: a disabled tqdm still starts its monitor thread, which then
        # outlives the run (a cron job, a notebook kernel)
        results.update(dns.check_domains(todo, **kwargs))
        return results
    from tqdm.auto import tqdm

    with tqdm(total=len(todo), unit="domain", desc="DNS", leave=False) as bar:
        if "progress" in accepts:
            results.update(dns.check_domains(todo, progress=bar.update, **kwargs))
        elif len(todo) <= 1000:
            results.update(dns.check_domains(todo, **kwargs))
            bar.update(len(todo))
        else:
            # no progress hook: ask in chunks, handing each what is left of the one
            # overall budget (so the bar never stretches the time a run may take)
            budget = kwargs.pop("budget", accepts["budget"].default)
            start = time.monotonic()
            for i in range(0, len(todo), 1000):
                chunk = todo[i : i + 1000]
                left = max(1e-3, budget - (time.monotonic() - start))
                results.update(dns.check_domains(chunk, budget=left, **kwargs))
                bar.update(len(chunk))
    return results


# --------------------------------------------------------------------------- validate

class DomainResults(Mapping):
    """Read-only mapping domain -> DomainResult, kept in ``result.attrs["domains"]``.

    pandas deep-copies ``attrs`` into every frame derived from the result (each column,
    slice and merge); tens of thousands of results copied each time cost seconds. The
    mapping and its frozen values cannot change, so a "deep copy" may be the object itself.
    """

    __slots__ = ("_data",)

    def __init__(self, data):
        self._data = dict(data)

    def __getitem__(self, key):
        return self._data[key]

    def __iter__(self):
        return iter(self._data)

    def __len__(self):
        return len(self._data)

    def __copy__(self):
        return self

    def __deepcopy__(self, memo):
        return self

    def __repr__(self):
        return f"DomainResults({len(self._data)} domains)"

def validate(
    emails,
    *,
    check_dns: bool = True,
    nameserver: str | None = None,
    resolver=None,
    timeout: float | None = None,
    budget: float | None = None,
    concurrency: int | None = None,
    known_domains: Mapping | None = None,
    progress: bool | None = None,
    email_column: str | None = None,
) -> pd.DataFrame:
    """Check every address and say why a bad one is bad.

    Parameters
    ----------
    emails:
        A list (or any iterable) of strings, a Series, or a DataFrame with an email
        column (found by name, or named by *email_column*).
    check_dns:
        Look up each distinct domain (MX, falling back to A/AAAA). ``False``: syntax and
        lists only; addresses that pass get status ``unknown``, reason ``not_checked``.
    nameserver:
        ``"HOST[:PORT]"`` of the one DNS server to ask (default: the system's).
    resolver:
        A configured ``dns.resolver.Resolver`` to use instead (never modified).
    timeout, budget, concurrency:
        Seconds per lookup, seconds for all lookups together (domains not asked in time
        are ``unknown``/``dns_budget``), and lookups at once. ``None``: the defaults of
        :func:`listcare.address.dns.check_domains`.
    known_domains:
        ``{ascii_domain: DomainResult}`` already known (e.g. cached by the nightly job);
        these domains are not looked up again.
    progress:
        Show a progress bar on stderr; ``None`` (default): only when stderr is a terminal.

    Returns
    -------
    DataFrame
        One row per input, same order and index, with the columns of
        :data:`listcare.schema.VALIDATION_COLUMNS`. ``attrs["domains"]`` holds the
        ``DomainResult`` of every domain used (``{}`` without DNS).

    Examples
    --------
    >>> import listcare
    >>> r = listcare.validate(["Info@Example.org ", "bad@@x"], check_dns=False)
    >>> r[["normalized", "status", "reason"]].to_dict("list")
    {'normalized': ['info@example.org', None], 'status': ['risky', 'invalid'], 'reason': ['role', 'syntax']}
    """
    series = _as_series(emails, email_column)
    index = series.index
    n = len(series)

    # ---- syntax (email-validator's verdicts; see syntax.columns for what runs per
    # string, column-wise, and what once per distinct string or domain)
    cols = syntax.columns(series, roles=lists.role_local_parts(), strip=True)
    ok = cols.ok

    # ---- per distinct domain: DNS, lists, typo suggestion and the sentences
    real = cols.domains
    domains = [*real, ""]  # the last one: rows without a domain (not ok)
    dcodes = np.where(cols.domain_codes < 0, len(real), cols.domain_codes)
    if check_dns:
        dns_results = _check_dns(
            real,
            known=known_domains,
            show_progress=_progress_enabled(progress),
            options={
                "nameserver": nameserver,
                "resolver": resolver,
                "timeout": timeout,
                "budget": budget,
                "concurrency": concurrency,
            },
        )
    else:
        dns_results = {}
    texts = _Texts()
    d = _domain_table(domains, dns_results, texts)

    # ---- per row, vectorised on small integer codes into a table of distinct texts:
    # lowest precedence first, each later rule overrides
    has_sugg = ok & d["has_suggest"][dcodes]
    dstat = d["dstat"][dcodes]
    status = np.full(n, texts.code("valid" if check_dns else "unknown"), dtype=np.intp)
    reason = np.full(n, texts.code("" if check_dns else "not_checked"), dtype=np.intp)
    detail = np.full(n, texts.code(_DETAIL["valid" if check_dns else "not_checked"]), np.intp)

    def put(mask, st, rs, det):
        status[mask] = texts.code(st)
        reason[mask] = texts.code(rs) if isinstance(rs, str) else rs[dcodes[mask]]
        detail[mask] = texts.code(det) if isinstance(det, str) else det[dcodes[mask]]

    role = cols.role & ok
    disposable = d["disposable"][dcodes] & ok
    put(role, "risky", "role", _DETAIL["role"])
    put(disposable, "risky", "disposable", d["disposable_detail"])
    # a suggestion for a domain that does receive mail comes only from the known-typo
    # list (lists.suggest_domain); for a dead domain it rides on the invalid row
    put(has_sugg & (dstat != _INVALID), "risky", "typo", d["typo_detail"])
    put(ok & (dstat == _UNKNOWN), "unknown", d["reason"], d["dns_detail"])
    put(ok & (dstat == _INVALID), "invalid", d["reason"], d["dns_detail"])
    bad = np.flatnonzero(~ok)
    status[bad] = texts.code("invalid")
    reason[bad] = texts.codes(cols.reason[bad])
    detail[bad] = texts.codes(cols.message[bad])

    rows = np.flatnonzero(has_sugg)
    norm = cols.normalized
    suggested = [
        f"{norm[i][: norm[i].rindex('@')]}@{d['suggest'][dcodes[i]]}" for i in rows.tolist()
    ]
    suggestion = np.full(n, -1, dtype=np.intp)
    suggestion[rows] = np.arange(len(rows))

    # ---- the result, built in the schema's dtypes directly; a column of few distinct
    # texts is a take from a small StringArray (no per-row string checks)
    def text(values):
        return pd.array(values, dtype="string")

    table = text(texts.values)
    out = {
        "email": text(series.to_numpy(dtype=object, na_value=None, copy=False)),
        "normalized": text(np.where(ok, norm, None)),
        "domain": text(domains[:-1]).take(cols.domain_codes, allow_fill=True),
        "status": table.take(status),
        "reason": table.take(reason),
        "detail": table.take(detail),
        "suggestion": text(suggested).take(suggestion, allow_fill=True),
        "is_disposable": disposable,
        "is_role": role,
        "is_freemail": d["freemail"][dcodes] & ok,
        "duplicate_of": _duplicate_of(index, cols.key_codes),
    }
    assert list(out) == list(VALIDATION_COLUMNS)
    result = pd.DataFrame(out, index=index, copy=False)
    result.attrs["domains"] = DomainResults({x: dns_results[x] for x in real if x in dns_results})
    return result


def _domain_table(domains: list[str], dns_results: Mapping, texts: _Texts) -> dict:
    """Everything decided per distinct domain, as arrays aligned with *domains*; the
    sentences as codes into *texts*, made only where a row can show them."""
    nd = len(domains)
    blank = texts.code("")
    t = {
        k: np.full(nd, blank, dtype=np.intp)
        for k in ("reason", "dns_detail", "disposable_detail", "typo_detail")
    }
    t["dstat"] = np.zeros(nd, dtype=np.int8)
    t["suggest"] = np.full(nd, "", dtype=object)
    for k in ("has_suggest", "disposable", "freemail"):
        t[k] = np.zeros(nd, dtype=bool)
    for i, dom in enumerate(domains):
        if not dom:
            continue
        r = dns_results.get(dom)
        mail_host = None
        if r is not None:
            t["dstat"][i] = _DNS_STATUS.get(r.status, 0)
            t["reason"][i] = texts.code(r.reason)
            if r.status == "valid":
                mail_host = True
            elif r.status == "invalid" and r.reason in NO_MAIL_HOST_REASONS:
                mail_host = False
        sugg = lists.suggest_domain(dom, mail_host=mail_host)
        if lists.is_disposable(dom):
            t["disposable"][i] = True
            t["disposable_detail"][i] = texts.code(_DETAIL["disposable"].format(domain=dom))
        if lists.is_freemail(dom):
            t["freemail"][i] = True
        if sugg:
            t["suggest"][i] = sugg
            t["has_suggest"][i] = True
            t["typo_detail"][i] = texts.code(_DETAIL["typo"].format(domain=dom, suggested=sugg))
        if r is not None and r.status in ("invalid", "unknown"):
            key = "dns_invalid" if r.status == "invalid" else "dns_unknown"
            det = r.detail or _DETAIL[key].format(domain=dom, reason=r.reason)
            if sugg:
                det = f"{det.rstrip()} Did you mean {sugg}?"
            t["dns_detail"][i] = texts.code(det)
    return t


def _duplicate_of(index: pd.Index, key_codes: np.ndarray):
    """Index label (position for a non-integer index) of the first row with the same
    key (equal codes: the same lowercased normalised address; -1: no key); NA for first
    occurrences."""
    n = len(key_codes)
    has_key = key_codes >= 0
    k = int(key_codes.max()) + 1 if n else 0
    first_pos = syntax._first_positions(key_codes, k)[key_codes.clip(0)] if k else key_codes
    positions = np.arange(n)
    is_dup = has_key & (first_pos != positions)
    labels = index.to_numpy() if pd.api.types.is_integer_dtype(index.dtype) else positions
    values = np.zeros(n, dtype=np.int64)
    values[is_dup] = labels[first_pos[is_dup]]
    return pd.arrays.IntegerArray(values, ~is_dup)


class _Texts:
    """A table of distinct texts; columns hold small integer codes into it."""

    def __init__(self):
        self.values: list[str] = []
        self._index: dict[str, int] = {}

    def code(self, value: str) -> int:
        i = self._index.get(value)
        if i is None:
            i = self._index[value] = len(self.values)
            self.values.append(value)
        return i

    def codes(self, values) -> np.ndarray:
        return np.fromiter((self.code(v) for v in values), dtype=np.intp, count=len(values))


__all__ = ["validate", "NO_MAIL_HOST_REASONS"]
