"""Benchmark: ``listcare.validate`` on a 1,000,000-row list against naive email-validator loops.

    python benchmarks/bench_validate.py              # the issue's size (a few minutes)
    python benchmarks/bench_validate.py --rows 20000 # quick

Generates a deterministic list (benchmarks/_gen.py: ~50,000 company domains with a Zipf
spread plus the big free-mail providers, 3% invalid, 2% typos, 5% duplicates by case or
whitespace, some IDN), starts tests/dnsserver.py in its own process serving the list's
domains after ``--delay`` seconds (default 0.02, a recursive resolver's cache miss), then
runs each stage in a fresh child process (so each peak RSS is its own):

* ``listcare``: ``listcare.validate(emails, nameserver=...)`` on all rows, with DNS;
* ``listcare-syntax``: the same with ``check_dns=False``;
* ``naive-syntax``: ``email_validator.validate_email(e.strip(), check_deliverability=False)``
  in a loop over a sample, extrapolated to all rows;
* ``naive-dns``: the same with ``check_deliverability=True`` and a dnspython resolver
  pointed at the same server, over a smaller sample, extrapolated.

It prints rows/s, time for all rows and peak RSS per stage, the ratios, and whether
listcare's verdicts equal the naive ones on the samples. The machine's other load
distorts the figures; the ratios are measured in the same run.
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
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


# --------------------------------------------------------------------------- child stages
def _listcare_verdict(status: str) -> str:
    return "valid" if status in ("valid", "risky") else status


def stage(name: str, data: Path, nameserver: str, sample_file: Path | None) -> dict:
    emails = json.loads((data / "emails.json").read_text())
    sample = json.loads(sample_file.read_text()) if sample_file else []
    rss_input = _peak_rss_mb()
    out: dict = {"stage": name}
    if name == "dns-only":
        from listcare.address.dns import check_domains

        domains = sorted({e.strip().rsplit("@", 1)[-1].lower() for e in emails if "@" in e})
        t0 = time.perf_counter()
        c0 = time.process_time()
        res = check_domains(domains, nameserver=nameserver)
        out["seconds"] = time.perf_counter() - t0
        out["cpu"] = time.process_time() - c0
        out["rows"] = len(domains)
        out["reason"] = dict(Counter(r.reason for r in res.values()))
    elif name in ("listcare", "listcare-syntax"):
        import pandas as pd

        import listcare

        t0 = time.perf_counter()
        df = listcare.validate(emails, check_dns=name == "listcare", nameserver=nameserver,
                               progress=False)
        out["seconds"] = time.perf_counter() - t0
        out["rows"] = len(df)
        out["status"] = dict(Counter(df["status"]))
        out["reason"] = dict(Counter(df["reason"]))
        out["domains"] = len(df.attrs.get("domains", {}))
        part = df.iloc[sample]
        dns = name == "listcare"
        out["verdicts"] = [
            [_listcare_verdict(s) if dns else ("invalid" if s == "invalid" else "valid"),
             None if pd.isna(n) else str(n)]
            for s, n in zip(part["status"], part["normalized"].astype(object), strict=True)
        ]
    else:
        import email_validator

        resolver = None
        if name == "naive-dns":
            import dns.resolver

            host, port = nameserver.rsplit(":", 1)
            resolver = dns.resolver.Resolver(configure=False)
            resolver.nameservers = [host]
            resolver.port = int(port)
            resolver.timeout = resolver.lifetime = 2.0
        rows = [emails[i] for i in sample]
        verdicts = []
        t0 = time.perf_counter()
        for e in rows:
            try:
                info = email_validator.validate_email(
                    e.strip(), check_deliverability=name == "naive-dns", dns_resolver=resolver
                )
            except email_validator.EmailSyntaxError:
                verdicts.append(["invalid", None])
                continue
            except email_validator.EmailUndeliverableError:
                verdicts.append(["invalid", "?"])
                continue
            if name == "naive-dns" and getattr(info, "unknown-deliverability", None):
                verdicts.append(["unknown", info.normalized])
            else:
                verdicts.append(["valid", info.normalized])
        out["seconds"] = time.perf_counter() - t0
        out["rows"] = len(rows)
        out["verdicts"] = verdicts
    out["rss_input_mb"] = rss_input
    out["peak_rss_mb"] = _peak_rss_mb()
    return out


# --------------------------------------------------------------------------- parent
def run_stage(name, data, nameserver, sample_file=None) -> dict:
    cmd = [sys.executable, __file__, "--stage", name, "--data", str(data),
           "--nameserver", nameserver]
    if sample_file:
        cmd += ["--sample", str(sample_file)]
    print(f"  running {name} ...", file=sys.stderr, flush=True)
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        sys.stderr.write(proc.stderr)
        raise SystemExit(f"stage {name} failed")
    res = json.loads(proc.stdout.strip().splitlines()[-1])
    res["wall"] = time.perf_counter() - t0
    return res


@contextlib.contextmanager
def dns_server(zone: Path, delay: float):
    """tests/dnsserver.py in its own process; yields its address and, after it stopped,
    its statistics."""
    server = subprocess.Popen(
        [sys.executable, str(ROOT / "tests" / "dnsserver.py"), "--zone", str(zone),
         "--delay", str(delay)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    stats: dict = {}
    try:
        line = server.stdout.readline().split()
        if not line or line[0] != "READY":
            raise SystemExit("the DNS server did not start: " + server.stderr.read())
        yield line[1], stats
    finally:
        try:  # closing its stdin stops the server
            _, err = server.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            err = ""
        for ln in err.splitlines():
            if ln.startswith("queries"):
                stats["queries"] = int(ln.split()[1])


def compare(a: list, b: list, *, normalized: bool) -> tuple[int, int, list]:
    same = 0
    diffs = []
    for i, (x, y) in enumerate(zip(a, b, strict=True)):
        if x[0] == y[0] and (not normalized or x[0] != "valid" or x[1] == y[1]):
            same += 1
        else:
            diffs.append((i, x, y))
    return same, len(a), diffs


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--rows", type=int, default=1_000_000)
    p.add_argument("--companies", type=int, default=50_000)
    p.add_argument("--delay", type=float, default=0.02, help="DNS answer delay in seconds")
    p.add_argument("--syntax-sample", type=int, default=20_000,
                   help="rows for the naive syntax loop")
    p.add_argument("--dns-sample", type=int, default=300, help="rows for the naive DNS loop")
    p.add_argument("--stage", help=argparse.SUPPRESS)
    p.add_argument("--data", help=argparse.SUPPRESS)
    p.add_argument("--nameserver", help=argparse.SUPPRESS)
    p.add_argument("--sample", help=argparse.SUPPRESS)
    a = p.parse_args(argv)

    if a.stage:
        res = stage(a.stage, Path(a.data), a.nameserver, Path(a.sample) if a.sample else None)
        print(json.dumps(res))
        return 0

    import numpy as np
    from _gen import make_list

    t0 = time.perf_counter()
    companies = min(a.companies, max(10, a.rows // 20))
    emails, zone, kinds = make_list(a.rows, companies)
    gen_s = time.perf_counter() - t0
    rng = np.random.default_rng(7)
    syn_idx = sorted(rng.choice(a.rows, size=min(a.syntax_sample, a.rows), replace=False).tolist())
    dns_idx = sorted(rng.choice(a.rows, size=min(a.dns_sample, a.rows), replace=False).tolist())

    with tempfile.TemporaryDirectory(prefix="listcare-bench-") as tmp:
        data = Path(tmp)
        (data / "emails.json").write_text(json.dumps(emails))
        (data / "zone.json").write_text(json.dumps(zone))
        (data / "syn.json").write_text(json.dumps(syn_idx))
        (data / "dns.json").write_text(json.dumps(dns_idx))
        n_domains = len({e.strip().rsplit("@", 1)[-1].lower() for e in emails if "@" in e})
        del emails

        print(f"list: {a.rows:,} rows, {companies:,} company domains, {n_domains:,} distinct "
              f"domains (generated in {gen_s:.1f} s); DNS delay {a.delay * 1000:g} ms; "
              f"{os.cpu_count()} CPUs", flush=True)
        # DNS-less stages first; each DNS stage gets a fresh server (no warm answer cache)
        syn = run_stage("listcare-syntax", data, "-", data / "syn.json")
        nsyn = run_stage("naive-syntax", data, "-", data / "syn.json")
        with dns_server(data / "zone.json", a.delay) as (ns, stats):
            only = run_stage("dns-only", data, ns)
        with dns_server(data / "zone.json", a.delay) as (ns, stats):
            full = run_stage("listcare", data, ns, data / "dns.json")
        queries = stats.get("queries", "?")
        with dns_server(data / "zone.json", a.delay) as (ns, _):
            ndns = run_stage("naive-dns", data, ns, data / "dns.json")

    n = a.rows

    def rate(s):
        return s["rows"] / s["seconds"]

    print()
    print(f"{'stage':<36}{'rows/s':>10}{'time for all rows':>22}{'peak RSS':>11}")
    for label, s, extrap in (
        ("listcare.validate (DNS)", full, False),
        ("listcare.validate (syntax only)", syn, False),
        (f"naive loop, DNS ({ndns['rows']} rows)", ndns, True),
        (f"naive loop, syntax ({nsyn['rows']:,} rows)", nsyn, True),
    ):
        t = n / rate(s)
        mark = "*" if extrap else " "
        print(f"{label:<36}{rate(s):>10,.0f}{t:>20,.1f} s{mark}{s['peak_rss_mb']:>8,.0f} MB")
    print("* extrapolated from the sample; a naive loop's RSS is for the sample plus the input")
    print()
    print(f"speed-up with DNS:     {rate(full) / rate(ndns):,.0f}x the naive deliverability loop")
    print(f"speed-up syntax only:  {rate(syn) / rate(nsyn):,.1f}x the naive syntax loop")
    print(f"DNS queries answered by the server: {queries} for {full['domains']:,} domains")
    print(f"DNS alone (check_domains on {only['rows']:,} distinct domain strings): "
          f"{only['seconds']:.1f} s, {only['cpu']:.1f} s CPU, peak RSS "
          f"{only['peak_rss_mb']:,.0f} MB (the input list alone: {only['rss_input_mb']:,.0f} MB)")
    print(f"listcare statuses (DNS): {dict(sorted(full['status'].items()))}")
    top = Counter(full["reason"]).most_common(8)
    print(f"listcare reasons (DNS):  {dict(top)}")
    same, total, diffs = compare(syn["verdicts"], nsyn["verdicts"], normalized=True)
    print(f"syntax verdicts + normalised address equal to email-validator's: {same}/{total}")
    for d in diffs[:5]:
        print("   differs:", d)
    same2, total2, diffs2 = compare(full["verdicts"], ndns["verdicts"], normalized=False)
    print(f"DNS verdicts (valid/invalid/unknown) equal to email-validator's:  {same2}/{total2}")
    for d in diffs2[:5]:
        print("   differs:", d)
    target = n / full["seconds"]
    print()
    print(f"target (1M rows with DNS < 60 s, < 2 GB): {full['seconds']:.1f} s, "
          f"{full['peak_rss_mb']:,.0f} MB peak ({target:,.0f} rows/s); syntax-only "
          f"{rate(syn) / rate(nsyn):.1f}x naive (target >= 10x)")
    return 0 if not diffs and not diffs2 else 1


if __name__ == "__main__":
    sys.exit(main())
