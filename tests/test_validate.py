"""listcare.validate end to end, DNS against the real test server (tests/dnsserver.py)."""

from __future__ import annotations

import time

import dns.resolver
import pandas as pd
import pytest

import listcare
from listcare import schema
from listcare.exceptions import ColumnError, InputError


def names(server):
    return server.names


# ---------------------------------------------------------------- shape and input
def test_columns_dtypes_order_and_index_are_kept():
    s = pd.Series(["b@example.org", " a@example.org", "x"], index=[7, 3, 5])
    r = listcare.validate(s, check_dns=False)
    assert list(r.columns) == list(schema.VALIDATION_COLUMNS)
    assert {c: str(t) for c, t in r.dtypes.items()} == {
        c: ("string" if t == "string" else t) for c, t in schema.VALIDATION_COLUMNS.items()
    }
    assert list(r.index) == [7, 3, 5]
    assert r["email"].tolist() == ["b@example.org", " a@example.org", "x"]  # as given
    assert r["normalized"].tolist()[:2] == ["b@example.org", "a@example.org"]
    assert set(r["status"]) <= set(schema.VALIDATION_STATUSES)
    assert set(r["reason"]) <= set(schema.VALIDATION_REASONS)
    assert r.attrs["domains"] == {}


def test_inputs_list_generator_dataframe():
    emails = ["x@example.org", "bad"]
    a = listcare.validate(emails, check_dns=False)
    b = listcare.validate((e for e in emails), check_dns=False)
    pd.testing.assert_frame_equal(a, b)
    assert list(a.index) == [0, 1]
    df = pd.DataFrame({"Name": ["X", "Y"], "E-Mail-Adresse": emails}, index=["p", "q"])
    before = df.copy()
    c = listcare.validate(df, check_dns=False)
    pd.testing.assert_frame_equal(df, before)  # the input is not mutated
    assert list(c.index) == ["p", "q"]
    assert c["status"].tolist() == a["status"].tolist()
    d = listcare.validate(
        df.rename(columns={"E-Mail-Adresse": "addr"}), check_dns=False, email_column="addr"
    )
    assert d["normalized"].iloc[0] == "x@example.org"


def test_bad_inputs_raise_clear_errors():
    with pytest.raises(ColumnError, match="Name"):
        listcare.validate(pd.DataFrame({"Name": ["x"], "Ort": ["y"]}), check_dns=False)
    with pytest.raises(InputError, match="wrap it in a list"):
        listcare.validate("someone@example.org", check_dns=False)
    with pytest.raises(InputError):
        listcare.validate(42, check_dns=False)


def test_empty_and_missing_values_lose_no_row():
    r = listcare.validate(["", None, float("nan"), "  ", "ok@example.org"], check_dns=False)
    assert len(r) == 5
    assert r["reason"].tolist()[:4] == ["empty"] * 4
    assert r["status"].tolist()[:4] == ["invalid"] * 4
    assert r["email"].isna().tolist() == [False, True, True, False, False]
    assert len(listcare.validate([], check_dns=False)) == 0


def test_syntax_only_statuses_and_reasons():
    r = listcare.validate(
        [
            "john@example.org",
            "info@example.org",
            "a@mailinator.com",
            "x@gmial.com",
            "nope",
            "a@b.localhost",
            "j@xn--mller-kva.de",
        ],
        check_dns=False,
    )
    assert r["status"].tolist() == [
        "unknown",
        "risky",
        "risky",
        "risky",
        "invalid",
        "invalid",
        "unknown",
    ]
    assert r["reason"].tolist() == [
        "not_checked",
        "role",
        "disposable",
        "typo",
        "syntax",
        "special_use_domain",
        "not_checked",
    ]
    assert r["suggestion"][3] == "x@gmail.com"
    assert r["is_role"].tolist() == [False, True, False, False, False, False, False]
    assert r["normalized"][6] == "j@müller.de"
    assert r["domain"][6] == "xn--mller-kva.de"  # the DNS (IDNA) form
    assert r["detail"][4].endswith(".")  # email-validator's sentence
    assert r["detail"].str.len().min() > 10


def test_freemail_flag():
    r = listcare.validate(["a@gmx.de", "b@web.de", "c@siemens.de"], check_dns=False)
    assert r["is_freemail"].tolist() == [True, True, False]


def test_duplicates_by_case_and_whitespace_point_at_the_first_row():
    s = pd.Series(
        [
            "Anna@Example.org",
            " anna@example.org\t",
            "ANNA@EXAMPLE.ORG",
            "bob@example.org",
            "bad",
            "bad",
            "J@müller.de",
            "j@xn--mller-kva.de",
        ],
        index=[10, 11, 12, 13, 14, 15, 16, 17],
    )
    r = listcare.validate(s, check_dns=False)
    assert r["duplicate_of"].tolist() == [pd.NA, 10, 10, pd.NA, pd.NA, pd.NA, pd.NA, 16]
    # a non-integer index: positions
    r2 = listcare.validate(s.set_axis(list("abcdefgh")), check_dns=False)
    assert r2["duplicate_of"].tolist() == [pd.NA, 0, 0, pd.NA, pd.NA, pd.NA, pd.NA, 6]


# ---------------------------------------------------------------- DNS
EXPECT = {
    "mx": ("valid", ""),
    "a_only": ("valid", ""),
    "aaaa_only": ("valid", ""),
    "cname": ("valid", ""),
    "idn": ("valid", ""),
    "null_mx": ("invalid", "null_mx"),
    "nxdomain": ("invalid", "domain_not_found"),
    "no_mail_host": ("invalid", "no_mail_host"),
    "private_a": ("invalid", "no_mail_host"),
    "servfail": ("unknown", "dns_servfail"),
    "timeout": ("unknown", "dns_timeout"),
}


def test_dns_verdicts_against_a_real_server(dns_server):
    # a generous per-lookup timeout so that a loaded machine cannot turn an answer into
    # dns_timeout; the never-answering name is checked on its own with a short one
    keys = [k for k in EXPECT if k != "timeout"]
    emails = [f"someone@{names(dns_server)[k]}" for k in keys]
    r = listcare.validate(emails, nameserver=dns_server.address, timeout=5, progress=False)
    got = dict(zip(keys, zip(r["status"], r["reason"], strict=True), strict=True))
    assert got == {k: EXPECT[k] for k in keys}
    t = listcare.validate(
        [f"x@{names(dns_server)['timeout']}"],
        nameserver=dns_server.address,
        timeout=0.5,
        progress=False,
    )
    assert (t["status"][0], t["reason"][0]) == EXPECT["timeout"]
    domains = r.attrs["domains"]
    assert set(domains) == set(r["domain"])
    mx = domains[names(dns_server)["mx"]]
    assert mx.status == "valid" and mx.mx
    assert r["detail"].str.len().min() > 10


def test_each_domain_is_asked_once(dns_server):
    d = names(dns_server)["mx"]
    emails = [f"user{i}@{d}" for i in range(300)] + [f"User{i}@{d.upper()}" for i in range(300)]
    before = dns_server.queries
    r = listcare.validate(emails, nameserver=dns_server.address, progress=False)
    assert (r["status"] == "valid").all()
    assert dns_server.queries - before == 1  # one MX query for 600 addresses
    assert r["duplicate_of"].notna().sum() == 300


def test_known_domains_skip_dns_and_are_returned(dns_server):
    d = names(dns_server)["mx"]
    first = listcare.validate([f"a@{d}"], nameserver=dns_server.address, progress=False)
    cache = first.attrs["domains"]
    before = dns_server.queries
    again = listcare.validate(
        [f"b@{d}"], nameserver=dns_server.address, known_domains=cache, progress=False
    )
    assert dns_server.queries == before
    assert again["status"].tolist() == ["valid"]
    assert again.attrs["domains"] == cache


def test_resolver_object_is_used_and_global_resolver_untouched(dns_server):
    default = dns.resolver.get_default_resolver()
    saved = (list(default.nameservers), default.port)
    res = dns.resolver.Resolver(configure=False)
    res.nameservers = [dns_server.host]
    res.port = dns_server.port
    res.timeout = res.lifetime = 5.0
    r = listcare.validate([f"x@{names(dns_server)['null_mx']}"], resolver=res, progress=False)
    assert r["reason"].tolist() == ["null_mx"]
    assert (list(default.nameservers), default.port) == saved


def test_typo_suggestions_need_a_dead_domain_or_a_known_typo():
    from tests.dnsserver import DNSServer

    zone = {
        "gmial.com": {"MX": [[10, "mx.gmial.com"]]},  # a squatted known typo that has MX
        "mac.com": {"MX": [[10, "mx.mac.com"]]},
        "comcast.com": {"MX": [[10, "mx.comcast.com"]]},
    }
    emails = [
        "a@gmial.com",
        "b@mac.com",
        "c@comcast.com",
        "d@gmx.dee",
        "e@wev.de",
        "info@t-onlien.de",
    ]
    with DNSServer(zone) as srv:
        r = listcare.validate(emails, nameserver=srv.address, progress=False)
    assert r["suggestion"].tolist() == [
        "a@gmail.com",
        pd.NA,
        pd.NA,
        "d@gmx.de",
        "e@web.de",
        "info@t-online.de",
    ]
    # a real domain with MX is not "corrected"; a known typo with MX is risky
    assert r["status"].tolist() == ["risky", "valid", "valid", "invalid", "invalid", "invalid"]
    assert r["reason"].tolist()[:4] == ["typo", "", "", "domain_not_found"]
    assert "did you mean gmail.com?" in r["detail"][0]
    assert r["detail"][3].endswith("Did you mean gmx.de?")


def test_precedence_invalid_over_unknown_over_risky(dns_server):
    n = names(dns_server)
    r = listcare.validate(
        [
            "info@mailinator.com",  # NXDOMAIN on the test server beats disposable and role
            f"info@{n['servfail']}",  # unknown beats role
            f"info@{n['mx']}",
        ],  # role on a good domain
        nameserver=dns_server.address,
        progress=False,
    )
    assert r["status"].tolist() == ["invalid", "unknown", "risky"]
    assert r["reason"].tolist() == ["domain_not_found", "dns_servfail", "role"]
    assert r["is_disposable"].tolist() == [True, False, False]
    assert r["is_role"].tolist() == [True, True, True]


def test_no_reachable_nameserver_gives_unknown_quickly():
    # TEST-NET-1 (RFC 5737): nothing answers; the budget bounds the whole call
    start = time.monotonic()
    r = listcare.validate(
        ["a@example-one.de", "b@example-two.de", "bad"],
        nameserver="192.0.2.1:53",
        timeout=0.3,
        budget=1.0,
        progress=False,
    )
    assert time.monotonic() - start < 5
    assert r["status"].tolist() == ["unknown", "unknown", "invalid"]
    assert set(r["reason"][:2]) <= {"dns_timeout", "dns_no_nameserver", "dns_budget"}


def test_progress_bar_only_when_asked(dns_server, capfd):
    emails = [f"x@{names(dns_server)['mx']}"]
    listcare.validate(emails, nameserver=dns_server.address)  # stderr is not a TTY here
    assert capfd.readouterr().err == ""
    listcare.validate(emails, nameserver=dns_server.address, progress=True)
    assert "DNS" in capfd.readouterr().err


# ---------------------------------------------------------------- CLI
GERMAN_EXPORT = (
    "Name;E-Mail-Adresse;Ort\n"
    "Müller;info@{mx};München\n"
    "Anna; anna@{mx} ;Köln\n"
    "Anna2;ANNA@{mx};Berlin\n"
    "Kaputt;bad@@x;Hamburg\n"
    "Tot;x@{nx};Bremen\n"
)


def _export(tmp_path, server):
    path = tmp_path / "export.csv"
    text = GERMAN_EXPORT.format(mx=server.names["mx"], nx=server.names["nxdomain"])
    path.write_bytes(text.encode("cp1252"))
    return path


def test_cli_validate_writes_input_plus_validation_columns(tmp_path, dns_server):
    from click.testing import CliRunner

    from listcare.cli import main
    from listcare.contacts import read_contacts

    src = _export(tmp_path, dns_server)
    before = src.read_bytes()
    out = tmp_path / "out" / "validated.csv"
    res = CliRunner().invoke(
        main, ["validate", str(src), "-o", str(out), "--nameserver", dns_server.address]
    )
    assert res.exit_code == 0, res.output
    assert "invalid" in res.output and "syntax 1" in res.output
    assert "domain_not_found 1" in res.output and "role 1" in res.output
    assert src.read_bytes() == before  # the input is never modified
    raw = out.read_bytes()
    assert b";" in raw.splitlines()[0] and "München".encode("cp1252") in raw  # same format
    df = read_contacts(out)
    assert list(df.columns[:3]) == ["Name", "E-Mail-Adresse", "Ort"]
    assert [c for c in schema.VALIDATION_COLUMNS if c != "email"] == list(df.columns[3:])
    assert df["status"].tolist() == ["risky", "valid", "valid", "invalid", "invalid"]
    assert df["duplicate_of"].tolist() == ["", "", "1", "", ""]
    assert df["E-Mail-Adresse"][1] == " anna@" + dns_server.names["mx"] + " "  # as given
    assert "hint: DNS" not in res.output  # every domain answered


def test_cli_validate_summary_hints_at_the_resolver_when_dns_fails(tmp_path, dns_server):
    from click.testing import CliRunner

    from listcare.cli import main

    src = tmp_path / "in.csv"
    n = dns_server.names
    src.write_text(f"email\na@{n['servfail']}\nb@{n['servfail']}\nc@{n['mx']}\n")
    res = CliRunner().invoke(
        main, ["validate", str(src), "-o", str(tmp_path / "o.csv"), "--nameserver", dns_server.address]
    )
    assert res.exit_code == 0, res.output
    assert "hint: DNS could not answer for 2 rows: they stay unknown, never invalid" in res.output
    assert "--nameserver HOST" in res.output


def test_cli_bad_input_exit_codes(tmp_path):
    from click.testing import CliRunner

    from listcare.cli import main

    runner = CliRunner()
    res = runner.invoke(
        main, ["validate", str(tmp_path / "missing.csv"), "-o", str(tmp_path / "o.csv")]
    )
    assert res.exit_code == 66 and "listcare: error:" in res.output
    nocol = tmp_path / "nocol.csv"
    nocol.write_text("Name,Ort\nA,B\n")
    res = runner.invoke(main, ["validate", str(nocol), "-o", str(tmp_path / "o.csv"), "--no-dns"])
    assert res.exit_code == 65 and "Ort" in res.output
    assert not (tmp_path / "o.csv").exists()
    good = tmp_path / "good.csv"
    good.write_text("email\nx@example.org\n")
    res = runner.invoke(
        main, ["validate", str(good), "-o", str(tmp_path / "o.csv"), "--nameserver", "not-an-ip"]
    )
    assert res.exit_code == 78 and "not-an-ip" in res.output
    assert not (tmp_path / "o.csv").exists()


def test_cli_validate_as_a_real_process(tmp_path, dns_server):
    import subprocess
    import sys

    src = _export(tmp_path, dns_server)
    out = tmp_path / "validated.csv"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "listcare.cli",
            "validate",
            str(src),
            "-o",
            str(out),
            "--nameserver",
            dns_server.address,
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    assert "valid" in proc.stdout and proc.stderr == ""  # no progress bar without a TTY
    assert out.exists() and len(out.read_bytes().decode("cp1252").splitlines()) == 6


def test_readme_quick_start_without_a_reachable_dns_finishes_quickly(tmp_path):
    """The quick start's command on the bundled example list, on a machine whose DNS
    cannot be reached (a closed port on 127.0.0.1): exit 0 within seconds, every row
    written, DNS-dependent rows unknown rather than invalid."""
    import subprocess
    import sys

    from listcare.contacts import escape_formulas, example_path, read_contacts

    src = example_path("contacts.csv")
    out = tmp_path / "out" / "validated.csv"
    start = time.monotonic()
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "listcare.cli",
            "validate",
            str(src),
            "-o",
            str(out),
            "--nameserver",
            "127.0.0.1:9",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    assert time.monotonic() - start < 30
    rows = read_contacts(src)
    got = read_contacts(out)
    assert len(got) == len(rows)
    # input columns unchanged, except that formula-like cells are neutralised
    assert got[rows.columns.tolist()].equals(escape_formulas(rows))
    assert set(got["status"]) <= {"unknown", "invalid"}
    dns_dependent = got[~got["reason"].isin(["syntax", "empty", "special_use_domain"])]
    assert (dns_dependent["status"] == "unknown").all()
    assert "unknown" in proc.stdout


def test_progress_bar_over_many_domains_keeps_one_budget(dns_server, capfd):
    """With a bar shown, domains are asked in chunks; the budget still bounds the run."""
    from tests.dnsserver import DNSServer

    zone = {f"firma{i}.de": {"MX": [[10, f"mx.firma{i}.de"]]} for i in range(1500)}
    emails = [f"a@firma{i}.de" for i in range(1500)]
    with DNSServer(zone) as srv:
        r = listcare.validate(emails, nameserver=srv.address, progress=True, budget=20)
    assert (r["status"] == "valid").all()
    assert "1500" in capfd.readouterr().err


def test_verdicts_equal_email_validator_on_the_bundled_example_list():
    from email_validator import EmailNotValidError, validate_email

    from listcare.contacts import example_path, read_contacts

    df = read_contacts(example_path("contacts.csv"))
    r = listcare.validate(df, check_dns=False)
    col = df.attrs["listcare"]["email_column"]
    for given, norm, status in zip(df[col], r["normalized"], r["status"], strict=True):
        try:
            want = validate_email(given.strip(), check_deliverability=False).normalized
        except EmailNotValidError:
            want = None
        assert (None if pd.isna(norm) else norm) == want, given
        assert (status == "invalid") == (want is None), given


def test_syntax_only_never_imports_dns_code():
    import subprocess
    import sys

    code = (
        "import sys, listcare; listcare.validate(['a@b.de', 'x'], check_dns=False); "
        "print(sorted(m for m in sys.modules if m == 'dns' or m.startswith('dns.') "
        "or m == 'listcare.address.dns'))"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"


def test_cli_keeps_input_columns_that_share_a_validation_name(tmp_path):
    from click.testing import CliRunner

    from listcare.cli import main
    from listcare.contacts import read_contacts

    src = tmp_path / "in.csv"
    src.write_text("email,status,domain\nx@example.org,customer,crm\n")
    out = tmp_path / "out.csv"
    res = CliRunner().invoke(main, ["validate", str(src), "-o", str(out), "--no-dns"])
    assert res.exit_code == 0, res.output
    df = read_contacts(out)
    assert df["status"].tolist() == ["customer"] and df["domain"].tolist() == ["crm"]
    assert df["listcare_status"].tolist() == ["unknown"]
    assert df["listcare_domain"].tolist() == ["example.org"]


def _expected_rows(values, results, check_dns):
    """validate()'s documented precedence, row by row, from syntax.parse and the lists:
    the reference for the column-wise composition (codes into a table of texts)."""
    from listcare.address import lists, syntax
    from listcare.address.validate import _DETAIL, NO_MAIL_HOST_REASONS

    rows, first = [], {}
    for i, v in enumerate(values):
        p = syntax.parse(syntax.strip_values([v])[0])
        if not p.ok:
            rows.append(("invalid", p.reason, p.message, None, None, None, False, False, None))
            continue
        dup = first.setdefault(p.normalized.lower(), i)
        r = results.get(p.domain) if check_dns else None
        mail_host = None
        if r is not None and r.status == "valid":
            mail_host = True
        elif r is not None and r.status == "invalid" and r.reason in NO_MAIL_HOST_REASONS:
            mail_host = False
        sugg = lists.suggest_domain(p.domain, mail_host=mail_host)
        disposable = lists.is_disposable(p.domain)
        role = lists.is_role(p.local)
        if r is not None and r.status in ("invalid", "unknown"):
            key = "dns_invalid" if r.status == "invalid" else "dns_unknown"
            det = r.detail or _DETAIL[key].format(domain=p.domain, reason=r.reason)
            if sugg:
                det = f"{det.rstrip()} Did you mean {sugg}?"
            st = (r.status, r.reason, det)
        elif sugg:
            st = ("risky", "typo", _DETAIL["typo"].format(domain=p.domain, suggested=sugg))
        elif disposable:
            st = ("risky", "disposable", _DETAIL["disposable"].format(domain=p.domain))
        elif role:
            st = ("risky", "role", _DETAIL["role"])
        elif check_dns:
            st = ("valid", "", _DETAIL["valid"])
        else:
            st = ("unknown", "not_checked", _DETAIL["not_checked"])
        suggestion = f"{p.local}@{sugg}" if sugg else None
        rows.append(
            (*st, p.normalized, p.domain, suggestion, disposable, role, None if dup == i else dup)
        )
    return rows


MESSY = [
    "anna@example.org",
    " Anna@Example.org ",
    "ANNA@EXAMPLE.ORG",
    "info@example.org",
    "Info+News@Example.org",
    "x@mailinator.com",
    "Info@mailinator.com",
    "y@gmial.com",
    "Info@gmial.com",
    "z@gmx.de",
    "bad",
    "a@@b.de",
    "a..b@example.org",
    "a@b.localhost",
    "j@müller.de",
    "J@XN--MLLER-KVA.DE",
    "",
    None,
    float("nan"),
    42,
    "a--b@example.org",
    "postmaster@example.org",
    "p@dead.example",
    "q@dead.example",
    "r@flaky.example",
    "Info@flaky.example",
    "s@typo-dead.example",
    "t@gmx.dee",
]


@pytest.mark.parametrize("check_dns", [False, True])
def test_columnwise_composition_equals_the_documented_precedence(check_dns):
    from listcare.address.dns import DomainResult

    results = {
        d: DomainResult("valid", "", "ok")
        for d in ("example.org", "mailinator.com", "gmial.com", "gmx.de", "xn--mller-kva.de")
    }
    results["dead.example"] = DomainResult("invalid", "domain_not_found", "")
    results["typo-dead.example"] = DomainResult("invalid", "no_mail_host", "No mail host.")
    results["gmx.dee"] = DomainResult("invalid", "domain_not_found", "")
    results["flaky.example"] = DomainResult("unknown", "dns_timeout", "")
    values = MESSY * 3  # repeats: the same texts, codes and duplicates again
    r = listcare.validate(values, check_dns=check_dns, known_domains=results, progress=False)
    cols = ["status", "reason", "detail", "normalized", "domain", "suggestion"]
    cols += ["is_disposable", "is_role", "duplicate_of"]
    got = list(zip(*(r[c].astype(object).where(r[c].notna(), None) for c in cols), strict=True))
    assert got == _expected_rows(values, results, check_dns)
    assert r["status"].isin(schema.VALIDATION_STATUSES).all()
    assert set(r["reason"]) <= set(schema.VALIDATION_REASONS)


def test_cli_validate_a_cp1252_list_with_an_idn_it_cannot_write(tmp_path):
    """The normalised form of a Cyrillic IDN has no cp1252 spelling: it is written as a
    JSON escape in the list's own encoding, and nothing else changes."""
    from click.testing import CliRunner

    from listcare.cli import main

    src = tmp_path / "l.csv"
    src.write_bytes("Name;E-Mail\r\nX;info@xn--80ak6aa92e.com\r\nY;jörg@firma.de\r\n".encode("cp1252"))
    out = tmp_path / "out.csv"
    res = CliRunner().invoke(main, ["validate", str(src), "-o", str(out), "--no-dns"])
    assert res.exit_code == 0, res.output
    text = out.read_bytes().decode("cp1252")
    assert "info@\\u0430\\u0440\\u0440\\u04cf\\u0435.com" in text and "jörg@firma.de" in text
    assert text.splitlines()[0].startswith("Name;E-Mail;normalized")


def test_no_progress_bar_leaves_no_thread_behind(dns_server):
    """Without a progress bar, validating with DNS starts no tqdm monitor thread (a
    disabled bar would, and it would outlive the run: a notebook kernel, a cron job).
    In a fresh interpreter: another test may have started one in this process."""
    import subprocess
    import sys
    import textwrap

    code = textwrap.dedent(
        f"""
        import threading, listcare
        r = listcare.validate(["someone@{names(dns_server)['mx']}"],
                              nameserver="{dns_server.address}", timeout=5, progress=False)
        assert r["status"][0] == "valid", r["reason"][0]
        print(sorted(t.name for t in threading.enumerate()))
        """
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip() == "['MainThread']"
