"""Address syntax and normalisation: email-validator's verdict, computed fast.

Pure (no DNS import). Every verdict and normalised form is email-validator's
(``validate_email(s, check_deliverability=False)``) on the input with surrounding
whitespace removed (``str.strip()``): exports from spreadsheets and CRMs routinely carry a
leading or trailing space or a newline, which email-validator rejects, and which nobody
means as part of the address. Nothing else is changed before validation.

Speed: most real addresses are plain ASCII (``john.doe@example.com``). For those,
email-validator's many checks collapse into two regular expressions (:data:`_LOCAL_RE`
once per string, :data:`_DOMAIN_RE` once per distinct domain) and a lowercasing, see
:func:`_fast_columns`. Everything they do not accept (unicode, quoted local parts,
display names, IP literals, Punycode, special-use names, anything invalid) goes to
email-validator's own step functions, in ``validate_email``'s order, with the costly
domain step memoised per distinct domain (:class:`_Mirror`), so verdicts and error
messages are always email-validator's. The property tests in ``tests/test_syntax.py``
check with hypothesis that both paths agree with ``validate_email`` on verdict and
normalised form for near-valid and hostile strings.

For many strings (:func:`columns`, used by ``listcare.validate``) the ASCII check runs
column-wise in Arrow (the same expression in RE2, C++), with the lowercasing, the role
test and the duplicate keys as whole-column operations; only the strings it does not
take go through Python. With or without pyarrow the results are the same (tested).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import NamedTuple

import email_validator
import numpy as np
import pandas as pd
from email_validator import EmailNotValidError, EmailSyntaxError, validate_email
from email_validator.rfc_constants import CASE_INSENSITIVE_MAILBOX_NAMES
from email_validator.rfc_constants import DOT_ATOM_TEXT as _DOT_ATOM_TEXT
from email_validator.types import ValidatedEmail

# RFC 5322 3.2.3 atext, as email_validator.rfc_constants.ATEXT
_ATEXT = r"a-zA-Z0-9_!#$%&'*+\-/=?^`{|}~"
# RFC 5890 2.3.1: a label whose 3rd and 4th characters are "--" is reserved unless it is
# Punycode ("xn--"); email-validator rejects it with re.match(r"(?!xn)..--", label, re.I).
_NOT_RLDH = r"(?!(?![xX][nN])[^.]{2}--)"
# RFC 952 / RFC 1123 2.1 host name label, at most 63 octets (RFC 1035 2.3.1)
_LABEL = _NOT_RLDH + r"[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?"
# the last label must end with a letter (email-validator: "all TLDs currently end with a
# letter") and there must be at least one dot (no dotless domains, ICANN 2013)
_TLD = _NOT_RLDH + r"(?:[a-zA-Z0-9][a-zA-Z0-9-]{0,61})?[a-zA-Z]"
#: plain ASCII dot-atom local part (RFC 5322 3.2.3)
_LOCAL_RE = re.compile(rf"[{_ATEXT}]+(?:\.[{_ATEXT}]+)*")
#: host name without Punycode labels: anything with "xn--" goes to email-validator,
#: which decodes and re-checks IDNA
_DOMAIN_RE = re.compile(rf"(?![a-zA-Z0-9.-]*[xX][nN]--)(?:{_LABEL}\.)+{_TLD}")
# RFC 5321 4.5.3.1.3 (+ RFC 3696 errata 1690): at most 254 octets; ASCII, so characters
_EMAIL_MAX_LENGTH = 254
# RFC 2142 mailbox names email-validator lowercases in the local part
_CASE_INSENSITIVE = frozenset(CASE_INSENSITIVE_MAILBOX_NAMES)

# ASCII host name characters, within email-validator's up-front domain length limit
_HOSTNAME_CHARS = re.compile(r"[a-zA-Z0-9.-]{1,253}")

#: email-validator's message for RFC 6761 / IANA special-use names (see its
#: SPECIAL_USE_DOMAIN_NAMES); used to give these their own reason code
_SPECIAL_USE_MESSAGE = "special-use or reserved name"


class Parsed(NamedTuple):
    """The syntax verdict on one address (already stripped of surrounding whitespace)."""

    ok: bool
    #: email-validator's ``normalized`` ('' when not ok)
    normalized: str
    #: normalised local part ('' when not ok)
    local: str
    #: IDNA/ASCII domain (email-validator's ``ascii_domain``; '' when not ok)
    domain: str
    #: '' when ok, else "empty", "syntax" or "special_use_domain"
    reason: str
    #: email-validator's message when not ok, else ''
    message: str


_EMPTY = Parsed(False, "", "", "", "empty", "The address is empty.")


def _special_use_check():
    """A function telling whether a lowercase ASCII domain is a special-use name.

    Reads email-validator's list when called, so a caller who changed it is honoured.
    """
    names = tuple(email_validator.SPECIAL_USE_DOMAIN_NAMES)
    if getattr(email_validator, "TEST_ENVIRONMENT", False):
        names = tuple(n for n in names if n != "test")
    if all("." not in n for n in names):
        tlds = frozenset(names)
        return lambda domain: domain.rpartition(".")[2] in tlds
    suffixes = tuple("." + n for n in names)
    return lambda domain: domain in names or domain.endswith(suffixes)


def _version_modelled() -> bool:
    """The fast path and the mirror model email-validator 2.4 (the rules and the order of
    its checks); with any other version every string goes to ``validate_email`` itself
    (still correct, only slower; the fast-path tests then fail and ask for a review)."""
    try:
        major, minor = (int(x) for x in email_validator.__version__.split(".")[:2])
    except (AttributeError, ValueError):
        return False
    return (major, minor) == (2, 4)


def _fast_enabled() -> bool:
    # In strict mode email-validator also limits the local part to 64 characters; the
    # fast path does not model that, so it steps aside.
    return _version_modelled() and not getattr(email_validator, "STRICT", False)


class _Mirror:
    """email-validator's ``validate_email`` (2.4, ``check_deliverability=False``), step by
    step with its own functions, but with the domain step memoised.

    The domain step (UTS 46 mapping, IDNA encoding and decoding with the ``idna``
    package) is most of the cost of an internationalised or invalid address, and a list
    has far fewer distinct domains than addresses. The order of the steps, and so which
    error wins, is exactly ``validate_email``'s; the property tests compare the two.
    """

    def __init__(self):
        from email_validator import syntax as evs

        self.evs = evs
        self.opts = {
            name: getattr(email_validator, name.upper())
            for name in (
                "allow_smtputf8",
                "allow_empty_local",
                "allow_quoted_local",
                "allow_domain_literal",
                "allow_display_name",
                "strict",
                "test_environment",
                "globally_deliverable",
            )
        }
        self.domains: dict[str, tuple] = {}

    def domain(self, domain_part: str):
        hit = self._domain(domain_part)
        if hit[1] is not None:
            raise EmailSyntaxError(hit[1])
        return hit[0]

    def quick(self, email: str) -> Parsed | None:
        """``validate_email``'s answer for the common shape of a non-plain address, or
        None: an unquoted ASCII dot-atom local part, then "@" and a domain part
        (internationalised, or wrong). For these, ``split_email`` splits at the first
        "@" (no character decomposes to one starting with "@", so its NFC test never
        moves it; tests/test_syntax.py checks), ``validate_email_local_part`` returns
        the local part as it is, and the verdict is the (memoised) domain step's, or,
        when it passes, the length check's; this answers without the per-string
        Python of ``__call__`` (no exception, no ValidatedEmail)."""
        local, at, domain_part = email.partition("@")
        if (
            not at
            or not local.isascii()
            or self.opts["strict"]
            or _DOT_ATOM_TEXT.match(local) is None  # also no quote and no angle bracket
            or (domain_part.startswith("[") and domain_part.endswith("]"))
        ):
            return None
        if not domain_part:
            message = "There must be something after the @-sign."
            return Parsed(False, "", "", "", "syntax", message)
        info, message = self._domain(domain_part)
        if message is not None:
            reason = "special_use_domain" if _SPECIAL_USE_MESSAGE in message else "syntax"
            return Parsed(False, "", "", "", reason, message)
        if local.lower() in _CASE_INSENSITIVE:
            local = local.lower()
        normalized = local + "@" + info["domain"]
        # validate_email_length: the original, the normalised and the ASCII form, in
        # UTF-8; over the limit, __call__ words the error
        for form in (email, normalized, local + "@" + info["ascii_domain"]):
            if len(form.encode("utf-8")) > _EMAIL_MAX_LENGTH:
                return None
        return Parsed(True, normalized, local, info["ascii_domain"], "", "")

    def _domain(self, domain_part: str) -> tuple:
        hit = self.domains.get(domain_part)
        if hit is None:
            try:
                if _HOSTNAME_CHARS.fullmatch(domain_part):
                    # On these characters every check validate_email_domain_name makes
                    # before its dot-and-hyphen check passes, and UTS 46 maps them to
                    # lowercase (which that check does not see), so a misplaced dot or
                    # hyphen, the common error, raises its error without the costly
                    # per-character Unicode checks (tests/test_syntax.py compares)
                    self.evs.check_dot_atom(
                        domain_part,
                        "An email address cannot have a {} immediately after the @-sign.",
                        "An email address cannot end with a {}.",
                        is_hostname=True,
                    )
                info = self.evs.validate_email_domain_name(
                    domain_part,
                    test_environment=self.opts["test_environment"],
                    globally_deliverable=self.opts["globally_deliverable"],
                )
                hit = (info, None)
            except EmailNotValidError as exc:
                hit = (None, str(exc))
            self.domains[domain_part] = hit
        return hit

    def __call__(self, email: str):
        import unicodedata

        evs, o = self.evs, self.opts
        if email.isascii() and '"' not in email and "<" not in email:
            # split_email without quotes or angle brackets: the first '@' splits, and
            # its per-character NFC test is the identity on ASCII
            original_local, at, domain_part = email.partition("@")
            if not at:
                raise EmailSyntaxError("An email address must have an @-sign.")
            display_name, unescaped_local, quoted = None, original_local, False
        else:
            display_name, original_local, unescaped_local, quoted, domain_part = evs.split_email(
                email
            )
        if display_name:
            display_name = unicodedata.normalize("NFC", display_name)
        ret = ValidatedEmail()
        ret.original = original_local + "@" + domain_part
        ret.display_name = display_name
        kw = {
            "allow_smtputf8": o["allow_smtputf8"],
            "allow_empty_local": o["allow_empty_local"],
            "quoted_local_part": quoted,
            "strict": o["strict"],
        }
        info = evs.validate_email_local_part(unescaped_local, **kw)
        normalized_local = unicodedata.normalize("NFC", unescaped_local)
        if normalized_local != unescaped_local:
            try:
                info = evs.validate_email_local_part(normalized_local, **kw)
            except EmailSyntaxError as e:
                raise EmailSyntaxError("After Unicode normalization: " + str(e)) from e
        ret.local_part = info["local_part"]
        ret.ascii_local_part = info["ascii_local_part"]
        if quoted and not o["allow_quoted_local"]:
            raise EmailSyntaxError("Quoting the part before the @-sign is not allowed here.")
        if (
            ret.ascii_local_part is not None
            and ret.ascii_local_part.lower() in _CASE_INSENSITIVE
            and ret.local_part is not None
        ):
            ret.ascii_local_part = ret.ascii_local_part.lower()
            ret.local_part = ret.local_part.lower()
        if len(domain_part) == 0:
            raise EmailSyntaxError("There must be something after the @-sign.")
        elif domain_part.startswith("[") and domain_part.endswith("]"):
            lit = evs.validate_email_domain_literal(domain_part[1:-1])
            if not o["allow_domain_literal"]:
                raise EmailSyntaxError(
                    "A bracketed IP address after the @-sign is not allowed here."
                )
            ret.domain = lit["domain"]
            ret.ascii_domain = lit["domain"]
        else:
            d = self.domain(domain_part)
            ret.domain = d["domain"]
            ret.ascii_domain = d["ascii_domain"]
        ret.normalized = ret.local_part + "@" + ret.domain
        evs.validate_email_length(ret)
        if display_name is not None and not o["allow_display_name"]:
            raise EmailSyntaxError(
                "A display name and angle brackets around the email address are not permitted here."
            )
        return ret


def _mirror_usable() -> bool:
    return _version_modelled()


def _slow_one(s: str, validator=None) -> Parsed:
    """email-validator (or its memoised mirror): the reference for every verdict."""
    if not s:
        return _EMPTY
    if validator is not None:
        quick = validator.quick(s)
        if quick is not None:
            return quick
    try:
        if validator is None:
            v = validate_email(s, check_deliverability=False)
        else:
            v = validator(s)
    except EmailNotValidError as exc:
        msg = str(exc)
        reason = "special_use_domain" if _SPECIAL_USE_MESSAGE in msg else "syntax"
        return Parsed(False, "", "", "", reason, msg)
    local = v.local_part
    return Parsed(True, v.normalized, local, v.ascii_domain, "", "")


def _fast_columns(strings: list[str], roles: frozenset = frozenset()):
    """The fast path over many strings: lists (normalized, domain, key, role), one entry
    per string; see :func:`parse_columns` for key and role.

    ``normalized`` None means "ask email-validator" (not necessarily invalid). The
    domain part is checked once per distinct domain (a list has far fewer domains than
    addresses); the local part once per string.
    """
    n = len(strings)
    local_ok = _LOCAL_RE.fullmatch
    domain_ok = _DOMAIN_RE.fullmatch
    is_special = _special_use_check()
    ci = _CASE_INSENSITIVE
    domain_cache: dict[str, str] = {}
    normalized: list = [None] * n
    domains = [""] * n
    keys: list = [None] * n
    is_role = [False] * n
    for i, s in enumerate(strings):
        # the first '@' splits (email-validator splits at the first unquoted '@'); an
        # '@' in the rest fails the domain expression
        local, at, domain_part = s.partition("@")
        if not at or len(s) > _EMAIL_MAX_LENGTH or local_ok(local) is None:
            continue
        domain = domain_cache.get(domain_part)
        if domain is None:
            domain = ""
            if domain_ok(domain_part) is not None:
                # UTS 46 mapping of an ASCII host name is lowercasing (idna.uts46_remap)
                lowered = domain_part.lower()
                if not is_special(lowered):
                    domain = lowered
            domain_cache[domain_part] = domain
        if not domain:
            continue
        lowered = local.lower()
        if lowered == local:
            # the common case: already lowercase, so the key is the normalised address
            keys[i] = normalized[i] = local + "@" + domain
        else:
            if lowered in ci:
                local = lowered
            normalized[i] = local + "@" + domain
            keys[i] = lowered + "@" + domain
        domains[i] = domain
        if lowered in roles or ("+" in lowered and lowered.split("+", 1)[0] in roles):
            is_role[i] = True
    return normalized, domains, keys, is_role


def parse(s: str) -> Parsed:
    """The verdict on one address (surrounding whitespace is stripped first)."""
    return parse_unique([s.strip()])[0]


def _python_columns(strings: list[str], fast: bool, roles: frozenset) -> dict[str, list]:
    """:func:`parse_columns` in pure Python: the per-string ASCII check, then
    email-validator (or its memoised mirror) once per distinct string it does not take."""
    n = len(strings)
    if fast and _fast_enabled():
        normalized, domains, keys, is_role = _fast_columns(strings, roles)
    else:
        normalized, domains, keys, is_role = [None] * n, [""] * n, [None] * n, [False] * n
    ok = [x is not None for x in normalized]
    reasons = [""] * n
    messages = [""] * n
    validator = _Mirror() if fast and _mirror_usable() else None
    done: dict[str, tuple] = {}
    for i in [i for i, x in enumerate(normalized) if x is None]:
        s = strings[i]
        hit = done.get(s)
        if hit is None:
            p = _slow_one(s, validator)
            key = p.normalized.lower() if p.ok else None
            role = p.ok and p.local.lower().split("+", 1)[0] in roles
            hit = done[s] = (p.ok, p.normalized, p.domain, p.reason, p.message, key, role)
        ok[i], normalized[i], domains[i], reasons[i], messages[i], keys[i], is_role[i] = hit
    return {
        "ok": ok,
        "normalized": normalized,
        "domain": domains,
        "reason": reasons,
        "message": messages,
        "key": keys,
        "role": is_role,
    }


# ---------------------------------------------------------------- the columnar fast path
# The same ASCII fast path as _LOCAL_RE/_DOMAIN_RE, for RE2 (pyarrow.compute, C++, linear
# time), which has no lookaheads: instead of them, any string containing "--" is left to
# the Python path (that covers both "xn--" Punycode labels and RFC 5890 reserved
# "ab--" labels; it also leaves a few valid addresses with "--" to the slower path, which
# is only a cost). Anything this accepts contains no whitespace, so it is its own strip.
_RE2_ADDRESS = (
    rf"^[{_ATEXT}]+(?:\.[{_ATEXT}]+)*@"
    r"(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?\.)+"
    r"(?:[a-zA-Z0-9][a-zA-Z0-9-]{0,61})?[a-zA-Z]$"
)


#: below this many strings the pure-Python path is faster (Arrow compiles its regular
#: expressions on every call, about 1 ms)
_ARROW_MIN_ROWS = 1000


def _pyarrow():
    """``(pyarrow, pyarrow.compute)``, or None where pyarrow is not installed (then the
    pure-Python path does everything, with the same results)."""
    try:
        import pyarrow
        import pyarrow.compute
    except ImportError:  # pragma: no cover - pyarrow is a dependency
        return None
    return pyarrow, pyarrow.compute


class Columns(NamedTuple):
    """Verdicts for many strings as arrays (one entry per string), for :mod:`.validate`.

    ``domain_codes`` and ``key_codes`` are -1 where not ok. ``domains`` lists each
    distinct domain once, in order of first appearance (``domains[domain_codes[i]]``);
    two rows have the same key code exactly when their keys (see :func:`parse_columns`)
    are equal.
    """

    ok: np.ndarray
    normalized: np.ndarray  # object: '' where not ok
    domain_codes: np.ndarray
    domains: list
    key_codes: np.ndarray
    role: np.ndarray
    reason: np.ndarray  # object
    message: np.ndarray  # object


def _first_positions(codes: np.ndarray, k: int) -> np.ndarray:
    """Position of the first row with each code 0..k-1 (codes -1 are ignored)."""
    n = len(codes)
    first = np.full(k, n, dtype=np.intp)
    valid = codes >= 0
    np.minimum.at(first, codes[valid], np.flatnonzero(valid))
    return first


def _in_appearance_order(codes: np.ndarray, uniques: list) -> tuple[np.ndarray, list]:
    k = len(uniques)
    if k == 0:
        return codes, []
    order = np.argsort(_first_positions(codes, k), kind="stable")
    rank = np.empty(k, dtype=np.intp)
    rank[order] = np.arange(k)
    return np.where(codes >= 0, rank[codes.clip(0)], -1), [uniques[i] for i in order]


def _from_python(cols: dict[str, list]) -> Columns:
    ok = np.array(cols["ok"], dtype=bool)
    dom = np.array(cols["domain"], dtype=object)
    dom[~ok] = None
    dcodes, domains = pd.factorize(dom)
    keys = np.array(cols["key"], dtype=object)
    kcodes, _ = pd.factorize(keys)
    return Columns(
        ok=ok,
        normalized=np.array(cols["normalized"], dtype=object),
        domain_codes=dcodes.astype(np.intp),
        domains=list(domains),
        key_codes=kcodes.astype(np.intp),
        role=np.array(cols["role"], dtype=bool),
        reason=np.array(cols["reason"], dtype=object),
        message=np.array(cols["message"], dtype=object),
    )


def _role_regex(roles: frozenset) -> str | None:
    """An RE2 expression matching a lowercased fast-path address whose local part, or the
    part before its first "+", is in *roles* (as :func:`_fast_columns` decides)."""
    # a fast-path local part is dot-atom text, so other roles can never match it
    usable = sorted(r for r in roles if _LOCAL_RE.fullmatch(r))
    if not usable:
        return None

    def alternatives(names):
        # every character of dot-atom text is alphanumeric or ASCII punctuation, and RE2
        # takes a backslash before any ASCII punctuation as the literal character
        return "|".join("".join(c if c.isalnum() else "\\" + c for c in r) for r in names)

    plain = [r for r in usable if "+" not in r]
    tagged = [r for r in usable if "+" in r]
    parts = []
    if plain:
        parts.append(rf"^(?:{alternatives(plain)})(?:\+[^@]*)?@")
    if tagged:
        parts.append(rf"^(?:{alternatives(tagged)})@")
    return "|".join(parts)


def _arrow_columns(strings, roles: frozenset, pa, pc, strip: bool = False) -> Columns | None:
    """:func:`columns` with the ASCII fast path column-wise in Arrow (RE2, C++); None
    when Arrow cannot take the strings (e.g. lone surrogates), for the pure path."""
    n = len(strings)
    if not isinstance(strings, np.ndarray):
        values = np.empty(n, dtype=object)
        values[:] = strings
        strings = values
    try:
        arr = pa.array(strings, type=pa.string())
    except (ValueError, TypeError, pa.ArrowException):
        return None
    if not isinstance(arr, pa.Array):  # chunked: over 2 GB of text, left to Python
        return None
    fast = pc.and_(
        pc.match_substring_regex(arr, _RE2_ADDRESS),
        pc.invert(pc.match_substring(arr, "--")),
    )
    fast = pc.and_(fast, pc.less_equal(pc.binary_length(arr), _EMAIL_MAX_LENGTH))
    fast = pc.fill_null(fast, False)  # a None among the strings: the Python path's
    mask = fast.to_numpy(zero_copy_only=False)
    sub = arr.filter(fast)
    # ASCII only, so lowercasing the whole address is lower(local) "@" lower(domain): the
    # duplicate key, and the normalised address wherever the local part has no capital
    key = pc.ascii_lower(sub)
    parts = pc.split_pattern(key, "@", max_splits=1)
    domain = pc.list_element(parts, 1)
    encoded = domain.dictionary_encode()
    dvalues = encoded.dictionary.to_pylist()
    is_special = _special_use_check()
    special = np.array([is_special(d) for d in dvalues], dtype=bool)
    dcodes_fast = encoded.indices.to_numpy(zero_copy_only=False).astype(np.intp)
    if special.any():
        # RFC 6761 names are rare: hand those rows to the Python path and start over
        keep = ~special[dcodes_fast]
        mask[np.flatnonzero(mask)[~keep]] = False
        keep_arr = pa.array(keep)
        sub, key, parts = sub.filter(keep_arr), key.filter(keep_arr), parts.filter(keep_arr)
        domain = pc.list_element(parts, 1)
        encoded = domain.dictionary_encode()
        dvalues = encoded.dictionary.to_pylist()
        dcodes_fast = encoded.indices.to_numpy(zero_copy_only=False).astype(np.intp)
    fpos = np.flatnonzero(mask)
    # without a capital the address is its own normal form: keep the given string
    norm_fast = strings[fpos]
    ci = _CASE_INSENSITIVE
    for j in np.flatnonzero(pc.not_equal(sub, key).to_numpy(zero_copy_only=False)).tolist():
        # a capital somewhere: email-validator keeps the local part's case (except for
        # the RFC 2142 names) and lowercases the domain
        local, _, dom = norm_fast[j].partition("@")
        lowered = local.lower()
        norm_fast[j] = (lowered if lowered in ci else local) + "@" + dom.lower()
    role_rx = _role_regex(roles)
    if role_rx is None:
        role_fast = False
    else:
        role_fast = pc.match_substring_regex(key, role_rx).to_numpy(zero_copy_only=False)

    spos = np.flatnonzero(~mask)
    ok = mask.copy()
    normalized = np.full(n, "", dtype=object)
    normalized[fpos] = norm_fast
    role = np.zeros(n, dtype=bool)
    role[fpos] = role_fast
    reason = np.full(n, "", dtype=object)
    message = np.full(n, "", dtype=object)
    domain_codes = np.full(n, -1, dtype=np.intp)
    domain_codes[fpos] = dcodes_fast
    key_codes = np.full(n, -1, dtype=np.intp)
    slow_keys: list = []
    sok = spos[:0]
    fast_domains = dvalues
    if len(spos):
        todo = strings[spos].tolist()
        rest = _python_columns(strip_values(todo) if strip else todo, True, roles)
        s_ok = np.array(rest["ok"], dtype=bool)
        ok[spos] = s_ok
        normalized[spos] = np.array(rest["normalized"], dtype=object)
        role[spos] = rest["role"]
        reason[spos] = np.array(rest["reason"], dtype=object)
        message[spos] = np.array(rest["message"], dtype=object)
        sok = spos[s_ok]
        index = {d: i for i, d in enumerate(dvalues)}
        sdom = [d for d, good in zip(rest["domain"], rest["ok"], strict=True) if good]
        domain_codes[sok] = [index.setdefault(d, len(index)) for d in sdom]
        dvalues = list(index)
        slow_keys = [k for k in rest["key"] if k is not None]
    # the key (lowercased local part "@" lowercased domain) as a pair of codes: hashing
    # the local parts and the few domains apart is cheaper than hashing whole addresses
    # (keys split at their last "@": a quoted local part may hold one, a domain never)
    kdomains = {d: i for i, d in enumerate(fast_domains)}
    slow_locals, slow_kd = [], []
    for k in slow_keys:
        local, _, dom = k.rpartition("@")
        slow_locals.append(local)
        slow_kd.append(kdomains.setdefault(dom, len(kdomains)))
    locals_ = pa.concat_arrays([pc.list_element(parts, 0), pa.array(slow_locals, pa.string())])
    lcodes = locals_.dictionary_encode().indices.to_numpy(zero_copy_only=False)
    kd = np.concatenate([dcodes_fast, np.array(slow_kd, dtype=np.intp)])
    pair = lcodes.astype(np.int64) * max(len(kdomains), 1) + kd
    kcodes = np.unique(pair, return_inverse=True)[1].reshape(-1)
    key_codes[fpos] = kcodes[: len(fpos)]
    key_codes[sok] = kcodes[len(fpos) :]
    domain_codes, dvalues = _in_appearance_order(domain_codes, dvalues)
    return Columns(ok, normalized, domain_codes, dvalues, key_codes, role, reason, message)


def _arrow_modules(n: int, fast: bool, arrow: bool | None):
    """``(pyarrow, pyarrow.compute)`` when the Arrow path is to run, else None."""
    if arrow is None and n < _ARROW_MIN_ROWS:
        return None  # too few for Arrow's fixed cost (compiling its expressions)
    if not (fast and _fast_enabled()) or arrow is False:
        return None
    mods = _pyarrow()
    if mods is None and arrow:
        raise ImportError("pyarrow is needed for arrow=True")
    return mods


def columns(
    strings,
    *,
    fast: bool = True,
    roles: frozenset = frozenset(),
    arrow: bool | None = None,
    strip: bool = False,
) -> Columns:
    """Verdicts for already stripped strings, as arrays: :func:`parse_columns` for
    :mod:`.validate`, with the ASCII fast path run column-wise in Arrow when pyarrow is
    there and the strings are many (*arrow* None) or when asked for (True); False: the
    pure-Python path. The results are the same either way (tested).

    *strip*: the values are as given (any objects, a Series included) and are made
    stripped strings first, as :func:`strip_values` does.
    """
    if isinstance(strings, (pd.Series, pd.Index)):
        strings = strings.to_numpy(dtype=object)
    elif not isinstance(strings, np.ndarray):
        strings = list(strings)
    mods = _arrow_modules(len(strings), fast, arrow)
    if strip and not (
        mods is not None
        and isinstance(strings, np.ndarray)
        and strings.dtype == object
        and strings.ndim == 1
        and pd.api.types.infer_dtype(strings, skipna=False) in ("string", "empty")
    ):
        strings, strip = strip_values(strings), False
    # else: all strings; the fast path takes none with surrounding whitespace, and the
    # rest are stripped before they go to the Python path
    if mods is not None:
        out = _arrow_columns(strings, roles, *mods, strip=strip)
        if out is not None:
            return out
    if strip:
        strings = strip_values(strings)
    return _from_python(_python_columns(list(strings), fast, roles))


def parse_columns(
    strings: Sequence[str], *, fast: bool = True, roles: frozenset = frozenset(), arrow=None
) -> dict[str, list]:
    """Verdicts for already stripped strings, as columns (one entry per string).

    Returns ``{"ok", "normalized", "domain", "reason", "message", "key", "role"}``
    lists ('' where a value does not apply). ``key`` is the normalised address
    lowercased (for duplicate detection; None when not ok); ``role`` whether the
    lowercased local part without a "+tag" is in *roles*. The local part is
    ``normalized[:normalized.rindex("@")]``.

    The cheap ASCII check runs per string (column-wise in Arrow's RE2 for many strings
    when pyarrow is installed, see :func:`columns`); each distinct string it does not
    take, and each distinct domain, is validated once by email-validator's own code.
    *fast=False* sends every string to email-validator (the reference the fast path is
    tested against).
    """
    strings = list(strings)
    mods = _arrow_modules(len(strings), fast, arrow)
    c = _arrow_columns(strings, roles, *mods) if mods is not None else None
    if c is None:
        return _python_columns(strings, fast, roles)
    ok = c.ok.tolist()
    normalized = c.normalized.tolist()
    domains = [*c.domains, ""]
    return {
        "ok": ok,
        "normalized": normalized,
        "domain": [domains[i] for i in c.domain_codes.tolist()],
        "reason": c.reason.tolist(),
        "message": c.message.tolist(),
        "key": [x.lower() if good else None for x, good in zip(normalized, ok, strict=True)],
        "role": c.role.tolist(),
    }


def parse_unique(strings: Sequence[str], *, fast: bool = True) -> list[Parsed]:
    """Like :func:`parse_columns`, as one :class:`Parsed` per string."""
    c = parse_columns(strings, fast=fast)
    return [
        Parsed(ok, norm, norm[: norm.rindex("@")] if ok else "", dom, reason, message)
        for ok, norm, dom, reason, message in zip(
            c["ok"], c["normalized"], c["domain"], c["reason"], c["message"], strict=True
        )
    ]


def _as_text(v) -> str:
    if v is None or v is pd.NA or v is pd.NaT or (isinstance(v, float) and v != v):
        return ""
    if isinstance(v, bytes):
        return v.decode("utf-8", "replace").strip()
    return str(v).strip()


def strip_values(values) -> list[str]:
    """Inputs as stripped strings: '' for a missing value (None, NaN, NA), ``str(v)`` for
    a non-string value (a number from a spreadsheet), bytes decoded as UTF-8."""
    if isinstance(values, (pd.Series, pd.Index)):
        values = values.to_numpy(dtype=object)
    return [v.strip() if type(v) is str else _as_text(v) for v in values]


SYNTAX_COLUMNS = {
    "normalized": "string",
    "local": "string",
    "domain": "string",
    "ok": "bool",
    "reason": "string",
    "message": "string",
}


def check(values: Iterable, *, fast: bool = True) -> pd.DataFrame:
    """Syntax verdicts for many addresses (surrounding whitespace stripped first).

    Returns a DataFrame with the input's index (a Series) or a RangeIndex and the
    columns ``normalized``, ``local``, ``domain`` (IDNA/ASCII), ``ok``, ``reason``
    (``''``, ``empty``, ``syntax``, ``special_use_domain``) and ``message``
    (email-validator's explanation); '' where a value does not apply.
    """
    if isinstance(values, pd.Series):
        index = values.index
    else:
        values = list(values)
        index = pd.RangeIndex(len(values))
    cols = parse_columns(strip_values(values), fast=fast)
    cols["local"] = [
        norm[: norm.rindex("@")] if ok else ""
        for ok, norm in zip(cols["ok"], cols["normalized"], strict=True)
    ]
    return pd.DataFrame({name: cols[name] for name in SYNTAX_COLUMNS}, index=index).astype(
        SYNTAX_COLUMNS
    )


__all__ = [
    "Columns",
    "Parsed",
    "check",
    "columns",
    "parse",
    "parse_columns",
    "parse_unique",
    "strip_values",
]
