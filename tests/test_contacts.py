"""Reading and writing contact lists: real-world exports in, the same format out."""

from __future__ import annotations

import csv
import io
import os
import sys

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from listcare import (
    ColumnError,
    InputError,
    ListcareError,
    OutputError,
    find_email_column,
    read_contacts,
    write_contacts,
)
from listcare.contacts import escape_formulas, example_path

from .conftest import FIXTURES

C = FIXTURES / "contacts"


def attrs(df):
    return df.attrs["listcare"]


# ----------------------------------------------------------------------------- reading
def test_german_excel_export_cp1252_semicolon_crlf():
    df = read_contacts(C / "excel_de_cp1252.csv")
    a = attrs(df)
    assert (a["format"], a["sep"], a["encoding"], a["lineterminator"]) == ("csv", ";", "cp1252", "\r\n")
    assert a["email_column"] == "E-Mail-Adresse"
    assert a["path"] == str(C / "excel_de_cp1252.csv")
    assert list(df.columns) == [
        "Anrede", "Vorname", "Nachname", "E-Mail-Adresse", "Firma", "Straße", "Telefon", "Notiz"
    ]
    assert df.shape == (4, 8)
    assert list(df.index) == [0, 1, 2, 3]
    assert df.loc[0, "Nachname"] == "Müller"
    assert df.loc[1, "Firma"] == "Bäckerei Größe, Inh. Ä. Größe"  # ',' inside a ';' file
    assert df.loc[1, "Notiz"] == "Kundin seit 2019 – „Stammkundin“"  # cp1252-only characters
    assert df.loc[2, "Notiz"] == "Preis 12,50 €"
    assert df.loc[3, "Vorname"] == ""  # empty stays "", never NaN
    assert all(df[c].map(type).eq(str).all() for c in df.columns)


def test_utf8_with_bom():
    df = read_contacts(C / "utf8_bom.csv")
    assert attrs(df)["encoding"] == "utf-8-sig"
    assert list(df.columns)[0] == "email"  # the BOM is not part of the first name
    assert df["city"].tolist() == ["Zürich", "Málaga", "北京"]


def test_latin1_when_cp1252_cannot_decode():
    df = read_contacts(C / "latin1.csv")
    assert (attrs(df)["encoding"], attrs(df)["sep"]) == ("latin-1", "|")
    assert df["Name"].tolist() == ["Renée Faßbender", "Søren Ågård"]
    assert df.loc[0, "Kommentar"] == "ok\x81"


def test_tabs_and_pipes():
    tabs = read_contacts(C / "tabs.tsv")
    assert attrs(tabs)["sep"] == "\t" and attrs(tabs)["email_column"] == "Email Address"
    assert tabs["Full Name"].tolist() == ["Doe, Jane", "Roe, Richard"]
    assert tabs["Tags"].tolist() == ["vip;newsletter", ""]
    pipes = read_contacts(C / "pipes.txt")
    assert attrs(pipes)["sep"] == "|" and attrs(pipes)["email_column"] == "e_mail"
    assert pipes["id"].tolist() == ["1", "2"]  # strings, not numbers


def test_quoted_fields_with_embedded_newlines():
    df = read_contacts(C / "multiline.csv")
    assert attrs(df)["lineterminator"] == "\n"
    assert df.shape == (3, 4)
    assert df["address"].tolist() == ["Lindenweg 3\n12345 Berlin", "Box 7\r\nSpringfield", ""]
    assert df["note"].tolist() == ['said "hi"\nand left', "", "line1\n\nline3"]
    assert df["name"].tolist() == ["Eva", "Frank, Jr.", "Gina"]


def test_no_email_column_lists_the_columns_seen():
    with pytest.raises(ColumnError) as err:
        read_contacts(C / "no_email_column.csv")
    msg = str(err.value)
    assert "'Vorname', 'Nachname', 'Telefon'" in msg
    assert "email_column" in msg
    assert err.value.seen == ("Vorname", "Nachname", "Telefon")


def test_empty_and_header_only():
    with pytest.raises(InputError, match="empty"):
        read_contacts(C / "empty.csv")
    with pytest.raises(InputError, match="empty"):
        read_contacts(io.BytesIO(b"\xef\xbb\xbf\r\n\r\n"))
    df = read_contacts(C / "header_only.csv")
    assert df.shape == (0, 3)
    assert list(df.columns) == ["E-Mail", "Vorname", "Nachname"]
    assert attrs(df)["email_column"] == "E-Mail"


def test_missing_and_unreadable_paths_are_named(tmp_path):
    missing = tmp_path / "nope.csv"
    with pytest.raises(InputError, match="nope.csv") as err:
        read_contacts(missing)
    assert "does not exist" in str(err.value)
    with pytest.raises(InputError, match="folder"):
        read_contacts(tmp_path)
    if os.geteuid() != 0:  # root reads anything
        locked = tmp_path / "locked.csv"
        locked.write_text("email\na@b.de\n")
        locked.chmod(0)
        with pytest.raises(InputError, match="permission"):
            read_contacts(locked)


def test_na_like_values_stay_strings_and_short_rows_are_padded():
    text = "email,name,score\na@x.de,NA,null\nb@x.de,N/A\nc@x.de,,nan\n"
    df = read_contacts(io.StringIO(text))
    assert df.values.tolist() == [["a@x.de", "NA", "null"], ["b@x.de", "N/A", ""], ["c@x.de", "", "nan"]]


def test_row_with_too_many_fields_is_an_error_not_a_loss():
    with pytest.raises(InputError, match="line 3 has 3 fields, the header 2"):
        read_contacts(io.StringIO("email,name\na@x.de,Ann\nb@x.de,Bob,extra\n"))
    # even when it is the only row (pandas would drop the extra field with a warning)
    with pytest.raises(InputError, match="line 2 has 3 fields"):
        read_contacts(io.StringIO("email,name\nb@x.de,Bob,extra\n"))


def test_blank_lines_are_not_rows_but_separator_only_rows_are():
    df = read_contacts(io.StringIO("email;name\n\na@x.de;Ann\n;\n\n"))
    assert df.values.tolist() == [["a@x.de", "Ann"], ["", ""]]


def test_headerless_list_of_addresses_keeps_the_first_row(tmp_path):
    df = read_contacts(io.StringIO("a@x.de\nb@y.de\n"))
    assert df["email"].tolist() == ["a@x.de", "b@y.de"]
    assert attrs(df)["header"] is False
    out = write_contacts(df, tmp_path / "out.csv")
    assert out.read_text() == "a@x.de\nb@y.de\n"
    again = write_contacts(pd.DataFrame({"email": ["c@z.de"]}), tmp_path / "o2.csv", like=out)
    assert again.read_text() == "c@z.de\n"
    df2 = read_contacts(io.StringIO("Ann;a@x.de;1\nBob;b@y.de;2\n"))
    assert list(df2.columns) == ["column_1", "email", "column_3"]
    assert len(df2) == 2
    df3 = read_contacts(io.StringIO('1,"Ann Smith <a@x.de>"\n2,"Bob <b@y.de>"\n'))
    assert df3["email"].tolist() == ["Ann Smith <a@x.de>", "Bob <b@y.de>"]
    # a real header is not mistaken for data
    assert attrs(read_contacts(io.StringIO("E-Mail @ work,Name\na@x.de,A\n")))["header"] is True


def test_excel_sep_line_is_honoured_and_written_back(tmp_path):
    df = read_contacts(io.BytesIO(b"sep=;\r\nE-Mail;Name\r\na@x.de;Ann, B.\r\n"))
    assert attrs(df)["sep"] == ";" and attrs(df)["sep_line"] is True
    assert df.values.tolist() == [["a@x.de", "Ann, B."]]
    out = write_contacts(df, tmp_path / "o.csv")
    assert out.read_bytes() == b"sep=;\r\nE-Mail;Name\r\na@x.de;Ann, B.\r\n"


def test_classic_mac_cr_line_endings_round_trip(tmp_path):
    src = tmp_path / "mac.csv"
    src.write_bytes("E-Mail;Name\ra@x.de;Ärger\rb@x.de;B\r".encode("cp1252"))
    df = read_contacts(src)
    assert attrs(df)["lineterminator"] == "\r"
    assert df.values.tolist() == [["a@x.de", "Ärger"], ["b@x.de", "B"]]
    assert write_contacts(df, tmp_path / "out.csv").read_bytes() == src.read_bytes()


def test_excel_unicode_text_utf16_tabs():
    data = "E-Mail\tName\r\nä@x.de\tÄnne\r\n".encode("utf-16")
    df = read_contacts(io.BytesIO(data))
    assert (attrs(df)["encoding"], attrs(df)["sep"]) == ("utf-16", "\t")
    assert df.values.tolist() == [["ä@x.de", "Änne"]]


def test_sniffer_is_robust_to_quotes_newlines_and_commas():
    # commas and line breaks inside quoted values of a ';' file
    text = 'Name;E-Mail;Notiz\n"Doe, Jane";j@x.de;"a, b\nc, d, e"\n"Roe, R.";r@x.de;x,y\n'
    df = read_contacts(io.StringIO(text))
    assert attrs(df)["sep"] == ";" and df.shape == (2, 3)
    # a header that splits evenly on both ',' and ';'
    df = read_contacts(io.StringIO("Name, Vorname;E-Mail\nMüller, Hans;h@x.de\n"))
    assert attrs(df)["sep"] == ";" and list(df.columns) == ["Name, Vorname", "E-Mail"]


def test_large_file_sniffed_from_a_sample_cut_inside_a_quoted_field():
    rows = [f'u{i}@x.de,"Street {i}\nCity, {i}",{i}' for i in range(3000)]
    text = "email,address,n\n" + "\n".join(rows) + "\n"
    assert len(text) > 64 * 1024
    df = read_contacts(io.StringIO(text))
    assert attrs(df)["sep"] == "," and len(df) == 3000
    assert df.loc[2999, "address"] == "Street 2999\nCity, 2999"


def test_explicit_sep_and_encoding(tmp_path):
    p = tmp_path / "x.csv"
    p.write_bytes("email|name\nä@x.de|Ä\n".encode("cp1252"))
    df = read_contacts(p, sep="|", encoding="cp1252")
    assert df.values.tolist() == [["ä@x.de", "Ä"]]
    with pytest.raises(InputError, match="not valid utf-8"):
        read_contacts(p, encoding="utf-8")
    with pytest.raises(InputError, match="Unknown encoding"):
        read_contacts(p, encoding="klingon")
    with pytest.raises(InputError, match="one character"):
        read_contacts(p, sep=";;")


def test_format_is_recognised_by_content(tmp_path):
    misnamed = tmp_path / "export.xlsx"
    misnamed.write_bytes(b"E-Mail;Name\r\na@x.de;A\r\n")
    assert read_contacts(misnamed).values.tolist() == [["a@x.de", "A"]]
    with pytest.raises(InputError, match="empty"):
        read_contacts(io.BytesIO(b""))


def test_legacy_xls_gets_advice():
    with pytest.raises(InputError, match="save it as .xlsx"):
        read_contacts(io.BytesIO(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 100))
    with pytest.raises(InputError, match="HTML or XML"):
        read_contacts(io.BytesIO(b"\r\n<html><table><tr><td>E-Mail</td></tr></table></html>"))


# ----------------------------------------------------------------------------- finding
@pytest.mark.parametrize(
    "name",
    ["email", "E-Mail", "EMAIL", "E-Mail-Adresse", "Email Address", "email_address", "Mail",
     "e.mail", "Courriel", "Correo electrónico"[:6] + "electronico", "Recipient"],
)
def test_find_email_column_by_name(name):
    df = pd.DataFrame({"Name": ["Ann"], name: ["not checked"]})
    assert find_email_column(df) == name


def test_find_email_column_priority_and_generic_address():
    df = pd.DataFrame({"Address": ["a@x.de"], "E-Mail": ["b@x.de"]})
    assert find_email_column(df) == "E-Mail"
    postal = pd.DataFrame({"Name": ["Ann", "Bob"], "Address": ["Main St 1", "Elm St 2"]})
    with pytest.raises(ColumnError):
        find_email_column(postal)
    assert find_email_column(postal.assign(Address=["a@x.de", "b@y.de"])) == "Address"


def test_find_email_column_by_content_when_no_name_matches():
    df = pd.DataFrame({"Kontakt": ["a@x.de", "b@y.de", "", "kaputt"], "Name": ["A", "B", "C", "D"]})
    assert find_email_column(df) == "Kontakt"
    two = df.assign(Zweit=["c@x.de", "d@x.de", "e@x.de", ""])
    with pytest.raises(ColumnError, match="Several columns hold addresses"):
        find_email_column(two)
    assert find_email_column(two.rename(columns={"Zweit": "Work Mail"})) == "Work Mail"


def test_find_email_column_explicit():
    df = pd.DataFrame({"Kontakt": ["a@x.de"], "Name": ["A"]})
    assert find_email_column(df, "Kontakt") == "Kontakt"
    assert find_email_column(df, "kontakt") == "Kontakt"
    with pytest.raises(ColumnError) as err:
        find_email_column(df, "Mailadresse")
    assert "'Kontakt', 'Name'" in str(err.value) and err.value.missing == ("Mailadresse",)
    df = read_contacts(C / "excel_de_cp1252.csv", email_column="Firma")
    assert attrs(df)["email_column"] == "Firma"


# ----------------------------------------------------------------------------- writing
def test_round_trip_keeps_format_byte_for_byte(tmp_path):
    for name in ["utf8_bom.csv", "pipes.txt", "tabs.tsv", "header_only.csv", "latin1.csv"]:
        df = read_contacts(C / name)
        out = write_contacts(df, tmp_path / name, neutralize_formulas=False)
        assert out.read_bytes() == (C / name).read_bytes(), name


def test_german_export_written_back_as_cp1252_semicolon_crlf(tmp_path):
    df = read_contacts(C / "excel_de_cp1252.csv")
    before = df.copy()
    out = write_contacts(df.iloc[:3], tmp_path / "clean.csv")
    raw = out.read_bytes()
    assert raw.startswith("Anrede;Vorname;Nachname;E-Mail-Adresse;".encode("cp1252"))
    assert raw.count(b"\r\n") == 4 and "Jürgen".encode("cp1252") in raw
    back = read_contacts(out)
    pd.testing.assert_frame_equal(back, df.iloc[:3])
    pd.testing.assert_frame_equal(df, before)  # the input frame is untouched


def test_formula_injection_is_neutralised_by_default(tmp_path):
    df = read_contacts(C / "excel_de_cp1252.csv")
    out = write_contacts(df, tmp_path / "out.csv")
    back = read_contacts(out)
    assert back.loc[3, "Notiz"] == "'" + df.loc[3, "Notiz"]
    assert back.loc[0, "Telefon"] == "+49 30 1234567"  # phone numbers are not mangled
    assert back.loc[1, "Telefon"] == "-"
    assert df.loc[3, "Notiz"].startswith("=")  # input frame unchanged
    raw = write_contacts(df, tmp_path / "raw.csv", neutralize_formulas=False)
    assert read_contacts(raw).loc[3, "Notiz"] == df.loc[3, "Notiz"]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("=1+1", "'=1+1"),
        ("@SUM(A1:A9)", "'@SUM(A1:A9)"),
        ("+cmd|' /C calc'!A0", "'+cmd|' /C calc'!A0"),
        ("-2+3+cmd|' /C calc'!A0", "'-2+3+cmd|' /C calc'!A0"),
        ('=HYPERLINK("http://x.example","y")', '\'=HYPERLINK("http://x.example","y")'),
        ("\t=1+1", "'\t=1+1"),
        ("\r=1+1", "'\r=1+1"),
        ("  =1+1", "'  =1+1"),
        ("+1e5", "'+1e5"),
        ("- Herr Müller", "'- Herr Müller"),
        ("-info@example.com", "-info@example.com"),  # a valid address, left as it is
        ("+tag.x_1@mail.example.org", "+tag.x_1@mail.example.org"),
        ("-cmd|'/Ccalc'!A0@x.example", "'-cmd|'/Ccalc'!A0@x.example"),  # valid, but DDE
        ("+HYPERLINK(1)@x.example", "'+HYPERLINK(1)@x.example"),
        ("-a@b@x.example", "'-a@b@x.example"),
        ("-info@example.com x", "'-info@example.com x"),
        ("=info@example.com", "'=info@example.com"),  # = always starts a formula
        # no local part, a dotless host, a line break after it: not a plain address
        ("+@A1", "'+@A1"),
        ("-@A1", "'-@A1"),
        ("-A1+A2@B3", "'-A1+A2@B3"),
        ("-a@b.example\n", "'-a@b.example\n"),
        # full-width signs (East Asian Excel, Apple Numbers)
        ("\uff1dcmd|' /C calc'!A0", "'\uff1dcmd|' /C calc'!A0"),
        ("\uff20SUM(1,1)", "'\uff20SUM(1,1)"),
        ("\uff0bx", "'\uff0bx"),
        ("\uff0d5", "\uff0d5"),
        # any whitespace before a sign, not only ASCII
        ('\xa0=HYPERLINK("http://x.example")', '\'\xa0=HYPERLINK("http://x.example")'),
        ("\u3000=1+1", "'\u3000=1+1"),
        ("\x0b=1+1", "'\x0b=1+1"),
        ("\xa0Ann", "\xa0Ann"),
        ("-", "-"),
        ("-5.5", "-5.5"),
        ("+49 (0)30 123-456", "+49 (0)30 123-456"),
        ("+1 555 0100", "+1 555 0100"),
        ("a=b", "a=b"),
        ("jürgen@x.de", "jürgen@x.de"),
        ("", ""),
        (" Ann", " Ann"),
    ],
)
def test_escape_formulas_rule(value, expected):
    df = pd.DataFrame({"v": [value], "n": [1]})
    out = escape_formulas(df)
    assert out.loc[0, "v"] == expected
    assert df.loc[0, "v"] == value
    assert out.loc[0, "n"] == 1


def test_escape_formulas_covers_column_names():
    out = escape_formulas(pd.DataFrame({"=cmd|'/C calc'!A0": ["x"]}))
    assert list(out.columns) == ["'=cmd|'/C calc'!A0"]


def test_refuses_to_write_over_its_input(tmp_path):
    src = tmp_path / "in.csv"
    src.write_text("email\na@x.de\n")
    df = read_contacts(src)
    with pytest.raises(OutputError, match="never modifies its inputs") as err:
        write_contacts(df, src)
    assert err.value.exit_code == 73  # an output that cannot be written, not a bad input
    link = tmp_path / "link.csv"
    link.symlink_to(src)
    with pytest.raises(OutputError):
        write_contacts(df, link)
    other = pd.DataFrame({"email": ["b@x.de"]})
    with pytest.raises(OutputError):
        write_contacts(other, src, like=src)
    with pytest.raises(OutputError):
        write_contacts(other, str(tmp_path / "." / "in.csv"), like=df)
    assert src.read_text() == "email\na@x.de\n"


def test_like_a_file_and_overrides(tmp_path):
    fresh = pd.DataFrame({"E-Mail": ["ä@x.de"], "Name": ["Änne"]})
    out = write_contacts(fresh, tmp_path / "a.csv", like=C / "excel_de_cp1252.csv")
    assert out.read_bytes() == "E-Mail;Name\r\nä@x.de;Änne\r\n".encode("cp1252")
    out = write_contacts(fresh, tmp_path / "b.csv", like=C / "excel_de_cp1252.csv",
                         sep=",", encoding="utf-8-sig")
    assert out.read_bytes() == "\ufeffE-Mail,Name\r\nä@x.de,Änne\r\n".encode()
    plain = write_contacts(fresh, tmp_path / "c.csv")
    assert plain.read_bytes() == "E-Mail,Name\nä@x.de,Änne\n".encode()
    as_dict = write_contacts(fresh, tmp_path / "d.csv", like={"sep": "|", "encoding": "latin-1"})
    assert as_dict.read_bytes() == "E-Mail|Name\nä@x.de|Änne\n".encode("latin-1")


def test_format_overrides_the_extension(tmp_path):
    df = read_contacts(C / "excel_de_cp1252.csv")
    out = write_contacts(df, tmp_path / ".clean.csv.pending", format="csv")
    assert out.read_bytes().startswith("Anrede;Vorname;".encode("cp1252"))
    pq = write_contacts(df, tmp_path / "data.bin", format="parquet")
    assert pq.read_bytes()[:4] == b"PAR1"
    assert read_contacts(pq).values.tolist() == df.values.tolist()
    with pytest.raises(InputError, match="format must be"):
        write_contacts(df, tmp_path / "x", format="json")


def test_unencodable_character_is_a_clear_error_and_writes_nothing(tmp_path):
    df = read_contacts(C / "excel_de_cp1252.csv")
    df2 = df.assign(reason="ungültig → gesperrt")
    target = tmp_path / "out.csv"
    target.write_text("previous run\n")
    with pytest.raises(ListcareError, match="column 'reason', row 1") as err:
        write_contacts(df2, target)
    assert "utf-8-sig" in str(err.value)
    assert target.read_text() == "previous run\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.csv"]


def test_extra_columns_of_other_types_are_written(tmp_path):
    df = read_contacts(C / "pipes.txt")
    df2 = df.assign(ok=[True, False], dup=pd.array([pd.NA, 0], dtype="Int64"))
    out = write_contacts(df2, tmp_path / "o.txt")
    assert out.read_text() == "id|e_mail|name|ok|dup\n1|c@example.org|Carla|True|\n2|d@example.org|Dario|False|0\n"


texts = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\0"), max_size=12
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    rows=st.lists(st.tuples(texts, texts, texts), min_size=1, max_size=8),
    sep=st.sampled_from([",", ";", "\t", "|"]),
    encoding=st.sampled_from(["utf-8", "utf-8-sig"]),
)
def test_round_trip_property(tmp_path, rows, sep, encoding):
    df = pd.DataFrame(rows, columns=["email", "name", "note"], dtype=object)
    df["email"] = [f"u{i}@x.de" for i in range(len(df))]
    path = tmp_path / "p.csv"
    write_contacts(df, path, sep=sep, encoding=encoding, neutralize_formulas=False)
    back = read_contacts(path)  # separator and encoding detected
    assert (attrs(back)["sep"], attrs(back)["encoding"]) == (sep, encoding)
    assert back.values.tolist() == df.values.tolist()
    os.unlink(path)


# ----------------------------------------------------------------------------- xlsx, parquet
def test_xlsx_round_trip_and_formulas_stored_as_text(tmp_path):
    openpyxl = pytest.importorskip("openpyxl")
    df = read_contacts(C / "excel_de_cp1252.csv")
    out = write_contacts(df, tmp_path / "c.xlsx")
    ws = openpyxl.load_workbook(out).active
    cell = ws.cell(row=5, column=8)
    assert cell.value == df.loc[3, "Notiz"] and cell.data_type == "s"  # text, not a formula
    back = read_contacts(out)
    assert attrs(back)["format"] == "xlsx" and attrs(back)["email_column"] == "E-Mail-Adresse"
    pd.testing.assert_frame_equal(back, df, check_like=False)
    unsafe = write_contacts(df, tmp_path / "u.xlsx", neutralize_formulas=False)
    assert openpyxl.load_workbook(unsafe).active.cell(row=5, column=8).data_type == "f"


def test_xlsx_typed_cells_become_strings_and_other_sheets(tmp_path):
    openpyxl = pytest.importorskip("openpyxl")
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["Email", "Kundennummer", "Umsatz", "leer"])
    ws.append(["a@x.de", 12345, 1.5, None])
    ws2 = wb.create_sheet("Messe")
    ws2.append(["E-Mail"])
    ws2.append(["m@x.de"])
    path = tmp_path / "export.xlsx"
    wb.save(path)
    df = read_contacts(path)
    assert df.values.tolist() == [["a@x.de", "12345", "1.5", ""]]
    assert read_contacts(path, sheet_name="Messe")["E-Mail"].tolist() == ["m@x.de"]
    with pytest.raises(InputError):
        read_contacts(path, sheet_name="Nope")
    with pytest.raises(InputError, match="one sheet"):
        read_contacts(path, sheet_name=None)
    assert read_contacts(path, sheet_name=1)["E-Mail"].tolist() == ["m@x.de"]
    # recognised by content even without the extension
    renamed = tmp_path / "export.dat"
    renamed.write_bytes(path.read_bytes())
    assert read_contacts(renamed).shape == (1, 4)


def test_missing_openpyxl_says_which_extra_to_install(tmp_path, monkeypatch):
    pytest.importorskip("openpyxl")
    path = write_contacts(pd.DataFrame({"email": ["a@x.de"]}), tmp_path / "x.xlsx")
    monkeypatch.setitem(sys.modules, "openpyxl", None)  # what an install without it sees
    with pytest.raises(InputError, match=r"listcare\[xlsx\]"):
        read_contacts(path)


def test_parquet_typed_columns_become_strings_and_round_trip(tmp_path):
    pa = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    table = pa.table({
        "email": ["a@x.de", "b@x.de", None],
        "n": pa.array([1, None, 3], type=pa.int64()),
        "ok": [True, False, None],
    })
    path = tmp_path / "c.parquet"
    pq.write_table(table, path)
    df = read_contacts(path)
    assert attrs(df)["format"] == "parquet"
    assert df.values.tolist() == [["a@x.de", "1", "True"], ["b@x.de", "", "False"], ["", "3", ""]]
    out = write_contacts(df, tmp_path / "o.parquet")
    pd.testing.assert_frame_equal(read_contacts(out), df)
    with pytest.raises(InputError, match="Parquet"):
        read_contacts(io.BytesIO(b"PAR1 broken"))


# ----------------------------------------------------------------------------- examples
def test_example_path():
    p = example_path("contacts.csv")
    assert p.is_file() and p.name == "contacts.csv"
    with pytest.raises(InputError, match="no bundled example"):
        example_path("nope.csv")
    with pytest.raises(InputError):
        example_path("../contacts.py")


def test_gzipped_export_reads_like_the_plain_file(tmp_path):
    import gzip

    plain = C / "excel_de_cp1252.csv"
    gz = tmp_path / "export.csv.gz"
    gz.write_bytes(gzip.compress(plain.read_bytes()))
    a, b = read_contacts(plain), read_contacts(gz)
    pd.testing.assert_frame_equal(a, b)
    assert b.attrs["listcare"]["sep"] == ";"


def test_binary_and_damaged_gzip_files_get_a_one_line_reason(tmp_path):
    binary = tmp_path / "contacts.csv"
    binary.write_bytes(b"email\n" + bytes(range(256)) * 8)
    with pytest.raises(InputError, match="not a text file") as err:
        read_contacts(binary)
    assert "\n" not in str(err.value)
    cut = tmp_path / "cut.csv.gz"
    import gzip

    cut.write_bytes(gzip.compress(b"email\na@b.de\n" * 1000)[:40])
    with pytest.raises(InputError, match="damaged gzip"):
        read_contacts(cut)


def test_ragged_csv_error_is_one_line(tmp_path):
    bad = tmp_path / "ragged.csv"
    bad.write_text("email,name\na@b.de,A\nc@d.de,C,extra,more\n" + "e@f.de,E\n" * 50)
    with pytest.raises(InputError) as err:
        read_contacts(bad, sep=",")
    assert "\n" not in str(err.value)


def test_duplicate_and_empty_header_names_are_written_back_as_they_were(tmp_path):
    """pandas renames them on reading (Name.1, Unnamed: 3); the outputs must not."""
    src = tmp_path / "dup.csv"
    src.write_text("Name;Name;email;\nA;B;a@b.de;x\n", encoding="utf-8")
    df = read_contacts(src)
    assert list(df.columns) == ["Name", "Name.1", "email", "Unnamed: 3"]
    out = tmp_path / "out.csv"
    write_contacts(df.assign(status="valid"), out, like=df)
    assert out.read_text().splitlines() == ["Name;Name;email;;status", "A;B;a@b.de;x;valid"]


def test_a_malformed_csv_names_the_line(tmp_path):
    from listcare.exceptions import FormatError

    extra = tmp_path / "extra.csv"
    extra.write_text("email,name\na@b.de,A\nc@d.de,C,oops\n")
    with pytest.raises(FormatError, match="line 3 has 3 fields, the header 2"):
        read_contacts(extra)
    quote = tmp_path / "quote.csv"
    quote.write_text('email,name\na@b.de,"A\nc@d.de,C\n')
    with pytest.raises(FormatError, match="never closed"):
        read_contacts(quote)


def test_write_contacts_escapes_unencodable_characters_only_when_asked(tmp_path):
    from listcare.exceptions import ListcareError

    df = pd.DataFrame({"email": ["a@b.de", "c@d.de"], "reason": ["Jörg", "邮箱 😞"]})
    with pytest.raises(ListcareError, match="cp1252"):
        write_contacts(df, tmp_path / "x.csv", encoding="cp1252")
    write_contacts(df, tmp_path / "x.csv", encoding="cp1252", unencodable="escape")
    text = (tmp_path / "x.csv").read_bytes().decode("cp1252")
    assert "Jörg" in text and "\\u90ae\\u7bb1 \\ud83d\\ude1e" in text
    assert df.loc[1, "reason"] == "邮箱 😞"  # the input is not modified
    with pytest.raises(InputError, match="unencodable"):
        write_contacts(df, tmp_path / "y.csv", unencodable="ignore")


# ---------------------------------------------------------------- the rows' writer
_CELL = st.one_of(
    st.none(),
    st.text(alphabet=st.sampled_from(list('ab ,;"\t\r\n\'=@é')), max_size=6),
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    rows=st.integers(0, 6).flatmap(
        lambda n: st.lists(st.lists(_CELL, min_size=n, max_size=n), max_size=8).map(
            lambda r: (n, r)
        )
    ),
    sep=st.sampled_from([",", ";", "\t", "|"]),
    lineterminator=st.sampled_from(["\n", "\r\n"]),
    quoting=st.sampled_from([csv.QUOTE_MINIMAL, csv.QUOTE_ALL]),
    string_dtype=st.booleans(),
)
def test_csv_rows_are_what_the_csv_module_writes(rows, sep, lineterminator, quoting, string_dtype):
    """write_contacts' own row builder gives byte for byte what pandas' to_csv (the csv
    module) writes, for every quoting case: separators, quotes, line breaks, empty
    and missing cells, a single column whose cell is empty."""
    from listcare.contacts import _csv_rows

    n, data = rows
    if n == 0:
        return
    df = pd.DataFrame(data, columns=[f"c{i}" for i in range(n)], dtype=object)
    if string_dtype:
        df = df.astype("string")
    want = io.StringIO()
    df.to_csv(
        want, sep=sep, index=False, header=False, lineterminator=lineterminator,
        quoting=quoting, quotechar='"', doublequote=True, na_rep="",
    )
    assert _csv_rows(df, sep, lineterminator, quoting) == want.getvalue()


def test_csv_rows_leave_numbers_and_dates_to_pandas(tmp_path):
    """A column that is not all text is formatted by pandas (None from the row builder),
    and the file write_contacts writes is the same either way."""
    from listcare.contacts import _csv_rows

    df = pd.DataFrame({"email": ["a@example.com", "b@example.com"], "score": [1.5, None]})
    assert _csv_rows(df, ",", "\n", csv.QUOTE_MINIMAL) is None
    mixed = pd.DataFrame({"email": ["a@example.com", 7]}, dtype=object)
    assert _csv_rows(mixed, ",", "\n", csv.QUOTE_MINIMAL) is None
    out = write_contacts(df, tmp_path / "out.csv")
    assert out.read_text() == "email,score\na@example.com,1.5\nb@example.com,\n"
    text = pd.DataFrame({"email": ["a@example.com", 'say "hi", ok'], "n": ["=1", None]})
    path = write_contacts(text, tmp_path / "text.csv")
    assert path.read_text() == 'email,n\na@example.com,\'=1\n"say ""hi"", ok",\n'


@pytest.mark.parametrize(
    "columns",
    [
        ["x", None],
        pd.to_datetime(["2024-01-01", "2024-01-02"]),
        pd.MultiIndex.from_tuples([("a", "b"), ("a", "c")]),
        [1, "two"],
        ["", "b"],
    ],
    ids=["none", "dates", "multiindex", "number", "empty"],
)
def test_column_names_are_written_as_pandas_writes_them(tmp_path, columns):
    """Column names that are not plain text (None, dates, a MultiIndex, numbers) are
    written by pandas, header and all; plain ones by the row builder, the same way."""
    df = pd.DataFrame([["a", "b"]], columns=columns)
    out = write_contacts(df, tmp_path / "out.csv", neutralize_formulas=False)
    want = io.StringIO()
    df.to_csv(want, index=False, lineterminator="\n", na_rep="")
    assert out.read_text() == want.getvalue()


def test_a_carriage_return_in_a_category_column_is_quoted(tmp_path):
    """A lone CR in a category cell forces quoting with a "\\n" line ending, as in a
    text cell: unquoted, it would split the row for the next reader."""
    df = pd.DataFrame({"email": ["a@example.com", "b@example.com"], "tag": ["x\ry", "z"]})
    df["tag"] = df["tag"].astype("category")
    out = write_contacts(df, tmp_path / "out.csv")
    assert read_contacts(out)["tag"].tolist() == ["x\ry", "z"]
