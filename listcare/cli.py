"""The ``listcare`` command: a thin adapter over the library (nothing imports this module).

Every command has an example in its help. Exit codes (also in the README):

=====  ==========================================================================
0      success
1      unexpected error (a bug: please report it with the traceback from --verbose)
2      wrong usage (unknown option, missing argument)
65     bad data (e.g. no email column found, a table lacks a column)
66     an input file cannot be opened or read
70     a cleaning run would lose or duplicate rows; nothing was written
73     an output file or folder cannot be created or written
74     the state store (or its lock file) cannot be opened or written
75     another run holds the lock; try again later
78     a setting or config file is invalid
=====  ==========================================================================
"""

from __future__ import annotations

import functools
import logging
import os
import sys

import click

from . import __version__
from .exceptions import ListcareError

log = logging.getLogger("listcare")


def _expand_globs(patterns, *, empty_ok: bool) -> tuple[list[str], list[str]]:
    """The files of quoted globs (sorted), other paths as given; and a note for each glob
    that matched nothing. Such a glob is an error (exit code 66) when its fixed folder
    (before the first wildcard) does not exist (a typo), or when *empty_ok* is false; for
    the nightly job, a glob in an existing folder may match nothing on a quiet night."""
    import glob

    from .exceptions import InputError

    paths: list[str] = []
    notes: list[str] = []
    for p in patterns:
        # a file that exists is itself, whatever its name ("mail[1].log" is no pattern)
        if not glob.has_magic(p) or os.path.lexists(p):
            paths.append(p)
            continue
        matches = sorted(glob.glob(p))
        if matches:
            paths.extend(matches)
            continue
        # its fixed folder: the components before the first wildcard (a spool's
        # per-fetch subfolders, 'bounces/*/new/*', may all be gone on a quiet night)
        parts = p.rstrip(os.sep).split(os.sep)
        fixed = parts[: next(i for i, c in enumerate(parts) if glob.has_magic(c))]
        folder = os.sep.join(fixed) or (os.sep if fixed else ".")  # ([""]: the root)
        if not os.path.isdir(folder):
            raise InputError(f"No file matches {p!r}: the folder {folder!r} does not exist.")
        if not empty_ok:
            raise InputError(f"No file matches {p!r} (in {folder!r}).")
        notes.append(f"no file matches {p!r} tonight: nothing read from it")
    return paths, notes


def _make_parent(path) -> None:
    """The folder of an output file (exit code 73 with a one-line message if it cannot
    be made, e.g. a file is in the way)."""
    from .exceptions import OutputError

    parent = os.path.dirname(os.path.abspath(path))
    try:
        os.makedirs(parent, exist_ok=True)
    except OSError as exc:
        raise OutputError(
            f"Cannot create the folder {parent!r} for {os.fspath(path)!r}: "
            f"{exc.strerror or exc}."
        ) from None


def _handle_errors(func):
    """Turn ListcareError into a one-line message and its exit code."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except ListcareError as exc:
            click.echo(f"listcare: error: {exc}", err=True)
            sys.exit(exc.exit_code)

    return wrapper


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="listcare")
@click.option("-v", "--verbose", is_flag=True, help="Log what is done to stderr.")
def main(verbose: bool) -> None:
    """Contact-list hygiene and decay analysis.

    Run 'listcare COMMAND --help' for a command's options and examples; the README's
    "CLI reference" lists them all, with the exit codes.

    \b
    Example:
      listcare validate contacts.csv -o validated.csv
    """
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(asctime)s %(name)s %(levelname)s %(message)s",
        stream=sys.stderr,
    )


# ---- commands are added below, one block each; keep each block self-contained ----


# ---- validate ----
@main.command("validate")
@click.argument("input_path", metavar="INPUT", type=click.Path(dir_okay=False))
@click.option(
    "-o", "--output", required=True, type=click.Path(dir_okay=False),
    help="File to write: the input columns plus the validation columns (CSV, .xlsx or "
    ".parquet by extension; CSV keeps the input's separator and encoding).",
)
@click.option("--no-dns", is_flag=True, help="Check syntax and lists only (no DNS lookups).")
@click.option("--nameserver", metavar="HOST[:PORT]", help="Ask this DNS server (default: the system's).")
@click.option("--email-column", metavar="NAME", help="The column with the addresses (default: found by name or content).")
@click.option("--timeout", type=float, metavar="SECONDS", help="Time one DNS lookup may take.")
@click.option("--budget", type=float, metavar="SECONDS", help="Time all DNS lookups together may take.")
@_handle_errors
def validate_command(input_path, output, no_dns, nameserver, email_column, timeout, budget):
    """Check every address in a contact list and say why a bad one is bad.

    Reads INPUT (CSV with any common separator and encoding, .xlsx or Parquet), checks each
    address (syntax, DNS mail host, disposable, role, free-mail, typos, duplicates) and
    writes OUTPUT with all input columns plus: normalized, domain, status (valid, invalid,
    risky, unknown), reason, detail, suggestion, is_disposable, is_role, is_freemail,
    duplicate_of (the 0-based row number of the first row with the same address). A
    validation column whose name the input already uses is written as listcare_NAME.
    Prints counts by status and reason.

    \b
    Example:
      listcare validate contacts.csv -o out/validated.csv
      listcare validate export.csv -o checked.csv --no-dns --email-column "E-Mail"
    """

    from .address.validate import validate
    from .contacts import read_contacts, write_contacts
    from .schema import VALIDATION_COLUMNS, added_column_name

    df = read_contacts(input_path, email_column=email_column)
    col = df.attrs["listcare"]["email_column"]
    result = validate(
        df[col], check_dns=not no_dns, nameserver=nameserver, timeout=timeout, budget=budget
    )
    out = df.copy()
    for name in VALIDATION_COLUMNS:
        if name == "email":
            continue  # the input's own email column, as given
        target = added_column_name(name, out.columns)
        out[target] = result[name]
    _make_parent(output)
    # a character the list's encoding lacks (a Cyrillic IDN in `normalized` of a cp1252
    # list) is written as a JSON escape rather than failing the whole file
    write_contacts(out, output, like=df, unencodable="escape")
    click.echo(_validation_summary(result, input_path, output))


def _validation_summary(result, input_path, output) -> str:
    n = len(result)
    lines = [f"listcare validate: {n} row{'s' if n != 1 else ''} from {input_path} -> {output}"]
    for status in ("valid", "risky", "unknown", "invalid"):
        part = result[result["status"] == status]
        if not len(part):
            lines.append(f"  {status:<16} {0:>8}")
            continue
        reasons = part["reason"][part["reason"] != ""].value_counts()
        detail = ", ".join(f"{r} {c}" for r, c in reasons.items())
        lines.append(f"  {status:<16} {len(part):>8}" + (f"  ({detail})" if detail else ""))
    dups = int(result["duplicate_of"].notna().sum())
    lines.append(f"  {'duplicates':<16} {dups:>8}")
    sugg = int(result["suggestion"].notna().sum())
    lines.append(f"  {'typo suggestions':<16} {sugg:>8}")
    # the per-row detail says it too, but a person reads the summary: a resolver that
    # cannot reach the internet makes most of a list "unknown" (never "invalid")
    failed = int(result["reason"].astype(str).str.startswith("dns_").sum())
    if failed:
        lines.append(
            f"  hint: DNS could not answer for {failed} row{'s' if failed != 1 else ''}: they "
            "stay unknown, never invalid. Run again later, or ask another server "
            "(--nameserver HOST) or allow more time (--timeout, --budget)."
        )
    return "\n".join(lines)


# ---- plan ----
@main.command("plan")
@click.option("--contacts", "contacts_path", required=True, type=click.Path(dir_okay=False),
              help="Contact list (CSV, .xlsx or Parquet) with last_contacted_at and/or acquired_at.")
@click.option("--store", "store_path", type=click.Path(dir_okay=False),
              help="listcare store: its suppressed addresses are never planned, its "
              "reconfirm decisions go to the reconfirmation wave, its last delivery to an "
              "address counts as a contact.")
@click.option("--every", metavar="DAYS", help="Interval, e.g. 60D, 8W or 2M (default 60D).")
@click.option("--target-bounce-rate", type=float, metavar="SHARE",
              help="Derive the interval from the decay model instead, e.g. 0.02 (not with --every).")
@click.option("--visibility", type=float, default=1.0, show_default=True,
              help="Share of decayed addresses that hard-bounce.")
@click.option("--monthly-rate", type=float, metavar="SHARE",
              help="Decay rate of the model (default 0.021, i.e. 2.1% a month).")
@click.option("--daily-capacity", type=int, metavar="N", help="Most emails a send day may carry.")
@click.option("--send-days", default="Mon-Fri", show_default=True, help="e.g. Mon-Fri, Mon,Wed,Fri or daily.")
@click.option("--holiday", "holidays", multiple=True, metavar="DATE", help="A day without sends (repeatable).")
@click.option("--horizon", default="180D", show_default=True, help="How far ahead to plan.")
@click.option("--as-of", metavar="DATE", help="First day of the plan (default: today, UTC).")
@click.option("--sunset", default="365D", show_default=True,
              help="Contacts not reached for longer get a reconfirmation mail instead.")
@click.option("--reconfirm-batch", type=int, metavar="N", help="Reconfirmation mails a day.")
@click.option("--channel-column", metavar="NAME", help="Column with email / phone / email,phone.")
@click.option("--min-channel-gap-days", type=int, default=3, show_default=True,
              help="Never two channels to one contact within this many days.")
@click.option("--email-column", metavar="NAME", help="The column with the addresses (default: found by name or content).")
@click.option("--last-contacted", default="last_contacted_at", show_default=True, help="Column of the last contact.")
@click.option("--acquired", default="acquired_at", show_default=True, help="Column of the acquisition date.")
@click.option("--strict", is_flag=True, help="Fail (exit 78) if the capacity cannot meet every deadline.")
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False),
              help="The plan: one row per send (CSV, .xlsx or .parquet by extension).")
@click.option("--ics", "ics_path", type=click.Path(dir_okay=False), help="Also write the send days as iCalendar.")
@click.option("--excluded", "excluded_path", type=click.Path(dir_okay=False),
              help="Also write the contacts not planned, with the reason.")
@_handle_errors
def plan_command(contacts_path, store_path, every, target_bounce_rate, visibility, monthly_rate,
                 daily_capacity, send_days, holidays, horizon, as_of, sunset, reconfirm_batch,
                 channel_column, min_channel_gap_days, email_column, last_contacted, acquired,
                 strict, output, ics_path, excluded_path):
    """Plan a sending cadence that keeps every contact fresh.

    Schedules every active contact so that no gap between contacts exceeds the interval
    (stalest first, volume spread evenly within --daily-capacity, no sends on excluded
    days), sends contacts past --sunset a reconfirmation mail in small daily batches,
    and never plans suppressed addresses from --store. Prints the waves, the content
    budget (campaigns a year the cadence needs) and any capacity shortfall.

    \b
    Example:
      listcare plan --contacts contacts.csv --every 60D --daily-capacity 5000 -o plan.csv
      listcare plan --contacts contacts.csv --store listcare.db --target-bounce-rate 0.02 \\
          --as-of 2026-11-27 --holiday 2026-12-25 -o plan.csv --ics plan.ics
    """
    import datetime as _dt
    import os
    import warnings

    from .cadence import CapacityWarning, plan_cadence
    from .contacts import read_contacts, write_contacts
    from .decay import DecayModel

    if as_of is None:
        as_of = _dt.datetime.now(_dt.UTC).date().isoformat()
    df = read_contacts(contacts_path, email_column=email_column)
    model = DecayModel(monthly_rate) if monthly_rate is not None else None
    state = None
    if store_path is not None:
        from .exceptions import InputError
        from .store import Store

        if "://" not in store_path and not os.path.isfile(store_path):
            # opening would create an empty store and plan as if nothing were suppressed
            raise InputError(f"There is no store at {store_path!r}; give the path of the listcare.db the nightly job writes.")
        state = Store(store_path)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", CapacityWarning)  # printed in the summary instead
            plan = plan_cadence(
                df, as_of=as_of, every=every, target_bounce_rate=target_bounce_rate,
                visibility=visibility, daily_capacity=daily_capacity, send_days=send_days,
                holidays=list(holidays), horizon=horizon, model=model, state=state,
                email_column=df.attrs["listcare"]["email_column"], last_contacted=last_contacted,
                acquired=acquired, sunset=sunset, reconfirm_daily_batch=reconfirm_batch,
                channel_column=channel_column, min_channel_gap_days=min_channel_gap_days,
                strict=strict,
            )
    finally:
        if state is not None:
            state.close()
    out = plan.copy()
    for col in ("date", "deadline"):
        out[col] = out[col].dt.strftime("%Y-%m-%d")
    for path in (output, ics_path, excluded_path):
        if path:
            _make_parent(path)
    write_contacts(out, output, like=df)
    if excluded_path:
        write_contacts(plan.excluded, excluded_path, like=df)
    if ics_path:
        plan.to_ics(ics_path)
    click.echo(f"listcare plan: {len(df)} contacts from {contacts_path} -> {output}")
    click.echo(plan.summary())


# ---- clean ----
@main.command("clean")
@click.option("--contacts", "contacts_path", required=True, type=click.Path(dir_okay=False),
              help="Contact list (CSV with any common separator/encoding, .xlsx or Parquet).")
@click.option("--bounces", "bounce_paths", multiple=True, metavar="PATH",
              help="Bounce evidence (repeatable; a quoted glob such as 'bounces/*.eml' works): "
              "mail logs (give the live log, e.g. /var/log/mail.log: its logrotate "
              "rotations are followed), .eml/mbox files, Maildir folders, provider exports.")
@click.option("--store", "store_path", default="listcare.db", show_default=True, metavar="FILE|URL",
              help="State store: a SQLite file (created owner-only) or a database URL.")
@click.option("--out-dir", required=True, type=click.Path(file_okay=False),
              help="Folder for clean.csv, suppressed.csv, reconfirm.csv, flagged.csv, decay.png, report.md, report.json.")
@click.option("--as-of", metavar="DATE", help="The night this run is for (default: today, UTC).")
@click.option("--dry-run", is_flag=True, help="Compute and print the summary; change nothing.")
@click.option("--no-dns", is_flag=True, help="Check syntax and lists only (no DNS lookups).")
@click.option("--nameserver", metavar="HOST[:PORT]", help="Ask this DNS server (default: the system's).")
@click.option("--config", "config_path", type=click.Path(dir_okay=False),
              help="Policy settings (TOML; see README, 'Suppression policy').")
@click.option("--email-column", metavar="NAME", help="The column with the addresses (default: found by name or content).")
@click.option("--acquired", "acquired_column", metavar="NAME",
              help="The column with each contact's acquisition date (default: acquired_at).")
@click.option("--last-contacted", "last_contacted_column", metavar="NAME",
              help="The column with each contact's last contact date (default: last_contacted_at).")
@click.option("-v", "--verbose", "verbose_here", is_flag=True,
              help="Print the summary and log what is done to stderr (as 'listcare -v clean').")
@_handle_errors
def clean_command(contacts_path, bounce_paths, store_path, out_dir, as_of, dry_run, no_dns,
                  nameserver, config_path, email_column, acquired_column, last_contacted_column,
                  verbose_here):
    """The nightly job: split a contact list into clean, suppressed and reconfirm.

    Reads only the new bounce evidence (log checkpoints survive logrotate), validates the
    addresses (DNS answers are cached in the store), decides every address from the whole
    event history (README, "Suppression policy"), checks that every input row lands in
    exactly one output, commits the store and only then replaces the outputs. Safe to
    rerun. Quiet without a terminal (cron): it prints only the sender-reputation alert,
    unreadable evidence, a night before the store's latest, and errors; --verbose
    prints the summary and logs.

    \b
    Exit codes: 0 done; 65 bad data (e.g. no email column, malformed CSV);
    66 an input cannot be read; 70 rows would be lost (nothing written);
    73 an output cannot be written; 74 the store cannot be opened or written;
    75 another run holds the lock (cron: try again next time); 78 bad setting.

    \b
    Example:
      listcare clean --contacts contacts.csv --bounces /var/log/mail.log \\
          --store /var/lib/listcare/listcare.db --out-dir out/
      listcare clean --contacts listcare/data/examples/contacts.csv \\
          --bounces listcare/data/examples/postfix.log --store out/listcare.db \\
          --out-dir out/ --as-of 2026-11-27 --no-dns
    """
    import datetime as _dt

    from .nightly import clean, night_text

    if verbose_here:
        logging.getLogger().setLevel(logging.INFO)
    if as_of is None:
        as_of = _dt.datetime.now(_dt.UTC).date().isoformat()
    paths, glob_notes = _expand_globs(bounce_paths, empty_ok=True)
    report = clean(
        contacts_path, paths, store=store_path, out_dir=out_dir, as_of=as_of,
        dry_run=dry_run, check_dns=not no_dns, config=config_path, nameserver=nameserver,
        email_column=email_column, acquired_column=acquired_column,
        last_contacted_column=last_contacted_column,
    )
    o = report["outcomes"]
    ch = report["changes"]
    run = report["run"]
    lines = [
        f"listcare clean{' (dry run: nothing written)' if dry_run else ''}: {o['rows']} rows "
        f"as of {report['as_of'][:10]} -> {out_dir}",
        f"  rows: clean {o['clean']}, suppressed {o['suppressed']}, reconfirm {o['reconfirm']}",
        f"  events: {run['new_events']} new in this run ({run['lines_read']} log lines read, "
        f"{run['skipped_records']} records skipped), "
        f"{report['events']['new_since_last_run']} since "
        + (f"the run as of {ch['since_run_as_of']}" if ch["since_run_as_of"] else "the start"),
        f"  this list's addresses: newly suppressed {sum(ch['newly_suppressed'].values())}, "
        f"newly to reconfirm {ch['newly_reconfirm']}, released {ch['released']}",
    ]
    lines.extend(f"  note: {n}" for n in [*glob_notes, *(report.get("notes") or [])])
    blocks = report["sender_reputation"]["blocks_30_days"]
    alert = None
    if blocks:
        top = ", ".join(p["provider"] for p in report["sender_reputation"]["providers"][:3])
        alert = (
            f"  sender reputation alert: {blocks} blocked message{'s' if blocks != 1 else ''} ({top})"
        )
        lines.append(alert)
    # quiet under cron (no terminal): only what needs a person's attention, so that cron
    # mails the reputation alert and errors, not a summary every night
    verbose = verbose_here or click.get_current_context().find_root().params.get("verbose", False)
    # unreadable evidence needs a person too: a bounce log that silently stopped parsing
    # would let dead addresses through night after night
    skipped = None
    if run["skipped_records"]:
        where = "; ".join(f"{os.path.basename(str(s[0]))}:{s[1]} {s[2]}" for s in run["skipped_samples"][:3])
        skipped = f"  warning: {run['skipped_records']} bounce records could not be read (e.g. {where})"
        lines.append(skipped)
    # a night before the store's latest replaced the outputs with an older picture: a
    # mistyped --as-of must not pass unseen under cron
    backdated = None
    if run.get("backdated_from") and not dry_run:
        backdated = (
            f"  warning: this night is before the store's latest (as of "
            f"{night_text(run['backdated_from'])}): its outputs leave out the evidence "
            f"after {night_text(report['as_of'])}"
        )
    # a dry run is asked for to see the summary: print it even without a terminal
    if sys.stdout.isatty() or verbose or dry_run:
        click.echo("\n".join(lines))
    elif alert or skipped or backdated:
        click.echo("\n".join([f"listcare clean as of {report['as_of'][:10]}:",
                               *filter(None, [alert, skipped, backdated])]))


# ---- bounces ----
@main.command("bounces")
@click.argument("files", metavar="FILE...", nargs=-1, required=True)
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False),
              help="Events CSV to write (one row per recipient outcome; written atomically, owner-only).")
@click.option("--format", "fmt", default="auto", show_default=True,
              type=click.Choice(["auto", "mail", "postfix", "exim", "sendmail", "ses", "sendgrid",
                                 "mailgun", "postmark", "mailchimp"]),
              help="Format of every FILE (default: sniffed per file).")
@click.option("--as-of", "as_of", metavar="DATE",
              help="Date the evidence runs up to (required for syslog timestamps without a year).")
@_handle_errors
def bounces_command(files, output, fmt, as_of):
    """Read bounce evidence and write the events table.

    FILE may be a mail log (Postfix, Exim, Sendmail; plain or .gz), bounce mail (.eml,
    mbox, a Maildir folder), or a provider export (Amazon SES, SendGrid, Mailgun, Postmark
    JSON; Mailchimp CSV). A quoted glob such as '/var/log/mail.log*' works. Prints counts
    by kind and reason and how many unreadable records were skipped.

    \b
    Example:
      listcare bounces /var/log/mail.log /var/log/mail.log.1.gz -o events.csv --as-of 2026-11-27
      listcare bounces bounces/ ses-events.json -o events.csv
    """

    from .atomic import atomic_write
    from .bounces.read import read_bounces

    paths, _ = _expand_globs(files, empty_ok=False)

    from .bounces.read import expand_folders
    from .contacts import escape_formulas
    from .exceptions import OutputError

    # listcare never modifies its inputs (the events would replace a log, or a file in a
    # folder given as input)
    out_abs = os.path.realpath(output)
    for p in paths:
        if os.path.isdir(p) and os.path.commonpath([out_abs, os.path.realpath(p)]) == os.path.realpath(p):
            raise OutputError(
                f"Refusing to write {output!r} inside {p!r}, a folder read as input: the next "
                "run would read the events as bounce evidence. Choose another output path."
            )
    files = expand_folders(paths)
    for p in files:
        if os.path.exists(output) and os.path.exists(p) and os.path.samefile(output, p):
            raise OutputError(
                f"Refusing to write {output!r}: it is one of the input files. Choose "
                "another output path."
            )
    df = read_bounces(paths, format=fmt, as_of=as_of, errors="report")
    _make_parent(output)
    # Diagnostics are remote servers' text: a hostile one must not become a live
    # spreadsheet formula when the events CSV is opened in Excel (OWASP CSV injection).
    with atomic_write(output, encoding="utf-8", newline="", private=True) as f:
        escape_formulas(df).to_csv(f, index=False, date_format="%Y-%m-%dT%H:%M:%S.%fZ")
    click.echo(_bounces_summary(df, len(files), output))


def _bounces_summary(df, n_files: int, output) -> str:
    errors = df.attrs.get("errors", {"count": 0, "samples": []})
    lines = [f"listcare bounces: {len(df)} event{'s' if len(df) != 1 else ''} from {n_files} "
             f"file{'s' if n_files != 1 else ''} -> {output}"]
    if len(df):
        for kind, part in df.groupby("kind", sort=False):
            reasons = part["reason"].value_counts()
            detail = ", ".join(f"{r} {c}" for r, c in reasons.items())
            lines.append(f"  {kind:<12} {len(part):>8}  ({detail})")
    lines.append(f"  {'skipped':<12} {errors['count']:>8}  unreadable records")
    if df.attrs.get("duplicates"):
        lines.append(f"  {'duplicates':<12} {df.attrs['duplicates']:>8}  the same evidence read twice: kept once")
    for source, position, message in errors.get("samples", [])[:5]:
        lines.append(f"    {source}:{position}: {message}")
    return "\n".join(lines)


if __name__ == "__main__":  # pragma: no cover
    main()
