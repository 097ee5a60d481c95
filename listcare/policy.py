"""Suppression policy: from the full event history to one decision per address.

:func:`decide` is recomputed from *all* stored events at every run, so a policy change
applies retroactively and a rerun is harmless. It is vectorised with pandas (group-bys,
no per-address Python loop) so a million addresses and two million events take seconds.

The rules, in the order they win (the first that applies names the decision):

=============  ===========  ===============================================================
rule           decision     when (defaults; every number and action is configurable)
=============  ===========  ===============================================================
unsubscribe    suppress     any unsubscribe (ARF opt-out, list-unsubscribe): consent is gone
complaint      suppress     any complaint (ARF abuse report): consent is gone
hard           suppress     a hard bounce with no successful delivery after it
invalid        suppress     validation ``invalid`` for syntax / domain_not_found / null_mx /
                            no_mail_host (and empty / special_use_domain)
soft           suppress     3 soft bounces on different days spanning at least 14 days, with
                            no delivery in between (a delivery resets; one per day counts)
disposable     keep         (flag only by default; ``reconfirm`` or ``suppress`` on request)
role           keep         (flag only by default)
sunset         reconfirm    no successful contact for more than 12 months
=============  ===========  ===============================================================

``block`` events (the receiver refused the *sender*: blocklists, spam filters, policy,
SPF/DKIM/DMARC) never suppress an address: dropping good contacts because of our own
reputation problem would be wrong. They are counted per provider and reported as a
sender-reputation alert (:func:`block_alerts`). ``deferred``, ``auto_reply`` and
``delivered`` never suppress; ``unknown`` validation verdicts (DNS timeouts) keep the
contact and are retried next run.

Why 3 soft bounces over 14 days: large senders never drop an address for one temporary
failure but do stop after repeated ones. Mailchimp cleans a contact after 7 soft-bounce
reports (15 when it has engaged; kb.mailchimp.com, "What's the difference between hard
and soft bounces"), Keila marks a contact unreachable at its third soft bounce in a row
(pentacent/keila#181), and Amazon SES's account suppression list takes only hard bounces
and complaints (``SuppressedReasons``: ``BOUNCE`` = hard bounce, ``COMPLAINT``), never a
transient one. Our default is stricter than Mailchimp's count (a nightly job sees fewer
campaigns) but asks for persistence: one bounce per day at most and a two-week span, so
a single outage (a full mailbox over a weekend, a receiving server down for a day) never
counts three times. Hard bounces and complaints suppress at once, as at SES.
"""

from __future__ import annotations

import functools
import json
import tomllib
from dataclasses import dataclass, fields, replace
from pathlib import Path

import numpy as np
import pandas as pd

from . import schema
from .dates import parse_dates, timestamp  # the one list-date reader, shared with cadence
from .exceptions import ColumnError, ConfigError, InputError, sample

__all__ = [
    "Policy",
    "DEFAULT_POLICY",
    "load_policy",
    "decide",
    "block_alerts",
    "address_key",
    "carry_since",
    "DECISIONS",
    "RULES",
]

DECISIONS = ("suppress", "reconfirm", "keep")
#: rule names, in the order they win
RULES = (
    "unsubscribe", "complaint", "hard", "provider_suppressed", "invalid", "soft", "disposable", "role", "sunset",
)
_ACTIONS = ("keep", "reconfirm", "suppress")

#: validation reasons that suppress by default (see README, "Suppression policy")
DEFAULT_INVALID_REASONS = (
    "empty",
    "syntax",
    "domain_not_found",
    "null_mx",
    "no_mail_host",
    "special_use_domain",
)


@dataclass(frozen=True)
class Policy:
    """Every knob of the policy; ``Policy()`` is the documented default."""

    #: hard bounces / complaints / unsubscribes suppress at once (False: ignore the kind)
    hard: bool = True
    complaint: bool = True
    unsubscribe: bool = True
    #: the sending provider itself refuses the address (reason ``suppressed``: Amazon SES
    #: "Permanent/Suppressed" -- "Amazon SES has suppressed sending to this address because
    #: it has a recent history of bouncing as an invalid address" -- or a Mailchimp
    #: "cleaned" member): the classifier keeps Sisimai's soft verdict, but no mail through
    #: that provider can reach the address any more, so it is suppressed at once
    provider_suppressed: bool = True
    #: validation reasons (status ``invalid``) that suppress
    invalid_reasons: tuple[str, ...] = DEFAULT_INVALID_REASONS
    #: soft bounces on different days needed to suppress, and the days they must span
    soft_bounces: int = 3
    soft_min_span_days: int = 14
    #: what to do with disposable / role addresses: keep (flag only), reconfirm, suppress
    disposable: str = "keep"
    role: str = "keep"
    #: months without a successful contact before reconfirm (0 turns the rule off)
    sunset_months: int = 12
    #: how long a cached DNS verdict of a domain is trusted
    validation_max_age_days: int = 30
    #: how far back block events are counted for the sender-reputation alert
    block_window_days: int = 30
    #: at most this many events are listed as evidence per decision (the most recent)
    evidence_limit: int = 20

    def __post_init__(self):
        for name in ("disposable", "role"):
            if getattr(self, name) not in _ACTIONS:
                raise ConfigError(
                    f"flags.{name} must be one of {', '.join(_ACTIONS)}; "
                    f"got {getattr(self, name)!r}."
                )
        for name, low in (
            ("soft_bounces", 1),
            ("soft_min_span_days", 0),
            ("sunset_months", 0),
            ("validation_max_age_days", 0),
            ("block_window_days", 1),
            ("evidence_limit", 1),
        ):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                raise ConfigError(
                    f"{_KEY_OF[name]} must be a whole number >= {low}; got {value!r}."
                )
        unknown = [r for r in self.invalid_reasons if r not in schema.VALIDATION_REASONS]
        if unknown:
            raise ConfigError(
                f"suppress.invalid_reasons has unknown reason(s) {unknown}; known: "
                f"{', '.join(r for r in schema.VALIDATION_REASONS if r)}."
            )


DEFAULT_POLICY = Policy()

# TOML key -> Policy field (and the type the value must have)
_TOML_KEYS: dict[str, tuple[str, type]] = {
    "suppress.hard": ("hard", bool),
    "suppress.complaint": ("complaint", bool),
    "suppress.unsubscribe": ("unsubscribe", bool),
    "suppress.provider_suppressed": ("provider_suppressed", bool),
    "suppress.invalid_reasons": ("invalid_reasons", list),
    "soft.bounces": ("soft_bounces", int),
    "soft.min_span_days": ("soft_min_span_days", int),
    "flags.disposable": ("disposable", str),
    "flags.role": ("role", str),
    "sunset.months": ("sunset_months", int),
    "validation.max_age_days": ("validation_max_age_days", int),
    "alerts.block_window_days": ("block_window_days", int),
    "report.evidence_limit": ("evidence_limit", int),
}
_KEY_OF = {field: key for key, (field, _) in _TOML_KEYS.items()}


def load_policy(path=None, **overrides) -> Policy:
    """The policy from a TOML file (``--config``), or the defaults when *path* is None.

    Every key is optional; an unknown section or key is an error naming it (a typo must
    not silently leave a default in force). See README, "Suppression policy".
    """
    values: dict = {}
    if path is not None:
        path = Path(path)
        try:
            with open(path, "rb") as f:
                doc = tomllib.load(f)
        except OSError as exc:
            raise ConfigError(
                f"Cannot read the config file {str(path)!r}: {exc.strerror}."
            ) from exc
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"The config file {str(path)!r} is not valid TOML: {exc}.") from exc
        sections = sorted({k.split(".")[0] for k in _TOML_KEYS})
        for section, table in doc.items():
            if not isinstance(table, dict) or section not in sections:
                raise ConfigError(
                    f"Unknown key {section!r} in {str(path)!r}; the sections are "
                    f"{', '.join('[' + s + ']' for s in sections)} (see README, "
                    "'Suppression policy')."
                )
            for key, value in table.items():
                full = f"{section}.{key}"
                if full not in _TOML_KEYS:
                    known = [k for k in _TOML_KEYS if k.startswith(section + ".")]
                    raise ConfigError(
                        f"Unknown key {full!r} in {str(path)!r}; [{section}] knows "
                        f"{', '.join(k.split('.', 1)[1] for k in known)}."
                    )
                field, typ = _TOML_KEYS[full]
                if typ is int and (isinstance(value, bool) or not isinstance(value, int)):
                    raise ConfigError(f"{full} must be a whole number; got {value!r}.")
                if typ is bool and not isinstance(value, bool):
                    raise ConfigError(f"{full} must be true or false; got {value!r}.")
                if typ is str and not isinstance(value, str):
                    raise ConfigError(f"{full} must be a string; got {value!r}.")
                if typ is list:
                    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                        raise ConfigError(f"{full} must be a list of strings; got {value!r}.")
                    value = tuple(value)
                values[field] = value
    known_fields = {f.name for f in fields(Policy)}
    for name in overrides:
        if name not in known_fields:
            raise ConfigError(f"Unknown policy setting {name!r}; known: {sorted(known_fields)}.")
    values.update(overrides)
    if "invalid_reasons" in values:
        values["invalid_reasons"] = tuple(values["invalid_reasons"])
    return replace(DEFAULT_POLICY, **values)


# =========================================================================== helpers
_NAT = np.iinfo(np.int64).min  # how NaT looks as int64 nanoseconds
_MAX = np.iinfo(np.int64).max
_DAY = 86_400 * 10**9
_KIND = {k: i for i, k in enumerate(schema.KINDS)}


def address_key(values) -> pd.Series:
    """The key addresses are matched on: trimmed, lower-cased, and an internationalised
    domain in its ASCII (IDNA) form, as mail logs show it (NA and "" become NA)."""
    s = pd.Series(values)
    return pd.Series(_address_keys(s), index=s.index, dtype="string")


def _address_keys(values) -> np.ndarray:
    """:func:`address_key` as an object array (None for NA): what the job uses inside.

    A plain comprehension over the values: measured faster than factorising first or
    than pandas' and Arrow's string kernels (1M addresses: 0.5 s against 1.1-2.5 s).
    """
    raw = values.to_numpy(dtype=object, na_value=None) if hasattr(values, "to_numpy") else values
    norm = [v.strip().lower() if v.__class__ is str else _other_key(v) for v in raw]
    out = np.empty(len(norm), dtype=object)
    out[:] = norm
    out[out == ""] = None
    if not "".join([v for v in norm if v]).isascii():  # one C-level check, usually true
        for i, v in enumerate(norm):
            if v and not v.isascii():
                out[i] = _ascii_domain(v)
    return out


def _other_key(v) -> str | None:
    """The key of a non-str cell (NA, or e.g. a number read from a spreadsheet)."""
    if v is None or v is pd.NA or (isinstance(v, float) and v != v):
        return None
    return str(v).strip().lower()


def _ascii_domain(address: str) -> str:
    local, at, domain = address.rpartition("@")
    if not at or domain.isascii():
        return address
    encoded = _idna_domain(domain)
    return address if encoded is None else f"{local}@{encoded}"


@functools.lru_cache(maxsize=65_536)
def _idna_domain(domain: str) -> str | None:
    """A domain's IDNA (ASCII) form, None when it is not a valid IDN (matched as written);
    cached: a list's IDN addresses share few domains, and idna.encode is slow."""
    try:
        import idna  # email-validator's own dependency: IDNA 2008 with UTS 46

        return idna.encode(domain, uts46=True).decode("ascii")
    except (idna.IDNAError, UnicodeError, ValueError):
        return None


def _dates(ns: np.ndarray) -> np.ndarray:
    """'YYYY-MM-DD' for int64 nanoseconds (NaT -> 'unknown date'), as an object array."""
    ns = np.asarray(ns, dtype="int64")
    out = ns.view("M8[ns]").astype("M8[D]").astype(str).astype(object)
    out[ns == _NAT] = "unknown date"
    return out


def _group_min(codes: np.ndarray, ts: np.ndarray) -> pd.Series:
    """Earliest timestamp per code, ignoring NaT unless a code has nothing else."""
    s = pd.Series(np.where(ts == _NAT, _MAX, ts)).groupby(codes).min()
    return s.where(s != _MAX, _NAT)


def _concat(*parts) -> np.ndarray:
    """Element-wise string concatenation of object arrays and str scalars."""
    out = None
    for p in parts:
        p = p if isinstance(p, str) else np.asarray(p, dtype=object)
        out = p if out is None else out + p
    return np.asarray(out, dtype=object)


def _evidence(sub: pd.DataFrame, limit: int) -> pd.Series:
    """JSON list per address code of its evidence events (the most recent *limit*)."""
    if sub.empty:
        return pd.Series(dtype=object)
    sub = sub.sort_values(["code", "ts"], kind="stable")
    rank = sub.groupby("code", sort=False).cumcount(ascending=False).to_numpy()
    sub = sub[rank < limit]
    src = sub["source"].to_numpy(dtype=object, na_value=None)
    uniq = pd.unique(src)
    src_json = pd.Series(src).map({s: json.dumps(s) for s in uniq}).to_numpy(dtype=object)
    ts = sub["ts"].to_numpy()
    ts_str = ts.view("M8[ns]").astype("M8[s]").astype(str).astype(object)
    ts_json = np.where(ts == _NAT, "null", _concat('"', ts_str, 'Z"'))
    pos = sub["position"].astype("Int64").astype("string").fillna("null")
    ids = [json.dumps(str(x)) for x in sub["event_id"].to_numpy(dtype=object)]
    kinds = np.asarray(schema.KINDS, dtype=object)[sub["kind"].to_numpy()]
    item = _concat(
        '{"event_id":',
        ids,
        ',"kind":"',
        kinds,
        '","timestamp":',
        ts_json,
        ',"source":',
        src_json,
        ',"position":',
        pos.to_numpy(dtype=object),
        "}",
    )
    # sorted by code: join each run of equal codes without a per-group pandas call
    codes = sub["code"].to_numpy()
    starts = np.flatnonzero(np.r_[True, codes[1:] != codes[:-1]])
    joined = np.add.reduceat(_concat(",", item), starts)
    out = np.array(["[" + x[1:] + "]" for x in joined], dtype=object)
    return pd.Series(out, index=codes[starts])


_EV_COLS = ("event_id", "reason", "diagnostic", "remote_mta", "source", "position")


def _prepare_events(events: pd.DataFrame | None, as_of: pd.Timestamp) -> pd.DataFrame:
    """Only what the rules need: ts (int64 ns), kind (int code), the key, evidence columns."""
    if events is None or len(events) == 0:
        events = schema.empty_frame(schema.EVENT_COLUMNS)
    schema.require_columns(events, ["recipient", "kind", "timestamp"], what="events table")
    kind_s = events["kind"]
    kind = pd.Categorical(kind_s, categories=schema.KINDS).codes.astype("int8")
    bad = (kind < 0) & kind_s.notna().to_numpy()
    if bad.any():
        seen = sorted(set(map(str, kind_s[bad].unique())))
        raise InputError(
            f"{int(bad.sum())} event(s) have an unknown kind ({', '.join(seen[:5])}); "
            f"known kinds: {', '.join(schema.KINDS)}."
        )
    ts = pd.to_datetime(events["timestamp"], utc=True).array.asi8
    ev = pd.DataFrame(
        {
            "ts": ts,
            "kind": kind,
            "key": _address_keys(events["recipient"]),
        }
    )
    for c in _EV_COLS:
        ev[c] = events[c].to_numpy() if c in events.columns else None
    keep = (kind >= 0) & ((ts == _NAT) | (ts <= as_of.value))  # nothing after as_of
    keep &= ev["key"].notna().to_numpy()
    return ev if keep.all() else ev[keep].reset_index(drop=True)


def prepare_contacts(
    contacts: pd.DataFrame | None,
    email_column: str | None = None,
    validation=None,
    *,
    acquired_column: str | None = None,
    last_contacted_column: str | None = None,
) -> dict:
    """What the policy derives from the contact rows and their validation rows, before
    it sees any event: the address keys, their integer codes (first appearance: contacts,
    then validation) with a hash index of the distinct keys, and ``acquired_at`` /
    ``last_contacted_at`` as int64 ns (None when the column is absent). The nightly job
    computes it in its worker thread while the store is busy."""
    out: dict = dict.fromkeys(("acquired_at", "last_contacted_at"))
    out["unreadable_dates"] = {}  # column -> (cells that are not dates, a few of them)
    parts: list[np.ndarray] = []
    ckey = vkey = None
    if contacts is not None:
        from .contacts import find_email_column

        col = find_email_column(contacts, email_column)
        ckey = _address_keys(contacts[col])
        for key, named in (
            ("acquired_at", acquired_column),
            ("last_contacted_at", last_contacted_column),
        ):
            if named is not None and named not in contacts.columns:
                raise ColumnError(
                    f"The contact list has no column {named!r} (given for {key}); its "
                    f"columns are {sample(map(str, contacts.columns), 12)}.",
                    missing=[named],
                    seen=contacts.columns,
                )
            out[key], bad = _contact_dates(contacts, named or key)
            if bad:
                out["unreadable_dates"][named or key] = bad
                filled = int((contacts[named or key].astype("string").str.strip() != "").sum())
                if named is not None and bad[0] == filled:
                    # a column named on purpose with not one date in it: the wrong column
                    raise ColumnError(
                        f"The column {named!r} (given for {key}) holds no dates (e.g. "
                        f"{', '.join(repr(c) for c in bad[1])}): name the column with the "
                        "dates.",
                        missing=[named],
                        seen=contacts.columns,
                    )
        parts.append(ckey)
    if validation is not None:
        schema.require_columns(validation, ["email", "status", "reason"], what="validation table")
        email = validation["email"].astype("string")
        base = validation["normalized"].astype("string") if "normalized" in validation else email
        base = base.where(base.notna() & (base != ""), email)
        b = base.to_numpy(dtype=object, na_value=None)
        if ckey is not None and len(b) == len(ckey):
            # a row validated to exactly its contact cell (most of a list) has its key
            raw = contacts[col].to_numpy(dtype=object, na_value=None)
            eq = np.fromiter((x is y or x == y for x, y in zip(raw, b, strict=True)), bool, len(b))
            vkey = np.empty(len(b), dtype=object)
            vkey[eq] = ckey[eq]
            vkey[~eq] = _address_keys(b[~eq])
        else:
            vkey = _address_keys(b)
        parts.append(vkey)
    # a validation row's key is nearly always its contact row's (validate keeps the
    # rows): only the others are hashed again; first appearances keep their order
    same = None
    if ckey is not None and vkey is not None and len(ckey) == len(vkey):
        same = ckey == vkey
        parts[1] = vkey[~same]
    codes, uniques = pd.factorize(np.concatenate(parts) if parts else np.array([], object))
    sizes = np.cumsum([0, *[len(p) for p in parts]])
    part_codes = [codes[a:b] for a, b in zip(sizes[:-1], sizes[1:], strict=True)]
    ccode = part_codes.pop(0) if ckey is not None else None
    vcode = part_codes.pop(0) if vkey is not None else None
    if same is not None:
        full = np.empty(len(vkey), dtype=codes.dtype)
        full[same] = ccode[same]
        full[~same] = vcode
        vcode = full
    index = pd.Index(uniques, dtype=object)
    index.get_indexer(uniques[:1])  # builds its hash table here, off the job's main thread
    # the tables it was computed from (by identity: a preparation is for these only)
    out.update(ccode=ccode, vcode=vcode, index=index, contacts=contacts, validation=validation)
    return out


def _evidence_of_validation(reasons, details) -> list[str]:
    """The JSON evidence of invalid addresses, once per distinct (reason, detail): a list's
    invalid rows share a handful of texts (the same dead domain, the same syntax error)."""
    memo: dict[tuple, str] = {}
    out = []
    for key in zip(reasons, details, strict=True):
        text = memo.get(key)
        if text is None:
            text = memo[key] = json.dumps([{"validation": key[0], "detail": key[1]}])
        out.append(text)
    return out


def _contact_dates(contacts: pd.DataFrame, column: str) -> tuple[np.ndarray | None, tuple]:
    """A contacts date column as int64 ns (NaT where empty or unreadable), and for the
    report: how many non-empty cells are not dates, with up to three of them (dates, not
    addresses: fine to show), or () when all are readable."""
    if column not in contacts.columns:
        return None, ()
    ns, bad = parse_dates(contacts[column])
    if not bad.any():
        return ns, ()
    cells = contacts[column].to_numpy(dtype=object)[bad]
    return ns, (int(bad.sum()), [str(v)[:40] for v in cells[:3]])


def _bool_col(df: pd.DataFrame, name: str) -> np.ndarray:
    if name not in df.columns:
        return np.zeros(len(df), dtype=bool)
    return df[name].astype("boolean").fillna(False).to_numpy(dtype=bool)


def _to_utc(value) -> pd.Timestamp:
    ts = timestamp(value)
    if ts is pd.NaT:
        raise InputError("as_of is missing; give a date such as as_of='2026-11-27'.")
    return ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")


# =========================================================================== decide
@dataclass(frozen=True)
class AddressCodes:
    """The integer address codes :func:`_decide` worked with (row positions of its
    result), for the job's later steps so that no address is normalised twice: the
    contact rows' codes (-1: no address), and per history event kept by the policy
    (nothing after as_of, an address) its code, time (int64 ns, NaT value when unknown)
    and kind (the position of its kind in ``schema.KINDS``). *acquired*: the contacts'
    ``acquired_at`` as int64 ns (NaT value where empty), None without that column."""

    contacts: np.ndarray | None
    event_codes: np.ndarray
    event_ts: np.ndarray
    event_kinds: np.ndarray
    acquired: np.ndarray | None


class _Rule:
    """Addresses (codes) one rule applies to, with since (int64 ns), reason, evidence."""

    def __init__(self, codes, since, reason, evidence):
        self.codes = np.asarray(codes, dtype=np.int64)
        self.since = np.asarray(since, dtype=np.int64)
        self.reason = np.asarray(reason, dtype=object)
        self.evidence = np.asarray(evidence, dtype=object)


def decide(
    events: pd.DataFrame | None,
    validation: pd.DataFrame | None = None,
    contacts: pd.DataFrame | None = None,
    *,
    as_of,
    policy: Policy | None = None,
    email_column: str | None = None,
) -> pd.DataFrame:
    """One row per address: ``decision`` (suppress / reconfirm / keep) and why.

    *events* is the full history (``schema.EVENT_COLUMNS``; at least recipient, kind,
    timestamp); events after *as_of* are ignored. *validation* is the output of
    :func:`listcare.validate` (matched on ``normalized``, else ``email``). *contacts*
    adds its addresses and, when present, ``last_contacted_at`` / ``acquired_at`` for the
    sunset rule. Addresses are matched trimmed and lower-cased (:func:`address_key`);
    rows come in the order contacts, validation, events (first appearance).

    Columns: ``address``, ``decision``, ``rule``, ``reason`` (one line for a person),
    ``since`` (when the decision started, UTC), ``flags`` (comma-separated: disposable,
    role, unknown), ``evidence`` (JSON list of event ids with source file and position),
    and ``hard_bounces``, ``soft_days``, ``blocks``, ``last_delivered``.
    ``result.attrs["blocks"]`` holds :func:`block_alerts` as a list of dicts.
    """
    return _decide(
        events, validation, contacts, as_of=as_of, policy=policy, email_column=email_column
    )[0]


def _decide(
    events, validation, contacts, *, as_of, policy, email_column, prepared=None
) -> tuple[pd.DataFrame, np.ndarray | None, AddressCodes]:
    """:func:`decide`; for each validation row the position of its address in the result
    (-1: no usable address), with which the job maps its contact rows; and the
    :class:`AddressCodes` of the contacts and events. *prepared*: what
    :func:`prepare_contacts` computed of *contacts* beforehand (the job does it in its
    worker thread while the store is busy)."""
    if (
        prepared is None
        or prepared["contacts"] is not contacts
        or prepared["validation"] is not validation
    ):
        prepared = prepare_contacts(contacts, email_column, validation)
    policy = policy or DEFAULT_POLICY
    as_of = _to_utc(as_of)
    ev = _prepare_events(events, as_of)

    # ---- the universe of addresses, as integer codes: the contacts' and validation's
    # (prepared), then the events' addresses not among them, in order of appearance
    ccode, vcode, index = prepared["ccode"], prepared["vcode"], prepared["index"]
    ekeys = ev["key"].to_numpy(dtype=object)
    code = index.get_indexer(ekeys) if len(index) else np.full(len(ekeys), -1, dtype=np.intp)
    unseen = code < 0
    uniques = index.to_numpy(dtype=object)
    if unseen.any():
        extra_codes, extra = pd.factorize(ekeys[unseen])
        code[unseen] = extra_codes + len(uniques)
        uniques = np.concatenate([uniques, extra])
    n = len(uniques)
    ev["code"] = code
    ts = ev["ts"].to_numpy()
    kind = ev["kind"].to_numpy()
    limit = policy.evidence_limit
    rules: dict[str, _Rule] = {}

    # ---- last successful delivery; what happened after it
    is_deliv = (kind == _KIND["delivered"]) & (ts != _NAT)
    last_delivered = np.full(n, _NAT, dtype=np.int64)
    if is_deliv.any():
        ld = pd.Series(ts[is_deliv]).groupby(code[is_deliv]).max()
        last_delivered[ld.index.to_numpy()] = ld.to_numpy()
    ev_ld = last_delivered[code] if n else np.array([], dtype=np.int64)
    # a bounce with no time cannot be placed before a delivery: it counts (conservative)
    after = (ts == _NAT) | (ts > ev_ld)

    def immediate(rule: str, mask: np.ndarray, text: str) -> None:
        sub = ev[mask]
        if sub.empty:
            return
        c = sub["code"].to_numpy()
        first = _group_min(c, sub["ts"].to_numpy())
        count = pd.Series(c).groupby(c).size().reindex(first.index).to_numpy()
        last = sub.sort_values(["code", "ts"], kind="stable").drop_duplicates("code", keep="last")
        last = last.set_index("code").reindex(first.index)
        last_ts = last["ts"].to_numpy()
        why = last["reason"].fillna("").astype(str).to_numpy(dtype=object)
        diag = last["diagnostic"].fillna("").astype(str).str.slice(0, 120).to_numpy(dtype=object)
        extra = np.where(
            why != "", _concat(" (", why, np.where(diag != "", _concat(": ", diag), ""), ")"), ""
        )
        reason = _concat(
            text,
            " on ",
            _dates(first.to_numpy()),
            np.where(
                count > 1,
                _concat(" (", count.astype(str).astype(object), " events, the last on ", _dates(last_ts), ")"),
                "",
            ),
            extra,
        )
        evidence = _evidence(sub, limit).reindex(first.index).fillna("[]")
        rules[rule] = _Rule(first.index, first.to_numpy(), reason, evidence.to_numpy())

    if policy.unsubscribe:
        immediate("unsubscribe", kind == _KIND["unsubscribe"], "Unsubscribed")
    if policy.complaint:
        immediate("complaint", kind == _KIND["complaint"], "Complaint (marked as spam)")
    hard_mask = (kind == _KIND["hard"]) & after
    if policy.hard:
        immediate("hard", hard_mask, "Hard bounce")
    if policy.provider_suppressed:
        on_list = ev["reason"].astype("string").fillna("").to_numpy(dtype=object) == "suppressed"
        immediate("provider_suppressed", on_list & after, "On the sending provider's suppression list")

    # ---- validation
    flags = np.full(n, "", dtype=object)
    if validation is not None:
        ok = vcode >= 0
        first_rows = np.unique(vcode[ok], return_index=True)[1]
        rows = np.flatnonzero(ok)[first_rows]  # first validation row of each address
        vc = vcode[rows]
        status = validation["status"].astype("string").fillna("").to_numpy(dtype=object)[rows]
        vreason = validation["reason"].astype("string").fillna("").to_numpy(dtype=object)[rows]
        detail = (
            validation["detail"].astype("string").fillna("").to_numpy(dtype=object)[rows]
            if "detail" in validation.columns
            else np.full(len(rows), "", dtype=object)
        )
        disposable = _bool_col(validation, "is_disposable")[rows]
        role = _bool_col(validation, "is_role")[rows]
        inv = (status == "invalid") & np.isin(vreason, list(policy.invalid_reasons))
        if inv.any():
            d = np.array([s[:160] for s in detail[inv]], dtype=object)
            rules["invalid"] = _Rule(
                vc[inv],
                np.full(int(inv.sum()), as_of.value, dtype=np.int64),
                _concat(
                    "Invalid address (", vreason[inv], ")", np.where(d != "", _concat(": ", d), "")
                ),
                _evidence_of_validation(vreason[inv], detail[inv]),
            )
        for name, mask in (
            ("disposable", disposable),
            ("role", role),
            # unknown: DNS could not tell (retried next run); not for check_dns=False
            ("unknown", (status == "unknown") & (vreason != "not_checked")),
        ):
            if mask.any():
                cur = flags[vc[mask]]
                flags[vc[mask]] = np.where(cur == "", name, _concat(cur, "," + name))
        for name, mask, action in (
            ("disposable", disposable, policy.disposable),
            ("role", role, policy.role),
        ):
            if action != "keep" and mask.any():
                k = int(mask.sum())
                rules[name] = _Rule(
                    vc[mask],
                    np.full(k, as_of.value, dtype=np.int64),
                    np.full(k, f"{name.capitalize()} address ({action} by policy flags.{name})"),
                    np.full(k, json.dumps([{"validation": name}])),
                )

    # ---- soft: N bounces on different days spanning >= M days since the last delivery
    soft = ev[(kind == _KIND["soft"]) & after & (ts != _NAT)]
    soft = soft.assign(day=soft["ts"].to_numpy() // _DAY).sort_values(["code", "ts"], kind="stable")
    soft = soft.drop_duplicates(["code", "day"], keep="first")  # at most one per day
    soft_days = np.bincount(soft["code"].to_numpy(), minlength=n) if n else np.zeros(0, int)
    if len(soft):
        sg = soft.groupby("code", sort=False)
        nth = sg.cumcount().to_numpy() + 1
        span = soft["day"].to_numpy() - sg["day"].transform("first").to_numpy()
        ok = (nth >= policy.soft_bounces) & (span >= policy.soft_min_span_days)
        if ok.any():
            qual = soft[ok].groupby("code")["ts"].min()
            sq = soft[soft["code"].isin(qual.index)]
            g = sq.groupby("code")
            first, last = g["ts"].min().to_numpy(), g["ts"].max().to_numpy()
            last_reason = g["reason"].last().fillna("").astype(str).to_numpy(dtype=object)
            qc = qual.index.to_numpy()
            reason = _concat(
                soft_days[qc].astype(str).astype(object),
                " soft bounces on different days from ",
                _dates(first),
                " to ",
                _dates(last),
                ", no delivery in between",
                np.where(last_reason != "", _concat(" (last: ", last_reason, ")"), ""),
            )
            evidence = _evidence(sq, limit).reindex(qual.index).fillna("[]")
            rules["soft"] = _Rule(qc, qual.to_numpy(), reason, evidence.to_numpy())

    # ---- sunset: no successful contact for more than N months
    if policy.sunset_months > 0 and n:
        last_ok = last_delivered.copy()
        src = np.where(last_ok != _NAT, "delivery", "").astype(object)
        acquired = np.full(n, _NAT, dtype=np.int64)
        if contacts is not None:
            okc = ccode >= 0
            lc = prepared["last_contacted_at"]
            if lc is not None:
                per = np.full(n, _NAT, dtype=np.int64)
                np.maximum.at(per, ccode[okc], lc[okc])
                newer = per > last_ok
                last_ok = np.where(newer, per, last_ok)
                src = np.where(newer, "last_contacted_at", src).astype(object)
            ac = prepared["acquired_at"]
            if ac is not None:
                np.maximum.at(acquired, ccode[okc], ac[okc])
        baseline = np.where(last_ok != _NAT, last_ok, acquired)
        cutoff = (as_of - pd.DateOffset(months=policy.sunset_months)).value
        stale = (baseline != _NAT) & (baseline < cutoff)
        if stale.any():
            b = baseline[stale]
            since = (
                pd.DatetimeIndex(b.view("M8[ns]")) + pd.DateOffset(months=policy.sunset_months)
            ).asi8
            s = src[stale]
            bd = _dates(b)
            text = np.where(
                s == "delivery",
                _concat("No successful delivery since ", bd),
                np.where(
                    s == "last_contacted_at",
                    _concat("Last contacted on ", bd),
                    _concat("Acquired on ", bd, " and never delivered to since"),
                ),
            )
            months = policy.sunset_months
            rules["sunset"] = _Rule(
                np.flatnonzero(stale),
                since,
                _concat(text, f" (more than {months} months): ask to reconfirm"),
                _concat(
                    '[{"last_success":"',
                    bd,
                    '","from":"',
                    np.where(s == "", "acquired_at", s).astype(object),
                    '"}]',
                ),
            )

    # ---- precedence: the first rule that applies wins
    order = [
        (r, "suppress") for r in ("unsubscribe", "complaint", "hard", "provider_suppressed", "invalid", "soft")
    ]
    actions = (("disposable", policy.disposable), ("role", policy.role))
    order += [(name, "suppress") for name, action in actions if action == "suppress"]
    order.append(("sunset", "reconfirm"))
    order += [(name, "reconfirm") for name, action in actions if action == "reconfirm"]

    decision = np.full(n, "keep", dtype=object)
    rule = np.full(n, "", dtype=object)
    reason = np.full(n, "", dtype=object)
    evidence = np.full(n, "[]", dtype=object)
    since = np.full(n, _NAT, dtype=np.int64)
    decided = np.zeros(n, dtype=bool)
    for name, action in order:
        r = rules.get(name)
        if r is None:
            continue
        free = ~decided[r.codes]
        c = r.codes[free]
        decision[c], rule[c], reason[c] = action, name, r.reason[free]
        evidence[c], since[c] = r.evidence[free], r.since[free]
        decided[c] = True

    def counts(mask):
        return np.bincount(code[mask], minlength=n) if n else np.zeros(0, dtype=np.int64)

    result = pd.DataFrame(
        {
            "address": pd.array(uniques, dtype="string"),
            "decision": pd.array(decision, dtype="string"),
            "rule": pd.array(rule, dtype="string"),
            "reason": pd.array(reason, dtype="string"),
            "since": _utc(since),
            "flags": pd.array(flags, dtype="string"),
            "evidence": pd.array(evidence, dtype="string"),
            "hard_bounces": counts(hard_mask),
            "soft_days": soft_days.astype(np.int64),
            "blocks": counts(kind == _KIND["block"]),
            "last_delivered": _utc(last_delivered),
        }
    )
    # records, not a DataFrame: pandas compares attrs with == when it concatenates
    result.attrs["blocks"] = _block_alerts(ev, uniques, as_of, policy.block_window_days).to_dict(
        "records"
    )
    result.attrs["as_of"] = as_of
    return result, vcode, AddressCodes(ccode, code, ts, kind, prepared["acquired_at"])


def carry_since(decisions: pd.DataFrame, previous: pd.DataFrame | None) -> pd.DataFrame:
    """*decisions* with ``since`` carried over from the previous run where nothing changed.

    Rules without events of their own (``invalid``, ``disposable``, ``role``) can only say
    "as of this run"; when the previous run (*previous*: ``address``, ``decision``,
    ``rule``, ``since``, e.g. :meth:`listcare.store.Store.suppressions`) already had the
    same decision by the same rule, the earlier date is the day the decision started.
    Returns a new frame; the inputs are not modified.
    """
    if previous is None or not len(previous) or not len(decisions):
        return decisions
    prev = previous[["address", "decision", "rule", "since"]].drop_duplicates("address")
    prev = prev.set_index("address")
    dec = decisions["decision"].to_numpy(dtype=object)
    cand = np.flatnonzero(dec != "keep")  # only decisions that can have started earlier
    pos = prev.index.get_indexer(decisions["address"].to_numpy(dtype=object)[cand])
    hit = pos >= 0
    rows, p = cand[hit], prev.iloc[pos[hit]]
    same = (p["decision"].to_numpy(dtype=object) == dec[rows]) & (
        p["rule"].to_numpy(dtype=object) == decisions["rule"].to_numpy(dtype=object)[rows]
    )
    before = pd.to_datetime(p["since"], utc=True).array.asi8
    now = decisions["since"].array.asi8[rows]
    earlier = same & (before != _NAT) & ((now == _NAT) | (before < now))
    if not earlier.any():
        return decisions
    since = decisions["since"].array.asi8.copy()
    since[rows[earlier]] = before[earlier]
    out = decisions.copy(deep=False)  # new columns only: the input stays as it was
    out["since"] = pd.DatetimeIndex(since.view("M8[ns]")).tz_localize("UTC")
    out.attrs = dict(decisions.attrs)
    return out


def _utc(ns: np.ndarray) -> pd.Series:
    return pd.Series(
        pd.DatetimeIndex(np.asarray(ns, dtype=np.int64).view("M8[ns]")).tz_localize("UTC")
    )


# =========================================================================== alerts
def block_alerts(events: pd.DataFrame, *, as_of, policy: Policy | None = None) -> pd.DataFrame:
    """Sender-reputation alert: block events per provider in the last days before *as_of*.

    One row per provider (the ``remote_mta``, else the recipient's domain) with
    ``blocks``, ``addresses``, ``first``, ``last`` and the most common ``reason``; sorted
    by ``blocks``, most first. Blocks never suppress an address.
    """
    policy = policy or DEFAULT_POLICY
    as_of = _to_utc(as_of)
    ev = _prepare_events(events, as_of)
    codes, uniques = pd.factorize(ev["key"].to_numpy(dtype=object))
    ev["code"] = codes
    return _block_alerts(ev, uniques, as_of, policy.block_window_days)


def _block_alerts(ev: pd.DataFrame, uniques, as_of: pd.Timestamp, window_days: int) -> pd.DataFrame:
    cols = ["provider", "blocks", "addresses", "first", "last", "reason"]
    start = (as_of - pd.Timedelta(days=window_days)).value
    b = ev[(ev["kind"].to_numpy() == _KIND["block"]) & (ev["ts"].to_numpy() > start)]
    if b.empty:
        return pd.DataFrame({c: pd.Series(dtype="object") for c in cols})
    keys = pd.Series(np.asarray(uniques, dtype=object)[b["code"].to_numpy()], dtype="string")
    mta = pd.Series(b["remote_mta"].to_numpy(), dtype="string").str.strip().str.lower()
    domain = keys.str.rsplit("@", n=1).str[-1]
    provider = mta.where(mta.notna() & (mta != ""), domain).fillna("(unknown)")
    frame = pd.DataFrame(
        {
            "provider": provider.to_numpy(),
            "key": keys.to_numpy(),
            "ts": _utc(b["ts"].to_numpy()).to_numpy(),
            "reason": pd.Series(b["reason"].to_numpy(), dtype="string").fillna("").to_numpy(),
        }
    )
    g = frame.groupby("provider")
    out = pd.DataFrame(
        {
            "blocks": g.size(),
            "addresses": g["key"].nunique(),
            "first": g["ts"].min(),
            "last": g["ts"].max(),
            "reason": g["reason"].agg(lambda r: r.mode().iloc[0] if len(r) else ""),
        }
    )
    out = out.reset_index().sort_values(["blocks", "provider"], ascending=[False, True])
    return out.reset_index(drop=True)[cols]
