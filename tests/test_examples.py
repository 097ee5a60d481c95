"""The bundled example data: reproducible byte for byte, readable, and consistent."""

from __future__ import annotations

import email
import json
import re
import subprocess
import sys
from email import policy
from importlib import resources

import pandas as pd
import pytest

from listcare import read_contacts
from listcare.contacts import example_path

from .conftest import ROOT

EXAMPLES = ROOT / "listcare" / "data" / "examples"
FILES = [
    "README.md", "contacts.csv", "contacts_de.csv", "postfix.log", "ses.json",
    "bounces/postfix-dsn.eml", "bounces/exim-bounce.eml", "bounces/arf-complaint.eml",
]
SMTP_STATUS = re.compile(
    r"^(\w{3}) +(\d+) (\d\d:\d\d:\d\d) mail postfix/smtp\[\d+\]: \w+: to=<([^>]+)>, .*?"
    r"dsn=(\d\.\d+\.\d+), status=(sent|bounced|deferred)"
)


@pytest.fixture(scope="module")
def contacts():
    return read_contacts(example_path("contacts.csv"))


@pytest.fixture(scope="module")
def addresses(contacts):
    return set(contacts["E-Mail"].str.strip().str.lower())


def test_script_reproduces_the_bundled_files_byte_for_byte(tmp_path):
    out = tmp_path / "examples"
    proc = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "make_examples.py"), "--as-of", "2026-11-01",
         "--out", str(out)],
        capture_output=True, text=True, timeout=120, env={"PYTHONHASHSEED": "7", "PATH": ""},
    )
    assert proc.returncode == 0, proc.stderr
    made = sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file())
    bundled = sorted(str(p.relative_to(EXAMPLES)) for p in EXAMPLES.rglob("*") if p.is_file())
    assert made == bundled == sorted(FILES)
    for name in made:
        assert (out / name).read_bytes() == (EXAMPLES / name).read_bytes(), name


def test_files_are_package_data_seen_by_importlib_resources():
    root = resources.files("listcare").joinpath("data", "examples")
    for name in FILES:
        assert root.joinpath(*name.split("/")).is_file(), name
        assert example_path(name).read_bytes() == (EXAMPLES / name).read_bytes()


def test_contacts_csv_reads_with_every_row(contacts):
    raw = (EXAMPLES / "contacts.csv").read_text(encoding="utf-8")
    assert len(contacts) == 3000
    a = contacts.attrs["listcare"]
    assert (a["sep"], a["encoding"], a["email_column"]) == (",", "utf-8", "E-Mail")
    assert list(contacts.columns) == [
        "E-Mail", "Vorname", "Nachname", "company", "Telefon", "source", "acquired_at",
        "last_contacted_at", "notes",
    ]
    # physical lines = rows + header + line breaks inside quoted notes
    assert raw.count("\n") == 3001 + contacts["notes"].str.count("\n").sum()
    assert set(contacts["source"]) == {"web-form", "trade-fair", "whitepaper", "purchased"}
    acquired = pd.to_datetime(contacts["acquired_at"])
    assert acquired.min() >= pd.Timestamp("2022-11-01") and acquired.max() < pd.Timestamp("2026-11-01")
    assert (contacts["last_contacted_at"] == "").mean() > 0.05


def test_contacts_are_messy_as_promised(contacts):
    emails = contacts["E-Mail"]
    key = emails.str.strip().str.lower()
    assert (emails != emails.str.strip()).sum() > 5  # stray spaces
    assert key[key != ""].duplicated().sum() >= 50  # duplicates by case or spaces
    assert emails.str.contains("@gmial.com|@gmx.dee", regex=True).sum() >= 2
    assert emails.str.contains("@mailinator.com|@trashmail.com|@yopmail.com", regex=True).any()
    assert emails.str.match(r"^(info|vertrieb|kontakt)@").sum() >= 5
    assert (~emails.str.contains("@")).sum() >= 5 and (emails == "").sum() >= 1
    assert contacts["Nachname"].str.contains("[äöüß]", regex=True).sum() > 100
    assert emails.str.contains("@[^@]*[äöü]", regex=True).any()  # IDN domains


def test_contacts_de_is_a_german_excel_export(contacts):
    de = read_contacts(example_path("contacts_de.csv"))
    a = de.attrs["listcare"]
    assert (a["sep"], a["encoding"], a["lineterminator"]) == (";", "cp1252", "\r\n")
    assert a["email_column"] == "E-Mail-Adresse"
    assert len(de) == 250
    assert de["E-Mail-Adresse"].tolist() == contacts["E-Mail"].head(250).tolist()
    assert de["Erfasst am"].str.match(r"^\d\d\.\d\d\.\d{4}$").all()


def _log_outcomes():
    rows = []
    for line in (EXAMPLES / "postfix.log").read_text(encoding="utf-8").splitlines():
        m = SMTP_STATUS.match(line)
        if m:
            blocked = "(BL)" in line or "spamhaus" in line or "block list" in line
            rows.append((*m.groups(), blocked))
    return pd.DataFrame(rows, columns=["mon", "day", "time", "rcpt", "dsn", "status", "blocked"])


def test_postfix_log_is_for_the_contacts_and_in_the_window(addresses):
    lines = (EXAMPLES / "postfix.log").read_text(encoding="utf-8").splitlines()
    assert 20_000 < len(lines) < 60_000
    stamps = [re.match(r"^(\w{3}) +(\d+) (\S+)", ln).groups() for ln in lines]
    months = {"Oct": 10, "Nov": 11}
    keys = [(months[m], int(d), t) for m, d, t in stamps]
    assert keys == sorted(keys)  # syslog order
    assert keys[0] >= (10, 2, "00:00:00") and keys[-1] < (11, 1, "00:00:00")
    out = _log_outcomes()
    assert set(out["status"]) == {"sent", "bounced", "deferred"}
    assert set(out["rcpt"].str.lower()) <= addresses
    bounced = out[out.status == "bounced"]
    assert set(bounced["dsn"]) >= {"5.1.1", "5.5.0", "5.0.0", "5.4.4", "5.7.1", "5.1.10"}
    text = "\n".join(lines)
    for phrase in [
        "The email account that you tried to reach does not exist",
        "Requested action not taken: mailbox unavailable (S2017062302)",
        "550 Requested action not taken: mailbox unavailable",
        "blocked using zen.spamhaus.org",
        "(BL)",
        "4.2.2",
        "status=expired, returned to sender",
        "NOQUEUE: reject:",
    ]:
        assert phrase in text, phrase


def test_older_contacts_bounce_more(contacts):
    """The decay story: the share of hard bounces grows with the contact's age."""
    out = _log_outcomes()
    # permanent failures that are not policy blocks (typo domains: 5.4.4) mean a dead address
    dead = (out.status == "bounced") & ~out.blocked & (out.dsn != "5.4.4")
    hard = set(out.loc[dead, "rcpt"].str.lower())
    first = contacts.assign(key=contacts["E-Mail"].str.strip().str.lower())
    first = first[first.key.isin(set(out["rcpt"].str.lower()))].drop_duplicates("key")
    age = (pd.Timestamp("2026-11-01") - pd.to_datetime(first["acquired_at"])).dt.days / 30.44
    bounced = first["key"].isin(hard)
    young, old = bounced[age < 12].mean(), bounced[age >= 36].mean()
    assert 0.03 < young < 0.2 and 0.45 < old < 0.75 and old > 3 * young


def test_bounce_emails_are_for_contacts(addresses):
    dsn = email.message_from_bytes(example_path("bounces/postfix-dsn.eml").read_bytes(), policy=policy.default)
    assert dsn.get_content_type() == "multipart/report"
    assert dsn.get_param("report-type") == "delivery-status"
    status = next(p for p in dsn.walk() if p.get_content_type() == "message/delivery-status")
    report = status.as_string()
    rcpt = re.search(r"Final-Recipient: rfc822; (\S+)", report).group(1)
    assert rcpt.lower() in addresses and "Status: 5.1.1" in report
    exim = email.message_from_bytes(example_path("bounces/exim-bounce.eml").read_bytes(), policy=policy.default)
    assert exim["X-Failed-Recipients"].lower() in addresses
    assert "This message was created automatically by mail delivery software." in exim.get_content()
    arf = email.message_from_bytes(example_path("bounces/arf-complaint.eml").read_bytes(), policy=policy.default)
    assert arf.get_param("report-type") == "feedback-report"
    fb = next(p for p in arf.walk() if p.get_content_type() == "message/feedback-report")
    text = fb.as_string()
    assert "Feedback-Type: abuse" in text
    assert re.search(r"Original-Rcpt-To: <([^>]+)>", text).group(1).lower() in addresses


def test_ses_export(addresses):
    notes = json.loads(example_path("ses.json").read_text(encoding="utf-8"))
    assert isinstance(notes, list) and len(notes) > 100
    types = {n["notificationType"] for n in notes}
    assert types == {"Bounce", "Complaint", "Delivery"}
    bounce_types = {(n["bounce"]["bounceType"], n["bounce"]["bounceSubType"]) for n in notes if "bounce" in n}
    assert {("Permanent", "General"), ("Transient", "MailboxFull")} <= bounce_types
    rcpts = set()
    for n in notes:
        assert n["mail"]["destination"]
        if n["notificationType"] == "Bounce":
            for r in n["bounce"]["bouncedRecipients"]:
                assert r["status"] and r["diagnosticCode"]
                rcpts.add(r["emailAddress"].lower())
        elif n["notificationType"] == "Complaint":
            rcpts.update(r["emailAddress"].lower() for r in n["complaint"]["complainedRecipients"])
        else:
            rcpts.update(r.lower() for r in n["delivery"]["recipients"])
    assert rcpts <= addresses
