"""The compiled Postfix scanner (listcare/bounces/_postfix_scan.c) against the Python
readers it stands in for: the pure-Python column-wise path and the line-by-line reference
(:meth:`Parser.feed_lines`) must give exactly the same rows, errors and offsets, on every
input, and the scanner must never crash on any bytes."""

from __future__ import annotations

import contextlib
import gc
import gzip
import hashlib
import os
import signal
import subprocess
import sys
import threading
import time

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from listcare.bounces import read as R
from listcare.bounces.detectors import postfix as PF
from listcare.bounces.read import read_bounces
from listcare.exceptions import InputError

from .conftest import ROOT
from .test_logs import _NOISE, AS_OF, LOGS, _bench_module, _edit, _edited, _line

S = PF._postfix_scan
REQUIRED = os.environ.get("CI") == "true" or os.environ.get("LISTCARE_REQUIRE_SPEEDUPS") == "1"
needs_c = pytest.mark.skipif(
    S is None, reason="the C scanner is not built here (no compiler, or LISTCARE_PURE_PYTHON=1); "
    "CI requires it (test_the_scanner_was_built)")


def test_the_scanner_was_built():
    """In CI (CI=true, as .ci/run sets) or with LISTCARE_REQUIRE_SPEEDUPS=1 a missing
    extension fails the run: optional=True must not hide a broken build."""
    if REQUIRED and os.environ.get("LISTCARE_PURE_PYTHON") != "1":
        assert S is not None, "listcare.bounces._postfix_scan did not build or import (see pip's build log)"
    assert PF.Parser.compiled is (S is not None)
    if S is not None:
        assert S.API == PF._SCAN_API


def test_pure_python_env_var_turns_the_scanner_off():
    code = ("from listcare.bounces.detectors import postfix as p; "
            "print(p.Parser.compiled, p._postfix_scan is None)")
    env = {**os.environ, "LISTCARE_PURE_PYTHON": "1"}
    out = subprocess.run([sys.executable, "-c", code], env=env, cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "True"]


@needs_c
def test_a_scanner_built_from_an_older_source_is_not_used():
    code = ("import listcare.bounces._postfix_scan as m; m.API = -1; "
            "from listcare.bounces.detectors import postfix as p; print(p.Parser.compiled)")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False"] and "older source" in out.stderr and "pip install -e ." in out.stderr


# --------------------------------------------------------------------------- readers
# (fast, compiled, pipelined) of the readers compared: the compiled one pipelined on every
# block (split_bytes 0) and not at all, the pure-Python one, the line-by-line reference
READERS = ((True, True, True), (True, True, False), (True, False, False), (False, False, False))


def read_all(data, **kw):
    """The readings of one input by every reader (the first: compiled and pipelined); an
    InputError (errors="raise") is returned as its message."""
    out = []
    for reader in READERS:
        with reading_as(*reader):
            try:
                out.append(read_bounces(data, **kw))
            except InputError as exc:
                out.append(str(exc))
    return out


@contextlib.contextmanager
def reading_as(fast: bool, compiled: bool, pipelined: bool):
    saved = PF.Parser.fast, PF.Parser.compiled, PF.Parser.pipeline, PF.Parser.split_bytes
    PF.Parser.fast, PF.Parser.compiled, PF.Parser.pipeline, PF.Parser.split_bytes = fast, compiled, pipelined, 0
    try:
        yield
    finally:
        PF.Parser.fast, PF.Parser.compiled, PF.Parser.pipeline, PF.Parser.split_bytes = saved


def assert_all_same(readings):
    first = readings[0]
    for other in readings[1:]:
        if isinstance(first, str) or isinstance(other, str):
            assert first == other
        else:
            pd.testing.assert_frame_equal(first, other, check_exact=True)
            assert first.attrs == other.attrs


@needs_c
@pytest.mark.parametrize("name", sorted(p.name for p in LOGS.glob("postfix-*.log")))
def test_every_fixture_reads_the_same_three_ways(name, monkeypatch):
    as_of = "2027-01-02" if "newyear" in name else AS_OF
    for size in (61, 1000, R.CHUNK_BYTES):
        monkeypatch.setattr(R, "CHUNK_BYTES", size)
        readings = read_all(LOGS / name, as_of=as_of)
        assert len(readings[0]) > 0
        assert_all_same(readings)
    berlin = pd.Timestamp("2027-01-02" if "newyear" in name else AS_OF, tz="Europe/Berlin")
    assert_all_same(read_all(LOGS / name, as_of=berlin))


@needs_c
def test_a_generated_log_reads_the_same_three_ways(tmp_path, monkeypatch):
    bench = _bench_module()
    path = tmp_path / "gen.log"
    bench.generate_postfix_log(path, 30_000, seed=5)
    text = path.read_bytes().split(b"\n")
    dl = [i for i, ln in enumerate(text) if b": to=<" in ln]
    deferred = next(i for i, ln in enumerate(text) if b"status=deferred" in ln)
    qid = text[deferred].split(b": ")[1]
    # the same delivered later (ends the deferral), then an expiry of another deferral
    text.insert(deferred + 3, text[deferred].replace(b"status=deferred", b"status=sent").replace(b"dsn=4.", b"dsn=2."))
    text[dl[5]] = text[dl[5]].replace(b"@gmail.com", b"@GMail.COM")
    text[dl[6]] = text[dl[6]].replace(b"to=<", b"to=<\xc3\xa9t\xe9@", 1)
    text[dl[7]] = text[dl[7]] + b" note: to=<x@y.example>, status=sent"
    text[dl[8]] = text[dl[8]].replace(b"status=", b"status=bogus")
    text[dl[9]] = text[dl[9]][:-20].replace(b"status=", b"status=b")
    text[dl[11]] = text[dl[11]].replace(b"relay=", b"orig_to=<List@Sender.EXAMPLE>, relay=")
    text[dl[12]] = text[dl[12]].replace(b" mail ", b" mail\t")
    text[dl[13]] = text[dl[13]] + b"\r"
    text[dl[14]] = text[dl[14]].replace(b"delay=", b"conn_use=2, delay=")
    text.insert(dl[15], b"Nov 26 23:00:00 mail postfix/qmgr[999]: %b: from=<news@sender.example>, status=expired, returned to sender" % qid)
    path.write_bytes(b"\n".join(text))
    monkeypatch.setattr(R, "CHUNK_BYTES", 48 << 10)
    readings = read_all(path, as_of="2026-12-31")
    c = readings[0]
    assert len(c) > 4500 and (c["kind"] != "delivered").sum() > 150
    assert c.attrs["errors"]["count"] == 2
    assert "List@sender.example" in set(c["recipient"]) and "GMail.COM" not in "".join(c["recipient"])
    assert_all_same(readings)


@needs_c
def test_many_distinct_relays_and_replies_in_one_block():
    """More distinct relays and (status, reply) pairs than the scanner's per-block tables
    hold: they are emptied and filled again, the rows stay the same."""
    lines = []
    for i in range(400):
        lines.append(b"Nov 26 10:%02d:%02d mail postfix/smtp[7]: Q%05d: to=<u%d@d%d.Example>, relay=mx%d.example[192.0.2.1]:25, "
                     b"delay=1, delays=0/0/0/1, dsn=2.%d.%d, status=sent (%03d ok %b)"
                     % (i // 60, i % 60, i, i, i % 97, i % 131, i % 8, i % 13, 200 + i % 90, b"\xe9" if i % 5 else b"ok"))
    readings = read_all(b"\n".join(lines) + b"\n", format="postfix", as_of=AS_OF)
    assert len(readings[0]) == 400 and readings[0]["remote_mta"].nunique() == 131
    assert_all_same(readings)


@needs_c
def test_huge_lines_nuls_and_several_separators():
    long_rcpt = b"x" * 30_000 + b"@EXAMPLE.com"
    lines = [
        b"Nov 26 10:00:01 mail postfix/smtp[1]: AB1: to=<%b>, relay=none, delay=1, dsn=2.0.0, status=sent (250 %b)" % (long_rcpt, b"y" * 20_000),
        b"Nov 26 10:00:02 mail postfix/smtp[1]: AB2: to=<a\x00b@ex.com>, relay=r\x00[1]:25, dsn=2.0.0, status=sent (250 \x00)",
        b"Nov 26 10:00:03 mail postfix/smtp[1]: AB3: to=<a@b.c>, relay=x, dsn=2.0.0, status=sent (250 ok: to=<q@r.s>, x)",
        b": to=<: to=<: to=<",
        b"x: to=<a@b>, relay=x, dsn=2.0.0, status=sent",
        b"\x00" * 5000 + b": to=<" + b"\xff" * 5000,
        b"Nov 26 10:00:04 mail postfix/smtp[1]: AB4: to=<" + b"z" * 65_000,
    ]
    data = b"\n".join(lines)
    for chunk in (100, 1 << 20):
        old = R.CHUNK_BYTES
        R.CHUNK_BYTES = chunk
        try:
            readings = read_all(data, format="postfix", as_of=AS_OF)
        finally:
            R.CHUNK_BYTES = old
        assert readings[0]["recipient"].tolist()[:3] == ["x" * 30_000 + "@example.com", "a\x00b@ex.com", "a@b.c"]
        assert_all_same(readings)


@needs_c
def test_a_stream_of_bytearrays_reads_the_same():
    class Stream:
        def __init__(self, data):
            self.f = __import__("io").BytesIO(data)

        def read(self, n=-1):
            return bytearray(self.f.read(n))

    data = (LOGS / "postfix-classic.log").read_bytes()
    readings = []
    for reader in READERS:
        with reading_as(*reader):
            readings.append(read_bounces(Stream(data), format="postfix", as_of=AS_OF))
    assert len(readings[0]) == 12
    assert_all_same(readings)


_FUZZ_BYTES = [b": to=<", b"to=<", b">, ", b", ", b"\n", b"\r", b"\x00", b"\xff", b"\xc3", b" ", b"\t", b"<", b">",
               b"status=sent", b"status=", b"dsn=2.0.0", b"orig_to=<", b"relay=", b"@", b"A", b"7", b"Nov 26 10:00:01 "]


@needs_c
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.one_of(_line, st.sampled_from(_NOISE)), st.lists(_edit, max_size=3)), min_size=1, max_size=25),
       st.lists(st.tuples(st.integers(0, 4000), st.one_of(st.sampled_from(_FUZZ_BYTES), st.binary(max_size=12))), max_size=4),
       st.booleans(), st.sampled_from([64, 333, 1 << 20]), st.sampled_from(["report", "raise"]))
def test_generated_lines_read_the_same_three_ways(lines, inserts, final_newline, chunk, errors):
    """Real-looking delivery lines, edited (cuts, inserted bytes anywhere, several ": to=<"),
    a chunk boundary anywhere: the three readers agree, including the first error."""
    data = b"\n".join(_edited(ln, edits) for ln, edits in lines) + (b"\n" if final_newline else b"")
    for at, piece in inserts:
        at %= len(data) + 1
        data = data[:at] + piece + data[at:]
    old = R.CHUNK_BYTES
    R.CHUNK_BYTES = chunk
    try:
        readings = read_all(data, format="postfix", as_of=AS_OF, errors=errors)
    finally:
        R.CHUNK_BYTES = old
    assert_all_same(readings)


# --------------------------------------------------------------------------- the scanner itself
@needs_c
@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=600))
def test_blake2b_is_hashlibs(data):
    assert S.blake2b_hex(data) == hashlib.blake2b(data, digest_size=12).hexdigest()


@needs_c
def test_blake2b_at_block_boundaries():
    for n in [0, 1, 127, 128, 129, 255, 256, 257, 1000, 65_536, 1_000_003]:
        data = bytes(range(256)) * (n // 256) + bytes(range(n % 256))
        assert S.blake2b_hex(data) == hashlib.blake2b(data, digest_size=12).hexdigest(), n


def _groups(line: bytes):
    g = PF._LINE.match(line)
    return g.groups() if g else None


_STAMP_FORMS = [b"Nov 26 10:00:01", b"Nov  6 10:00:02", b"Nov 26 2026 10:00:04", b"2026 Nov 26 10:00:05",
                b"2026-11-26T10:00:03", b"2026-11-26 10:00:03.123456", b"2026-11-26T10:00:03Z", b"2026-11-26T10:00:03+01:00",
                b"2026-11-26T10:00:03-0130", b"2026-11-26T10:00:03+01:0", b"2026-11-26T10:00:03+1", b"Nov 26 10:00:01.5",
                b"Nov 26 10:00:01.", b"nov 26 10:00:01", b"Nov 266 10:00:01", b"Nov 26 202 10:00:01", b"2026 Nov 26 10:00",
                b"<13>Nov 26 10:00:01", b"<1234>Nov 26 10:00:01", b"<>Nov 26 10:00:01", b"Nov 26 1:00:01", b""]
_HOSTS = [b"mail", b"mx-1.example", b"m\tx", b"", b"a\x00b", b"\xff"]
_PROGRAMS = [b"postfix/smtp[3125]", b"postfix/smtp", b"postfix-out/lmtp[1]", b"postfix.a/b/c.d-e[9]", b"postfix/[1]",
             b"postfix/smtp[]", b"postfix/smtp[12a]", b"postfixsmtp", b"Postfix/smtp", b"postfix/smtp[1] "]
_QUEUE = [b"0A1B2C3D4E", b"77", b"", b"A_B", b"4dHz1k0Q2Nz9v"]
_PARTS = [b"relay=mx[1.2.3.4]:25, ", b"orig_to=<L@X.Y>, relay=local, ", b"orig_to=<>, relay=none, ",
          b"orig_to=<a>, relay=x, ", b"orig_to=<a, relay=x, ", b"relay=, ", b"relay=x,", b"relay=a b, ",
          b"relay=x, conn_use=2, ", b"relay=x, conn_use=, ", b"relay=x, conn_use=2,", b"relay=x, delay=1, ",
          b"relay=x, delay=1,", b"relay=x, delays=0/0/0/1, ", b"relay=x, delay=1, delays=0/0/0/1, ",
          b"relay=x, delays=1, delay=1, ", b"relay=x, conn_use=3, delay=0.5, delays=a, "]
_DSNS = [b"2.0.0", b"5.1.10", b"4.4.100", b"5.1.1000", b"5..1", b"51.1.1", b"2.0", b"x.0.0", b"5.7.26"]
_TAILS = [b", status=sent (250 2.0.0 Ok)", b", status=sent", b", status=sent ", b", status=SOFTBOUNCE (x)", b", status=sent2 (x)",
          b", status=", b", status= sent", b", status=sentx", b",status=sent", b", status=s\xffent", b", status=bounced (host x said: 550 y)"]


@needs_c
@settings(max_examples=600, deadline=None)
@given(st.sampled_from(_STAMP_FORMS), st.sampled_from(_HOSTS), st.sampled_from(_PROGRAMS), st.sampled_from(_QUEUE),
       st.binary(max_size=8).filter(lambda b: b"\n" not in b), st.sampled_from(_PARTS), st.sampled_from(_DSNS),
       st.sampled_from(_TAILS), st.lists(st.tuples(st.integers(0, 200), st.sampled_from(_FUZZ_BYTES + [b"", b"x"])), max_size=2))
def test_match_reads_a_line_exactly_as_the_regex(stamp, host, program, qid, rcpt, parts, dsn, tail, edits):
    line = b"%b %b %b: %b: to=<%b>, %bdsn=%b%b" % (stamp, host, program, qid, rcpt, parts, dsn, tail)
    for at, piece in edits:
        line = line[:at] + piece + line[at + 1:]
    line = line.replace(b"\n", b"")
    assert S.match(line) == _groups(line)


_BASES = [
    b"Nov 26 10:00:01 mail postfix/smtp[3125]: 0A1B2C3D4E: to=<a@Ex.com>, relay=mx.ex.com[192.0.2.1]:25, delay=1.2, "
    b"delays=0.1/0/0.3/0.8, dsn=2.0.0, status=sent (250 2.0.0 Ok)",
    b"<13>Nov  6 2026 10:00:01.5 mx-1 postfix-out/lmtp: Q7: to=<b@x.y>, orig_to=<L@X.Y>, relay=private/dovecot-lmtp, "
    b"conn_use=2, delay=0, dsn=2.1.5, status=sent (x)",
    b"2026 Nov 26 10:00:05 h postfix/local[1]: Q8: to=<c@d>, relay=local, dsn=5.1.100, status=bounced (ab)",
    b"2026-11-26T10:00:03.25+01:00 h postfix/pipe[22]: Q9: to=<>, orig_to=<>, relay=none, delays=1, dsn=4.4.1, status=deferred",
    b"2026-11-26 10:00:03Z h postfix/smtp[2]: Q10: to=<e@f>, relay=, dsn=2.0.0, status=sent ()",
    b"2026-11-26T10:00:03-0130 h postfix/smtp[2]: Q11: to=<e@F>, relay=[1.2.3.4], dsn=2.0.0, status=sent (250)",
]
_MUTANTS = [b"-", b" ", b"\t", b"\r", b"\v", b"\f", b"0", b"9", b"a", b"Z", b":", b",", b">", b"<", b"[", b"]", b".", b"/",
            b"_", b"+", b"T", b"=", b"@", b"\x00", b"\xff", b"\xc3"]


@needs_c
def test_match_equals_the_regex_on_every_one_byte_edit():
    """Every single-byte change, deletion and insertion at every position of lines of
    every form: the scanner accepts exactly the lines the regex accepts, with the same
    fields -- and the three readers agree on the whole lot."""
    lines = []
    for base in _BASES:
        lines.append(base)
        for i in range(len(base) + 1):
            lines.append(base[:i] + base[i + 1:])
            for m in _MUTANTS:
                lines.append(base[:i] + m + base[i + 1:])
                lines.append(base[:i] + m + base[i:])
    accepted = 0
    for line in lines:
        g = _groups(line)
        assert S.match(line) == g, line
        accepted += g is not None
    assert 0.2 < accepted / len(lines) < 0.9
    # (years past 2262 are beyond nanosecond timestamps: read_bounces does not take them yet)
    sample = b"\n".join(ln for ln in lines[::7] if b"\n" not in ln and not (ln[:4].isdigit() and int(ln[:4]) > 2200))
    assert_all_same(read_all(sample, format="postfix", as_of=AS_OF))


_MONTH_NAMES = [b"Jan", b"Feb", b"Mar", b"Nov", b"Dec", b"NOV", b"nov", b"Foo", b"N\xe9v", b"Nov"]


@needs_c
@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(_MONTH_NAMES), st.sampled_from([b" 1", b" 6", b"06", b"26", b"29", b"30", b"31", b"32",
                                                                          b"41", b"0 ", b"x1", b"00", b"  "]),
                          st.sampled_from([b"00:00:00", b"23:59:59", b"10:99:99", b"24:00:00", b"1:00:00 ", b"10-00:00", b"12:3a:00"]),
                          st.sampled_from([b" ", b"-"])), min_size=1, max_size=6),
       st.sampled_from(["2026-11-27", "2024-03-01", "2027-01-02", None]))
def test_classic_ns_is_the_clocks_classic_reading(parts, as_of):
    """The compiled 'Mmm dd hh:mm:ss' reading gives Clock._classic's nanoseconds, or gives
    up (None) exactly where _classic does; no as_of: it gives up and the Clock raises."""
    stamps = [mon + sep + day + b" " + hms for mon, day, hms, sep in parts]
    clock = R.Clock(as_of)
    parser = PF.Parser(R.LogContext("postfix", "x.log", clock, R.ErrorReport()))
    mine = S.classic_ns(stamps, parser._epoch_day)
    theirs = clock._classic(stamps, "x.log") if {len(t) for t in stamps} == {15} else None
    assert mine == (theirs.tolist() if theirs is not None else None)
    if mine is not None:
        assert mine == clock.syslog_ns_many(stamps, "x.log", list(range(len(stamps))), R.ErrorReport())


@needs_c
def test_classic_ns_values():
    clock = R.Clock("2027-01-02")
    parser = PF.Parser(R.LogContext("postfix", "x.log", clock, R.ErrorReport()))
    stamps = [b"Dec 31 23:59:59", b"Jan  1 00:00:01", b"Feb 28 12:00:00"]
    assert S.classic_ns(stamps, parser._epoch_day) == [
        pd.Timestamp(t).value for t in ("2026-12-31 23:59:59", "2027-01-01 00:00:01", "2026-02-28 12:00:00")]
    assert S.classic_ns([b"Feb 29 12:00:00"], parser._epoch_day) == [pd.Timestamp("2024-02-29 12:00").value]  # the last leap year
    assert S.classic_ns([b"Nov 26 10:00:00", b"Feb 30 12:00:00"], parser._epoch_day) is None  # no year has it
    assert S.classic_ns([], parser._epoch_day) == []


def _expiry_lines(block: bytes) -> list:
    """The qmgr expiry lines Parser._expired acts on."""
    return [m for m in PF._EXPIRED.finditer(block) if PF._HEAD1.fullmatch(block, block.rfind(b"\n", 0, m.start()) + 1, m.start())]


@needs_c
def test_scan_flags_the_blocks_with_expiry_lines():
    exp = b"Nov 26 10:00:00 mail postfix/qmgr[1]: 0A1B: from=<n@s.example>, status=expired, returned to sender"
    to = b"Nov 26 10:00:01 mail postfix/smtp[1]: Q1: to=<a@b.c>, relay=x, dsn=2.0.0, status=sent (250 ok)"
    for block, flagged in [(exp, True), (to + b"\n" + exp, True), (exp + b"\n" + to + b"\n", True), (to, False),
                           (exp.replace(b"expired", b"sent"), False), (exp.replace(b": from=<", b": to=<"), False),
                           (b"x" + exp[:60], False), ((LOGS / "postfix-expired.log").read_bytes(), True),
                           ((LOGS / "postfix-classic.log").read_bytes(), False)]:
        assert S.scan(block, 1, lambda s, r: ("r", "k"))[3] is flagged, block
        assert bool(_expiry_lines(block)) is flagged


@needs_c
@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300))
def test_scan_survives_any_bytes(data):
    """Random bytes (with or without a separator in them): no crash, every newline
    counted, a row per ": to=<" line, and a matched line only where the regex matches."""
    for block in (data, data + b"Nov 26 10:00:01 mail postfix/smtp[1]: Q1: to=<" + data, b": to=<" + data):
        newlines, cols, special, expiry = S.scan(block, 1, lambda status, reply: ("r", "k"))
        assert newlines == block.count(b"\n")
        if _expiry_lines(block):
            assert expiry
        lines = block.split(b"\n")
        hits = [i for i, ln in enumerate(lines, 1) if b": to=<" in ln]
        assert cols[0] == hits
        assert all(len(c) == len(hits) for c in cols)
        specials = {row: (line, groups) for row, line, groups, _ in special}
        for row, (line, groups) in specials.items():
            assert lines[hits[row] - 1] == line and groups == _groups(line)
        for i, eid in enumerate(cols[1]):
            line = lines[hits[i] - 1]
            g = _groups(line)
            assert (eid is None) is (g is None)
            if g is not None:
                rb = g[3] or g[2]
                assert eid == PF._BLAKE(PF._ID_INPUT((line, PF._norm_bytes(rb)))).hexdigest()
                assert cols[3][i] == PF._norm_bytes(rb).decode("utf-8", "replace")
                assert (i in specials) is (g[6] != b"sent")
                if g[6] == b"sent":
                    assert cols[10][i] == g[1].decode() and cols[2][i] == g[0]


@needs_c
def test_scan_rejects_bad_arguments_and_passes_errors_on():
    line = b"Nov 26 10:00:01 mail postfix/smtp[1]: Q1: to=<a@b.c>, relay=x, dsn=2.0.0, status=sent (250 ok)\n"
    with pytest.raises(TypeError):
        S.scan(bytearray(line), 1, lambda s, r: ("a", "b"))
    with pytest.raises(TypeError):
        S.scan(line, 1, None)
    with pytest.raises(TypeError, match="reason, kind"):
        S.scan(line, 1, lambda s, r: ["a", "b"])

    def broken(status, reply):
        raise ZeroDivisionError(status)

    with pytest.raises(ZeroDivisionError):
        S.scan(line * 3, 1, broken)
    with pytest.raises(ValueError):
        S.match(b"a\nb")
    newlines, cols, special, expiry = S.scan(line, 41, lambda s, r: (f"reason {s} {r}", "delivered"))
    assert (newlines, special, expiry) == (1, [], False)
    assert [c[0] for c in cols] == [41, hashlib.blake2b(b"postfix\0" + line[:-1] + b"\0a@b.c\x000", digest_size=12).hexdigest(),
                                    b"Nov 26 10:00:01", "a@b.c", "delivered", "reason 2.0.0 250", "2.0.0", "250", "250 ok", "x", "Q1"]


# --------------------------------------------------------------------------- phases and the pipeline
def _classify(status, reply):
    return (f"reason {status} {reply}", "delivered")


def _joined(pieces):
    """scan()'s value for a block from the values of its consecutive pieces."""
    newlines, cols, special, expiry = 0, tuple([] for _ in range(11)), [], False
    for n, more, spec, exp in pieces:
        special += [(row + len(cols[0]), line, groups, text) for row, line, groups, text in spec]
        for col, rest in zip(cols, more, strict=True):
            col += rest
        newlines += n
        expiry = expiry or exp
    return newlines, cols, special, expiry


_BLOCK_LINES = st.lists(st.tuples(st.one_of(_line, st.sampled_from(_NOISE)), st.lists(_edit, max_size=2)), min_size=0, max_size=20)


@needs_c
@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_BLOCK_LINES, st.booleans(), st.integers(0, 10_000), st.integers(1, 10_000))
def test_prescan_then_finish_is_scan(lines, final_newline, cut_at, first_line):
    """prescan/prescan_background + finish give exactly scan's value, for the whole block
    and for a block cut in two at a line start (the second piece numbered on from the
    first), whoever runs phase 1."""
    block = b"\n".join(_edited(ln, e) for ln, e in lines) + (b"\n" if final_newline and lines else b"")
    want = S.scan(block, first_line, _classify)
    assert S.finish(S.prescan(block), _classify, first_line) == want
    assert S.finish(S.prescan_background(block), _classify, first_line) == want
    cut = block.find(b"\n", min(cut_at, len(block))) + 1 or len(block)
    first = S.prescan(block, 0, cut)
    second = S.prescan_background(block, cut)
    a = S.finish(first, _classify, first_line)
    b = S.finish(second, _classify, first_line + a[0])
    assert _joined([a, b]) == want
    assert first.ran_in == "caller" and second.ran_in in ("caller", "worker", "worker, waited for")


@needs_c
def test_prescan_checks_its_arguments():
    line = b"Nov 26 10:00:01 mail postfix/smtp[1]: Q1: to=<a@b.c>, relay=x, dsn=2.0.0, status=sent (250 ok)\n"
    block = line * 3
    for bad in [(block, 1), (block, 0, len(block) + 1), (block, 5, 3), (block, -1)]:
        with pytest.raises(ValueError):
            S.prescan(*bad)
        with pytest.raises(ValueError):
            S.prescan_background(*bad)
    with pytest.raises(TypeError):
        S.prescan(bytearray(block))
    with pytest.raises(TypeError):
        S.finish(block, _classify, 1)
    with pytest.raises(TypeError):
        S.finish(S.prescan(block), None, 1)
    assert S.finish(S.prescan(block, len(line), len(block)), _classify, 2)[1][0] == [2, 3]
    assert S.finish(S.prescan(block, len(block)), _classify, 1) == (0, ([],) * 11, [], False)


@needs_c
def test_a_handle_is_finished_once():
    block = (LOGS / "postfix-classic.log").read_bytes()
    for h in (S.prescan(block), S.prescan_background(block)):
        assert h.newlines == block.count(b"\n")
        assert S.finish(h, _classify, 1) == S.scan(block, 1, _classify)
        with pytest.raises(RuntimeError, match="finished already"):
            S.finish(h, _classify, 1)
        with pytest.raises(RuntimeError, match="finished already"):
            h.newlines  # noqa: B018

    def broken(status, reply):
        raise ZeroDivisionError(status)

    h = S.prescan_background(block)
    with pytest.raises(ZeroDivisionError):
        S.finish(h, broken, 1)
    with pytest.raises(RuntimeError, match="finished already"):  # its rows were freed with the error
        S.finish(h, _classify, 1)


@needs_c
def test_the_worker_runs_the_queue_and_the_caller_takes_what_it_has_not_started():
    block = (LOGS / "postfix-classic.log").read_bytes()
    want = S.scan(block, 1, _classify)
    big = b"x<" * 20_000_000  # tens of ms of phase 1 for the worker (20M "<", no ": to=<")
    seen = []
    for _ in range(5):  # a machine busy elsewhere may let the worker finish both first: retry
        busy = S.prescan_background(big)
        queued = S.prescan_background(block)
        assert S.finish(queued, _classify, 1) == want  # the worker still on `big`: the caller reads it
        seen.append(queued.ran_in)
        assert S.finish(busy, _classify, 1) == (0, ([],) * 11, [], False)
        assert busy.ran_in in ("worker", "worker, waited for", "caller")
        if queued.ran_in == "caller":
            break
    assert "caller" in seen, seen
    for _ in range(50):  # given time, the worker has done the piece (a busy machine may not run it at once)
        h = S.prescan_background(block)
        time.sleep(0.02)
        assert S.finish(h, _classify, 1) == want
        if h.ran_in == "worker":
            break
    assert h.ran_in == "worker"


def _rss_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


@needs_c
@pytest.mark.skipif(not os.path.exists("/proc/self/statm"), reason="reads the resident size from /proc (Linux)")
def test_dropped_and_failed_handles_leak_nothing():
    """Handles dropped unfinished (cancelled, or waited for while the worker reads them),
    finishes and scans that raise, finishes that succeed: the block's references come back
    and the resident size stays flat over thousands of them."""
    data = (LOGS / "postfix-classic.log").read_bytes() * 20

    def broken(status, reply):
        raise ZeroDivisionError(status)

    def rounds(n):
        for i in range(n):
            block = bytes(bytearray(data))  # a new object each time: a leaked reference keeps ~40 KB
            base = sys.getrefcount(block)
            handles = [S.prescan_background(block), S.prescan_background(block), S.prescan(block)]
            if i % 3 == 0:
                with pytest.raises(ZeroDivisionError):
                    S.finish(handles[0], broken, 1)
                with pytest.raises(ZeroDivisionError):
                    S.scan(block, 1, broken)
            elif i % 3 == 1:
                S.finish(handles[1], _classify, 1)
            assert sys.getrefcount(block) == base + 3
            del handles
            assert sys.getrefcount(block) == base

    rounds(300)  # warm-up: allocator pools, the worker
    gc.collect()
    before = _rss_bytes()
    rounds(3000)
    gc.collect()
    assert _rss_bytes() - before < 16 << 20  # a leak per round would be >= 120 MB


_TOO_LONG = b"Nov 26 10:00:09 mail postfix/smtp[9]: ZZ: to=<" + b"y" * (3 * R.MAX_LINE_BYTES)


@needs_c
@pytest.mark.parametrize("errors", ["report", "raise"])
@pytest.mark.parametrize("bad_lines", [3, 40])
def test_the_pipeline_keeps_the_order_of_errors(errors, bad_lines, monkeypatch):
    """The pipeline reads a block's rows one block later, after the chunk reader has gone
    on: errors it reports in between (a line too long, here) stay after the earlier
    block's (also past the first MAX_ERROR_SAMPLES), and errors="raise" raises the same
    first error."""
    good = [ln for ln in (LOGS / "postfix-classic.log").read_bytes().split(b"\n") if b": to=<" in ln]
    bad = [good[i % len(good)].replace(b"status=", b"status=bogus") for i in range(bad_lines)]
    data = b"\n".join([*good, *bad, _TOO_LONG, *good, *bad, *good, _TOO_LONG, *bad]) + b"\n"
    calls = []
    spy = _Spy(calls)
    monkeypatch.setattr(PF, "_postfix_scan", spy)
    for chunk in (2000, 20_000):  # (the chunk reader skips a line longer than MAX_LINE_BYTES and a chunk)
        monkeypatch.setattr(R, "CHUNK_BYTES", chunk)
        readings = read_all(data, format="postfix", as_of=AS_OF, errors=errors)
        assert_all_same(readings)
        if errors == "report":
            c = readings[0].attrs["errors"]
            assert c["count"] == 3 * bad_lines + 3 * 1 + 2  # the fixture has a truncated line
            messages = [m for _, _, m in c["samples"]]
            assert len(messages) == min(c["count"], R.MAX_ERROR_SAMPLES)
            if bad_lines + 1 < R.MAX_ERROR_SAMPLES:  # the fixture's error, the bad lines, then this
                assert "longer than" in messages[bad_lines + 1] and "longer than" not in messages[bad_lines]
            else:
                assert not any("longer than" in m for m in messages)
        else:
            assert "unknown Postfix status" in readings[0]
    assert ("prescan_background" in calls) is (errors == "report")  # "raise" reads each block at once


class _Spy:
    """The compiled module, its calls noted (to show which path ran)."""

    def __init__(self, calls):
        self._calls = calls

    def __getattr__(self, name):
        self._calls.append(name)
        return getattr(S, name)


@needs_c
def test_the_worker_is_started_again_in_a_forked_child(tmp_path):
    """A fork leaves the worker thread behind: the child starts its own (os.register_at_fork),
    whose pieces it then runs (without it the child would scan every piece itself), and
    reads the same rows."""
    log = tmp_path / "m.log"
    log.write_bytes((LOGS / "postfix-classic.log").read_bytes() * 300)
    code = f"""
import os, sys, time
from listcare.bounces.detectors import postfix as PF
from listcare.bounces.read import read_bounces
S = PF._postfix_scan
PF.Parser.split_bytes = 0
a = read_bounces({str(log)!r}, as_of={AS_OF!r})
pid = os.fork()
if pid == 0:
    b = read_bounces({str(log)!r}, as_of={AS_OF!r})
    block = open({str(log)!r}, "rb").read()
    ran = set()
    for _ in range(50):
        h = S.prescan_background(block)
        time.sleep(0.02)
        S.finish(h, lambda s, r: ("r", "k"), 1)
        ran.add(h.ran_in)
        if h.ran_in == "worker":
            break
    os._exit(0 if b.equals(a) and len(b) == 3600 and "worker" in ran else 3)
_, status = os.waitpid(pid, 0)
print(os.waitstatus_to_exitcode(status), len(a))
"""
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120, check=True)
    assert out.stdout.split() == ["0", "3600"], out.stderr


# --------------------------------------------------------------------------- Columns.frame
def _frame_by_pd_array(cols: R.Columns) -> pd.DataFrame:
    """Columns.frame as first written: pd.array(list, dtype="string") per column."""
    from listcare import schema

    n = len(cols)
    data = {}
    for name in schema.EVENT_COLUMNS:
        if name == "timestamp":
            data[name] = pd.DatetimeIndex(pd.array(cols.timestamp, dtype="int64").to_numpy().view("datetime64[ns]")).tz_localize("UTC")
        elif name == "position":
            data[name] = pd.array(cols.position, dtype="Int64")
        elif name in ("source_format", "source"):
            data[name] = pd.array([getattr(cols, name)] * n, dtype="string")
        else:
            data[name] = pd.array(getattr(cols, name), dtype="string")
    return pd.DataFrame(data, columns=list(schema.EVENT_COLUMNS))


@pytest.mark.parametrize("values", [["a", None, "é"], [None, None, None], ["x", "y", "z"], [None, "b", None],
                                    ["a", float("nan"), pd.NA], ["a", 7, None]])
def test_frame_string_columns_equal_pd_array(values):
    cols = R.Columns("postfix", "mail.log")
    for name in cols.NAMES:
        setattr(cols, name, list(values))
    cols.timestamp = [0, 1_000_000_000, R._NAT]
    cols.position = [1, 2, 3]
    cols.sender = [None] * 3
    pd.testing.assert_frame_equal(cols.frame(), _frame_by_pd_array(cols), check_exact=True)


def test_frame_of_a_read_log_equals_pd_array():
    df = read_bounces(LOGS / "postfix-classic.log", as_of=AS_OF)
    cols = R.Columns("postfix", str(LOGS / "postfix-classic.log"))
    for name in cols.NAMES:
        if name not in ("timestamp", "position"):
            setattr(cols, name, [None if pd.isna(v) else v for v in df[name]])
    cols.timestamp = df["timestamp"].dt.tz_localize(None).astype("int64").tolist()
    cols.position = df["position"].astype("int64").tolist()
    pd.testing.assert_frame_equal(cols.frame(), _frame_by_pd_array(cols), check_exact=True)
    pd.testing.assert_frame_equal(cols.frame(), df, check_exact=True)


# --------------------------------------------------------------------------- review: threads, forks, exits
def _sent_lines(n: int, tag: bytes = b"") -> bytes:
    return b"".join(b"Nov 26 10:00:%02d mail postfix/smtp[1]: Q%d: to=<a%d@Ex%b.com>, relay=x[1]:25, dsn=2.0.0, "
                    b"status=sent (250 ok %d)\n" % (i % 60, i, i, tag, i) for i in range(n))


@needs_c
def test_a_handle_shared_by_threads_is_read_once_and_never_freed_under_a_reader():
    """Threads that share a handle: while one makes or waits for its rows (the GIL released)
    the others get a RuntimeError, never rows half made or freed under them (this crashed:
    a second finish() freed the rows the first was reading)."""
    block = _sent_lines(60_000)
    want = S.scan(block, 1, _classify)

    def call(f, h, out, go):
        go.wait()
        try:
            out.append(f(h))
        except RuntimeError as exc:
            out.append(str(exc))

    for _ in range(4):
        h = S.prescan_background(block)
        out, go = [], threading.Barrier(4)
        finish, newlines = (lambda h: S.finish(h, _classify, 1)), (lambda h: h.newlines)
        threads = [threading.Thread(target=call, args=(f, h, out, go)) for f in (finish, finish, finish, newlines)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        rows = [o for o in out if isinstance(o, tuple)]
        assert len(rows) <= 1
        if not rows:  # .newlines held it while the finish() calls came
            rows.append(S.finish(h, _classify, 1))
        assert rows == [want]
        assert all(o == 60_000 or "another thread" in o or "finished already" in o for o in out if not isinstance(o, tuple))


def _run_script(code: str, *args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    """python -c code args, in its own process group: on a timeout (a hang) the whole group
    is killed, forked children too, and the test fails."""
    p = subprocess.Popen([sys.executable, "-c", code, *args], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True, start_new_session=True)
    try:
        out, err = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)
        p.communicate()
        pytest.fail(f"hung: {args}")
    return subprocess.CompletedProcess(p.args, p.returncode, out, err)


_FORK_MID_PIECE = """
import os, sys, time
from listcare.bounces.detectors import postfix as PF
S = PF._postfix_scan
n = 150_000
block = b"".join(b"Nov 26 10:00:01 mail postfix/smtp[1]: Q%d: to=<a%d@b.c>, relay=x, dsn=2.0.0, status=sent (250 ok)\\n"
                 % (i, i) for i in range(n))
cl = lambda s, r: ("r", "k")
h = S.prescan_background(block)
time.sleep(0.003)  # the worker is reading it (or, on a busy machine, has not started)
pid = os.fork()
if pid == 0:
    if sys.argv[1] == "finish":
        r = S.finish(h, cl, 1)
        # (read here, unless a slow start let the parent's worker finish it before the fork)
        ok = r[0] == n and r[1][0] == list(range(1, n + 1)) and h.ran_in in ("caller", "worker")
    else:
        del h  # dropped unfinished: no waiting for the parent's worker
        ok = True
    again = S.prescan_background(block)
    ok = ok and S.finish(again, cl, 1)[0] == n
    os._exit(0 if ok else 3)
_, status = os.waitpid(pid, 0)
print(os.waitstatus_to_exitcode(status), S.finish(h, cl, 1)[0] == n)
"""


@needs_c
@pytest.mark.parametrize("how", ["finish", "drop"])
def test_a_fork_while_the_worker_reads_a_piece(how):
    """A piece the parent's worker was reading when the process forked: in the child that
    worker is gone (its locks may be held for good), so the child reads the piece itself
    -- finished or dropped, it neither waits forever (it did) nor crashes -- and its next
    pieces go to the child's own worker."""
    out = _run_script(_FORK_MID_PIECE, how)
    assert out.stdout.split() == ["0", "True"], out.stderr


_FORKS_DURING_READS = """
import os, sys, threading
from listcare.bounces.detectors import postfix as PF
from listcare.bounces.read import read_bounces
PF.Parser.split_bytes = 0
log = sys.argv[1]
want = read_bounces(log, as_of="2026-11-27")
stop = False
reads = []
def reader():
    while not stop:
        reads.append(read_bounces(log, as_of="2026-11-27").equals(want))
t = threading.Thread(target=reader)
t.start()
codes = []
for _ in range(8):
    pid = os.fork()
    if pid == 0:  # the worker may have held a lock at the fork: the child starts its own
        os._exit(0 if read_bounces(log, as_of="2026-11-27").equals(want) else 3)
    codes.append(os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]))
stop = True
t.join()
print(codes, len(reads) > 0 and all(reads))
"""


@needs_c
def test_forks_in_the_middle_of_pipelined_reads(tmp_path):
    """Another thread forks while this one reads pipelined (the worker running, queued,
    maybe holding its queue's lock): every child reads the log right and exits."""
    log = tmp_path / "m.log"
    log.write_bytes((LOGS / "postfix-classic.log").read_bytes() * 400)
    out = _run_script(_FORKS_DURING_READS, str(log), timeout=120)
    assert out.stdout.split("\n")[0] == f"{[0] * 8} True", out.stderr


_EXIT_MID_READ = """
import os, sys, threading, time
from listcare.bounces.detectors import postfix as PF
from listcare.bounces.read import read_bounces
S = PF._postfix_scan
PF.Parser.split_bytes = 0
log, how = sys.argv[1], sys.argv[2]
def reader():
    while True:
        read_bounces(log, as_of="2026-11-27")
if how == "handle":  # left unfinished in a global: freed at exit, waiting for the worker
    h = S.prescan_background(open(log, "rb").read() * 8)
    time.sleep(0.002)
else:
    threading.Thread(target=reader, daemon=True).start()
    time.sleep(0.3)
print("bye", flush=True)
if how == "os._exit":
    os._exit(0)
if how == "raise":
    raise SystemExit(4)
"""


@needs_c
@pytest.mark.parametrize("how", ["exit", "raise", "os._exit", "handle"])
def test_the_interpreter_exits_in_the_middle_of_a_pipelined_read(how, tmp_path):
    """The interpreter exits (normally, by an exception, by os._exit) while a daemon thread
    reads pipelined, or with a handle the worker is reading: no hang, no crash."""
    log = tmp_path / "m.log"
    log.write_bytes((LOGS / "postfix-classic.log").read_bytes() * 400)
    out = _run_script(_EXIT_MID_READ, str(log), how)
    assert (out.returncode, out.stdout) == (4 if how == "raise" else 0, "bye\n"), out.stderr
    assert "Fatal" not in out.stderr and "Error" not in out.stderr


@needs_c
def test_an_exception_in_the_middle_of_a_pipelined_read_leaves_the_next_read_right(tmp_path, monkeypatch):
    """An exception (a KeyboardInterrupt, an error of the classifier) raised in phase 2 of
    a block or in the reader's Python part, with a block held back and the next one with
    the worker: the held handle is dropped, and the next read in the process is right."""
    bench = _bench_module()
    path = tmp_path / "gen.log"
    bench.generate_postfix_log(path, 8_000, seed=11)
    monkeypatch.setattr(R, "CHUNK_BYTES", 64 << 10)
    with reading_as(True, True, True):
        want = read_bounces(path, as_of=AS_OF)
    assert len(want) > 1000
    orig = R.LogContext.classify

    def raising(k, exc):
        calls = [0]

        def classify(self, *a, **kw):
            calls[0] += 1
            if calls[0] == k:
                raise exc
            return orig(self, *a, **kw)

        return classify

    for k, exc in [(1, KeyboardInterrupt), (25, ZeroDivisionError), (55, KeyboardInterrupt)]:  # of ~58 calls
        monkeypatch.setattr(R.LogContext, "classify", raising(k, exc))
        with reading_as(True, True, True), pytest.raises(exc):
            read_bounces(path, as_of=AS_OF)
        monkeypatch.setattr(R.LogContext, "classify", orig)
        with reading_as(True, True, True):
            again = read_bounces(path, as_of=AS_OF)
        pd.testing.assert_frame_equal(again, want, check_exact=True)
        assert again.attrs == want.attrs


@needs_c
def test_several_logs_gz_offsets_and_a_last_line_without_newline_read_the_same(tmp_path, monkeypatch):
    """What the nightly job reads: rotated logs (one gzipped) with offsets (at a line start,
    inside a line, past the end) and a current log whose last line is not terminated -- the
    pipelined reader gives the same rows, errors, offsets and lines read as the others."""
    bench = _bench_module()
    path = tmp_path / "gen.log"
    bench.generate_postfix_log(path, 6_000, seed=3)
    lines = path.read_bytes().split(b"\n")[:-1]
    lines[100] = lines[100].replace(b"status=", b"status=bogus")
    lines[3000] = b"Nov 26 10:00:09 mail postfix/smtp[9]: ZZ: to=<" + b"y" * (R.MAX_LINE_BYTES + 10)
    old, gz, cur = tmp_path / "maillog.2.gz", tmp_path / "maillog.1", tmp_path / "maillog"
    gz_data = b"\n".join(lines[:2000]) + b"\n"
    old.write_bytes(gzip.compress(gz_data))
    one = b"\n".join(lines[2000:4000]) + b"\n"
    gz.write_bytes(one)
    cur.write_bytes(b"\n".join(lines[4000:]))  # the last line unterminated
    files = [str(old), str(gz), str(cur)]
    for chunk in (5000, 64 << 10):
        monkeypatch.setattr(R, "CHUNK_BYTES", chunk)
        for offsets in ({}, {str(old): gz_data.find(b"\n", 5000) + 1, str(gz): 777, str(cur): 10 ** 9},
                        {str(gz): len(one), str(cur): 12_345}):
            readings = read_all(files, as_of=AS_OF, offsets=offsets)
            assert_all_same(readings)
            first = readings[0]
            assert first.attrs["errors"]["count"] >= 1 and len(first.attrs["offsets"]) == 3
            assert first.attrs["offsets"][str(cur)] == len(b"\n".join(lines[4000:-1])) + 1


@needs_c
def test_scan_of_hostile_blocks():
    """Blocks without a newline, with CR-only line ends, NULs, megabyte lines: every
    newline counted, one row per ": to=<" line, a match only where the regex matches."""
    good = _sent_lines(1)[:-1]
    blocks = [
        good,  # no newline at all
        good.replace(b"status", b"\x00status") + b"\r" + good + b"\r",  # CR-only: one line
        (good + b"\r") * 3000,
        b"\n" * 100_000,
        good[:-1] + b"x" * 3_000_000 + b")\n" + good,
        good.replace(b"to=<", b"to=<" + b"<" * 2_000_000),
        b"<" * 1_000_000 + b": to=<" + b"\x00" * 1_000_000 + b"\n: to=<",
        b": from=<" + b"a" * 1_000_000 + b">, status=expired, returned to sender",
    ]
    for block in blocks:
        newlines, cols, special, _ = S.scan(block, 1, _classify)
        assert newlines == block.count(b"\n")
        lines = block.split(b"\n")
        hits = [i for i, ln in enumerate(lines, 1) if b": to=<" in ln]
        assert cols[0] == hits
        for row, line, groups, _ in special:
            assert line == lines[hits[row] - 1] and groups == _groups(line)
        for i, eid in enumerate(cols[1]):
            assert (eid is None) is (_groups(lines[hits[i] - 1]) is None)


@needs_c
def test_a_first_line_that_would_overflow_the_positions_is_refused():
    block = _sent_lines(3)
    with pytest.raises(OverflowError):
        S.scan(block, sys.maxsize - 1, _classify)
    with pytest.raises(OverflowError):
        S.finish(S.prescan_background(block), _classify, sys.maxsize - 2)
    assert S.scan(block, sys.maxsize - 3, _classify)[1][0] == [sys.maxsize - 3, sys.maxsize - 2, sys.maxsize - 1]


@needs_c
def test_classic_ns_survives_an_epoch_day_that_changes_the_list():
    stamps = [b"Nov 26 10:00:00", b"Nov 27 10:00:00", b"Nov 28 10:00:00"]

    def shrink(code):
        stamps.clear()
        return 20_000

    assert S.classic_ns(stamps, shrink) is None


@needs_c
def test_threads_reading_at_once_share_the_worker(tmp_path, monkeypatch):
    """Several threads each reading logs pipelined (their pieces queued to the one worker,
    some taken by their callers): every reading is the one a single thread makes."""
    bench = _bench_module()
    path = tmp_path / "gen.log"
    bench.generate_postfix_log(path, 5_000, seed=13)
    monkeypatch.setattr(R, "CHUNK_BYTES", 32 << 10)
    with reading_as(True, True, True):
        want = read_bounces(path, as_of=AS_OF)
        same = []

        def reads():
            for _ in range(3):
                got = read_bounces(path, as_of=AS_OF)
                same.append(got.equals(want) and got.attrs == want.attrs)

        threads = [threading.Thread(target=reads) for _ in range(3)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert same == [True] * 9


# --------------------------------------------------------------------------- diagnostics in phase 1
# split_ascii and mask_ascii are the scanner's readings of a failure's text (phase 1, for
# ASCII text only): they must equal postfix.split_diagnostic and read.mask_tokens exactly.
def _real_rests() -> list[str]:
    """The text after "status=x" of every Postfix line of the fixtures and of every kind
    of failure the benchmark generates, and every fixture line as a whole."""
    rests = []
    for path in sorted(LOGS.iterdir()):
        for line in path.read_bytes().split(b"\n"):
            text = PF._decode(line)
            rests.append(text)
            m = PF._LINE.match(line)
            if m is not None:
                rests.append(PF._decode(m.group(8)))
    bench = _bench_module()
    for *_, t in bench.FAILURES:
        text = t.format(tok="d9443c01a7", n=421, rcpt="Jo.Doe@example.com", domain="example.com")
        rests += [f" ({text})", text, f", {text}", f" ({text}) "]
    rests += [" (250 2.0.0 Ok: queued as 4XyZ1)", ", returned to sender", "", " ", " ()", " (",
              " (connect to mx.example.com[192.0.2.1]:25: Connection timed out)",
              " (host mx.example.com[192.0.2.1] said: 550 #5.1.1 <a@b.c>... x (in reply to RCPT TO command))",
              "(x (in reply to DATA command)\n)", "(host a said: 550 (in reply to RCPT TO command)\n)"]
    return rests


_REAL = _real_rests()
_REAL_DIAGS = sorted({PF.split_diagnostic(t)[0] for t in _REAL})


def _assert_same_text(rest: str) -> None:
    want = PF.split_diagnostic(rest)
    if not rest.isascii():
        assert S.split_ascii(rest) is None and S.mask_ascii(rest) is None
        return
    assert S.split_ascii(rest) == want, rest
    assert S.mask_ascii(rest) == R.mask_tokens(rest), rest
    assert S.mask_ascii(want[0]) == R.mask_tokens(want[0]), want[0]


@needs_c
def test_split_and_mask_equal_python_on_real_texts():
    assert len(_REAL) > 60 and len(_REAL_DIAGS) > 30
    assert sum(S.split_ascii(t) is not None and S.split_ascii(t)[3] != "" for t in _REAL) > 10  # commands found
    assert sum(R.mask_tokens(t) != t for t in _REAL_DIAGS) > 10  # tokens masked
    for rest in _REAL:
        _assert_same_text(rest)
    assert S.mask_ascii("caf\u00e9 12345") is None and S.split_ascii("(host a said: 550 \u00e9)") is None
    with pytest.raises(TypeError):
        S.mask_ascii(b"12345")
    with pytest.raises(TypeError):
        S.split_ascii(None)


# the characters the regexes and the splitter turn on, and pieces of diagnostics
_TRICKY = "aZz_09158.-@<>()[]\"',;: \t\n\x0b\x0c\r\x1c\x1f#/=!x\x00"
_PIECES = ["550", "5.1.1", "550-5.1.1", "550 5.1.1", "4.7.0", "#5.0.0", "12345", "1234", "421-4.7.28", "5.7.26",
           "250", "2.0.0", "554.30", "..1234", "-550-5.1.1-", "4.16.55.1", "a1si123456wrb.123", "[TSS04]",
           "user@example.com", "<Jo.Doe@Example.COM>", "a@b", "@", "@@", "x@y@z", "(in reply to ", " command)",
           "RCPT TO", "MAIL FROM", "end of DATA", "DATA", "HELO", "EHLO", "initial connection", "host ",
           " said: ", "mx.example.com[192.0.2.1]", "[", "(", ")", ", ", "status=", "S2017062302",
           "mta1234.mail.gq1.yahoo.com", "_", "5.1.10", "5.1.1000", "550-5.1", "2.0.0.", "0", "99999"]
_ascii_text = st.lists(st.one_of(st.sampled_from(_PIECES), st.text(alphabet=_TRICKY, max_size=6)),
                       max_size=14).map("".join)


@needs_c
@settings(max_examples=1500, deadline=None)
@given(_ascii_text, st.sampled_from(["", " ", "  ", "\t", "\x1f"]), st.sampled_from(["()", ", ", "", "( ", " )"]))
def test_split_and_mask_equal_python_on_generated_ascii(text, pad, wrap):
    rest = pad + wrap[:1] + text + wrap[1:] + pad
    _assert_same_text(rest)
    _assert_same_text(text)
    _assert_same_text(f" (host {text} said: {text} (in reply to {text} command))")


@needs_c
@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.characters(max_codepoint=127), max_size=80))
def test_split_and_mask_equal_python_on_any_ascii(text):
    _assert_same_text(text)


_EDITS = st.lists(st.tuples(st.integers(0, 400), st.sampled_from(["delete", "insert", "replace"]),
                            st.one_of(st.sampled_from(_PIECES), st.sampled_from(list(_TRICKY)))), max_size=4)


@needs_c
@settings(max_examples=1500, deadline=None)
@given(st.sampled_from(_REAL + _REAL_DIAGS), _EDITS)
def test_split_and_mask_equal_python_on_mutated_real_texts(text, edits):
    for at, op, piece in edits:
        at = at % (len(text) + 1)
        if op == "delete":
            text = text[:at] + text[at + len(piece):]
        elif op == "insert":
            text = text[:at] + piece + text[at:]
        else:
            text = text[:at] + piece + text[at + len(piece):]
    _assert_same_text(text)


@needs_c
def test_the_scanner_hands_over_the_split_and_masked_text_of_ascii_lines():
    """scan()'s special rows carry (diagnostic, reply, remote, command, masked) for a
    matched non-delivery line whose text is ASCII, and None otherwise (Python reads it)."""
    head = b"Nov 26 10:00:01 mail postfix/smtp[1]: Q1: to=<a@b.c>, relay=x, dsn=5.1.1, status=bounced"
    texts = [b" (host mx.b.c[192.0.2.1] said: 550 5.1.1 <a@b.c>: unknown 0x1234abcd (in reply to RCPT TO command))",
             b" (connect to mx.b.c[192.0.2.1]:25: Connection refused)", b"", b" (caf\xc3\xa9 12345)", b" (caf\xe9 12345)"]
    block = b"\n".join(head + t for t in texts) + b"\n" + head[:-7] + b"sent (250 ok)\n"
    newlines, cols, special, _ = S.scan(block, 1, _classify)
    assert [row for row, *_ in special] == [0, 1, 2, 3, 4]
    for (*_, text), rest in zip(special, texts, strict=True):
        if rest.isascii():
            diag = PF.split_diagnostic(rest.decode())
            assert text == (*diag, R.mask_tokens(diag[0]))
        else:
            assert text is None
    assert special[0][3][4] == "550 5.1.1 <user@example.invalid>: unknown 0 (in reply to RCPT TO command)"
    for block in (b"", b"\n", head + b" (" + b"7" * 3_000_000 + b"@x)\n"):
        for *_, text in S.scan(block, 1, _classify)[2]:
            assert text[4] == R.mask_tokens(text[0])
