"""Reading and writing contact lists as they come out of real tools.

Real exports are messy: German Excel writes Windows-1252 with ``;``, other tools write
UTF-8 with or without a byte-order mark, tabs or pipes, quoted fields with line breaks,
``.xlsx`` and Parquet. :func:`read_contacts` reads all of them into a DataFrame of
strings exactly as they were in the file (every row, every column, in order) and notes
in ``df.attrs["listcare"]`` how the file was written, so :func:`write_contacts` can
write a result the same way and the tool downstream imports it unchanged.
"""

from __future__ import annotations

import codecs
import csv
import gzip
import io
import json
import os
import re
import warnings
import zlib
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd

from .atomic import atomic_write, atomic_write_bytes
from .exceptions import ColumnError, FormatError, InputError, ListcareError, OutputError, sample
from .schema import EMAIL_COLUMN_NAMES

__all__ = ["read_contacts", "write_contacts", "find_email_column", "escape_formulas", "example_path"]

#: separators sniffed in CSV files; the first one wins a tie
SEPARATORS = (",", ";", "\t", "|")
#: encodings tried in order when none is given (see _decode)
ENCODINGS = ("utf-8-sig", "cp1252", "latin-1")
#: how many characters of a CSV file the separator sniffer looks at
SNIFF_CHARS = 64 * 1024

_XLSX_EXT = (".xlsx", ".xlsm")
_PARQUET_EXT = (".parquet", ".pq")
_ZIP_MAGIC = b"PK\x03\x04"
_PARQUET_MAGIC = b"PAR1"
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # legacy .xls (BIFF in an OLE2 container)

# A header cell that holds an address ("a@x.de", "Ann <a@x.de>") means the file has no
# header row: no real column name contains one.
_ADDRESS_LIKE = re.compile(r"[^@\s<>,;\"]+@[^@\s<>,;\"]+\.[A-Za-z]{2,}")
_EXCEL_SEP_LINE = re.compile(r"^sep=(.)\r?\n")


def _norm_name(name) -> str:
    return re.sub(r"[\s\-_.]+", "", str(name)).casefold()


_EMAIL_NAMES = tuple(dict.fromkeys(_norm_name(n) for n in EMAIL_COLUMN_NAMES))
#: generic names accepted only when the column's values look like addresses
#: ("Address" is a postal address in many CRM exports)
_GENERIC_NAMES = frozenset({"address"})


# ---------------------------------------------------------------------------- finding
def _at_share(col: pd.Series) -> tuple[float, int]:
    """Share of non-empty values that contain '@', and how many values are non-empty."""
    values = col.dropna().astype(str).str.strip()
    values = values[values != ""]
    if values.empty:
        return 0.0, 0
    return float(values.str.contains("@", regex=False).mean()), len(values)


def find_email_column(df: pd.DataFrame, email_column: str | None = None) -> str:
    """Name of the column of *df* that holds the email addresses.

    With *email_column* given, that column (matched exactly, else case-insensitively)
    must exist. Otherwise the header names are compared with
    :data:`listcare.schema.EMAIL_COLUMN_NAMES` case-insensitively with spaces, ``-``,
    ``_`` and ``.`` removed, so ``E-Mail``, ``E-Mail-Adresse``, ``Email Address`` and
    ``email_address`` all match; earlier names in that list win, then earlier columns.
    The generic name ``address`` only counts when most of its values contain ``@``.

    If no header name matches but exactly one column has mostly (more than half of its
    non-empty values) ``@`` values, that column is taken: it is what a person would pick.
    Otherwise :class:`~listcare.exceptions.ColumnError` lists the columns seen.
    """
    columns = [str(c) for c in df.columns]
    seen = sample(columns, 12) if columns else "no columns at all"
    if email_column is not None:
        if email_column in df.columns:
            return email_column
        folded = [c for c in df.columns if str(c).casefold() == str(email_column).casefold()]
        if len(folded) == 1:
            return folded[0]
        raise ColumnError(
            f"The contact list has no column {email_column!r}; it has {seen}. "
            "Pass the exact name of the email column.",
            missing=[email_column],
            seen=columns,
        )

    by_name = {}
    for col in df.columns:
        by_name.setdefault(_norm_name(col), []).append(col)
    for name in _EMAIL_NAMES:
        for col in by_name.get(name, ()):
            if name in _GENERIC_NAMES:
                share, n = _at_share(df[col])
                if n and share <= 0.5:
                    continue
            return col

    looks_like = []
    for col in df.columns:
        share, n = _at_share(df[col])
        if n and share > 0.5:
            looks_like.append(col)
    if len(looks_like) > 1:
        named = [c for c in looks_like if "mail" in _norm_name(c)]
        looks_like = named if len(named) == 1 else looks_like
    if len(looks_like) == 1:
        return looks_like[0]

    hint = (
        f" Several columns hold addresses ({sample(map(str, looks_like), 5)});"
        if looks_like
        else ""
    )
    raise ColumnError(
        f"Cannot find the email column: none of the columns is named like one "
        f"(email, E-Mail, E-Mail-Adresse, Email Address, mail, ...); the list has {seen}."
        f"{hint} Rename the column or pass email_column=... (CLI: --email-column).",
        missing=["email"],
        seen=columns,
    )


# ---------------------------------------------------------------------------- reading
def _load(path_or_buffer) -> tuple[bytes, str | None, str]:
    """The raw bytes, the absolute path (None for buffers) and a name for messages."""
    if hasattr(path_or_buffer, "read"):
        name = str(getattr(path_or_buffer, "name", "<buffer>"))
        try:
            data = path_or_buffer.read()
        except OSError as exc:
            raise InputError(f"Cannot read the contact list {name}: {exc}.") from exc
        if isinstance(data, str):
            data = data.encode("utf-8")
        return bytes(data), None, name
    if isinstance(path_or_buffer, bytes | bytearray):
        raise InputError("Give read_contacts a path or an open file, not raw bytes "
                         "(wrap them in io.BytesIO).")
    try:
        path = os.fspath(path_or_buffer)
    except TypeError:
        raise InputError(
            f"read_contacts needs a file path or an open file, not {type(path_or_buffer).__name__}."
        ) from None
    try:
        with open(path, "rb") as f:
            data = f.read()
    except FileNotFoundError:
        raise InputError(f"The contact list {path!r} does not exist.") from None
    except IsADirectoryError:
        raise InputError(f"The contact list {path!r} is a folder, not a file.") from None
    except PermissionError:
        raise InputError(f"The contact list {path!r} cannot be read: permission denied.") from None
    except OSError as exc:
        raise InputError(f"The contact list {path!r} cannot be read: {exc.strerror or exc}.") from None
    return data, os.path.abspath(path), repr(path)


def _detect_format(data: bytes, path: str | None) -> str:
    """By content (magic bytes), so a CSV saved as ``.xlsx`` or a renamed file still reads."""
    if data.startswith(_PARQUET_MAGIC):
        return "parquet"
    if data.startswith(_ZIP_MAGIC):
        return "xlsx"
    if data.startswith(_OLE_MAGIC):
        return "xls"
    if data.startswith(b"\x1f\x8b"):
        return "gzip"
    if not data.startswith((b"\xff\xfe", b"\xfe\xff")) and b"\0" in data[:8192]:
        return "binary"  # UTF-16 (with its BOM) is text; NUL bytes otherwise mean it is not
    start = data[:512].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if start.startswith((b"<?xml", b"<html", b"<!doctype html", b"<table")):
        return "markup"  # "Excel" exports that are really HTML or XML Spreadsheet 2003
    return "csv"


def _decode(data: bytes, encoding: str | None, name: str) -> tuple[str, str]:
    """Decode *data*; returns the text and the encoding to write it back with.

    Without *encoding*: strict UTF-8 first (with or without BOM) because a valid UTF-8
    file is almost never anything else; then Windows-1252 (what Excel on a German or
    Western Windows writes as "CSV"); then Latin-1, which decodes any byte, for the few
    bytes cp1252 leaves undefined.
    """
    if encoding is not None:
        try:
            codecs.lookup(encoding)
        except LookupError:
            raise InputError(f"Unknown encoding {encoding!r} for {name}.") from None
        try:
            return data.decode(encoding), encoding
        except UnicodeDecodeError as exc:
            raise InputError(
                f"The contact list {name} is not valid {encoding} (byte {exc.start}: "
                f"{exc.reason}). Leave encoding unset to detect it, or give the right one."
            ) from None
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        # Excel's "Unicode Text" export: UTF-16 with BOM, tab separated
        try:
            return data.decode("utf-16"), "utf-16"
        except UnicodeDecodeError:
            pass
    for enc in ENCODINGS:
        try:
            text = data.decode(enc)
        except UnicodeDecodeError:
            continue
        if enc == "utf-8-sig" and not data.startswith(codecs.BOM_UTF8):
            enc = "utf-8"
        return text, enc
    raise AssertionError("latin-1 decodes every byte")  # pragma: no cover


def _records(text: str, sep: str, limit: int) -> list[list[str]]:
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=sep, quotechar='"',
                        doublequote=True, strict=False)
    rows = []
    try:
        for row in reader:
            if row:
                rows.append(row)
            if len(rows) >= limit:
                break
    except csv.Error:
        pass
    return rows


def _sniff_sep(sample_text: str, truncated: bool) -> str:
    """The separator among :data:`SEPARATORS` that splits the sample most consistently.

    ``csv.Sniffer`` guesses from character frequencies per *line*, so a quoted field
    with a line break (common in address or note columns) or a separator inside quotes
    throws it off. Instead each candidate is tried with a real CSV parser (quotes and
    embedded newlines handled) and scored: the share of records with as many fields as
    the header, then the number of header fields, then the fewest fields starting with a
    space ("Name, Vorname;E-Mail" is split on ";"). A last record that may have been cut
    off by the sample limit is ignored.
    """
    best, best_score = SEPARATORS[0], (-1.0, 0, 0.0)
    for sep in SEPARATORS:
        rows = _records(sample_text, sep, limit=2000)
        if truncated and len(rows) > 1:
            rows = rows[:-1]
        if not rows or len(rows[0]) < 2:
            continue
        width = len(rows[0])
        consistent = sum(len(r) == width for r in rows) / len(rows)
        cells = [c for r in rows[:200] for c in r]
        padded = sum(c[:1].isspace() for c in cells) / len(cells)
        score = (consistent, width, -padded)
        if score > best_score:
            best, best_score = sep, score
    return best


def _line_terminator(sample_text: str) -> str:
    # judged on the header line: quoted values may hold other line breaks
    end = sample_text.find("\n")
    if end < 0:
        return "\r" if "\r" in sample_text else "\n"  # classic Mac OS exports use CR alone
    return "\r\n" if end > 0 and sample_text[end - 1] == "\r" else "\n"


def _read_csv(data: bytes, name: str, *, sep, encoding) -> tuple[pd.DataFrame, dict]:
    text, enc = _decode(data, encoding, name)
    if not text.strip():
        raise InputError(f"The contact list {name} is empty: it has no header and no rows.")
    layout = _csv_layout(text, sep)
    sep = layout["sep"]
    kwargs = {}
    if not layout["header"]:
        kwargs = {"header": None, "names": layout.pop("names")}
    del text
    try:
        with warnings.catch_warnings():
            # index_col=False would silently drop extra fields of a row: make it an error
            warnings.simplefilter("error", pd.errors.ParserWarning)
            df = pd.read_csv(
                io.BytesIO(data),
                sep=sep,
                encoding="utf-8-sig" if enc == "utf-8" else enc,
                dtype=str,
                keep_default_na=False,
                na_filter=False,
                index_col=False,
                quotechar='"',
                doublequote=True,
                skiprows=1 if layout["sep_line"] else 0,
                engine="c",
                **kwargs,
            )
    except (pd.errors.ParserError, pd.errors.ParserWarning) as exc:
        raise FormatError(
            f"The contact list {name} is not consistent CSV with separator {sep!r}: "
            f"{_first_bad_row(data, enc, sep, layout) or str(exc).strip().splitlines()[0]}. "
            "Look for an unquoted separator or a stray quote in a value there; fix that "
            "row, or, if the separator was guessed wrong, name it: "
            "read_contacts(..., sep=';') in Python, or a first line 'sep=;' in the file "
            "(Excel's own convention, which every listcare command reads)."
        ) from None
    except pd.errors.EmptyDataError:
        raise InputError(f"The contact list {name} is empty: it has no header and no rows.") from None
    df.columns = [str(c) for c in df.columns]
    cells = layout.pop("header_cells", None)
    if layout["header"] and cells is not None and len(cells) == df.shape[1]:
        renamed = {c: h for c, h in zip(df.columns, cells, strict=True) if c != h}
        if renamed:
            layout["header_as_written"] = renamed
    # rows shorter than the header: pandas leaves NaN in the missing fields
    for i in range(df.shape[1]):
        if df.iloc[:, i].hasnans:
            df.isetitem(i, df.iloc[:, i].fillna(""))
    return df, {"format": "csv", "encoding": enc, **layout}


def _first_bad_row(data: bytes, enc: str, sep: str, layout: dict) -> str:
    """Where the CSV goes wrong, in words (only on the error path: one more pass)."""
    text, _ = _decode(data, enc, "")
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=sep, quotechar='"',
                        doublequote=True, strict=True)
    width = None
    try:
        for row in reader:
            if layout.get("sep_line") and reader.line_num == 1:
                continue
            if not row:
                continue
            if width is None:
                width = len(row) if layout.get("header", True) else len(layout.get("names") or row)
                if layout.get("header", True):
                    continue
            if len(row) > width:
                return (
                    f"line {reader.line_num} has {len(row)} fields, the header {width}"
                )
    except csv.Error as exc:
        return f"line {reader.line_num}: {exc} (a quote that is never closed?)"
    return ""


def _csv_layout(text: str, sep: str | None) -> dict:
    """Separator, line ending, header or not, Excel ``sep=`` line: from the first 64 KiB."""
    head = text[:SNIFF_CHARS]
    sep_line = _EXCEL_SEP_LINE.match(head)
    if sep_line:  # Excel's "sep=;" first line names the separator
        sep = sep or sep_line.group(1)
        head = head[sep_line.end():]
    if sep is None:
        sep = _sniff_sep(head, truncated=len(text) > SNIFF_CHARS)
    layout = {"sep": sep, "lineterminator": _line_terminator(head), "header": True,
              "sep_line": bool(sep_line)}
    first = _records(head, sep, limit=1)
    if first:
        # the header as written: pandas renames duplicate and empty names ("Name.1",
        # "Unnamed: 3"); the outputs write the original ones back
        layout["header_cells"] = list(first[0])
    if first and any(_ADDRESS_LIKE.search(cell) for cell in first[0]):
        names = [f"column_{i + 1}" for i in range(len(first[0]))]
        names[next(i for i, c in enumerate(first[0]) if _ADDRESS_LIKE.search(c))] = "email"
        layout.update(header=False, names=names)
    return layout


def _as_strings(df: pd.DataFrame) -> pd.DataFrame:
    """Every cell as a string, empty for missing values (Parquet/xlsx typed columns)."""
    out = {}
    for col in df.columns:
        s = df[col]
        mask = s.isna()
        s = s.astype(object).where(~mask, "")
        out[str(col)] = s.map(lambda v: v if isinstance(v, str) else str(v)).astype(object)
    return pd.DataFrame(out, index=pd.RangeIndex(len(df)), columns=list(out))


def _need(module: str, extra: str, what: str):
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError:
        raise InputError(
            f"Reading or writing {what} needs the optional package {module!r}: "
            f"pip install 'listcare[{extra}]'"
        ) from None


def _read_xlsx(data: bytes, name: str, sheet_name) -> tuple[pd.DataFrame, dict]:
    if isinstance(sheet_name, bool) or not isinstance(sheet_name, int | str):
        raise InputError(
            f"sheet_name must be one sheet's name or 0-based position, not {sheet_name!r}."
        )
    _need("openpyxl", "xlsx", ".xlsx files")
    try:
        df = pd.read_excel(
            io.BytesIO(data), sheet_name=sheet_name, dtype=str, keep_default_na=False,
            na_filter=False, engine="openpyxl",
        )
    except (ValueError, KeyError, OSError) as exc:
        raise InputError(f"The contact list {name} cannot be read as .xlsx: {exc}.") from None
    except Exception as exc:  # openpyxl raises zipfile/XML errors on damaged files
        raise InputError(f"The contact list {name} is not a readable .xlsx file: {exc}.") from None
    if df.shape[1] == 0:
        raise InputError(f"The contact list {name} is empty: the sheet has no header and no rows.")
    return _as_strings(df), {"format": "xlsx", "sheet_name": sheet_name}


def _read_parquet(data: bytes, name: str) -> tuple[pd.DataFrame, dict]:
    _need("pyarrow", "parquet", "Parquet files")
    try:
        # nullable dtypes: an int column with gaps stays "1", not "1.0"
        df = pd.read_parquet(io.BytesIO(data), engine="pyarrow", dtype_backend="numpy_nullable")
    except Exception as exc:  # pyarrow.ArrowInvalid and friends
        raise InputError(f"The contact list {name} is not a readable Parquet file: {exc}.") from None
    if df.shape[1] == 0:
        raise InputError(f"The contact list {name} is empty: it has no columns.")
    return _as_strings(df), {"format": "parquet"}


def read_contacts(
    path_or_buffer,
    *,
    email_column: str | None = None,
    sep: str | None = None,
    encoding: str | None = None,
    sheet_name=0,
) -> pd.DataFrame:
    """Read a contact list: CSV (any of ``, ; TAB |``), ``.xlsx`` or Parquet.

    Every row and every column is kept as read, in order, as strings (empty cells are
    ``""``, never NaN; ``"NA"`` stays ``"NA"``); the index is 0..n-1 (the row number).
    CSV: the separator is detected unless *sep* is given (Excel's ``sep=;`` first line
    is honoured) and the encoding is tried in the order UTF-8 (BOM or not),
    Windows-1252, Latin-1 unless *encoding* is given. Quoted fields may contain line
    breaks; entirely blank lines are not rows and are skipped. A file whose first line
    is already an address has no header: its columns are named ``email`` and
    ``column_N``. Duplicate header names get pandas' ``.1`` suffixes.

    ``.xlsx`` needs ``pip install 'listcare[xlsx]'`` (openpyxl) and reads *sheet_name*;
    Parquet needs ``listcare[parquet]`` (pyarrow). The format is recognised by content,
    not by file extension.

    ``df.attrs["listcare"]`` records how the file was read (``format``, ``sep``,
    ``encoding``, ``lineterminator``, ``email_column``, ``path``, ...) for
    :func:`write_contacts`. Raises :class:`~listcare.exceptions.InputError` for a
    missing, unreadable or empty file and :class:`~listcare.exceptions.ColumnError`
    (listing the columns seen) when no email column is found.

    Example::

        >>> df = read_contacts(example_path("contacts.csv"))
        >>> df.attrs["listcare"]["email_column"]
        'E-Mail'
    """
    if sep is not None and (not isinstance(sep, str) or len(sep) != 1):
        raise InputError(f"sep must be one character such as ',' or ';', not {sep!r}.")
    data, path, name = _load(path_or_buffer)
    fmt = _detect_format(data, path)
    if fmt == "gzip":  # contacts.csv.gz, as exports are often mailed or archived
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError, zlib.error) as exc:
            raise InputError(f"The contact list {name} is a damaged gzip file: {exc}.") from None
        fmt = _detect_format(data, path)
        if fmt == "gzip":
            raise InputError(f"The contact list {name} is gzip inside gzip; decompress it once.")
    if fmt == "binary":
        raise InputError(
            f"The contact list {name} is not a text file (it contains NUL bytes): export it "
            "as CSV, .xlsx or Parquet."
        )
    if fmt == "xls":
        raise InputError(
            f"The contact list {name} is a legacy Excel .xls file; save it as .xlsx or CSV "
            "(File > Save As) and read that."
        )
    if fmt == "markup":
        raise InputError(
            f"The contact list {name} is an HTML or XML file, not CSV or .xlsx (some tools "
            "name such exports .xls); open it in a spreadsheet and save it as .xlsx or CSV."
        )
    if fmt == "xlsx":
        df, info = _read_xlsx(data, name, sheet_name)
    elif fmt == "parquet":
        df, info = _read_parquet(data, name)
    else:
        df, info = _read_csv(data, name, sep=sep, encoding=encoding)
    del data
    info["email_column"] = find_email_column(df, email_column)
    info["path"] = path
    df.attrs["listcare"] = info
    return df


# ---------------------------------------------------------------------------- writing
# OWASP "CSV Injection" and ASVS 5.0 V1.2.10: a spreadsheet treats a cell starting with
# = + - @ TAB CR (and NUL) as a formula; Excel in East Asian locales and Apple Numbers
# take the full-width = + - @ too (OWASP www-community issue 1088). A leading quote
# makes it text. After an ASCII + or -, two shapes are left alone (see escape_formulas):
# a plain number or phone number, and a plain address with a dotted host name (RFC 5322
# allows "-" and "+" first in a local part; the quote would change the address the
# clean list hands to the sending platform). \Z, not $: "$" also matches before a
# final line break.
_FORMULA_START = re.compile(
    r"^(?:[=@\t\r\0\uff1d\uff20]|\s+[=+\-@\uff1d\uff0b\uff0d\uff20]"
    r"|[\uff0b\uff0d](?![\d\s().,/+\-]*\Z)"
    r"|[+\-](?![\d\s().,/+\-]*\Z)"
    r"(?![A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)+\Z))"
)


# Cells that can start a formula begin with one of these or with any whitespace (the
# pattern's \s is Unicode's: NBSP, U+3000...). NUL is not listed: numpy's fixed-width
# strings cannot hold it; see escape_formulas.
_RISKY_FIRST = np.array(["=", "@", "+", "-", "\uff1d", "\uff0b", "\uff0d", "\uff20"])


def _neutralize_value(v):
    if isinstance(v, str) and v and _FORMULA_START.match(v):
        return "'" + v
    return v


def escape_formulas(df: pd.DataFrame) -> pd.DataFrame:
    """A copy of *df* whose text cells cannot start a spreadsheet formula.

    Cells (and column names) starting with ``=``, ``@``, TAB, CR or NUL, with
    whitespace before one of ``= + - @``, or with ``+`` or ``-`` followed by
    anything but a plain number, get a leading ``'`` (OWASP CSV
    injection guidance); so do the full-width ``＝ ＋ － ＠``, which East Asian Excel
    and Apple Numbers read as formula signs too. Plain numbers and phone numbers such as ``-``, ``-5``,
    ``+49 (30) 123-456`` are left alone on purpose: without letters, ``|``, ``!`` or
    quotes a cell can neither call a function (HYPERLINK, WEBSERVICE, DDE ``cmd|``) nor
    reference another cell, and rewriting every international phone number would
    corrupt the list for the tool that imports it. So are plain addresses that start
    with ``-`` or ``+`` (``-info@example.com``: letters, digits and ``. _ % + -``, one
    ``@``, a dotted host name): valid addresses, which the quote would break for the
    sending platform, and with no ``(``, ``|``, ``!``, quote or space they can call
    nothing.
    """
    out = df.copy(deep=False)
    out.columns = [_neutralize_value(str(c)) for c in df.columns]
    for i in range(df.shape[1]):
        col = df.iloc[:, i]
        if col.dtype != object and not isinstance(col.dtype, pd.StringDtype):
            continue
        # first characters in one C-level pass (non-strings give harmless candidates that
        # _neutralize_value leaves alone)
        first = col.to_numpy(dtype=object).astype("U1")
        risky = np.isin(first, _RISKY_FIRST) | np.char.isspace(first)
        if _has_char(col.to_frame(), "\0"):  # numpy drops a leading NUL: "" stands for it
            risky |= first == ""
        if risky.any():
            fixed = col.copy()
            fixed[risky] = col[risky].map(_neutralize_value)
            out.isetitem(i, fixed)
    out.attrs = dict(df.attrs)
    return out


def _settings_of(like) -> dict:
    """Write settings from a DataFrame read by read_contacts, a dict, or a file path."""
    if like is None:
        return {}
    if isinstance(like, pd.DataFrame):
        return dict(like.attrs.get("listcare", {}))
    if isinstance(like, dict):
        return dict(like)
    data, path, name = _load(like)
    fmt = _detect_format(data, path)
    info: dict = {"format": fmt, "path": path}
    if fmt == "csv":
        text, enc = _decode(data, None, name)
        layout = _csv_layout(text, None)
        layout.pop("names", None)
        info.update(encoding=enc, **layout)
    return info


def _same_file(a: str, b: str | None) -> bool:
    if not b:
        return False
    try:
        return os.path.samefile(a, b)
    except OSError:
        return os.path.realpath(a) == os.path.realpath(b)


def _format_for(path: str) -> str:
    ext = os.path.splitext(path)[1].lower()
    if ext in _XLSX_EXT:
        return "xlsx"
    if ext in _PARQUET_EXT:
        return "parquet"
    return "csv"


def _has_char(df: pd.DataFrame, char: str) -> bool:
    if any(char in str(c) for c in df.columns):
        return True
    for i in range(df.shape[1]):
        col = df.iloc[:, i]
        if isinstance(col.dtype, pd.CategoricalDtype):
            col = pd.Series(col.cat.categories.astype(object))  # (its few distinct values)
        if col.dtype == object or isinstance(col.dtype, pd.StringDtype):
            values = col.to_numpy(dtype=object)
            try:
                joined = "".join(values)  # C speed when every cell is a string
            except TypeError:
                joined = "".join(v for v in values if isinstance(v, str))
            if char in joined:
                return True
    return False


def _unencodable(df: pd.DataFrame, encoding: str) -> str:
    """Where the first cell that *encoding* cannot represent is (for the error)."""
    for col in df.columns:
        if not str(col).encode(encoding, "ignore").decode(encoding) == str(col):
            return f"the column name {str(col)!r}"
        for pos, v in enumerate(df[col]):
            if isinstance(v, str):
                try:
                    v.encode(encoding)
                except UnicodeEncodeError:
                    return f"column {str(col)!r}, row {pos + 1}"
    return "a cell"


def _escaped_cells(df: pd.DataFrame, encoding: str) -> pd.DataFrame:
    """*df* (a shallow copy if anything changes) with :func:`escape_unencodable` applied
    to the text cells of every column."""
    if encoding.replace("_", "-").lower().startswith("utf"):
        return df  # every character has a UTF spelling
    out = df
    for i in range(df.shape[1]):
        col = df.iloc[:, i]
        if col.dtype != object and not isinstance(col.dtype, pd.StringDtype):
            continue
        values = col.to_numpy(dtype=object)
        try:
            "\n".join(values).encode(encoding)  # one C-level check: nearly always fine
            continue
        except (TypeError, UnicodeEncodeError):  # (TypeError: a missing value among them)
            pass
        text = np.fromiter((isinstance(v, str) for v in values), dtype=bool, count=len(values))
        sub = values[text]
        fixed = escape_unencodable(sub, encoding)
        if fixed is sub:
            continue
        if out is df:
            out = df.copy(deep=False)
            out.attrs = dict(df.attrs)
        new = values.copy()
        new[text] = fixed
        out.isetitem(i, pd.Series(new, index=col.index, name=col.name).astype(col.dtype))
    return out


def escape_unencodable(values: np.ndarray, encoding: str) -> np.ndarray:
    """*values* with every character that *encoding* cannot write as a JSON escape.

    What the job adds to a row (a remote server's bounce text in ``reason``, the
    ``evidence`` JSON) can hold characters that the list's own encoding, e.g. cp1252,
    has not: writing them would fail the run, and every run after it, until the
    evidence ages out. ``\\u90ae`` (two escapes for a character outside the BMP, as JSON
    writes it) is lossless, keeps the evidence valid JSON and can be read by a person.
    """
    if encoding.replace("_", "-").lower().startswith("utf"):
        return values
    try:
        "\n".join(values).encode(encoding)  # one C-level check: nearly always fine
        return values
    except UnicodeEncodeError:
        pass
    out = values.copy()
    for i, v in enumerate(values):
        try:
            v.encode(encoding)
        except UnicodeEncodeError:
            out[i] = "".join(ch if _encodes(ch, encoding) else json.dumps(ch)[1:-1] for ch in v)
    return out


def _encodes(ch: str, encoding: str) -> bool:
    try:
        ch.encode(encoding)
        return True
    except UnicodeEncodeError:
        return False


def write_contacts(
    df: pd.DataFrame,
    path: str | os.PathLike,
    *,
    like=None,
    sep: str | None = None,
    encoding: str | None = None,
    neutralize_formulas: bool | None = None,
    format: str | None = None,
    unencodable: str = "raise",
) -> Path:
    """Write *df* to *path* atomically, the way its input was written.

    The format follows the extension of *path* (``.xlsx``, ``.parquet``, else CSV) unless
    *format* (``"csv"``, ``"xlsx"``, ``"parquet"``) says otherwise. CSV
    settings (separator, encoding incl. a UTF-8 BOM, line ending, header or not, Excel's
    ``sep=`` line) come from *like* -- a DataFrame returned by :func:`read_contacts`, a
    dict like its ``attrs["listcare"]``, or the path of a file to imitate -- else from
    ``df.attrs["listcare"]``, else ``,``/UTF-8/``\\n``; *sep* and *encoding* override.

    The file is written to a temporary file in the same folder, fsynced and renamed
    (:mod:`listcare.atomic`): readers never see half a file, and on any error the old
    file stays. Writing over the file the data was read from is refused
    (:class:`~listcare.exceptions.InputError`): inputs are never modified.

    *neutralize_formulas* (default on for CSV and ``.xlsx``; meaningless for Parquet):
    in CSV, cells that a spreadsheet would run as a formula get a leading ``'`` (see
    :func:`escape_formulas` for the exact rule and why phone numbers are left
    alone); in ``.xlsx``, such cells are stored as text cells instead of formulas, so
    no quote is added. *df* itself is never modified. Returns the path written.

    *unencodable*: what a CSV cell with a character the encoding cannot write does:
    ``"raise"`` (the default: an error naming the cell, nothing written) or ``"escape"``
    (the character is written as a JSON escape, :func:`escape_unencodable`: what the
    nightly job and ``listcare validate`` do, since the columns they add hold text from
    elsewhere -- a remote server's bounce reply, an IDN's Unicode form).
    """
    if unencodable not in ("raise", "escape"):
        raise InputError(f"unencodable must be 'raise' or 'escape', not {unencodable!r}.")
    if not isinstance(df, pd.DataFrame):
        raise InputError(f"write_contacts needs a DataFrame, not {type(df).__name__}.")
    target = os.path.abspath(os.fspath(path))
    settings = dict(df.attrs.get("listcare", {}))
    inputs = [settings.get("path")]
    if like is not None:
        like_settings = _settings_of(like)
        inputs.append(like_settings.get("path"))
        settings = like_settings
    for src in inputs:
        if src and _same_file(target, src):
            raise OutputError(
                f"Refusing to write {os.fspath(path)!r}: it is the input file the data was "
                "read from, and listcare never modifies its inputs. Choose another output path."
            )
    if format is None:
        fmt = _format_for(target)
    elif format in ("csv", "xlsx", "parquet"):
        fmt = format
    else:
        raise InputError(f"format must be 'csv', 'xlsx' or 'parquet', not {format!r}.")
    neutralize = True if neutralize_formulas is None else bool(neutralize_formulas)

    if fmt == "parquet":
        _need("pyarrow", "parquet", "Parquet files")
        buf = io.BytesIO()
        try:
            plain = df.copy(deep=False)
            plain.columns = [str(c) for c in df.columns]
            plain.attrs = {}
            plain.to_parquet(buf, index=False, engine="pyarrow")
        except Exception as exc:  # pyarrow.ArrowInvalid / ArrowTypeError on mixed columns
            raise ListcareError(f"Cannot write {os.fspath(path)!r} as Parquet: {exc}.") from None
        atomic_write_bytes(target, buf.getvalue())
        return Path(target)

    if fmt == "xlsx":
        atomic_write_bytes(target, _xlsx_bytes(df, settings, neutralize, os.fspath(path)))
        return Path(target)

    if settings.get("format", "csv") != "csv":
        settings = {}
    sep = sep or settings.get("sep") or ","
    if len(sep) != 1:
        raise InputError(f"sep must be one character such as ',' or ';', not {sep!r}.")
    encoding = encoding or settings.get("encoding") or "utf-8"
    try:
        codecs.lookup(encoding)
    except LookupError:
        raise InputError(f"Unknown encoding {encoding!r}.") from None
    lineterminator = settings.get("lineterminator") or "\n"
    header = settings.get("header", True)
    if header and settings.get("header_as_written"):
        # the input's own header cells for the columns pandas renamed on reading
        written = settings["header_as_written"]
        header = [written.get(str(c), str(c)) for c in df.columns]
        if neutralize:
            header = [_neutralize_value(h) for h in header]
    out = escape_formulas(df) if neutralize else df
    if unencodable == "escape":
        out = _escaped_cells(out, encoding)
    # The csv writer quotes a field only for the characters of *its* line terminator, so
    # with "\n" a lone "\r" in a value would go out unquoted and split the row on
    # reading. Such files are written with every field quoted (rare, but loses nothing).
    quoting = csv.QUOTE_MINIMAL
    if "\r" not in lineterminator and _has_char(out, "\r"):
        quoting = csv.QUOTE_ALL
    try:
        with atomic_write(target, "w", encoding=encoding, newline="") as f:
            if settings.get("sep_line"):
                f.write(f"sep={sep}{lineterminator}")
            names = _header_cells(out, header)
            body = _csv_rows(out, sep, lineterminator, quoting) if names is not None else None
            if body is None:  # numbers or dates among the cells, column names that are
                # not text: pandas formats those
                out.to_csv(
                    f, sep=sep, index=False, header=header, lineterminator=lineterminator,
                    quoting=quoting, quotechar='"', doublequote=True, na_rep="",
                )
            else:
                if names:
                    head = pd.DataFrame([names], dtype=object)
                    f.write(_csv_rows(head, sep, lineterminator, quoting))
                f.write(body)
    except UnicodeEncodeError:
        where = _unencodable(out, encoding)
        raise ListcareError(
            f"Cannot write {os.fspath(path)!r} in {encoding}: {where} has a character that "
            f"{encoding} cannot represent. Pass encoding='utf-8-sig' (Excel opens it) or "
            "remove the character; nothing was written."
        ) from None
    return Path(target)



def _header_cells(df: pd.DataFrame, header) -> list[str] | None:
    """The header row :func:`_csv_rows` may write for *header* (as ``to_csv`` takes it):
    [] for none; None when pandas must write it (column names that are not text, a
    MultiIndex, a list of the wrong length or with other things than text)."""
    if header is False:
        return []
    if header is True:
        names = list(df.columns)
    elif isinstance(header, list) and len(header) == df.shape[1]:
        names = header
    else:
        return None
    if isinstance(df.columns, pd.MultiIndex) or not all(type(n) is str for n in names):
        return None
    return names


def _csv_rows(df: pd.DataFrame, sep: str, lineterminator: str, quoting: int) -> str | None:
    """The rows of *df* exactly as ``df.to_csv(index=False, header=False, na_rep="",
    quotechar='"', doublequote=True)`` writes them through the csv module: with
    QUOTE_MINIMAL a field is quoted when it holds the separator, a quote or a character
    of the line terminator, and a row whose only field is empty is ``""``; with QUOTE_ALL
    every field is quoted; a quote is doubled. Built a column at a time (a column with
    nothing to quote, nearly every one, is used as it is) and joined in C: three times
    faster than the csv module's row loop on a million rows. None when a column holds
    anything but text and missing values (numbers, dates: pandas formats those).
    """
    if quoting not in (csv.QUOTE_MINIMAL, csv.QUOTE_ALL) or df.shape[1] == 0:
        return None
    special = set(sep + '"' + lineterminator)
    quote_pattern = "[" + re.escape("".join(sorted(special))) + "]"
    single = df.shape[1] == 1
    cols = []
    for i in range(df.shape[1]):
        col = df.iloc[:, i]
        if col.dtype != object and not isinstance(col.dtype, pd.StringDtype):
            return None
        values = col.to_numpy(dtype=object, na_value="")
        try:
            joined = "".join(values)  # one C-level pass: every cell is text
        except TypeError:
            return None
        if quoting == csv.QUOTE_ALL:
            values = ['"' + v.replace('"', '""') + '"' for v in values]
        elif any(c in joined for c in special):
            # the few cells to quote, found in the joined text: a cell ends where the
            # running sum of the lengths says
            ends = np.cumsum(np.fromiter(map(len, values), dtype=np.int64, count=len(values)))
            hits = [m.start() for m in re.finditer(quote_pattern, joined)]
            values = np.array(values, dtype=object)  # (a copy: never the frame's own)
            for at in np.unique(np.searchsorted(ends, hits, side="right")):
                values[at] = '"' + values[at].replace('"', '""') + '"'
        if single and quoting == csv.QUOTE_MINIMAL:
            values = ['""' if v == "" else v for v in values]
        cols.append(values)
    if not len(df):
        return ""
    return lineterminator.join(map(sep.join, zip(*cols, strict=True))) + lineterminator

_ILLEGAL_XLSX = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


def _xlsx_bytes(df: pd.DataFrame, settings: dict, neutralize: bool, name: str) -> bytes:
    openpyxl = _need("openpyxl", "xlsx", ".xlsx files")
    from openpyxl.cell import WriteOnlyCell

    wb = openpyxl.Workbook(write_only=True)
    sheet = settings.get("sheet_name")
    ws = wb.create_sheet(sheet if isinstance(sheet, str) and sheet else "contacts")

    def cell(v):
        if v is None or v is pd.NA or (isinstance(v, float) and v != v):
            v = None
        elif isinstance(v, str) and _ILLEGAL_XLSX.search(v):
            raise ListcareError(
                f"Cannot write {name!r} as .xlsx: a cell holds a control character that "
                "the format cannot store; write CSV instead."
            )
        elif not isinstance(v, str | int | float | bool):
            v = str(v)
        c = WriteOnlyCell(ws, value=v)
        if neutralize and isinstance(v, str) and v.startswith("="):
            c.data_type = "s"  # text, not a formula
        return c

    ws.append([cell(str(c)) for c in df.columns])
    for row in df.itertuples(index=False, name=None):
        ws.append([cell(v) for v in row])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


# ---------------------------------------------------------------------------- examples
def example_path(name: str = "contacts.csv") -> Path:
    """Path of a bundled example file or folder, e.g. ``example_path("postfix.log")`` or
    ``example_path("bounces")`` (the folder of bounce emails).

    The examples (``contacts.csv``, ``contacts_de.csv``, ``postfix.log``,
    ``bounces/*.eml``, ``ses.json``) are made by ``scripts/make_examples.py``; see the
    README in that folder.
    """
    root = resources.files("listcare").joinpath("data", "examples")
    parts = Path(name).parts
    if not parts or any(p in ("..", "") for p in parts) or Path(name).is_absolute():
        raise InputError(f"{name!r} is not the name of a bundled example file.")
    target = root.joinpath(*parts)
    if not (target.is_file() or target.is_dir()):
        have = sorted(p.name for p in root.iterdir()) if root.is_dir() else []
        raise InputError(
            f"There is no bundled example {name!r}; there are {sample(have, 10) if have else 'none'}."
        )
    return Path(str(target))
