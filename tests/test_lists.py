"""Curated lists: disposable, role, free-mail, typo suggestions."""

from __future__ import annotations

import csv

import pytest
from disposable_email_domains import blocklist

from listcare.address import lists


# ---------------------------------------------------------------- disposable
def test_disposable_uses_the_package_blocklist():
    assert "mailinator.com" in blocklist
    assert lists.is_disposable("mailinator.com")
    assert lists.is_disposable("MAILINATOR.COM")
    assert not lists.is_disposable("gmx.de")
    assert not lists.is_disposable("example-company.de")


def test_disposable_matches_parent_domains_but_not_the_tld():
    assert lists.is_disposable("eu.mailinator.com")
    assert lists.is_disposable("a.b.mailinator.com")
    assert not lists.is_disposable("com")
    assert not lists.is_disposable("mailinator.com.example.de")


def test_allowlist_wins_over_a_blocked_parent():
    block = {"throwaway.example"}
    allow = {"keep.throwaway.example"}
    assert lists.is_disposable("x.throwaway.example", blocklist=block, allowlist=allow)
    assert not lists.is_disposable("keep.throwaway.example", blocklist=block, allowlist=allow)
    assert not lists.is_disposable("a.keep.throwaway.example", blocklist=block, allowlist=allow)
    # an allowlisted name that the blocklist also lists exactly is not disposable
    assert not lists.is_disposable(
        "both.example", blocklist={"both.example"}, allowlist={"both.example"}
    )


# ---------------------------------------------------------------- role / freemail
@pytest.mark.parametrize(
    "local",
    [
        "info",
        "INFO",
        "Sales",
        "kontakt",
        "vertrieb",
        "noreply",
        "no-reply",
        "postmaster",
        "abuse",
        "webmaster",
        "support",
        "buchhaltung",
        "info+newsletter",
        "Rechnung",
    ],
)
def test_role_local_parts(local):
    assert lists.is_role(local)


@pytest.mark.parametrize("local", ["john.doe", "anna", "informatik", "salesman", "j.info"])
def test_personal_local_parts_are_not_roles(local):
    assert not lists.is_role(local)


@pytest.mark.parametrize(
    "domain",
    [
        "gmx.de",
        "web.de",
        "t-online.de",
        "freenet.de",
        "gmx.net",
        "posteo.de",
        "gmail.com",
        "GMAIL.COM",
        "outlook.com",
        "icloud.com",
    ],
)
def test_freemail(domain):
    assert lists.is_freemail(domain)


def test_company_domains_are_not_freemail():
    assert not lists.is_freemail("siemens.de")
    assert not lists.is_freemail("mail.gmx.de")  # exact match only


def test_data_files_are_clean():
    # loaded once, lowercase, no duplicates hiding typos; typo targets are popular domains
    assert lists.role_local_parts() is lists.role_local_parts()
    for name in lists.role_local_parts() | lists.freemail_domains():
        assert name == name.lower() and " " not in name
    popular = set(lists.popular_domains())
    for typo, correct in lists.known_typos().items():
        assert correct in popular, correct
        assert typo not in popular, typo
        assert typo not in lists.freemail_domains(), typo


# ---------------------------------------------------------------- typos
def test_typo_distance_weights_common_slips_lower():
    assert lists.typo_distance("gmail.com", "gmail.com") == 0
    assert lists.typo_distance("gmial.com", "gmail.com") == pytest.approx(0.75)  # swap
    assert lists.typo_distance("gmaik.com", "gmail.com") == pytest.approx(0.75)  # k next to l
    assert lists.typo_distance("gmaip.com", "gmail.com") == pytest.approx(0.75)  # p next to l
    assert lists.typo_distance("gmaiq.com", "gmail.com") == pytest.approx(1.0)  # far key
    assert lists.typo_distance("gmaill.com", "gmail.com") == pytest.approx(0.75)  # doubled
    assert lists.typo_distance("abc", "xyz123", limit=2) > 2


def test_typo_distance_is_symmetric_on_plain_edits():
    for a, b in [("web.de", "wev.de"), ("gmx.net", "gmx.nett"), ("yahoo.com", "yaho.com")]:
        assert lists.typo_distance(a, b) == pytest.approx(lists.typo_distance(b, a))


def test_real_domain_with_mail_host_is_never_corrected():
    for d in ["mac.com", "comcast.com", "gmx.com", "web.com", "gm.com", "hotmail.fr"]:
        assert lists.suggest_domain(d, mail_host=True) == ""
        assert lists.suggest_domain(d, mail_host=None) == ""


def test_dead_near_miss_is_corrected_and_known_typo_always():
    assert lists.suggest_domain("wev.de", mail_host=False) == "web.de"
    assert lists.suggest_domain("wev.de", mail_host=None) == ""  # no DNS answer: no guess
    assert lists.suggest_domain("gmial.com", mail_host=True) == "gmail.com"  # squatted
    assert lists.suggest_domain("gmxde.de", mail_host=False) == "gmx.de"  # dot left out


def test_ambiguous_near_miss_gets_no_suggestion():
    # one slip from both gmx.net and gmx.de
    assert lists.suggest_domain("gmx.ne", mail_host=False) == ""


def test_labelled_typo_set_precision(fixtures):
    """The labelled set (benchmarks/eval_typos.py reports the same end to end)."""
    rows = list(csv.DictReader((fixtures / "typos.csv").open(encoding="utf-8")))
    assert len(rows) >= 100
    made = correct = expected = 0
    for r in rows:
        got = lists.suggest_domain(
            r["domain"], mail_host={"yes": True, "no": False}[r["mail_host"]]
        )
        made += bool(got)
        expected += bool(r["expected"])
        correct += bool(got) and got == r["expected"]
    assert correct / made >= 0.95
    assert correct / expected >= 0.9
