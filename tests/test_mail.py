"""Bounce mail reading: every mail detector on the project's own fixtures, every kind of
source (file, mbox, Maildir, bytes, file object), bad input and a fuzz test."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from listcare.bounces import mail
from listcare.bounces.mail import iter_mail_facts, sniff
from listcare.bounces.reasons import classify
from listcare.bounces.records import Fact, event_id
from listcare.exceptions import InputError, ListcareError

FIX = Path(__file__).resolve().parent / "fixtures" / "bounces"

# file -> [(recipient, detector, reason, kind)] in the order the message states them
EXPECTED = {
    "dsn_postfix_two_recipients.eml": [
        ("gone.reader@recipient.example", "rfc3464", "userunknown", "hard"),
        ("full.reader@other.example", "rfc3464", "mailboxfull", "soft"),
    ],
    "dsn_delayed.eml": [("slow.reader@slow.example", "rfc3464", "expired", "deferred")],
    "arf_abuse.eml": [
        ("annoyed.one@provider.example", "arf", "feedback", "complaint"),
        ("annoyed.two@provider.example", "arf", "feedback", "complaint"),
    ],
    "arf_optout.eml": [("leaving.reader@isp.example", "arf", "feedback", "unsubscribe")],
    "unsubscribe_mailto.eml": [("leaving.reader@mail.example", "unsubscribe", "feedback", "unsubscribe")],
    "autoreply_vacation.eml": [("away.person@customer.example", "autoreply", "vacation", "auto_reply")],
    "qmail_two_recipients.eml": [
        ("nobody.here@qmail-host.example", "qmail", "userunknown", "hard"),
        ("far.away@unknown-domain.example", "qmail", "hostunknown", "hard"),
    ],
    "exim_blocked.eml": [("reader@blocking.example", "exim_mail", "blocked", "block")],
    "gmail_text.eml": [("tiny.box@quota.example", "gmail", "mailboxfull", "soft")],
    "yahoo_text.eml": [("moved.person@corp.example", "yahoo", "hasmoved", "hard")],
    "sendmail_transcript.eml": [
        ("left.company@old-host.example", "sendmail_mail", "userunknown", "hard"),
        ("guest@relay-refuser.example", "sendmail_mail", "norelaying", "block"),
    ],
    "notes_text.eml": [("nobody@notes-host.example", "notes", "userunknown", "hard")],
    "googlegroups_denied.eml": [("closed-group@googlegroups.com", "googlegroups", "rejected", "block")],
    "opensmtpd_text.eml": [("typo.reader@smtpd-host.example", "text", "userunknown", "hard")],
    "exchange2007_text.eml": [("old.employee@corp-mail.example", "exchange", "userunknown", "hard")],
    "exchange2003_text.eml": [("ghost@legacy.example", "exchange", "userunknown", "hard")],
    "fml_not_member.eml": [("closed-list@lists.example.org", "fml", "rejected", "block")],
    "ses_sns_bounce.eml": [("nobody@ses-recipient.example", "ses_mail", "userunknown", "hard")],
}


def _read(path):
    errors = []
    facts = list(iter_mail_facts(path, errors=lambda pos, msg: errors.append((pos, msg))))
    return facts, errors


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_fixture(name):
    facts, errors = _read(FIX / name)
    assert errors == []
    got = [(f.recipient, f.detector, *classify(f)) for f in facts]
    assert got == EXPECTED[name]
    raw = (FIX / name).read_bytes()
    for f in facts:
        assert f.position == 1
        assert f.evidence == raw


def test_every_fixture_is_used_and_every_detector_covered():
    on_disk = {p.name for p in FIX.glob("*.eml")}
    assert on_disk - set(EXPECTED) == {"not_a_bounce.eml"}
    covered = {det for rows in EXPECTED.values() for _, det, _, _ in rows}
    names = {d.NAME for d in mail.DETECTORS} | {"unsubscribe"}  # arf also reads RFC 2369 unsubscribes
    assert names == covered


def test_dsn_facts_carry_the_smtp_details():
    facts, _ = _read(FIX / "dsn_postfix_two_recipients.eml")
    first, second = facts
    assert (first.status, first.reply_code, first.command, first.action) == ("5.1.1", "550", "RCPT", "failed")
    assert first.remote_mta == "mx.recipient.example"
    assert first.queue_id == "4XyZ1abc" and first.sender == "news@sender.example"
    assert first.message_id == "<march-2026-news@sender.example>"
    assert first.timestamp is not None and first.timestamp.utcoffset().total_seconds() == 0
    assert "User unknown in virtual mailbox table" in first.diagnostic
    assert (second.status, second.reply_code, second.command) == ("5.2.2", "552", "DATA")


def test_not_a_bounce_is_reported_not_raised():
    facts, errors = _read(FIX / "not_a_bounce.eml")
    assert facts == []
    assert errors == [(1, "no delivery outcome found (not a bounce, feedback report or auto-reply)")]


def _mbox(names):
    out = b""
    for n in names:
        body = (FIX / n).read_bytes().replace(b"\nFrom ", b"\n>From ")
        out += b"From MAILER-DAEMON Tue Mar  3 10:00:05 2026\n" + body.rstrip(b"\n") + b"\n\n"
    return out


def test_mbox_positions_and_stable_ids(tmp_path):
    names = ["qmail_two_recipients.eml", "not_a_bounce.eml", "arf_optout.eml"]
    path = tmp_path / "bounces.mbox"
    path.write_bytes(_mbox(names))
    facts, errors = _read(path)
    assert [(f.position, f.recipient) for f in facts] == [
        (1, "nobody.here@qmail-host.example"),
        (1, "far.away@unknown-domain.example"),
        (3, "leaving.reader@isp.example"),
    ]
    assert [pos for pos, _ in errors] == [2]
    ids = [event_id("mail", f.evidence, f.recipient) for f in facts]
    again = [event_id("mail", f.evidence, f.recipient) for f in iter_mail_facts(path)]
    assert ids == again and len(set(ids)) == 3
    # the same mailbox given as bytes or as a file object reads the same
    assert [(f.position, f.recipient) for f in iter_mail_facts(path.read_bytes())] == [
        (f.position, f.recipient) for f in facts
    ]
    with open(path, "rb") as fh:
        assert len(list(iter_mail_facts(fh))) == 3


def test_maildir(tmp_path):
    for sub in ("new", "cur", "tmp"):
        (tmp_path / sub).mkdir()
    (tmp_path / "new" / "1700000000.1.host").write_bytes((FIX / "exim_blocked.eml").read_bytes())
    (tmp_path / "cur" / "1700000001.2.host:2,S").write_bytes((FIX / "yahoo_text.eml").read_bytes())
    (tmp_path / "tmp" / "half-written").write_bytes(b"From: x\n")
    facts, errors = _read(tmp_path)
    assert [(f.position, f.recipient) for f in facts] == [
        (1, "reader@blocking.example"),
        (2, "moved.person@corp.example"),
    ]
    assert errors == []


def test_size_cap_skips_and_reports(tmp_path):
    big = (FIX / "gmail_text.eml").read_bytes() + b"x" * 5000
    errors = []
    facts = list(iter_mail_facts(big, errors=lambda p, m: errors.append((p, m)), max_bytes=2000))
    assert facts == [] and errors and "larger than 2000 bytes" in errors[0][1]
    # in an mbox only the big message is skipped
    box = _mbox(["gmail_text.eml"]) + b"From x Tue Mar  3 10:00:05 2026\n" + b"Subject: y\n\n" + b"z" * 5000 + b"\n"
    errors.clear()
    facts = list(iter_mail_facts(box, errors=lambda p, m: errors.append((p, m)), max_bytes=3000))
    assert [f.recipient for f in facts] == ["tiny.box@quota.example"]
    assert errors[0][0] == 2


def test_mime_bomb_is_bounded():
    # thousands of nested multiparts: parsed within the part/depth caps or refused, never hangs
    depth = 3000
    parts = [f'Content-Type: multipart/mixed; boundary="b{i}"\n\n--b{i}\n' for i in range(depth)]
    raw = ("From: MAILER-DAEMON@x.example\nSubject: Undelivered Mail\nMIME-Version: 1.0\n" + "".join(parts)).encode()
    errors = []
    facts = list(iter_mail_facts(raw, errors=lambda p, m: errors.append((p, m))))
    assert facts == [] and len(errors) == 1


def test_source_that_cannot_be_opened_raises_input_error(tmp_path):
    with pytest.raises(InputError, match="Cannot open the mail source"):
        list(iter_mail_facts(tmp_path / "missing.mbox"))
    with pytest.raises(InputError):
        list(iter_mail_facts(12345))
    with pytest.raises(ListcareError, match="binary mode"):
        list(iter_mail_facts(io.StringIO("From: x\n")))


def test_unreadable_file_in_maildir_is_reported(tmp_path):
    # A dangling link stands in for an unreadable file: permission bits do not stop root,
    # and CI runs as root.
    (tmp_path / "a").write_bytes((FIX / "exim_blocked.eml").read_bytes())
    (tmp_path / "b").symlink_to(tmp_path / "vanished")
    facts, errors = _read(tmp_path)
    assert len(facts) == 1 and errors and errors[0][0] == 2


def test_sniff():
    assert sniff(b"From MAILER-DAEMON Tue Mar  3 10:00:05 2026\nFrom: x\n")
    assert sniff((FIX / "dsn_postfix_two_recipients.eml").read_bytes()[:4096])
    assert sniff(b"Received: from a by b\nSubject: x\n\nbody")
    assert not sniff(b"Mar  3 10:00:05 mx postfix/smtp[123]: 4XyZ: to=<a@b.example>, status=sent\n")
    assert not sniff(b'{"notificationType": "Bounce"}')
    assert not sniff(b"email,status\na@b.example,cleaned\n")
    assert not sniff(b"")


def test_detector_order_prefers_machine_readable_formats():
    names = [d.__name__.rsplit(".", 1)[1] for d in mail.DETECTORS]
    assert names.index("arf") < names.index("rfc3464") < names.index("textbounce") < names.index("autoreply")


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=3000))
def test_fuzz_arbitrary_bytes(data):
    errors = []
    for f in iter_mail_facts(data, errors=lambda p, m: errors.append((p, m))):
        assert isinstance(f, Fact) and f.position >= 1


_PIECES = [
    b"From MAILER-DAEMON Tue Mar  3 10:00:05 2026\n",
    b"From: Mail Delivery System <MAILER-DAEMON@x.example>\n",
    b"Subject: Undelivered Mail Returned to Sender\n",
    b"Content-Type: multipart/report; report-type=delivery-status; boundary=\"b\"\n",
    b"Content-Type: message/delivery-status\n",
    b"Content-Type: message/feedback-report\n",
    b"Content-Transfer-Encoding: base64\n",
    b"X-Failed-Recipients: a@b.example\n",
    b"\n",
    b"--b\n",
    b"--b--\n",
    b"Final-Recipient: rfc822; a@b.example\n",
    b"Action: failed\nStatus: 5.1.1\n",
    b"Diagnostic-Code: smtp; 550 5.1.1 user unknown\n",
    b"Original-Rcpt-To: <c@d.example>\n",
    b"<a@b.example>:\nSorry, no mailbox here by that name. (#5.1.1)\n",
    b"\xff\xfe\x00garbage\x1b$B\n",
    b"=?utf-8?b?////?=\n",
]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(_PIECES), max_size=40))
def test_fuzz_mail_shaped_bytes(pieces):
    data = b"".join(pieces)
    for f in iter_mail_facts(data, errors=lambda p, m: None):
        assert isinstance(f, Fact)
        reason, kind = classify(f)
        assert reason and kind


def test_an_unquoted_from_line_in_a_body_does_not_split_an_mbox(tmp_path):
    """mboxo writers do not always quote a body's "From " as ">From ": only a line
    shaped like an mbox postmark (sender, asctime date) starts a message."""
    from listcare import read_bounces

    fx = Path(__file__).parent / "fixtures" / "bounces"
    a = (fx / "exim_blocked.eml").read_bytes()
    b = (fx / "dsn_postfix_two_recipients.eml").read_bytes()
    head, sep, body = a.partition(b"\n\n")
    a = head + sep + b"From the postmaster at exim-host.example: please read on.\n\n" + body
    box = (b"From MAILER-DAEMON Fri Nov 27 10:00:00 2026\n" + a.rstrip(b"\n") + b"\n\n"
           + b"From MAILER-DAEMON Fri Nov 27 10:05:00 2026\n" + b)
    (tmp_path / "box.mbox").write_bytes(box)
    (tmp_path / "a.eml").write_bytes(a)
    got = read_bounces(tmp_path / "box.mbox", as_of="2026-11-27")
    alone = [read_bounces(fx / "dsn_postfix_two_recipients.eml", as_of="2026-11-27"),
             read_bounces(tmp_path / "a.eml", as_of="2026-11-27")]
    assert len(got) == sum(len(x) for x in alone)
    assert sorted(got["recipient"]) == sorted(r for x in alone for r in x["recipient"])


def test_8bit_addresses_in_bounce_mail_are_read_as_utf8_else_latin1(tmp_path):
    """An SMTPUTF8 server (RFC 6532) writes the address raw: read as the logs read
    theirs (UTF-8, else Latin-1), not as U+FFFD."""
    from listcare import read_bounces

    fx = Path(__file__).parent / "fixtures" / "bounces"
    dsn = (fx / "dsn_postfix_two_recipients.eml").read_bytes()
    dsn = dsn.replace(b"Final-Recipient: rfc822; gone.reader@", "Final-Recipient: rfc822; jürgen@".encode())
    dsn = dsn.replace(b"Final-Recipient: rfc822; full.reader@", "Final-Recipient: rfc822; müller@".encode("latin-1"))
    (tmp_path / "dsn.eml").write_bytes(dsn)
    got = set(read_bounces(tmp_path / "dsn.eml", as_of="2026-11-27")["recipient"])
    assert "jürgen@recipient.example" in got and "müller@other.example" in got
    exim = (fx / "exim_blocked.eml").read_bytes().replace(
        b"X-Failed-Recipients: reader@", "X-Failed-Recipients: jürgen.reader@".encode()
    )
    (tmp_path / "exim.eml").write_bytes(exim)
    from listcare.bounces.detectors import _common as C
    pm = mail.parse(exim)
    assert C.header(pm.msg, "X-Failed-Recipients") == "jürgen.reader@blocking.example"
