"""Benchmark: read a realistic Postfix log with ``read_bounces``.

Generates a deterministic 2,000,000-line Postfix log (outbound mailer: pickup, cleanup,
qmgr, smtp TLS and delivery lines, ~5% of deliveries failing with real providers'
diagnostic texts, plus inbound smtpd rejects and other daemons' noise), then measures,
each stage in its own subprocess so that each peak RSS is its own:

- raw read: iterating over the file's lines (the floor),
- naive: a Python loop applying one regex to every line, rows into a DataFrame,
- ``read_bounces``: the real reader (chunked scan -- with the compiled scanner
  ``listcare/bounces/_postfix_scan.c`` where it was built --, classification per unique fact),
- ``no-pipeline``: ``read_bounces`` with the compiled scanner but without its worker thread
  (``Parser.pipeline = False``: each block scanned and read in turn, in one thread),
- ``pure-python``: ``read_bounces`` without the compiled scanner (``LISTCARE_PURE_PYTHON=1``:
  the column-wise Python reader every install has, which the scanner must equal),
- ``line-by-line``: ``read_bounces`` with the Postfix detector's reference path
  (``Parser.fast = False``: one regex match and one row at a time), which the column-wise
  fast path must equal exactly -- what the fast path buys, measured in the same run.

Usage: ``python3 benchmarks/bench_bounces.py [--lines N] [--keep DIR]``
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

MONTHS = "Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec".split()

# (relay host, ip, status word, dsn, diagnostic) -- texts as the providers send them
FAILURES = [
    ("gmail-smtp-in.l.google.com", "142.250.27.26", "bounced", "5.1.1",
     "host gmail-smtp-in.l.google.com[142.250.27.26] said: 550-5.1.1 The email account that "
     "you tried to reach does not exist. Please try 550-5.1.1 double-checking the recipient's "
     "email address for typos or 550-5.1.1 unnecessary spaces. For more information, go to "
     "550 5.1.1  https://support.google.com/mail/?p=NoSuchUser {tok}.{n} - gsmtp (in reply to "
     "RCPT TO command)"),
    ("gmail-smtp-in.l.google.com", "142.250.27.26", "deferred", "4.2.2",
     "host gmail-smtp-in.l.google.com[142.250.27.26] said: 452-4.2.2 The recipient's inbox is "
     "out of storage space. Please direct the 452-4.2.2 recipient to 452 4.2.2  "
     "https://support.google.com/mail/?p=OverQuotaTemp {tok}.{n} - gsmtp (in reply to RCPT TO "
     "command)"),
    ("gmail-smtp-in.l.google.com", "142.250.27.26", "bounced", "5.7.26",
     "host gmail-smtp-in.l.google.com[142.250.27.26] said: 550-5.7.26 This mail has been blocked "
     "because the sender is unauthenticated. 550-5.7.26 Gmail requires all senders to "
     "authenticate with either SPF or DKIM. 550 5.7.26  https://support.google.com/mail/answer/"
     "81126#authentication {tok}.{n} - gsmtp (in reply to end of DATA command)"),
    ("gmail-smtp-in.l.google.com", "142.250.27.26", "deferred", "4.7.28",
     "host gmail-smtp-in.l.google.com[142.250.27.26] said: 421-4.7.28 Gmail has detected an "
     "unusual rate of unsolicited mail originating from your IP address. 421 4.7.28 To protect "
     "our users from spam, mail sent from your IP address has been temporarily rate limited. "
     "{tok}.{n} - gsmtp (in reply to end of DATA command)"),
    ("outlook-com.olc.protection.outlook.com", "52.101.68.8", "bounced", "5.5.0",
     "host outlook-com.olc.protection.outlook.com[52.101.68.8] said: 550 5.5.0 Requested "
     "action not taken: mailbox unavailable (S2017062302). [{tok}.eurprd03.prod.outlook.com] "
     "(in reply to RCPT TO command)"),
    ("outlook-com.olc.protection.outlook.com", "52.101.68.8", "bounced", "5.7.1",
     "host outlook-com.olc.protection.outlook.com[52.101.68.8] said: 550 5.7.1 Unfortunately, "
     "messages from [203.0.113.7] weren't sent. Please contact your Internet service provider "
     "since part of their network is on our block list (S3150). You can also refer your "
     "provider to http://mail.live.com/mail/troubleshooting.aspx#errors. "
     "[{tok}.EURPRD83.prod.outlook.com] (in reply to MAIL FROM command)"),
    ("mta7.am0.yahoodns.net", "67.195.204.72", "bounced", "5.0.0",
     "host mta7.am0.yahoodns.net[67.195.204.72] said: 554 delivery error: dd Sorry your message "
     "to {rcpt} cannot be delivered. This mailbox is disabled (554.30). - mta{n}.mail.gq1.yahoo.com "
     "(in reply to end of DATA command)"),
    ("mta7.am0.yahoodns.net", "67.195.204.72", "deferred", "4.7.0",
     "host mta7.am0.yahoodns.net[67.195.204.72] said: 421 4.7.0 [TSS04] Messages from "
     "203.0.113.7 temporarily deferred due to unexpected volume or user complaints - "
     "4.16.55.1; see https://postmaster.yahooinc.com/error-codes (in reply to MAIL FROM command)"),
    ("mx00.emig.gmx.net", "212.227.15.9", "bounced", "5.0.0",
     "host mx00.emig.gmx.net[212.227.15.9] said: 550 Requested action not taken: mailbox "
     "unavailable (in reply to RCPT TO command)"),
    ("mx01.t-online.de", "194.25.134.8", "bounced", "5.0.0",
     "host mx01.t-online.de[194.25.134.8] said: 554 IP=203.0.113.7 - A problem occurred. (Ask "
     "your postmaster for help or to contact tosa@rx.t-online.de to clarify.) (in reply to MAIL "
     "FROM command)"),
    ("mx01.mail.icloud.com", "17.57.154.6", "bounced", "5.1.1",
     "host mx01.mail.icloud.com[17.57.154.6] said: 550 5.1.1 <{rcpt}>: user does not exist "
     "(in reply to RCPT TO command)"),
    ("mx.example-corp.com", "198.51.100.25", "bounced", "5.1.1",
     "host mx.example-corp.com[198.51.100.25] said: 550 5.1.1 <{rcpt}>: Recipient address "
     "rejected: User unknown in virtual mailbox table (in reply to RCPT TO command)"),
    ("mx.example-corp.com", "198.51.100.25", "bounced", "5.2.2",
     "host mx.example-corp.com[198.51.100.25] said: 552 5.2.2 <{rcpt}>: Recipient address "
     "rejected: Mailbox full (in reply to RCPT TO command)"),
    ("us-smtp-inbound-1.mimecast.com", "205.139.110.61", "bounced", "5.0.0",
     "host us-smtp-inbound-1.mimecast.com[205.139.110.61] said: 550 Invalid Recipient - "
     "https://community.mimecast.com/docs/DOC-1369#550 [{tok}.us{n}] (in reply to RCPT TO command)"),
    ("mx.example-corp.com", "198.51.100.25", "bounced", "5.7.1",
     "host mx.example-corp.com[198.51.100.25] said: 554 5.7.1 Service unavailable; Client host "
     "[203.0.113.7] blocked using zen.spamhaus.org; https://www.spamhaus.org/query/ip/203.0.113.7 "
     "(in reply to RCPT TO command)"),
    ("none", "", "bounced", "5.4.4",
     "Host or domain name not found. Name service error for name={domain} type=A: Host not found"),
    ("mx.dead-domain.example", "198.51.100.99", "deferred", "4.4.1",
     "connect to mx.dead-domain.example[198.51.100.99]:25: Connection timed out"),
]
FAILURE_DOMAINS = {
    "gmail-smtp-in.l.google.com": "gmail.com", "outlook-com.olc.protection.outlook.com": "outlook.com",
    "mta7.am0.yahoodns.net": "yahoo.com", "mx00.emig.gmx.net": "gmx.de", "mx01.t-online.de": "t-online.de",
    "mx01.mail.icloud.com": "icloud.com", "mx.example-corp.com": "example-corp.com",
    "us-smtp-inbound-1.mimecast.com": "mimecast-customer.example", "mx.dead-domain.example": "dead-domain.example",
}
DOMAINS = (["gmail.com"] * 30 + ["outlook.com", "hotmail.com"] * 8 + ["yahoo.com"] * 8
           + ["gmx.de", "web.de", "t-online.de", "icloud.com", "example-corp.com",
              "orange.fr", "comcast.net"] * 3)
OK_RELAYS = {
    "gmail.com": ("gmail-smtp-in.l.google.com", "142.250.27.26",
                  "250 2.0.0 OK  {epoch} {tok}.{n} - gsmtp"),
    "outlook.com": ("outlook-com.olc.protection.outlook.com", "52.101.68.8",
                    "250 2.6.0 <{mid}> [InternalId={n}, Hostname={tok}.eurprd03.prod.outlook.com] "
                    "{n} bytes in 0.210, 63.412 KB/sec Queued mail for delivery"),
    "yahoo.com": ("mta7.am0.yahoodns.net", "67.195.204.72", "250 ok dirdel"),
}
NOISE = [
    "postfix/smtpd[{pid}]: connect from unknown[198.51.100.{n3}]",
    "postfix/smtpd[{pid}]: disconnect from unknown[198.51.100.{n3}] ehlo=1 mail=1 rcpt=0/1 "
    "quit=1 commands=3/4",
    "postfix/smtpd[{pid}]: NOQUEUE: reject: RCPT from unknown[198.51.100.{n3}]: 554 5.7.1 "
    "<u{n}@mail.sender.example>: Relay access denied; from=<spam@spammer.example> "
    "to=<u{n}@victim.example> proto=ESMTP helo=<spammer.example>",
    "postfix/smtpd[{pid}]: NOQUEUE: reject: RCPT from unknown[198.51.100.{n3}]: 550 5.1.1 "
    "<nobody{n}@sender.example>: Recipient address rejected: User unknown in local recipient "
    "table; from=<x@y.example> to=<nobody{n}@sender.example> proto=ESMTP helo=<y.example>",
    "postfix/anvil[{pid}]: statistics: max connection rate 3/60s for (smtp:198.51.100.{n3}) at "
    "{month} {day:>2} 03:14:15",
    "dovecot: imap-login: Login: user=<staff@sender.example>, method=PLAIN, rip=192.0.2.{n3}, "
    "lip=192.0.2.1, mpid={pid}, TLS, session=<{tok}>",
    "CRON[{pid}]: (root) CMD (command -v debian-sa1 > /dev/null && debian-sa1 1 1)",
    "postfix/smtp[{pid}]: warning: TLS library problem: error:0A000126:SSL routines::unexpected "
    "eof while reading",
    "postfix/postscreen[{pid}]: CONNECT from [198.51.100.{n3}]:{pid} to [192.0.2.1]:25",
    "opendkim[{pid}]: {qid}: DKIM-Signature field added (s=mail, d=sender.example)",
]


def generate_postfix_log(path: Path, lines: int, *, seed: int = 2026, year: int = 2026) -> dict:
    """Write a deterministic Postfix log of exactly *lines* lines; return what it holds."""
    rnd = random.Random(seed)
    t = datetime(year, 11, 26, 0, 0, 0, tzinfo=UTC)
    written = deliveries = failures = 0
    letters = "0123456789ABCDEF"
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        buf: list[str] = []

        def emit(body: str) -> None:
            nonlocal written
            if written >= lines:
                return
            stamp = f"{MONTHS[t.month - 1]} {t.day:>2} {t:%H:%M:%S}"
            buf.append(f"{stamp} mail {body}\n")
            written += 1
            if len(buf) >= 10000:
                f.write("".join(buf))
                buf.clear()

        n = 0
        while written < lines:
            n += 1
            t += timedelta(milliseconds=rnd.randint(20, 160))
            if rnd.random() < 0.18:
                tmpl = rnd.choice(NOISE)
                emit(tmpl.format(pid=rnd.randint(1000, 65000), n=n, n3=n % 250 + 1,
                                 tok=f"{rnd.getrandbits(48):012x}", month=MONTHS[t.month - 1],
                                 day=t.day, qid="".join(rnd.choice(letters) for _ in range(10))))
                continue
            qid = "".join(rnd.choice(letters) for _ in range(10))
            failing = rnd.random() < 0.05
            if failing:  # the recipient's domain matches the provider that answers
                host, ip, word, dsn, text = rnd.choice(FAILURES)
                domain = FAILURE_DOMAINS.get(host) or f"nosuchdomain-{n}.example"
            else:
                domain = rnd.choice(DOMAINS)
            rcpt = f"user{rnd.randint(1, 400000)}@{domain}"
            mid = f"{n}.{rnd.getrandbits(32):08x}@mail.sender.example"
            emit(f"postfix/pickup[{1000 + n % 97}]: {qid}: uid=1000 from=<news@sender.example>")
            emit(f"postfix/cleanup[{2000 + n % 89}]: {qid}: message-id=<{mid}>")
            emit(f"postfix/qmgr[999]: {qid}: from=<bounce+{n}@sender.example>, size={rnd.randint(8000, 90000)}, "
                 "nrcpt=1 (queue active)")
            pid = 3000 + n % 83
            delay = f"delay={rnd.uniform(0.2, 3):.2f}, delays=0.02/0.01/{rnd.uniform(0.1, 1):.2f}/0.3"
            deliveries += 1
            if failing:
                failures += 1
                relay = "none" if host == "none" else f"{host}[{ip}]:25"
                diag = text.format(tok=f"{rnd.getrandbits(40):010x}", n=rnd.randint(1, 999),
                                   rcpt=rcpt, domain=domain)
                emit(f"postfix/smtp[{pid}]: Trusted TLS connection established to {relay}: TLSv1.3 "
                     "with cipher TLS_AES_256_GCM_SHA384 (256/256 bits)")
                emit(f"postfix/smtp[{pid}]: {qid}: to=<{rcpt}>, relay={relay}, {delay}, dsn={dsn}, "
                     f"status={word} ({diag})")
                if word == "bounced":
                    emit(f"postfix/bounce[{4000 + n % 7}]: {qid}: sender non-delivery notification: "
                         f"{qid[:-1]}X")
            else:
                host, ip, ok = OK_RELAYS.get(domain, (f"mx.{domain}", "198.51.100.77",
                                                      "250 2.0.0 Ok: queued as {tok}"))
                emit(f"postfix/smtp[{pid}]: Trusted TLS connection established to {host}[{ip}]:25: "
                     "TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits)")
                diag = ok.format(epoch=int(t.timestamp()), tok=f"{rnd.getrandbits(40):010x}",
                                 n=rnd.randint(1, 99999), mid=mid)
                orig = f"orig_to=<{rcpt.upper()}>, " if rnd.random() < 0.01 else ""
                emit(f"postfix/smtp[{pid}]: {qid}: to=<{rcpt}>, {orig}relay={host}[{ip}]:25, {delay}, "
                     f"dsn=2.0.0, status=sent ({diag})")
            emit(f"postfix/qmgr[999]: {qid}: removed")
        f.write("".join(buf))
    return {"lines": written, "deliveries": deliveries, "failures": failures,
            "bytes": path.stat().st_size}


# ----------------------------------------------------------------------------- stages
NAIVE_RE = (r"^(\w{3} [ \d]\d \d\d:\d\d:\d\d) (\S+) postfix/\w+\[\d+\]: (\w+): to=<([^>]*)>, "
            r"(?:orig_to=<[^>]*>, )?relay=([^,]*), .*?dsn=([\d.]+), status=(\w+) ?\(?(.*?)\)?$")


def stage_raw(path: str) -> dict:
    n = 0
    with open(path, "rb") as f:
        for _ in f:
            n += 1
    return {"lines": n, "rows": 0}


def stage_naive(path: str) -> dict:
    import re

    import pandas as pd

    rx = re.compile(NAIVE_RE)
    rows = []
    n = 0
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            n += 1
            m = rx.match(line)
            if m:
                rows.append(m.groups())
    df = pd.DataFrame(rows, columns=["timestamp", "host", "queue_id", "recipient", "relay",
                                     "status", "outcome", "diagnostic"])
    return {"lines": n, "rows": len(df)}


def stage_read_bounces(path: str) -> dict:
    from listcare.bounces.read import read_bounces

    df = read_bounces([path], as_of="2026-12-31")
    return {"lines": int(df.attrs.get("lines_read", 0)), "rows": len(df),
            "failed": int((df["kind"] != "delivered").sum()),
            "skipped": int(df.attrs.get("errors", {}).get("count", 0))}


def stage_no_pipeline(path: str) -> dict:
    from listcare.bounces.detectors import postfix

    postfix.Parser.pipeline = False
    return stage_read_bounces(path)


def stage_pure_python(path: str) -> dict:
    from listcare.bounces.detectors import postfix

    assert postfix._postfix_scan is None  # run_stage set LISTCARE_PURE_PYTHON=1
    return stage_read_bounces(path)


def stage_line_by_line(path: str) -> dict:
    from listcare.bounces.detectors import postfix

    postfix.Parser.fast = False
    return stage_read_bounces(path)


STAGES = {"raw": stage_raw, "naive": stage_naive, "read_bounces": stage_read_bounces,
          "no-pipeline": stage_no_pipeline, "pure-python": stage_pure_python, "line-by-line": stage_line_by_line}


def run_stage(name: str, path: str) -> dict:
    """Run one stage in a fresh interpreter: its own peak RSS, no warm caches shared."""
    env = {**os.environ, "LISTCARE_PURE_PYTHON": "1"} if name == "pure-python" else None
    out = subprocess.run([sys.executable, __file__, "--stage", name, path],
                         check=True, capture_output=True, text=True, env=env)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--lines", type=int, default=2_000_000)
    ap.add_argument("--keep", type=Path, help="write the log here and keep it")
    ap.add_argument("--stage", help=argparse.SUPPRESS)
    ap.add_argument("path", nargs="?", help=argparse.SUPPRESS)
    args = ap.parse_args()

    if args.stage:
        if args.stage != "raw":  # imports are not what is measured (~1 s for pandas)
            import pandas  # noqa: F401

            import listcare.bounces.read  # noqa: F401

            listcare.bounces.read._detectors()  # the detector modules, imported lazily
            import listcare.bounces.mail  # noqa: F401  (sniffing imports it for every input)
            import listcare.bounces.reasons  # noqa: F401
        t0 = time.perf_counter()
        result = STAGES[args.stage](args.path)
        result["seconds"] = time.perf_counter() - t0
        result["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        if args.stage != "raw":
            from listcare.bounces.detectors import postfix

            result["compiled"] = postfix.Parser.compiled
        print(json.dumps(result))
        return

    with tempfile.TemporaryDirectory() as tmp:
        folder = args.keep or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / "mail.log"
        t0 = time.perf_counter()
        info = generate_postfix_log(path, args.lines)
        print(f"generated {info['lines']:,} lines ({info['bytes'] / 1e6:.0f} MB, "
              f"{info['deliveries']:,} deliveries, {info['failures']:,} failures) "
              f"in {time.perf_counter() - t0:.1f} s")
        results = {}
        for name in ("raw", "naive", "read_bounces", "no-pipeline", "pure-python", "line-by-line"):
            r = results[name] = run_stage(name, str(path))
            print(f"{name:>13}: {r['lines'] / r['seconds']:>12,.0f} lines/s  "
                  f"{r['seconds']:6.2f} s  peak RSS {r['peak_rss_mb']:6.0f} MB  rows {r['rows']:,}"
                  + (f"  (skipped {r['skipped']})" if "skipped" in r else ""))
        speed = {k: v["lines"] / v["seconds"] for k, v in results.items()}
        print(f"read_bounces / naive: {speed['read_bounces'] / speed['naive']:.2f}x   "
              f"read_bounces / raw read: {speed['read_bounces'] / speed['raw']:.2f}x   "
              f"read_bounces / no-pipeline: {speed['read_bounces'] / speed['no-pipeline']:.2f}x   "
              f"read_bounces / pure-python: {speed['read_bounces'] / speed['pure-python']:.2f}x   "
              f"read_bounces / line-by-line: {speed['read_bounces'] / speed['line-by-line']:.2f}x")
        if not results["read_bounces"]["compiled"]:
            print("note: the compiled scanner is not built here: read_bounces ran the pure-Python reader")
        if results["read_bounces"]["rows"] != results["naive"]["rows"]:
            print(f"note: row counts differ (naive {results['naive']['rows']:,}, "
                  f"read_bounces {results['read_bounces']['rows']:,})")


if __name__ == "__main__":
    main()
