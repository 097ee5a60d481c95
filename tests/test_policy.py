"""The suppression policy on hand-built event tables: every rule and its edges."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from listcare import schema
from listcare.exceptions import ConfigError, InputError
from listcare.policy import (
    DEFAULT_POLICY,
    Policy,
    address_key,
    block_alerts,
    carry_since,
    decide,
    load_policy,
)

AS_OF = "2026-11-27"


def events(*rows) -> pd.DataFrame:
    """rows: (recipient, kind, timestamp[, reason]) -> an events table with ids/evidence."""
    recs = []
    for i, row in enumerate(rows):
        recipient, kind, ts, *rest = row
        recs.append(
            {
                "event_id": f"ev{i:03d}",
                "timestamp": ts,
                "recipient": recipient,
                "kind": kind,
                "reason": rest[0]
                if rest
                else {"hard": "userunknown", "soft": "mailboxfull"}.get(kind, ""),
                "diagnostic": "550 5.1.1 unknown user" if kind == "hard" else "",
                "remote_mta": rest[1] if len(rest) > 1 else "mx.example.org",
                "source": "mail.log",
                "position": i + 1,
            }
        )
    df = pd.DataFrame(recs)
    df["timestamp"] = pd.to_datetime(df["timestamp"], utc=True, format="ISO8601")
    return schema.coerce(df, schema.EVENT_COLUMNS)


def one(result: pd.DataFrame, address: str) -> pd.Series:
    rows = result[result["address"] == address]
    assert len(rows) == 1, address
    return rows.iloc[0]


def day(s: str) -> pd.Timestamp:
    return pd.Timestamp(s, tz="UTC")


# =========================================================================== immediate rules
def test_hard_bounce_suppresses_at_once_with_evidence():
    ev = events(("a@x.de", "delivered", "2026-03-01"), ("a@x.de", "hard", "2026-05-02T10:00"))
    r = one(decide(ev, as_of=AS_OF), "a@x.de")
    assert (r.decision, r.rule) == ("suppress", "hard")
    assert r.since == day("2026-05-02T10:00")
    assert "Hard bounce on 2026-05-02" in r.reason and "userunknown" in r.reason
    assert "\n" not in r.reason
    evidence = json.loads(r.evidence)
    assert evidence == [
        {
            "event_id": "ev001",
            "kind": "hard",
            "timestamp": "2026-05-02T10:00:00Z",
            "source": "mail.log",
            "position": 2,
        }
    ]
    assert r.hard_bounces == 1


def test_a_delivery_after_a_hard_bounce_clears_it():
    ev = events(("a@x.de", "hard", "2026-05-02"), ("a@x.de", "delivered", "2026-05-03"))
    r = one(decide(ev, as_of=AS_OF), "a@x.de")
    assert r.decision == "keep" and r.hard_bounces == 0


@pytest.mark.parametrize("kind,rule", [("complaint", "complaint"), ("unsubscribe", "unsubscribe")])
def test_complaint_and_unsubscribe_suppress_even_after_a_delivery(kind, rule):
    ev = events(("a@x.de", kind, "2026-05-02"), ("a@x.de", "delivered", "2026-06-01"))
    r = one(decide(ev, as_of=AS_OF), "a@x.de")
    assert (r.decision, r.rule, r.since) == ("suppress", rule, day("2026-05-02"))


@pytest.mark.parametrize("kind", ["deferred", "auto_reply", "delivered", "block"])
def test_kinds_that_never_suppress(kind):
    ev = events(*[("a@x.de", kind, f"2026-11-{d:02d}") for d in range(1, 25)])
    r = one(decide(ev, as_of=AS_OF), "a@x.de")
    assert r.decision == "keep" and r.rule == "" and r.reason == ""


def test_precedence_unsubscribe_over_complaint_over_hard():
    ev = events(
        ("a@x.de", "hard", "2026-01-01"),
        ("a@x.de", "complaint", "2026-02-01"),
        ("a@x.de", "unsubscribe", "2026-03-01"),
        ("b@x.de", "hard", "2026-01-01"),
        ("b@x.de", "complaint", "2026-02-01"),
    )
    res = decide(ev, as_of=AS_OF)
    assert one(res, "a@x.de").rule == "unsubscribe"
    assert one(res, "b@x.de").rule == "complaint"


# =========================================================================== soft
def soft_days(addr, *days, reason="mailboxfull"):
    return [(addr, "soft", d, reason) for d in days]


def test_soft_three_days_spanning_exactly_14_days_suppresses():
    ev = events(*soft_days("a@x.de", "2026-03-01T08:00", "2026-03-08T09:00", "2026-03-15T07:00"))
    r = one(decide(ev, as_of=AS_OF), "a@x.de")
    assert (r.decision, r.rule) == ("suppress", "soft")
    assert r.since == day("2026-03-15T07:00")  # the bounce that completed the rule
    assert r.reason.startswith("3 soft bounces on different days from 2026-03-01 to 2026-03-15")
    assert [e["event_id"] for e in json.loads(r.evidence)] == ["ev000", "ev001", "ev002"]


def test_soft_spanning_13_days_keeps():
    ev = events(*soft_days("a@x.de", "2026-03-01", "2026-03-08", "2026-03-14T23:59"))
    r = one(decide(ev, as_of=AS_OF), "a@x.de")
    assert r.decision == "keep" and r.soft_days == 3


def test_soft_bounces_on_the_same_day_count_once():
    ev = events(*soft_days("a@x.de", "2026-03-01T01:00", "2026-03-01T23:00", "2026-03-15"))
    r = one(decide(ev, as_of=AS_OF), "a@x.de")
    assert r.decision == "keep" and r.soft_days == 2
    ev2 = events(
        *soft_days("a@x.de", "2026-03-01T01:00", "2026-03-01T23:00", "2026-03-15", "2026-03-20")
    )
    r2 = one(decide(ev2, as_of=AS_OF), "a@x.de")
    assert r2.rule == "soft" and r2.since == day("2026-03-20")
    assert len(json.loads(r2.evidence)) == 3  # one per day


def test_a_delivery_in_between_resets_the_soft_count():
    ev = events(
        *soft_days("a@x.de", "2026-03-01", "2026-03-08"),
        ("a@x.de", "delivered", "2026-03-10"),
        *soft_days("a@x.de", "2026-03-15", "2026-03-22"),
    )
    r = one(decide(ev, as_of=AS_OF), "a@x.de")
    assert r.decision == "keep" and r.soft_days == 2  # only the two after the delivery
    more = events(
        *soft_days("a@x.de", "2026-03-01", "2026-03-08"),
        ("a@x.de", "delivered", "2026-03-10"),
        *soft_days("a@x.de", "2026-03-15", "2026-03-22", "2026-03-29"),
    )
    r = one(decide(more, as_of=AS_OF), "a@x.de")
    assert r.rule == "soft" and r.since == day("2026-03-29")
    assert "from 2026-03-15 to 2026-03-29" in r.reason


def test_a_delivery_later_on_the_same_day_resets_but_an_earlier_one_does_not():
    base = soft_days("a@x.de", "2026-03-01T10:00", "2026-03-08T10:00", "2026-03-15T10:00")
    later = events(*base, ("a@x.de", "delivered", "2026-03-15T12:00"))
    assert one(decide(later, as_of=AS_OF), "a@x.de").decision == "keep"
    earlier = events(("a@x.de", "delivered", "2026-03-01T09:00"), *base)
    assert one(decide(earlier, as_of=AS_OF), "a@x.de").rule == "soft"


def test_deferred_and_block_do_not_count_as_soft():
    ev = events(
        ("a@x.de", "deferred", "2026-03-01"),
        ("a@x.de", "block", "2026-03-08"),
        ("a@x.de", "soft", "2026-03-15"),
    )
    assert one(decide(ev, as_of=AS_OF), "a@x.de").decision == "keep"


def test_a_policy_change_applies_retroactively_and_reruns_are_identical():
    ev = events(*soft_days("a@x.de", "2026-03-01", "2026-03-05"))
    first = decide(ev, as_of=AS_OF)
    again = decide(ev, as_of=AS_OF)
    pd.testing.assert_frame_equal(first, again)
    assert one(first, "a@x.de").decision == "keep"
    strict = load_policy(soft_bounces=2, soft_min_span_days=3)
    r = one(decide(ev, as_of=AS_OF, policy=strict), "a@x.de")
    assert (r.rule, r.since) == ("soft", day("2026-03-05"))
    off = load_policy(hard=False)
    hard = events(("a@x.de", "hard", "2026-03-01"))
    assert one(decide(hard, as_of=AS_OF, policy=off), "a@x.de").decision == "keep"


def test_events_after_as_of_are_ignored():
    ev = events(("a@x.de", "hard", "2026-12-01"), *soft_days("b@x.de", "2026-03-01", "2026-03-08"))
    res = decide(ev, as_of=AS_OF)
    assert "a@x.de" not in set(res["address"])  # not known yet on as_of
    listed = decide(ev, contacts=pd.DataFrame({"email": ["a@x.de"]}), as_of=AS_OF)
    assert one(listed, "a@x.de").decision == "keep"
    assert one(decide(ev, as_of="2026-12-02"), "a@x.de").decision == "suppress"


# =========================================================================== blocks
def test_blocks_never_suppress_and_are_reported_per_provider():
    ev = events(
        ("a@gmail.com", "block", "2026-11-20", "blocked", "gmail-smtp-in.l.google.com"),
        ("b@gmail.com", "block", "2026-11-21", "blocked", "gmail-smtp-in.l.google.com"),
        ("b@gmail.com", "block", "2026-11-22", "spamdetected", "gmail-smtp-in.l.google.com"),
        ("c@web.de", "block", "2026-11-25", "policyviolation", ""),
        ("d@web.de", "block", "2025-01-01", "blocked", ""),  # outside the 30-day window
    )
    res = decide(ev, as_of=AS_OF)
    assert set(res["decision"]) == {"keep"}
    assert one(res, "b@gmail.com").blocks == 2
    alerts = block_alerts(ev, as_of=AS_OF)
    assert alerts["provider"].tolist() == ["gmail-smtp-in.l.google.com", "web.de"]
    assert alerts["blocks"].tolist() == [3, 1]
    assert alerts["addresses"].tolist() == [2, 1]
    assert alerts.loc[0, "reason"] == "blocked"
    assert res.attrs["blocks"][0]["provider"] == "gmail-smtp-in.l.google.com"


# =========================================================================== validation
def validation(*rows) -> pd.DataFrame:
    recs = [
        {
            "email": email,
            "normalized": email.strip().lower(),
            "domain": email.rsplit("@", 1)[-1],
            "status": status,
            "reason": reason,
            "detail": f"detail for {reason}" if reason else "",
            "is_disposable": reason == "disposable",
            "is_role": reason == "role",
            "is_freemail": False,
        }
        for email, status, reason in rows
    ]
    return schema.coerce(pd.DataFrame(recs), schema.VALIDATION_COLUMNS)


def test_validation_invalid_suppresses_unknown_keeps_and_flags():
    v = validation(
        ("syn@@x.de", "invalid", "syntax"),
        ("a@nxdomain.example", "invalid", "domain_not_found"),
        ("a@nullmx.example", "invalid", "null_mx"),
        ("a@nohost.example", "invalid", "no_mail_host"),
        ("a@slow.example", "unknown", "dns_timeout"),
        ("a@mailinator.com", "risky", "disposable"),
        ("info@x.de", "risky", "role"),
        ("ok@x.de", "valid", ""),
    )
    res = decide(None, v, as_of=AS_OF)
    for addr, reason in [
        ("syn@@x.de", "syntax"),
        ("a@nxdomain.example", "domain_not_found"),
        ("a@nullmx.example", "null_mx"),
        ("a@nohost.example", "no_mail_host"),
    ]:
        r = one(res, addr)
        assert (r.decision, r.rule, r.since) == ("suppress", "invalid", day(AS_OF))
        assert f"({reason})" in r.reason
        assert json.loads(r.evidence) == [{"validation": reason, "detail": f"detail for {reason}"}]
    assert (one(res, "a@slow.example").decision, one(res, "a@slow.example")["flags"]) == (
        "keep",
        "unknown",
    )
    assert (one(res, "a@mailinator.com").decision, one(res, "a@mailinator.com")["flags"]) == (
        "keep",
        "disposable",
    )
    assert one(res, "info@x.de")["flags"] == "role"
    assert one(res, "ok@x.de").decision == "keep"


def test_disposable_and_role_actions_are_configurable():
    v = validation(("a@mailinator.com", "risky", "disposable"), ("info@x.de", "risky", "role"))
    pol = load_policy(disposable="suppress", role="reconfirm")
    res = decide(None, v, as_of=AS_OF, policy=pol)
    assert (one(res, "a@mailinator.com").decision, one(res, "a@mailinator.com").rule) == (
        "suppress",
        "disposable",
    )
    assert (one(res, "info@x.de").decision, one(res, "info@x.de").rule) == ("reconfirm", "role")


def test_hard_bounce_wins_over_invalid_and_matching_ignores_case():
    ev = events(("A@X.de ", "hard", "2026-05-01"))
    v = validation(("a@x.de", "invalid", "null_mx"))
    res = decide(ev, v, as_of=AS_OF)
    assert len(res) == 1
    assert one(res, "a@x.de").rule == "hard"


# =========================================================================== sunset
def test_sunset_after_12_months_without_a_delivery():
    ev = events(
        ("old@x.de", "delivered", "2025-11-26"),  # 12 months and a day
        ("recent@x.de", "delivered", "2025-11-28"),
        ("edge@x.de", "delivered", "2025-11-27"),  # exactly 12 months: not *more* than
    )
    res = decide(ev, as_of=AS_OF)
    r = one(res, "old@x.de")
    assert (r.decision, r.rule) == ("reconfirm", "sunset")
    assert r.since == day("2026-11-26")
    assert "No successful delivery since 2025-11-26" in r.reason
    assert one(res, "recent@x.de").decision == "keep"
    assert one(res, "edge@x.de").decision == "keep"
    assert (
        one(decide(ev, as_of=AS_OF, policy=load_policy(sunset_months=0)), "old@x.de").decision
        == "keep"
    )


def test_sunset_uses_contact_columns_when_present():
    contacts = pd.DataFrame(
        {
            "E-Mail": ["old@x.de", "touched@x.de", "new@x.de", "never@x.de", "unknown@x.de"],
            "last_contacted_at": ["", "2026-10-01", "", "", ""],
            "acquired_at": ["2020-01-01", "2020-01-01", "2026-09-01", "2024-05-01T10:00:00Z", ""],
        }
    )
    before = contacts.copy()
    ev = events(("touched@x.de", "delivered", "2023-01-01"))
    res = decide(ev, contacts=contacts, as_of=AS_OF)
    pd.testing.assert_frame_equal(contacts, before)  # input untouched
    assert res["address"].tolist()[:5] == [
        "old@x.de",
        "touched@x.de",
        "new@x.de",
        "never@x.de",
        "unknown@x.de",
    ]
    assert one(res, "old@x.de").rule == "sunset"
    assert "Acquired on 2020-01-01" in one(res, "old@x.de").reason
    assert one(res, "touched@x.de").decision == "keep"  # last_contacted_at beats the old delivery
    assert one(res, "new@x.de").decision == "keep"
    assert one(res, "never@x.de").since == day("2025-05-01T10:00")
    assert one(res, "unknown@x.de").decision == "keep"  # no date at all: cannot tell


def test_suppress_rules_win_over_sunset():
    ev = events(("a@x.de", "delivered", "2020-01-01"), ("a@x.de", "complaint", "2020-02-01"))
    assert one(decide(ev, as_of=AS_OF), "a@x.de").rule == "complaint"


# =========================================================================== shape, input
def test_result_shape_and_every_address_once():
    ev = events(
        ("a@x.de", "hard", "2026-05-01"),
        ("b@x.de", "delivered", "2026-05-01"),
        ("a@x.de", "hard", "2026-05-02"),
    )
    contacts = pd.DataFrame({"email": ["c@x.de", "A@x.de", "c@x.de"]})
    res = decide(ev, contacts=contacts, as_of=AS_OF)
    assert res["address"].tolist() == ["c@x.de", "a@x.de", "b@x.de"]
    assert res["address"].is_unique
    assert list(res.columns[:7]) == [
        "address",
        "decision",
        "rule",
        "reason",
        "since",
        "flags",
        "evidence",
    ]
    assert set(res["decision"]) <= {"suppress", "reconfirm", "keep"}
    assert str(res["since"].dtype) == "datetime64[ns, UTC]"
    a = one(res, "a@x.de")
    assert a.hard_bounces == 2 and "(2 events, the last on 2026-05-02)" in a.reason and a.since == day("2026-05-01")
    empty = decide(None, as_of=AS_OF)
    assert len(empty) == 0 and "decision" in empty.columns


def test_evidence_is_capped_to_the_most_recent_events():
    ev = events(*[("a@x.de", "hard", f"2026-05-{d:02d}") for d in range(1, 11)])
    r = one(decide(ev, as_of=AS_OF, policy=load_policy(evidence_limit=3)), "a@x.de")
    assert [e["event_id"] for e in json.loads(r.evidence)] == ["ev007", "ev008", "ev009"]
    assert r.since == day("2026-05-01")


def test_unknown_kind_and_missing_columns_are_clear_errors():
    ev = events(("a@x.de", "hard", "2026-05-01"))
    ev.loc[0, "kind"] = "bounced"
    with pytest.raises(InputError, match="unknown kind.*bounced"):
        decide(ev, as_of=AS_OF)
    with pytest.raises(InputError, match="lacks the column"):
        decide(pd.DataFrame({"recipient": ["a@x.de"]}), as_of=AS_OF)


def test_events_without_a_timestamp_still_suppress_hard():
    ev = events(("a@x.de", "hard", None), ("b@x.de", "soft", None))
    res = decide(ev, as_of=AS_OF)
    a = one(res, "a@x.de")
    assert a.decision == "suppress" and pd.isna(a.since) and "unknown date" in a.reason
    assert one(res, "b@x.de").decision == "keep"


# =========================================================================== config
def test_defaults_are_the_documented_ones():
    p = load_policy()
    assert p == DEFAULT_POLICY == Policy()
    assert (p.soft_bounces, p.soft_min_span_days, p.sunset_months) == (3, 14, 12)
    assert (p.disposable, p.role) == ("keep", "keep")
    assert {"syntax", "domain_not_found", "null_mx", "no_mail_host"} <= set(p.invalid_reasons)


def test_load_policy_reads_toml(tmp_path):
    cfg = tmp_path / "listcare.toml"
    cfg.write_text(
        "[soft]\nbounces = 5\nmin_span_days = 21\n"
        '[flags]\nrole = "reconfirm"\n'
        "[sunset]\nmonths = 18\n"
        '[suppress]\nunsubscribe = true\ninvalid_reasons = ["syntax"]\n'
    )
    p = load_policy(cfg)
    assert (p.soft_bounces, p.soft_min_span_days, p.role, p.sunset_months) == (
        5,
        21,
        "reconfirm",
        18,
    )
    assert p.invalid_reasons == ("syntax",)
    assert p.hard is True  # untouched keys keep their defaults


@pytest.mark.parametrize(
    "text,match",
    [
        ("[soft]\nbounce = 3\n", r"Unknown key 'soft\.bounce'.*bounces"),
        ("[sofft]\nbounces = 3\n", r"Unknown key 'sofft'"),
        ("bounces = 3\n", r"Unknown key 'bounces'"),
        ("[soft]\nbounces = 'three'\n", r"soft\.bounces must be a whole number"),
        ("[soft]\nbounces = 0\n", r"soft\.bounces must be a whole number >= 1"),
        ("[flags]\nrole = 'drop'\n", r"flags\.role must be one of keep, reconfirm, suppress"),
        ("[suppress]\nhard = 'yes'\n", r"suppress\.hard must be true or false"),
        ("[suppress]\ninvalid_reasons = ['nope']\n", r"unknown reason"),
        ("[soft\n", r"not valid TOML"),
    ],
)
def test_load_policy_rejects_bad_config_naming_the_key(tmp_path, text, match):
    cfg = tmp_path / "bad.toml"
    cfg.write_text(text)
    with pytest.raises(ConfigError, match=match):
        load_policy(cfg)


def test_load_policy_missing_file_and_unknown_override(tmp_path):
    with pytest.raises(ConfigError, match="Cannot read the config file"):
        load_policy(tmp_path / "missing.toml")
    with pytest.raises(ConfigError, match="Unknown policy setting 'sof_bounces'"):
        load_policy(sof_bounces=2)


def test_the_readme_documents_exactly_the_defaults(tmp_path):
    import re

    from .conftest import ROOT

    text = (ROOT / "README.md").read_text()
    section = text.split("### Suppression policy", 1)[1].split("\n### ", 1)[0]
    toml = re.findall(r"```toml\n(.*?)\n```", section, flags=re.S)
    assert len(toml) == 1
    cfg = tmp_path / "documented.toml"
    cfg.write_text(toml[0])
    assert load_policy(cfg) == DEFAULT_POLICY
    # and every key the loader knows is documented there
    from listcare.policy import _TOML_KEYS

    for key in _TOML_KEYS:
        section_name, name = key.split(".")
        assert f"[{section_name}]" in toml[0] and f"\n{name} =" in "\n" + toml[0], key


def test_carry_since_keeps_the_first_date_of_an_unchanged_decision():
    v = validation(
        ("a@nxdomain.example", "invalid", "domain_not_found"),
        ("b@nxdomain.example", "invalid", "domain_not_found"),
        ("c@x.de", "valid", ""),
    )
    today = decide(None, v, as_of="2026-11-28")
    previous = pd.DataFrame(
        {
            "address": ["a@nxdomain.example", "b@nxdomain.example", "c@x.de"],
            "decision": ["suppress", "suppress", "suppress"],
            "rule": ["invalid", "hard", "hard"],  # b: another rule before; c: released
            "since": pd.to_datetime(["2026-11-01", "2026-10-01", "2026-10-01"], utc=True),
        }
    )
    before = today.copy()
    out = carry_since(today, previous)
    pd.testing.assert_frame_equal(today, before)  # input untouched
    assert one(out, "a@nxdomain.example").since == day("2026-11-01")
    assert one(out, "b@nxdomain.example").since == day("2026-11-28")  # the rule changed
    assert pd.isna(one(out, "c@x.de").since)
    assert carry_since(today, previous.iloc[:0]) is today


def test_internationalised_domains_match_their_ascii_form_in_logs():
    ev = events(("jörg@xn--bcher-kva.de", "hard", "2026-05-01"))
    contacts = pd.DataFrame({"email": ["Jörg@Bücher.de"]})
    res = decide(ev, contacts=contacts, as_of=AS_OF)
    assert res["address"].tolist() == ["jörg@xn--bcher-kva.de"]
    assert res.loc[0, "rule"] == "hard"


def test_address_key_trims_and_lowercases_like_python_for_every_kind_of_cell():
    """The job's fast key path must mean what str.strip().lower() always meant."""
    cells = [
        " A@B.de",
        "a@b.de\x1c",  # str.strip() removes the ASCII separators \x1c-\x1f too
        "Z@Z.COM\t",
        "\xa0a@b.de\u3000",  # and Unicode spaces
        "İx@y.de",  # Python's full lower-casing (two code points)
        "x@Müller.DE ",
        None,
        "",
        "   ",
        float("nan"),
        pd.NA,
        5,
    ]
    got = address_key(cells).tolist()
    assert got[:6] == [
        "a@b.de",
        "a@b.de",
        "z@z.com",
        "a@b.de",
        "İx@y.de".lower(),
        "x@xn--mller-kva.de",
    ]
    assert all(v is pd.NA for v in got[6:11])
    assert got[11] == "5"
    assert address_key(pd.Series(cells[:6], dtype="string")).tolist() == got[:6]


def test_decide_row_codes_point_every_validation_row_at_its_decision():
    from listcare.policy import _decide

    contacts = pd.DataFrame({"email": ["A@x.de", "b@y.de ", "", "c@Bücher.de", "a@x.de"]})
    validation = pd.DataFrame(
        {
            "email": contacts["email"],
            # validation may normalise differently from the raw cell: both keys must agree
            "normalized": ["a@x.de", "b@y.de", None, "c@bücher.de", "a@x.de"],
            "status": ["valid", "valid", "invalid", "valid", "valid"],
            "reason": ["", "", "empty", "", ""],
        }
    )
    ev = events(("c@xn--bcher-kva.de", "hard", "2026-05-01"))
    res, codes, keys = _decide(ev, validation, contacts, as_of=AS_OF, policy=None, email_column=None)
    # the contacts' own codes: the IDN row and its ASCII event share one address
    assert keys.contacts.tolist() == codes.tolist()
    assert res["address"].iloc[keys.event_codes[0]] == "c@xn--bcher-kva.de"
    assert codes.tolist()[2] == -1
    addresses = res["address"].tolist()
    assert [addresses[c] for c in codes[[0, 1, 3, 4]]] == [
        "a@x.de",
        "b@y.de",
        "c@xn--bcher-kva.de",
        "a@x.de",
    ]
    assert res.loc[codes[3], "rule"] == "hard"
    pd.testing.assert_frame_equal(res, decide(ev, validation, contacts, as_of=AS_OF))


def test_provider_suppression_list_suppresses_at_once_unless_delivered_after():
    ev = events(
        ("ses@x.de", "soft", "2026-05-02", "suppressed"),
        ("again@x.de", "soft", "2026-04-01", "suppressed"),
        ("again@x.de", "delivered", "2026-05-01"),
        ("full@x.de", "soft", "2026-05-02", "mailboxfull"),
    )
    res = decide(ev, as_of=AS_OF)
    r = one(res, "ses@x.de")
    assert (r.decision, r.rule) == ("suppress", "provider_suppressed")
    assert r.since == day("2026-05-02")
    assert "suppression list" in r.reason
    assert json.loads(r.evidence)[0]["event_id"] == "ev000"
    assert one(res, "again@x.de").decision == "keep"  # delivered through it since
    assert one(res, "full@x.de").decision == "keep"  # one soft bounce is not enough
    off = decide(ev, as_of=AS_OF, policy=load_policy(provider_suppressed=False))
    assert one(off, "ses@x.de").decision == "keep"


def test_provider_suppressed_is_a_toml_setting(tmp_path):
    cfg = tmp_path / "p.toml"
    cfg.write_text("[suppress]\nprovider_suppressed = false\n")
    assert load_policy(cfg).provider_suppressed is False
    assert load_policy().provider_suppressed is True


def test_addresses_come_in_order_contacts_validation_events_and_prepared_is_reused():
    """Codes are first appearances: the contacts, then validation rows that normalise to
    another address, then addresses only the events know. The job prepares the contact
    side in its worker thread; the result is the same as deciding from scratch, and a
    preparation made with other validation rows is not reused."""
    from listcare.policy import _decide, prepare_contacts

    contacts = pd.DataFrame({"email": ["b@y.de", "a@x.de", "b@y.de"]})
    validation = pd.DataFrame(
        {
            "email": contacts["email"],
            "normalized": ["b@y.de", "a@x.de", "other@y.de"],
            "status": ["valid", "valid", "valid"],
            "reason": ["", "", ""],
        }
    )
    ev = events(
        ("z@only-in-log.de", "hard", "2026-05-01"),
        ("a@x.de", "delivered", "2026-05-02"),
        ("y@only-in-log.de", "soft", "2026-05-03"),
        ("z@only-in-log.de", "hard", "2026-05-04"),
    )
    fresh, codes, keys = _decide(ev, validation, contacts, as_of=AS_OF, policy=None, email_column=None)
    assert fresh["address"].tolist() == [
        "b@y.de", "a@x.de", "other@y.de", "z@only-in-log.de", "y@only-in-log.de"
    ]
    assert codes.tolist() == [0, 1, 2] and keys.contacts.tolist() == [0, 1, 0]
    assert keys.event_codes.tolist() == [3, 1, 4, 3]
    prepared = prepare_contacts(contacts, None, validation)
    again = _decide(ev, validation, contacts, as_of=AS_OF, policy=None, email_column=None, prepared=prepared)
    pd.testing.assert_frame_equal(again[0], fresh)
    other = validation.assign(normalized=["b@y.de", "a@x.de", "b@y.de"])
    res = _decide(ev, other, contacts, as_of=AS_OF, policy=None, email_column=None, prepared=prepared)[0]
    assert "other@y.de" not in set(res["address"])  # computed anew for these rows
