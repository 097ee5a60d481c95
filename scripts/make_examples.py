#!/usr/bin/env python3
"""Generate listcare's bundled example data, deterministically.

    python3 scripts/make_examples.py [--as-of 2026-11-01] [--out listcare/data/examples]

Writes a messy contact list (``contacts.csv``, UTF-8 with ``,``; ``contacts_de.csv``, a
German Excel-style export of part of it in Windows-1252 with ``;``), a matching Postfix
log (``postfix.log``, the 30 days up to *as_of*), three bounce emails (``bounces/``) and an
Amazon SES notification export (``ses.json``). Same arguments, same bytes: everything
comes from one seeded ``random.Random`` and no clock is read.

The story behind the data: contacts go bad at a constant hazard of 2.1% a month (the
MarketingSherpa figure listcare's decay model starts from), a little faster for
purchased and trade-fair contacts, slower for whitepaper downloads. Every address has a
hidden "went bad" date drawn from that hazard; whenever the log mails an address after
that date, the receiving provider answers the way it really does (Gmail 5.1.1, Outlook
5.5.0, GMX/WEB.DE's plain "mailbox unavailable", ...). Live addresses are delivered,
with the usual greylisting, throttling, full mailboxes and an IP block or two.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import math
import os
import random
import sys
import textwrap
import unicodedata
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

SEED = 20261101
N_CONTACTS = 3000
MONTHLY_HAZARD = 0.021  # MarketingSherpa's 2.1% a month
DAYS_PER_MONTH = 365.25 / 12
#: relative decay speed by acquisition channel (weighted mean close to 1)
SOURCES = {  # name: (share, hazard multiplier)
    "web-form": (0.45, 0.95),
    "whitepaper": (0.25, 0.85),
    "trade-fair": (0.20, 1.10),
    "purchased": (0.10, 1.50),
}

# main.cf of the example's bulk mailer: give up on a full mailbox after 2 days, retry at
# most every 4 hours (Postfix defaults: maximal_queue_lifetime=5d, maximal_backoff_time=4000s)
QUEUE_LIFETIME_DAYS = 2
MAX_BACKOFF = 14400

OUR_HOST = "mail.example.com"
OUR_IP = "203.0.113.25"  # RFC 5737 documentation range
SENDER = "newsletter-bounces@news.example.com"
FROM_HEADER = "Beispiel Versand <newsletter@news.example.com>"

FIRST = [
    "Jürgen", "Jörg", "Björn", "Sören", "Günther", "Änne", "Käthe", "Jürgen", "Anna", "Lena",
    "Lukas", "Leon", "Paul", "Marie", "Sophie", "Felix", "Jonas", "Laura", "Julia", "Sarah",
    "Thomas", "Michael", "Andreas", "Stefan", "Christian", "Sabine", "Petra", "Monika",
    "Katrin", "Susanne", "Markus", "Frank", "Martin", "Tobias", "Daniel", "Nicole", "Birgit",
    "Ute", "Heike", "Ralf", "Uwe", "Dirk", "Maximilian", "Emma", "Mia", "Hannah", "Noah",
    "Elias", "Zoë", "René", "José", "Chloé", "François", "Ömer", "Çagla",
    "Ilse", "Gerd", "Hans-Peter", "Karl-Heinz", "Anne-Marie", "Maja", "Ida", "Oskar",
]
LAST = [
    "Müller", "Schmidt", "Schneider", "Fischer", "Weber", "Meyer", "Wagner", "Becker",
    "Schulz", "Hoffmann", "Schäfer", "Koch", "Bauer", "Richter", "Klein", "Wolf", "Schröder",
    "Neumann", "Schwarz", "Zimmermann", "Braun", "Krüger", "Hofmann", "Hartmann", "Lange",
    "Schmitt", "Werner", "Schmitz", "Krause", "Meier", "Lehmann", "Schmid", "Schulze",
    "Maier", "Köhler", "Herrmann", "König", "Walter", "Mayer", "Huber", "Kaiser", "Fuchs",
    "Peters", "Lang", "Scholz", "Möller", "Weiß", "Jung", "Hahn", "Schubert", "Vogel",
    "Friedrich", "Keller", "Günther", "Frank", "Berger", "Winkler", "Roth", "Beck", "Böhm",
    "Groß", "Jäger", "Dubois", "García", "Rossi", "Kowalski", "Nowak", "Novák", "de Vries",
    "O'Brien", "Smith", "Jansen", "Öztürk", "Yildiz", "Nguyen",
]
BRANCHES = [
    "bau", "logistik", "consulting", "maschinenbau", "elektro", "software", "immobilien",
    "druck", "metall", "medien", "steuerberatung", "versand", "design", "holz", "pharma",
    "it", "technik", "handel", "service", "partner",
]
LEGAL = ["GmbH", "GmbH & Co. KG", "AG", "KG", "e.K.", "GmbH", "UG (haftungsbeschränkt)"]
COMPANY_TLDS = ["de", "de", "de", "de", "com", "at", "ch", "eu", "net", "de"]
FREEMAIL = [  # domain: weight (German B2B/B2C list)
    ("gmail.com", 16), ("gmx.de", 14), ("web.de", 13), ("t-online.de", 8),
    ("outlook.com", 5), ("hotmail.com", 4), ("yahoo.com", 3), ("gmx.net", 4),
    ("freenet.de", 2), ("icloud.com", 2), ("outlook.de", 2), ("hotmail.de", 2),
    ("yahoo.de", 2), ("posteo.de", 1), ("mail.de", 1),
]
TYPO_DOMAINS = [  # (typed, meant)
    ("gmial.com", "gmail.com"), ("gmx.dee", "gmx.de"), ("gmaill.com", "gmail.com"),
    ("web.dee", "web.de"), ("wbe.de", "web.de"), ("t-onlin.de", "t-online.de"),
    ("hotmial.com", "hotmail.com"), ("yahooo.com", "yahoo.com"), ("outlok.com", "outlook.com"),
    ("gmx.ed", "gmx.de"), ("gamil.com", "gmail.com"), ("googlemail.con", "googlemail.com"),
]
DISPOSABLE = ["mailinator.com", "trashmail.com", "10minutemail.com", "guerrillamail.com",
              "wegwerfmail.de", "yopmail.com"]
ROLES = ["info", "vertrieb", "kontakt", "sales", "office", "buchhaltung", "einkauf",
         "marketing", "service", "noreply", "support", "team", "zentrale"]
BAD_SYNTAX = [
    "max.mustermann@", "anna..schmidt@gmx.de", "peter mueller@web.de", "info@@firma.de",
    "kontakt(at)beispiel.de", "keine Angabe", "julia@gmx", ".hans@web.de", "lisa.@gmail.com",
    "-", "k.lange@web.de.", "tom@mail..de", "@gmail.com", "susi@gmx,de",
    "bernd.meier@ gmx.de", "n/a", "vorname.nachname@firma", "mia@@web.de", "otto@web_de",
    "claudia;mueller@gmx.de", "sven@t-online", "x@y", "ralf@[300.1.2.3]", "heike@web .de",
]
IDN_COMPANIES = ["bäckerei-köhler.de", "müller-söhne.de", "grün-gärten.de"]
NOTES = [
    "Messe München 2024, Stand B3", "Rückruf erwünscht", "VIP", "hat Whitepaper \"Datenqualität\" geladen",
    "Ansprechpartner Einkauf; bitte nur per E-Mail", "Kunde seit 2019", "Newsletter abbestellt?",
    "Adresse geändert,\nneue Firma ab 2025", "=SUMME(A1:A3)", "Interesse: Software, Beratung",
]

# ---------------------------------------------------------------- providers (log texts)
PROVIDERS = {
    "gmail.com": {
        "relay": "gmail-smtp-in.l.google.com[142.250.102.27]:25",
        "sent": "250 2.0.0 OK  {ts} {gid} - gsmtp",
        "unknown": ("5.1.1", "550-5.1.1 The email account that you tried to reach does not exist. Please try 550-5.1.1 double-checking the recipient's email address for typos or 550-5.1.1 unnecessary spaces. For more information, go to 550 5.1.1  https://support.google.com/mail/?p=NoSuchUser {gid} - gsmtp", "RCPT TO"),
        "disabled": ("5.2.1", "550-5.2.1 The email account that you tried to reach is inactive. For more 550-5.2.1 information, go to 550 5.2.1  https://support.google.com/mail/?p=DisabledUser {gid} - gsmtp", "RCPT TO"),
        "full": ("4.2.2", "452-4.2.2 The recipient's inbox is out of storage space. Please direct the 452-4.2.2 recipient to 452 4.2.2  https://support.google.com/mail/?p=OverQuotaTemp {gid} - gsmtp", "RCPT TO"),
        "throttle": ("4.7.28", "421-4.7.28 [203.0.113.25      15] Our system has detected an unusual rate of 421-4.7.28 unsolicited mail originating from your IP address. To protect our 421-4.7.28 users from spam, mail sent from your IP address has been temporarily 421-4.7.28 rate limited. For more information, go to 421 4.7.28  https://support.google.com/mail/?p=UnsolicitedRateLimitError {gid} - gsmtp", "end of DATA"),
    },
    "outlook.com": {
        "relay": "outlook-com.olc.protection.outlook.com[52.101.68.13]:25",
        "sent": "250 2.6.0 <{msgid}> [InternalId={iid}, Hostname=AM9PR04MB{host}.eurprd04.prod.outlook.com] {size} bytes in 0.{ms}, 298.112 KB/sec Queued mail for delivery",
        "unknown": ("5.5.0", "550 5.5.0 Requested action not taken: mailbox unavailable (S2017062302). [AM4PEPF00027A{host}.eurprd04.prod.outlook.com {iso}]", "RCPT TO"),
        "disabled": ("5.2.1", "550 5.2.1 The email account that you tried to reach is disabled. (S2017062302). [AM4PEPF00027A{host}.eurprd04.prod.outlook.com {iso}]", "RCPT TO"),
        "full": ("4.2.2", "452 4.2.2 The recipient's mailbox is full and can't accept messages now. Please try resending this message later, or contact the recipient directly. [AM4PEPF00027A{host}.eurprd04.prod.outlook.com {iso}]", "RCPT TO"),
        "block": ("5.7.1", "550 5.7.1 Unfortunately, messages from [203.0.113.25] weren't sent. Please contact your Internet service provider since part of their network is on our block list (S3150). You can also refer your provider to http://mail.live.com/mail/troubleshooting.aspx#errors. [AM4PEPF00027A{host}.eurprd04.prod.outlook.com {iso}]", "MAIL FROM"),
    },
    "gmx": {  # GMX and WEB.DE (1&1 Mail & Media) answer without enhanced codes
        "relay": "mx00.emig.gmx.net[212.227.15.9]:25",
        "sent": "250 Requested mail action okay, completed: id={uid}",
        "unknown": ("5.0.0", "550 Requested action not taken: mailbox unavailable", "RCPT TO"),
        "disabled": ("5.0.0", "550 Requested action not taken: mailbox unavailable", "RCPT TO"),
        "full": ("4.0.0", "452 Requested action not taken: insufficient system storage", "RCPT TO"),
    },
    "web.de": {
        "relay": "mx-ha03.web.de[212.227.15.17]:25",
        "sent": "250 Requested mail action okay, completed: id={uid}",
        "unknown": ("5.0.0", "550 Requested action not taken: mailbox unavailable", "RCPT TO"),
        "disabled": ("5.0.0", "550 Requested action not taken: mailbox unavailable", "RCPT TO"),
        "full": ("4.0.0", "452 Requested action not taken: insufficient system storage", "RCPT TO"),
    },
    "t-online.de": {
        "relay": "mx00.t-online.de[194.25.134.8]:25",
        "sent": "250 2.0.0 Message accepted (Ok: queued as {uid})",
        "unknown": ("5.1.1", "550 5.1.1 <{rcpt}>: Recipient address rejected: User unknown", "RCPT TO"),
        "disabled": ("5.2.1", "550 5.2.1 <{rcpt}>: Mailbox disabled for this recipient", "RCPT TO"),
        "full": ("4.2.2", "452 4.2.2 <{rcpt}>: Mailbox full", "RCPT TO"),
        "block": ("5.0.0", "554 IP=203.0.113.25 - A problem occurred. (Ask your postmaster for help or to contact tosa@rx.t-online.de to clarify.) (BL)", "MAIL FROM"),
    },
    "yahoo": {
        "relay": "mta7.am0.yahoodns.net[67.195.204.72]:25",
        "sent": "250 ok dirdel",
        "unknown": ("5.0.0", "554 delivery error: dd This user doesn't have a yahoo.com account ({rcpt}) [0] - mta{n}.mail.ir2.yahoo.com", "end of DATA"),
        "disabled": ("5.0.0", "554 delivery error: dd Sorry your message to {rcpt} cannot be delivered. This mailbox is disabled (554.30). - mta{n}.mail.ir2.yahoo.com", "end of DATA"),
        "full": ("4.0.0", "452 Mailbox is full - mta{n}.mail.ir2.yahoo.com", "RCPT TO"),
        "throttle": ("4.7.0", "421 4.7.0 [TSS04] Messages from 203.0.113.25 temporarily deferred due to unexpected volume or user complaints - 4.16.55.1; see https://postmaster.yahooinc.com/error-codes", "MAIL FROM"),
    },
    "icloud.com": {
        "relay": "mx01.mail.icloud.com[17.57.154.6]:25",
        "sent": "250 2.0.0 Ok: queued as {uid}",
        "unknown": ("5.1.1", "550 5.1.1 <{rcpt}>: user does not exist", "RCPT TO"),
        "disabled": ("5.2.1", "550 5.2.1 <{rcpt}>: user account is disabled", "RCPT TO"),
        "full": ("4.2.2", "452 4.2.2 <{rcpt}>: mailbox is full", "RCPT TO"),
    },
    "freenet.de": {
        "relay": "mx.freenet.de[195.4.92.217]:25",
        "sent": "250 OK id={uid}",
        "unknown": ("5.1.1", "550 5.1.1 <{rcpt}>... User unknown", "RCPT TO"),
        "disabled": ("5.2.1", "550 5.2.1 <{rcpt}>... Mailbox disabled", "RCPT TO"),
        "full": ("4.2.2", "452 4.2.2 <{rcpt}>... Mailbox full", "RCPT TO"),
    },
    "postfix": {  # a company's own Postfix
        "relay": "mail.{domain}[{ip}]:25",
        "sent": "250 2.0.0 Ok: queued as {uid}",
        "unknown": ("5.1.1", "550 5.1.1 <{rcpt}>: Recipient address rejected: User unknown in virtual mailbox table", "RCPT TO"),
        "disabled": ("5.1.1", "550 5.1.1 <{rcpt}>: Recipient address rejected: User unknown in local recipient table", "RCPT TO"),
        "full": ("4.2.2", "452 4.2.2 <{rcpt}> Quota exceeded (mailbox for user is full)", "RCPT TO"),
        "grey": ("4.2.0", "450 4.2.0 <{rcpt}>: Recipient address rejected: Greylisted, see http://postgrey.schweikert.ch/help/{domain}.html", "RCPT TO"),
        "block": ("5.7.1", "554 5.7.1 Service unavailable; Client host [203.0.113.25] blocked using zen.spamhaus.org; https://www.spamhaus.org/query/ip/203.0.113.25", "RCPT TO"),
    },
    "exim": {  # a company's Exim gateway: accepts, then bounces by email (see exim_bounce)
        "relay": "mx1.{domain}[{ip}]:25",
        "sent": "250 OK id=1t{n}-000{n}-AB",
    },
    "exchange": {  # a company on Exchange / Microsoft 365
        "relay": "{slug}-de.mail.protection.outlook.com[52.101.73.{n}]:25",
        "sent": "250 2.6.0 <{msgid}> [InternalId={iid}, Hostname=FR3P281MB{host}.DEUP281.PROD.OUTLOOK.COM] {size} bytes in 0.{ms}, 212.704 KB/sec Queued mail for delivery",
        "unknown": ("5.1.10", "550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient {rcpt} not found by SMTP address lookup", "RCPT TO"),
        "disabled": ("5.2.1", "550 5.2.1 Mailbox cannot be accessed [FR3P281MB{host}.DEUP281.PROD.OUTLOOK.COM {iso}]", "RCPT TO"),
        "full": ("4.2.2", "452 4.2.2 Mailbox full [FR3P281MB{host}.DEUP281.PROD.OUTLOOK.COM {iso}]", "RCPT TO"),
    },
}
PROVIDER_OF = {
    "gmail.com": "gmail.com", "googlemail.com": "gmail.com",
    "outlook.com": "outlook.com", "hotmail.com": "outlook.com", "outlook.de": "outlook.com",
    "hotmail.de": "outlook.com",
    "gmx.de": "gmx", "gmx.net": "gmx", "web.de": "web.de", "t-online.de": "t-online.de",
    "yahoo.com": "yahoo", "yahoo.de": "yahoo", "icloud.com": "icloud.com",
    "freenet.de": "freenet.de", "posteo.de": "postfix", "mail.de": "postfix",
}
MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]


def ascii_part(name: str) -> str:
    """Local-part spelling of a name: German transliteration, then accents dropped."""
    for a, b in (("ä", "ae"), ("ö", "oe"), ("ü", "ue"), ("Ä", "Ae"), ("Ö", "Oe"),
                 ("Ü", "Ue"), ("ß", "ss")):
        name = name.replace(a, b)
    name = unicodedata.normalize("NFKD", name)
    name = "".join(c for c in name if not unicodedata.combining(c))
    return "".join(c for c in name.lower() if c.isalnum() or c in "-.")


def weighted(rng: random.Random, pairs):
    total = sum(w for _, w in pairs)
    x = rng.random() * total
    for item, w in pairs:
        x -= w
        if x < 0:
            return item
    return pairs[-1][0]


# ------------------------------------------------------------------------------ contacts
def make_companies(rng: random.Random) -> list[dict]:
    companies, seen = [], set()
    while len(companies) < 260:
        last = rng.choice(LAST)
        branch = rng.choice(BRANCHES)
        slug = f"{ascii_part(last).replace('.', '')}-{branch}".replace(" ", "")
        tld = rng.choice(COMPANY_TLDS)
        domain = f"{slug}.{tld}"
        if domain in seen:
            continue
        seen.add(domain)
        companies.append({
            "domain": domain,
            "slug": slug.replace(".", "-"),
            "name": f"{last} {branch.capitalize()} {rng.choice(LEGAL)}",
            "mx": "exchange" if rng.random() < 0.35 else "postfix",
            "ip": f"198.51.100.{rng.randrange(2, 250)}",
        })
    # one company relays through an Exim gateway that accepts every recipient and bounces
    # the unknown ones later, by email (backscatter): the log says "sent" for them
    companies[3]["mx"] = "exim"
    for d in IDN_COMPANIES:
        companies.append({"domain": d, "slug": ascii_part(d.split(".")[0]), "name":
                          d.split(".")[0].replace("-", " ").title() + " GmbH", "mx": "postfix",
                          "ip": f"198.51.100.{rng.randrange(2, 250)}"})
    return companies


def local_part(rng: random.Random, first: str, last: str) -> str:
    f, la = ascii_part(first), ascii_part(last).replace(" ", "")
    pattern = rng.random()
    if pattern < 0.40:
        return f"{f}.{la}"
    if pattern < 0.55:
        return f"{f[0]}.{la}"
    if pattern < 0.65:
        return f"{f}{la}"
    if pattern < 0.80:
        return f"{f}.{la}{rng.randrange(1, 99)}"
    if pattern < 0.90:
        return f"{la}.{f}"
    return f"{f}_{la[:3]}{rng.randrange(60, 99)}"


def acquired_date(rng: random.Random, source: str, as_of: date) -> date:
    span = 4 * 365
    if source == "purchased":  # bought lists arrive in a few batches
        batches = [as_of - timedelta(days=d) for d in (1290, 820, 400, 95)]
        return rng.choice(batches)
    if source == "trade-fair":  # spring and autumn fairs, entered in the week after
        year = as_of.year - rng.randrange(0, 4)
        month = rng.choice([3, 10])
        d = date(year, month, 10) + timedelta(days=rng.randrange(0, 10))
        if d >= as_of or (as_of - d).days > span:
            d = as_of - timedelta(days=rng.randrange(30, span))
        return d
    return as_of - timedelta(days=rng.randrange(1, span))


def make_contacts(rng: random.Random, as_of: date) -> list[dict]:
    companies = make_companies(rng)
    company_w = [(c, 1.0 / (i + 1) ** 0.9) for i, c in enumerate(companies)]
    source_w = [(s, share) for s, (share, _) in SOURCES.items()]
    rows: list[dict] = []
    used: set[str] = set()

    def person():
        first, last = rng.choice(FIRST), rng.choice(LAST)
        source = weighted(rng, source_w)
        acquired = acquired_date(rng, source, as_of)
        if rng.random() < 0.15:
            contacted = ""
        else:
            days = (as_of - acquired).days
            contacted = (acquired + timedelta(days=rng.randrange(0, max(days, 1)))).isoformat()
        company = weighted(rng, company_w) if rng.random() < 0.5 else None
        return {
            "first": first, "last": last, "source": source, "acquired": acquired.isoformat(),
            "contacted": contacted, "company": company,
        }

    def unique(addr: str) -> str | None:
        key = addr.strip().lower()
        if key in used:
            return None
        used.add(key)
        return addr

    counts = {"bad": 24, "typo": 30, "role": 45, "disposable": 15, "empty": 3, "dup": 75}
    n_plain = N_CONTACTS - sum(counts.values())
    while len(rows) < n_plain:
        p = person()
        if p["company"] is not None:
            domain = p["company"]["domain"]
        else:
            domain = weighted(rng, FREEMAIL)
        addr = unique(f"{local_part(rng, p['first'], p['last'])}@{domain}")
        if addr:
            rows.append({**p, "email": addr, "kind": "plain"})
    extra = []
    for bad in BAD_SYNTAX[: counts["bad"]]:
        extra.append({**person(), "email": bad, "kind": "bad"})
    while sum(r["kind"] == "typo" for r in extra) < counts["typo"]:
        p = person()
        typo, _meant = rng.choice(TYPO_DOMAINS)
        addr = unique(f"{local_part(rng, p['first'], p['last'])}@{typo}")
        if addr:
            extra.append({**p, "company": None, "email": addr, "kind": "typo"})
    while sum(r["kind"] == "role" for r in extra) < counts["role"]:
        p = person()
        comp = weighted(rng, company_w)
        addr = unique(f"{rng.choice(ROLES)}@{comp['domain']}")
        if addr:
            extra.append({**p, "first": "", "last": "", "company": comp, "email": addr, "kind": "role"})
    while sum(r["kind"] == "disposable" for r in extra) < counts["disposable"]:
        p = person()
        addr = unique(f"{ascii_part(p['first'])}{rng.randrange(100, 999)}@{rng.choice(DISPOSABLE)}")
        if addr:
            extra.append({**p, "company": None, "source": "web-form", "email": addr, "kind": "disposable"})
    for _ in range(counts["empty"]):
        extra.append({**person(), "email": "", "kind": "empty"})
    for _ in range(counts["dup"]):  # the same person signed up again, typed differently
        orig = rng.choice(rows)
        addr = orig["email"]
        style = rng.random()
        if style < 0.4:
            local, _, dom = addr.partition("@")
            addr = f"{local.capitalize()}@{dom.capitalize()}"
        elif style < 0.7:
            addr = f" {addr} "
        elif style < 0.85:
            addr = addr.upper()
        else:
            addr = addr + " "
        p = person()
        extra.append({**orig, "source": p["source"], "acquired": p["acquired"],
                      "contacted": p["contacted"], "email": addr, "kind": "dup"})
    rows.extend(extra)
    rng.shuffle(rows)
    for i, r in enumerate(rows):
        r["notes"] = rng.choice(NOTES) if rng.random() < 0.03 else ""
        r["phone"] = phone(rng) if rng.random() < 0.4 else ""
        r["row"] = i
    return rows


def phone(rng: random.Random) -> str:
    style = rng.random()
    if style < 0.5:
        return f"+49 {rng.choice(['30', '40', '89', '221', '711', '151', '160', '171'])} {rng.randrange(100000, 9999999)}"
    if style < 0.8:
        return f"0{rng.randrange(30, 999)}/{rng.randrange(10000, 999999)}"
    return f"+49 (0){rng.randrange(30, 999)} {rng.randrange(100, 999)}-{rng.randrange(10, 9999)}"


def write_contacts_csv(rows, path: Path) -> None:
    buf = io.StringIO(newline="")
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["E-Mail", "Vorname", "Nachname", "company", "Telefon", "source",
                "acquired_at", "last_contacted_at", "notes"])
    for r in rows:
        w.writerow([r["email"], r["first"], r["last"], r["company"]["name"] if r["company"] else "",
                    r["phone"], r["source"], r["acquired"], r["contacted"], r["notes"]])
    path.write_bytes(buf.getvalue().encode("utf-8"))


def write_contacts_de(rows, path: Path) -> None:
    """The first 250 contacts as German Excel saves "CSV (Trennzeichen-getrennt)"."""
    buf = io.StringIO(newline="")
    w = csv.writer(buf, delimiter=";", lineterminator="\r\n")
    w.writerow(["E-Mail-Adresse", "Vorname", "Nachname", "Firma", "Telefon", "Quelle",
                "Erfasst am", "Zuletzt kontaktiert"])
    quelle = {"web-form": "Webformular", "trade-fair": "Messe", "whitepaper": "Whitepaper",
              "purchased": "Adresskauf"}

    def de(d):
        return f"{d[8:10]}.{d[5:7]}.{d[0:4]}" if d else ""

    for r in rows[:250]:
        w.writerow([r["email"], r["first"], r["last"], r["company"]["name"] if r["company"] else "",
                    r["phone"], quelle[r["source"]], de(r["acquired"]), de(r["contacted"])])
    path.write_bytes(buf.getvalue().encode("cp1252"))


# ------------------------------------------------------------------------------- fates
class World:
    """Who went bad when, and how each provider answers."""

    def __init__(self, rng: random.Random, rows, as_of: date):
        self.rng = rng
        self.as_of = as_of
        self.fate: dict[str, tuple[datetime, str]] = {}  # normalized -> (bad since, how)
        self.company = {}
        self.first_row = {}
        for r in rows:
            key = r["email"].strip().lower()
            if r["kind"] in ("bad", "empty") or key in self.first_row:
                continue
            self.first_row[key] = r
            if r["company"]:
                self.company[key] = r["company"]
            mult = SOURCES[r["source"]][1]
            rate = -math.log(1.0 - MONTHLY_HAZARD * mult)  # per month
            months = rng.expovariate(rate)
            start = datetime.fromisoformat(r["acquired"]).replace(tzinfo=UTC)
            bad_at = start + timedelta(days=months * DAYS_PER_MONTH)
            how = weighted(rng, [("unknown", 80), ("disabled", 10), ("full", 10)])
            if r["kind"] == "disposable" and rng.random() < 0.6:
                bad_at, how = start + timedelta(days=rng.randrange(1, 30)), "unknown"
            self.fate[key] = (bad_at, how)

    def provider(self, addr: str) -> tuple[str, dict, dict]:
        key = addr.strip().lower()
        domain = key.rsplit("@", 1)[-1]
        comp = self.company.get(key)
        if comp is not None:
            name = comp["mx"]
            ctx = {"domain": comp["domain"], "ip": comp["ip"], "slug": comp["slug"]}
        else:
            name = PROVIDER_OF.get(domain, "postfix")
            ctx = {"domain": domain, "ip": f"198.51.100.{sum(map(ord, domain)) % 240 + 5}",
                   "slug": domain.split(".")[0]}
        return name, PROVIDERS[name], ctx

    def state(self, addr: str, when: datetime) -> str:
        key = addr.strip().lower()
        bad_at, how = self.fate[key]
        return how if when >= bad_at else "ok"


# ----------------------------------------------------------------------------- postfix
class PostfixLog:
    def __init__(self, rng: random.Random, world: World, start: datetime, end: datetime):
        self.rng, self.world, self.start, self.end = rng, world, start, end
        self.lines: list[tuple[datetime, int, str]] = []
        self.seq = 0
        self.qids: set[str] = set()
        self.outcomes: list[dict] = []  # what happened, for the other example files

    def qid(self) -> str:
        while True:
            q = f"{self.rng.getrandbits(40):010X}"
            if q not in self.qids:
                self.qids.add(q)
                return q

    def emit(self, when: datetime, proc: str, text: str, pid: int | None = None) -> None:
        if when >= self.end:
            return
        self.seq += 1
        stamp = f"{MONTHS[when.month - 1]} {when.day:>2} {when:%H:%M:%S}"
        pid = pid or {"qmgr": 1187, "pickup": 23011, "master": 1021}.get(proc)
        if pid is None:
            pid = self.rng.randrange(2000, 32000)
        self.lines.append((when, self.seq, f"{stamp} mail postfix/{proc}[{pid}]: {text}"))

    def fill(self, tmpl: str, rcpt: str, when: datetime, qid: str, ctx: dict) -> str:
        r = self.rng
        return tmpl.format(
            rcpt=rcpt, domain=ctx["domain"], ip=ctx["ip"], slug=ctx["slug"],
            ts=int(when.timestamp()), gid=f"5b1f17b1804b1-4{r.getrandbits(36):09x}si{r.randrange(10**6, 10**7)}f8f.{r.randrange(1, 999)}",
            msgid=f"{when:%Y%m%d%H%M%S}.{qid}@{OUR_HOST}", iid=r.randrange(10**13, 10**14),
            host=f"{r.randrange(1000, 9999)}", size=r.randrange(18000, 42000), ms=f"{r.randrange(10, 999):03d}",
            iso=f"{when:%Y-%m-%dT%H:%M:%S}.{r.randrange(100, 999)}Z {r.getrandbits(64):016X}",
            uid=f"1M{r.getrandbits(48):012x}-1{r.getrandbits(40):010x}", n=r.randrange(1000, 9999),
        )

    def message(self, rcpt: str, when: datetime, subject: str, allow_block: str | None = None) -> None:
        """One message to one recipient, through Postfix's queue, with retries."""
        r = self.rng
        q = self.qid()
        size = r.randrange(18000, 42000)
        self.emit(when, "pickup", f"{q}: uid=1001 from=<{SENDER}>")
        self.emit(when, "cleanup", f"{q}: message-id=<{when:%Y%m%d%H%M%S}.{q}@{OUR_HOST}>")
        self.emit(when, "qmgr", f"{q}: from=<{SENDER}>, size={size}, nrcpt=1 (queue active)")
        name, prov, ctx = self.world.provider(rcpt)
        domain = rcpt.strip().lower().rsplit("@", 1)[-1]
        t = when + timedelta(seconds=r.uniform(0.01, 0.3))
        arrival = when
        typo = domain in {d for d, _ in TYPO_DOMAINS}
        relay = "none" if typo else prov["relay"].format(**ctx, n=r.randrange(1, 250))
        outcome = {"recipient": rcpt, "queue_id": q, "time": when, "subject": subject,
                   "provider": name, "domain": ctx["domain"]}
        attempt = 0
        while True:
            attempt += 1
            pid = 28000 + r.randrange(0, 20)  # one smtp(8) process per attempt
            conn, xfer = r.uniform(0.05, 0.6), r.uniform(0.1, 1.2)
            t += timedelta(seconds=conn + xfer)
            before = (t - arrival).total_seconds() - conn - xfer
            delay = before + conn + xfer
            delays = f"{before * 0.9:.2g}/{before * 0.1:.2g}/{conn:.2g}/{xfer:.2g}"
            head = f"{q}: to=<{rcpt}>, relay={relay}, delay={delay:.1f}, delays={delays}"
            if typo:
                self.emit(t, "smtp", pid=pid, text=f"{q}: to=<{rcpt}>, relay=none, delay={delay:.1f}, delays={delays}, dsn=5.4.4, "
                          f"status=bounced (Host or domain name not found. Name service error for name={domain} type=MX: Host not found)")
                self.bounced(q, t, outcome, "5.4.4", "hostunknown")
                return
            state = self.world.state(rcpt, t)
            if name == "exim" and state != "ok":
                self.emit(t, "smtp", pid=pid, text=f"{head}, dsn=2.0.0, status=sent ({self.fill(prov['sent'], rcpt, t, q, ctx)})")
                self.emit(t, "qmgr", f"{q}: removed")
                self.outcomes.append({**outcome, "status": "sent", "dsn": "2.0.0", "at": t,
                                      "how": "accepted_then_bounced"})
                return
            if allow_block and state == "ok":
                code, text, stage = prov["block"]
                self.emit(t, "smtp", pid=pid, text=f"{head}, dsn={code}, status=bounced (host {relay.rsplit(':', 1)[0]} said: "
                          f"{self.fill(text, rcpt, t, q, ctx)} (in reply to {stage} command))")
                self.bounced(q, t, outcome, code, "block")
                return
            if state == "ok" and attempt == 1:
                roll = r.random()
                temp = None
                if roll < 0.006 and "grey" in prov:
                    temp = "grey"
                elif roll < 0.012 and "throttle" in prov:
                    temp = "throttle"
                elif roll < 0.018:
                    temp = "full"
                elif roll < 0.022:
                    temp = "timeout"
                if temp:
                    self.deferred(q, t, head, prov, temp, rcpt, ctx, relay, pid)
                    t += timedelta(seconds=r.choice([300, 600, 1200, 2400]) + r.uniform(0, 60))
                    continue
            if state == "ok":
                tls = r.random() < 0.15
                if tls:
                    self.emit(t, "smtp", pid=pid, text=f"Trusted TLS connection established to {relay.rsplit(':', 1)[0]}:25: TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits) key-exchange X25519 server-signature RSA-PSS (2048 bits) server-digest SHA256")
                self.emit(t, "smtp", pid=pid, text=f"{head}, dsn=2.0.0, status=sent ({self.fill(prov['sent'], rcpt, t, q, ctx)})")
                self.emit(t, "qmgr", f"{q}: removed")
                self.outcomes.append({**outcome, "status": "sent", "dsn": "2.0.0", "at": t})
                return
            if state == "full":
                self.deferred(q, t, head, prov, "full", rcpt, ctx, relay, pid)
                backoff = min(MAX_BACKOFF, 300 * 2 ** (attempt - 1))
                t += timedelta(seconds=backoff + r.uniform(0, 120))
                if (t - arrival).days >= QUEUE_LIFETIME_DAYS:
                    self.emit(t, "qmgr", f"{q}: from=<{SENDER}>, status=expired, returned to sender")
                    self.bounced(q, t, outcome, "4.2.2", "expired", already_logged=True)
                    return
                continue
            code, text, stage = prov[state]
            said = self.fill(text, rcpt, t, q, ctx)
            self.emit(t, "smtp", pid=pid, text=f"{head}, dsn={code}, status=bounced (host {relay.rsplit(':', 1)[0]} said: "
                      f"{said} (in reply to {stage} command))")
            self.bounced(q, t, outcome, code, state, text=said)
            return

    def deferred(self, q, t, head, prov, temp, rcpt, ctx, relay, pid):
        if temp == "timeout" or temp not in prov:
            host = relay.rsplit(":", 1)[0]
            self.emit(t, "smtp", pid=pid, text=f"connect to {host}:25: Connection timed out")
            self.emit(t, "smtp", pid=pid, text=f"{head.replace(f'relay={relay}', 'relay=none')}, dsn=4.4.1, status=deferred (connect to {host}:25: Connection timed out)")
            return
        code, text, stage = prov[temp]
        self.emit(t, "smtp", pid=pid, text=f"{head}, dsn={code}, status=deferred (host {relay.rsplit(':', 1)[0]} said: "
                  f"{self.fill(text, rcpt, t, q, ctx)} (in reply to {stage} command))")
        self.outcomes.append({"recipient": rcpt, "queue_id": q, "status": "deferred", "dsn": code,
                              "at": t, "how": temp})

    def bounced(self, q, t, outcome, code, how, *, already_logged=False, text=""):
        r = self.rng
        n = self.qid()
        t2 = t + timedelta(seconds=r.uniform(0.01, 0.2))
        self.emit(t2, "bounce", f"{q}: sender non-delivery notification: {n}")
        self.emit(t2, "cleanup", f"{n}: message-id=<{t2:%Y%m%d%H%M%S}.{n}@{OUR_HOST}>")
        self.emit(t2, "qmgr", f"{n}: from=<>, size={r.randrange(4000, 9000)}, nrcpt=1 (queue active)")
        self.emit(t2, "qmgr", f"{q}: removed")
        self.emit(t2 + timedelta(seconds=0.05), "local",
                  f"{n}: to=<{SENDER}>, relay=local, delay=0.06, delays=0.01/0.01/0/0.04, dsn=2.0.0, status=sent (delivered to mailbox)")
        self.emit(t2 + timedelta(seconds=0.05), "qmgr", f"{n}: removed")
        self.outcomes.append({**outcome, "status": "expired" if how == "expired" else "bounced",
                              "dsn": code, "at": t, "how": how, "text": text, "dsn_qid": n})

    def noise(self) -> None:
        r = self.rng
        day = self.start
        while day < self.end:
            for _ in range(r.randrange(15, 40)):  # inbound spam attempts and scanners
                t = day + timedelta(seconds=r.randrange(0, 86400))
                ip = f"{r.choice([45, 80, 91, 141, 185, 193, 194])}.{r.randrange(1, 255)}.{r.randrange(1, 255)}.{r.randrange(1, 255)}"
                sp = r.randrange(2000, 32000)
                self.emit(t, "smtpd", f"connect from unknown[{ip}]", pid=sp)
                kind = r.random()
                if kind < 0.35:
                    victim = f"{r.choice(['admin', 'test', 'info', 'sales', 'j.doe'])}@{r.choice(['gmail.com', 'example.org', 'yahoo.com'])}"
                    self.emit(t, "smtpd", f"NOQUEUE: reject: RCPT from unknown[{ip}]: 454 4.7.1 <{victim}>: Relay access denied; from=<spam@{r.choice(['mailer.ru', 'promo.example.net'])}> to=<{victim}> proto=ESMTP helo=<{r.choice(['ylmf-pc', 'User', 'win-1'])}>", pid=sp)
                    self.emit(t, "smtpd", f"disconnect from unknown[{ip}] ehlo=1 mail=1 rcpt=0/1 quit=1 commands=3/4", pid=sp)
                elif kind < 0.7:
                    self.emit(t, "smtpd", f"warning: unknown[{ip}]: SASL LOGIN authentication failed: UGFzc3dvcmQ6", pid=sp)
                    self.emit(t, "smtpd", f"lost connection after AUTH from unknown[{ip}]", pid=sp)
                    self.emit(t, "smtpd", f"disconnect from unknown[{ip}] ehlo=1 auth=0/1 commands=1/2", pid=sp)
                else:
                    self.emit(t, "smtpd", f"disconnect from unknown[{ip}] ehlo=1 quit=1 commands=2", pid=sp)
            t = day + timedelta(hours=r.randrange(0, 24), minutes=r.randrange(0, 60))
            self.emit(t, "anvil", f"statistics: max connection rate 2/60s for (smtp:185.{r.randrange(1, 255)}.{r.randrange(1, 255)}.{r.randrange(1, 255)}) at {MONTHS[t.month - 1]} {t.day:>2} {t:%H:%M:%S}")
            self.emit(day + timedelta(hours=3, minutes=17), "master", "reload -- version 3.7.11, configuration /etc/postfix")
            day += timedelta(days=1)

    def text(self) -> str:
        self.lines.sort(key=lambda x: (x[0], x[1]))
        return "".join(line + "\n" for _, _, line in self.lines)


def make_log(rng: random.Random, world: World, rows, as_of: date):
    end = datetime(as_of.year, as_of.month, as_of.day, tzinfo=UTC)
    start = end - timedelta(days=30)
    log = PostfixLog(rng, world, start, end)
    mailable = []
    seen = set()
    for r in rows:
        key = r["email"].strip().lower()
        if r["kind"] in ("bad", "empty") or key in seen:
            continue
        seen.add(key)
        mailable.append(r["email"].strip())
    # campaign 1: the October newsletter to everyone, about one message a second
    c1 = start + timedelta(days=4, hours=9)
    order = mailable[:]
    rng.shuffle(order)
    for i, addr in enumerate(order):
        log.message(addr, c1 + timedelta(seconds=i * 1.1 + rng.uniform(0, 0.9)), "Newsletter Oktober")
    # reminders (three more mails over two weeks) to part of the list: a full mailbox is
    # then deferred on several different days, as the soft-bounce rule needs
    reminder = [a for a in mailable if world.state(a, c1) == "full"][:40]
    reminder += rng.sample(mailable, 60)
    for k, offset in enumerate((7, 12, 18)):
        t0 = start + timedelta(days=4 + offset, hours=14)
        for i, addr in enumerate(reminder):
            log.message(addr, t0 + timedelta(seconds=i * 1.3 + k), f"Erinnerung {k + 1}")
    # campaign 2: a webinar invitation to a segment; t-online blocks our IP for the
    # first messages of it (a reputation alert, not a bad address)
    c2 = start + timedelta(days=25, hours=10)
    segment = rng.sample(mailable, 900)
    blocked = 0
    for i, addr in enumerate(segment):
        block = None
        name, prov, _ = world.provider(addr)
        if name == "t-online.de" and blocked < 15:
            block, blocked = "t-online", blocked + 1
        elif name == "postfix" and "block" in prov and rng.random() < 0.03:
            block = "spamhaus"
        log.message(addr, c2 + timedelta(seconds=i * 1.05), "Webinar-Einladung", allow_block=block)
    # transactional trickle: a few mails every day
    day = start
    while day < end:
        for _ in range(rng.randrange(3, 9)):
            addr = rng.choice(mailable)
            log.message(addr, day + timedelta(seconds=rng.randrange(6 * 3600, 22 * 3600)), "Ihre Bestellung")
        day += timedelta(days=1)
    log.noise()
    return log


# ----------------------------------------------------------------------- bounce mails
def rfc2822(t: datetime) -> str:
    return f"{['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'][t.weekday()]}, {t.day} {MONTHS[t.month - 1]} {t.year} {t:%H:%M:%S} +0000"


def crlf(text: str) -> bytes:
    return text.replace("\n", "\r\n").encode("utf-8")


def postfix_dsn(o: dict) -> bytes:
    """RFC 3464 multipart/report as Postfix's bounce(8) writes it."""
    t = o["at"]
    q, n = o["queue_id"], o["dsn_qid"]
    host = OUR_HOST
    boundary = f"{q}.{int(t.timestamp())}/{host}"
    relay_host = o["relay_host"]
    # Postfix folds long lines of the notice and of the report's fields
    notice = textwrap.fill(f"<{o['recipient']}>: host {relay_host} said: {o['text']} (in reply to RCPT TO command)",
                           width=76, subsequent_indent="    ", break_long_words=False, break_on_hyphens=False)
    diagnostic = textwrap.fill(f"Diagnostic-Code: smtp; {o['text']}", width=76, subsequent_indent="    ",
                               break_long_words=False, break_on_hyphens=False)
    return crlf(f"""Return-Path: <>
X-Original-To: {SENDER}
Delivered-To: {SENDER}
Received: by {host} (Postfix)
	id {n}; {rfc2822(t)}
Date: {rfc2822(t)}
From: MAILER-DAEMON@{host} (Mail Delivery System)
Subject: Undelivered Mail Returned to Sender
To: {SENDER}
Auto-Submitted: auto-replied
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status;
	boundary="{boundary}"
Content-Transfer-Encoding: 8bit
Message-Id: <{t:%Y%m%d%H%M%S}.{n}@{host}>

This is a MIME-encapsulated message.

--{boundary}
Content-Description: Notification
Content-Type: text/plain; charset=us-ascii

This is the mail system at host {host}.

I'm sorry to have to inform you that your message could not
be delivered to one or more recipients. It's attached below.

For further assistance, please send mail to postmaster.

If you do so, please include this problem report. You can
delete your own text from the attached returned message.

                   The mail system

{notice}

--{boundary}
Content-Description: Delivery report
Content-Type: message/delivery-status

Reporting-MTA: dns; {host}
X-Postfix-Queue-ID: {q}
X-Postfix-Sender: rfc822; {SENDER}
Arrival-Date: {rfc2822(o['time'])}

Final-Recipient: rfc822; {o['recipient']}
Original-Recipient: rfc822;{o['recipient']}
Action: failed
Status: {o['dsn']}
Remote-MTA: dns; {relay_host.split('[')[0]}
{diagnostic}

--{boundary}
Content-Description: Undelivered Message Headers
Content-Type: text/rfc822-headers
Content-Transfer-Encoding: 8bit

Return-Path: <{SENDER}>
Received: by {host} (Postfix, from userid 1001)
	id {q}; {rfc2822(o['time'])}
From: {FROM_HEADER}
To: {o['recipient']}
Subject: {o['subject']}
Message-Id: <{o['time']:%Y%m%d%H%M%S}.{q}@{host}>
Date: {rfc2822(o['time'])}
List-Unsubscribe: <mailto:unsubscribe@news.example.com>
Precedence: bulk

--{boundary}--
""")


def exim_bounce(o: dict, company_host: str) -> bytes:
    """A plain-text Exim bounce from a company relay that accepted, then failed."""
    t = o["at"] + timedelta(minutes=2)
    rcpt = o["recipient"]
    return crlf(f"""Return-path: <>
Envelope-to: {SENDER}
Delivery-date: {rfc2822(t)}
Received: from mail by {company_host} with local (Exim 4.97)
	id 1t{t:%H%M%S}-00A1b2-C3
	for {SENDER};
	{rfc2822(t)}
X-Failed-Recipients: {rcpt}
Auto-Submitted: auto-replied
From: Mail Delivery System <Mailer-Daemon@{company_host}>
To: {SENDER}
Content-Type: text/plain; charset=us-ascii
Subject: Mail delivery failed: returning message to sender
Message-Id: <E1t{t:%H%M%S}-00A1b2-C3@{company_host}>
Date: {rfc2822(t)}

This message was created automatically by mail delivery software.

A message that you sent could not be delivered to one or more of its
recipients. This is a permanent error. The following address(es) failed:

  {rcpt}
    host mailstore.{o['domain']} [10.20.0.12]
    SMTP error from remote mail server after RCPT TO:<{rcpt}>:
    550 5.1.1 <{rcpt}>: Recipient address rejected: User unknown in local recipient table

------ This is a copy of the message, including all the headers. ------
------ The body of the message is 24107 characters long; only the first
------ 1024 or so are included here.

Return-path: <{SENDER}>
Received: from [{OUR_IP}] (helo={OUR_HOST})
	by {company_host} with esmtps  (TLS1.3) tls TLS_AES_256_GCM_SHA384
	(Exim 4.97)
	(envelope-from <{SENDER}>)
	id 1t{o['time']:%H%M%S}-00Zz9y-X8
	for {rcpt};
	{rfc2822(o['time'])}
From: {FROM_HEADER}
To: {rcpt}
Subject: {o['subject']}
Message-Id: <{o['time']:%Y%m%d%H%M%S}.{o['queue_id']}@{OUR_HOST}>
Date: {rfc2822(o['time'])}
MIME-Version: 1.0
Content-Type: text/plain; charset=utf-8

Guten Tag,

hier sind die Neuigkeiten des Monats ...
""")


def arf_report(rcpt: str, t: datetime, sent: datetime, subject: str, qid: str) -> bytes:
    """An RFC 5965 abuse report as a mailbox provider's feedback loop sends it."""
    boundary = f"----=_Part_{int(t.timestamp())}_ARF"
    return crlf(f"""Return-Path: <feedback@arf.mail.yahoo.com>
Received: from feedback.arf.mail.yahoo.com (feedback.arf.mail.yahoo.com [98.136.217.202])
	by {OUR_HOST} (Postfix) with ESMTPS id 7C1D2E3F40
	for <fbl@news.example.com>; {rfc2822(t)}
From: Yahoo! Mail AntiSpam Feedback <feedback@arf.mail.yahoo.com>
To: fbl@news.example.com
Subject: FW: {subject}
Date: {rfc2822(t)}
Message-ID: <{int(t.timestamp())}.cfl@arf.mail.yahoo.com>
MIME-Version: 1.0
Content-Type: multipart/report; report-type=feedback-report;
	boundary="{boundary}"

--{boundary}
Content-Type: text/plain; charset="US-ASCII"
Content-Transfer-Encoding: 7bit

This is an email abuse report for an email message received from IP
{OUR_IP} on {rfc2822(sent)}.
For more information about this format please see
http://www.mipassoc.org/arf/.

--{boundary}
Content-Type: message/feedback-report

Feedback-Type: abuse
User-Agent: Yahoo!-Mail-Feedback/2.0
Version: 1
Original-Mail-From: <{SENDER}>
Original-Rcpt-To: <{rcpt}>
Arrival-Date: {rfc2822(sent)}
Source-IP: {OUR_IP}
Reported-Domain: news.example.com
Authentication-Results: mta1042.mail.ir2.yahoo.com; dkim=pass header.d=news.example.com; spf=pass smtp.mailfrom=news.example.com; dmarc=pass header.from=news.example.com

--{boundary}
Content-Type: message/rfc822

Received: from {OUR_HOST} (EHLO {OUR_HOST}) ({OUR_IP})
	by mta1042.mail.ir2.yahoo.com with SMTPS; {rfc2822(sent)}
From: {FROM_HEADER}
To: {rcpt}
Subject: {subject}
Message-Id: <{sent:%Y%m%d%H%M%S}.{qid}@{OUR_HOST}>
Date: {rfc2822(sent)}
List-Unsubscribe: <mailto:unsubscribe@news.example.com>
MIME-Version: 1.0
Content-Type: text/plain; charset=utf-8

Guten Tag,

hier sind die Neuigkeiten des Monats ...

--{boundary}--
""")


# -------------------------------------------------------------------------------- SES
def ses_export(rng: random.Random, world: World, mailable: list[str], as_of: date) -> str:
    """Amazon SES notifications (the "Message" of each SNS notification), as exported."""
    end = datetime(as_of.year, as_of.month, as_of.day, tzinfo=UTC)
    notes = []
    chosen = rng.sample(mailable, 260)

    def iso(t):
        return f"{t:%Y-%m-%dT%H:%M:%S}.{rng.randrange(0, 999):03d}Z"

    def mid():
        return f"0102019{rng.getrandbits(40):010x}-{rng.getrandbits(32):08x}-{rng.getrandbits(16):04x}-{rng.getrandbits(16):04x}-{rng.getrandbits(16):04x}-{rng.getrandbits(48):012x}-000000"

    for i, addr in enumerate(chosen):
        sent = end - timedelta(days=28) + timedelta(minutes=i * 150 + rng.randrange(0, 60))
        mail = {
            "timestamp": iso(sent),
            "source": "Beispiel Shop <bestellung@shop.example.com>",
            "sourceArn": "arn:aws:ses:eu-central-1:123456789012:identity/shop.example.com",
            "sourceIp": "192.0.2.44",
            "callerIdentity": "ses-smtp-user.20250101-120000",
            "sendingAccountId": "123456789012",
            "messageId": mid(),
            "destination": [addr],
        }
        done = sent + timedelta(seconds=rng.uniform(0.5, 4))
        state = world.state(addr, done)
        name, prov, ctx = world.provider(addr)
        remote_ip = prov["relay"].format(**ctx, n=1).split("[", 1)[1].split("]", 1)[0]
        if state in ("unknown", "disabled"):
            if i % 7 == 3:
                note = {
                    "notificationType": "Bounce",
                    "bounce": {
                        "feedbackId": mid().replace("000000", "000001"),
                        "bounceType": "Permanent",
                        "bounceSubType": "Suppressed",
                        "bouncedRecipients": [{
                            "emailAddress": addr, "action": "failed", "status": "5.1.1",
                            "diagnosticCode": "Amazon SES has suppressed sending to this address because it has a recent history of bouncing as an invalid address. For more information about how to remove an address from the suppression list, see the Amazon SES Developer Guide: https://docs.aws.amazon.com/ses/latest/DeveloperGuide/remove-from-suppressionlist.html ",
                        }],
                        "timestamp": iso(done),
                        "reportingMTA": "dns; amazonses.com",
                    },
                }
            else:
                diag = {
                    "gmail.com": "smtp; 550-5.1.1 The email account that you tried to reach does not exist. Please try 550-5.1.1 double-checking the recipient's email address for typos or 550-5.1.1 unnecessary spaces. For more information, go to 550 5.1.1  https://support.google.com/mail/?p=NoSuchUser - gsmtp",
                    "outlook.com": "smtp; 550 5.5.0 Requested action not taken: mailbox unavailable (S2017062302).",
                    "gmx": "smtp; 550 Requested action not taken: mailbox unavailable",
                    "web.de": "smtp; 550 Requested action not taken: mailbox unavailable",
                }.get(name, f"smtp; 550 5.1.1 <{addr}>: Recipient address rejected: User unknown")
                note = {
                    "notificationType": "Bounce",
                    "bounce": {
                        "feedbackId": mid().replace("000000", "000001"),
                        "bounceType": "Permanent",
                        "bounceSubType": "General",
                        "bouncedRecipients": [{
                            "emailAddress": addr, "action": "failed",
                            "status": "5.1.1" if name not in ("gmx", "web.de") else "5.0.0",
                            "diagnosticCode": diag,
                        }],
                        "timestamp": iso(done),
                        "remoteMtaIp": remote_ip,
                        "reportingMTA": "dns; e226-55.smtp-out.eu-central-1.amazonses.com",
                    },
                }
        elif state == "full":
            note = {
                "notificationType": "Bounce",
                "bounce": {
                    "feedbackId": mid().replace("000000", "000001"),
                    "bounceType": "Transient",
                    "bounceSubType": "MailboxFull",
                    "bouncedRecipients": [{
                        "emailAddress": addr, "action": "failed", "status": "5.2.2",
                        "diagnosticCode": "smtp; 552 5.2.2 Mailbox full",
                    }],
                    "timestamp": iso(done + timedelta(hours=12)),
                    "reportingMTA": "dns; e226-55.smtp-out.eu-central-1.amazonses.com",
                },
            }
        elif i % 53 == 7:
            note = {
                "notificationType": "Complaint",
                "complaint": {
                    "feedbackId": mid().replace("000000", "000002"),
                    "complaintSubType": None,
                    "complainedRecipients": [{"emailAddress": addr}],
                    "timestamp": iso(done + timedelta(hours=5)),
                    "userAgent": "Mozilla/5.0 (Windows NT 10.0; Win64; x64)",
                    "complaintFeedbackType": "abuse",
                    "arrivalDate": iso(done),
                },
            }
        elif i % 41 == 11:
            note = {
                "notificationType": "Bounce",
                "bounce": {
                    "feedbackId": mid().replace("000000", "000001"),
                    "bounceType": "Transient",
                    "bounceSubType": "General",
                    "bouncedRecipients": [{
                        "emailAddress": addr, "action": "failed", "status": "4.4.7",
                        "diagnosticCode": "smtp; 421 4.4.7 Message expired: unable to deliver in 840 minutes.<421 4.4.0 Unable to lookup DNS for " + addr.split("@")[1] + ">",
                    }],
                    "timestamp": iso(done + timedelta(hours=14)),
                    "reportingMTA": "dns; e226-55.smtp-out.eu-central-1.amazonses.com",
                },
            }
        else:
            note = {
                "notificationType": "Delivery",
                "delivery": {
                    "timestamp": iso(done),
                    "processingTimeMillis": rng.randrange(400, 4000),
                    "recipients": [addr],
                    "smtpResponse": "250 2.0.0 OK" if name != "gmx" else "250 Requested mail action okay, completed",
                    "remoteMtaIp": remote_ip,
                    "reportingMTA": "e226-55.smtp-out.eu-central-1.amazonses.com",
                },
            }
        note["mail"] = mail
        notes.append(note)
    return json.dumps(notes, indent=2, ensure_ascii=False) + "\n"


README = """# Example data

Generated by `scripts/make_examples.py` (deterministic: same arguments, same bytes; no
clock is read). Regenerate with

    python3 scripts/make_examples.py --as-of {as_of} --out listcare/data/examples

`tests/test_examples.py` checks that the files here are exactly what the script writes.
Every address is invented; company domains are made up (some may exist by chance),
our own hosts use the reserved `example.com` and RFC 5737 addresses.

| file | what it is |
|---|---|
| `contacts.csv` | {n} contacts, UTF-8, `,`: `E-Mail`, `Vorname`, `Nachname`, `company`, `Telefon`, `source` (web-form, trade-fair, whitepaper, purchased), `acquired_at` (ISO dates over the last 4 years), `last_contacted_at` (empty for some), `notes` (a few with commas, a line break, a formula). Messy on purpose: {bad} invalid addresses, {typo} typo domains (gmial.com, gmx.dee, ...), {dup} duplicates differing in case or spaces, {role} role addresses (info@, vertrieb@, ...), {disp} disposable addresses (mailinator.com, ...), {empty} empty, umlauts in names and three IDN domains. |
| `contacts_de.csv` | the first 250 of them as German Excel saves "CSV (Trennzeichen-getrennt)": Windows-1252, `;`, CRLF, German headers and `TT.MM.JJJJ` dates. |
| `postfix.log` | {lines} lines of a Postfix mail log (classic syslog, no year) for the 30 days before {as_of}: a newsletter to everyone, three reminders, a webinar invitation to a segment and a daily trickle of order mails, plus inbound noise (relay denials, SASL scanners, anvil, reloads). Outcomes: {sent} `status=sent` (plus {local} local deliveries of bounce notices to the sender's mailbox), {bounced} `status=bounced`, {deferred} `status=deferred`, {expired} `status=expired`. Provider answers are the real texts (Gmail 5.1.1 NoSuchUser, Outlook 5.5.0 S2017062302, GMX/WEB.DE "mailbox unavailable" without enhanced code, T-Online's `(BL)` block, Spamhaus 5.7.1, Yahoo TSS04, greylisting, full mailboxes expiring after 2 days: `maximal_queue_lifetime = 2d`, `maximal_backoff_time = 4h`). |
| `bounces/postfix-dsn.eml` | RFC 3464 `multipart/report` DSN written by that Postfix for one of the log's hard bounces. |
| `bounces/exim-bounce.eml` | plain-text Exim bounce (`X-Failed-Recipients`) from the one company whose Exim gateway accepts every recipient and bounces the unknown ones afterwards: the log says `status=sent` for that message, only this email says it failed. |
| `bounces/arf-complaint.eml` | RFC 5965 abuse report (Yahoo feedback loop) for a newsletter recipient. |
| `ses.json` | {ses} Amazon SES notifications (the `Message` of each SNS notification: `notificationType` Bounce / Complaint / Delivery, `bounceType` Permanent / Transient, `bouncedRecipients` with `status` and `diagnosticCode`) for order mails sent through SES. |

The story: contacts go bad at a constant hazard of {hazard:.1%} a month (a little faster
for purchased and trade-fair contacts, slower for whitepaper downloads); a mail sent
after an address went bad bounces the way its provider really answers. The older the
contact, the likelier its first mail in the log bounces. One in ten dead addresses shows
up as a full mailbox (deferred, then expired: a soft bounce) rather than a hard bounce.

What a decay fit should find ({mailed} addresses mailed): a current-status fit of "hard
bounce at the first mailing in the log" against the contact's age then gives
{cs:.2%} a month (the {hazard:.1%} less the dead addresses that only soft-bounce). A fit
that takes the bounce date as the day the address died (right-censored at the last
delivery) gives {rc:.2%}: biased low, because a 30-day log sees deaths that happened
months or years before it.
"""


def decay_check(rows, outcomes, end: datetime) -> dict:
    """Monthly hazard estimated back from the log, two ways (written into the README).

    *current status*: each address is bad or not at its first mailing in the log, and
    P(bad at age a) = 1 - (1 - m) ** a; the maximum-likelihood m (golden-section search).
    *right-censored*: hard bounces / months of exposure up to the first hard bounce or
    the last delivery, i.e. the constant-hazard MLE that treats the bounce date as the
    day the address died -- biased low here, because the log only shows deaths that
    happened months or years before it.
    """
    acquired = {}
    for r in rows:
        if r["kind"] not in ("bad", "empty"):
            acquired.setdefault(r["email"].strip().lower(), datetime.fromisoformat(r["acquired"]).replace(tzinfo=UTC))
    first: dict[str, tuple[datetime, bool]] = {}
    hard_at: dict[str, datetime] = {}
    last_ok: dict[str, datetime] = {}
    for o in sorted((o for o in outcomes if o["at"] < end), key=lambda o: o["at"]):
        key = o["recipient"].strip().lower()
        hard = o["status"] == "bounced" and o.get("how") in ("unknown", "disabled")
        if o["status"] in ("sent", "bounced") and o.get("how") not in ("block", "hostunknown"):
            first.setdefault(key, (o["at"], hard))
        if hard:
            hard_at.setdefault(key, o["at"])
        elif o["status"] == "sent":
            last_ok[key] = o["at"]
    ages, dead = [], []
    for key, (t, hard) in first.items():
        ages.append((t - acquired[key]).total_seconds() / 86400 / DAYS_PER_MONTH)
        dead.append(hard)

    def nll(m):
        total = 0.0
        for a, d in zip(ages, dead, strict=True):
            p = min(max(1 - (1 - m) ** a, 1e-12), 1 - 1e-12)
            total -= math.log(p) if d else math.log(1 - p)
        return total

    lo, hi = 1e-4, 0.2
    for _ in range(60):
        m1, m2 = lo + (hi - lo) * 0.382, lo + (hi - lo) * 0.618
        if nll(m1) < nll(m2):
            hi = m2
        else:
            lo = m1
    exposure, events = 0.0, 0
    for key in first:
        end_t = hard_at.get(key) or last_ok.get(key)
        if end_t is None:
            continue
        exposure += (end_t - acquired[key]).total_seconds() / 86400 / DAYS_PER_MONTH
        events += key in hard_at
    return {"current_status": (lo + hi) / 2, "censored": events / exposure, "n": len(ages)}


def generate(out: Path, as_of: date) -> dict:
    rng = random.Random(SEED)
    out.mkdir(parents=True, exist_ok=True)
    (out / "bounces").mkdir(exist_ok=True)
    rows = make_contacts(rng, as_of)
    write_contacts_csv(rows, out / "contacts.csv")
    write_contacts_de(rows, out / "contacts_de.csv")
    world = World(rng, rows, as_of)
    log = make_log(rng, world, rows, as_of)
    text = log.text()
    (out / "postfix.log").write_bytes(text.encode("utf-8"))

    hard = [o for o in log.outcomes if o["status"] == "bounced" and o.get("how") in ("unknown", "disabled")]
    pf = next(o for o in hard if o["provider"] == "gmail.com")
    _name, prov, ctx = world.provider(pf["recipient"])
    pf = {**pf, "relay_host": prov["relay"].rsplit(":", 1)[0]}
    (out / "bounces" / "postfix-dsn.eml").write_bytes(postfix_dsn(pf))
    ex = next(o for o in log.outcomes if o.get("how") == "accepted_then_bounced")
    (out / "bounces" / "exim-bounce.eml").write_bytes(
        exim_bounce(ex, f"mx1.{world.provider(ex['recipient'])[2]['domain']}"))
    sent = [o for o in log.outcomes if o["status"] == "sent" and o.get("subject") == "Newsletter Oktober"
            and o["provider"] == "yahoo"]
    sent = sent or [o for o in log.outcomes if o["status"] == "sent"]
    c = sent[len(sent) // 2]
    (out / "bounces" / "arf-complaint.eml").write_bytes(
        arf_report(c["recipient"], c["at"] + timedelta(hours=20), c["time"], c["subject"], c["queue_id"]))

    first_spelling = {}
    for r in rows:  # first spelling of each address, in list order (no set: hash order varies)
        if r["kind"] not in ("bad", "empty"):
            first_spelling.setdefault(r["email"].strip().lower(), r["email"].strip())
    mailable = sorted(first_spelling.values(), key=lambda a: (a.lower(), a))
    ses = ses_export(rng, world, mailable, as_of)
    (out / "ses.json").write_bytes(ses.encode("utf-8"))

    statuses = {"sent": 0, "local": 0, "bounced": 0, "deferred": 0, "expired": 0}
    for line in text.splitlines():
        for s in ("sent", "bounced", "deferred", "expired"):
            if f"status={s}" in line:
                statuses["local" if "relay=local" in line else s] += 1
    check = decay_check(rows, log.outcomes, log.end)
    kinds = {}
    for r in rows:
        kinds[r["kind"]] = kinds.get(r["kind"], 0) + 1
    (out / "README.md").write_text(README.format(
        as_of=as_of.isoformat(), n=len(rows), bad=kinds["bad"], typo=kinds["typo"],
        dup=kinds["dup"], role=kinds["role"], disp=kinds["disposable"], empty=kinds["empty"],
        lines=len(log.lines), sent=statuses.get("sent", 0), bounced=statuses.get("bounced", 0),
        deferred=statuses.get("deferred", 0), expired=statuses.get("expired", 0),
        ses=len(json.loads(ses)), hazard=MONTHLY_HAZARD, local=statuses["local"],
        cs=check["current_status"], rc=check["censored"], mailed=check["n"],
    ), encoding="utf-8")
    return {"contacts": len(rows), "log_lines": len(log.lines), **statuses}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--as-of", default="2026-11-01", help="end of the log window (YYYY-MM-DD)")
    ap.add_argument("--out", default=os.path.join("listcare", "data", "examples"),
                    help="folder to write into (created if missing)")
    args = ap.parse_args(argv)
    try:
        as_of = date.fromisoformat(args.as_of)
    except ValueError:
        ap.error(f"--as-of must be a date like 2026-11-01, not {args.as_of!r}")
    stats = generate(Path(args.out), as_of)
    print(" ".join(f"{k}={v}" for k, v in stats.items()), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
