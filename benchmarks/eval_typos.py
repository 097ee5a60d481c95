"""Precision and recall of listcare's typo suggestions on a labelled set.

    python benchmarks/eval_typos.py [--csv tests/fixtures/typos.csv]

The set (``tests/fixtures/typos.csv``) lists typed domains with the suggestion a person
would expect (empty for a real domain or when no single correction is clear) and whether
the typed domain has a mail host (``mail_host`` yes/no: what DNS says; for made-up typos
this is the assumption that they are not registered). Three suggesters are compared in
the same run:

* ``listcare.validate`` end to end, against a real DNS server on 127.0.0.1 that serves
  exactly the labelled facts (MX for ``yes``, NXDOMAIN for ``no``);
* listcare without DNS (``check_dns=False``): only the known-typo list;
* the naive mailcheck-style suggester: the nearest popular domain, with no DNS guard and
  no known-typo list (what corrects mac.com-like real domains).

precision = correct suggestions / suggestions made; recall = correct suggestions /
rows that expect one.

The labelled set was written along with the suggester, so it also prints a check on data
it was not tuned on: every single slip (neighbouring key, dropped, doubled or swapped
letter) of every popular domain, generated with a fixed seed, assumed unregistered (no
mail host), expecting the domain it came from. A slip that turns one popular domain into
another, or into a domain on the known-typo list, is left out.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from listcare import validate  # noqa: E402
from listcare.address import lists  # noqa: E402


def score(expected: pd.Series, got: pd.Series) -> dict:
    expected = expected.fillna("")
    got = got.fillna("")
    made = got != ""
    want = expected != ""
    correct = made & (got == expected)
    return {
        "suggestions": int(made.sum()),
        "correct": int(correct.sum()),
        "false_positives": int((made & ~correct).sum()),
        "precision": correct.sum() / made.sum() if made.any() else float("nan"),
        "recall": correct.sum() / want.sum() if want.any() else float("nan"),
    }


def run(csv: Path) -> pd.DataFrame:
    from tests.dnsserver import DNSServer

    df = pd.read_csv(csv, dtype=str, keep_default_na=False)
    zone = {
        d: {"MX": [[10, f"mx.{d}"]]}
        for d, mh in zip(df["domain"], df["mail_host"], strict=True)
        if mh == "yes"
    }
    emails = "someone@" + df["domain"]
    with DNSServer(zone) as srv:
        with_dns = validate(emails, nameserver=srv.address, progress=False)
    no_dns = validate(emails, check_dns=False, progress=False)

    def domain_of(col):
        return col.fillna("").str.partition("@")[2]

    rows = {
        "listcare (DNS)": score(df["expected"], domain_of(with_dns["suggestion"])),
        "listcare (no DNS)": score(df["expected"], domain_of(no_dns["suggestion"])),
        "naive (no DNS guard)": score(df["expected"], df["domain"].map(lists.nearest_popular)),
    }
    report = pd.DataFrame(rows).T.astype(
        {
            "suggestions": int,
            "correct": int,
            "false_positives": int,
            "precision": float,
            "recall": float,
        }
    )
    fp = with_dns[domain_of(with_dns["suggestion"]) != df["expected"].to_numpy()]
    return report, fp[["email", "suggestion", "status", "reason"]]


_NEIGHBOURS = {
    a: b
    for row in ("qwertyuiop", "asdfghjkl", "zxcvbnm")
    for a, b in zip(row, row[1:] + row[-2], strict=True)
}


def generated_slips(seed: int = 7, per_domain: int = 6) -> pd.DataFrame:
    """Single-slip typos of the popular domains: (domain, expected)."""
    import random

    rnd = random.Random(seed)
    popular = set(lists.popular_domains())
    known = lists.known_typos()
    rows = set()
    for target in lists.popular_domains():
        for _ in range(per_domain):
            i = rnd.randrange(len(target))
            kind = rnd.choice(["neighbour", "drop", "double", "swap"])
            c = target[i]
            if kind == "neighbour" and c in _NEIGHBOURS:
                typo = target[:i] + _NEIGHBOURS[c] + target[i + 1 :]
            elif kind == "drop" and c != ".":
                typo = target[:i] + target[i + 1 :]
            elif kind == "double" and c != ".":
                typo = target[:i] + c + target[i:]
            elif kind == "swap" and i + 1 < len(target) and "." not in target[i : i + 2]:
                typo = target[:i] + target[i + 1] + c + target[i + 2 :]
            else:
                continue
            if typo != target and typo not in popular and typo not in known and "." in typo:
                rows.add((typo, target))
    return pd.DataFrame(sorted(rows), columns=["domain", "expected"])


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--csv", type=Path, default=ROOT / "tests" / "fixtures" / "typos.csv")
    args = ap.parse_args(argv)
    report, misses = run(args.csv)
    n = sum(1 for _ in open(args.csv, encoding="utf-8")) - 1
    print(f"typo suggestions on {n} labelled domains ({args.csv.name})")
    with pd.option_context("display.float_format", "{:.3f}".format, "display.width", 120):
        print(report.to_string())
        if len(misses):
            print("\nlistcare (DNS) rows that differ from the label:")
            print(misses.to_string())
        gen = generated_slips()
        got = gen["domain"].map(lambda d: lists.suggest_domain(d, mail_host=False))
        print(
            f"\ngenerated single slips of the {len(lists.popular_domains())} popular domains "
            f"({len(gen)} typos, assumed unregistered):"
        )
        print(
            pd.DataFrame({"listcare (no mail host)": score(gen["expected"], got)})
            .T.astype({"suggestions": int, "correct": int, "false_positives": int})
            .to_string()
        )
        wrong = gen[(got != "") & (got != gen["expected"])]
        if len(wrong):
            print(
                "wrong suggestions:",
                ", ".join(
                    f"{d} -> {g} (meant {e})"
                    for d, g, e in zip(
                        wrong["domain"], got[wrong.index], wrong["expected"], strict=True
                    )
                ),
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
