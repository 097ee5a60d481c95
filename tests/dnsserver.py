"""A real DNS server on 127.0.0.1 for the tests and the benchmarks (asyncio UDP + TCP, dnslib).

Start it with the session fixture ``dns_server`` (tests/conftest.py) or by hand::

    with DNSServer(ZONE) as srv:          # ephemeral port on 127.0.0.1
        listcare.validate(emails, nameserver=srv.address)   # '127.0.0.1:PORT'

or as a process (the benchmark does this)::

    python tests/dnsserver.py --zone zone.json --delay 0.02   # prints "READY 127.0.0.1:PORT"

Names of the test zone :data:`ZONE` (realistic names that pass email-validator's syntax
check, e.g. ``someone@listcare-mx.de``; they are served only by this server). Use the
constants in :data:`NAMES` rather than the strings:

=====================  ===============================  =========================================
NAMES key              domain                           answer
=====================  ===============================  =========================================
``mx``                 listcare-mx.de                   MX 10 mx1.listcare-mx.de, 20 mx2...
``a_only``             listcare-a-only.de               no MX, A 185.0.0.1 (public)
``aaaa_only``          listcare-aaaa-only.de            no MX, no A, AAAA 2a00:1450:4001::1
``private_a``          listcare-private-a.de            no MX, only A 10.0.0.1 -> no mail host
``no_mail_host``       listcare-nomail.de               exists (TXT only), no MX/A/AAAA
``spf_reject``         listcare-spf-reject.de           no MX, A, TXT "v=spf1 -all" -> no mail
``null_mx``            listcare-nullmx.de               MX 0 . (RFC 7505)
``mixed_null``         listcare-mixed-null.de           MX 0 . and MX 10 mx1.listcare-mx.de
``nxdomain``           listcare-nxdomain.de             NXDOMAIN (so is every unlisted name)
``servfail``           listcare-servfail.de             SERVFAIL
``refused``            listcare-refused.de              REFUSED
``notimp``             listcare-notimp.de               NOTIMP (another RCODE: dns_error)
``timeout``            listcare-timeout.de              never answers
``slow``               listcare-slow.de                 MX, answered after 0.3 s
``cname``              listcare-cname.de                CNAME listcare-mx.de (MX via the chain)
``cname_a``            listcare-cname-a.de              CNAME listcare-a-only.de
``idn``                xn--listcare-mller-psb.de        (listcare-müller.de) MX
``big``                listcare-big.de                  60 MX: too big for UDP, TC -> TCP
``spoof``              listcare-spoof.de                answers with a wrong question only
``garbage``            listcare-garbage.de              right id and question, malformed rest
=====================  ===============================  =========================================

Like the root zone, the server also answers the SOA query for every top-level domain on
IANA's list (``listcare/data/tlds.txt``: ``de.``, ``com.``, ``xn--p1ai.``, ...; not
``con.``), as an honest recursive resolver does: listcare asks it before believing an
NXDOMAIN or "no mail host" (``root=False`` turns this off; a zone entry for a TLD wins,
e.g. ``{"de": {"rcode": "SERVFAIL"}}``). ``lie="nxdomain"`` makes the server a lying
resolver that answers NXDOMAIN for every name, TLDs included (as captive portals and this
project's sandbox resolver do); ``lie="nodata"`` answers every name with no records.

Zone format (plain data, also JSON): ``{name: spec}`` with names lowercase, ASCII/IDNA,
without the final dot; a spec maps record types to values (``"MX": [[pref, exchange],
...]``, ``"A"``/``"AAAA"``/``"TXT"``: lists of strings, ``"CNAME"``: a name, ``"SOA"``:
``[[mname, rname, serial]]``) or sets a
behaviour: ``"rcode": "SERVFAIL" | "REFUSED" | "NOTIMP" | "NXDOMAIN"``, ``"drop": true``
(never answer), ``"delay": seconds``, ``"spoof": true``, ``"garbage": true``. A name not in
the zone is NXDOMAIN, unless ``generate(name)`` (a callable, "wildcard" mode for generated
zones) returns a spec for it.

Every answer is delayed by ``delay`` seconds (default 0) without blocking other queries
(``loop.call_later``), so thousands can be in flight. Built answers are cached by the
query bytes after the id, so a repeated question costs a dict lookup.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import socket
import struct
import sys
import threading
from collections.abc import Callable, Mapping

from dnslib import AAAA, CNAME, MX, QTYPE, RCODE, RR, SOA, TXT, A, DNSRecord

IDN_UNICODE = "listcare-müller.de"

NAMES = {
    "mx": "listcare-mx.de",
    "a_only": "listcare-a-only.de",
    "aaaa_only": "listcare-aaaa-only.de",
    "private_a": "listcare-private-a.de",
    "no_mail_host": "listcare-nomail.de",
    "spf_reject": "listcare-spf-reject.de",
    "null_mx": "listcare-nullmx.de",
    "mixed_null": "listcare-mixed-null.de",
    "nxdomain": "listcare-nxdomain.de",
    "servfail": "listcare-servfail.de",
    "refused": "listcare-refused.de",
    "notimp": "listcare-notimp.de",
    "timeout": "listcare-timeout.de",
    "slow": "listcare-slow.de",
    "cname": "listcare-cname.de",
    "cname_a": "listcare-cname-a.de",
    "idn": IDN_UNICODE.encode("idna").decode("ascii"),
    "big": "listcare-big.de",
    "spoof": "listcare-spoof.de",
    "garbage": "listcare-garbage.de",
}

_MX = [[10, "mx1.listcare-mx.de"], [20, "mx2.listcare-mx.de"]]

ZONE: dict[str, dict] = {
    NAMES["mx"]: {"MX": _MX, "TXT": ["v=spf1 mx -all"]},
    "mx1.listcare-mx.de": {"A": ["185.0.0.25"]},
    "mx2.listcare-mx.de": {"A": ["185.0.0.26"]},
    NAMES["a_only"]: {"A": ["185.0.0.1"]},
    NAMES["aaaa_only"]: {"AAAA": ["2a00:1450:4001::1"]},
    NAMES["private_a"]: {"A": ["10.0.0.1"]},
    NAMES["no_mail_host"]: {"TXT": ["just a name"]},
    NAMES["spf_reject"]: {"A": ["185.0.0.2"], "TXT": ["v=spf1 -all"]},
    NAMES["null_mx"]: {"MX": [[0, "."]]},
    NAMES["mixed_null"]: {"MX": [[0, "."], [10, "mx1.listcare-mx.de"]]},
    NAMES["servfail"]: {"rcode": "SERVFAIL"},
    NAMES["refused"]: {"rcode": "REFUSED"},
    NAMES["notimp"]: {"rcode": "NOTIMP"},
    NAMES["timeout"]: {"drop": True},
    NAMES["slow"]: {"MX": _MX, "delay": 0.3},
    NAMES["cname"]: {"CNAME": NAMES["mx"]},
    NAMES["cname_a"]: {"CNAME": NAMES["a_only"]},
    NAMES["idn"]: {"MX": [[10, "mx." + NAMES["idn"]]]},
    NAMES["big"]: {
        "MX": [[i, f"mx{i:02d}-{'q' * 40}-{i:02d}.listcare-bigmx.net"] for i in range(60)]
    },
    NAMES["spoof"]: {"MX": _MX, "spoof": True},
    NAMES["garbage"]: {"MX": _MX, "garbage": True},
}

_TYPES = {"MX": QTYPE.MX, "A": QTYPE.A, "AAAA": QTYPE.AAAA, "TXT": QTYPE.TXT, "CNAME": QTYPE.CNAME,
          "SOA": QTYPE.SOA}

#: the ways a resolver can lie (``DNSServer(lie=...)``, ``--lie``): "nxdomain" answers
#: NXDOMAIN for every name, top-level domains included (captive portals, some ISPs, the
#: sandbox resolver this project was written on); "nodata" answers NOERROR with no
#: records for every name (a sinkhole or a broken forwarder)
LIES = ("nxdomain", "nodata")


def root_tlds() -> frozenset[str]:
    """The TLDs an honest resolver knows: listcare's copy of IANA's root zone list."""
    from listcare.address.dns import real_tlds

    return real_tlds()


def _tld_spec(tld: str) -> dict:
    # what a recursive resolver returns for a delegated TLD (serial: any number)
    return {"SOA": [[f"a.nic.{tld}", f"hostmaster.nic.{tld}", 2026112701]]}


def _rdata(rtype: str, value):
    if rtype == "MX":
        return MX(value[1] if value[1] != "." else ".", int(value[0]))
    if rtype == "A":
        return A(value)
    if rtype == "AAAA":
        return AAAA(value)
    if rtype == "TXT":
        return TXT(value.encode())
    if rtype == "CNAME":
        return CNAME(value)
    if rtype == "SOA":
        return SOA(value[0], value[1], (int(value[2]), 7200, 3600, 3600000, 86400))
    raise ValueError(f"unsupported record type {rtype}")


class DNSServer:
    """An authoritative-looking recursive answerer for a zone given as data."""

    def __init__(
        self,
        zone: Mapping[str, Mapping] | None = None,
        *,
        delay: float = 0.0,
        host: str = "127.0.0.1",
        port: int = 0,
        generate: Callable[[str], Mapping | None] | None = None,
        root: bool = True,
        lie: str | None = None,
    ):
        if lie is not None and lie not in LIES:
            raise ValueError(f"lie must be one of {LIES}, not {lie!r}")
        self.zone = {k.lower().rstrip("."): v for k, v in (zone if zone is not None else ZONE).items()}
        #: single-label names answered with an SOA record (unless the zone says otherwise)
        self.tlds = root_tlds() if root else frozenset()
        self.lie = lie
        self.delay = float(delay)
        self.host = host
        self.port = port
        self.generate = generate
        self.queries = 0
        self.tcp_queries = 0
        #: delayed UDP answers not yet sent, and the most there ever were (what a client
        #: had in flight)
        self.pending = 0
        self.max_pending = 0
        self.names = dict(NAMES)
        self._cache: dict[bytes, tuple[bytes | None, float]] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    # ------------------------------------------------------------------ answers
    def spec(self, name: str) -> Mapping | None:
        if self.lie == "nxdomain":
            return None
        if self.lie == "nodata":
            return {}
        spec = self.zone.get(name)
        if spec is None and self.generate is not None:
            spec = self.generate(name)
        if spec is None and name in self.tlds:
            spec = _tld_spec(name)
        return spec

    def build(self, data: bytes, limit: int | None) -> tuple[bytes | None, float]:
        """(response bytes or None to drop, extra delay) for a query."""
        request = DNSRecord.parse(data)
        reply = request.reply()
        reply.header.aa = 0
        q = request.q
        name = str(q.qname).rstrip(".").lower()
        spec = self.spec(name)
        delay = 0.0
        if spec is None:
            reply.header.rcode = RCODE.NXDOMAIN
        else:
            delay = float(spec.get("delay", 0.0))
            if spec.get("drop"):
                return None, 0.0
            if "rcode" in spec:
                reply.header.rcode = getattr(RCODE, spec["rcode"])
            else:
                cur, seen = name, set()
                while spec is not None and cur not in seen:
                    seen.add(cur)
                    if "CNAME" in spec and q.qtype != QTYPE.CNAME:
                        reply.add_answer(RR(cur, QTYPE.CNAME, rdata=_rdata("CNAME", spec["CNAME"]), ttl=300))
                        cur = spec["CNAME"].lower().rstrip(".")
                        spec = self.spec(cur)
                        if spec is None:
                            reply.header.rcode = RCODE.NXDOMAIN  # RFC 6604: rcode of the last name
                        continue
                    for rtype, values in spec.items():
                        if _TYPES.get(rtype) == q.qtype:
                            for v in [values] if rtype == "CNAME" else values:
                                reply.add_answer(RR(cur, q.qtype, rdata=_rdata(rtype, v), ttl=300))
                    break
            if spec is not None and spec.get("spoof"):
                reply.q.qname = "not-" + name  # the question does not match: must be ignored
            if spec is not None and spec.get("garbage"):
                wire = bytes(reply.pack())
                return wire[:12 + len(_question_bytes(data))] + b"\xc0\xff\x00", delay
        wire = bytes(reply.pack())
        if limit is not None and len(wire) > limit:
            reply.rr = []
            reply.header.tc = 1
            wire = bytes(reply.pack())
        return wire, delay

    def fast_build(self, data: bytes, limit: int | None) -> tuple[bytes, float] | None:
        """The common answers (MX, A, AAAA, NXDOMAIN, an RCODE) written directly, so that a
        benchmark's 50,000 first questions do not wait on dnslib (~0.2 ms each); None for
        anything else (then :meth:`build` does it). Same bytes as dnslib would produce up
        to name compression (tests/test_dns.py checks both parse the same)."""
        if len(data) < 17 or data[2] & 0xF8 or data[4:6] != b"\x00\x01":
            return None  # not a plain QUERY with one question
        qsec = _question_bytes(data)
        qtype, qclass = struct.unpack(">HH", qsec[-4:])
        if qclass != 1:
            return None
        labels, i = [], 0
        while qsec[i]:
            labels.append(qsec[i + 1 : i + 1 + qsec[i]])
            i += 1 + qsec[i]
        try:
            name = b".".join(labels).decode("ascii").lower()
        except UnicodeDecodeError:
            return None
        spec = self.spec(name)
        rd = data[2] & 0x01
        rcode = 0
        rrs = []
        if spec is None:
            rcode = RCODE.NXDOMAIN
        elif "rcode" in spec and len(spec) == 1:
            rcode = getattr(RCODE, spec["rcode"])
        elif set(spec) <= {"MX", "A", "AAAA"}:
            for value in spec.get(QTYPE[qtype], ()) if qtype in (QTYPE.MX, QTYPE.A, QTYPE.AAAA) else ():
                if qtype == QTYPE.MX:
                    rdata = struct.pack(">H", int(value[0])) + _wire_name(value[1])
                elif qtype == QTYPE.A:
                    rdata = socket.inet_pton(socket.AF_INET, value)
                else:
                    rdata = socket.inet_pton(socket.AF_INET6, value)
                rrs.append(b"\xc0\x0c" + struct.pack(">HHIH", qtype, 1, 300, len(rdata)) + rdata)
        else:
            return None
        # QR=1, opcode 0, RD copied, RA=1 (like dnslib's reply())
        head = data[:2] + bytes([0x80 | rd, 0x80 | rcode]) + struct.pack(">HHHH", 1, len(rrs), 0, 0)
        wire = head + qsec + b"".join(rrs)
        if limit is not None and len(wire) > limit:
            return None
        return wire, 0.0

    def answer(self, data: bytes, limit: int | None) -> tuple[bytes | None, float]:
        self.queries += 1
        key = data[2:] + (b"" if limit is not None else b"/tcp")
        hit = self._cache.get(key)
        if hit is None:
            try:
                hit = self.fast_build(data, limit) or self.build(data, limit)
            except Exception:  # noqa: BLE001 - a malformed query gets FORMERR, like a server
                hit = (data[:2] + b"\x81\x01" + b"\x00" * 8, 0.0) if len(data) >= 12 else (None, 0)
            self._cache[key] = hit
        wire, delay = hit
        if wire is None:
            return None, 0.0
        return data[:2] + wire[2:], delay

    # ------------------------------------------------------------------ serving
    async def _serve(self):
        loop = asyncio.get_running_loop()
        server = self

        class UDP(asyncio.DatagramProtocol):
            def connection_made(self, transport):
                self.transport = transport
                self.buckets = {}

            def datagram_received(self, data, addr):
                wire, extra = server.answer(data, _udp_limit(data))
                if wire is None:
                    return
                wait = server.delay + extra
                if wait <= 0:
                    self.transport.sendto(wire, addr)
                    return
                # one timer per millisecond bucket rather than one per datagram: the
                # benchmark has thousands of answers due at about the same time
                due = round((loop.time() + wait) * 1000)
                bucket = self.buckets.get(due)
                if bucket is None:
                    bucket = self.buckets[due] = []
                    loop.call_at(due / 1000, self.flush, due)
                bucket.append((wire, addr))
                server.pending += 1
                server.max_pending = max(server.max_pending, server.pending)

            def flush(self, due):
                send = self.transport.sendto
                for wire, addr in self.buckets.pop(due, ()):
                    server.pending -= 1
                    send(wire, addr)

        async def tcp(reader, writer):
            try:
                while True:
                    head = await reader.readexactly(2)
                    data = await reader.readexactly(struct.unpack(">H", head)[0])
                    server.tcp_queries += 1
                    wire, extra = server.answer(data, None)
                    if wire is None:
                        continue
                    if server.delay + extra > 0:
                        await asyncio.sleep(server.delay + extra)
                    writer.write(struct.pack(">H", len(wire)) + wire)
                    await writer.drain()
            except (asyncio.IncompleteReadError, ConnectionError):
                pass
            finally:
                writer.close()

        for _ in range(20):
            sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 22)
            sock.bind((self.host, self.port))
            port = sock.getsockname()[1]
            try:
                tcp_server = await asyncio.start_server(tcp, self.host, port)
            except OSError:
                sock.close()
                if self.port:
                    raise
                continue
            break
        else:
            raise OSError("no free port for UDP and TCP")
        transport, _ = await loop.create_datagram_endpoint(UDP, sock=sock)
        self.port = port
        self._stop = asyncio.Event()
        self._ready.set()
        try:
            await self._stop.wait()
        finally:
            transport.close()
            tcp_server.close()
            await tcp_server.wait_closed()

    def _run(self):
        try:
            asyncio.run(self._main())
        except BaseException as exc:  # noqa: BLE001 - reported to start()
            self._error = exc
            self._ready.set()

    async def _main(self):
        self._loop = asyncio.get_running_loop()
        await self._serve()

    def start(self) -> DNSServer:
        self._thread = threading.Thread(target=self._run, name="listcare-test-dns", daemon=True)
        self._thread.start()
        self._ready.wait(10)
        if self._error is not None:
            raise self._error
        return self

    def stop(self) -> None:
        if self._loop is not None and self._thread is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
            self._thread.join(5)
            self._thread = None

    def __enter__(self) -> DNSServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def _wire_name(name: str) -> bytes:
    name = name.rstrip(".")
    if not name:
        return b"\x00"
    return b"".join(bytes([len(x)]) + x for x in name.encode("ascii").split(b".")) + b"\x00"


def _question_bytes(data: bytes) -> bytes:
    i = 12
    while data[i]:
        i += 1 + data[i]
    return data[12 : i + 5]


def _udp_limit(data: bytes) -> int:
    """The UDP payload the client accepts: EDNS(0) size from its OPT record, else 512."""
    try:
        if len(data) > 12 and data[10:12] != b"\x00\x00":
            i = 12 + len(_question_bytes(data))
            # assume the first additional record is the OPT (what stubs send)
            if data[i] == 0 and data[i + 1 : i + 3] == b"\x00\x29":
                return max(512, struct.unpack(">H", data[i + 3 : i + 5])[0])
    except IndexError:
        pass
    return 512


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description="Serve a zone (JSON file) on 127.0.0.1 until stdin closes.")
    p.add_argument("--zone", help="JSON file {name: spec}; default: the test zone")
    p.add_argument("--delay", type=float, default=0.0, help="answer delay in seconds")
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--lie", choices=LIES, help="answer every name falsely (a lying resolver)")
    a = p.parse_args(argv)
    zone = ZONE
    if a.zone:
        with open(a.zone, encoding="utf-8") as f:
            zone = json.load(f)
    srv = DNSServer(zone, delay=a.delay, port=a.port, lie=a.lie).start()
    print(f"READY {srv.address}", flush=True)
    try:
        sys.stdin.read()  # until the parent closes our stdin (or exits)
    except KeyboardInterrupt:
        pass
    srv.stop()
    print(f"queries {srv.queries}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
