"""Postfix mail log (syslog, ``maillog_file``, or journald's short-iso output).

One delivery outcome per line, written by the delivery agents (smtp, lmtp, local,
virtual, pipe, error, discard, retry)::

    Nov 26 00:00:05 mx postfix/smtp[3001]: 37DFE70239: to=<a@example.com>,
      orig_to=<list@example.org>, relay=mx.example.com[192.0.2.1]:25, delay=2.1,
      delays=0.02/0/0.29/1.8, dsn=5.1.1, status=bounced (host mx.example.com[192.0.2.1]
      said: 550 5.1.1 <a@example.com>: Recipient address rejected: User unknown
      (in reply to RCPT TO command))

(one line; field order as in Postfix's ``log_adhoc.c``: to, orig_to, relay, conn_use,
delay, delays, dsn, status). ``status`` maps onto RFC 3464 actions: sent -> delivered,
bounced -> failed, deferred / SOFTBOUNCE -> delayed, expired -> failed with hint
"expired"; deliverable / undeliverable (address-verification probes) -> delivered /
failed. The recipient is ``orig_to`` when Postfix logs one (the address the sender
submitted, i.e. the one on the contact list), else ``to``.

``qmgr`` writes ``QID: from=<sender>, status=expired, returned to sender`` once per
message, naming no recipient (``qmgr_active.c``): its recipients are those whose last
outcome for that queue id in the same read was a deferral; each gets a failed row at
the expiry line. (Deferrals read on an earlier night are already in the store.)

Inbound ``smtpd`` ``NOQUEUE: reject:`` lines are this server refusing *incoming* mail,
not outbound bounces: they have no ``: to=<`` field and never match.

Speed (``benchmarks/bench_bounces.py``, 2,000,000 lines, ~320,000 deliveries): the
readers below give exactly the same rows, errors and state (``tests/test_logs.py`` and
``tests/test_postfix_scan.py`` check it on every fixture, on generated logs and on fuzzed
lines with a chunk boundary anywhere):

- :meth:`Parser.feed_lines`, the reference: line by line, one regex match and one row at
  a time (~1.0 million lines/s).
- :meth:`Parser._feed_rows`, pure Python, column-wise: numpy finds every ``: to=<`` (its
  ``<``, the five bytes before compared at once) and the newlines; the delivery lines are
  joined and one ``findall`` reads all their fields; every per-line step after that is a
  C-level ``map`` (~1.2 million lines/s, as fast as a naive one-regex loop: what remains
  per line is C work no reorganisation removes -- the regex ~1.2 us, the BLAKE2b hash
  ~0.7 us, the field objects, the DataFrame's string columns). Always available.
- :meth:`Parser._feed_compiled` (the default where ``setup.py`` could build
  ``listcare/bounces/_postfix_scan.c``; ``LISTCARE_PURE_PYTHON=1`` turns it off): one C call
  per block finds the ``: to=<`` lines (memchr), reads each like ``_LINE`` (a hand-written
  matcher of the same grammar: a line it does not accept is left to Python, never
  guessed), hashes the event id (BLAKE2b after RFC 7693, checked against hashlib), builds
  the column values of the successful deliveries, classifies each distinct (status,
  reply) once through :meth:`_sent_class_of`, and says whether the block may hold an
  expiry line; ``classic_ns`` converts the block's syslog times as ``Clock._classic``
  does (UTC clocks). Failures, deferrals and unmatched lines (~5% of deliveries) go
  through :meth:`_line_row`, in line order (with the scanner's match and event id where
  it has them, and, where the text after ``status=`` is ASCII, its reading of it:
  :func:`split_diagnostic`'s values and the diagnostic masked as
  :func:`~listcare.bounces.read.mask_tokens` masks it, which ``LogContext.classify``
  then takes instead of masking again). The scanner works in two phases: phase 1
  (finding, matching, hashing, counting newlines, splitting and masking those texts)
  makes no Python object and runs without the GIL; phase 2 makes the column values. Where the process has two cores or more, phase 1 of each block runs in the
  scanner's worker thread while this thread reads the previous block's rows
  (:meth:`_feed_compiled`; ``Parser.pipeline = False`` turns it off); the worker is one C
  thread that never takes the GIL, and a block it has not started when it is needed is
  scanned by the reader itself, so a busy machine loses little (pinned to one core, with
  the pipeline forced on: the time it takes without it).
  Measured 2026-11-27 (2 shared cores): 3.3-3.4 million lines/s, 2.8-3.0x the naive
  loop (without the worker thread 2.7-2.8 million lines/s), 321 MB -- the 3x target only
  just. Of the remaining ~0.55 s, in the reading thread: phase 2 0.09 s, failures ~0.1 s
  (their texts split and masked in phase 1; classified and tracked here: ~4 us each),
  the DataFrame's string columns 0.17 s (pandas touches every string object), appending
  the columns and converting the times 0.04 s, reading the file and the rest ~0.1 s
  (phase 1, ~0.2 s, overlaps with it).
"""

from __future__ import annotations

import hashlib
import os
import re
import warnings
from datetime import UTC, date
from functools import partial
from itertools import compress, repeat
from operator import itemgetter, methodcaller

import numpy as np

from ._common import utf8_or_latin1

_SCAN_API = 4  # the contract of _postfix_scan this module was written for
try:  # the compiled scanner (setup.py builds it where a C compiler is available)
    from .. import _postfix_scan
except ImportError:  # pragma: no cover - an install without a compiler
    _postfix_scan = None
if _postfix_scan is not None and getattr(_postfix_scan, "API", None) != _SCAN_API:  # pragma: no cover
    warnings.warn("listcare's compiled Postfix scanner was built from an older source: using the "
                  "pure-Python reader (rebuild it: pip install -e .)", RuntimeWarning, stacklevel=2)
    _postfix_scan = None
if os.environ.get("LISTCARE_PURE_PYTHON") == "1":  # to compare, or to rule the C code out
    _postfix_scan = None
if _postfix_scan is not None and hasattr(os, "register_at_fork"):  # its worker thread is not forked
    os.register_at_fork(after_in_child=_postfix_scan.after_fork_in_child)

try:
    _CORES = len(os.sched_getaffinity(0))
except AttributeError:  # pragma: no cover - not on Linux
    _CORES = os.cpu_count() or 1

FORMAT = "postfix"

# timestamp forms: classic syslog (no year), with a year before or after the day, and
# RFC 3339 / ISO 8601 (rsyslog's RSYSLOG_FileFormat, journalctl -o short-iso)
TS = (
    rb"[A-Z][a-z]{2} [ \d]\d(?: \d{4})? \d\d:\d\d:\d\d(?:\.\d+)?"
    rb"|\d{4} [A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d"
    rb"|\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:?\d\d)?"
)
_PROGRAM = rb"postfix[\w.-]*/[\w./-]+"
# a whole delivery line, matched from its start once ": to=<" has been found in it
_LINE = re.compile(
    rb"(?:<\d{1,3}>)?(" + TS + rb") \S+ " + _PROGRAM + rb"(?:\[\d+\])?: ([0-9A-Za-z]+): to=<([^>\n]*)>, "
    rb"(?:orig_to=<([^>\n]*)>, )?relay=([^,\n]*), (?:conn_use=\d+, )?(?:delay=[^,\n]*, )?"
    rb"(?:delays=[^,\n]*, )?dsn=(\d\.\d{1,3}\.\d{1,3}), status=([A-Za-z]+)([^\n]*)"
)
_SEP = b": to=<"
_SEP_RE = re.compile(re.escape(_SEP))
_MISSING = object()
_SENT = b"sent"
_EXPIRED = re.compile(rb": from=<([^>\n]*)>, status=expired, returned to sender")
_HEAD1 = re.compile(rb"(?:<\d{1,3}>)?(" + TS + rb") \S+ " + _PROGRAM + rb"(?:\[\d+\])?: ([0-9A-Za-z]+)")
# every delivery line of a block, joined with newlines: one match per line, the fields
# of a delivery line, else (the fallback alternative) empty groups. It is _LINE with possessive
# quantifiers (no backtracking state kept): each quantified part is followed by a byte
# it cannot match, so giving characters back could never have found another match.
_ROWS = re.compile(
    rb"\n(?:(?:<\d{1,3}>)?+(" + TS + rb") \S++ postfix[\w.-]*+/[\w./-]++(?:\[\d+\])?+: ([0-9A-Za-z]++): to=<([^>\n]*+)>, "
    rb"(?:orig_to=<([^>\n]*+)>, )?+relay=([^,\n]*+), (?:conn_use=\d++, )?+(?:delay=[^,\n]*+, )?+"
    rb"(?:delays=[^,\n]*+, )?+dsn=(\d\.\d{1,3}\.\d{1,3}), status=([A-Za-z]++)([^\n]*+)|[^\n]*)"
)
_SNIFF = re.compile(r"^(?:<\d{1,3}>)?(?:" + TS.decode() + r") \S+ " + _PROGRAM.decode() + r"(?:\[\d+\])?: ", re.M)

#: status word -> (RFC 3464 action, hint for the classifier)
OUTCOMES = {
    b"sent": ("delivered", ""),
    b"bounced": ("failed", ""),
    b"deferred": ("delayed", ""),
    b"SOFTBOUNCE": ("delayed", ""),  # soft_bounce=yes turns would-be bounces into deferrals
    b"expired": ("failed", "expired"),
    b"deliverable": ("delivered", ""),
    b"undeliverable": ("failed", ""),
}
_COMMANDS = {"RCPT TO": "RCPT", "MAIL FROM": "MAIL", "end of DATA": "DATA", "DATA": "DATA", "HELO": "HELO", "EHLO": "HELO"}
_IN_REPLY = re.compile(r"\(in reply to (RCPT TO|MAIL FROM|end of DATA|DATA|HELO|EHLO|[^)]*) command\)$")


# C-level per-row helpers for the fast path
_SENT_DIAG = itemgetter(slice(2, -1))  # "sent (250 2.0.0 Ok)" -> the text in the parentheses
_SENT_REPLY = itemgetter(slice(2, 5))
_FIRST, _SECOND = itemgetter(0), itemgetter(1)
_ID_INPUT = (FORMAT.encode() + b"\0%b\0%b\x000").__mod__  # records.event_id(FORMAT, line, rcpt, 0)
_BLAKE = partial(hashlib.blake2b, digest_size=12)
_HEX = methodcaller("hexdigest")
_ORDINAL_1970 = date(1970, 1, 1).toordinal()


def sniff(head: str) -> int:
    """How many of the first lines are Postfix log lines (0: not a Postfix log)."""
    return len(_SNIFF.findall(head))


def split_diagnostic(rest: str) -> tuple[str, str, str, str]:
    """(diagnostic, reply code, remote MTA, SMTP command) of the text after ``status=x``.

    Postfix writes ``(host H[ip] said: 550 5.1.1 text (in reply to RCPT TO command))`` for a
    remote reply and its own words otherwise ("connect to ...: Connection timed out",
    "Host or domain name not found. ..."). The diagnostic kept is the remote server's
    reply (with Postfix's "(in reply to ...)" note) or Postfix's own text.
    """
    rest = rest.strip()
    if rest.startswith("(") and rest.endswith(")"):
        rest = rest[1:-1]
    elif rest.startswith(", "):  # "status=expired, returned to sender"
        rest = rest[2:]
    remote = command = ""
    diag = rest
    if rest.startswith("host ") and " said: " in rest:
        who, _, diag = rest.partition(" said: ")
        remote = who[5:].split("[", 1)[0]
    m = _IN_REPLY.search(diag)
    if m:
        command = _COMMANDS.get(m.group(1), "")
    reply = diag[:3] if diag[:3].isdigit() and diag[3:4] in (" ", "-", "") else ""
    return diag, reply, remote, command


def _relay_host(relay: bytes) -> str | None:
    if relay == b"none" or relay.startswith(b"local") or relay.startswith(b"private/"):
        return None
    return relay.split(b"[", 1)[0].decode("utf-8", "replace") or None


_decode = utf8_or_latin1  # UTF-8, else Latin-1: every field of a log line


class Parser:
    """Feeds chunks of a Postfix log into ``ctx.cols`` (see :class:`listcare.bounces.read.LogContext`)."""

    def __init__(self, ctx):
        self.ctx = ctx
        self._base = hashlib.blake2b(digest_size=12)
        self._base.update(FORMAT.encode() + b"\0")
        self._relays: dict[bytes, str | None] = {}
        self._replies: dict[bytes, str | None] = {}
        self._dsns: dict[bytes, str] = {}
        self._sent_class: dict[tuple, tuple[str, str]] = {}
        self._days: dict[int, int | None] = {}  # month-day code -> epoch day (compiled path)
        # queue id -> {recipient: (status, reply, diag, remote, command)} of the recipients
        # whose last outcome was a deferral (for "status=expired" lines)
        self._deferred: dict[str, dict[str, tuple]] = {}
        self._pending: tuple | None = None  # the block the pipeline holds back (compiled path)

    #: the column-wise reader (False: :meth:`feed_lines`, the reference it must equal)
    fast = True
    #: the fast reader's compiled scanner, where it was built (False: the pure-Python one)
    compiled = _postfix_scan is not None
    #: the compiled scanner's phase 1 of the next block in its worker thread (where the
    #: process may run on more than one core; see :meth:`_feed_compiled`)
    pipeline = _CORES > 1
    #: blocks from this size on are pipelined (a smaller one is not worth a hand-over)
    split_bytes = 64 << 10

    def feed(self, block: bytes, first_line: int) -> int | None:
        """Parse one block of complete lines into ``ctx.cols``; returns the number of
        newlines in the block when it counted them (``LogChunks.done``)."""
        if not self.fast:
            return self.feed_lines(block, first_line)
        if self.compiled:
            return self._feed_compiled(block, first_line)
        a = np.frombuffer(block, dtype=np.uint8)
        nl = np.flatnonzero(a == 10)
        # every ": to=<": its "<"s, the five bytes before each compared at once
        lt = np.flatnonzero(a == 60)
        lt = lt[lt >= 5]
        hit = a[lt - 5] == 58
        for k, byte in enumerate(b" to=", 1):
            hit &= a[lt - 5 + k] == byte
        starts = lt[hit] - 5
        if len(starts) and not self._feed_rows(block, first_line, nl, starts):
            return self.feed_lines(block, first_line)
        if b"status=expired" in block:
            self._expired(block, first_line)
        if len(self._deferred) > 200_000:
            self._deferred.clear()  # a queue this deep is not ours to track: bounded memory
        return len(nl)

    # ------------------------------------------------------------------ compiled path
    def _sent_class_of(self, status: str, reply: str | None) -> tuple[str, str]:
        """(reason, kind) of a successful delivery (the compiled scanner asks once per
        distinct (status, reply) of a block)."""
        kr = self._sent_class.get((status, reply))
        if kr is None:
            kr = self._sent_class[(status, reply)] = self.ctx.classify("delivered", status, reply or "", "")
        return kr

    def _feed_compiled(self, block: bytes, first_line: int) -> int:
        """One block through the compiled scanner: it fills the rows of the successful
        deliveries; the other ": to=<" lines (``special``) are read here, in line order,
        exactly as :meth:`feed_lines` reads them.

        Pipelined (:attr:`pipeline`): the scanner's phase 1 of a block (finding, matching,
        hashing: no Python object, no GIL) runs in its worker thread while this thread
        reads the previous block's rows, which are therefore added one call later (or by
        :meth:`finish`), in the same order. What could tell the difference is kept the
        same: the newline count returned is this block's; errors keep their order (the
        error samples the chunk reader adds between two blocks are put back after the
        earlier block's); ``errors="raise"`` reads each block at once, so the first error
        raised is the same."""
        if type(block) is not bytes:  # a file object's read() may give a bytearray
            block = bytes(block)
        scanner = _postfix_scan
        handle = None
        if self.pipeline and len(block) >= self.split_bytes and self.ctx.errors.mode != "raise":
            handle = scanner.prescan_background(block)  # the worker starts on it meanwhile
        if self._pending is not None:
            self._flush()
        if handle is None:
            return self._read_block(block, first_line, scanner.scan(block, first_line, self._sent_class_of))
        self._pending = (handle, block, first_line, self.ctx.errors.mark())
        return handle.newlines  # phase 1 is done by now, but for the first block

    def _flush(self) -> None:
        """Reads the rows of the block held back by the pipeline."""
        handle, block, first_line, mark = self._pending
        self._pending = None
        # errors the chunk reader found after the block (a line too long) stay after its own
        with self.ctx.errors.ahead_of(mark):
            self._read_block(block, first_line, _postfix_scan.finish(handle, self._sent_class_of, first_line))

    def _read_block(self, block: bytes, first_line: int, scanned: tuple) -> int:
        """The rows of one block from the scanner's reading of it (scan's return value)."""
        newlines, cols, special, expiry = scanned
        pos, eids, ts, rcpts, kinds, reasons, ds, replies, diags, remotes, qs = self._special_rows(cols, special)
        if pos:
            ns = None
            if self.ctx.clock.tz is UTC:
                ns = _postfix_scan.classic_ns(ts, self._epoch_day)
            self._append(eids, ts, rcpts, kinds, reasons, ds, replies, diags, remotes, qs, pos, ns)
        if expiry:
            self._expired(block, first_line)
        if len(self._deferred) > 200_000:
            self._deferred.clear()  # a queue this deep is not ours to track: bounded memory
        return newlines

    def _special_rows(self, cols: tuple, special: list) -> tuple:
        """The scanner's columns of one piece with its special lines read (in line order,
        with the deliveries that may end a pending deferral), rows without one dropped."""
        pos, eids, ts, rcpts, kinds, reasons, ds, replies, diags, remotes, qs = cols
        deferred = self._deferred
        if special or deferred:
            spec = {}
            for i, line, groups, text in special:
                if groups is None:  # the scanner did not accept the line: the regex decides
                    g = _LINE.match(line)
                    groups = g.groups() if g is not None else None
                spec[i] = (line, groups, text)
            # the successful deliveries that may end a pending deferral, in line order
            # with the special lines (which may start one)
            watch = deferred.keys() & set(qs)
            watch.update(g[1].decode() for _, g, _ in spec.values() if g is not None)
            todo = sorted(spec.keys() | set(compress(range(len(qs)), map(watch.__contains__, qs))))
            drop = []
            for i in todo:
                item = spec.get(i)
                if item is None:  # a delivery the scanner read
                    if deferred and qs[i] in deferred:
                        deferred[qs[i]].pop(rcpts[i], None)
                    continue
                row = self._line_row(item[0], item[1], pos[i], eids[i], item[2])
                if row is None:
                    drop.append(i)
                    continue
                eids[i], ts[i], rcpts[i], kinds[i], reasons[i], ds[i], replies[i], diags[i], remotes[i], qs[i] = row
            if drop:
                keep = np.ones(len(pos), dtype=bool)
                keep[drop] = False
                keep = keep.tolist()
                return tuple(list(compress(c, keep)) for c in cols)
        return cols

    def _epoch_day(self, code: int) -> int | None:
        """Days from 1970 to the date of a month-day code (``month bytes << 16 ... * 32 +
        day``) as :meth:`Clock._classic <listcare.bounces.read.Clock>` computes it; None
        where it gives up (then the Clock reads the block's timestamps itself)."""
        v = self._days.get(code, _MISSING)
        if v is _MISSING:
            clock = self.ctx.clock
            mon, d = divmod(code, 32)
            m = clock.MONTHS.get(bytes(((mon >> 16) & 255, (mon >> 8) & 255, mon & 255)).decode("latin-1").lower())
            v = None
            if m is not None and 1 <= d <= 31:
                try:
                    v = date(clock.year_for(m, d, self.ctx.source), m, d).toordinal() - _ORDINAL_1970
                except ValueError:  # Feb 29 of a common year; no as_of (ConfigError)
                    v = None
            self._days[code] = v
        return v

    def _line_row(self, line: bytes, groups: tuple | None, position: int, eid: str | None,
                  text: tuple | None = None) -> tuple | None:
        """The row of one ": to=<" line the compiled scanner left to Python, or a failure
        or deferral of the pure-Python fast path (*groups*: of its ``_LINE`` match; *eid*:
        its event id if the caller has it, "" if the caller computes it; *text*: the scanner's
        reading of an ASCII diagnostic, :func:`split_diagnostic`'s values and
        :func:`~listcare.bounces.read.mask_tokens` of the diagnostic), read as
        :meth:`feed_lines` reads it; None: no row."""
        ctx = self.ctx
        if groups is None:
            self._unparsed(line, line.find(_SEP), position)
            return None
        ts, qid, to, orig, relay, dsn, word, rest = groups
        rb = orig or to
        if not rb.islower() and rb != rb.lower():
            rb = _norm_bytes(rb)
        d = self._dsns.get(dsn)
        if d is None:
            d = self._dsns[dsn] = dsn.decode()
        remote = self._relays.get(relay, _MISSING)
        if remote is _MISSING:
            remote = self._relays[relay] = _relay_host(relay)
        rcpt = _decode(rb)  # UTF-8, else Latin-1 (as every other field)
        q = qid.decode()
        if word == _SENT:
            r3 = rest[2:5]
            reply = self._replies.get(r3, _MISSING)
            if reply is _MISSING:
                reply = self._replies[r3] = r3.decode() if len(r3) == 3 and r3.isdigit() else None
            reason, kind = self._sent_class_of(d, reply)
            diag = _decode(rest[2:-1]) or None
            if self._deferred and q in self._deferred:
                self._deferred[q].pop(rcpt, None)
        else:
            outcome = OUTCOMES.get(word)
            if outcome is None:  # a truncated line ("status=bounc") or a status we do not know
                ctx.errors.add(ctx.source, position, f"unknown Postfix status={word.decode('latin-1')!r}: skipped")
                return None
            action, hint = outcome
            if text is None:
                diag, reply, rm, command = split_diagnostic(_decode(rest))
                reason, kind = ctx.classify(action, d, reply, diag, hint, command)
            else:  # the scanner split and masked it, as the line above and classify() do
                diag, reply, rm, command, masked = text
                reason, kind = ctx.classify(action, d, reply, diag, hint, command, masked=masked)
            if rm:
                remote = rm
            self._track(q, rcpt, action, (d, reply, diag, remote or "", command))
            reply = reply or None
            diag = diag or None
        if eid is None:
            eid = _BLAKE(_ID_INPUT((line, rb))).hexdigest()
        return eid, ts, rcpt, kind, reason, d, reply, diag, remote, q

    # ------------------------------------------------------------------ fast path
    def _feed_rows(self, block: bytes, first_line: int, nl: np.ndarray, starts: np.ndarray) -> bool:
        """The delivery lines of one block, column-wise (see the module docstring); False
        (nothing done) if the rows did not line up with the lines, which cannot happen."""
        ctx = self.ctx
        idx = np.searchsorted(nl, starts)  # newlines before each hit: its line number - 1
        if len(idx) > 1:
            first = np.empty(len(idx), dtype=bool)
            first[0] = True
            np.not_equal(idx[1:], idx[:-1], out=first[1:])  # a second ": to=<" on a line: one row
            idx = idx[first]
        bounds = np.concatenate(([-1], nl, [len(block)]))
        lines = list(map(block.__getitem__, map(slice, (bounds[idx] + 1).tolist(), bounds[idx + 1].tolist())))
        positions = (idx + first_line).tolist()
        rows = _ROWS.findall(b"\n".join([b"", *lines]))
        if len(rows) != len(lines):  # one match per line by construction; never guess
            return False
        ts, qid, to, orig, relay, dsn, word, rest = map(list, zip(*rows, strict=True))
        n = len(rows)

        rbs = to
        if any(orig):  # orig_to, when logged, is the recipient
            rbs = to.copy()
            for i in compress(range(n), orig):
                rbs[i] = orig[i]
        joined = b"\n".join(rbs)
        if joined.lower() != joined:  # a domain to lower-case (the local part is kept)
            if rbs is to:
                rbs = to.copy()
            for i in compress(range(n), map(bytes.__ne__, rbs, map(bytes.lower, rbs))):
                rbs[i] = _norm_bytes(rbs[i])
            joined = b"\n".join(rbs)
        # addresses and queue ids hold no newline: one decode per block, then split
        rcpts = (
            joined.decode("ascii").split("\n")
            if joined.isascii()
            else [_decode(r) for r in joined.split(b"\n")]  # each UTF-8, else Latin-1
        )
        qs = b"\n".join(qid).decode("ascii").split("\n")
        dsns, relays, replies, sent_class = self._dsns, self._relays, self._replies, self._sent_class
        for k in set(dsn).difference(dsns):
            dsns[k] = k.decode()
        ds = list(map(dsns.__getitem__, dsn))
        for k in set(relay).difference(relays):
            relays[k] = _relay_host(k)
        remotes = list(map(relays.__getitem__, relay))
        # successful deliveries (the rows are taken to be "sent" here; the others are
        # overwritten below): the reply code opens the text in the parentheses, and a
        # delivery is classified from status and reply alone (its text is the
        # receiver's free-form acceptance note, unique per message)
        r3s = list(map(_SENT_REPLY, rest))
        for k in set(r3s).difference(replies):
            replies[k] = k.decode() if len(k) == 3 and k.isdigit() else None
        reply_col = list(map(replies.__getitem__, r3s))
        keys = list(zip(ds, reply_col, strict=True))
        for k in set(keys).difference(sent_class):
            sent_class[k] = ctx.classify("delivered", k[0], k[1] or "", "")
        krs = list(map(sent_class.__getitem__, keys))
        reasons = list(map(_FIRST, krs))
        kinds = list(map(_SECOND, krs))
        dbs = list(map(_SENT_DIAG, rest))
        try:
            diags = b"\n".join(dbs).decode("utf-8").split("\n")
        except UnicodeDecodeError:
            diags = list(map(_decode, dbs))
        if "" in diags:
            diags = [d or None for d in diags]

        # one by one, in line order: the rows that are not successful deliveries, and the
        # deliveries of queue ids with a pending deferral
        special = list(compress(range(n), map(_SENT.__ne__, word)))
        deferred = self._deferred
        todo = special
        if deferred or special:
            watch = deferred.keys() & set(qs)
            if special:
                watch.update(map(qs.__getitem__, special))
            if watch:
                todo = sorted(set(special).union(compress(range(n), map(watch.__contains__, qs))))
        drop: list[int] = []
        for i in todo:
            if word[i] == _SENT:
                if deferred and qs[i] in deferred:
                    deferred[qs[i]].pop(rcpts[i], None)
                continue
            # read as the compiled path reads the lines it leaves to Python (the line did
            # not parse: no groups); its event id is computed with the others below
            groups = rows[i] if ts[i] else None
            row = self._line_row(lines[i], groups, positions[i], "")
            if row is None:
                drop.append(i)
                continue
            _, _, _, kinds[i], reasons[i], _, reply_col[i], diags[i], remotes[i], _ = row
        if drop:
            keep = np.ones(n, dtype=bool)
            keep[drop] = False
            cols = [lines, rbs, ts, rcpts, kinds, reasons, ds, reply_col, diags, remotes, qs, positions]
            lines, rbs, ts, rcpts, kinds, reasons, ds, reply_col, diags, remotes, qs, positions = (
                list(compress(c, keep.tolist())) for c in cols)
            n = len(lines)
            if not n:
                return True
        eids = map(_HEX, map(_BLAKE, map(_ID_INPUT, zip(lines, rbs, strict=True))))
        self._append(eids, ts, rcpts, kinds, reasons, ds, reply_col, diags, remotes, qs, positions)
        return True

    def _append(self, eids, ts, rcpts, kinds, reasons, statuses, replies, diags, remotes, queues, positions,
                ns=None) -> None:
        """Append delivery rows, column by column (all paths; Postfix delivery lines
        carry no sender or Message-ID: those are on other lines of the queue id). *ns*: the
        timestamps already converted (compiled path), else the Clock converts *ts*."""
        ctx = self.ctx
        c = ctx.cols
        n = len(positions)
        c.event_id.extend(eids)
        c.timestamp.extend(ns if ns is not None else ctx.clock.syslog_ns_many(ts, ctx.source, positions, ctx.errors))
        c.recipient.extend(rcpts)
        c.kind.extend(kinds)
        c.reason.extend(reasons)
        c.status.extend(statuses)
        c.reply_code.extend(replies)
        c.diagnostic.extend(diags)
        c.remote_mta.extend(remotes)
        c.sender.extend(repeat(None, n))
        c.message_id.extend(repeat(None, n))
        c.queue_id.extend(queues)
        c.position.extend(positions)

    # ------------------------------------------------------------------ reference path
    def feed_lines(self, block: bytes, first_line: int) -> None:
        """The straightforward reading of one block: line by line, one regex match and
        one row at a time. The fast path gives exactly the same rows, errors and state."""
        ctx = self.ctx
        rfind = block.rfind
        count = block.count
        line_match = _LINE.match
        base = self._base
        classify = ctx.classify
        dsns, relays, replies, sent_class = self._dsns, self._relays, self._replies, self._sent_class
        deferred = self._deferred
        rows: list[tuple] = []  # one tuple per row, transposed into the columns per chunk
        add = rows.append
        prev = 0
        line = first_line
        last_ls = -1
        for m in _SEP_RE.finditer(block):
            s = m.start()
            ls = rfind(b"\n", 0, s) + 1
            if ls == last_ls:
                continue  # a second ": to=<" on the same line (inside a diagnostic)
            last_ls = ls
            line += count(b"\n", prev, ls)
            prev = ls
            g = line_match(block, ls)
            if g is None:
                e = block.find(b"\n", s)
                self._unparsed(block[ls: e if e >= 0 else len(block)], s - ls, line)
                continue
            ts, qid, to, orig, relay, dsn, word, rest = g.groups()
            rb = orig or to
            if not rb.islower() and rb != rb.lower():
                rb = _norm_bytes(rb)
            d = dsns.get(dsn)
            if d is None:
                d = dsns[dsn] = dsn.decode()
            remote = relays.get(relay, _MISSING)
            if remote is _MISSING:
                remote = relays[relay] = _relay_host(relay)
            if word == _SENT:
                # "sent (250 2.0.0 Ok: queued as X)": the text inside the parentheses. A
                # delivery is classified from action, status and reply alone: its text is
                # the receiver's free-form acceptance note (unique per message)
                r3 = rest[2:5]
                reply = replies.get(r3, _MISSING)
                if reply is _MISSING:
                    reply = replies[r3] = r3.decode() if len(r3) == 3 and r3.isdigit() else None
                kr = sent_class.get((d, reply))
                if kr is None:
                    kr = sent_class[(d, reply)] = classify("delivered", d, reply or "", "")
                reason, kind = kr
                diag = _decode(rest[2:-1]) or None
                rcpt = _decode(rb)  # UTF-8, else Latin-1 (as every other field)
                q = qid.decode()
                if deferred and q in deferred:
                    deferred[q].pop(rcpt, None)
            else:
                outcome = OUTCOMES.get(word)
                if outcome is None:  # a truncated line ("status=bounc") or a status we do not know
                    ctx.errors.add(ctx.source, line, f"unknown Postfix status={word.decode('latin-1')!r}: skipped")
                    continue
                action, hint = outcome
                diag, reply, rm, command = split_diagnostic(_decode(rest))
                if rm:
                    remote = rm
                reason, kind = classify(action, d, reply, diag, hint, command)
                rcpt = _decode(rb)  # UTF-8, else Latin-1 (as every other field)
                q = qid.decode()
                self._track(q, rcpt, action, (d, reply, diag, remote or "", command))
                reply = reply or None
                diag = diag or None
            h = base.copy()
            h.update(b"%b\0%b\x000" % (block[ls:g.end()], rb))
            add((h.hexdigest(), ts, rcpt, kind, reason, d, reply, diag, remote, q, line))
        if rows:
            self._append(*zip(*rows, strict=True))
        if b"status=expired" in block:
            self._expired(block, first_line)
        if len(deferred) > 200_000:
            deferred.clear()  # a queue this deep is not ours to track: bounded memory

    def _track(self, qid: str, rcpt: str, action: str, facts: tuple) -> None:
        if action == "delayed":
            self._deferred.setdefault(qid, {})[rcpt] = facts
        elif self._deferred:
            pend = self._deferred.get(qid)
            if pend:
                pend.pop(rcpt, None)

    # ------------------------------------------------------------------ rare paths
    def _unparsed(self, text: bytes, s: int, line: int) -> None:
        """A ": to=<" line (*text*, its first ": to=<" at *s*) the regex did not accept: if
        it is a Postfix delivery line (a Postfix head, a ``status=``), it is malformed or
        truncated -- count it."""
        if b" status=" in text and _HEAD1.fullmatch(text, 0, s):
            self.ctx.errors.add(self.ctx.source, line, "malformed Postfix delivery line: skipped")

    def _expired(self, block: bytes, first_line: int) -> None:
        """Rows for ``QID: from=<s>, status=expired, returned to sender`` lines."""
        ctx = self.ctx
        cols = ctx.cols
        for m in _EXPIRED.finditer(block):
            s = m.start()
            ls = block.rfind(b"\n", 0, s) + 1
            h = _HEAD1.fullmatch(block, ls, s)
            if h is None:
                continue
            ts, qid = h.group(1), h.group(2).decode()
            pend = self._deferred.pop(qid, None)
            if not pend:
                continue  # its deferrals were in an earlier read: already recorded there
            line_no = first_line + block.count(b"\n", 0, ls)
            e = block.find(b"\n", m.end())
            evidence = block[ls: e if e >= 0 else len(block)]
            stamp = ctx.clock.syslog_ns_many([ts], ctx.source, [line_no], ctx.errors)[0]
            for index, (rcpt, (dsn, reply, diag, remote, command)) in enumerate(sorted(pend.items())):
                reason, kind = ctx.classify("failed", dsn, reply, diag, "expired", command)
                digest = hashlib.blake2b(b"postfix\0%b\0%b\0%d" % (evidence, rcpt.encode("utf-8", "replace"), index), digest_size=12)
                cols.event_id.append(digest.hexdigest())
                cols.timestamp.append(stamp)
                cols.recipient.append(rcpt)
                cols.kind.append(kind)
                cols.reason.append(reason)
                cols.status.append(dsn)
                cols.reply_code.append(reply or None)
                cols.diagnostic.append(diag or None)
                cols.remote_mta.append(remote or None)
                cols.sender.append(_decode(m.group(1)) or None)
                cols.message_id.append(None)
                cols.queue_id.append(qid)
                cols.position.append(line_no)

    def finish(self) -> None:
        """The end of the log: the block the pipeline held back is read."""
        if self._pending is not None:
            self._flush()


def _norm_bytes(addr: bytes) -> bytes:
    local, at, domain = addr.rpartition(b"@")
    return local + at + domain.lower() if at else addr
