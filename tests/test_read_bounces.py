"""read_bounces: inputs, sniffing, incremental offsets, bad input, the CLI command."""

from __future__ import annotations

import gzip
import io
import os

import pandas as pd
import pytest
from click.testing import CliRunner

from listcare import schema
from listcare.bounces import read as R
from listcare.bounces.read import read_bounces
from listcare.cli import main
from listcare.exceptions import ConfigError, InputError, OutputError

from .conftest import FIXTURES

LOGS = FIXTURES / "logs"
AS_OF = "2026-11-27"
LINE = ("Nov 26 10:{m:02d}:{s:02d} mail postfix/smtp[1]: Q{n:05d}: to=<user{n}@example.com>, "
        "relay=mx.example.com[192.0.2.1]:25, delay=1, delays=0/0/0/1, dsn={dsn}, status={st} ({diag})\n")


def log_lines(start: int, count: int, fail_every: int = 3) -> str:
    out = []
    for n in range(start, start + count):
        if n % fail_every == 0:
            out.append(LINE.format(m=n // 60 % 60, s=n % 60, n=n, dsn="5.1.1", st="bounced",
                                   diag="host mx.example.com[192.0.2.1] said: 550 5.1.1 User unknown (in reply to RCPT TO command)"))
        else:
            out.append(LINE.format(m=n // 60 % 60, s=n % 60, n=n, dsn="2.0.0", st="sent", diag="250 ok"))
        out.append(f"Nov 26 10:00:00 mail postfix/qmgr[2]: Q{n:05d}: removed\n")
    return "".join(out)


# --------------------------------------------------------------------------- inputs
def test_empty_input_gives_the_schema():
    df = read_bounces([])
    assert list(df.columns) == list(schema.EVENT_COLUMNS)
    assert {c: str(t) for c, t in df.dtypes.items()} == schema.EVENT_COLUMNS
    assert df.attrs["errors"] == {"count": 0, "samples": []}


def test_buffers_and_bytes(tmp_path):
    data = (LOGS / "postfix-classic.log").read_bytes()
    from_path = read_bounces(LOGS / "postfix-classic.log", as_of=AS_OF)
    from_buf = read_bounces(io.BytesIO(data), as_of=AS_OF)
    from_bytes = read_bounces(data, as_of=AS_OF)
    for df in (from_buf, from_bytes):
        assert df["event_id"].tolist() == from_path["event_id"].tolist()
    assert from_buf["source"].iloc[0] == "<buffer 1>"
    with open(LOGS / "postfix-classic.log", encoding="utf-8") as text_mode:
        with pytest.raises(InputError, match="binary mode"):
            read_bounces(text_mode, as_of=AS_OF)


def test_unopenable_input_always_raises(tmp_path):
    for mode in ("report", "ignore", "raise"):
        with pytest.raises(InputError, match="Cannot open"):
            read_bounces(tmp_path / "missing.log", errors=mode)
    with pytest.raises(InputError):
        read_bounces([42])


def test_bad_options_are_config_errors():
    with pytest.raises(ConfigError):
        read_bounces([], format="qmail-log")
    with pytest.raises(ConfigError):
        read_bounces([], errors="shout")
    with pytest.raises(ConfigError):
        read_bounces([], as_of="not a date")


def test_formats_are_sniffed_per_file(tmp_path):
    gz = tmp_path / "exim.gz"
    gz.write_bytes(gzip.compress((LOGS / "exim-mainlog").read_bytes()))
    files = [LOGS / "postfix-classic.log", gz, LOGS / "sendmail-maillog",
             FIXTURES / "providers" / "postmark-bounces.json", FIXTURES / "providers" / "mailchimp-cleaned.csv"]
    df = read_bounces(files, as_of=AS_OF)
    assert list(df.attrs["formats"].values()) == ["postfix", "exim", "sendmail", "postmark", "mailchimp"]
    assert df["source"].drop_duplicates().tolist() == [str(f) for f in files]


def test_mail_sources_go_to_the_mail_reader():
    bounces = FIXTURES / "bounces"
    eml = bounces / "dsn_postfix_two_recipients.eml"
    df = read_bounces(eml)
    assert df.attrs["formats"] == {str(eml): "mail"}
    assert len(df) == 2 and set(df["source_format"]) == {"mail"}
    assert df["position"].tolist() == [1, 1]
    assert df["event_id"].is_unique  # one message, two recipients: index tells them apart
    folder = read_bounces(bounces)  # a folder of messages (Maildir-like)
    # each file is an input of its own: its events name it, and its format is its own
    files = sorted(p for p in bounces.iterdir() if p.is_file() and not p.name.startswith("."))
    assert list(folder.attrs["formats"]) == [str(f) for f in files]
    assert set(folder.attrs["formats"].values()) == {"mail"}
    assert set(folder["source"]) <= {str(f) for f in files}
    assert len(folder) > len(df)
    assert set(df["event_id"]) <= set(folder["event_id"])  # same evidence, same ids
    two = folder[folder["source"] == str(eml)]
    assert two["position"].tolist() == [1, 1]


def test_a_folder_may_mix_formats_and_each_event_names_its_file(tmp_path):
    (tmp_path / "mail.log").write_bytes((LOGS / "postfix-classic.log").read_bytes())
    (tmp_path / "ses.json").write_bytes((FIXTURES / "providers" / "ses-notification-bounce.json").read_bytes())
    (tmp_path / "one.eml").write_bytes((FIXTURES / "bounces" / "dsn_postfix_two_recipients.eml").read_bytes())
    df = read_bounces(tmp_path, as_of=AS_OF)
    assert df.attrs["formats"] == {
        str(tmp_path / "mail.log"): "postfix",
        str(tmp_path / "one.eml"): "mail",
        str(tmp_path / "ses.json"): "ses",
    }
    assert set(df["source"]) == set(df.attrs["formats"])


# --------------------------------------------------------------------------- offsets
def test_incremental_reading_with_offsets(tmp_path):
    path = tmp_path / "mail.log"
    path.write_text(log_lines(0, 30))
    first = read_bounces(path, as_of=AS_OF)
    end = first.attrs["offsets"][str(path)]
    assert end == path.stat().st_size
    with open(path, "a") as f:
        f.write(log_lines(30, 12))
    second = read_bounces(path, as_of=AS_OF, offsets=first.attrs["offsets"])
    assert second["recipient"].tolist() == [f"user{n}@example.com" for n in range(30, 42)]
    assert second["position"].tolist() == [61 + 2 * i for i in range(12)]  # true line numbers
    assert second.attrs["offsets"][str(path)] == path.stat().st_size
    whole = read_bounces(path, as_of=AS_OF)
    both = pd.concat([first, second], ignore_index=True)
    assert both["event_id"].tolist() == whole["event_id"].tolist()
    # nothing new: nothing read, offset unchanged
    third = read_bounces(path, as_of=AS_OF, offsets=second.attrs["offsets"])
    assert len(third) == 0 and third.attrs["offsets"] == second.attrs["offsets"]


def test_offsets_in_gz_count_uncompressed_bytes(tmp_path):
    text = log_lines(0, 20)
    gz = tmp_path / "mail.log.1.gz"
    gz.write_bytes(gzip.compress(text.encode()))
    df = read_bounces(gz, as_of=AS_OF)
    assert df.attrs["offsets"][str(gz)] == len(text.encode())
    half = text.index("Q00010: to=")
    half = text.rindex("\n", 0, half) + 1
    rest = read_bounces(gz, as_of=AS_OF, offsets={gz: half})
    assert rest["recipient"].tolist() == [f"user{n}@example.com" for n in range(10, 20)]


def test_offset_inside_a_line_and_truncated_file(tmp_path):
    path = tmp_path / "mail.log"
    path.write_text(log_lines(0, 10))
    inside = read_bounces(path, as_of=AS_OF, offsets={str(path): 5})
    assert inside["recipient"].iloc[0] == "user1@example.com"  # the cut first line is skipped
    # copytruncate: the file is now shorter than the saved offset -> read from the start
    big = read_bounces(path, as_of=AS_OF, offsets={str(path): 10**9})
    assert len(big) == 10


def test_unterminated_last_line_is_read_but_not_past_the_offset(tmp_path):
    path = tmp_path / "mail.log"
    text = log_lines(0, 4)
    path.write_text(text.rstrip("\n"))
    df = read_bounces(path, as_of=AS_OF)
    assert len(df) == 4
    assert df.attrs["offsets"][str(path)] == text.rstrip("\n").rfind("\n") + 1
    path.write_text(text + log_lines(4, 1))
    again = read_bounces(path, as_of=AS_OF, offsets=df.attrs["offsets"])
    assert again["recipient"].tolist() == ["user4@example.com"]


# --------------------------------------------------------------------------- bad input
def test_long_lines_are_skipped_in_constant_memory(tmp_path, monkeypatch):
    monkeypatch.setattr(R, "CHUNK_BYTES", 4096)
    path = tmp_path / "mail.log"
    with open(path, "w") as f:
        f.write(log_lines(0, 2))
        f.write("Nov 26 10:00:00 mail postfix/smtp[1]: " + "x" * 200_000 + "\n")
        f.write(log_lines(2, 2))
    df = read_bounces(path, as_of=AS_OF)
    assert df["recipient"].tolist() == [f"user{n}@example.com" for n in range(4)]
    assert df["position"].tolist() == [1, 3, 6, 8]
    assert df.attrs["errors"]["count"] == 1
    assert df.attrs["errors"]["samples"][0][1:] == (5, f"line longer than {R.MAX_LINE_BYTES} bytes: skipped")
    assert df.attrs["lines_read"] == 9


def test_error_modes(tmp_path):
    path = tmp_path / "mail.log"
    bad = "Nov 26 10:00:00 mail postfix/smtp[1]: Q9: to=<x@example.com>, relay=none, delay=1, dsn=5.1.1, status=bogus (x)\n"
    path.write_text(log_lines(0, 2) + bad * 30 + log_lines(2, 2))
    rep = read_bounces(path, as_of=AS_OF)
    assert len(rep) == 4
    assert rep.attrs["errors"]["count"] == 30
    assert len(rep.attrs["errors"]["samples"]) == R.MAX_ERROR_SAMPLES
    assert rep.attrs["errors"]["samples"][0][:2] == (str(path), 5)
    ign = read_bounces(path, as_of=AS_OF, errors="ignore")
    assert ign["event_id"].tolist() == rep["event_id"].tolist()
    assert ign.attrs["errors"]["samples"] == []
    with pytest.raises(InputError, match=r"mail.log:5: .*bogus"):
        read_bounces(path, as_of=AS_OF, errors="raise")


def test_binary_and_unknown_files_are_reported(tmp_path):
    junk = tmp_path / "junk.bin"
    junk.write_bytes(bytes(range(256)) * 50)
    empty = tmp_path / "empty.log"
    empty.write_bytes(b"")
    df = read_bounces([junk, empty, LOGS / "exim-mainlog"])
    assert len(df) == 8
    assert df.attrs["errors"]["count"] == 1
    assert df.attrs["errors"]["samples"][0][0] == str(junk)
    with pytest.raises(InputError, match="not recognised"):
        read_bounces(junk, errors="raise")


def test_corrupt_gz_reads_what_it_can(tmp_path):
    data = gzip.compress(log_lines(0, 200).encode())
    gz = tmp_path / "cut.gz"
    gz.write_bytes(data[: len(data) // 2])
    df = read_bounces(gz, as_of=AS_OF)
    assert 0 < len(df) < 200
    assert df.attrs["errors"]["count"] >= 1
    assert df["position"].is_monotonic_increasing


def test_latin1_diagnostic_is_decoded_not_dropped(tmp_path):
    path = tmp_path / "mail.log"
    line = LINE.format(m=0, s=1, n=1, dsn="5.1.1", st="bounced",
                       diag="host mx.example.com[192.0.2.1] said: 550 5.1.1 Empf\xe4nger unbekannt (in reply to RCPT TO command)")
    path.write_bytes(line.encode("latin-1"))
    df = read_bounces(path, as_of=AS_OF)
    assert df["diagnostic"].iloc[0].startswith("550 5.1.1 Empf\xe4nger")
    assert df.attrs["errors"]["count"] == 0


# --------------------------------------------------------------------------- CLI
def test_cli_bounces_writes_events_and_summary(tmp_path):
    out = tmp_path / "events.csv"
    res = CliRunner().invoke(main, ["bounces", str(LOGS / "postfix-classic.log"), str(LOGS / "exim-mainlog"),
                                    "-o", str(out), "--as-of", AS_OF])
    assert res.exit_code == 0, res.output
    assert "20 events from 2 files" in res.output
    assert "hard" in res.output and "userunknown" in res.output
    assert "skipped             1" in res.output
    assert "postfix-classic.log:26" in res.output
    back = pd.read_csv(out, dtype=str)
    assert list(back.columns) == list(schema.EVENT_COLUMNS)
    assert len(back) == 20
    assert oct(os.stat(out).st_mode & 0o777) == "0o600"


def test_cli_bounces_errors_have_exit_codes(tmp_path):
    out = tmp_path / "events.csv"
    res = CliRunner().invoke(main, ["bounces", str(LOGS / "postfix-classic.log"), "-o", str(out)])
    assert res.exit_code == ConfigError.exit_code and "as_of" in res.output
    res = CliRunner().invoke(main, ["bounces", str(tmp_path / "nope.log"), "-o", str(out)])
    assert res.exit_code == InputError.exit_code
    assert not out.exists()
    # the output is one of the inputs: refused, the log left as it was
    log = tmp_path / "v.log"
    log.write_bytes((LOGS / "postfix-classic.log").read_bytes())
    res = CliRunner().invoke(
        main, ["bounces", str(log), "-o", str(log), "--as-of", "2026-11-27"]
    )
    assert res.exit_code == OutputError.exit_code and "Refusing to write" in res.output
    assert log.read_bytes() == (LOGS / "postfix-classic.log").read_bytes()


def test_a_bounce_quoting_log_lines_is_still_mail(tmp_path):
    quoted = (LOGS / "postfix-classic.log").read_text().split("\n")[7]
    msg = (
        "From: MAILER-DAEMON@mail.sender.example\nTo: news@sender.example\n"
        "Subject: Undelivered Mail Returned to Sender\nDate: Thu, 26 Nov 2026 06:25:16 +0000\n"
        "Message-ID: <x1@mail.sender.example>\n\n"
        "I'm sorry to have to inform you that your message could not be delivered.\n"
        "<Bob.Jones@gmail.com>: host gmail-smtp-in.l.google.com said: 550 5.1.1 no such user\n\n"
        f"Log excerpt:\n{quoted}\n"
    )
    p = tmp_path / "bounce.eml"
    p.write_text(msg)
    df = read_bounces(p)
    assert df.attrs["formats"] == {str(p): "mail"}


def test_json_export_larger_than_the_sniff_window_is_read_whole(tmp_path):
    """A provider export bigger than the format sniffer's look-ahead must still parse as one
    JSON document (a short read used to hand json.load only the sniffed head)."""
    import json

    from listcare.bounces import read as read_mod

    one = json.loads((FIXTURES / "providers" / "ses-notification-bounce.json").read_text())
    n = read_mod.SNIFF_BYTES // len(json.dumps(one)) + 50
    records = []
    for i in range(n):
        rec = json.loads(json.dumps(one))
        rec["mail"]["messageId"] = f"msg-{i}"
        records.append(rec)
    path = tmp_path / "ses-big.json"
    path.write_text(json.dumps(records, indent=2))
    assert path.stat().st_size > read_mod.SNIFF_BYTES
    df = read_bounces([path])
    assert df.attrs["errors"]["count"] == 0
    per_record = len(read_bounces([FIXTURES / "providers" / "ses-notification-bounce.json"]))
    assert per_record >= 1
    assert len(df) == n * per_record
    assert df["event_id"].is_unique


@pytest.mark.parametrize("name", ["postfix.log", "bounces", "ses.json"])
def test_bundled_example_evidence_reads_without_a_skipped_record(name):
    from listcare import example_path

    df = read_bounces([example_path(name)], as_of="2026-11-01")
    assert len(df) > 0
    assert df.attrs["errors"]["count"] == 0, df.attrs["errors"]["samples"][:3]
    assert df["event_id"].is_unique


def test_cli_bounces_creates_the_folder_and_defuses_formulas_in_diagnostics(tmp_path):
    """A hostile remote server's text must not turn into a live spreadsheet formula."""
    log = tmp_path / "mail.log"
    log.write_text(
        "Nov 26 06:25:16 mail postfix/smtp[3126]: 5B1C22D0B2: to=<bob@evil.example.com>, "
        "relay=mx.evil.example.com[192.0.2.1]:25, delay=0.9, delays=0.03/0/0.41/0.45, dsn=5.1.1, "
        "status=bounced (=HYPERLINK(\"http://x\",\"y\"))\n"
    )
    out = tmp_path / "new" / "dir" / "events.csv"
    res = CliRunner().invoke(main, ["bounces", str(log), "-o", str(out), "--as-of", AS_OF])
    assert res.exit_code == 0, res.output
    back = pd.read_csv(out, dtype=str, keep_default_na=False)
    assert len(back) == 1
    assert back.loc[0, "diagnostic"].startswith("'=HYPERLINK")
    assert read_bounces(log, as_of=AS_OF).loc[0, "diagnostic"].startswith("=HYPERLINK")


@pytest.mark.parametrize("cut", [10, 30, 60, 150])
def test_a_gz_cut_off_early_is_reported_not_silently_empty(tmp_path, cut):
    import gzip as gz

    data = gz.compress((LOGS / "postfix-classic.log").read_bytes())
    p = tmp_path / "mail.log.1.gz"
    p.write_bytes(data[:cut])
    df = read_bounces(p, as_of="2026-11-27")
    errs = df.attrs["errors"]
    assert errs["count"] >= 1
    assert any("truncated" in m or "corrupt" in m or "ends early" in m for _, _, m in errs["samples"])


def test_the_same_evidence_given_twice_is_one_event(tmp_path):
    import gzip as gz

    log = LOGS / "postfix-classic.log"
    copy = tmp_path / "mail.log.1.gz"
    copy.write_bytes(gz.compress(log.read_bytes()))
    once = read_bounces(log, as_of="2026-11-27")
    twice = read_bounces([log, log, copy], as_of="2026-11-27")
    assert len(once) > 0 and twice["event_id"].tolist() == once["event_id"].tolist()
    assert twice.attrs["duplicates"] == 2 * len(once)
    res = CliRunner().invoke(
        main, ["bounces", str(log), str(copy), "-o", str(tmp_path / "e.csv"), "--as-of", "2026-11-27"]
    )
    assert res.exit_code == 0 and "duplicates" in res.output
    assert len(pd.read_csv(tmp_path / "e.csv")) == len(once)


@pytest.mark.parametrize(("fast", "compiled"), [(True, True), (True, False), (False, False)])
def test_a_latin1_postfix_line_gives_a_latin1_recipient(tmp_path, monkeypatch, fast, compiled):
    """Every field of a Latin-1 log line is read as Latin-1, the recipient too (it must
    match the contact): compiled scanner, pure-Python fast path and line by line alike."""
    from listcare.bounces.detectors import postfix

    if compiled and postfix._postfix_scan is None:
        pytest.skip("the compiled scanner is not built here (tests/test_postfix_scan.py fails under CI)")
    monkeypatch.setattr(postfix.Parser, "fast", fast)
    monkeypatch.setattr(postfix.Parser, "compiled", compiled)
    line = (
        "Nov 26 06:25:16 mail postfix/smtp[123]: ABC123: to=<müller@bäcker.de>, "
        "relay=mx.bäcker.de[192.0.2.1]:25, delay=1, delays=0/0/0/1, dsn=5.1.1, "
        "status=bounced (host mx said: 550 5.1.1 Empfänger unbekannt)\n"
    )
    p = tmp_path / "mail.log"
    p.write_bytes(line.encode("latin-1"))
    df = read_bounces(p, as_of="2026-11-27")
    assert df["recipient"].tolist() == ["müller@bäcker.de"]
    assert "Empfänger" in df["diagnostic"].iloc[0]


def test_a_folder_file_that_cannot_be_opened_is_one_error_and_no_output_goes_into_an_input(tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "a.eml").write_bytes((FIXTURES / "bounces" / "dsn_postfix_two_recipients.eml").read_bytes())
    (folder / "gone.eml").symlink_to(tmp_path / "nowhere.eml")  # moved away since the listing
    df = read_bounces(folder)
    assert len(df) == 2 and df.attrs["errors"]["count"] == 1
    assert df.attrs["errors"]["samples"][0][0] == str(folder / "gone.eml")
    res = CliRunner().invoke(main, ["bounces", str(folder), "-o", str(folder / "events.csv")])
    assert res.exit_code == OutputError.exit_code and "a folder read as input" in res.output
    assert not (folder / "events.csv").exists()


@pytest.mark.parametrize(("fast", "compiled"), [(True, True), (True, False), (False, False)])
def test_a_log_read_in_batches_gives_the_rows_of_one_read(tmp_path, monkeypatch, fast, compiled):
    """on_batch gets every row instead of the result, in input order: a long log a batch
    at a time while the rest is read, then the rest of each input before the next one
    (a rotated log's rest before the new log's batches). Joined, they are the rows of one
    read, with its offsets and counts, in every parser mode (the compiled scanner holds a
    block back: its rows come with the next)."""
    from listcare.bounces.detectors import postfix

    if compiled and postfix._postfix_scan is None:
        pytest.skip("the compiled scanner is not built here (tests/test_postfix_scan.py fails under CI)")
    monkeypatch.setattr(postfix.Parser, "fast", fast)
    monkeypatch.setattr(postfix.Parser, "compiled", compiled)
    monkeypatch.setattr(R, "CHUNK_BYTES", 4096)
    old, new = tmp_path / "mail.log.1", tmp_path / "mail.log"
    old.write_text(log_lines(0, 90))
    new.write_text(log_lines(90, 400) + "Nov 26 10:00:00 mail postfix/qmgr[2]: noise\n")
    offsets = {str(old): len(log_lines(0, 20).encode())}  # read on an earlier night
    whole = read_bounces([old, new], as_of=AS_OF, offsets=offsets)
    batches: list[pd.DataFrame] = []
    rest = read_bounces(
        [old, new], as_of=AS_OF, offsets=offsets, on_batch=batches.append, batch_rows=60
    )
    assert len(rest) == 0 and len(batches) >= 4
    assert batches[0]["source"].iloc[0] == str(old)  # the rotated log's rest first
    joined = pd.concat(batches, ignore_index=True)
    pd.testing.assert_frame_equal(joined, whole.reset_index(drop=True))
    for key in ("offsets", "lines_read", "errors"):
        assert rest.attrs[key] == whole.attrs[key], key
    with pytest.raises(Exception, match="on_batch"):
        read_bounces(new, as_of=AS_OF, on_batch="store", batch_rows=60)


def test_a_read_from_a_known_line_count_starts_at_its_offset(tmp_path, monkeypatch):
    """lines={path: n} (attrs["lines"] of the read that gave the offset): a plain file is
    read from its offset without reading what lies before it, with the same rows,
    positions and attrs as a read that counts; an offset inside a line, or a .gz,
    counts as before (a wrong hint cannot shift positions there)."""
    path = tmp_path / "mail.log"
    first_text = log_lines(0, 30) + "Nov 26 10:00:00 mail postfix/smtp[1]: no newline yet"
    path.write_text(first_text)
    first = read_bounces(path, as_of=AS_OF)
    off, n = first.attrs["offsets"][str(path)], first.attrs["lines"][str(path)]
    assert n == first_text.encode()[:off].count(b"\n") == 60
    path.write_text(first_text + "\n" + log_lines(30, 10))
    counted = read_bounces(path, as_of=AS_OF, offsets={path: off})
    skips = []
    real = R.LogChunks._skip_to
    monkeypatch.setattr(R.LogChunks, "_skip_to", lambda self, o: skips.append(o) or real(self, o))
    started = read_bounces(path, as_of=AS_OF, offsets={path: off}, lines={path: n})
    assert skips == []
    pd.testing.assert_frame_equal(started, counted)
    for key in ("offsets", "lines", "lines_read"):
        assert started.attrs[key] == counted.attrs[key], key
    inside = read_bounces(path, as_of=AS_OF, offsets={path: off - 5}, lines={path: 999})
    assert skips == [off - 5]
    pd.testing.assert_frame_equal(inside, read_bounces(path, as_of=AS_OF, offsets={path: off - 5}))
    gz = tmp_path / "mail.log.1.gz"
    gz.write_bytes(gzip.compress(path.read_bytes()))
    zipped = read_bounces(gz, as_of=AS_OF, offsets={gz: off}, lines={gz: n})
    assert skips[-1] == off and zipped["position"].tolist() == counted["position"].tolist()


def test_a_postfix_line_that_names_no_recipient_is_counted_not_stored(tmp_path):
    head = "Nov 26 10:00:00 mail postfix/smtp[1]: ABC123: "
    tail = ("relay=mx.x.example[192.0.2.1]:25, delay=1, delays=0/0/0/1, dsn=5.1.1, "
            "status=bounced (host mx said: 550 5.1.1 User unknown (in reply to RCPT TO command))\n")
    (tmp_path / "m.log").write_text(
        head + "to=<>, " + tail + head + "to=<>, orig_to=<list@x.example>, " + tail
    )
    for batch in (None, 1):
        got = []
        kw = {} if batch is None else {"on_batch": got.append, "batch_rows": 1}
        df = read_bounces([tmp_path / "m.log"], as_of="2026-11-27", **kw)
        rows = df if batch is None else pd.concat(got)
        assert rows["recipient"].tolist() == ["list@x.example"]
        assert df.attrs["errors"]["count"] == 1
        assert "names no recipient" in df.attrs["errors"]["samples"][0][2]


@pytest.mark.parametrize("size", ["small", "large"])
def test_a_gz_with_a_bad_checksum_keeps_every_line_before_the_damage(tmp_path, size):
    """zlib drops a whole call's output when the trailer's CRC is wrong: the good lines
    of the last piece (all of a small file) must not go with it."""
    import gzip

    from listcare.contacts import example_path

    text = example_path("postfix.log").read_bytes()
    if size == "small":
        text = b"".join(text.splitlines(keepends=True)[:400])
    good = gzip.compress(text)
    (tmp_path / "good.log.gz").write_bytes(good)
    (tmp_path / "bad.log.gz").write_bytes(good[:-8] + b"\0\0\0\0" + good[-4:])  # CRC zeroed
    want = read_bounces([tmp_path / "good.log.gz"], as_of="2026-11-01")
    got = read_bounces([tmp_path / "bad.log.gz"], as_of="2026-11-01")
    assert len(want) > 0 and got["event_id"].tolist() == want["event_id"].tolist()
    assert got.attrs["errors"]["count"] == 1 and "corrupt" in got.attrs["errors"]["samples"][0][2]


def test_a_dotted_as_of_is_day_first_for_the_log_clock_the_store_and_the_policy(tmp_path):
    """01.11.2026 is 1 November everywhere an as_of is read (pandas alone says 11 January,
    and the syslog years of a November log would then fall in 2025)."""
    from listcare.policy import _to_utc as policy_utc
    from listcare.store import _to_utc as store_utc

    line = ("Oct 30 10:00:00 mail postfix/smtp[1]: ABC123: to=<a@x.example>, relay=mx[192.0.2.1]:25, "
            "delay=1, delays=0/0/0/1, dsn=5.1.1, status=bounced (host mx said: 550 5.1.1 unknown "
            "(in reply to RCPT TO command))\n")
    (tmp_path / "m.log").write_text(line)
    dotted = read_bounces([tmp_path / "m.log"], as_of="01.11.2026")
    iso = read_bounces([tmp_path / "m.log"], as_of="2026-11-01")
    assert dotted["timestamp"].tolist() == iso["timestamp"].tolist()
    assert dotted["timestamp"].iloc[0].year == 2026
    for parse in (store_utc, policy_utc):
        assert parse("01.11.2026") == pd.Timestamp("2026-11-01", tz="UTC")
        assert parse("01.11.2026 10:00 UTC") == pd.Timestamp("2026-11-01 10:00", tz="UTC")
        with pytest.raises(ConfigError):
            parse("01/11/2026")
