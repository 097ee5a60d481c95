"""Deterministic synthetic contact lists for the benchmarks (no real person's data).

:func:`make_list` returns addresses plus the DNS zone that makes their domains resolve as
intended (for tests/dnsserver.py): about 50,000 company domains drawn with a Zipf spread,
the big free-mail providers, 3% invalid syntax, 2% typos of free-mail domains, 5%
duplicates that differ only by case or surrounding whitespace, and some IDN domains.
"""

from __future__ import annotations

import zlib

import numpy as np

FREEMAIL = {
    # domain: share of the free-mail rows (roughly a German B2C list)
    "gmail.com": 0.24,
    "gmx.de": 0.14,
    "web.de": 0.13,
    "t-online.de": 0.08,
    "yahoo.com": 0.06,
    "hotmail.com": 0.06,
    "outlook.com": 0.05,
    "gmx.net": 0.05,
    "freenet.de": 0.03,
    "icloud.com": 0.04,
    "yahoo.de": 0.03,
    "hotmail.de": 0.02,
    "aol.com": 0.02,
    "posteo.de": 0.02,
    "mail.de": 0.02,
    "protonmail.com": 0.01,
}

TYPOS = {
    "gmail.com": ["gmial.com", "gmai.com", "gmaill.com", "gnail.com"],
    "gmx.de": ["gmx.dee", "gmc.de", "gmxx.de"],
    "web.de": ["web.dr", "wbe.de", "webb.de"],
    "t-online.de": ["t-onlin.de", "t-onlien.de", "tonline.de"],
    "hotmail.com": ["hotmial.com", "hotmal.com"],
    "yahoo.com": ["yaho.com", "yahooo.com"],
    "outlook.com": ["outlok.com", "outllook.com"],
    "freenet.de": ["freenet.dee", "frenet.de"],
}

INVALID = [
    "{l}@", "@{d}", "{l}@@{d}", "{l} {l}@{d}", "{l}..x@{d}", "{l}@{d}..", "{l}",
    "{l}@-{d}", "{l}@{d}-", "{l}(at){d}", "{l}@localhost", "{l}@[300.1.1.1]",
]

FIRST = ("anna max paul lena jonas marie leon emma felix sophie lukas mia finn hannah ben "
         "lea elias laura noah julia tim sarah jan lisa david nina tom clara moritz jana").split()
LAST = ("mueller schmidt schneider fischer weber meyer wagner becker schulz hoffmann koch "
        "richter klein wolf schroeder neumann schwarz braun zimmermann krueger hartmann "
        "lange werner krause lehmann koehler maier").split()
ROLES = ["info", "sales", "kontakt", "vertrieb", "noreply", "office", "support", "team"]
WORDS = ("bau technik logistik media design solar haus metall service systems consult "
         "partner digital energie handel werk immobilien software elektro holz auto "
         "garten druck data plan net").split()
IDN_WORDS = ["müller", "bäcker", "schön", "grün", "straße", "köln", "würz", "bühne"]
TLDS = ["de", "de", "de", "com", "net", "eu", "at", "ch"]


def company_domains(n: int, rng: np.random.Generator) -> list[str]:
    """*n* distinct company domains in Unicode (about 1% IDN)."""
    w1 = rng.integers(0, len(WORDS), n)
    w2 = rng.integers(0, len(WORDS), n)
    tl = rng.integers(0, len(TLDS), n)
    idn = rng.random(n) < 0.01
    out = []
    for i in range(n):
        head = IDN_WORDS[i % len(IDN_WORDS)] if idn[i] else WORDS[w1[i]]
        out.append(f"{head}-{WORDS[w2[i]]}{i:x}.{TLDS[tl[i]]}")
    return out


def make_list(rows: int = 1_000_000, companies: int = 50_000, seed: int = 20261127):
    """(emails, zone, kinds): the list, the zone for tests/dnsserver.py (IDNA keys) and the
    intended DNS behaviour of each company domain (for the report)."""
    rng = np.random.default_rng(seed)
    companies = max(10, min(companies, rows))
    comp = company_domains(companies, rng)
    # what each company domain does: MX (most), A only, null MX, gone (NXDOMAIN), SERVFAIL
    kind = rng.choice(["mx", "a", "nullmx", "nx", "servfail"], size=companies,
                      p=[0.925, 0.03, 0.01, 0.03, 0.005])
    zone: dict[str, dict] = {}
    for d, k in zip(comp, kind, strict=True):
        key = d.encode("idna").decode("ascii") if not d.isascii() else d
        if k == "mx":
            zone[key] = {"MX": [[10, "mx1." + key], [20, "mx2." + key]]}
        elif k == "a":
            zone[key] = {"A": [f"185.{zlib.crc32(key.encode()) % 200 + 1}.0.1"]}
        elif k == "nullmx":
            zone[key] = {"MX": [[0, "."]]}
        elif k == "servfail":
            zone[key] = {"rcode": "SERVFAIL"}
    for d in FREEMAIL:
        zone[d] = {"MX": [[5, "mx00." + d], [10, "mx01." + d]]}

    # Zipf spread over company domains (rank r gets weight 1/r)
    weights = 1.0 / np.arange(1, companies + 1)
    weights /= weights.sum()
    order = rng.permutation(companies)

    n_dup = int(rows * 0.05)
    n_base = rows - n_dup
    u = rng.random(n_base)
    is_free = u < 0.40
    is_invalid = (u >= 0.40) & (u < 0.43)
    is_typo = (u >= 0.43) & (u < 0.45)
    comp_idx = order[rng.choice(companies, size=n_base, p=weights)]
    free_names = list(FREEMAIL)
    free_p = np.array(list(FREEMAIL.values()))
    free_idx = rng.choice(len(free_names), size=n_base, p=free_p / free_p.sum())
    first = rng.integers(0, len(FIRST), n_base)
    last = rng.integers(0, len(LAST), n_base)
    num = rng.integers(0, 10000, n_base)
    style = rng.integers(0, 10, n_base)
    typo_keys = list(TYPOS)
    tk = rng.integers(0, len(typo_keys), n_base)
    tv = rng.integers(0, 4, n_base)
    inv = rng.integers(0, len(INVALID), n_base)

    emails: list[str] = []
    for i in range(n_base):
        f, la = FIRST[first[i]], LAST[last[i]]
        s = style[i]
        if s < 4:
            local = f"{f}.{la}"
        elif s < 6:
            local = f"{f[0]}.{la}{num[i]}"
        elif s < 8:
            local = f"{f}{la}{num[i] % 100}"
        elif s == 8:
            local = f"{f}_{la}+news"
        else:
            local = ROLES[num[i] % len(ROLES)]
        if is_free[i]:
            domain = free_names[free_idx[i]]
        elif is_typo[i]:
            opts = TYPOS[typo_keys[tk[i]]]
            domain = opts[tv[i] % len(opts)]
        else:
            domain = comp[comp_idx[i]]
        if is_invalid[i]:
            emails.append(INVALID[inv[i]].format(l=local, d=domain))
        else:
            emails.append(f"{local}@{domain}")

    # duplicates of earlier rows by case or whitespace, spread through the list
    src = rng.integers(0, n_base, n_dup)
    how = rng.integers(0, 4, n_dup)
    for s, h in zip(src, how, strict=True):
        e = emails[s]
        emails.append(
            e.upper() if h == 0 else e.title() if h == 1 else f" {e}" if h == 2 else f"{e}\t"
        )
    out = [emails[i] for i in rng.permutation(len(emails))]
    kinds = dict(zip(comp, kind.tolist(), strict=True))
    return out, zone, kinds
