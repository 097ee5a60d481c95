"""Syntax: the fast path must give exactly email-validator's verdict and normal form."""

from __future__ import annotations

import email_validator
import pandas as pd
import pytest
from email_validator import EmailNotValidError, validate_email
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from listcare.address import lists, syntax

ROLES = lists.role_local_parts()


def reference(s: str):
    """email-validator on the stripped string: (ok, normalized, local, ascii domain)."""
    try:
        v = validate_email(s.strip(), check_deliverability=False)
    except EmailNotValidError:
        return (False, "", "", "")
    return (True, v.normalized, v.local_part, v.ascii_domain)


def ours(s: str):
    p = syntax.parse(s)
    c = syntax.parse_columns([s.strip()], roles=ROLES)
    # the duplicate key and the role flag computed on the way agree with their definitions
    if p.ok:
        assert c["key"] == [p.normalized.lower()]
        assert c["role"] == [lists.is_role(p.local)]
    else:
        assert c["key"] == [None] and c["role"] == [False]
    return (p.ok, p.normalized, p.local, p.domain)


def fast_only(s: str):
    """The fast path alone: None when it hands the string to email-validator."""
    norm, dom, _, _ = syntax._fast_columns([s.strip()])
    if norm[0] is None:
        return None
    return (True, norm[0], norm[0][: norm[0].rindex("@")], dom[0])


# ---------------------------------------------------------------- strategies
ATEXT = "abcxyzABCXYZ0189_!#$%&'*+-/=?^`{|}~"
HOST = "abcxnzXNZ019-"
special_tlds = st.sampled_from(
    [
        "com",
        "de",
        "COM",
        "local",
        "localhost",
        "test",
        "onion",
        "invalid",
        "arpa",
        "example",
        "123",
        "c0m",
        "x1",
        "a",
        "co-",
        "-de",
        "xn--p1ai",
        "museum",
    ]
)


@st.composite
def near_valid(draw):
    """Addresses close to valid: the edge cases of dots, hyphens, lengths and TLDs."""
    local = draw(st.text(ATEXT + ".", min_size=0, max_size=70))
    if draw(st.booleans()):
        local = draw(
            st.sampled_from(
                [
                    "info",
                    "INFO",
                    "Postmaster",
                    "Sales",
                    "john.doe",
                    "Vertrieb+news",
                    "no-reply",
                    "a",
                    "x" * 64,
                    "x" * 65,
                ]
            )
        )
    labels = draw(
        st.lists(
            st.one_of(
                st.text(HOST, min_size=0, max_size=12),
                st.sampled_from(
                    [
                        "xn--mnchen-3ya",
                        "XN--mnchen-3ya",
                        "ab--c",
                        "xn--",
                        "a" * 63,
                        "b" * 64,
                        "gmx",
                        "web",
                        "t-online",
                        "localhost",
                        "xn-a",
                    ]
                ),
            ),
            min_size=0,
            max_size=5,
        )
    )
    labels.append(draw(special_tlds))
    domain = ".".join(labels)
    if draw(st.integers(0, 9)) == 0:
        # pad toward the 253/254 limits with 63-character labels
        k = draw(st.integers(1, 4))
        domain = ".".join(["p" * 63] * k + [domain])
    ws = draw(st.sampled_from(["", " ", "\t", "\n", "\u00a0", " \r\n"]))
    return ws + local + "@" + domain + draw(st.sampled_from(["", " ", "\n", "."]))


hostile_alphabet = st.sampled_from(
    list('aZ09.-_@"\\<>[]() ,;:+')
    + [
        "\t",
        "\n",
        "\u00a0",
        "\u200b",
        "\u0301",
        "é",
        "ß",
        "ü",
        "\uff20",
        "\ufe6b",
        "\u3002",
        "\uff0e",
        "ｘ",
        "\u202e",
        "\ud7ff",
        "😀",
        "İ",
        "K",
        "ﬁ",
        "Ⅷ",
    ]
)


@st.composite
def hostile(draw):
    """Unicode, quotes, display names, IP literals, whitespace, fullwidth look-alikes."""
    parts = draw(
        st.lists(
            st.one_of(
                st.text(hostile_alphabet, max_size=8),
                st.sampled_from(
                    [
                        '"quoted"',
                        '"a b"',
                        "[127.0.0.1]",
                        "[IPv6:::1]",
                        "Name <",
                        ">",
                        "xn--",
                        "@",
                        "..",
                        ".-",
                        "münchen",
                        "ÄÖÜ",
                        "gmail.com",
                        "\u0085",
                    ]
                ),
            ),
            max_size=6,
        )
    )
    return "".join(parts)


# ---------------------------------------------------------------- properties
@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(near_valid())
@example("Info@Example.COM")
@example(" john.doe@gmx.de ")
@example("a@" + "b" * 63 + ".de")
@example("a@" + "b" * 64 + ".de")
@example("x" * 64 + "@example.com")
@example("x" * 65 + "@example.com")
@example("a@" + ".".join(["c" * 63] * 3) + "." + "d" * 59 + ".de")
@example("a@ab--cd.com")
@example("a@abxn--c.com")
@example("a@x.123")
@example("a@foo.localhost")
@example("a@foo.LOCAL")
def test_fast_path_equals_email_validator_near_valid(s):
    assert ours(s) == reference(s)
    f = fast_only(s)
    if f is not None:
        assert f == reference(s)


@st.composite
def international(draw):
    """Mostly valid internationalised addresses: the memoised mirror's common case."""
    letters = st.sampled_from(list("abcäöüßéèñøåçşğıİ日本中文кирилл") + ["ａ", "Ⅷ", "ﬁ", "K"])
    local = draw(st.text(letters, min_size=1, max_size=10))
    if draw(st.booleans()):
        local = draw(st.text(ATEXT, min_size=1, max_size=10))
    label = draw(st.text(letters, min_size=1, max_size=12))
    sep = draw(st.sampled_from([".", ".", "\u3002", "\uff0e"]))
    tld = draw(st.sampled_from(["de", "com", "DE", "рф", "xn--p1ai", "test", "local"]))
    return local + "@" + label + sep + tld


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(hostile(), international(), st.text(max_size=40)))
@example('"john doe"@example.com')
@example("John <john@example.com>")
@example("a@[127.0.0.1]")
@example("a\uff20b.com")
@example("j@xn--mller-kva.de")
@example("J@MÜLLER.de")
@example("é@example.com")
@example("a@b\u3002com")
@example("")
@example("   ")
def test_fast_path_equals_email_validator_hostile(s):
    assert ours(s) == reference(s)
    f = fast_only(s)
    if f is not None:
        assert f == reference(s)


def test_fast_path_takes_the_common_case():
    """The property tests are only meaningful if the fast path really answers."""
    plain = ["john.doe@example.com", "Info@GMX.DE", "a+b@sub.t-online.de", "x_y@1und1.de"]
    assert syntax._fast_columns(plain, ROLES)[3] == [False, True, False, False]
    norm, _, _, _ = syntax._fast_columns(plain)
    assert None not in norm
    assert norm[1] == "info@gmx.de"  # RFC 2142 names are lowercased, like email-validator
    assert norm[2] == "a+b@sub.t-online.de"
    # ...and hands everything unusual to email-validator
    odd = ['"a b"@x.com', "a@xn--mnchen-3ya.de", "a@x.local", "ü@x.de", "a@[1.2.3.4]"]
    assert syntax._fast_columns(odd)[0] == [None] * 5


def test_check_validates_each_distinct_string_once_and_keeps_index():
    s = pd.Series([" A@x.org", "A@x.org", "nope", None, "a@X.ORG"], index=[10, 11, 12, 13, 14])
    out = syntax.check(s)
    assert list(out.index) == [10, 11, 12, 13, 14]
    assert out["normalized"].tolist()[:2] == ["A@x.org", "A@x.org"]
    assert out["normalized"][14] == "a@x.org"  # local part case is kept (email-validator)
    assert out["ok"].tolist() == [True, True, False, False, True]
    assert out["reason"].tolist() == ["", "", "syntax", "empty", ""]
    assert "@-sign" in out["message"][12]


def test_special_use_domains_get_their_own_reason():
    for s in ["a@host.localhost", "a@printer.local", "a@x.onion", "a@x.test", "a@1.in-addr.arpa"]:
        p = syntax.parse(s)
        assert (p.ok, p.reason) == (False, "special_use_domain"), s


def test_strict_mode_disables_fast_path(monkeypatch):
    # email-validator's module-level settings are honoured (its documented API)
    monkeypatch.setattr(email_validator, "STRICT", True)
    assert syntax.parse("x" * 65 + "@example.com").ok is False
    monkeypatch.setattr(email_validator, "STRICT", False)
    assert syntax.parse("x" * 65 + "@example.com").ok is True


@pytest.mark.parametrize("fast", [True, False])
def test_fast_and_reference_agree_on_a_messy_list(fast):
    data = [
        "john@example.com",
        " John@Example.com",
        "bad",
        "a@@b.de",
        "müller@münchen.de",
        "info@firma.de",
        "x@y",
        "1@2.3",
    ]
    out = syntax.check(data, fast=fast)
    assert out["ok"].tolist() == [reference(s)[0] for s in data]
    assert out["normalized"].fillna("").tolist() == [reference(s)[1] for s in data]


def test_an_unmodelled_email_validator_version_uses_validate_email_itself(monkeypatch):
    monkeypatch.setattr(email_validator, "__version__", "3.0.0")
    assert not syntax._fast_enabled() and not syntax._mirror_usable()
    assert ours("Info@Example.COM") == reference("Info@Example.COM")
    assert ours("J@MÜLLER.de") == reference("J@MÜLLER.de")


# ---------------------------------------------------------------- the columnar path
def _decoded(c: syntax.Columns) -> dict:
    """A Columns as plain lists, its key codes as "position of the first row with the
    same key" (the numbering of codes is free; the grouping is what counts)."""
    domains = [*c.domains, ""]
    keys = c.key_codes.tolist()
    first: dict = {}
    return {
        "ok": c.ok.tolist(),
        "normalized": c.normalized.tolist(),
        "domain": [domains[i] for i in c.domain_codes.tolist()],
        "domains": list(c.domains),
        "group": [first.setdefault(k, i) if k >= 0 else -1 for i, k in enumerate(keys)],
        "role": c.role.tolist(),
        "reason": c.reason.tolist(),
        "message": c.message.tolist(),
    }


def agree(strings: list[str]) -> None:
    """The Arrow path, the pure-Python path and email-validator alone (fast=False) give
    the same columns, messages included; keys and roles match their definitions."""
    arrow = _decoded(syntax.columns(strings, roles=ROLES, arrow=True))
    pure = _decoded(syntax.columns(strings, roles=ROLES, arrow=False))
    ref = _decoded(syntax.columns(strings, roles=ROLES, fast=False))
    assert arrow == pure
    assert arrow == ref
    # the grouping is the lowercased normalised address's, and roles are lists.is_role's
    by_key: dict = {}
    for i, (ok, norm) in enumerate(zip(arrow["ok"], arrow["normalized"], strict=True)):
        want = by_key.setdefault(norm.lower(), i) if ok else -1
        assert arrow["group"][i] == want
        assert arrow["role"][i] == (ok and lists.is_role(norm[: norm.rindex("@")]))
    # domains: each once, in order of first appearance
    seen = list(dict.fromkeys(d for d, ok in zip(arrow["domain"], arrow["ok"], strict=True) if ok))
    assert arrow["domains"] == seen


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.one_of(near_valid(), hostile(), international()), max_size=25))
def test_arrow_and_python_paths_equal_email_validator_on_lists(strings):
    stripped = [s.strip() for s in strings]
    # duplicates by case and whitespace, across the fast and the slow path
    agree(stripped + [s.upper() for s in stripped] + [" " + s for s in stripped[:3]])


def test_arrow_path_takes_the_common_case_and_edge_cases_agree():
    plain = ["john.doe@example.com", "Info@GMX.DE", "a+b@sub.t-online.de", "x_y@1und1.de"]
    pa, pc = syntax._pyarrow()
    c = syntax._arrow_columns(plain, ROLES, pa, pc)
    assert c is not None and c.ok.all() and c.reason.tolist() == [""] * 4
    assert c.normalized.tolist()[1] == "info@gmx.de"
    agree(
        plain
        + [
            "Postmaster@Example.COM",  # an RFC 2142 name: lowercased
            "Vertrieb+News@firma.de",  # a role with a tag
            "a--b@example.com",  # "--": left to the Python path, still valid
            "a@ab--cd.com",
            "a@xn--mnchen-3ya.de",
            "a@x.local",
            "a@" + "b" * 63 + ".de",
            "a@" + "b" * 64 + ".de",
            "x" * 64 + "@example.com",
            "a@" + ".".join(["c" * 63] * 3) + "." + "d" * 59 + ".de",  # 254 characters
            "a@" + ".".join(["c" * 63] * 3) + "." + "d" * 60 + ".de",  # 255
            "a@b.de\n",
            "a@b.de ",
            "",
            "a@b.123",
            "A@B.DE",
            "a@b.de",
            "a@localhost",
            "j@müller.de",
            "J@XN--MLLER-KVA.DE",
        ]
    )


def test_roles_with_regex_characters_and_tags():
    roles = frozenset({"a+b", "x.y", "o'neil", "ü", "c*", "info"})
    strings = [
        "a+b@x.de",
        "a+b+c@x.de",
        "a@x.de",
        "x.y+z@x.de",
        "xzy@x.de",
        "O'Neil@x.de",
        "c*@x.de",
        "cc@x.de",
        "c@x.de",
        "ü@x.de",
        "INFO+a+b@x.de",
        "infos@x.de",
    ]
    want = [True, False, False, True, False, True, True, False, False, True, True, False]
    for arrow in (True, False):
        assert syntax.parse_columns(strings, roles=roles, arrow=arrow)["role"] == want


def test_raw_values_are_stripped_like_strip_values():
    raw = [" a@b.de", "A@B.DE\t", None, float("nan"), pd.NA, 42, b"x@y.de ", "", "\u00a0c@d.de"]
    for values in (raw, pd.Series(raw, dtype=object), pd.Series(["  a@b.de", "x"])):
        want = _decoded(syntax.columns(syntax.strip_values(values), roles=ROLES, arrow=False))
        for arrow in (True, False):
            got = _decoded(syntax.columns(values, roles=ROLES, arrow=arrow, strip=True))
            assert got == want


def test_strings_arrow_cannot_take_go_the_pure_path():
    strings = ["a@b.de", "x\ud800@b.de", "b@b.de"]  # a lone surrogate: not UTF-8
    pa, pc = syntax._pyarrow()
    assert syntax._arrow_columns(strings, ROLES, pa, pc) is None
    agree(strings)


@settings(max_examples=500, deadline=None)
@given(st.text("aAzZ09.-", max_size=30))
@example("-a.de")
@example("a.de-")
@example("a..de")
@example("a.-de")
@example("A.DE")
@example("b" * 254)
def test_mirror_domain_shortcut_equals_email_validator(domain):
    from email_validator import syntax as evs

    try:
        want = (evs.validate_email_domain_name(domain), None)
    except EmailNotValidError as exc:
        want = (None, str(exc))
    assert syntax._Mirror()._domain(domain) == want


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(near_valid(), hostile(), international()))
def test_mirror_quick_answer_equals_email_validator(s):
    s = s.strip()
    quick = syntax._Mirror().quick(s)
    if quick is not None:
        assert quick == syntax._slow_one(s)  # validate_email itself, message included


def test_no_character_decomposes_to_one_starting_with_an_at_sign():
    # Mirror.quick relies on it: split_email's NFC test then never moves the first "@"
    import sys
    import unicodedata

    assert not [
        hex(i)
        for i in range(sys.maxunicode + 1)
        if unicodedata.decomposition(chr(i)).startswith("0040")
    ]
