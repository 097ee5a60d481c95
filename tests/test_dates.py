"""The contact list's date reader (listcare.dates): one reading per column, day-first
where dots are used, slashed dates decided per column; and the sunset rule reading a
German list through it."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from listcare.cadence import _parse_dates
from listcare.dates import NAT, parse_dates
from listcare.policy import decide


def read(values, dtype=object) -> tuple[list, list[bool]]:
    """The cells as ISO text ("" where NaT) and the bad mask, as plain lists."""
    ns, bad = parse_dates(pd.Series(values, dtype=dtype))
    assert ns.dtype == np.int64 and bad.dtype == bool and len(ns) == len(bad) == len(values)
    text = [
        "" if x == NAT else pd.Timestamp(x, tz="UTC").isoformat().removesuffix("+00:00") for x in ns
    ]
    return text, bad.tolist()


def test_german_dotted_dates_are_day_first_whatever_the_day():
    text, bad = read(["02.11.2025", "13.11.2025", "2.1.2025", " 05.06.25 ", "02.11.2025 14:30"])
    assert text == [
        "2025-11-02T00:00:00",  # not 11 February: one column, one reading
        "2025-11-13T00:00:00",
        "2025-01-02T00:00:00",
        "2025-06-05T00:00:00",
        "2025-11-02T14:30:00",
    ]
    assert bad == [False] * 5


def test_two_digit_years_follow_strptime():
    assert read(["01.01.68", "01.01.69"])[0] == ["2068-01-01T00:00:00", "1969-01-01T00:00:00"]


def test_iso_with_and_without_time_and_offset_is_utc():
    text, bad = read(
        [
            "2025-11-02",
            "2025-11-02T10:00:00",
            "2025-11-02T10:00:00+01:00",
            "2025-11-02 23:30Z",
            " 2025-11-02 ",
        ]
    )
    assert text == [
        "2025-11-02T00:00:00",
        "2025-11-02T10:00:00",
        "2025-11-02T09:00:00",
        "2025-11-02T23:30:00",
        "2025-11-02T00:00:00",
    ]
    assert not any(bad)


def test_slashed_dates_without_evidence_are_us_month_first():
    text, bad = read(["01/02/2025", "12/31/2025", "03/04/2025"])
    assert text == ["2025-01-02T00:00:00", "2025-12-31T00:00:00", "2025-03-04T00:00:00"]
    assert not any(bad)


def test_slashed_dates_of_a_us_column_without_a_day_over_12():
    # nothing > 12 anywhere: the documented month-first default
    assert read(["01/02/2025", "11/12/2025"])[0] == ["2025-01-02T00:00:00", "2025-11-12T00:00:00"]


def test_one_day_over_12_makes_the_whole_slashed_column_day_first():
    text, bad = read(["01/02/2025", "31/12/2025", "03-04-2025"])
    assert text == ["2025-02-01T00:00:00", "2025-12-31T00:00:00", "2025-04-03T00:00:00"]
    assert not any(bad)


def test_a_column_mixing_both_conventions_does_not_guess():
    text, bad = read(["01/02/2025", "31/12/2025", "12/31/2025", "03/03/2025"])
    # 01/02 could be either: bad; the others have only one reading
    assert text == ["", "2025-12-31T00:00:00", "2025-12-31T00:00:00", "2025-03-03T00:00:00"]
    assert bad == [True, False, False, False]


def test_empty_cells_are_missing_and_garbage_is_bad():
    text, bad = read(
        [
            "",
            "   ",
            None,
            np.nan,
            "garbage",
            "31.02.2025",
            "02.11.2025 25:00",
            "Nov 27",
            "13/13/2025",
            "2025-11-02",
        ]
    )
    assert text == [""] * 9 + ["2025-11-02T00:00:00"]
    # "Nov 27" has no year: dateutil would fill in this year from the clock
    assert bad == [False] * 4 + [True] * 5 + [False]


def test_month_names_and_year_first_go_to_dateutil():
    text, bad = read(["Fri, 27 Nov 2026 10:00:00 +0100", "27 Nov 2026", "2026/11/27"])
    assert text == ["2026-11-27T09:00:00", "2026-11-27T00:00:00", "2026-11-27T00:00:00"]
    assert not any(bad)


def test_datetime64_columns_pass_through():
    naive = pd.Series(pd.to_datetime(["2025-11-02 10:00", None]))
    aware = pd.Series(pd.to_datetime(["2025-11-02T10:00+01:00", None], utc=True))
    seconds = pd.Series(np.array(["2025-11-02"], dtype="datetime64[s]"))
    for col, want in (
        (naive, "2025-11-02T10:00"),
        (aware, "2025-11-02T09:00"),
        (seconds, "2025-11-02"),
    ):
        ns, bad = parse_dates(col)
        assert ns[0] == pd.Timestamp(want, tz="UTC").value
        assert not bad.any()
    assert parse_dates(naive)[0][1] == NAT


def test_python_datetimes_and_string_dtype_columns():
    assert read([dt.datetime(2025, 11, 2), "02.11.2025"])[0] == ["2025-11-02T00:00:00"] * 2
    text, bad = read(["02.11.2025", None, ""], dtype="string")
    assert (text, bad) == (["2025-11-02T00:00:00", "", ""], [False, False, False])


def test_the_input_is_not_modified():
    col = pd.Series([" 02.11.2025", "", "x"], dtype=object)
    before = col.copy()
    parse_dates(col)
    pd.testing.assert_series_equal(col, before)


def test_the_cadence_planner_reads_the_same_day():
    days, bad = _parse_dates(pd.Series(["02.11.2025", "13.11.2025", "", "x"], dtype=object))
    epoch = pd.Timestamp("1970-01-01")
    assert days[:2].tolist() == [
        (pd.Timestamp("2025-11-02") - epoch).days,
        (pd.Timestamp("2025-11-13") - epoch).days,
    ]
    assert days[2] == NAT and bad.tolist() == [False, False, False, True]


def test_sunset_reads_a_german_last_contacted_at_day_first():
    # 02.11.2025 is 2 November (within 12 months of 2026-11-01), not 11 February
    contacts = pd.DataFrame(
        {
            "E-Mail": ["nov@x.de", "late@x.de", "old@x.de"],
            "last_contacted_at": ["02.11.2025", "13.11.2025", "31.10.2025"],
            "acquired_at": ["01.01.2020"] * 3,
        }
    )
    res = decide(None, contacts=contacts, as_of="2026-11-01").set_index("address")
    assert res.loc["nov@x.de", "decision"] == "keep"
    assert res.loc["late@x.de", "decision"] == "keep"
    assert (res.loc["old@x.de", "decision"], res.loc["old@x.de", "rule"]) == ("reconfirm", "sunset")
    assert "Last contacted on 2025-10-31" in res.loc["old@x.de", "reason"]


def test_the_nightly_job_keeps_a_german_contact_of_2_november(tmp_path):
    from listcare.nightly import clean

    (tmp_path / "contacts.csv").write_bytes(
        "E-Mail;Vorname;last_contacted_at\r\n"
        "nov@firma.de;Jörg;02.11.2025\r\n"
        "old@firma.de;Anna;31.10.2025\r\n".encode("cp1252")
    )
    clean(
        tmp_path / "contacts.csv",
        [],
        store=tmp_path / "listcare.db",
        out_dir=tmp_path / "out",
        as_of="2026-11-01",
        check_dns=False,
    )
    reconfirm = (tmp_path / "out" / "reconfirm.csv").read_bytes().decode("cp1252")
    kept = (tmp_path / "out" / "clean.csv").read_bytes().decode("cp1252")
    assert "old@firma.de" in reconfirm and "nov@firma.de" not in reconfirm
    assert "nov@firma.de" in kept
