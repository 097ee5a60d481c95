"""Accuracy of the bounce-mail detectors and the classifier on the labelled Sisimai corpus.

Usage: python3 benchmarks/eval_bounces.py [CORPUS_DIR] [--misses]

Reads every message of the corpus (``../shared/corpus/bounces`` or ``$LISTCARE_CORPUS``)
with :func:`listcare.read_bounces` (format sniffed, as a user reads them), and compares with ``labels.csv``:

* found: share of expected results for which a fact was produced;
* reason: share of expected results whose fact has exactly the expected reason;
* hard/soft/none: share whose class agrees (hard = kind ``hard``; none = delivered,
  complaint, unsubscribe, auto_reply; soft = the rest), against the label's
  ``bounce_class``.

Rows with ``duplicate_of`` are dropped (each email counts once). Within a file, expected
rows are matched to facts by status code first, then in order.
"""

from __future__ import annotations

import csv
import os
import sys
import time
from collections import defaultdict
from pathlib import Path
from types import SimpleNamespace

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from listcare.bounces.mail import iter_mail_facts  # noqa: E402
from listcare.bounces.read import read_bounces  # noqa: E402
from listcare.bounces.reasons import explain  # noqa: E402
from listcare.schema import NOT_BOUNCE_KINDS  # noqa: E402


def corpus_dir(arg: str | None = None) -> Path | None:
    for c in (arg, os.environ.get("LISTCARE_CORPUS"), str(ROOT.parent / "shared" / "corpus" / "bounces")):
        if c and (Path(c) / "labels.csv").is_file():
            return Path(c)
    return None


def klass(kind: str) -> str:
    if kind == "hard":
        return "hard"
    if kind in NOT_BOUNCE_KINDS:
        return "none"
    return "soft"


def _pair(expected: list[dict], got: list[tuple]) -> list[tuple[dict, tuple | None]]:
    """Match expected rows to facts: same status first, then in order."""
    free = list(range(len(got)))
    pairs: dict[int, int] = {}
    for i, row in enumerate(expected):
        if row["status"]:
            for j in free:
                if got[j][0].status == row["status"]:
                    pairs[i] = j
                    free.remove(j)
                    break
    for i in range(len(expected)):
        if i not in pairs and free:
            pairs[i] = free.pop(0)
    return [(row, got[pairs[i]] if i in pairs else None) for i, row in enumerate(expected)]


def evaluate(corpus: Path) -> dict:
    with open(corpus / "labels.csv", newline="", encoding="utf-8") as fh:
        rows = [r for r in csv.DictReader(fh) if not r["duplicate_of"]]
    by_file: dict[str, list[dict]] = defaultdict(list)
    for r in rows:
        by_file[r["file"]].append(r)
    for v in by_file.values():
        v.sort(key=lambda r: int(r["index"]))
    results = []
    t0 = time.perf_counter()
    nbytes = 0
    for fname, expected in sorted(by_file.items()):
        path = corpus / fname
        nbytes += path.stat().st_size
        # what a user gets: read_bounces with format sniffing, one row per recipient outcome
        events = read_bounces([path], errors="ignore")
        facts = [
            (
                SimpleNamespace(status=st or "", recipient=rcpt or "", position=int(pos), event_id=eid, path=path, index=i),
                reason,
                kind,
            )
            for i, (st, reason, kind, rcpt, pos, eid) in enumerate(
                zip(
                    events["status"].fillna(""),
                    events["reason"].fillna(""),
                    events["kind"].fillna(""),
                    events["recipient"].fillna(""),
                    events["position"],
                    events["event_id"],
                    strict=True,
                )
            )
        ]
        for row, got in _pair(expected, facts):
            results.append((row, got))
    elapsed = time.perf_counter() - t0
    return {"results": results, "elapsed": elapsed, "files": len(by_file), "bytes": nbytes}


def summarise(results) -> dict[str, dict[str, float]]:
    groups: dict[str, list] = defaultdict(list)
    for row, got in results:
        groups[row["mta_module"]].append((row, got))
        groups["OVERALL"].append((row, got))
    out = {}
    for name, items in groups.items():
        n = len(items)
        found = sum(1 for _, g in items if g is not None)
        reason = sum(1 for r, g in items if g is not None and g[1] == r["reason"])
        cls = sum(1 for r, g in items if g is not None and klass(g[2]) == r["bounce_class"])
        out[name] = {"n": n, "found": found / n, "reason": reason / n, "class": cls / n}
    return out


def main(argv: list[str]) -> int:
    args = [a for a in argv if not a.startswith("--")]
    corpus = corpus_dir(args[0] if args else None)
    if corpus is None:
        print("corpus not found: pass its folder or set LISTCARE_CORPUS", file=sys.stderr)
        return 2
    ev = evaluate(corpus)
    summary = summarise(ev["results"])
    print(f"{'module':28s} {'rows':>5s} {'found':>7s} {'reason':>7s} {'h/s/n':>7s}")
    for name in sorted(k for k in summary if k != "OVERALL") + ["OVERALL"]:
        s = summary[name]
        print(f"{name:28s} {s['n']:5d} {s['found']:7.1%} {s['reason']:7.1%} {s['class']:7.1%}")
    import resource

    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    print(
        f"\n{ev['files']} files, {ev['bytes'] / 1e6:.1f} MB in {ev['elapsed']:.2f} s "
        f"({ev['files'] / ev['elapsed']:.0f} messages/s, peak RSS {rss:.0f} MB); "
        "targets: found >= 97%, reason >= 95%, h/s/n >= 99%"
    )
    if "--misses" in argv:
        for row, got in ev["results"]:
            if got is None:
                print(f"MISSING {row['file']} #{row['index']} want {row['reason']}")
            elif got[1] != row["reason"]:
                # the detector's facts behind that row, to show why it was classified so
                f = list(iter_mail_facts(got[0].path))[got[0].index]
                print(
                    f"WRONG {row['file']} #{row['index']} want {row['reason']}/{row['status']} got {got[1]}/{got[2]} "
                    f"[{explain(f).split(':')[0]}|{f.detector} st={f.status} rc={f.reply_code} cmd={f.command} act={f.action}] {f.diagnostic[:150]!r}"
                )
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
