"""MTA log detectors (Postfix, Exim, Sendmail) on the project's own log fixtures."""

from __future__ import annotations

import gzip
import importlib.util
import re
import shutil
from datetime import UTC, datetime

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from listcare import schema
from listcare.bounces import read as R
from listcare.bounces.read import mask_tokens, read_bounces
from listcare.bounces.reasons import classify_parts
from listcare.bounces.records import event_id
from listcare.exceptions import ConfigError, InputError

from .conftest import FIXTURES, ROOT

LOGS = FIXTURES / "logs"
AS_OF = "2026-11-27"


def ts(s: str) -> pd.Timestamp:
    return pd.Timestamp(s, tz="UTC")


def row(df: pd.DataFrame, recipient: str) -> pd.Series:
    hits = df[df["recipient"] == recipient]
    assert len(hits) == 1, (recipient, df["recipient"].tolist())
    return hits.iloc[0]


def lines_of(path) -> list[str]:
    return path.read_bytes().decode("utf-8").split("\n")


# --------------------------------------------------------------------------- postfix
@pytest.fixture(scope="module")
def classic() -> pd.DataFrame:
    return read_bounces(LOGS / "postfix-classic.log", as_of=AS_OF)


def test_postfix_classic_rows_and_fields(classic):
    df = classic
    assert list(df.columns) == list(schema.EVENT_COLUMNS)
    assert {c: str(t) for c, t in df.dtypes.items()} == schema.EVENT_COLUMNS
    # 12 delivery-outcome lines; the inbound NOQUEUE reject and the noise are not events
    assert len(df) == 12
    assert "nobody@sender.example" not in set(df["recipient"])
    assert set(df["source_format"]) == {"postfix"}
    assert df["position"].is_monotonic_increasing
    bob = row(df, "Bob.Jones@gmail.com")  # domain lower-cased, local part kept
    assert (bob["kind"], bob["reason"], bob["status"], bob["reply_code"]) == ("hard", "userunknown", "5.1.1", "550")
    assert bob["remote_mta"] == "gmail-smtp-in.l.google.com"
    assert bob["queue_id"] == "5B1C22D0B2"
    assert bob["position"] == 8
    assert bob["timestamp"] == ts("2026-11-26 06:25:16")
    assert bob["diagnostic"].startswith("550-5.1.1 The email account")
    assert bob["diagnostic"].endswith("(in reply to RCPT TO command)")
    alice = row(df, "alice.smith@gmail.com")
    assert (alice["kind"], alice["reason"], alice["reply_code"], alice["position"]) == ("delivered", "delivered", "250", 6)
    assert alice["diagnostic"].startswith("250 2.0.0 OK")


def test_postfix_outcome_kinds(classic):
    df = classic
    assert row(df, "carol@outlook.com")["kind"] == "block"  # S3150 block list, MAIL FROM
    assert row(df, "ivan@example-corp.com")["kind"] == "block"  # Spamhaus
    assert row(df, "erin@yahoo.com")["kind"] == "deferred"  # status=deferred
    assert row(df, "grace@dead-domain.example")["kind"] == "deferred"
    frank = row(df, "frank@nosuchdomain-4711.example")  # postfix/error, relay=none, own text
    assert (frank["kind"], frank["reason"]) == ("hard", "hostunknown") and pd.isna(frank["remote_mta"])
    assert frank["diagnostic"].startswith("Host or domain name not found")
    assert row(df, "judy@gmx.de")["kind"] == "hard"


def test_postfix_orig_to_is_the_recipient(classic):
    # orig_to is the address the sender submitted (the one on the contact list)
    dave = row(classic, "Dave.List@sender.example")
    assert dave["reason"] == "mailboxfull" and dave["status"] == "5.2.2"
    assert "dave@example-corp.com" not in set(classic["recipient"])
    local = row(classic, "postmaster@sender.example")
    assert local["kind"] == "delivered" and pd.isna(local["remote_mta"])


def test_postfix_truncated_last_line_is_reported_not_lost(classic):
    errs = classic.attrs["errors"]
    assert errs["count"] == 1
    source, position, message = errs["samples"][0]
    assert source.endswith("postfix-classic.log") and position == 26 and "bounc" in message
    # the offset stops before the unterminated last line
    data = (LOGS / "postfix-classic.log").read_bytes()
    assert classic.attrs["offsets"][str(LOGS / "postfix-classic.log")] == data.rfind(b"\n") + 1


def test_postfix_event_ids_are_records_event_id_of_the_line(classic):
    lines = lines_of(LOGS / "postfix-classic.log")
    for r in classic.itertuples():
        assert r.event_id == event_id("postfix", lines[r.position - 1], r.recipient, 0)
    assert classic["event_id"].is_unique


def test_rfc3339_and_multi_instance():
    df = read_bounces(LOGS / "postfix-rfc3339.log")  # no as_of needed: the times have years
    assert df["recipient"].tolist() == ["alice.smith@gmail.com", "bob@gmail.com"]
    assert df["timestamp"].tolist() == [ts("2026-11-26 05:25:15.123456"), ts("2026-11-26 05:25:17")]
    assert df["position"].tolist() == [1, 3]
    assert df["kind"].tolist() == ["delivered", "hard"]


def test_syslog_with_year_forms():
    df = read_bounces(LOGS / "postfix-year.log")
    assert df["timestamp"].tolist() == [ts("2026-11-26 06:25:15"), ts("2026-11-26 06:25:17")]


def test_yearless_log_needs_as_of():
    with pytest.raises(ConfigError, match="as_of"):
        read_bounces(LOGS / "postfix-classic.log")


def test_december_january_turn():
    df = read_bounces(LOGS / "postfix-newyear.log", as_of="2027-01-02")
    assert df["timestamp"].tolist() == [ts("2026-12-31 23:59:58"), ts("2027-01-01 00:00:03")]
    # read on New Year's Eve itself: the January line can only be a few minutes ahead
    df = read_bounces(LOGS / "postfix-newyear.log", as_of="2026-12-31")
    assert df["timestamp"].tolist() == [ts("2026-12-31 23:59:58"), ts("2027-01-01 00:00:03")]
    # read in late November: December is last year's
    df = read_bounces(LOGS / "postfix-newyear.log", as_of="2026-11-27")
    assert df["timestamp"].tolist() == [ts("2025-12-31 23:59:58"), ts("2026-01-01 00:00:03")]


def test_zone_of_as_of_applies_to_zoneless_syslog_times():
    berlin = pd.Timestamp("2026-11-27", tz="Europe/Berlin")
    df = read_bounces(LOGS / "postfix-classic.log", as_of=berlin)
    assert row(df, "alice.smith@gmail.com")["timestamp"] == ts("2026-11-26 05:25:15")
    df = read_bounces(LOGS / "postfix-classic.log", as_of=datetime(2026, 11, 27, tzinfo=UTC))
    assert row(df, "alice.smith@gmail.com")["timestamp"] == ts("2026-11-26 06:25:15")


def test_expired_message_fails_its_deferred_recipients():
    df = read_bounces(LOGS / "postfix-expired.log", as_of=AS_OF)
    expired = df[df["position"] == 4]
    # slow@ was still deferred; late@ was delivered in between; the other queue id's
    # deferrals are not in this read, so its expiry names nobody
    assert expired["recipient"].tolist() == ["slow@dead-domain.example"]
    e = expired.iloc[0]
    assert (e["reason"], e["status"], e["sender"]) == ("expired", "4.4.1", "news@sender.example")
    assert e["kind"] != "deferred"
    assert e["timestamp"] == ts("2026-11-26 09:00:01")
    assert len(df) == 4


def test_gz_and_rotated_copies_give_the_same_events(tmp_path, classic):
    gz = tmp_path / "mail.log.2.gz"
    gz.write_bytes(gzip.compress((LOGS / "postfix-classic.log").read_bytes()))
    rotated = tmp_path / "mail.log.1"
    shutil.copy(LOGS / "postfix-classic.log", rotated)
    for path in (gz, rotated):
        df = read_bounces(path, as_of=AS_OF)
        assert df["event_id"].tolist() == classic["event_id"].tolist()
        assert df["position"].tolist() == classic["position"].tolist()
        assert set(df["source"]) == {str(path)}


def test_chunk_boundaries_do_not_change_the_result(monkeypatch, classic):
    for size in (97, 256, 1000):
        monkeypatch.setattr(R, "CHUNK_BYTES", size)
        df = read_bounces(LOGS / "postfix-classic.log", as_of=AS_OF)
        pd.testing.assert_frame_equal(df, classic)


def test_diagnostic_quoting_to_field_takes_the_line_path(tmp_path):
    text = (
        "Nov 26 06:25:16 mail postfix/smtp[1]: AAA1: to=<a@example.com>, relay=mx.example.com[192.0.2.1]:25, "
        "delay=1, delays=0/0/0/1, dsn=5.7.1, status=bounced (host mx.example.com[192.0.2.1] said: "
        "550 5.7.1 rejected: to=<a@example.com> looks like spam (in reply to end of DATA command))\n"
        "Nov 26 06:25:17 mail postfix/smtp[1]: AAA2: to=<b@example.com>, relay=mx.example.com[192.0.2.1]:25, "
        "delay=1, delays=0/0/0/1, dsn=2.0.0, status=sent (250 ok)\n"
    )
    p = tmp_path / "m.log"
    p.write_text(text)
    df = read_bounces(p, as_of=AS_OF)
    assert df["recipient"].tolist() == ["a@example.com", "b@example.com"]
    assert df["position"].tolist() == [1, 2]
    assert df["event_id"].tolist() == [event_id("postfix", ln, r, 0) for ln, r in zip(text.split("\n")[:2], df["recipient"], strict=True)]


def _bench_module():
    spec = importlib.util.spec_from_file_location("bench_bounces", ROOT / "benchmarks" / "bench_bounces.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_fast_reader_agrees_with_a_line_by_line_reference(tmp_path):
    """The column-wise reader against the simplest possible reading of the same log."""
    bench = _bench_module()
    path = tmp_path / "gen.log"
    bench.generate_postfix_log(path, 6000, seed=7)
    df = read_bounces(path, as_of="2026-12-31")
    rx = re.compile(r": to=<([^>]*)>, (?:orig_to=<([^>]*)>, )?relay=.*? dsn=([\d.]+), status=(\w+)")
    expected = []
    for n, line in enumerate(path.read_text().split("\n"), 1):
        if " postfix/" in line and (m := rx.search(line)):
            rcpt = m.group(2) or m.group(1)
            local, _, dom = rcpt.rpartition("@")
            expected.append((n, f"{local}@{dom.lower()}", m.group(3), m.group(4) == "sent", event_id("postfix", line, f"{local}@{dom.lower()}")))
    got = list(zip(df["position"], df["recipient"], df["status"], df["kind"] == "delivered", df["event_id"], strict=True))
    assert got == expected
    assert df.attrs["lines_read"] == 6000
    assert 0 < (df["kind"] != "delivered").sum() < len(df) * 0.2


def test_masked_classification_equals_plain_classification():
    """The reader classifies the masked text (one lookup per distinct outcome); on every
    failure text in the fixtures and the benchmark's provider texts that gives the same
    (reason, kind) as the text itself."""
    bench = _bench_module()
    texts = []
    for _host, _ip, word, dsn, tmpl in bench.FAILURES:
        diag = tmpl.format(tok="d9443c01a7", n=421, rcpt="x.y@example.com", domain="example.com")
        action = "delayed" if word == "deferred" else "failed"
        texts.append((action, dsn, diag))
    for r in read_bounces(LOGS / "postfix-classic.log", as_of=AS_OF).itertuples():
        if r.kind != "delivered":
            texts.append(("failed", r.status, r.diagnostic))
    assert len(texts) > 20
    for action, dsn, diag in texts:
        reply = R.smtp_codes(diag)[1]
        assert classify_parts(action, dsn, reply, mask_tokens(diag)) == classify_parts(action, dsn, reply, diag), diag


def test_mask_tokens_keeps_codes_and_words():
    t = "550-5.1.1 <Jo.Doe@x.com>: User unknown d9443c01a7336-2981a3bd35esi118.421 - gsmtp [203.0.113.7] 4.16.55.1"
    m = mask_tokens(t)
    assert m.startswith("550-5.1.1 <user@example.invalid>: User unknown 0 - gsmtp [0]")
    assert "Jo.Doe" not in m and "203.0.113.7" not in m
    assert mask_tokens("421 4.7.0 [TSS04] try later") == "421 4.7.0 [0] try later"


# --------------------------------------------------------------------------- postfix fast path
def read_both(data, **kw):
    """(fast, reference) readings of the same input: the column-wise Postfix reader and
    :meth:`Parser.feed_lines`, the straightforward line-by-line one."""
    from listcare.bounces.detectors import postfix as PF

    fast = read_bounces(data, **kw)
    PF.Parser.fast = False
    try:
        slow = read_bounces(data, **kw)
    finally:
        PF.Parser.fast = True
    return fast, slow


def assert_same_reading(fast, slow):
    pd.testing.assert_frame_equal(fast, slow, check_exact=True)
    assert fast.attrs == slow.attrs


@pytest.mark.parametrize("name", sorted(p.name for p in LOGS.glob("postfix-*.log")))
def test_fast_path_equals_reference_on_every_postfix_fixture(name, monkeypatch):
    as_of = "2027-01-02" if "newyear" in name else AS_OF
    for size in (97, 1000, R.CHUNK_BYTES):
        monkeypatch.setattr(R, "CHUNK_BYTES", size)
        fast, slow = read_both(LOGS / name, as_of=as_of)
        assert len(fast) > 0
        assert_same_reading(fast, slow)
    berlin = pd.Timestamp(AS_OF, tz="Europe/Berlin") if "newyear" not in name else pd.Timestamp("2027-01-02", tz="Europe/Berlin")
    assert_same_reading(*read_both(LOGS / name, as_of=berlin))


def test_fast_path_equals_reference_on_a_generated_log(tmp_path, monkeypatch):
    bench = _bench_module()
    path = tmp_path / "gen.log"
    bench.generate_postfix_log(path, 20_000, seed=11)
    # make it harder: upper-case domains, a second ": to=<" in a text, broken and unknown
    # lines, an expiry of a queue id that was deferred
    text = path.read_bytes().split(b"\n")
    deferred = next(i for i, ln in enumerate(text) if b"status=deferred" in ln)
    qid = text[deferred].split(b": ")[1]
    dl = [i for i, ln in enumerate(text) if b": to=<" in ln]
    text[dl[10]] = text[dl[10]].replace(b"@gmail.com", b"@GMail.COM")
    text[dl[20]] = text[dl[20]] + b" quoting: to=<x@y.example>, status=sent"
    text[dl[30]] = text[dl[30]].replace(b"status=", b"status=bogus")
    text[dl[40]] = text[dl[40]][:-20].replace(b"status=", b"status=b") + b"\xff"
    text.insert(deferred + 5, b"Nov 26 23:00:00 mail postfix/qmgr[999]: %b: from=<news@sender.example>, status=expired, returned to sender" % qid)
    path.write_bytes(b"\n".join(text))
    monkeypatch.setattr(R, "CHUNK_BYTES", 64 << 10)
    fast, slow = read_both(path, as_of="2026-12-31")
    assert len(fast) > 3000 and (fast["kind"] != "delivered").sum() > 100
    assert fast.attrs["errors"]["count"] == 2
    assert "GMail.COM" not in set(fast["recipient"]) and fast["recipient"].str.endswith("@gmail.com").sum() > 100
    assert_same_reading(fast, slow)


# the pieces of Postfix delivery lines, and what goes wrong with them in the wild
_STAMPS = [b"Nov 26 10:00:01", b"Nov  6 10:00:02", b"2026-11-26T10:00:03.5+01:00", b"Nov 26 2026 10:00:04",
           b"Nov 31 10:00:05", b"Feb 29 10:00:06"]
_QIDS = [b"0A1B2C3D4E", b"5B1C22D0B2", b"77"]
_RCPTS = [b"a@example.com", b"Bob.Jones@GMAIL.com", b"caf\xc3\xa9@Example.com", b"bad\xff@EX.com", b"", b"c@d", b"MiXeD@x.Y"]
_ORIG = [b"", b"orig_to=<List@Sender.example>, ", b"orig_to=<>, "]
_RELAYS = [b"mx.example.com[192.0.2.1]:25", b"none", b"local", b"private/dovecot-lmtp", b"gmail-smtp-in.l.google.com[142.250.27.26]:25"]
_OUTCOMES = [
    (b"2.0.0", b"sent", b" (250 2.0.0 Ok: queued as 4dHz1k0Q2Nz9v)"),
    (b"2.0.0", b"sent", b" (250 ok)"),
    (b"2.0.0", b"sent", b""),
    (b"2.0.0", b"sent", b" (delivered via dovecot service \xe9)"),
    (b"5.1.1", b"bounced", b" (host mx.example.com[192.0.2.1] said: 550 5.1.1 <a@example.com>: User unknown (in reply to RCPT TO command))"),
    (b"5.7.1", b"bounced", b" (host mx.example.com[192.0.2.1] said: 554 5.7.1 Client host [203.0.113.7] blocked using zen.spamhaus.org (in reply to RCPT TO command))"),
    (b"4.4.1", b"deferred", b" (connect to mx.dead-domain.example[198.51.100.99]:25: Connection timed out)"),
    (b"4.2.2", b"SOFTBOUNCE", b" (host mx said: 452 4.2.2 Mailbox full)"),
    (b"5.4.7", b"expired", b", returned to sender"),
    (b"5.0.0", b"undeliverable", b" (undeliverable address: host or domain name not found)"),
    (b"2.0.0", b"deliverable", b" (delivers to mailbox)"),
    (b"5.1.1", b"bogus", b" (x)"),
    (b"5.1.1", b"bounc", b""),
]
_NOISE = [
    b"Nov 26 10:00:00 mail postfix/qmgr[1187]: 0A1B2C3D4E: from=<news@sender.example>, status=expired, returned to sender",
    b"Nov 26 10:00:00 mail postfix/qmgr[1187]: 77: from=<>, status=expired, returned to sender",
    b"Nov 26 10:00:00 mail postfix/smtpd[1]: NOQUEUE: reject: RCPT from x[198.51.100.1]: 550 5.1.1 <n@s.example>: "
    b"Recipient address rejected; from=<x@y.example> to=<n@s.example> proto=ESMTP",
    b"Nov 26 10:00:00 mail postfix/qmgr[1187]: 0A1B2C3D4E: removed",
    b"Nov 26 10:00:00 mail dovecot: imap-login: user=<a@b.example>",
    b"",
]

_line = st.builds(
    lambda ts, pid, qid, rcpt, orig, relay, out: (
        b"%b mail postfix/smtp%b: %b: to=<%b>, %brelay=%b, delay=1, delays=0/0/0/1, dsn=%b, status=%b%b"
        % (ts, pid, qid, rcpt, orig, relay, *out)),
    st.sampled_from(_STAMPS), st.sampled_from([b"[3125]", b""]), st.sampled_from(_QIDS), st.sampled_from(_RCPTS),
    st.sampled_from(_ORIG), st.sampled_from(_RELAYS), st.sampled_from(_OUTCOMES),
)
_edit = st.one_of(
    st.tuples(st.just("cut"), st.integers(0, 250)),
    st.tuples(st.just("insert"), st.integers(0, 250),
              st.sampled_from([b": to=<", b"x", b"\xff", b"\r", b"\n", b", ", b">", b"<", b" ", b"\x00", b"A"])),
)


def _edited(line: bytes, edits) -> bytes:
    for e in edits:
        line = line[: e[1]] if e[0] == "cut" else line[: e[1]] + e[2] + line[e[1]:]
    return line


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.one_of(_line, st.sampled_from(_NOISE)), st.lists(_edit, max_size=2)), min_size=1, max_size=30),
       st.booleans(), st.sampled_from([64, 300, 1 << 20]), st.sampled_from(["report", "raise"]))
def test_fast_path_equals_reference_on_generated_lines(lines, final_newline, chunk, errors):
    """Whatever the lines (upper-case domains, orig_to, undecodable bytes, a second
    ": to=<", unknown or truncated statuses, bad dates, expiries of deferred queue ids, a
    chunk boundary anywhere): the fast path gives exactly the reference's rows, errors,
    offsets and -- in errors="raise" mode -- the same first error."""
    data = b"\n".join(_edited(ln, edits) for ln, edits in lines) + (b"\n" if final_newline else b"")
    old = R.CHUNK_BYTES
    R.CHUNK_BYTES = chunk
    try:
        outcome = []
        for fast in (True, False):
            from listcare.bounces.detectors import postfix as PF

            PF.Parser.fast = fast
            try:
                outcome.append(read_bounces(data, format="postfix", as_of=AS_OF, errors=errors))
            except InputError as exc:
                outcome.append(str(exc))
            finally:
                PF.Parser.fast = True
    finally:
        R.CHUNK_BYTES = old
    fast, slow = outcome
    if isinstance(fast, str) or isinstance(slow, str):
        assert fast == slow
    else:
        assert_same_reading(fast, slow)


def _mask_reference(text: str) -> str:
    """mask_tokens as first written: one Python callback per token."""
    return R._TOKEN_RE.sub(R._mask_token, R._ADDR_RE.sub("user@example.invalid", text))


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="aZ_0123459.-- @<>[]:;,\n\u00e9\u0663", max_size=60))
def test_mask_regex_equals_the_per_token_rule(text):
    assert mask_tokens(text) == _mask_reference(text)


def test_mask_regex_equals_the_per_token_rule_on_real_texts():
    bench = _bench_module()
    texts = [t.format(tok="d9443c01a7", n=421, rcpt="Jo.Doe@example.com", domain="example.com") for *_, t in bench.FAILURES]
    texts += [r.diagnostic for r in read_bounces(LOGS / "postfix-classic.log", as_of=AS_OF).itertuples() if r.diagnostic]
    texts += ["..1234 -550-5.1.1- 12345 5.7.1. x1y2z 550-5.1.1x 4.16.55.1 [TSS04]"]
    assert len(texts) > 20
    for t in texts:
        assert mask_tokens(t) == _mask_reference(t), t


# --------------------------------------------------------------------------- exim
def test_exim_mainlog():
    df = read_bounces(LOGS / "exim-mainlog")
    assert df.attrs["formats"] == {str(LOGS / "exim-mainlog"): "exim"}
    got = {r.recipient: (r.kind, r.position) for r in df.itertuples()}
    assert got == {
        "alice@example.net": ("delivered", 2),
        "bob@example.net": ("delivered", 3),  # "->": same delivery, another address
        "carol@example-corp.com": ("hard", 4),
        "dave@yahoo.com": ("deferred", 5),
        "erin@nosuchdomain-4711.example": ("hard", 6),  # "** a@x: Unrouteable address"
        "Frank.List@sender.example": ("soft", 7),  # "** final <original>": the original
        "grace@example.net": ("delivered", 9),
        "heidi@dead-domain.example": ("soft", 10),  # retry timeout exceeded
    }
    carol = row(df, "carol@example-corp.com")
    assert (carol["status"], carol["reply_code"], carol["remote_mta"], carol["queue_id"]) == (
        "5.1.1", "550", "mx.example-corp.com", "1tAbCd-0001Xy-AB")
    assert row(df, "alice@example.net")["diagnostic"] == "250 2.0.0 Ok: queued as 4dHz1k0Q2Nz9v"
    assert row(df, "erin@nosuchdomain-4711.example")["diagnostic"] == "Unrouteable address"
    assert row(df, "heidi@dead-domain.example")["reason"] == "expired"
    # +millisec and log_timezone: 10:00:06.123 +0100
    assert row(df, "grace@example.net")["timestamp"] == ts("2026-11-26 09:00:06.123")
    lines = lines_of(LOGS / "exim-mainlog")
    assert all(r.event_id == event_id("exim", lines[r.position - 1], r.recipient, 0) for r in df.itertuples())


# --------------------------------------------------------------------------- sendmail
def test_sendmail_maillog():
    df = read_bounces(LOGS / "sendmail-maillog", as_of=AS_OF)
    assert df.attrs["formats"] == {str(LOGS / "sendmail-maillog"): "sendmail"}
    got = [(r.recipient, r.kind, r.status, r.position) for r in df.itertuples()]
    assert got == [
        ("alice@example.net", "delivered", "2.0.0", 2),
        ("bob@example-corp.com", "hard", "5.1.1", 3),  # to= with two recipients: two rows
        ("carol@example-corp.com", "hard", "5.1.1", 3),
        ("dave@dead-domain.example", "deferred", "4.0.0", 5),
        ("erin@yahoo.com", "deferred", "4.7.0", 6),
        ("grace@nosuchdomain-4711.example", "hard", "5.1.2", 8),  # stat=queued is no outcome
    ]
    assert row(df, "alice@example.net")["remote_mta"] == "mx.example.net"
    assert row(df, "erin@yahoo.com")["reply_code"] == "421"
    lines = lines_of(LOGS / "sendmail-maillog")
    ids = [event_id("sendmail", lines[2], "bob@example-corp.com", 0), event_id("sendmail", lines[2], "carol@example-corp.com", 1)]
    assert df["event_id"].tolist()[1:3] == ids


@pytest.mark.parametrize("year", ["9026", "1026"])
def test_a_time_outside_datetime64_is_kept_without_a_time(year):
    """pandas holds nanosecond times from 1677 to 2262: a line dated outside keeps its row,
    with no time and a reported error, instead of overflowing the timestamp column."""
    line = f"{year}-11-26T10:00:03 h postfix/smtp[2]: Q: to=<e@f.de>, relay=, dsn=2.0.0, status=sent ()\n"
    df = read_bounces(line.encode(), as_of="2026-11-27")
    assert df["recipient"].tolist() == ["e@f.de"] and df["timestamp"].isna().all()
    assert df.attrs["errors"]["count"] == 1
