"""Can a mail domain receive mail? Concurrent MX / A / AAAA lookups with a small UDP stub.

:func:`check_domains` asks, for every domain once, the questions an SMTP client asks
(RFC 5321 section 5.1): MX first; if the domain exists but has no MX, its A and then AAAA
records ("implicit MX"). The verdicts:

============================================  ========  =====================
what the DNS said                              status    reason
============================================  ========  =====================
MX with at least one real exchange            valid     ""
no MX, but a globally reachable A/AAAA         valid     ""
only the null MX ``0 .`` (RFC 7505)            invalid   ``null_mx``
no MX and no usable A/AAAA                     invalid   ``no_mail_host``
no MX, an address, and SPF ``v=spf1 -all``     invalid   ``no_mail_host``
NXDOMAIN (the name does not exist, RFC 8020)   invalid   ``domain_not_found``
no answer in time                              unknown   ``dns_timeout``
SERVFAIL / REFUSED from every nameserver       unknown   ``dns_servfail``
other RCODE, malformed answer                  unknown   ``dns_error``
NXDOMAIN / no mail host, but the resolver      unknown   ``dns_error`` (or the
also denies the TLD (e.g. ``com``) exists                reason the TLD check
or cannot confirm it                                     failed with)
no nameserver configured or reachable          unknown   ``dns_no_nameserver``
the overall budget ran out first               unknown   ``dns_budget``
============================================  ========  =====================

A failure that may be transient is never ``invalid``, and neither is the word of a
resolver that lies: before a ``domain_not_found`` or ``no_mail_host`` verdict is given,
the resolver must show it knows the domain's top-level domain (one SOA query per distinct
TLD; see :func:`_verify_negatives`). Captive portals, some ISPs' and sandboxes' resolvers
answer NXDOMAIN for every name; believing them would make a whole list ``invalid`` and
the nightly clean job would suppress it. The address fallback ignores
addresses that are not globally reachable and honours SPF ``-all``, exactly as
email-validator's ``check_deliverability`` does (its issue #134), so that the two agree.

Why not one ``dns.resolver.Resolver.resolve`` per domain: dnspython spends about 0.85 ms of
CPU per query building and parsing messages (a raw UDP round trip costs 0.03 ms), which for
50,000+ domains is most of a minute before any network wait, and its resolver asks one
question at a time. So the hot path here is a stub on the ``socket`` module: queries are
built from a precomputed template, many are in flight at once on a few connected,
non-blocking UDP sockets (one :mod:`selectors` loop, no threads; the number in flight
grows from 32 up to *concurrency* and halves when answers stop coming, as TCP's window
does, so a rate-limiting resolver is not flooded), and answers are read by a
minimal parser (:func:`parse_response`) that a property test checks against
``dns.message.from_wire``. dnspython is still used where it is good and rarely needed:
reading the system configuration (``dns.resolver.Resolver(configure=True)``, which changes
no global state: ``dns.resolver.default_resolver`` is never touched) and the TCP retry of a
truncated answer (``dns.query.tcp``).

Spoofing and mismatch safety: each query has a random 16-bit id and goes out on one of
several sockets with random source ports, each *connected* to its nameserver (the kernel
drops datagrams from anybody else); an answer is accepted only if its id, QR bit, opcode
and question (name, type, class) match what was asked.
"""

from __future__ import annotations

import errno
import functools
import heapq
import ipaddress
import os
import random
import selectors
import socket
import struct
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from ..exceptions import ConfigError

__all__ = ["DomainResult", "check_domains", "parse_response", "ParseError"]

# RR types and classes (RFC 1035 section 3.2.2, RFC 3596, RFC 6891)
A, CNAME, SOA, MX, TXT, AAAA, OPT = 1, 5, 6, 15, 16, 28, 41
IN = 1
_NAMES = {MX: "MX", A: "A", AAAA: "AAAA", TXT: "TXT", SOA: "SOA"}

# RCODEs (RFC 1035 section 4.1.1)
NOERROR, FORMERR, SERVFAIL, NXDOMAIN, NOTIMP, REFUSED = 0, 1, 2, 3, 4, 5

#: EDNS(0) UDP payload size we advertise: the DNS Flag Day 2020 value, big enough for the
#: MX sets of large providers without truncation and small enough to avoid fragmentation.
EDNS_PAYLOAD = 1232

DEFAULT_CONCURRENCY = 200

_HEADER = struct.Struct(">HHHHHH")
_RR = struct.Struct(">HHIH")
_U16 = struct.Struct(">H")
# flags RD=1; QDCOUNT=1, ANCOUNT=0, NSCOUNT=0, ARCOUNT=1 (the OPT record)
_QUERY_HEAD = struct.pack(">HHHHH", 0x0100, 1, 0, 0, 1)
# OPT pseudo-RR: root owner, type 41, class = payload size, TTL 0 (ext-rcode 0, version 0,
# DO=0), no options (RFC 6891 section 6.1.2)
_OPT_RR = b"\x00" + struct.pack(">HHIH", OPT, EDNS_PAYLOAD, 0, 0)


@dataclass(frozen=True)
class DomainResult:
    """What the DNS says about one mail domain."""

    status: str  # 'valid' | 'invalid' | 'unknown'
    reason: str  # a listcare.schema.VALIDATION_REASONS code, '' when valid
    detail: str  # a sentence for a person
    mx: tuple[str, ...] = ()  # mail exchangers by preference; () for the A/AAAA fallback


# --------------------------------------------------------------------------- wire format
class ParseError(ValueError):
    """A DNS message is malformed."""


def encode_name(domain: str) -> bytes | None:
    """The wire form (RFC 1035 section 3.1) of an ASCII domain, lowercased; None if the
    string cannot be a DNS name (not ASCII, an empty label, a label over 63 octets or a
    name over 255 octets)."""
    name = domain.strip().rstrip(".").lower()
    if not name:
        return None
    try:
        raw = name.encode("ascii")
    except UnicodeEncodeError:
        # callers pass IDNA already; be lenient with a Unicode name (IDNA 2008 + UTS 46,
        # as email-validator encodes domains)
        try:
            import idna

            raw = idna.encode(name, uts46=True)
        except (idna.IDNAError, UnicodeError, ValueError):
            return None
    out = bytearray()
    for label in raw.split(b"."):
        if not 0 < len(label) < 64:
            return None
        out.append(len(label))
        out += label
    out.append(0)
    if len(out) > 255:
        return None
    return bytes(out)


def build_query(qid: int, question: bytes) -> bytes:
    """A recursive query with EDNS(0); *question* is ``qname + qtype + qclass``."""
    return _U16.pack(qid) + _QUERY_HEAD + question + _OPT_RR


def _read_name(buf: bytes, off: int) -> tuple[bytes, int]:
    """Read a possibly compressed name at *off*: (lowercased dotted name, offset after it).

    Pointer rules as dnspython's ``Parser.get_name``: a pointer must point strictly before
    the start of the name and before every earlier pointer target (no loops); label types
    0b01/0b10 are errors; the whole name must fit in 255 octets."""
    n = len(buf)
    labels = []
    end = -1
    limit = off
    wire_len = 1
    while True:
        if off >= n:
            raise ParseError("name runs past the end of the message")
        ln = buf[off]
        if ln == 0:
            off += 1
            break
        if ln < 64:
            stop = off + 1 + ln
            if stop > n:
                raise ParseError("label runs past the end of the message")
            labels.append(buf[off + 1 : stop])
            wire_len += ln + 1
            off = stop
        elif ln >= 192:
            if off + 1 >= n:
                raise ParseError("truncated compression pointer")
            ptr = ((ln & 0x3F) << 8) | buf[off + 1]
            if ptr >= limit:
                raise ParseError("bad compression pointer")
            if end < 0:
                end = off + 2
            limit = ptr
            off = ptr
        else:
            raise ParseError("unknown label type")
    if wire_len > 255:
        raise ParseError("name too long")
    return b".".join(labels).lower(), (off if end < 0 else end)


def _skip_question(buf: bytes, off: int) -> int:
    _, off = _read_name(buf, off)
    if off + 4 > len(buf):
        raise ParseError("truncated question")
    return off + 4


def parse_response(buf: bytes):
    """Parse a DNS response.

    Returns ``(qid, flags, rcode, question, answers)``: *question* is the raw question
    section (for matching against the query), *rcode* includes the EDNS extended bits,
    *answers* is a list of ``(owner, type, value)`` for the answer-section records of class
    IN and type MX (value ``(preference, exchange)``), A/AAAA (value: the address as
    text), CNAME (value: the target), TXT (value: the strings joined as bytes) and SOA
    (value ``(mname, rname, serial)``). Names are
    lowercased dotted bytes without the final dot (the root is ``b""``).
    Raises :class:`ParseError` on anything malformed.
    """
    n = len(buf)
    if n < 12:
        raise ParseError("message shorter than a header")
    qid, flags, qdcount, ancount, nscount, arcount = _HEADER.unpack_from(buf, 0)
    off = 12
    for _ in range(qdcount):
        off = _skip_question(buf, off)
    question = buf[12:off]
    answers = []
    rcode = flags & 0xF
    for section, count in ((0, ancount), (1, nscount), (2, arcount)):
        for _ in range(count):
            owner, off = _read_name(buf, off)
            if off + 10 > n:
                raise ParseError("truncated resource record")
            rtype, rclass, ttl, rdlen = _RR.unpack_from(buf, off)
            off += 10
            rend = off + rdlen
            if rend > n:
                raise ParseError("rdata runs past the end of the message")
            if section == 0 and rclass == IN:
                if rtype == MX:
                    if rdlen < 3:
                        raise ParseError("short MX rdata")
                    exchange, e = _read_name(buf, off + 2)
                    if e != rend:
                        raise ParseError("bad MX rdata length")
                    answers.append((owner, MX, (_U16.unpack_from(buf, off)[0], exchange)))
                elif rtype == A:
                    if rdlen != 4:
                        raise ParseError("bad A rdata length")
                    answers.append((owner, A, socket.inet_ntop(socket.AF_INET, buf[off:rend])))
                elif rtype == AAAA:
                    if rdlen != 16:
                        raise ParseError("bad AAAA rdata length")
                    answers.append((owner, AAAA, socket.inet_ntop(socket.AF_INET6, buf[off:rend])))
                elif rtype == CNAME:
                    target, e = _read_name(buf, off)
                    if e != rend:
                        raise ParseError("bad CNAME rdata length")
                    answers.append((owner, CNAME, target))
                elif rtype == SOA:
                    mname, e = _read_name(buf, off)
                    rname, e = _read_name(buf, e)
                    if e + 20 != rend:
                        raise ParseError("bad SOA rdata length")
                    answers.append(
                        (owner, SOA, (mname, rname, struct.unpack_from(">I", buf, e)[0]))
                    )
                elif rtype == TXT:
                    parts = []
                    p = off
                    while p < rend:
                        stop = p + 1 + buf[p]
                        if stop > rend:
                            raise ParseError("TXT string runs past its rdata")
                        parts.append(buf[p + 1 : stop])
                        p = stop
                    if not parts:
                        raise ParseError("empty TXT rdata")
                    answers.append((owner, TXT, b"".join(parts)))
            elif section == 2 and rtype == OPT:
                # extended RCODE: upper 8 bits in the OPT TTL (RFC 6891 section 6.1.3)
                rcode |= (ttl >> 24) << 4
            off = rend
    if off != n:
        raise ParseError("trailing bytes after the last record")
    return qid, flags, rcode, question, answers


def chase(answers, qname: bytes, qtype: int) -> list:
    """The values of *qtype* records at *qname* or at the end of its CNAME chain, as a
    resolver returns them (dnspython's ``Answer`` does the same)."""
    cur = qname
    for _ in range(16):
        found = [v for o, t, v in answers if t == qtype and o == cur]
        if found:
            return found
        for o, t, v in answers:
            if t == CNAME and o == cur:
                cur = v
                break
        else:
            return []
    return []


# --------------------------------------------------------------------------- configuration
def _parse_nameserver(text: str) -> tuple[str, int]:
    s = str(text).strip()
    host, port = s, 53
    if s.startswith("["):
        close = s.find("]")
        if close < 0:
            raise ConfigError(
                f"Nameserver {text!r}: missing ']'. Write [IPv6]:PORT, e.g. [::1]:53."
            )
        host, rest = s[1:close], s[close + 1 :]
        if rest:
            if not rest.startswith(":"):
                raise ConfigError(f"Nameserver {text!r}: expected ':PORT' after ']'.")
            port = rest[1:]
    elif s.count(":") == 1:
        host, port = s.split(":")
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        raise ConfigError(
            f"Nameserver {text!r} is not an IP address: write HOST[:PORT] with an IPv4 or "
            "IPv6 address, e.g. 127.0.0.1:5353 or [::1]:53."
        ) from None
    try:
        port = int(port)
    except (TypeError, ValueError):
        port = -1
    if not 0 < port < 65536:
        raise ConfigError(f"Nameserver {text!r}: the port must be a number from 1 to 65535.")
    return str(ip), port


def _resolver_nameservers(resolver) -> list[tuple[str, int]]:
    """Plain-DNS (Do53) nameservers of a configured ``dns.resolver.Resolver``."""
    import dns.nameserver

    out = []
    for ns in resolver.nameservers:
        if isinstance(ns, dns.nameserver.Do53Nameserver):
            out.append((str(ns.address), int(ns.port)))
        elif isinstance(ns, str):
            try:
                ipaddress.ip_address(ns)
            except ValueError:
                continue  # a DNS-over-HTTPS URL: the stub only speaks plain DNS
            out.append((ns, int(resolver.nameserver_ports.get(ns, resolver.port))))
    return out


def _configure(nameserver, resolver, timeout):
    """(nameservers, attempt_timeout, lookup_timeout, problem)."""
    if nameserver is not None and resolver is not None:
        raise ConfigError("Give either nameserver= or resolver=, not both.")
    if not timeout or timeout <= 0:
        raise ConfigError(f"The DNS timeout must be a positive number of seconds, not {timeout!r}.")
    if nameserver is not None:
        return [_parse_nameserver(nameserver)], timeout / 2, timeout, ""
    if resolver is not None:
        import dns.resolver

        if not isinstance(resolver, dns.resolver.BaseResolver):
            raise ConfigError(
                f"resolver= must be a dns.resolver.Resolver, not {type(resolver).__name__}."
            )
        servers = _resolver_nameservers(resolver)
        if not servers:
            raise ConfigError(
                "The resolver has no plain-DNS nameserver (IP address) to ask; set "
                "resolver.nameservers = ['IP', ...]."
            )
        lifetime = float(resolver.lifetime or resolver.timeout)
        return servers, min(float(resolver.timeout), lifetime), lifetime, ""
    servers, problem = _system_nameservers()
    return servers, timeout / 2, timeout, problem


def _system_nameservers(filename: str = "/etc/resolv.conf") -> tuple[list, str]:
    """The system's nameservers and, when there are none, why."""
    import dns.resolver

    try:
        # a private Resolver: reads resolv.conf (or the Windows registry) and leaves
        # dns.resolver.default_resolver alone, so a notebook kernel is not affected
        system = dns.resolver.Resolver(filename=filename, configure=True)
    except dns.resolver.NoResolverConfiguration:
        return [], "no nameserver is configured on this machine"
    except OSError as exc:
        return [], f"the resolver configuration cannot be read ({exc})"
    servers = _resolver_nameservers(system)
    if not servers:
        return [], "no nameserver is configured on this machine"
    return servers, ""


# --------------------------------------------------------------------------- the stub
class _Server:
    __slots__ = ("host", "port", "family", "socks", "alive", "answered", "timeouts", "why")

    def __init__(self, host, port):
        self.host, self.port = host, port
        self.family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.socks = []
        self.alive = True
        self.answered = 0
        self.timeouts = 0
        self.why = ""


class _Lookup:
    """One domain's walk MX -> A -> AAAA (-> TXT)."""

    __slots__ = (
        "key",
        "name",
        "qname",
        "mx",
        "qtype",
        "qid",
        "question",
        "keys",
        "tried",
        "attempt",
        "gen",
        "deadline",
        "done",
        "tcp",
    )

    def __init__(self, key, qname):
        self.key = key
        self.qname = qname
        self.name = qname_text(qname)
        self.mx = ()
        self.keys = []
        self.done = False
        self.tcp = False
        self.gen = 0


def qname_text(qname: bytes) -> bytes:
    """Dotted lowercase form of a wire-format name (as :func:`parse_response` gives)."""
    labels, i = [], 0
    while qname[i]:
        labels.append(qname[i + 1 : i + 1 + qname[i]])
        i += 1 + qname[i]
    return b".".join(labels)


def _text(name: bytes) -> str:
    text = name.decode("ascii", "backslashreplace")
    if "xn--" in text:
        # say an IDN the way a person wrote it (listcare-müller.de, not xn--...)
        try:
            import idna

            return idna.decode(text)
        except (idna.IDNAError, UnicodeError, ValueError):
            pass
    return text


def _is_global(address: str) -> bool:
    try:
        return ipaddress.ip_address(address).is_global
    except ValueError:
        return False


class _Stub:
    def __init__(self, servers, attempt_timeout, lookup_timeout, budget, concurrency):
        self.servers = [_Server(h, p) for h, p in servers]
        self.attempt_timeout = attempt_timeout
        self.lookup_timeout = lookup_timeout
        self.budget = budget
        self.concurrency = max(1, int(concurrency))
        self.rng = random.Random(os.urandom(16))
        self.sel = selectors.DefaultSelector()
        self.inflight: dict[tuple[int, int], _Lookup] = {}
        self.timers: list = []
        self.seq = 0
        self.results: dict[str, DomainResult] = {}
        self.active = 0
        self.pool = None
        self.tcp_done: deque = deque()
        self.wake_r = self.wake_w = None
        self.progress = None
        self.newly_dead: list[_Server] = []
        # lookups in flight adapt like TCP's window (additive increase, multiplicative
        # decrease): resolvers that rate-limit (public ones, sandboxes) drop what exceeds
        # their rate, and answering "unknown" for those would waste the run
        # (slow start: from 32, +1 per answer until the first loss)
        self.window = float(min(self.concurrency, 32))
        self.ssthresh = float(self.concurrency)
        self.last_cut = -1e9
        nsock = max(1, min(8, self.concurrency // 25))
        for srv in self.servers:
            for _ in range(nsock):
                s = None
                try:
                    s = socket.socket(srv.family, socket.SOCK_DGRAM)
                    s.setblocking(False)
                    try:
                        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
                    except OSError:
                        pass
                    s.connect((srv.host, srv.port))
                except OSError as exc:  # no route, no IPv6: this server cannot be asked
                    if s is not None:
                        s.close()
                    srv.alive = False
                    srv.why = f"{srv.host} port {srv.port}: " + (
                        os.strerror(exc.errno) if exc.errno else str(exc)
                    )
                    break
                srv.socks.append(s)
                self.sel.register(s, selectors.EVENT_READ, srv)

    # ------------------------------------------------------------------ bookkeeping
    def close(self):
        for srv in self.servers:
            for s in srv.socks:
                self.sel.unregister(s)
                s.close()
        if self.wake_r is not None:
            self.sel.unregister(self.wake_r)
            self.wake_r.close()
            self.wake_w.close()
        self.sel.close()
        if self.pool is not None:
            self.pool.shutdown(wait=False, cancel_futures=True)

    def _timer(self, when, lk):
        self.seq += 1
        heapq.heappush(self.timers, (when, self.seq, lk, lk.gen))

    def _forget(self, lk):
        for k in lk.keys:
            self.inflight.pop(k, None)
        lk.keys = []

    def finish(self, lk, status, reason, detail, mx=()):
        if lk.done:
            return
        self._forget(lk)
        lk.done = True
        self.active -= 1
        self.results[lk.key] = DomainResult(status, reason, detail, mx)
        if self.progress is not None:
            self.progress(lk.key)

    # ------------------------------------------------------------------ sending
    def start(self, lk, qtype, now):
        self._forget(lk)
        lk.qtype = qtype
        lk.question = lk.qname + struct.pack(">HH", qtype, IN)
        lk.tried = set()
        lk.attempt = 0
        lk.deadline = now + self.lookup_timeout
        lk.qid = self.rng.getrandbits(16)
        self.send(lk, now)

    def _pick(self, lk):
        alive = [i for i, s in enumerate(self.servers) if s.alive]
        if not alive:
            return None
        fresh = [i for i in alive if i not in lk.tried]
        pool = fresh or alive
        return pool[lk.attempt % len(pool)] if fresh else self.rng.choice(pool)

    def send(self, lk, now):
        while True:
            i = self._pick(lk)
            if i is None:
                self.no_server(lk)
                return
            srv = self.servers[i]
            sock = self.rng.choice(srv.socks)
            key = (sock.fileno(), lk.qid)
            if key in self.inflight and self.inflight[key] is not lk:
                lk.qid = self.rng.getrandbits(16)  # id clash on this socket: draw another
                continue
            try:
                sock.send(build_query(lk.qid, lk.question))
            except BlockingIOError:
                pass  # send buffer full: the retransmission timer will try again
            except OSError as exc:
                self.kill(srv, exc)
                continue
            lk.tried.add(i)
            self.inflight[key] = lk
            lk.keys.append(key)
            lk.attempt += 1
            lk.gen += 1
            self._timer(min(now + self.attempt_timeout, lk.deadline), lk)
            return

    def no_server(self, lk):
        why = "; ".join(sorted({s.why for s in self.servers if s.why})) or "none answered"
        self.finish(
            lk,
            "unknown",
            "dns_no_nameserver",
            f"No DNS server could be reached to check {_text(lk.name)} ({why}); "
            "check the network or the nameserver setting.",
        )

    def kill(self, srv, exc):
        if srv.alive:
            srv.alive = False
            self.newly_dead.append(srv)  # its waiting queries move on from the main loop
            code = getattr(exc, "errno", None)
            srv.why = f"{srv.host} port {srv.port}: " + (os.strerror(code) if code else str(exc))

    # ------------------------------------------------------------------ receiving
    def receive(self, sock, srv, now):
        for _ in range(256):
            try:
                data = sock.recv(65535)
            except BlockingIOError:
                return
            except OSError as exc:
                # ICMP port/host unreachable reported on the connected socket
                if exc.errno in (
                    errno.ECONNREFUSED,
                    errno.ECONNRESET,
                    errno.EHOSTUNREACH,
                    errno.ENETUNREACH,
                ):
                    self.kill(srv, exc)
                    return
                continue
            if len(data) < 12:
                continue
            lk = self.inflight.get((sock.fileno(), _U16.unpack_from(data, 0)[0]))
            if lk is None:
                continue  # late duplicate or not ours
            # QR=1, opcode QUERY, and the question echoed (names compared case-insensitively;
            # length octets are < 64 and our types/class are not ASCII letters, so a
            # bytewise lower() is safe)
            if not data[2] & 0x80 or data[2] & 0x78:
                continue
            q = lk.question
            if data[4:6] != b"\x00\x01" or data[12 : 12 + len(q)].lower() != q:
                continue
            srv.answered += 1
            if self.window < self.concurrency:
                step = 1.0 if self.window < self.ssthresh else 1.0 / self.window
                self.window = min(self.concurrency, self.window + step)
            try:
                _, flags, rcode, _, answers = parse_response(data)
            except ParseError as exc:
                self.finish(
                    lk,
                    "unknown",
                    "dns_error",
                    f"The DNS answer for {_text(lk.name)} was malformed ({exc}); try again later.",
                )
                continue
            if flags & 0x0200:
                self.to_tcp(lk, srv)
                continue
            self.answer(lk, rcode, answers, now)

    def failover(self, now):
        """Queries waiting on a server found dead go to the next one (or end) right away,
        not when their retransmission timer fires."""
        while self.newly_dead:
            self.resend_dead(self.newly_dead.pop(), now)

    def resend_dead(self, srv, now):
        socks = {s.fileno() for s in srv.socks}
        waiting = {id(lk): lk for key, lk in self.inflight.items() if key[0] in socks}
        for lk in waiting.values():
            if not lk.done and not lk.tcp:
                self.send(lk, now)

    # ------------------------------------------------------------------ TCP fallback
    def to_tcp(self, lk, srv):
        """The answer did not fit in UDP (TC bit): ask again over TCP (RFC 7766)."""
        import concurrent.futures

        import dns.message
        import dns.query

        self._forget(lk)
        lk.tcp = True
        lk.gen += 1
        if self.pool is None:
            self.pool = concurrent.futures.ThreadPoolExecutor(4, thread_name_prefix="listcare-dns")
            self.wake_r, self.wake_w = socket.socketpair()
            self.wake_r.setblocking(False)
            self.sel.register(self.wake_r, selectors.EVENT_READ, None)
        msg = dns.message.make_query(_text(lk.name), lk.qtype, use_edns=0)
        wait = max(0.01, lk.deadline - time.monotonic())
        fut = self.pool.submit(dns.query.tcp, msg, srv.host, timeout=wait, port=srv.port)
        qtype = lk.qtype

        def done(f, lk=lk, qtype=qtype):
            self.tcp_done.append((lk, qtype, f))
            try:
                self.wake_w.send(b"x")
            except OSError:
                pass

        fut.add_done_callback(done)

    def tcp_results(self, now):
        try:
            while self.wake_r.recv(4096):
                pass
        except BlockingIOError:
            pass
        while self.tcp_done:
            lk, qtype, f = self.tcp_done.popleft()
            if lk.done or not lk.tcp or lk.qtype != qtype:
                continue
            lk.tcp = False
            try:
                wire = f.result().to_wire()
                _, _, rcode, question, answers = parse_response(wire)
            except Exception as exc:  # noqa: BLE001 - timeout, refused, malformed: unknown
                import dns.exception

                timeout = isinstance(exc, dns.exception.Timeout | TimeoutError)
                self.finish(
                    lk,
                    "unknown",
                    "dns_timeout" if timeout else "dns_error",
                    f"The DNS lookup of {_text(lk.name)} over TCP failed ({type(exc).__name__}); "
                    "try again later.",
                )
                continue
            if question.lower() != lk.question:
                self.finish(
                    lk,
                    "unknown",
                    "dns_error",
                    f"The DNS answer for {_text(lk.name)} did not match the question.",
                )
                continue
            self.answer(lk, rcode, answers, now)

    # ------------------------------------------------------------------ verdicts
    def answer(self, lk, rcode, answers, now):
        name = _text(lk.name)
        if rcode in (SERVFAIL, REFUSED) and any(
            s.alive and i not in lk.tried for i, s in enumerate(self.servers)
        ):
            self._forget(lk)
            self.send(lk, now)
            return
        if lk.qtype == SOA:
            self.tld_answer(lk, rcode, answers)
            return
        if rcode == NXDOMAIN:
            self.finish(
                lk,
                "invalid",
                "domain_not_found",
                f"The domain {name} does not exist (the DNS says NXDOMAIN).",
            )
            return
        if rcode in (SERVFAIL, REFUSED):
            word = "SERVFAIL" if rcode == SERVFAIL else "REFUSED"
            self.finish(
                lk,
                "unknown",
                "dns_servfail",
                f"The DNS server could not answer for {name} ({word}); try again later.",
            )
            return
        if rcode != NOERROR:
            self.finish(
                lk,
                "unknown",
                "dns_error",
                f"The DNS server answered the {_NAMES[lk.qtype]} query for {name} with "
                f"RCODE {rcode}; try again later.",
            )
            return
        records = chase(answers, lk.name, lk.qtype)
        qtype = lk.qtype
        if qtype == MX:
            if not records:
                self.start(lk, A, now)  # NODATA: implicit MX (RFC 5321 section 5.1)
                return
            real = sorted((p, x) for p, x in records if x)
            if not real:
                self.finish(
                    lk,
                    "invalid",
                    "null_mx",
                    f"The domain {name} says it accepts no mail (null MX, RFC 7505).",
                )
                return
            hosts = dict.fromkeys(x.decode("ascii", "backslashreplace") for _, x in real)
            self.finish(lk, "valid", "", f"The domain {name} has mail servers (MX).", tuple(hosts))
        elif qtype in (A, AAAA):
            if any(_is_global(a) for a in records):
                lk.mx = (qtype,)
                self.start(lk, TXT, now)
                return
            if qtype == A:
                self.start(lk, AAAA, now)
                return
            self.finish(
                lk,
                "invalid",
                "no_mail_host",
                f"The domain {name} has no mail server: no MX record and no public "
                "address (RFC 5321 section 5.1).",
            )
        elif qtype == TXT:
            self.spf(lk, records)

    def tld_answer(self, lk, rcode, answers):
        """The verdict on a top-level domain (see :func:`_verify_negatives`): ``valid`` when
        the resolver returns its SOA record, ``invalid`` on NXDOMAIN, otherwise
        ``unknown`` (the detail then says in a few words what came back)."""
        if rcode == NXDOMAIN:
            self.finish(lk, "invalid", "domain_not_found", "NXDOMAIN")
        elif rcode in (SERVFAIL, REFUSED):
            self.finish(
                lk, "unknown", "dns_servfail", "SERVFAIL" if rcode == SERVFAIL else "REFUSED"
            )
        elif rcode != NOERROR:
            self.finish(lk, "unknown", "dns_error", f"RCODE {rcode}")
        elif chase(answers, lk.name, SOA):
            self.finish(lk, "valid", "", "SOA")
        else:
            self.finish(lk, "unknown", "dns_error", "no SOA record")

    def spf(self, lk, records):
        name = _text(lk.name)
        if b"v=spf1 -all" in records:
            self.finish(
                lk,
                "invalid",
                "no_mail_host",
                f"The domain {name} has no MX record and its SPF policy "
                "('v=spf1 -all') says it sends no mail.",
            )
            return
        kind = _NAMES[lk.mx[0]] if lk.mx else "A"
        self.finish(
            lk,
            "valid",
            "",
            f"The domain {name} has no MX record; mail goes to its {kind} address "
            "(RFC 5321 section 5.1).",
        )

    def expire(self, lk, now):
        srv_idx = list(lk.tried)
        for i in srv_idx:
            srv = self.servers[i]
            srv.timeouts += 1
            # a server that has never answered anything while queries keep timing out is
            # unreachable (black-holed network): stop waiting on it for the rest
            if srv.answered == 0 and srv.timeouts >= 3 and srv.alive:
                srv.alive = False
                self.newly_dead.append(srv)
                srv.why = f"{srv.host} port {srv.port}: no answer to any query"
        if lk.qtype == TXT:
            # the address fallback already succeeded; the SPF check is only a refinement
            self.spf(lk, [])
            return
        self.finish(
            lk,
            "unknown",
            "dns_timeout",
            f"The DNS gave no answer for {_text(lk.name)} within "
            f"{self.lookup_timeout:g} s; try again later.",
        )

    # ------------------------------------------------------------------ the loop
    def run(self, lookups: list[_Lookup], first: int = MX):
        start = time.monotonic()
        stop = start + self.budget
        todo = deque(lookups)
        while todo or self.active:
            now = time.monotonic()
            if now >= stop:
                break
            while todo and self.active < self.window:
                lk = todo.popleft()
                self.active += 1
                if not any(s.alive for s in self.servers):
                    self.no_server(lk)
                    continue
                self.start(lk, first, now)
            self.failover(now)
            if not self.active:
                continue
            wait = stop - now
            if self.timers:
                wait = min(wait, self.timers[0][0] - now)
            for key, _ in self.sel.select(max(0.0, wait)):
                if key.data is None:
                    self.tcp_results(time.monotonic())
                else:
                    self.receive(key.fileobj, key.data, time.monotonic())
            now = time.monotonic()
            self.failover(now)
            while self.timers and self.timers[0][0] <= now:
                _, _, lk, gen = heapq.heappop(self.timers)
                if lk.done or lk.tcp or lk.gen != gen:
                    continue  # stale: answered, moved on, or already retransmitted
                if now - self.last_cut > self.attempt_timeout:
                    self.window = self.ssthresh = max(4.0, self.window / 2)  # once a round
                    self.last_cut = now
                if now >= lk.deadline:
                    self.expire(lk, now)
                else:
                    self.send(lk, now)  # retransmit, to the next server if there is one
        now = time.monotonic()
        left = [lk for lk in lookups if not lk.done]
        for lk in left:
            self.finish(
                lk,
                "unknown",
                "dns_budget",
                f"The DNS check of {_text(lk.name)} did not finish within the overall "
                f"budget of {self.budget:g} s; try again later or raise the budget.",
            )


# ------------------------------------------------------------------ is the resolver honest?
@functools.cache
def real_tlds() -> frozenset[str]:
    """The top-level domains of the DNS root zone (IANA's list, ``listcare/data/tlds.txt``;
    lowercase, IDNA ``xn--`` form)."""
    from importlib import resources

    text = resources.files("listcare").joinpath("data", "tlds.txt").read_text(encoding="utf-8")
    return frozenset(
        line.strip().lower()
        for line in text.splitlines()
        if line.strip() and not line.startswith("#")
    )


_CANNOT_CONFIRM = {
    "dns_timeout": "it gave no answer in time",
    "dns_servfail": "it answered SERVFAIL or REFUSED",
    "dns_budget": "the time budget ran out first",
    "dns_no_nameserver": "no nameserver could be reached",
    "dns_error": "it gave no SOA record or an unexpected answer",
}


def _verify_negatives(stub: _Stub, budget_left: float) -> None:
    """Check the resolver before believing that domains do not exist or have no mail host.

    A resolver that lies (a captive portal, an ISP's or a sandbox's resolver that answers
    NXDOMAIN or an empty answer for every name it does not like) would make whole lists
    ``invalid``, and the nightly clean job suppresses ``invalid`` addresses. So for every
    distinct top-level domain among the ``domain_not_found`` and ``no_mail_host``
    verdicts, the same nameservers are asked once for the TLD's SOA record. An honest
    resolver returns it (every delegated TLD has one, RFC 1035 section 5.2: a zone starts
    with its SOA). Then:

    * SOA returned: the negative answers under that TLD stand;
    * NXDOMAIN for a TLD on IANA's root zone list (:func:`real_tlds`): the resolver denies
      a name that certainly exists, so none of its NXDOMAINs under that TLD is believed
      (``unknown``/``dns_error``); a TLD not on the list (a typo such as ``.con``) does
      not exist, so NXDOMAIN under it stands and it is not even asked;
    * no usable answer (timeout, SERVFAIL, no SOA record): the negative answers under it
      cannot be confirmed and become ``unknown`` with that lookup's reason.

    ``null_mx`` is not checked: it needs a specific record (``MX 0 .``) that no failure
    mode produces. Costs one query per distinct TLD (a few dozen for a real list). The
    check gets what is left of the budget but at least one lookup timeout, so a call can
    take up to one timeout longer than *budget*.
    """
    tlds = real_tlds()
    suspects: dict[bytes, list] = {}
    for q, r in stub.results.items():
        if r.reason not in ("domain_not_found", "no_mail_host"):
            continue
        tld = qname_text(q).rsplit(b".", 1)[-1]
        if r.reason == "domain_not_found" and tld.decode("ascii", "replace") not in tlds:
            continue
        suspects.setdefault(tld, []).append(q)
    if not suspects:
        return
    checks = {}
    for tld in suspects:
        wire = bytes([len(tld)]) + tld + b"\x00"
        checks[tld] = _Lookup(("tld", tld), wire)
    stub.budget = max(budget_left, min(stub.lookup_timeout, stub.budget))
    stub.run(list(checks.values()), first=SOA)
    for tld, qs in suspects.items():
        check = stub.results[("tld", tld)]
        if check.status == "valid":
            continue
        shown = "." + _text(tld)
        real = tld.decode("ascii", "replace") in tlds
        for q in qs:
            r = stub.results[q]
            name = _text(qname_text(q))
            claim = (
                f"The DNS server says the domain {name} does not exist (NXDOMAIN)"
                if r.reason == "domain_not_found"
                else f"The DNS server says the domain {name} has no mail server"
            )
            if check.status == "invalid":
                reason = "dns_error"
                why = (
                    f"though {shown} is in the DNS root zone (IANA's list)"
                    if real
                    else "though it just answered for a name under it"
                )
                detail = (
                    f"{claim}, but it also denies that the top-level domain {shown} itself "
                    f"exists, {why}: this resolver's answers cannot be trusted (a captive "
                    "portal, a filtering or broken resolver?). Check again with another "
                    "nameserver (--nameserver HOST / nameserver=)."
                )
            else:
                reason = check.reason
                detail = (
                    f"{claim}, but when asked for the top-level domain {shown} to confirm "
                    f"that it answers truthfully, {_CANNOT_CONFIRM.get(reason, reason)}; "
                    "try again later or with another nameserver (--nameserver HOST / nameserver=)."
                )
            stub.results[q] = DomainResult("unknown", reason, detail)


def check_domains(
    domains: Iterable[str],
    *,
    nameserver: str | None = None,
    resolver=None,
    timeout: float = 2.0,
    budget: float = 30.0,
    concurrency: int = DEFAULT_CONCURRENCY,
    progress: Callable[[int], object] | None = None,
) -> dict[str, DomainResult]:
    """Check whether each mail domain can receive mail; every domain is asked once.

    *domains* are ASCII (IDNA ``xn--`` form for internationalised names); case and a final
    dot do not matter. The result maps every distinct input string to a
    :class:`DomainResult`.

    *nameserver* ``"HOST[:PORT]"`` asks that one server; *resolver* takes a configured
    ``dns.resolver.Resolver`` and uses its nameservers, ports, ``timeout`` (per attempt)
    and ``lifetime`` (per lookup); by default the system's nameservers are read with a
    private ``dns.resolver.Resolver(configure=True)`` (no global state changes).
    *timeout* is the time one lookup may take (retransmitted once, to the next server if
    there is one); *budget* the time the whole call may take: what is not done by then is
    ``unknown``/``dns_budget`` (the resolver check of negative answers may add up to one
    *timeout*). *concurrency* bounds the lookups in flight. *progress*,
    if given, is called with the number of input domains finished since its last call
    (e.g. a tqdm bar's ``update``).
    """
    if budget is None or budget <= 0:
        raise ConfigError(f"The DNS budget must be a positive number of seconds, not {budget!r}.")
    if not concurrency or int(concurrency) < 1:
        raise ConfigError(f"DNS concurrency must be at least 1, not {concurrency!r}.")
    servers, attempt_timeout, lookup_timeout, problem = _configure(nameserver, resolver, timeout)

    results: dict[str, DomainResult] = {}
    by_name: dict[bytes, list[str]] = {}
    seen: set = set()
    for d in domains:
        if d in seen:
            continue
        seen.add(d)
        q = encode_name(d) if isinstance(d, str) else None
        if q is None:
            results[d] = DomainResult(
                "invalid", "syntax", f"{d!r} is not a domain name that can be looked up."
            )
            continue
        by_name.setdefault(q, []).append(d)
    if progress is not None and results:
        progress(len(results))
    if not by_name:
        return results
    if not servers:
        for q, keys in by_name.items():
            r = DomainResult(
                "unknown",
                "dns_no_nameserver",
                f"The domain {_text(qname_text(q))} was not checked: {problem}.",
            )
            for k in keys:
                results[k] = r
        if progress is not None:
            progress(sum(map(len, by_name.values())))
        return results

    started = time.monotonic()
    stub = _Stub(servers, attempt_timeout, lookup_timeout, budget, concurrency)
    if progress is not None:
        stub.progress = lambda q: progress(len(by_name[q]))
    try:
        lookups = [_Lookup(q, q) for q in by_name]
        stub.run(lookups)
        stub.progress = None
        _verify_negatives(stub, budget - (time.monotonic() - started))
    finally:
        stub.close()
    for q, keys in by_name.items():
        r = stub.results[q]
        for k in keys:
            results[k] = r
    return results
