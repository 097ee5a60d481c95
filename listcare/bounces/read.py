"""``read_bounces``: every kind of bounce evidence into one events table.

Each input (a path, a Maildir folder, bytes or a binary file object) is sniffed on its
own: gzip is decompressed on the fly; then mail (an ``.eml``, mbox or Maildir), a
provider's JSON export (SES, SendGrid, Mailgun, Postmark), Mailchimp's CSV export, or an
MTA log (Postfix, Sendmail, Exim). Detectors only extract facts; one classifier
(:mod:`listcare.bounces.reasons`) decides ``reason`` and ``kind``.

MTA logs are streamed in binary chunks in constant memory; the detectors scan each chunk
with compiled regular expressions and do Python work only for delivery-outcome lines
(``benchmarks/bench_bounces.py`` measures it).

Normalisation (documented in the README, "Usage > Bounces"):

- ``recipient``: surrounding ``<>``/blanks removed, the domain lower-cased, the local part
  kept as written (RFC 5321 section 2.4 lets a receiver treat it case-sensitively), which
  is what :func:`listcare.validate` puts in its ``normalized`` column. Compare
  case-insensitively if your lists do.
- ``timestamp``: UTC. Syslog timestamps have no zone: they are read in ``as_of``'s time
  zone when it has one, else as UTC; those without a year take it from ``as_of``.
- ``event_id``: :func:`listcare.bounces.records.event_id` of the evidence (the log line, the
  message bytes, the canonical JSON record or CSV row) -- never of the file name.
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import gc
import gzip
import io
import itertools
import json
import os
import pathlib
import re
import zlib
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any, BinaryIO

import numpy as np
import pandas as pd

from .. import schema
from ..dates import timestamp
from ..exceptions import ConfigError, InputError
from .records import Fact, event_id

__all__ = ["read_bounces", "FORMATS", "ErrorReport", "sniff_format"]

#: formats ``format=`` accepts ("auto" sniffs each input)
LOG_FORMATS = ("postfix", "exim", "sendmail")
PROVIDER_FORMATS = ("ses", "sendgrid", "mailgun", "postmark", "mailchimp")
FORMATS = ("auto", "mail", *LOG_FORMATS, *PROVIDER_FORMATS)

#: bytes read per chunk of a log; memory use is a few times this, whatever the log size
CHUNK_BYTES = 256 << 10
#: a log line longer than this is not a log line (binary junk, a runaway writer): skipped
MAX_LINE_BYTES = 64 << 10
#: bytes sniffed to tell the format of an input
SNIFF_BYTES = 64 << 10
#: at most this many error samples are kept in ``df.attrs["errors"]``
MAX_ERROR_SAMPLES = 20
#: JSON exports are parsed whole; larger ones must be given as JSON lines
MAX_JSON_BYTES = 1 << 30

ERROR_MODES = ("raise", "report", "ignore")

_NAT = np.iinfo(np.int64).min  # numpy's NaT as an int64 nanosecond value
_MIN_NS, _MAX_NS = pd.Timestamp.min.value, pd.Timestamp.max.value  # datetime64[ns] range


# --------------------------------------------------------------------------- errors
class ErrorReport:
    """Counts skipped records and keeps the first few as (source, position, message)."""

    def __init__(self, mode: str = "report"):
        if mode not in ERROR_MODES:
            raise ConfigError(f"errors={mode!r} is not one of {', '.join(ERROR_MODES)}.")
        self.mode = mode
        self.count = 0
        self.samples: list[tuple[str, int, str]] = []

    def add(self, source: str, position: int, message: str) -> None:
        if self.mode == "raise":
            where = f"{source}:{position}" if position else source
            raise InputError(f"{where}: {message} (pass errors='report' to skip bad records and count them)")
        self.count += 1
        if len(self.samples) < MAX_ERROR_SAMPLES:
            self.samples.append((source, int(position), message[:300]))

    def sink(self, source: str) -> Callable[[int, str], None]:
        return lambda position, message: self.add(source, position, message)

    def mark(self) -> int:
        """Where the samples stand now, for :meth:`ahead_of`."""
        return len(self.samples)

    @contextlib.contextmanager
    def ahead_of(self, mark: int) -> Iterator[None]:
        """Samples added inside the block go before those added since *mark*: a reader
        that finishes a block one call late (the pipelined Postfix reader) keeps its
        errors in input order."""
        later = self.samples[mark:]
        del self.samples[mark:]
        try:
            yield
        finally:
            self.samples.extend(later)
            del self.samples[MAX_ERROR_SAMPLES:]

    def as_dict(self) -> dict:
        return {"count": self.count, "samples": list(self.samples)}


# --------------------------------------------------------------------------- time
class Clock:
    """Turns the timestamps a source writes into UTC nanoseconds, with a cache (a log
    repeats the same second many times)."""

    MONTHS = {m: i for i, m in enumerate("jan feb mar apr may jun jul aug sep oct nov dec".split(), 1)}

    def __init__(self, as_of=None):
        self.as_of: pd.Timestamp | None = None
        self.tz = UTC
        if as_of is not None:
            try:
                ts = timestamp(as_of)
            except ConfigError:
                raise
            except (ValueError, TypeError) as exc:
                raise ConfigError(f"as_of={as_of!r} is not a date or time: {exc}. Use e.g. '2026-11-27'.") from exc
            if ts is pd.NaT:
                raise ConfigError(f"as_of={as_of!r} is not a date or time. Use e.g. '2026-11-27'.")
            if ts.tzinfo is not None:
                self.tz = ts.tzinfo
            self.as_of = ts
        self._cache: dict[str, int] = {}

    # ---- helpers for detectors
    def _aware(self, naive: datetime) -> datetime:
        tz = self.tz
        if hasattr(tz, "localize"):  # pytz
            return tz.localize(naive)
        return naive.replace(tzinfo=tz)

    def year_for(self, month: int, day: int, source: str) -> int:
        """The year of a year-less syslog date: the latest year that does not put the date
        more than a week after ``as_of`` (so a December line read in January is last year's,
        and a line from just after midnight on New Year's Eve is next year's)."""
        if self.as_of is None:
            raise ConfigError(
                f"{source} has syslog timestamps without a year; pass as_of (the date the log "
                "runs up to, e.g. as_of='2026-11-27' or --as-of 2026-11-27) so listcare can tell the year."
            )
        ref = self.as_of.date() + timedelta(days=7)
        for y in (ref.year, ref.year - 1, ref.year - 2, ref.year - 3, ref.year - 4):
            try:
                if date(y, month, day) <= ref:
                    return y
            except ValueError:  # Feb 29 in a common year
                continue
        raise ValueError(f"no year fits {month}/{day}")

    def syslog_ns(self, ts: str, source: str) -> int:
        """'Nov 26 00:00:00', 'Nov 26 2026 00:00:00', '2026 Nov 26 00:00:00' or an RFC 3339
        / ISO 8601 time ('2026-11-26T00:00:00.123+01:00'); NaT value if unreadable."""
        v = self._cache.get(ts)
        if v is not None:
            return v
        if len(self._cache) > 200_000:
            self._cache.clear()
        try:
            v = self._parse(ts, source)
        except ConfigError:
            raise
        except (ValueError, KeyError, IndexError, OverflowError):
            v = _NAT
        self._cache[ts] = v
        return v

    def syslog_ns_many(self, stamps, source: str, positions, errors: ErrorReport) -> list[int]:
        """UTC nanoseconds of many syslog timestamps (bytes or str), vectorised for the
        classic fixed-width ``Mmm dd hh:mm:ss`` form; an unreadable one is reported (at its
        position) and gives NaT."""
        n = len(stamps)
        out: np.ndarray | None = None
        if n and isinstance(stamps[0], bytes) and set(map(len, stamps)) == {15}:
            out = self._classic(stamps, source)
        if out is None:
            values = [self.syslog_ns(t if isinstance(t, str) else t.decode("latin-1"), source) for t in stamps]
        else:
            values = out.tolist()
        if _NAT in values:
            for v, t, pos in zip(values, stamps, positions, strict=True):
                if v == _NAT:
                    errors.add(source, pos, f"unreadable timestamp {t[:40]!r}: kept without a time")
        return values

    def _classic(self, stamps: list[bytes], source: str) -> np.ndarray | None:
        """Vectorised 'Mmm dd hh:mm:ss' (RFC 3164 section 4.1.2); None if any is not one."""
        n = len(stamps)
        a = np.frombuffer(b"".join(stamps), dtype=np.uint8).reshape(n, 15).astype(np.int64)
        if not ((a[:, 3] == 32).all() and (a[:, 6] == 32).all() and (a[:, 9] == 58).all() and (a[:, 12] == 58).all()):
            return None
        dig = a[:, [5, 7, 8, 10, 11, 13, 14]] - 48
        if ((dig < 0) | (dig > 9)).any():
            return None
        d10 = a[:, 4]
        if not ((d10 == 32) | ((d10 >= 48) & (d10 <= 51))).all():
            return None
        day = np.where(d10 == 32, 0, d10 - 48) * 10 + dig[:, 0]
        secs = (dig[:, 1] * 10 + dig[:, 2]) * 3600 + (dig[:, 3] * 10 + dig[:, 4]) * 60 + dig[:, 5] * 10 + dig[:, 6]
        mon_code = (a[:, 0] << 16) | (a[:, 1] << 8) | a[:, 2]
        md = mon_code * 32 + day
        uniq, inverse = np.unique(md, return_inverse=True)
        epoch_day = np.empty(len(uniq), dtype=np.int64)
        ordinal_1970 = date(1970, 1, 1).toordinal()
        for k, v in enumerate(uniq.tolist()):
            code, d = divmod(v, 32)
            name = bytes(((code >> 16) & 255, (code >> 8) & 255, code & 255)).decode("latin-1").lower()
            m = self.MONTHS.get(name)
            if m is None or not 1 <= d <= 31:
                return None
            try:
                y = self.year_for(m, d, source)
                epoch_day[k] = date(y, m, d).toordinal() - ordinal_1970
            except ValueError:
                return None
        ns = (epoch_day[inverse.reshape(-1)] * 86400 + secs) * 1_000_000_000
        if (secs >= 86400).any():
            return None
        if self.tz is not UTC and self.tz is not None:
            idx = pd.DatetimeIndex(ns.view("datetime64[ns]"))
            try:
                local = idx.tz_localize(self.tz, ambiguous=np.zeros(n, dtype=bool), nonexistent="shift_forward")
            except (ValueError, TypeError):
                return None
            ns = local.tz_convert("UTC").tz_localize(None).asi8
        return ns

    def _parse(self, ts: str, source: str) -> int:
        if ts[:4].isdigit() and ts[4:5] == "-":
            dt = datetime.fromisoformat(ts.replace(" ", "T", 1) if "T" not in ts else ts)
        else:
            parts = ts.split()
            if parts[0].isdigit():  # 2026 Nov 26 00:00:00
                year, mon, day, hms = int(parts[0]), parts[1], parts[2], parts[3]
            elif len(parts) == 4:  # Nov 26 2026 00:00:00
                mon, day, year, hms = parts[0], parts[1], int(parts[2]), parts[3]
            else:
                mon, day, hms = parts
                year = None
            m = self.MONTHS[mon.lower()]
            d = int(day)
            if year is None:
                year = self.year_for(m, d, source)
            hh, mm, ss = hms.split(":")
            sec = float(ss)
            dt = datetime(year, m, d, int(hh), int(mm), int(sec), int(round((sec % 1) * 1e6)) % 1000000)
        if dt.tzinfo is None:
            dt = self._aware(dt)
        return to_ns(dt)


def to_ns(dt: datetime) -> int:
    """UTC nanoseconds of an aware datetime (NaT value for None)."""
    if dt is None:
        return _NAT
    delta = dt - datetime(1970, 1, 1, tzinfo=UTC)
    ns = (delta.days * 86400 + delta.seconds) * 1_000_000_000 + delta.microseconds * 1000
    if not _MIN_NS <= ns <= _MAX_NS:  # outside what datetime64[ns] holds (1677-2262)
        raise OverflowError(f"{dt.isoformat()} is out of range")
    return ns


def normalize_recipient(addr: str) -> str:
    """Strip ``<>``, blanks and a ``mailto:``; lower-case the domain; keep the local part."""
    a = addr.strip().strip("<>").strip()
    if a[:7].lower() == "mailto:":
        a = a[7:]
    local, at, domain = a.rpartition("@")
    if not at:
        return a
    low = domain.lower().rstrip(".")
    return a if low == domain else f"{local}@{low}"


# --------------------------------------------------------------------------- columns
class Columns:
    """Column lists of the events table under construction (one per file)."""

    NAMES = (
        "event_id", "timestamp", "recipient", "kind", "reason", "status", "reply_code",
        "diagnostic", "remote_mta", "sender", "message_id", "queue_id", "position",
    )

    def __init__(self, source_format: str, source: str):
        self.source_format = source_format
        self.source = source
        for n in self.NAMES:
            setattr(self, n, [])

    def __len__(self) -> int:
        return len(self.event_id)

    def add_fact(self, f: Fact, fmt: str, index: int, classify) -> bool:
        """Append one Fact (mail and provider detectors); False (nothing appended) for an
        outcome that names no recipient and is not a complaint: it says nothing about
        any address."""
        rcpt = normalize_recipient(f.recipient or "")
        reason, kind = classify(f)
        if not rcpt and kind != "complaint":
            return False
        self.event_id.append(event_id(fmt, f.evidence, rcpt, index))
        # A feedback report may redact the recipient (RFC 6590): the complaint still
        # counts for the sender's reputation, so the row stays, with no recipient; the
        # policy matches no address to it.
        rcpt = rcpt or None
        try:
            stamp = to_ns(f.timestamp.astimezone(UTC)) if f.timestamp is not None else _NAT
        except (OverflowError, ValueError):  # a year datetime64[ns] cannot hold: no time
            stamp = _NAT
        self.timestamp.append(stamp)
        self.recipient.append(rcpt)
        self.kind.append(kind)
        self.reason.append(reason)
        self.status.append(f.status or None)
        self.reply_code.append(f.reply_code or None)
        self.diagnostic.append(f.diagnostic or None)
        self.remote_mta.append(f.remote_mta or None)
        self.sender.append(f.sender or None)
        self.message_id.append(f.message_id or None)
        self.queue_id.append(f.queue_id or None)
        self.position.append(int(f.position))
        return True

    def frame(self) -> pd.DataFrame:
        n = len(self)
        if n == 0:
            return schema.empty_frame(schema.EVENT_COLUMNS)
        pos = np.asarray(self.position, dtype=np.int64)
        if n > 1 and (np.diff(pos) < 0).any():
            # a detector may emit a row after later lines' rows (Postfix expiry lines are
            # handled after their chunk): put the rows back in input order
            order = np.argsort(pos, kind="stable").tolist()
            for name in self.NAMES:
                col = getattr(self, name)
                setattr(self, name, [col[i] for i in order])
        data: dict[str, Any] = {}
        for name in schema.EVENT_COLUMNS:
            if name == "timestamp":
                ns = np.asarray(self.timestamp, dtype=np.int64)
                data[name] = pd.DatetimeIndex(ns.view("datetime64[ns]")).tz_localize("UTC")
            elif name == "position":
                data[name] = pd.array(np.asarray(self.position, dtype=np.int64), dtype="Int64")
            elif name in ("source_format", "source"):
                col = np.empty(n, dtype=object)
                col.fill(getattr(self, name))  # (np.full would make a str object per row)
                data[name] = self._strings(col)
            else:
                col = getattr(self, name)
                if col[0] is None and col[-1] is None and col.count(None) == n:
                    col = np.empty(n, dtype=object)  # all None (sender, message_id of log rows)
                    col.fill(pd.NA)  # (None would be replaced by NA one by one)
                data[name] = self._strings(col)
        return pd.DataFrame(data, columns=list(schema.EVENT_COLUMNS), copy=False)

    @staticmethod
    def _strings(values) -> pd.api.extensions.ExtensionArray:
        """``pd.array(values, dtype="string")`` of str-or-None values, built from an object
        array: the same array (``tests/test_postfix_scan.py`` compares them), without
        pandas' element-by-element conversion of a list (with the filled constant columns,
        frame() of 320,000 log rows takes 0.15 s instead of 0.21 s)."""
        if pd.StringDtype() == pd.StringDtype("python"):  # the default "string" storage
            try:
                return pd.arrays.StringArray(np.asarray(values, dtype=object))
            except ValueError:  # a value that is not a str: pandas converts it
                pass
        return pd.array(values, dtype="string")


# --------------------------------------------------------------------------- sniffing
def _detectors():
    from .detectors import exim, mailchimp, mailgun, postfix, postmark, sendgrid, sendmail, ses

    logs = {"postfix": postfix, "exim": exim, "sendmail": sendmail}
    providers = {"ses": ses, "sendgrid": sendgrid, "mailgun": mailgun, "postmark": postmark, "mailchimp": mailchimp}
    return logs, providers


def sniff_format(head: bytes) -> str | None:
    """The format of an input from its first bytes (already decompressed), or None."""
    from . import mail

    logs, providers = _detectors()
    stripped = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if not stripped:
        return None
    if stripped[:1] in (b"{", b"["):
        text = stripped[:SNIFF_BYTES].decode("utf-8", "replace")
        best = max(((mod.sniff(text), name) for name, mod in providers.items() if name != "mailchimp"))
        return best[1] if best[0] > 0 else None
    # mail first: a message starts with an mbox "From " line or RFC 5322 headers, which no
    # log does -- and a bounce may quote log lines further down
    if mail.sniff(head):
        return "mail"
    text = stripped[:SNIFF_BYTES].decode("utf-8", "replace")
    scores = [(mod.sniff(text), name) for name, mod in logs.items()]
    best = max(scores)
    if best[0] > 0:
        return best[1]
    if providers["mailchimp"].sniff(text) > 0:
        return "mailchimp"
    return None


# --------------------------------------------------------------------------- inputs
def expand_folders(items: list) -> list:
    """A folder given as an input stands for its files, each sniffed on its own (a Maildir:
    the messages of new/ then cur/; any other folder: its files in name order), so that
    every event names the file it came from and a folder may mix formats. An empty folder
    stays itself (the mail reader reads nothing from it: a quiet night's Maildir is no error)."""
    from .mail import _maildir_files

    out = []
    for item in items:
        if isinstance(item, (str, os.PathLike)) and os.path.isdir(item):
            files = _maildir_files(pathlib.Path(item))
            out.extend([os.fspath(f) for f in files] or [item])
        else:
            out.append(item)
    return out


class _Input:
    """One input: its name (``source``), the key used in ``offsets`` and how to open it."""

    def __init__(self, item, n: int):
        self.item = item
        self.is_dir = False
        if isinstance(item, (str, os.PathLike)):
            self.name = os.fspath(item)
            if not self.name.strip():  # (as a Path, "" would be the current folder)
                raise InputError(
                    "A bounce path is empty: give a file or a folder (on the command line, "
                    "a quoted glob works too)."
                )
            self.key = self.name
            self.is_dir = os.path.isdir(self.name)
        elif isinstance(item, (bytes, bytearray, memoryview)):
            self.name = f"<bytes {n}>"
            self.key = self.name
        elif hasattr(item, "read"):
            self.name = str(getattr(item, "name", "") or f"<buffer {n}>")
            self.key = self.name
        else:
            raise InputError(
                f"Cannot read bounces from a {type(item).__name__}: give file paths, a Maildir "
                "folder, bytes or binary file objects."
            )

    def open(self) -> BinaryIO:
        item = self.item
        if isinstance(item, (bytes, bytearray, memoryview)):
            return io.BytesIO(bytes(item))
        if hasattr(item, "read"):
            probe = item.read(0)
            if isinstance(probe, str):
                raise InputError(f"{self.name}: open the file in binary mode ('rb'), not text mode.")
            return item
        try:
            return open(self.name, "rb")
        except OSError as exc:
            raise InputError(
                f"Cannot open {self.name!r}: {exc.strerror or exc}. Check the path and its permissions."
            ) from exc


class _Stream:
    """A binary stream with its first bytes peeked, transparently gunzipped."""

    def __init__(self, raw: BinaryIO, name: str):
        self.name = name
        self.raw = raw
        try:
            first = raw.read(SNIFF_BYTES)
        except OSError as exc:
            raise InputError(f"Cannot read {name!r}: {exc.strerror or exc}.") from exc
        self.gz = first[:2] == b"\x1f\x8b"
        #: why a .gz could not be read (even) as far as its first bytes; "" if it could
        self.broken = ""
        if self.gz:
            from .mail import Prefixed

            self.stream = _Gunzip(Prefixed(first, raw))
            self.head = b""
            try:
                self.head = self.stream.read(SNIFF_BYTES)
            except EOFError as exc:
                self.head = b""  # nothing decompressible at all
                self.broken = str(exc)
            if len(self.head) < SNIFF_BYTES and self.stream.error:
                self.broken = self.stream.error  # a fragment, then the damage
        else:
            self.stream = raw
            self.head = first
        self._pending = self.head

    def seek_to(self, offset: int) -> bool:
        """Go to byte *offset*, a line start (the byte before it is a newline), without
        reading what lies before it; False, and nothing changed, where that cannot be
        done (a .gz, a stream that cannot seek, an offset inside a line)."""
        if self.gz or offset <= 0:
            return False
        try:
            if not self.raw.seekable():
                return False
            here = self.raw.tell()
            self.raw.seek(offset - 1)
            if self.raw.read(1) != b"\n":
                self.raw.seek(here)
                return False
        except (OSError, ValueError, AttributeError):
            return False
        self._pending = b""
        return True

    def read(self, n: int = -1) -> bytes:
        if self._pending:
            if n < 0:
                out = self._pending + self.stream.read()
                self._pending = b""
                return out
            out, self._pending = self._pending[:n], self._pending[n:]
            return out
        return self.stream.read(n)


class _Gunzip:
    """Streaming gunzip (multi-member, like ``gzip -d``) that hands out everything it could
    decompress before a truncation or corruption, then raises ``EOFError`` once with the
    reason (``gzip.GzipFile`` loses the whole last read instead). Output is produced in
    bounded pieces, so a decompression bomb cannot exhaust memory either."""

    IN = 256 << 10

    def __init__(self, raw):
        self.raw = raw
        self.d = zlib.decompressobj(31)
        self.buf = bytearray()
        self.done = False
        self.error = ""
        self.tail = b""  # compressed input not yet consumed (max_length)

    def _fill(self, n: int) -> None:
        while len(self.buf) < n and not self.done:
            data = self.tail or self.raw.read(self.IN)
            self.tail = b""
            if not data:
                if self._started:  # inside a member when the input ended
                    self.error = "compressed data ends early (truncated .gz)"
                self.done = True
                break
            self._started = True
            before = self.d.copy()  # (to read up to the damage if this piece holds it)
            try:
                out = self.d.decompress(data, max(n - len(self.buf), 1 << 16))
            except zlib.error as exc:
                # zlib drops the whole call's output; a bad CRC in the trailer would lose
                # up to a piece of good lines: the piece again, up to the failing byte
                self.buf += _inflate_up_to_damage(before, data)
                self.error = f"corrupt compressed data ({exc})"
                self.done = True
                break
            self.buf += out
            self.tail = self.d.unconsumed_tail
            if self.d.eof:
                rest = self.d.unused_data
                self.d = zlib.decompressobj(31)
                self._started = False
                if rest.strip(b"\0"):
                    self.tail = rest

    _started = False

    def read(self, n: int = -1) -> bytes:
        if n is None or n < 0:
            n = 1 << 62
        self._fill(n)
        if not self.buf and self.error:
            err, self.error = self.error, ""
            raise EOFError(err)
        out = bytes(self.buf[:n])
        del self.buf[:n]
        return out




def _inflate_up_to_damage(d, data: bytes, cap: int = 64 << 20) -> bytes:
    """What decompressor *d* makes of *data* before the byte where it fails: 4 KiB at a
    time, the failing 4 KiB a byte at a time (only ever run on a damaged file)."""
    out = bytearray()
    for i in range(0, len(data), 4096):
        piece = data[i : i + 4096]
        probe = d.copy()
        try:
            out += probe.decompress(piece)
            d = probe
        except zlib.error:
            for j in range(len(piece)):
                try:
                    out += d.decompress(piece[j : j + 1])
                except zlib.error:
                    break
            break
        if len(out) > cap or d.eof:
            break
    return bytes(out)


# --------------------------------------------------------------------------- logs
class LogChunks:
    """Complete lines of a log in large binary blocks, with line numbers and byte offsets.

    Iterating yields ``(block, first_line_number)``; ``block`` ends with a newline except
    for a final line the file does not terminate. The consumer reports how many newlines
    the block held through :meth:`done` (detectors count them anyway; counting twice would
    cost a pass over the data). ``end_offset`` is the byte offset just after the last
    complete line (where the next incremental read starts). A line whose end is still
    missing after ``MAX_LINE_BYTES`` past a block boundary is skipped and reported
    without being held in memory (a long line inside one block is passed on).
    """

    def __init__(self, stream, source: str, errors: ErrorReport, start_offset: int = 0,
                 start_line: int | None = None, growing: bool = False):
        self.stream = stream
        self.growing = growing  # a last line without a newline is not read (see __iter__)
        self.source = source
        self.errors = errors
        self.line = 0  # lines before the current block (at the end: before end_offset)
        self.offset = 0  # bytes consumed before the current block
        self.end_offset = start_offset
        self.lines_read = 0
        self._start = start_offset
        self._start_line = start_line
        self._partial_prefix = False

    def _read(self, n: int) -> bytes:
        try:
            return self.stream.read(n)
        except (EOFError, zlib.error, gzip.BadGzipFile) as exc:
            self.errors.add(self.source, self.line + 1, f"compressed data ends early or is corrupt ({exc}); read up to here")
            return b""
        except OSError as exc:
            self.errors.add(self.source, self.line + 1, f"read error: {exc}; read up to here")
            return b""

    def _skip_to(self, offset: int) -> None:
        """Skip *offset* bytes, counting their lines (positions stay true line numbers)."""
        left = offset
        last = b"\n"
        while left > 0:
            data = self._read(min(CHUNK_BYTES, left))
            if not data:
                break
            self.line += data.count(b"\n")
            left -= len(data)
            self.offset += len(data)
            last = data[-1:]
        self.end_offset = self.offset
        # an offset inside a line (not one we reported): start at the next line
        self._partial_prefix = last != b"\n"

    def __iter__(self) -> Iterator[tuple[bytes, int]]:
        if self._start:
            seek = getattr(self.stream, "seek_to", None)
            if self._start_line is not None and seek is not None and seek(self._start):
                # the lines before the offset are known (the checkpoint's): not read again
                self.line, self.offset, self.end_offset = self._start_line, self._start, self._start
            else:
                self._skip_to(self._start)
        pending = b""
        skipping = self._partial_prefix  # drop bytes up to the next newline
        while True:
            data = self._read(CHUNK_BYTES)
            if not data:
                break
            if skipping:
                i = data.find(b"\n")
                if i < 0:
                    self.offset += len(data)
                    continue
                self.offset += i + 1
                self.line += 1
                self.lines_read += 1
                data = data[i + 1:]
                skipping = False
                self.end_offset = self.offset
            buf = pending + data if pending else data
            j = buf.rfind(b"\n")
            if j < 0:
                if len(buf) > MAX_LINE_BYTES:
                    self._too_long()
                    self.offset += len(buf)
                    skipping, pending = True, b""
                else:
                    pending = buf
                continue
            block = buf[: j + 1]
            pending = buf[j + 1:]
            self._newlines = None
            yield block, self.line + 1
            n = self._newlines if self._newlines is not None else block.count(b"\n")
            self.line += n
            self.lines_read += n
            self.offset += len(block)
            self.end_offset = self.offset
            if len(pending) > MAX_LINE_BYTES:
                self._too_long()
                self.offset += len(pending)
                skipping, pending = True, b""
        if pending and not skipping and not self.growing:
            # a last line without a newline: read it, but leave the offset before it so an
            # incremental run reads it again once complete. (In a log still being written
            # it may be cut mid-way: read now, its completed self would be another event
            # with another event_id. There it is left whole for the next read.)
            self.lines_read += 1
            self._newlines = None
            yield pending, self.line + 1

    def done(self, newlines: int | None) -> None:
        """The consumer of the last block counted its newlines (saves a pass)."""
        self._newlines = newlines

    def _too_long(self) -> None:
        self.errors.add(self.source, self.line + 1, f"line longer than {MAX_LINE_BYTES} bytes: skipped")


# (anchored at the start of a word: an unanchored class run would be retried at every
# character of every long word, quadratic in its length)
_ADDR_RE = re.compile(r"(?<![^\s<>()\[\]\"',;:])[^\s<>()\[\]\"',;:@]+@[^\s<>()\[\]\"',;:]+")
# words of letters, digits, dots and dashes that contain a digit
_TOKEN_RE = re.compile(r"(?<![\w.-])[\w.-]*\d[\w.-]*")
# ... of which SMTP reply codes ("550", "550-5.1.1") and RFC 3463 codes ("5.7.1") are kept
_CODE_RE = re.compile(r"[245]\d\d(?:-[245]\.\d{1,3}\.\d{1,3})?|[245]\.\d{1,3}\.\d{1,3}|\d{1,4}")


# ... as one regex that matches exactly the tokens to replace (5+ characters, and not a
# code once leading and trailing dots and dashes are stripped), so that ``sub`` runs
# without a Python callback per token
_MASK_RE = re.compile(
    r"(?<![\w.-])(?=[\w.-]{5})(?![.-]*(?:" + _CODE_RE.pattern + r")[.-]*(?![\w.-]))[\w.-]*\d[\w.-]*"
)


def _mask_token(m: re.Match) -> str:
    """The per-token rule :data:`_MASK_RE` encodes (kept as its readable definition;
    ``tests/test_logs.py`` checks that both mask alike)."""
    t = m.group()
    return t if len(t) < 5 or _CODE_RE.fullmatch(t.strip(".-")) else "0"


def mask_tokens(text: str) -> str:
    """*text* with e-mail addresses and message-specific tokens (words of 5+ letters, digits,
    dots and dashes with a digit in them, other than reply and status codes: queue ids,
    Gmail's "a1si123456wrb.123", Outlook's "[DB5EUR03FT012.eop-EUR03...]", IP addresses,
    epoch seconds, server names like "mta1234.mail.gq1.yahoo.com") replaced by "0".

    Remote servers put the recipient and a tracking token into otherwise identical replies;
    masking them lets a log's thousands of failures share a handful of classifications.
    No rule keys on such tokens: reasons are told by words ("user unknown", "blocked
    using", "mailbox full") and by reply and status codes, which are kept.
    """
    if "@" in text:
        text = _ADDR_RE.sub("user@example.invalid", text)
    return _MASK_RE.sub("0", text)


# "550 5.1.1", "550-5.1.1", "550 #5.1.1" (an SMTP reply code and an RFC 3463 code)
_REPLY_STATUS_RE = re.compile(r"(?<![\w.])([245]\d\d)[ -]#?([245]\.\d{1,3}\.\d{1,3})(?![\w]|\.\d)")
_STATUS_RE = re.compile(r"(?<![\w.])([245]\.\d{1,3}\.\d{1,3})(?![\w]|\.\d)")
_REPLY_RE = re.compile(r"(?:^|[:;]\s*|said:?\s*)([245]\d\d)(?=[ -]|$)")
_COMMAND_RE = re.compile(r"(?:in reply to|after) (RCPT TO|MAIL FROM|end of data|DATA|HELO|EHLO|initial connection)", re.I)
_COMMANDS = {"rcpt to": "RCPT", "mail from": "MAIL", "end of data": "DATA", "data": "DATA", "helo": "HELO",
             "ehlo": "HELO", "initial connection": "CONN"}


def smtp_codes(text: str) -> tuple[str, str]:
    """(RFC 3463 status, SMTP reply code) found in a diagnostic text ('' when absent)."""
    m = _REPLY_STATUS_RE.search(text)
    if m:
        return m.group(2), m.group(1)
    m = _STATUS_RE.search(text)
    status = m.group(1) if m else ""
    m = _REPLY_RE.search(text)
    return status, (m.group(1) if m else "")


def smtp_command(text: str) -> str:
    """The SMTP command a reply answered ("RCPT", "MAIL", "DATA", ...) if the text says."""
    m = _COMMAND_RE.search(text)
    return _COMMANDS.get(m.group(1).lower(), "") if m else ""


class LogContext:
    """What a log detector needs besides the text: source name, clock, error report,
    cached classification."""

    def __init__(self, source_format: str, source: str, clock: Clock, errors: ErrorReport):
        from .reasons import classify_parts

        self.source_format = source_format
        self.source = source
        self.clock = clock
        self.errors = errors
        self.cols = Columns(source_format, source)
        self._classify_parts = classify_parts
        self._cache: dict[tuple, tuple[str, str]] = {}  # by masked diagnostic
        self._raw: dict[tuple, tuple[str, str]] = {}  # by the diagnostic as written

    def classify(self, action: str, status: str, reply: str, diag: str, hint: str = "", command: str = "",
                 masked: str | None = None) -> tuple[str, str]:
        """(reason, kind), classified once per distinct outcome. The diagnostic is
        classified with its addresses and message tokens masked (:func:`mask_tokens`), so
        "550 5.1.1 <a@x>: User unknown" and "... <b@y>: ..." are one distinct outcome.
        *masked*: ``mask_tokens(diag)`` where the caller has it already."""
        raw = (action, status, reply, diag, hint, command)
        rk = self._raw.get(raw)
        if rk is not None:  # the very same text again ("Connection timed out"): no masking
            return rk
        if masked is None:
            masked = mask_tokens(diag) if diag else diag
        key = (action, status, reply, masked, hint, command)
        rk = self._cache.get(key)
        if rk is None:
            if len(self._cache) > 100_000:
                self._cache.clear()
            rk = self._cache[key] = self._classify_parts(action, status, reply, masked, hint, "", command)
        if len(self._raw) > 100_000:
            self._raw.clear()
        self._raw[raw] = rk
        return rk

    def ts(self, text: str) -> int:
        return self.clock.syslog_ns(text, self.source)

    def add_row(self, line: bytes | str, index: int, position: int, stamp: int, recipient: str, action: str,
                status: str = "", reply: str = "", diag: str = "", remote: str = "", sender: str = "",
                message_id: str = "", queue_id: str = "", hint: str = "", command: str = "") -> None:
        """Append one outcome (for detectors that work line by line)."""
        rcpt = normalize_recipient(recipient)
        if not rcpt:
            return
        if action == "delivered":
            reason, kind = self.classify(action, status, reply, "", hint, "")
        else:
            reason, kind = self.classify(action, status, reply, diag, hint, command)
        c = self.cols
        c.event_id.append(event_id(self.source_format, line, rcpt, index))
        c.timestamp.append(stamp)
        c.recipient.append(rcpt)
        c.kind.append(kind)
        c.reason.append(reason)
        c.status.append(status or None)
        c.reply_code.append(reply or None)
        c.diagnostic.append(diag or None)
        c.remote_mta.append(remote or None)
        c.sender.append(sender or None)
        c.message_id.append(message_id or None)
        c.queue_id.append(queue_id or None)
        c.position.append(position)


def _read_log(fmt: str, stream, inp: _Input, clock: Clock, errors: ErrorReport, offset: int,
              on_batch=None, batch_rows: int = 0, start_line: int | None = None,
              growing: bool = False):
    logs, _ = _detectors()
    mod = logs[fmt]
    ctx = LogContext(fmt, inp.name, clock, errors)
    chunks = LogChunks(stream, inp.name, errors, offset, start_line, growing)
    parser = mod.Parser(ctx)
    # The detectors allocate millions of small tuples and strings that never form cycles;
    # the cyclic collector re-scanning them would cost more than the parsing itself.
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        for block, first_line in chunks:
            chunks.done(parser.feed(block, first_line))
            if on_batch is not None and len(ctx.cols) >= batch_rows:
                # the rows so far go out; the detectors append to ctx.cols as they find it
                rows, ctx.cols = ctx.cols, Columns(fmt, inp.name)
                _hand_over(on_batch, _named(rows.frame(), errors, inp.name), was_enabled)
                del rows
        parser.finish()
    finally:
        if was_enabled:
            gc.enable()
    return ctx.cols, chunks


def _named(frame: pd.DataFrame, errors: ErrorReport, source: str) -> pd.DataFrame:
    """A log's rows without those that name no recipient (``to=<>`` and no ``orig_to``):
    they say nothing about any address; counted as unreadable records. (A filter on the
    rows every reader of a format gives, so the readers stay alike.)"""
    rcpt = frame["recipient"]
    nameless = (rcpt.isna() | (rcpt == "")).to_numpy(dtype=bool)
    if not nameless.any():
        return frame
    for pos in frame["position"][nameless]:
        errors.add(source, int(pos), "a log line that names no recipient (to=<>): skipped")
    return frame[~nameless].reset_index(drop=True)


def _hand_over(on_batch, frame: pd.DataFrame, collect: bool) -> None:
    """Call *on_batch* with the garbage collector as the caller had it (the reading
    turns it off; what the consumer does -- a database insert -- may make cycles)."""
    if collect:
        gc.enable()
    try:
        on_batch(frame)
    finally:
        if collect:
            gc.disable()


# --------------------------------------------------------------------------- main
def _as_list(paths_or_buffers) -> list:
    if isinstance(paths_or_buffers, (str, os.PathLike, bytes, bytearray, memoryview)) or hasattr(
        paths_or_buffers, "read"
    ):
        return [paths_or_buffers]
    try:
        return list(paths_or_buffers)
    except TypeError as exc:
        raise InputError(f"read_bounces needs paths or file objects, not a {type(paths_or_buffers).__name__}.") from exc


def read_bounces(
    paths_or_buffers,
    *,
    format: str = "auto",
    as_of=None,
    errors: str = "report",
    offsets: dict | None = None,
    on_batch=None,
    batch_rows: int = 250_000,
    lines: dict | None = None,
    growing=(),
) -> pd.DataFrame:
    """Read bounce evidence into the events table (:data:`listcare.schema.EVENT_COLUMNS`).

    *paths_or_buffers*: one or several paths (mail logs, plain or ``.gz``; ``.eml``/mbox
    files; Maildir folders; provider JSON/CSV exports), bytes, or binary file objects.
    *format*: ``"auto"`` (sniffed per input) or one of :data:`FORMATS`.
    *as_of*: the date the evidence runs up to; required for syslog timestamps without a
    year (and its time zone, if it has one, is the zone of zone-less log timestamps).
    *errors*: ``"report"`` (skip bad records, count them in ``df.attrs["errors"]`` =
    ``{"count": n, "samples": [(source, position, message), ...]}``), ``"ignore"`` (skip
    silently), ``"raise"`` (raise :class:`~listcare.exceptions.InputError` on the first).
    An input that cannot be opened at all always raises ``InputError``.
    *offsets*: ``{path: byte offset}`` for incremental log reading: lines before the offset
    are skipped (and still counted, so ``position`` stays the true line number).
    ``df.attrs["offsets"]`` maps every log input to the offset just after its last complete
    line -- pass it back next time. For ``.gz`` files offsets count uncompressed bytes.
    *lines*: ``{path: lines before its offset}`` (``df.attrs["lines"]`` of the read that
    gave the offset): a plain file then starts at its offset at once, instead of reading
    what lies before it to count its lines (a .gz, or an offset that is not a line
    start, is still read from the beginning).
    *growing*: paths of logs still being written (the live log of an incremental read):
    a last line without a newline there may be cut mid-way, so it is left for the next
    read (the offset stays before it) instead of read now. (Elsewhere such a line is
    read: a file may simply not end with a newline.)

    *on_batch*: a function that takes the rows instead of the result, a batch at a time
    and in input order: a long log in batches of at least *batch_rows* while the rest is
    read (so that it is never in memory whole: the nightly job stores each batch), then
    the rest of each input before the next one is read. The result then holds no rows,
    only the ``attrs``; duplicates are not removed (a store ignores an ``event_id`` it
    holds) and not counted.

    Returns one row per recipient outcome, in input order; ``df.attrs`` also holds
    ``lines_read`` (log lines read) and ``formats`` ({source: detected format}).
    """
    if on_batch is not None and (not callable(on_batch) or int(batch_rows) < 1):
        raise ConfigError("on_batch must be a function and batch_rows a positive number.")
    if format not in FORMATS:
        raise ConfigError(f"format={format!r} is not one of {', '.join(FORMATS)}.")
    report = ErrorReport(errors)
    clock = Clock(as_of)
    given = _as_list(paths_or_buffers)
    items = expand_folders(given)
    # files found in a folder: one that vanished or cannot be opened since the listing (a
    # mail client moving new/ to cur/, a dangling link) is one bad record, not a failed read
    from_folders = {os.fspath(i) for i in items if isinstance(i, (str, os.PathLike))} - {
        os.fspath(g) for g in given if isinstance(g, (str, os.PathLike))
    }
    offsets = {os.fspath(k): int(v) for k, v in (offsets or {}).items()}
    known_lines = {os.fspath(k): int(v) for k, v in (lines or {}).items()}
    growing = {os.fspath(g) for g in ([growing] if isinstance(growing, (str, os.PathLike)) else growing)}
    frames: list[pd.DataFrame] = []
    out_offsets: dict[str, int] = {}
    out_lines: dict[str, int] = {}
    formats: dict[str, str] = {}
    lines_read = 0
    for n, item in enumerate(items, 1):
        inp = _Input(item, n)
        if inp.is_dir:
            cols = _read_mail(inp.item, inp.name, report)
            formats[inp.name] = "mail"
            if on_batch is None:
                frames.append(cols.frame())
            elif len(cols):
                on_batch(cols.frame())
            continue
        try:
            raw = inp.open()
        except InputError as exc:
            if inp.name not in from_folders:
                raise
            report.add(inp.name, 0, f"cannot be read: {exc}")
            continue
        try:
            stream = _Stream(raw, inp.name)
            fmt = format if format != "auto" else sniff_format(stream.head)
            if fmt is None:
                if stream.broken:  # a cut-off .gz: say so, not "empty" or "unknown format"
                    report.add(inp.name, 0, f"{stream.broken}: too little is readable to tell its format; skipped")
                elif stream.head.strip():
                    report.add(inp.name, 0, "format not recognised (not a mail log, bounce mail or provider export): skipped")
                continue
            formats[inp.name] = fmt
            if fmt in LOG_FORMATS:
                offset = offsets.get(inp.key, 0)
                if offset and not stream.gz and _size(raw) is not None and offset > _size(raw):
                    offset = 0  # the file is shorter than before: truncated in place (copytruncate)
                cols, chunks = _read_log(
                    fmt, stream, inp, clock, report, offset, on_batch, int(batch_rows),
                    known_lines.get(inp.key) if offset else None, inp.key in growing,
                )
                out_offsets[inp.key] = chunks.end_offset
                out_lines[inp.key] = chunks.line
                lines_read += chunks.lines_read
            elif fmt == "mail":
                cols = _read_mail(stream, inp.name, report)
            else:
                cols = _read_provider(fmt, stream, inp.name, report)
        finally:
            if not hasattr(inp.item, "read"):
                raw.close()
        frame = cols.frame() if len(cols) or on_batch is None else None
        if frame is not None and fmt in LOG_FORMATS:
            frame = _named(frame, report, inp.name)
        if on_batch is not None:
            # the rest of this input goes out before the next input is read: every row
            # reaches on_batch in input order (a rotated log's rest before the new log)
            if frame is not None and len(frame):
                on_batch(frame)
            continue
        frames.append(frame)
    frames = [f for f in frames if len(f)]
    if len(frames) == 1:
        df = frames[0]  # (concat would copy every column of the one frame)
    else:
        df = pd.concat(frames, ignore_index=True) if frames else schema.empty_frame(schema.EVENT_COLUMNS)
    duplicates = 0
    if len(frames) > 1:
        df = schema.coerce(df, schema.EVENT_COLUMNS)
        # the same evidence given twice (a file and its copy, overlapping globs, a log and
        # a rotation holding the same lines): one event, as the store would keep it. Only
        # across inputs: within one, a repeated line stays as often as it appears, as it
        # does when that input is read alone
        part = np.repeat(np.arange(len(frames)), [len(f) for f in frames])
        first = pd.Series(part).groupby(df["event_id"].to_numpy(), sort=False, dropna=False).transform("first")
        dup = part != first.to_numpy()
        if dup.any():
            duplicates = int(dup.sum())
            df = df[~dup].reset_index(drop=True)
    df.attrs["errors"] = report.as_dict() if errors == "report" else {"count": report.count, "samples": []}
    df.attrs["offsets"] = out_offsets
    df.attrs["lines"] = out_lines
    df.attrs["formats"] = formats
    df.attrs["lines_read"] = lines_read
    df.attrs["duplicates"] = duplicates
    return df


def _size(raw) -> int | None:
    try:
        return os.fstat(raw.fileno()).st_size
    except (OSError, AttributeError, io.UnsupportedOperation):
        return None


def _read_mail(source, name: str, report: ErrorReport) -> Columns:
    from . import mail
    from .reasons import classify

    cols = Columns("mail", name)
    sink = report.sink(name)
    last_pos, index = 0, 0
    for fact in mail.iter_mail_facts(source, source_name=name, errors=sink):
        index = index + 1 if fact.position == last_pos else 0
        last_pos = fact.position
        if not cols.add_fact(fact, "mail", index, classify):
            sink(fact.position, "a delivery outcome that names no recipient: skipped")
    return cols


def _read_provider(fmt: str, stream, name: str, report: ErrorReport) -> Columns:
    from .reasons import classify

    _, providers = _detectors()
    mod = providers[fmt]
    cols = Columns(fmt, name)
    sink = report.sink(name)
    if fmt == "mailchimp":
        records = iter_csv(stream, sink)
    else:
        records = iter_json_records(stream, sink)
    seen = 0
    known = False  # some record is an event of this provider (or was reported as bad)
    for position, record in records:
        seen += 1
        try:
            facts = mod.facts(record)
        except (KeyError, TypeError, ValueError, AttributeError, IndexError) as exc:
            sink(position, f"unreadable {fmt} record: {type(exc).__name__}: {str(exc)[:200]}")
            known = True
            continue
        if not facts:
            # an event of another kind (an open, a click, a send): nothing to record; a
            # record without the provider's kind field at all is no event of it
            known = known or _names_a_kind(fmt, mod, record)
            continue
        known = True
        evidence = canonical(record)
        for i, fact in enumerate(facts):
            fact.position = position
            fact.evidence = evidence
            if not cols.add_fact(fact, fmt, i, classify):
                sink(position, f"a {fmt} record that names no recipient: skipped")
    if seen and not known and fmt in _KIND_FIELDS:
        # a whole file of records none of which names an event kind of this provider is
        # most often an export wrapped in one more object than this reader unwraps
        sink(0, f"none of its {seen} record(s) is a {fmt} event (no "
             f"{' or '.join(repr(k) for k in _KIND_FIELDS[fmt])} field): if the export is "
             "wrapped in another object, give the list inside it")
    return cols


#: the field that names each provider record's event kind (a record without one is no
#: event of that provider; Mailchimp's CSV rows are members, not events)
_KIND_FIELDS = {
    "ses": ("notificationType", "eventType", "Type"),
    "sendgrid": ("event",),
    "mailgun": ("event",),
    "postmark": ("RecordType", "Type"),
}


def _names_a_kind(fmt: str, mod, record) -> bool:
    unwrap = getattr(mod, "unwrap", None)
    rec = unwrap(record) if unwrap is not None else record
    if isinstance(rec, dict) and isinstance(rec.get("event-data"), dict):
        rec = rec["event-data"]  # (a Mailgun webhook)
    return isinstance(rec, dict) and any(k in rec for k in _KIND_FIELDS.get(fmt, ()))


# --------------------------------------------------------------------------- exports
def canonical(record) -> str:
    """A record's evidence: canonical JSON, so pretty-printing does not change event ids."""
    return json.dumps(record, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def _read_up_to(stream, limit: int) -> bytes:
    """Read until *limit* bytes or the end: a stream's read(n) may return less than n
    (the sniffed head comes back first on its own), and a JSON document must be whole."""
    parts, size = [], 0
    while size < limit:
        chunk = stream.read(min(limit - size, CHUNK_BYTES))
        if not chunk:
            break
        parts.append(chunk)
        size += len(chunk)
    return b"".join(parts)


def iter_json_records(stream, sink) -> Iterator[tuple[int, Any]]:
    """(1-based index, record) of a JSON export: an array, one object, an object holding
    a list (``items``, ``Records``, ``Bounces``, ...), or JSON lines (one object a line)."""
    data = _read_up_to(stream, MAX_JSON_BYTES + 1)
    if len(data) > MAX_JSON_BYTES:
        sink(0, f"JSON export larger than {MAX_JSON_BYTES} bytes: export it as JSON lines")
        return
    text = _decode_text(data)
    try:
        doc = json.loads(text)
    except json.JSONDecodeError:
        doc = None
        lines = True
        cut = _array_start(text)
        if cut is not None:  # an array (or a page holding one) that does not parse whole
            yield from _salvage_array(text, cut, sink)
            return
    except RecursionError:
        sink(0, "JSON nested too deeply: skipped")
        return
    else:
        lines = False
    if lines:
        # JSON lines: one record a line; a bad line is one bad record
        for i, line in enumerate(text.splitlines(), 1):
            line = line.strip()
            if not line:
                continue
            try:
                rec = json.loads(line)
            except json.JSONDecodeError as exc:
                if exc.msg != "Extra data":
                    sink(i, f"not a JSON record: {str(exc)[:100]}")
                    continue
                # objects run together ({...}{...}: Kinesis Firehose writes them so)
                rec = _concatenated(line, i, sink)
            except RecursionError as exc:
                sink(i, f"not a JSON record: {str(exc)[:100]}")
                continue
            if isinstance(rec, list):
                for r in rec:
                    yield i, r
            else:
                yield i, rec
        return
    if isinstance(doc, dict):
        for key in ("items", "Records", "records", "Bounces", "bounces", "events", "Events", "data"):
            if isinstance(doc.get(key), list):
                doc = doc[key]
                break
    if isinstance(doc, list):
        for i, rec in enumerate(doc, 1):
            yield i, rec
    else:
        yield 1, doc


def _concatenated(line: str, i: int, sink) -> list:
    """The JSON values of a line that holds several run together; what follows a value
    that does not parse is one bad record."""
    dec = json.JSONDecoder()
    out, pos = [], 0
    while pos < len(line):
        try:
            value, end = dec.raw_decode(line, pos)
        except (json.JSONDecodeError, RecursionError) as exc:
            sink(i, f"not a JSON record: {str(exc)[:100]}")
            break
        out.append(value)
        pos = end
        while pos < len(line) and line[pos] in " \t\r,":
            pos += 1
    return out


_LIST_KEY = re.compile(r'"(?:items|Records|records|Bounces|bounces|events|Events|data)"\s*:\s*\[')


def _array_start(text: str) -> int | None:
    """Where the records of a JSON array export begin, when *text* is one that does not
    parse whole (cut off or damaged part-way), and is not JSON lines; else None."""
    # JSON lines (one complete value per line; the first may be the damaged one): not an
    # array cut off part-way. A handful of lines is enough to tell.
    lines = (ln.strip() for ln in text.splitlines())
    for line in itertools.islice((ln for ln in lines if ln), 20):
        try:
            value = json.loads(line)
        except (json.JSONDecodeError, RecursionError):
            continue
        # (a record is an object, or an array of them: a pretty-printed array's lone
        # "newsletter" or 42 line parses too, and says nothing)
        if isinstance(value, (dict, list)) and value:
            return None
    body = text.lstrip()
    offset = len(text) - len(body)
    if body.startswith("["):
        return offset + 1
    if body.startswith("{"):
        # the list of a page object ({"items": [...]}) opens near its start
        m = _LIST_KEY.search(body, 0, 4096)
        return offset + m.end() if m else None
    return None


def _salvage_array(text: str, pos: int, sink) -> Iterator[tuple[int, Any]]:
    """The complete records of a JSON array up to where it is cut off or damaged (an
    export interrupted part-way keeps what it holds; the damage is one error)."""
    decoder = json.JSONDecoder()
    n = len(text)
    i = 0
    while True:
        while pos < n and text[pos] in " \t\r\n,":
            pos += 1
        if pos >= n:
            sink(i + 1, f"the JSON export ends early after {i} complete records (cut off?)")
            return
        if text[pos] == "]":
            if text[pos + 1 :].strip(" \t\r\n}"):
                sink(i + 1, "text after the end of the JSON export's records: ignored")
            return
        try:
            rec, pos = decoder.raw_decode(text, pos)
        except (json.JSONDecodeError, RecursionError) as exc:
            sink(i + 1, f"the JSON export is cut off or damaged after {i} complete records: {str(exc)[:100]}")
            return
        i += 1
        yield i, rec


def _decode_text(data: bytes) -> str:
    if data.startswith(codecs.BOM_UTF8):
        data = data[3:]
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def iter_csv(stream, sink) -> Iterator[tuple[int, dict]]:
    """(1-based data-row line number, row dict keyed by header) of a CSV export."""
    text = io.TextIOWrapper(_Reader(stream), encoding="utf-8-sig", errors="replace", newline="")
    first = text.readline()
    # the separator of the header line: Excel in German, French... locales saves ";"
    counts = {sep: len(next(csv.reader([first], delimiter=sep), [])) for sep in ",;\t"}
    sep = max(counts, key=lambda k: (counts[k], k == ","))
    reader = csv.reader(itertools.chain([first], text), delimiter=sep)
    try:
        header = next(reader)
    except (StopIteration, csv.Error):
        return
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            sink(reader.line_num, f"bad CSV row: {exc}")
            continue
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != len(header):
            sink(reader.line_num, f"CSV row has {len(row)} fields, the header {len(header)}")
            continue
        yield reader.line_num, dict(zip(header, row, strict=True))


class _Reader(io.RawIOBase):
    def __init__(self, stream):
        self._s = stream

    def readable(self):
        return True

    def readinto(self, b):
        data = self._s.read(len(b))
        b[: len(data)] = data
        return len(data)


__all__ += ["Clock", "LogContext", "LogChunks", "normalize_recipient", "mask_tokens", "smtp_codes", "smtp_command"]
