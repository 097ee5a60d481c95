"""The nightly job end to end: real files, a real SQLite store, real Postfix log lines,
real logrotate renames, a real DNS server, real flock and real kill -9."""

from __future__ import annotations

import csv
import fcntl
import io
import json
import os
import shutil
import sqlite3
import stat
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from listcare.contacts import read_contacts
from listcare.exceptions import (
    ColumnError,
    ConfigError,
    ConservationError,
    InputError,
    LockedError,
    OutputError,
    StoreError,
)
from listcare.nightly import OUTPUT_FILES, _check_conservation, clean, lock_path_for
from listcare.store import Store

from .conftest import ROOT, sqlite_indexes

NIGHT1 = "2026-11-27"
NIGHT2 = "2026-11-28"

CONTACTS = (
    "E-Mail;Vorname;acquired_at;last_contacted_at\r\n"
    "hard@firma.de;Jörg;2026-01-10;\r\n"
    "ok@firma.de;Anna;2026-01-10;\r\n"
    ";Leer;2026-01-10;\r\n"
    "kein-at-zeichen;Kaputt;2026-01-10;\r\n"
    "soft@firma.de;Sören;2026-01-10;\r\n"
    "old@firma.de;Alt;2020-01-01;\r\n"
    " HARD@firma.de;Doppelt;2026-01-10;\r\n"
    "info@firma.de;Rolle;2026-01-10;\r\n"
    "blocked@gmail.com;Geblockt;2026-01-10;\r\n"
)
N_ROWS = 9


def pf(ts, rcpt, status, dsn, text, qid="ABCDEF1234", relay="mx.firma.de[192.0.2.1]:25"):
    return (
        f"{ts} mail postfix/smtp[123]: {qid}: to=<{rcpt}>, relay={relay}, delay=0.4, "
        f"delays=0.1/0/0.1/0.2, dsn={dsn}, status={status} ({text})\n"
    )


def hard(ts, rcpt):
    return pf(
        ts,
        rcpt,
        "bounced",
        "5.1.1",
        f"host mx.firma.de[192.0.2.1] said: 550 5.1.1 <{rcpt}>: "
        "Recipient address rejected: User unknown (in reply to RCPT TO command)",
    )


def soft(ts, rcpt):
    return pf(
        ts,
        rcpt,
        "bounced",
        "5.2.2",
        "host mx.firma.de[192.0.2.1] said: 552 5.2.2 Mailbox full (in reply to RCPT TO command)",
    )


def sent(ts, rcpt):
    return pf(ts, rcpt, "sent", "2.0.0", "250 2.0.0 Ok: queued as 12345")


def block(ts, rcpt):
    return pf(
        ts,
        rcpt,
        "bounced",
        "5.7.1",
        "host gmail-smtp-in.l.google.com[142.250.102.27] "
        "said: 550 5.7.1 Our system has detected that this message is likely unsolicited "
        "mail (in reply to end of DATA command)",
        relay="gmail-smtp-in.l.google.com[142.250.102.27]:25",
    )


NIGHT1_LOG = [
    hard("Nov  1 10:00:00", "hard@firma.de"),
    sent("Nov  1 10:00:01", "ok@firma.de"),
    soft("Nov  1 10:00:02", "soft@firma.de"),
    block("Nov  3 10:00:03", "blocked@gmail.com"),
    soft("Nov  8 10:00:02", "soft@firma.de"),
]


@pytest.fixture
def job(tmp_path):
    """A working folder: contacts (cp1252, ';', CRLF), a Postfix log, store, out dir."""
    (tmp_path / "contacts.csv").write_bytes(CONTACTS.encode("cp1252"))
    (tmp_path / "mail.log").write_text("".join(NIGHT1_LOG))
    return tmp_path


def run(folder, as_of=NIGHT1, **kw):
    kw.setdefault("check_dns", False)
    kw.setdefault("store", folder / "listcare.db")
    return clean(
        folder / "contacts.csv",
        [folder / "mail.log"],
        out_dir=folder / "out",
        as_of=as_of,
        **kw,
    )


def outputs(folder) -> dict[str, bytes]:
    return {name: (folder / "out" / name).read_bytes() for name in OUTPUT_FILES}


def second_night(folder):
    """One more soft bounce (now 3 days over 14 days), and a logrotate in between."""
    with open(folder / "mail.log", "a") as f:  # after night 1 read it, before the rotation
        f.write(sent("Nov 27 09:00:00", "ok@firma.de"))
    os.rename(folder / "mail.log", folder / "mail.log.1")
    (folder / "mail.log").write_text(soft("Nov 15 10:00:02", "soft@firma.de"))


# =========================================================================== happy path
def test_first_run_writes_every_row_once_with_reasons(job):
    report = run(job)
    out = job / "out"
    assert sorted(p.name for p in out.iterdir()) == sorted(OUTPUT_FILES)  # no pending files
    cleaned = read_contacts(out / "clean.csv")
    suppressed = read_contacts(out / "suppressed.csv")
    reconfirm = read_contacts(out / "reconfirm.csv")
    assert len(cleaned) + len(suppressed) + len(reconfirm) == N_ROWS
    # input columns, order and format kept
    assert list(cleaned.columns) == ["E-Mail", "Vorname", "acquired_at", "last_contacted_at"]
    assert cleaned["E-Mail"].tolist() == [
        "ok@firma.de",
        "soft@firma.de",
        "info@firma.de",
        "blocked@gmail.com",
    ]
    raw = (out / "clean.csv").read_bytes()
    assert b";" in raw.splitlines()[0] and "Sören".encode("cp1252") in raw and b"\r\n" in raw
    by = suppressed.set_index("Vorname")
    assert by.loc["Jörg", "rule"] == "hard" and by.loc["Doppelt", "rule"] == "hard"
    assert by.loc["Jörg", "since"] == "2026-11-01"
    assert "Hard bounce on 2026-11-01" in by.loc["Jörg", "reason"]
    ev = json.loads(by.loc["Jörg", "evidence"])
    assert ev[0]["source"].endswith("mail.log") and ev[0]["position"] == 1
    assert by.loc["Leer", "rule"] == "invalid" and by.loc["Kaputt", "rule"] == "invalid"
    assert reconfirm["Vorname"].tolist() == ["Alt"] and reconfirm.loc[0, "rule"] == "sunset"
    # the kept role address, with its flag, in the list's own format (also in clean.csv)
    flagged = read_contacts(out / "flagged.csv")
    assert flagged["E-Mail"].tolist() == ["info@firma.de"] and flagged.loc[0, "flags"] == "role"
    assert list(flagged.columns)[:4] == list(cleaned.columns)
    assert (out / "flagged.csv").read_bytes().startswith(raw.splitlines()[0] + b";flags\r\n")

    assert report["outcomes"] == {"rows": 9, "clean": 4, "suppressed": 4, "reconfirm": 1}
    assert report["rules"]["suppressed"] == {"hard": 2, "invalid": 2}
    assert report["flags"] == {"role": 1}
    assert report["changes"]["since_run_as_of"] is None
    sr = report["sender_reputation"]
    assert sr["blocks_30_days"] == 1
    assert sr["providers"][0]["provider"] == "gmail-smtp-in.l.google.com"
    assert report["run"]["new_events"] == 5 and report["run"]["lines_read"] == 5
    on_disk = json.loads((out / "report.json").read_text())
    assert on_disk == {k: v for k, v in report.items() if k != "run"}
    md = (out / "report.md").read_text()
    assert "Sender reputation alert" in md and "gmail-smtp-in.l.google.com" in md
    png = (out / "decay.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and b"monthly_rate=0.021" in png
    # too little history to fit (2 hard bounces): the benchmark, and the report says so;
    # ages from the last delivery (ok@, Nov 1), else acquisition; hard@ twice: certain bounces
    d = report["decay"]
    assert d["source"] == "benchmark" and d["hard_bounces_in_history"] == 1
    assert d["monthly_rate"] == 0.021 and d["monthly_rate_ci"] is None
    assert "industry benchmark: not enough history yet" in md

    def gone(day):
        days = (pd.Timestamp(NIGHT1) - pd.Timestamp(day)).total_seconds() / 86400
        months = days / (365.25 / 12)
        return 1 - (1 - 0.021) ** months

    clean_rows = [gone("2026-11-01 10:00:01")] + [gone("2026-01-10")] * 3  # ok, soft, info, blocked
    assert d["clean_list"]["rows"] == 4 and d["clean_list"]["known_hard_bounced"] == 0
    assert d["clean_list"]["expected_hard_bounce_rate"] == pytest.approx(
        np.mean(clean_rows), abs=1e-6
    )
    # every input row: 2 known hard bounces, the old contact (2020) and 6 from January
    every = [1.0, 1.0, gone("2026-11-01 10:00:01"), gone("2020-01-01")] + [gone("2026-01-10")] * 5
    assert d["input_list"]["known_hard_bounced"] == 2 and d["input_list"]["rows_with_age"] == 9
    assert d["expected_hard_bounce_rate"] == pytest.approx(np.mean(every), abs=1e-6)
    assert "Duplicate rows of one address share its decision" in md
    assert "newly suppressed addresses:" in md and "| outcome | rows |" in md
    with Store(job / "listcare.db") as store:
        assert store.count_events() == 5
        # per address (the empty row has none): hard (two rows, one address), syntax, sunset
        assert store.suppressions()["rule"].tolist() == ["hard", "invalid", "sunset"]


def test_rerun_reads_nothing_new_and_writes_the_same_bytes(job):
    run(job)
    first = outputs(job)
    report = run(job)
    assert report["run"]["lines_read"] == 0 and report["run"]["new_events"] == 0
    assert outputs(job) == first


def test_next_night_after_logrotate_reads_only_what_is_new(job):
    run(job)
    second_night(job)
    report = run(job, as_of=NIGHT2)
    assert report["run"]["lines_read"] == 2  # the rotated file's new line + the new file
    assert report["run"]["new_events"] == 2
    assert report["changes"] == {
        "since_run_as_of": NIGHT1,
        "newly_suppressed": {"soft": 1},
        "newly_reconfirm": 0,
        "released": 0,
    }
    assert report["events"]["new_since_last_run"] == 2
    suppressed = read_contacts(job / "out" / "suppressed.csv").set_index("Vorname")
    assert suppressed.loc["Sören", "rule"] == "soft"
    # an invalid address has no event of its own: its date is the first night it was seen
    assert suppressed.loc["Kaputt", "since"] == NIGHT1
    assert (
        "3 soft bounces on different days from 2026-11-01 to 2026-11-15"
        in suppressed.loc["Sören", "reason"]
    )


def test_changes_count_this_lists_addresses_and_leaving_the_list_is_not_a_release(job):
    """The store decides for every address it has seen; the report's changes are about
    the list. Rows dropped from the list are not "released"."""
    with open(job / "mail.log", "a") as f:  # a hard bounce of an address not on the list
        f.write(hard("Nov  2 10:00:00", "elsewhere@firma.de"))
    first = run(job)
    assert first["changes"]["newly_suppressed"] == {"hard": 1, "invalid": 1}  # not elsewhere@
    assert first["suppression_list"]["suppress"] == 3  # hard@, kein-at-zeichen, elsewhere@
    assert first["addresses"] == {"keep": 4, "suppress": 2, "reconfirm": 1}
    md = (job / "out" / "report.md").read_text()
    assert "of this list's addresses" in md and "holds 3 suppressed addresses" in md
    # next night: the invalid row and the sunset row left the list (the marketer removed
    # them), hard@firma.de is still suppressed by its bounce
    kept = [line for line in CONTACTS.split("\r\n") if not line.startswith(("kein", "old@"))]
    (job / "contacts.csv").write_bytes("\r\n".join(kept).encode("cp1252"))
    second_night(job)
    second = run(job, as_of=NIGHT2)
    assert second["changes"]["released"] == 0
    assert second["changes"]["newly_suppressed"] == {"soft": 1}
    assert second["outcomes"]["rows"] == N_ROWS - 2
    # a delivery to a suppressed address of the list releases it, and is counted
    with open(job / "mail.log", "a") as f:
        f.write(sent("Nov 27 11:00:00", "hard@firma.de"))
    third = run(job, as_of="2026-11-29")
    assert third["changes"]["released"] == 1


def test_dry_run_changes_nothing(job):
    report = run(job, dry_run=True)
    assert report["outcomes"]["rows"] == N_ROWS and report["run"]["dry_run"] is True
    assert not (job / "out").exists()
    assert not list(job.glob("listcare.db*"))  # not even an empty store or its lock
    run(job)
    before = outputs(job)
    second_night(job)
    report = run(job, as_of=NIGHT2, dry_run=True)
    assert report["changes"]["newly_suppressed"] == {"soft": 1}  # what the run would do
    assert outputs(job) == before
    with Store(job / "listcare.db") as store:
        assert store.count_events() == 5 and len(store.runs()) == 1
        assert len(store.checkpoints()) == 1


# =========================================================================== safety
def test_a_second_overlapping_run_is_locked_out(job):
    lock = lock_path_for(job / "listcare.db", job / "out")
    assert lock == job / "listcare.db.lock"
    fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # another run holds it
        with pytest.raises(LockedError, match="Another listcare run holds the lock") as err:
            run(job)
        assert err.value.exit_code == 75
        assert not (job / "out").exists() or not any((job / "out").iterdir())
    finally:
        os.close(fd)
    run(job)  # released: the next run goes ahead


def test_conservation_guard_catches_lost_and_duplicated_rows():
    _check_conservation(3, {"clean": [0, 2], "suppressed": [1], "reconfirm": []})
    with pytest.raises(ConservationError, match="1 lost, 1 duplicated"):
        _check_conservation(3, {"clean": [0], "suppressed": [1, 1], "reconfirm": []})


def test_a_conservation_failure_commits_and_writes_nothing(job, monkeypatch):
    run(job)
    before = outputs(job)
    import listcare.nightly as clean_mod

    real = clean_mod._split

    def losing_a_row(*args):  # simulate a bug that drops the first suppressed row
        out, per_row, positions = real(*args)
        positions = {**positions, "suppressed": np.asarray(positions["suppressed"])[1:]}
        return out, per_row, positions

    monkeypatch.setattr(clean_mod, "_split", losing_a_row)
    second_night(job)
    with pytest.raises(ConservationError):
        run(job, as_of=NIGHT2)
    assert outputs(job) == before
    assert not [p for p in (job / "out").iterdir() if p.name.endswith(".pending")]
    with Store(job / "listcare.db") as store:
        assert len(store.runs()) == 1 and store.count_events() == 5


def test_bad_contacts_fail_before_anything_is_stored(job):
    (job / "contacts.csv").write_text("Name;Telefon\nAnna;123\n")
    with pytest.raises(ColumnError):
        run(job)
    with Store(job / "listcare.db") as store:
        assert store.count_events() == 0


def test_a_missing_bounce_file_on_the_first_night_creates_nothing(job):
    """No store yet, so no checkpoint to follow a missing log from: the reader's error
    before the store, its folder or the output folder exist. With a store, the same
    path is read as a log whose rotations may be followed (still an error if none)."""
    before = sorted(p.name for p in job.iterdir())
    with pytest.raises(InputError, match="Cannot open .*nope.log"):
        clean(job / "contacts.csv", [job / "mail.log", job / "nope.log"],
              store=job / "state" / "l.db", out_dir=job / "out", as_of=NIGHT1, check_dns=False)
    assert sorted(p.name for p in job.iterdir()) == before
    run(job)
    with pytest.raises(InputError, match="Cannot open .*nope.log"):
        clean(job / "contacts.csv", [job / "nope.log"], store=job / "listcare.db",
              out_dir=job / "out", as_of=NIGHT1, check_dns=False)


# =========================================================================== DNS cache
def test_dns_is_not_repeated_the_next_night_but_unknown_is_retried(tmp_path, dns_server):
    names = dns_server.names
    emails = [
        f"a@{names['mx']}",
        f"b@{names['mx']}",
        f"c@{names['null_mx']}",
        f"d@{names['servfail']}",
    ]
    pd.DataFrame({"email": emails}).to_csv(tmp_path / "contacts.csv", index=False)
    kw = dict(store=tmp_path / "s.db", out_dir=tmp_path / "out", nameserver=dns_server.address)
    r1 = clean(tmp_path / "contacts.csv", [], as_of=NIGHT1, **kw)
    assert r1["run"]["domains_looked_up"] == 3 and r1["run"]["domains_from_cache"] == 0
    assert r1["rules"]["suppressed"] == {"invalid": 1}  # null MX
    assert r1["flags"] == {"unknown": 1}  # SERVFAIL: kept, retried
    before = dns_server.queries
    r2 = clean(tmp_path / "contacts.csv", [], as_of=NIGHT2, **kw)
    assert r2["run"]["domains_from_cache"] == 2 and r2["run"]["domains_looked_up"] == 1
    assert 0 < dns_server.queries - before <= 4  # only the SERVFAIL domain was asked again
    assert r2["outcomes"] == r1["outcomes"]



def test_a_dns_cache_the_store_cannot_read_fails_the_run_without_hanging(
    tmp_path, dns_server, monkeypatch
):
    """The main thread reads the DNS cache while the worker reads the list, and hands it
    over: when that read fails, the worker's wait ends too (else the run would hang in
    the thread pool's exit) and the error is the store's, with nothing written."""
    import threading

    import listcare.nightly as nightly

    pd.DataFrame({"email": [f"a@{dns_server.names['mx']}"]}).to_csv(
        tmp_path / "contacts.csv", index=False
    )
    kw = dict(store=tmp_path / "s.db", out_dir=tmp_path / "out", nameserver=dns_server.address)

    def broken(*_a, **_k):
        raise StoreError("The store failed: disk I/O error")

    monkeypatch.setattr(nightly, "_dns_cache", broken)
    outcome = {}
    runner = threading.Thread(
        target=lambda: outcome.update(error=_raised(clean, tmp_path / "contacts.csv", [],
                                                    as_of=NIGHT1, **kw)),
        daemon=True,
    )
    runner.start()
    runner.join(60)
    assert not runner.is_alive(), "the run hung after the DNS cache read failed"
    assert isinstance(outcome["error"], StoreError)
    assert "disk I/O error" in str(outcome["error"])
    assert not any((tmp_path / "out").iterdir())
    monkeypatch.undo()
    assert clean(tmp_path / "contacts.csv", [], as_of=NIGHT1, **kw)["outcomes"]["clean"] == 1


def _raised(fn, *args, **kwargs):
    try:
        fn(*args, **kwargs)
    except Exception as exc:  # noqa: BLE001 - the test inspects it
        return exc
    return None

def test_the_domain_verdicts_leave_the_validation_frame_before_the_policy(tmp_path, dns_server):
    """pandas deep-copies ``attrs`` into every derived frame and column: the job must not
    carry the per-domain verdicts (40,000 on a real list) into decide and the split,
    where they cost 33 s a night. They still reach the store's cache."""
    from listcare.nightly import _dns_cache, _validate
    from listcare.policy import DEFAULT_POLICY
    from listcare.store import Store

    names = dns_server.names
    cdf = pd.DataFrame({"email": [f"a@{names['mx']}", f"b@{names['null_mx']}"]})
    with Store(tmp_path / "s.db") as st:
        known = _dns_cache(st, pd.Timestamp(NIGHT1, tz="UTC"), DEFAULT_POLICY)
        validation, fresh, cached = _validate(cdf, known, True, dns_server.address, "email")
    assert "domains" not in validation.attrs
    assert sorted(fresh) == sorted([names["mx"], names["null_mx"]]) and cached == 0
    assert validation["status"].tolist() == ["valid", "invalid"]



@pytest.mark.parametrize("fail_in", ["tables", "report", "store"])
def test_a_failure_while_the_outputs_are_written_leaves_no_trace(job, monkeypatch, fail_in):
    """The lists are written by a worker thread while the store is written: a failure on
    either side rolls the store back and removes every pending file, written or half."""
    run(job)
    before = outputs(job)
    import listcare.contacts as contacts_mod
    import listcare.nightly as clean_mod

    def broken(*args, **kwargs):
        raise OSError("disk full (simulated)")

    if fail_in == "tables":
        real = contacts_mod.write_contacts
        calls = []

        def second_write_fails(df, path, **kw):  # the first list is complete, then a failure
            calls.append(path)
            if len(calls) == 2:
                Path(path).write_text("half a file")
                raise OSError("disk full (simulated)")
            return real(df, path, **kw)

        monkeypatch.setattr(contacts_mod, "write_contacts", second_write_fails)
    elif fail_in == "report":
        monkeypatch.setattr(clean_mod, "_markdown", broken)
    else:
        monkeypatch.setattr(Store, "save_changes", broken)
    second_night(job)
    # an output that cannot be written is named as such (exit code 73), not by its
    # hidden temporary file
    expected = OSError if fail_in == "store" else OutputError
    with pytest.raises(expected, match="simulated") as err:
        run(job, as_of=NIGHT2)
    if fail_in != "store":
        assert ".pending" not in str(err.value) and "untouched" in str(err.value)
    assert outputs(job) == before
    assert sorted(p.name for p in (job / "out").iterdir()) == sorted(before)
    with Store(job / "listcare.db") as store:
        assert len(store.runs()) == 1 and store.count_events() == 5


# =========================================================================== kill -9
KILLER = """
import os, signal, sys
from pathlib import Path
import listcare.nightly as c
from listcare.store import Store

point, folder = sys.argv[1], Path(sys.argv[2])

def die(*args, **kwargs):
    os.kill(os.getpid(), signal.SIGKILL)

if point == "before_commit":
    Store.finish_run = die          # inside the transaction, outputs already pending
elif point == "after_commit":
    c._publish = die                # committed, nothing renamed yet
elif point == "mid_publish":
    real, seen = os.replace, []
    def replace(src, dst):
        if str(src).endswith(".pending"):
            seen.append(dst)
            if len(seen) == 3:      # clean and suppressed renamed, then killed
                die()
        return real(src, dst)
    os.replace = replace
c.clean(folder / "contacts.csv", [folder / "mail.log"], store=folder / "listcare.db",
        out_dir=folder / "out", as_of=sys.argv[3], check_dns=False)
"""


def test_kill_9_at_several_points_then_rerun_equals_an_uninterrupted_run(job, tmp_path_factory):
    run(job)
    night1 = outputs(job)
    second_night(job)
    saved = tmp_path_factory.mktemp("saved")
    for p in job.glob("listcare.db*"):
        shutil.copy2(p, saved / p.name)
    shutil.copytree(job / "out", saved / "out")

    def restore():
        for p in job.glob("listcare.db*"):
            p.unlink()
        for p in saved.glob("listcare.db*"):
            shutil.copy2(p, job / p.name)
        shutil.rmtree(job / "out")
        shutil.copytree(saved / "out", job / "out")

    run(job, as_of=NIGHT2)
    reference = outputs(job)
    assert reference != night1
    for point in ("before_commit", "after_commit", "mid_publish"):
        restore()
        proc = subprocess.run(
            [sys.executable, "-c", textwrap.dedent(KILLER), point, str(job), NIGHT2],
            cwd=ROOT,
            capture_output=True,
        )
        assert proc.returncode == -9, (point, proc.stderr.decode()[-2000:])
        if point != "mid_publish":  # until the renames start, the old outputs are intact
            assert outputs(job) == night1, point
        run(job, as_of=NIGHT2)
        assert outputs(job) == reference, point
        assert not [p for p in (job / "out").iterdir() if p.name.endswith(".pending")]


# =========================================================================== CLI
def test_cli_clean_runs_and_uses_the_documented_exit_codes(job):
    from click.testing import CliRunner

    from listcare.cli import main

    args = [
        "clean",
        "--contacts",
        str(job / "contacts.csv"),
        "--bounces",
        str(job / "mail.log"),
        "--store",
        str(job / "listcare.db"),
        "--out-dir",
        str(job / "out"),
        "--as-of",
        NIGHT1,
        "--no-dns",
    ]
    runner = CliRunner()
    res = runner.invoke(main, args)  # not a terminal (like cron): only the alert
    assert res.exit_code == 0, res.output
    assert res.output == (
        f"listcare clean as of {NIGHT1}:\n"
        "  sender reputation alert: 1 blocked message (gmail-smtp-in.l.google.com)\n"
    )
    res = runner.invoke(main, ["--verbose", *args])
    assert res.exit_code == 0, res.output
    assert "clean 4, suppressed 4, reconfirm 1" in res.output
    # a dry run is asked for to see the summary: printed without a terminal too
    res = runner.invoke(main, [*args, "--dry-run"])
    assert res.exit_code == 0, res.output
    assert "(dry run: nothing written)" in res.output
    assert "rows: clean 4, suppressed 4, reconfirm 1" in res.output
    assert "Example:" in runner.invoke(main, ["clean", "--help"]).output
    (job / "bad.toml").write_text("[soft]\nbounce = 2\n")
    res = runner.invoke(main, [*args, "--config", str(job / "bad.toml")])
    assert res.exit_code == 78 and "soft.bounce" in res.output
    fd = os.open(job / "listcare.db.lock", os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        res = runner.invoke(main, args)
        assert res.exit_code == 75 and "holds the lock" in res.output
    finally:
        os.close(fd)


def test_cli_a_bounce_glob_that_matches_nothing(job):
    """A quiet night (no bounce mail in bounces/) is no error: the night runs and the
    summary says so; a glob whose folder does not exist is a typo: exit code 66, named,
    nothing created. `listcare bounces` reads nothing from it either way: an error."""
    from click.testing import CliRunner

    from listcare.cli import main

    (job / "bounces").mkdir()
    args = ["clean", "--contacts", str(job / "contacts.csv"), "--bounces", str(job / "mail.log"),
            "--store", str(job / "listcare.db"), "--out-dir", str(job / "out"),
            "--as-of", NIGHT1, "--no-dns"]
    runner = CliRunner()
    res = runner.invoke(main, [*args, "--bounces", str(job / "bounces" / "*.eml"), "--verbose"])
    assert res.exit_code == 0, res.output
    assert "note: no file matches" in res.output and "*.eml" in res.output
    assert "clean 4, suppressed 4, reconfirm 1" in res.output
    typo = str(job / "bounse" / "*.eml")
    res = runner.invoke(main, [*args, "--out-dir", str(job / "out2"), "--bounces", typo])
    assert res.exit_code == 66
    assert f"No file matches {typo!r}: the folder" in res.output and "does not exist" in res.output
    assert not (job / "out2").exists()
    # a spool's per-fetch subfolders may all be gone on a quiet night: its fixed folder
    # (before the first wildcard) exists, so the night runs
    spool = str(job / "bounces" / "*" / "new" / "*")
    res = runner.invoke(main, [*args, "--bounces", spool, "--verbose"])
    assert res.exit_code == 0 and "note: no file matches" in res.output, res.output
    res = runner.invoke(main, [*args, "--bounces", ""])  # Path("") would be this folder
    assert res.exit_code == 66 and "A bounce path is empty" in res.output, res.output
    res = runner.invoke(main, ["bounces", str(job / "bounces" / "*.eml"), "-o",
                               str(job / "ev.csv"), "--as-of", NIGHT1])
    assert res.exit_code == 66 and "No file matches" in res.output
    assert not (job / "ev.csv").exists()


def test_cli_a_bounce_file_whose_name_looks_like_a_glob_is_read(job):
    """"mail[1].log" exists: it is read, not taken for a pattern that matches nothing."""
    from click.testing import CliRunner

    from listcare.cli import main

    odd = job / "logs[1]" / "mail[1].log"
    odd.parent.mkdir()
    shutil.copy(job / "mail.log", odd)
    res = CliRunner().invoke(main, [
        "clean", "--contacts", str(job / "contacts.csv"), "--bounces", str(odd),
        "--store", str(job / "listcare.db"), "--out-dir", str(job / "out"),
        "--as-of", NIGHT1, "--no-dns", "--verbose"])
    assert res.exit_code == 0, res.output
    assert "clean 4, suppressed 4, reconfirm 1" in res.output and "no file matches" not in res.output
    res = CliRunner().invoke(main, ["bounces", str(odd), "-o", str(job / "ev.csv"),
                                    "--as-of", NIGHT1])
    assert res.exit_code == 0, res.output
    assert len(pd.read_csv(job / "ev.csv")) == len(NIGHT1_LOG)  # one event per line


def test_bounces_given_as_a_generator_are_all_read_on_a_first_night(job):
    """The first night's checks walk the bounce paths: a generator must not be used up."""
    report = clean(job / "contacts.csv", (p for p in [job / "mail.log"]),
                   store=job / "listcare.db", out_dir=job / "out", as_of=NIGHT1, check_dns=False)
    assert report["run"]["new_events"] == len(NIGHT1_LOG)
    assert report["outcomes"]["suppressed"] == 4


def test_a_night_before_the_stores_latest_is_noted_and_warned_under_cron(job):
    from click.testing import CliRunner

    from listcare.cli import main

    assert run(job)["run"]["backdated_from"] is None
    again = run(job)  # a rerun of the same night is not a look back
    assert again["run"]["backdated_from"] is None and not again["notes"]
    back = run(job, as_of="2026-11-20")
    assert back["run"]["backdated_from"].startswith(NIGHT1)
    assert any("before the store's latest run (as of 2026-11-27)" in n for n in back["notes"])
    assert "before the store's latest run" in (job / "out" / "report.md").read_text()
    args = ["clean", "--contacts", str(job / "contacts.csv"), "--bounces", str(job / "mail.log"),
            "--store", str(job / "listcare.db"), "--out-dir", str(job / "out"), "--no-dns"]
    res = CliRunner().invoke(main, [*args, "--as-of", "2026-11-21"])  # no terminal: cron
    assert res.exit_code == 0, res.output
    assert "warning: this night is before the store's latest (as of 2026-11-27)" in res.output
    res = CliRunner().invoke(main, [*args, "--as-of", "2026-11-28"])
    assert res.exit_code == 0 and "warning" not in res.output, res.output
    run(job, as_of="2026-11-29 12:00:30")  # from Python, with a time of day
    res = CliRunner().invoke(main, [*args, "--as-of", "2026-11-29"])
    assert "(as of 2026-11-29 12:00:30 UTC): its outputs leave out the evidence after 2026-11-29" in res.output
    report_md = (job / "out" / "report.md").read_text()
    assert "This run is as of 2026-11-29, before the store's latest run (as of 2026-11-29 12:00:30 UTC)" in report_md


@pytest.mark.parametrize("rotated", [False, True])
def test_a_log_line_cut_mid_write_is_stored_once_when_complete(job, rotated):
    """The MTA is writing the live log's last line when the job reads it: that line is
    left for the next night (read now, its cut diagnostic would be another event_id than
    its completed self: the bounce stored twice). After logrotate it is read from the
    rotation, where it is complete (or final)."""
    line = hard("Nov 26 23:59:59", "late@firma.de")
    cut = line[: line.index("User unknown") + 4]  # mid-diagnostic, no newline
    with open(job / "mail.log", "a") as f:
        f.write(cut)
    first = run(job)
    with Store(job / "listcare.db") as st:
        assert (st.events()["recipient"] == "late@firma.de").sum() == 0
    with open(job / "mail.log", "a") as f:
        f.write(line[len(cut):])
    if rotated:
        os.rename(job / "mail.log", job / "mail.log.1")
        (job / "mail.log").write_text(sent("Nov 27 01:00:00", "ok@firma.de"))
    second = run(job, as_of="2026-11-28")
    with Store(job / "listcare.db") as st:
        late = st.events()[lambda e: e["recipient"] == "late@firma.de"]
    assert len(late) == 1 and late["kind"].tolist() == ["hard"]
    assert second["run"]["new_events"] == 1 + rotated
    assert first["run"]["lines_read"] == len(NIGHT1_LOG)  # the cut line is not counted


def test_a_log_last_written_long_before_the_night_is_read_to_its_last_line(job):
    """A static copy that does not end in a newline is finished: its last line is read
    (only a log written in the day before the night, or since, may be mid-write)."""
    line = hard("Nov 26 23:59:59", "late@firma.de")
    with open(job / "mail.log", "a") as f:
        f.write(line.rstrip("\n"))
    old = pd.Timestamp("2026-11-20", tz="UTC").timestamp()
    os.utime(job / "mail.log", (old, old))
    report = run(job)
    assert report["run"]["new_events"] == len(NIGHT1_LOG) + 1
    with Store(job / "listcare.db") as st:
        assert (st.events()["recipient"] == "late@firma.de").sum() == 1


def test_reading_a_file_once_still_reads_its_unterminated_last_line(tmp_path):
    from listcare import read_bounces

    line = hard("Nov 26 23:59:59", "late@firma.de")
    (tmp_path / "m.log").write_text(line.rstrip("\n"))
    df = read_bounces([tmp_path / "m.log"], as_of=NIGHT1)
    assert df["recipient"].tolist() == ["late@firma.de"]
    held = read_bounces([tmp_path / "m.log"], as_of=NIGHT1, growing=[tmp_path / "m.log"])
    assert len(held) == 0 and held.attrs["offsets"][str(tmp_path / "m.log")] == 0


def test_next_night_after_a_gzip_rotation_reads_the_compressed_remainder(job):
    import gzip

    run(job)
    with open(job / "mail.log", "a") as f:
        f.write(soft("Nov 15 10:00:02", "soft@firma.de"))
    with open(job / "mail.log", "rb") as src, gzip.open(job / "mail.log.1.gz", "wb") as dst:
        shutil.copyfileobj(src, dst)
    os.unlink(job / "mail.log")  # logrotate "compress" without "delaycompress"
    (job / "mail.log").write_text(sent("Nov 28 01:00:00", "ok@firma.de"))
    report = run(job, as_of=NIGHT2)
    assert (report["run"]["lines_read"], report["run"]["new_events"]) == (2, 2)
    assert report["changes"]["newly_suppressed"] == {"soft": 1}
    again = run(job, as_of=NIGHT2)
    assert (again["run"]["lines_read"], again["run"]["new_events"]) == (0, 0)


def test_the_readme_clean_command_runs_on_the_bundled_examples(tmp_path):
    import re

    section = (ROOT / "README.md").read_text().split("### The nightly clean job", 1)[1]
    command = re.findall(r"```sh\n(.*?)\n```", section, flags=re.S)[0]
    shutil.copytree(ROOT / "listcare" / "data" / "examples", tmp_path / "listcare/data/examples")
    proc = subprocess.run(
        ["bash", "-c", command], cwd=tmp_path, capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    # quiet without a terminal (cron): at most the reputation alert
    assert proc.stderr == ""
    alert = report["sender_reputation"]["blocks_30_days"] > 0
    assert (proc.stdout == "") != alert and ("reputation alert" in proc.stdout) == alert
    o = report["outcomes"]
    assert o["rows"] == len(read_contacts(tmp_path / "listcare/data/examples/contacts.csv"))
    assert o["clean"] + o["suppressed"] + o["reconfirm"] == o["rows"]
    assert o["suppressed"] > 0 and report["events"]["total"] > 0


def test_cron_run_warns_about_unreadable_bounce_records(tmp_path):
    """Quiet under cron, but never about evidence it could not read."""
    junk = tmp_path / "junk.log"
    junk.write_bytes(b"\x00\x01garbage that is no log\n" * 5)
    contacts = ROOT / "listcare" / "data" / "examples" / "contacts_de.csv"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "listcare.cli",
            "clean",
            "--contacts",
            str(contacts),
            "--bounces",
            str(junk),
            "--store",
            str(tmp_path / "s.db"),
            "--out-dir",
            str(tmp_path / "out"),
            "--as-of",
            "2026-11-01",
            "--no-dns",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "bounce records could not be read" in proc.stdout
    assert "junk.log" in proc.stdout
    assert "@" not in proc.stdout  # no addresses sprayed into cron mail


@pytest.mark.parametrize(
    ("store", "as_of", "code"),
    [
        ("afile/s.db", "2026-11-01", 74),  # its folder cannot be made: before any lock file
        ("DIR", "2026-11-01", 74),  # a folder is no store file
        ("s.db", "yesterday", 78),  # ConfigError: a setting, not an unreadable input
    ],
)
def test_cli_clean_bad_store_or_date_exit_codes_and_leave_nothing(tmp_path, store, as_of, code):
    from click.testing import CliRunner

    from listcare.cli import main

    store_path = tmp_path if store == "DIR" else tmp_path / store
    (tmp_path / "afile").write_text("not a folder")
    before = sorted(p.name for p in tmp_path.parent.iterdir())
    res = CliRunner().invoke(
        main,
        [
            "clean",
            "--contacts",
            str(ROOT / "listcare/data/examples/contacts_de.csv"),
            "--store",
            str(store_path),
            "--out-dir",
            str(tmp_path / "out"),
            "--as-of",
            as_of,
            "--no-dns",
        ],
    )
    assert res.exit_code == code, res.output
    assert "Traceback" not in res.output
    assert sorted(p.name for p in tmp_path.parent.iterdir()) == before  # no stray DIR.lock
    assert not (tmp_path / "missing").exists()
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("name", ["report.json", "clean.csv", ".decay.png.pending", "Report.JSON"])
def test_a_store_named_as_an_output_is_refused_before_anything_is_written(job, name):
    """After the commit, that output would be renamed over the store (its data left in
    the -wal file): refused with a setting's error, the folder untouched."""
    out = job / "out"
    out.mkdir()
    before = sorted(p.name for p in job.iterdir())
    output = name.strip(".").removesuffix(".pending").lower()
    with pytest.raises(ConfigError, match=f"output folder's '{output}'"):
        clean(job / "contacts.csv", [job / "mail.log"], store=out / name, out_dir=out,
              as_of=NIGHT1, check_dns=False)
    assert sorted(p.name for p in job.iterdir()) == before
    assert list(out.iterdir()) == []


def test_a_contact_list_inside_the_output_folder_under_an_outputs_name_is_refused(job):
    out = job / "out"
    out.mkdir()
    (out / "clean.csv").write_bytes((job / "contacts.csv").read_bytes())
    before = (out / "clean.csv").read_bytes()
    with pytest.raises(OutputError, match="inside the output folder as 'clean.csv'") as err:
        clean(out / "clean.csv", [job / "mail.log"], store=job / "s.db", out_dir=out,
              as_of=NIGHT1, check_dns=False)
    assert err.value.exit_code == 73
    assert (out / "clean.csv").read_bytes() == before
    assert sorted(p.name for p in out.iterdir()) == ["clean.csv"]
    assert not (job / "s.db").exists() and not (job / "s.db.lock").exists()  # refused first
    listed = read_contacts(out / "clean.csv")  # a DataFrame read from there: the same
    with pytest.raises(OutputError, match="inside the output folder"):
        clean(listed, [job / "mail.log"], store=job / "s.db", out_dir=out, as_of=NIGHT1,
              check_dns=False)
    assert not (job / "s.db").exists() and (out / "clean.csv").read_bytes() == before


def test_a_dry_run_with_a_store_named_like_an_output_elsewhere_works(job):
    """The same name in another folder is fine, in a dry run too (whose throwaway store
    lives apart from its throwaway outputs)."""
    (job / "state").mkdir()
    report = run(job, store=job / "state" / "report.json", dry_run=True)
    assert report["outcomes"]["rows"] > 0
    assert not (job / "state" / "report.json").exists()
    run(job, store=job / "state" / "report.json")
    assert (job / "out" / "report.json").is_file() and (job / "state" / "report.json").is_file()


def test_cli_clean_creates_a_missing_store_folder_owner_only_and_names_its_errors(tmp_path):
    """The README's crontab line uses --store state/listcare.db: the first night makes
    state/ (owner-only, like the store); an unwritable output folder is exit code 73,
    named, and nothing is committed; `clean --verbose` works after the command too."""
    from click.testing import CliRunner

    from listcare.cli import main

    contacts = str(ROOT / "listcare/data/examples/contacts_de.csv")
    args = ["clean", "--contacts", contacts, "--as-of", "2026-11-01", "--no-dns"]
    res = CliRunner().invoke(
        main, [*args, "--store", str(tmp_path / "state/lists/s.db"), "--out-dir",
               str(tmp_path / "out"), "--verbose"],
    )
    assert res.exit_code == 0, res.output
    # --verbose after the command is honoured: the summary, though no terminal is attached
    assert "listcare clean: 250 rows" in res.output
    # contacts_de.csv names its dates in German: the run says what that costs
    assert "no acquired_at or last_contacted_at column" in res.output
    for folder in ("state", "state/lists"):  # every folder made for the store
        assert stat.S_IMODE((tmp_path / folder).stat().st_mode) == 0o700
    assert stat.S_IMODE((tmp_path / "state/lists/s.db").stat().st_mode) == 0o600
    # the quick start's store inside the output folder: out/ stays readable as before
    res = CliRunner().invoke(
        main, [*args, "--store", str(tmp_path / "out2/s.db"), "--out-dir", str(tmp_path / "out2")]
    )
    assert res.exit_code == 0, res.output
    assert stat.S_IMODE((tmp_path / "out2").stat().st_mode) == 0o777 & ~_umask()
    (tmp_path / "afile").write_text("a file where the output folder's parent should be")
    res = CliRunner().invoke(
        main, [*args, "--store", str(tmp_path / "state/lists/s.db"), "--out-dir",
               str(tmp_path / "afile/out")]
    )
    assert res.exit_code == 73, res.output
    assert "output folder" in res.output and ".pending" not in res.output
    with Store(tmp_path / "state/lists/s.db") as store:
        assert len(store.runs()) == 1


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def test_example_report_fits_the_rate_and_ages_from_the_last_delivery(tmp_path):
    """Enough history (the bundled month of logs): the rate is fitted from the store,
    the expected bounces use the last delivery, and two runs give the same bytes."""
    from listcare import example_path
    from listcare.decay import DecayModel

    def example(folder):
        folder.mkdir()
        return clean(
            example_path("contacts.csv"),
            [example_path("postfix.log"), example_path("bounces"), example_path("ses.json")],
            store=folder / "listcare.db",
            out_dir=folder / "out",
            as_of="2026-11-01",
            check_dns=False,
        )

    report = example(tmp_path / "a")
    d = report["decay"]
    assert d["source"] == "fitted" and d["hard_bounces_in_history"] >= 30
    lo, hi = d["monthly_rate_ci"]
    assert 0.015 < lo < d["monthly_rate"] < hi < 0.021  # as notebook 02 finds on this list
    md = (tmp_path / "a" / "out" / "report.md").read_text()
    assert f"fitted from your bounce history: {100 * d['monthly_rate']:.2f}% a month" in md
    # independently: months since the last delivery in the store, else acquisition
    contacts = read_contacts(example_path("contacts.csv"))
    with Store(tmp_path / "a" / "listcare.db") as st:
        ev = st.events(["recipient", "timestamp", "kind"])
    ev["key"] = ev["recipient"].str.strip().str.lower()
    last = ev[ev["kind"] == "delivered"].groupby("key")["timestamp"].max()
    kept = pd.read_csv(tmp_path / "a" / "out" / "clean.csv", dtype=str)
    keys = kept["E-Mail"].str.strip().str.lower()
    acquired = pd.to_datetime(kept["acquired_at"], utc=True)
    # the later of the two: a contact (re)acquired after a delivery was good then
    delivered = pd.Series(keys.map(last).to_numpy(), index=kept.index).fillna(acquired)
    good = delivered.where(delivered > acquired, acquired)
    days = (pd.Timestamp("2026-11-01", tz="UTC") - good).dt.total_seconds() / 86400
    months = days / (365.25 / 12)
    expected = DecayModel(d["monthly_rate"]).expected_bounce_rate(months.clip(lower=0))
    assert d["clean_list"]["rows"] == len(kept) == report["outcomes"]["clean"]
    assert d["clean_list"]["expected_hard_bounce_rate"] == pytest.approx(expected, abs=1e-6)
    assert d["clean_list"]["expected_hard_bounce_rate"] < 0.05 < d["expected_hard_bounce_rate"]
    assert d["input_list"]["rows"] == len(contacts)
    png = (tmp_path / "a" / "out" / "decay.png").read_bytes()
    assert f"monthly_rate={d['monthly_rate']!r}".encode() in png
    # the same inputs into a fresh store: the same bytes, the chart included
    example(tmp_path / "b")
    for name in OUTPUT_FILES:
        a = (tmp_path / "a" / "out" / name).read_bytes()
        assert a == (tmp_path / "b" / "out" / name).read_bytes(), name


def test_a_big_history_is_fitted_on_a_fixed_sample(tmp_path, monkeypatch):
    """Above FIT_SAMPLE mailed addresses the fit takes a fixed-hash sample (the same on
    every run), and above MAX_COHORT_SENDS the chart leaves the cohorts out."""
    import listcare.nightly as nightly
    from listcare import example_path

    monkeypatch.setattr(nightly, "FIT_SAMPLE", 1500)
    monkeypatch.setattr(nightly, "MAX_COHORT_SENDS", 0)
    reports = []
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
        reports.append(
            clean(
                example_path("contacts.csv"),
                [example_path("postfix.log")],
                store=tmp_path / name / "listcare.db",
                out_dir=tmp_path / name / "out",
                as_of="2026-11-01",
                check_dns=False,
            )["decay"]
        )
    d = reports[0]
    assert d["source"] == "fitted" and d["contacts_in_fit"] == 1500 < d["mailed_addresses"]
    assert d == reports[1]
    md = (tmp_path / "a" / "out" / "report.md").read_text()
    assert f"a fixed sample of all {d['mailed_addresses']:,}" in md
    assert (tmp_path / "a" / "out" / "decay.png").read_bytes() == (
        tmp_path / "b" / "out" / "decay.png"
    ).read_bytes()


def test_the_policy_uses_what_the_worker_thread_prepared(job, monkeypatch):
    """The contact side (keys, codes, dates) is prepared once, in the worker thread, and
    the policy takes it as it is instead of preparing it again on the main thread."""
    import threading

    import listcare.nightly as clean_mod
    import listcare.policy as policy_mod

    real, threads = policy_mod.prepare_contacts, []

    def counting(*args, **kwargs):
        threads.append(threading.current_thread().name)
        return real(*args, **kwargs)

    monkeypatch.setattr(clean_mod, "prepare_contacts", counting)
    monkeypatch.setattr(policy_mod, "prepare_contacts", counting)
    run(job)
    assert len(threads) == 1 and threads[0].startswith("listcare-contacts")


def test_a_bounce_text_the_lists_encoding_cannot_write_is_escaped_not_fatal(job):
    """A cp1252 list, and a Chinese server's bounce text in the evidence: the run must not
    fail (it would fail every night until the evidence aged out)."""
    text = (
        "host mx.firma.de[192.0.2.1] said: 550 5.1.1 <hard@firma.de>: 邮箱不存在 😞 "
        "(in reply to RCPT TO command)"
    )
    (job / "mail.log").write_text(
        pf("Nov  1 10:00:00", "hard@firma.de", "bounced", "5.1.1", text), encoding="utf-8"
    )
    report = run(job)
    assert report["outcomes"]["suppressed"] >= 1
    raw = (job / "out" / "suppressed.csv").read_bytes()
    rows = list(csv.DictReader(io.StringIO(raw.decode("cp1252")), delimiter=";"))
    row = next(r for r in rows if r["E-Mail"] == "hard@firma.de")
    assert row["Vorname"] == "Jörg" and "邮" not in row["reason"]
    # lossless JSON escapes (a surrogate pair for the emoji), readable back
    escaped = "\\u90ae\\u7bb1\\u4e0d\\u5b58\\u5728 \\ud83d\\ude1e"
    assert escaped in row["reason"]
    assert json.loads(f'"{escaped}"') == "邮箱不存在 😞"
    json.loads(row["evidence"])  # still JSON


def test_an_xlsx_list_gives_csv_lists_excel_reads_as_utf8(tmp_path):
    pytest.importorskip("openpyxl", reason="the xlsx extra (openpyxl) is not installed")
    df = pd.DataFrame(
        {"email": ["jörg@firma.de", "kaputt"], "Name": ["Jörg Müller", "Zoë"]}
    )
    df.to_excel(tmp_path / "list.xlsx", index=False)
    clean(
        tmp_path / "list.xlsx", [], store=tmp_path / "s.db", out_dir=tmp_path / "out",
        as_of=NIGHT1, check_dns=False,
    )
    clean_csv = (tmp_path / "out" / "clean.csv").read_bytes()
    suppressed = (tmp_path / "out" / "suppressed.csv").read_bytes()
    assert clean_csv.startswith(b"\xef\xbb\xbf") and suppressed.startswith(b"\xef\xbb\xbf")
    assert "Jörg Müller".encode() in clean_csv and "Zoë".encode() in suppressed


def test_the_forecast_counts_every_row_suppressed_for_a_hard_bounce(job):
    """A hard bounce dated before the row's acquisition (a re-imported dead address)
    cannot enter the decay fit, but the forecast must still count it as a certain
    bounce: the report's two counts of hard-bounced rows agree."""
    text = CONTACTS.replace("hard@firma.de;Jörg;2026-01-10", "hard@firma.de;Jörg;2026-11-05")
    (job / "contacts.csv").write_bytes(text.encode("cp1252"))
    report = run(job)
    hard_rows = report["rules"]["suppressed"]["hard"]
    assert hard_rows == 2  # hard@firma.de and its duplicate " HARD@firma.de"
    assert report["decay"]["input_list"]["known_hard_bounced"] == hard_rows
    assert report["decay"]["clean_list"]["known_hard_bounced"] == 0


def test_a_dry_run_does_not_migrate_an_older_store(job):
    """Opening a store migrates it, one way (the older listcare would refuse it after):
    a dry run must leave the file exactly as it was, and still report."""
    import hashlib

    import sqlalchemy as sa

    from listcare import store as store_mod

    path = job / "listcare.db"
    engine = sa.create_engine(f"sqlite:///{path}")
    with engine.begin() as conn:
        store_mod._migrate(conn, target=4)
    engine.dispose()
    before = hashlib.sha256(path.read_bytes()).hexdigest()
    report = run(job, dry_run=True)
    assert report["outcomes"]["rows"] == N_ROWS and report["run"]["dry_run"]
    assert hashlib.sha256(path.read_bytes()).hexdigest() == before
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone() == (
            "4",
        )
    assert not (job / "out").exists()


def test_unreadable_dates_are_reported_and_an_undated_list_gets_no_biased_forecast(job):
    text = CONTACTS.replace("ok@firma.de;Anna;2026-01-10", "ok@firma.de;Anna;gestern")
    (job / "contacts.csv").write_bytes(text.encode("cp1252"))
    report = run(job)
    assert any(
        n.startswith("1 row(s) whose acquired_at is not a date (e.g. 'gestern')")
        for n in report["notes"]
    )
    assert "gestern" in (job / "out" / "report.md").read_text()
    # the same list without any date column: only the 2 hard-bounced rows and 1 delivered
    # row of 9 can be aged; their rate (2/3) would not stand for the list
    header, *rows = CONTACTS.split("\r\n")
    undated = "\r\n".join(";".join(r.split(";")[:2]) for r in [header, *rows])
    (job / "contacts.csv").write_bytes(undated.encode("cp1252"))
    report = run(job, as_of=NIGHT2)
    d = report["decay"]["input_list"]
    assert d["rows_with_age"] == 3 and d["expected_hard_bounce_rate"] is None
    assert "too few rows can be aged" in (job / "out" / "report.md").read_text()


def test_added_columns_never_overwrite_an_input_column(tmp_path):
    """A list that already has rule and listcare_rule columns: both survive, the job's
    own column gets a free name."""
    (tmp_path / "c.csv").write_text(
        "email,rule,listcare_rule\nkaputt,mine,also mine\nok@firma.de,x,y\n"
    )
    clean(tmp_path / "c.csv", [], store=tmp_path / "s.db", out_dir=tmp_path / "out",
          as_of=NIGHT1, check_dns=False)
    sup = read_contacts(tmp_path / "out" / "suppressed.csv")
    assert sup.loc[0, "rule"] == "mine" and sup.loc[0, "listcare_rule"] == "also mine"
    assert sup.loc[0, "listcare_rule_2"] == "invalid"



def test_addresses_starting_with_a_dash_or_plus_reach_the_clean_list_unchanged(tmp_path):
    """RFC 5322 allows them; the formula guard still quotes a formula in another cell."""
    (tmp_path / "c.csv").write_text(
        "email,name\n-info@firma.de,=1+1\n+news@firma.de,+49 30 123\nok@firma.de,- Ann\n"
    )
    clean(tmp_path / "c.csv", [], store=tmp_path / "s.db", out_dir=tmp_path / "out",
          as_of=NIGHT1, check_dns=False)
    lines = (tmp_path / "out" / "clean.csv").read_text().splitlines()
    assert lines == [
        "email,name", "-info@firma.de,'=1+1", "+news@firma.de,+49 30 123", "ok@firma.de,'- Ann"
    ]

def test_a_dry_run_with_its_store_in_a_folder_not_made_yet_creates_nothing(tmp_path):
    report = clean(
        ROOT / "listcare/data/examples/contacts_de.csv", [], store=tmp_path / "state/l.db",
        out_dir=tmp_path / "out", as_of=NIGHT1, check_dns=False, dry_run=True,
    )
    assert report["outcomes"]["rows"] > 0
    assert list(tmp_path.iterdir()) == []


def test_a_folder_in_place_of_an_output_is_refused_before_anything_is_done(job):
    (job / "out" / "report.json").mkdir(parents=True)
    with pytest.raises(OutputError, match="is a folder"):
        run(job)
    assert not (job / "listcare.db").exists()
    assert sorted(p.name for p in (job / "out").iterdir()) == ["report.json"]


def test_a_date_column_named_on_purpose_without_a_date_in_it_is_an_error(job):
    with pytest.raises(ColumnError, match="'Vorname' .* holds no dates"):
        run(job, acquired_column="Vorname")


# =========================================================================== batches
def _fresh_copy(job, tmp_path_factory) -> Path:
    other = tmp_path_factory.mktemp("other")
    for name in ("contacts.csv", "mail.log"):
        shutil.copy2(job / name, other / name)
    return other


def _stored(folder) -> list:
    with Store(folder / "listcare.db") as store:
        ev = store.events(["event_id", "kind", "run_id"])
        last = store.last_deliveries()
    return [ev.values.tolist(), last.values.tolist()]


@pytest.mark.parametrize("bulk", [False, True])
def test_a_log_stored_in_batches_gives_what_one_batch_gives(job, monkeypatch, tmp_path_factory, bulk):
    """The job stores a long log a batch at a time (never the whole log in memory), as a
    bulk load when it outgrows the store (the history index built once at the end): two
    nights give the same outputs and the same stored events, in the same order, as with
    one batch."""
    import listcare.bounces.read as reader
    import listcare.nightly as clean_mod

    other = _fresh_copy(job, tmp_path_factory)
    for night in (NIGHT1, NIGHT2):
        if night == NIGHT2:
            second_night(job)
        run(job, as_of=night)
    reference, stored = outputs(job), _stored(job)
    monkeypatch.setattr(reader, "CHUNK_BYTES", 256)  # a block is a line or two
    monkeypatch.setattr(clean_mod, "BATCH_ROWS", 2)
    monkeypatch.setattr(clean_mod, "BULK_MIN_LINES", 0 if bulk else 10**9)
    calls, drops = [], []
    real = Store.add_events

    def counted(self, df, **kw):
        calls.append(len(df))
        return real(self, df, **kw)

    monkeypatch.setattr(Store, "add_events", counted)
    import listcare.store as store_mod

    real_drop = store_mod.events_kind_ix.drop
    monkeypatch.setattr(
        store_mod.events_kind_ix, "drop", lambda *a, **k: drops.append(1) or real_drop(*a, **k)
    )
    for night in (NIGHT1, NIGHT2):
        if night == NIGHT2:
            second_night(other)
        run(other, as_of=night)
    # (the evidence names the log by its path: the other folder's)
    moved = {k: v.replace(str(other).encode(), str(job).encode()) for k, v in outputs(other).items()}
    assert moved == reference
    assert _stored(other) == stored
    assert len(calls) >= 3 and all(n <= 4 for n in calls)
    assert bool(drops) == bulk  # the index dropped for the first night's load, or never
    assert "ix_events_kind_recipient_ts" in sqlite_indexes(other / "listcare.db")


def test_a_failure_between_batches_of_a_bulk_load_leaves_the_store_as_it_was(job, monkeypatch):
    """The bulk load drops the history index for the load: a failure after some batches
    rolls everything back, the index included, and the next run is whole."""
    import listcare.bounces.read as reader
    import listcare.nightly as clean_mod

    monkeypatch.setattr(reader, "CHUNK_BYTES", 256)
    monkeypatch.setattr(clean_mod, "BATCH_ROWS", 2)
    monkeypatch.setattr(clean_mod, "BULK_MIN_LINES", 0)
    real, calls = Store.add_events, []

    def second_batch_fails(self, df, **kw):
        calls.append(len(df))
        if len(calls) == 2:
            raise OSError("disk full (simulated)")
        return real(self, df, **kw)

    monkeypatch.setattr(Store, "add_events", second_batch_fails)
    with pytest.raises(OSError, match="simulated"):
        run(job)
    with Store(job / "listcare.db") as store:
        assert store.count_events() == 0 and len(store.last_deliveries()) == 0
    assert "ix_events_kind_recipient_ts" in sqlite_indexes(job / "listcare.db")
    monkeypatch.setattr(Store, "add_events", real)
    report = run(job)
    assert report["run"]["new_events"] == len(NIGHT1_LOG)


def test_an_unreadable_bounce_input_stops_the_run_before_the_list_is_read(job, monkeypatch):
    """Every planned bounce file is opened before the contact list is read and
    validated (with DNS, minutes on a big list): a missing log is the reader's own error
    at once, and nothing is written."""
    import listcare.contacts as contacts_mod

    read = []
    real = contacts_mod.read_contacts
    monkeypatch.setattr(
        contacts_mod, "read_contacts", lambda *a, **k: read.append(1) or real(*a, **k)
    )
    with pytest.raises(InputError, match="Cannot open"):
        clean(
            job / "contacts.csv",
            [job / "mail.log", job / "no-such.log"],
            store=job / "listcare.db",
            out_dir=job / "out",
            as_of=NIGHT1,
            check_dns=False,
        )
    assert read == []
    assert not (job / "out").exists() or not any((job / "out").iterdir())


def test_later_nights_start_a_log_at_its_checkpoint_without_reading_what_is_before(
    job, monkeypatch
):
    """The checkpoint keeps the lines before its offset: the next night starts at the
    offset (also in the rotated file after logrotate) instead of reading the log from
    its start to count them, and the evidence names the same lines."""
    import listcare.bounces.read as reader

    run(job)
    with Store(job / "listcare.db") as store:
        cp = store.checkpoints()[str(job / "mail.log")]
    assert cp.lines == len(NIGHT1_LOG) and cp.offset == (job / "mail.log").stat().st_size
    second_night(job)
    skipped = []
    real = reader.LogChunks._skip_to
    monkeypatch.setattr(
        reader.LogChunks, "_skip_to", lambda self, o: skipped.append(o) or real(self, o)
    )
    report = run(job, as_of=NIGHT2)
    assert skipped == [] and report["run"]["new_events"] == 2
    with Store(job / "listcare.db") as store:
        ev = store.events(["recipient", "source", "position"]).tail(2)
    assert ev.values.tolist() == [
        ["ok@firma.de", str(job / "mail.log.1"), len(NIGHT1_LOG) + 1],
        ["soft@firma.de", str(job / "mail.log"), 1],
    ]
