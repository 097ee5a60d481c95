"""Benchmark: the nightly job ``listcare.clean`` on 1,000,000 contacts and a 2,000,000-line log.

    python benchmarks/bench_clean.py                                 # the issue's size
    python benchmarks/bench_clean.py --contacts 50000 --lines 100000 # quick

Generates deterministic data: the contact list of benchmarks/_gen.py (company domains
with a Zipf spread, free-mail providers, invalid syntax, typos, duplicates, IDN) with a
name and an acquisition date, and a Postfix log over four months (95% delivered, hard
and soft bounces, blocks by one provider). tests/dnsserver.py answers the generated
zone after ``--delay`` seconds (default 0.02, a recursive resolver's cache miss). Each
night runs in a fresh child process (so its peak RSS is its own):

* ``first``: the first night (empty store: the whole log, DNS for every domain);
* ``next``: the next night on the same store, after 1% new contacts were appended to
  the list and ``--new-lines`` (default 100,000) lines to the log: checkpoints, the
  validation cache and the incremental ingest at work (target: < 20% of ``first``);
* ``naive``: the same next-night input with a fresh store, i.e. re-reading the whole
  log and re-validating every domain each night, as a job without state would.

It prints wall time, peak RSS and the job's own stage timings (``report["run"]
["seconds"]``) per night, and the ratios. The machine's other load distorts absolute
figures; the ratios are measured in the same run.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

FIRST_NIGHT = "2026-11-27"
NEXT_NIGHT = "2026-11-28"
_MONTHS = ("Aug", "Sep", "Oct", "Nov")


# --------------------------------------------------------------------------- data
def _recipient(e: str) -> str | None:
    """How a mail log shows an address of the list (None: not deliverable at all)."""
    e = e.strip()
    local, at, domain = e.rpartition("@")
    if not at or not local or not domain or " " in e or "@" in local or ".." in e:
        return None
    try:
        domain = domain.lower().encode("idna").decode("ascii")
    except UnicodeError:
        return None
    return f"{local}@{domain}"


def _log_line(ts: str, qid: str, rcpt: str, what: float) -> str:
    head = f"{ts} mail postfix/smtp[4242]: {qid}: to=<{rcpt}>, "
    if what < 0.95:
        return (
            head + "relay=mx1.example.net[192.0.2.1]:25, delay=0.4, delays=0.1/0/0.1/0.2, "
            f"dsn=2.0.0, status=sent (250 2.0.0 Ok: queued as {qid}X)\n"
        )
    if what < 0.97:
        return (
            head + "relay=mx1.example.net[192.0.2.1]:25, delay=0.4, delays=0.1/0/0.1/0.2, "
            "dsn=5.1.1, status=bounced (host mx1.example.net[192.0.2.1] said: 550 5.1.1 "
            f"<{rcpt}>: Recipient address rejected: User unknown (in reply to RCPT TO "
            "command))\n"
        )
    if what < 0.99:
        return (
            head + "relay=mx1.example.net[192.0.2.1]:25, delay=0.4, delays=0.1/0/0.1/0.2, "
            "dsn=5.2.2, status=bounced (host mx1.example.net[192.0.2.1] said: 552 5.2.2 "
            "Mailbox full (in reply to RCPT TO command))\n"
        )
    return (
        head + "relay=gmail-smtp-in.l.google.com[192.0.2.9]:25, delay=0.4, "
        "delays=0.1/0/0.1/0.2, dsn=5.7.1, status=bounced (host "
        "gmail-smtp-in.l.google.com[192.0.2.9] said: 550 5.7.1 This message is likely "
        "unsolicited mail (in reply to end of DATA command))\n"
    )


def _write_log(
    path: Path, rcpts: list, lines: int, seed: int, *, day: str | None, append: bool
) -> None:
    """*lines* Postfix lines to random recipients: over Aug-Nov, or all on *day*."""
    import numpy as np

    rng = np.random.default_rng(seed)
    idx = rng.integers(0, len(rcpts), lines)
    what = rng.random(lines)
    prefix = "N" if append else "Q"
    with open(path, "a" if append else "w", encoding="utf-8") as f:
        buf = []
        for j in range(lines):
            if day is None:
                m = _MONTHS[j * 4 // lines]
                d = 1 + (j * 120 // lines) % 28
                stamp = f"{m} {d:2d}"
            else:
                stamp = day
            ts = f"{stamp} {j % 24:02d}:{j % 60:02d}:{(j * 7) % 60:02d}"
            buf.append(_log_line(ts, f"{prefix}{j:09X}", rcpts[idx[j]], what[j]))
            if len(buf) >= 50_000:
                f.write("".join(buf))
                buf.clear()
        f.write("".join(buf))


def _write_contacts(path: Path, emails: list, start: int, *, append: bool) -> None:
    import numpy as np

    rng = np.random.default_rng(11 + start)
    days = rng.integers(0, 1700, len(emails))
    base = np.datetime64("2022-01-01")
    with open(path, "a" if append else "w", encoding="utf-8", newline="") as f:
        import csv

        w = csv.writer(f)
        if not append:
            w.writerow(["email", "name", "acquired_at"])
        for i, e in enumerate(emails):
            w.writerow([e, f"Contact {start + i}", str(base + np.timedelta64(int(days[i]), "D"))])


def generate(data: Path, contacts: int, lines: int, companies: int) -> dict:
    from _gen import make_list

    emails, zone, _ = make_list(contacts, companies)
    rcpts = [r for r in map(_recipient, emails) if r is not None]
    _write_contacts(data / "contacts.csv", emails, 0, append=False)
    _write_log(data / "mail.log", rcpts, lines, 5, day=None, append=False)
    (data / "zone.json").write_text(json.dumps(zone))
    return {"emails": emails, "rcpts": rcpts}


def grow(data: Path, gen: dict, new_lines: int) -> int:
    """The next night's input: 1% new contacts (new addresses at known domains, so the
    validation cache answers), and *new_lines* log lines of Nov 28 to old and new ones."""
    emails = gen["emails"]
    n_new = max(1, len(emails) // 100)
    new = []
    for i in range(n_new):
        local, _, domain = emails[(i * 97) % len(emails)].strip().rpartition("@")
        new.append(f"new{i}.{local or 'x'}@{domain or 'example.com'}")
    _write_contacts(data / "contacts.csv", new, len(emails), append=True)
    rcpts = gen["rcpts"] + [r for r in map(_recipient, new) if r is not None]
    _write_log(data / "mail.log", rcpts, new_lines, 6, day="Nov 28", append=True)
    return n_new


# --------------------------------------------------------------------------- child
def night(data: Path, store: Path, out: Path, as_of: str, nameserver: str | None) -> dict:
    from listcare.nightly import clean

    t0 = time.perf_counter()
    report = clean(
        data / "contacts.csv",
        [data / "mail.log"],
        store=store,
        out_dir=out,
        as_of=as_of,
        check_dns=nameserver is not None,
        nameserver=nameserver,
    )
    return {
        "wall": time.perf_counter() - t0,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "seconds": report["run"]["seconds"],
        "outcomes": report["outcomes"],
        "rules": report["rules"],
        "new_events": report["run"]["new_events"],
        "lines_read": report["run"]["lines_read"],
        "looked_up": report["run"]["domains_looked_up"],
        "from_cache": report["run"]["domains_from_cache"],
    }


def run_night(label, data, store, out, as_of, nameserver) -> dict:
    cmd = [
        sys.executable,
        __file__,
        "--night",
        as_of,
        "--data",
        str(data),
        "--store",
        str(store),
        "--out",
        str(out),
        "--nameserver",
        nameserver or "-",
    ]
    print(f"  running {label} ...", file=sys.stderr, flush=True)
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        sys.stderr.write(proc.stderr)
        raise SystemExit(f"{label} failed")
    res = json.loads(proc.stdout.strip().splitlines()[-1])
    res["process_wall"] = wall  # with the interpreter start and imports
    # the parent's view of the same: the largest peak of the children it waited for
    res["children_max_rss_mb"] = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return res


@contextlib.contextmanager
def dns_server(zone: Path, delay: float):
    server = subprocess.Popen(
        [
            sys.executable,
            str(ROOT / "tests" / "dnsserver.py"),
            "--zone",
            str(zone),
            "--delay",
            str(delay),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        line = server.stdout.readline().split()
        if not line or line[0] != "READY":
            raise SystemExit("the DNS server did not start: " + server.stderr.read())
        yield line[1]
    finally:
        try:  # closing its stdin stops the server
            server.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.communicate()


# --------------------------------------------------------------------------- parent
def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--contacts", type=int, default=1_000_000)
    p.add_argument("--lines", type=int, default=2_000_000)
    p.add_argument(
        "--new-lines",
        type=int,
        default=None,
        help="log lines added for the next night (default: 5%% of --lines)",
    )
    p.add_argument("--companies", type=int, default=50_000)
    p.add_argument("--delay", type=float, default=0.02, help="DNS answer delay in seconds")
    p.add_argument("--no-dns", action="store_true", help="run the job with check_dns=False")
    p.add_argument("--no-naive", action="store_true", help="skip the fresh-store comparison")
    p.add_argument("--keep", help="generate into this folder and keep it")
    p.add_argument("--night", help=argparse.SUPPRESS)
    p.add_argument("--data", help=argparse.SUPPRESS)
    p.add_argument("--store", help=argparse.SUPPRESS)
    p.add_argument("--out", help=argparse.SUPPRESS)
    p.add_argument("--nameserver", help=argparse.SUPPRESS)
    a = p.parse_args(argv)

    if a.night:
        ns = None if a.nameserver in (None, "-") else a.nameserver
        print(json.dumps(night(Path(a.data), Path(a.store), Path(a.out), a.night, ns)))
        return 0

    new_lines = a.new_lines if a.new_lines is not None else a.lines // 20
    companies = min(a.companies, max(10, a.contacts // 20))
    with contextlib.ExitStack() as stack:
        if a.keep:
            root = Path(a.keep)
            root.mkdir(parents=True, exist_ok=True)
        else:
            root = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="lc-bench-")))
        data = root / "data"
        data.mkdir(exist_ok=True)
        t0 = time.perf_counter()
        gen = generate(data, a.contacts, a.lines, companies)
        gen_s = time.perf_counter() - t0
        size = (data / "mail.log").stat().st_size / 2**20
        print(
            f"data: {a.contacts:,} contacts, {a.lines:,} log lines ({size:,.0f} MiB), "
            f"{companies:,} company domains (generated in {gen_s:.1f} s); DNS "
            f"{'off' if a.no_dns else f'delay {a.delay * 1000:g} ms'}; {os.cpu_count()} "
            "CPUs",
            flush=True,
        )

        ns = None
        if not a.no_dns:
            ns = stack.enter_context(dns_server(data / "zone.json", a.delay))
        store = root / "night" / "listcare.db"
        store.parent.mkdir(exist_ok=True)
        first = run_night("first night", data, store, root / "night", FIRST_NIGHT, ns)
        n_new = grow(data, gen, new_lines)
        nxt = run_night("next night", data, store, root / "night", NEXT_NIGHT, ns)
        naive = None
        if not a.no_naive:
            fresh = root / "naive" / "listcare.db"
            fresh.parent.mkdir(exist_ok=True)
            naive = run_night("naive next night", data, fresh, root / "naive", NEXT_NIGHT, ns)

    print()
    stages = list(dict.fromkeys([*first["seconds"], *nxt["seconds"]]))
    cols = [("first night", first), ("next night", nxt)] + (
        [("naive next", naive)] if naive else []
    )
    print(f"{'':<22}" + "".join(f"{c:>14}" for c, _ in cols))
    for s in stages:
        print(
            f"{'  ' + s + ' (s)':<22}"
            + "".join(f"{r['seconds'].get(s, 0):>14.1f}" for _, r in cols)
        )
    print(f"{'wall in clean() (s)':<22}" + "".join(f"{r['wall']:>14.1f}" for _, r in cols))
    print(f"{'process wall (s)':<22}" + "".join(f"{r['process_wall']:>14.1f}" for _, r in cols))
    print(f"{'peak RSS (MB)':<22}" + "".join(f"{r['peak_rss_mb']:>14,.0f}" for _, r in cols))
    print(f"{'log lines read':<22}" + "".join(f"{r['lines_read']:>14,}" for _, r in cols))
    print(f"{'new events':<22}" + "".join(f"{r['new_events']:>14,}" for _, r in cols))
    print(
        f"{'DNS lookups/cached':<22}"
        + "".join(f"{str(r['looked_up']) + '/' + str(r['from_cache']):>14}" for _, r in cols)
    )
    print()
    for label, r in cols:
        print(f"{label}: {r['outcomes']}")
    rows = first["outcomes"]["rows"]
    print(
        f"first night: {rows / first['wall']:,.0f} contacts/s, "
        f"{a.lines / first['wall']:,.0f} log lines/s"
    )
    ratio = nxt["wall"] / first["wall"]
    print(
        f"next night ({n_new:,} new contacts, {new_lines:,} new lines): "
        f"{nxt['wall']:.1f} s = {ratio:.0%} of the first night (target < 20%)"
    )
    if naive:
        print(
            f"naive next night (fresh store: whole log, every domain again): "
            f"{naive['wall']:.1f} s; the incremental run takes "
            f"{nxt['wall'] / naive['wall']:.0%} of it ({naive['wall'] / nxt['wall']:.1f}x "
            "faster)"
        )
        same = naive["outcomes"] == nxt["outcomes"]
        print(f"naive and incremental next night give the same outcomes: {same}")
    ok = first["wall"] < 180 and first["peak_rss_mb"] < 3072 and ratio < 0.20
    print(
        f"targets (first < 180 s and < 3 GB, next < 20%): first {first['wall']:.1f} s, "
        f"{first['peak_rss_mb']:,.0f} MB; next {ratio:.0%}: {'met' if ok else 'NOT met'}"
    )
    return 0 if (naive is None or naive["outcomes"] == nxt["outcomes"]) else 1


if __name__ == "__main__":
    sys.exit(main())
