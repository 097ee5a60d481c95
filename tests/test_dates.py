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


def test_us_12_hour_times_and_a_comma_before_the_time():
    text, bad = read(
        [
            "11/27/2024 10:00 PM",
            "3/4/2024 9:15 AM",
            "3/4/2024, 10:00:00",
            "11/27/2024 10:00PM",
            "11/27/2024 10:00 p.m.",
            "11/27/2024 9:05:30 a.m.",
            "11/27/2024 12:00 AM",
            "11/27/2024 12:30 PM",
            "11/27/2024 0:30 AM",
            "11/27/2024 13:00 PM",  # no 13 o'clock on a 12-hour clock
            "11/27/2024 10:00 PMx",
        ]
    )
    assert text == [
        "2024-11-27T22:00:00",
        "2024-03-04T09:15:00",
        "2024-03-04T10:00:00",
        "2024-11-27T22:00:00",
        "2024-11-27T22:00:00",
        "2024-11-27T09:05:30",
        "2024-11-27T00:00:00",
        "2024-11-27T12:30:00",
        "2024-11-27T00:30:00",
        "",
        "",
    ]
    assert bad == [False] * 9 + [True, True]


def test_fractional_seconds_and_commas_in_dotted_dates():
    text, bad = read(
        [
            "27.11.2026 10:00:00.123",
            "27.11.2026 10:00:00,5",
            "27.11.2026, 10:00",
            "27.11.2026 10:00:00.123456789",
            "27.11.2026 10:00.5",  # a fraction needs seconds
            "27.11.2026 10:00:00.",
        ]
    )
    assert text == [
        "2026-11-27T10:00:00.123000",
        "2026-11-27T10:00:00.500000",
        "2026-11-27T10:00:00",
        "2026-11-27T10:00:00.123456789",
        "",
        "",
    ]
    assert bad == [False] * 4 + [True, True]


def _us_column() -> list[str]:
    """A month-first column: nine cells only month-first makes dates, two ambiguous."""
    return [f"{m}/{d}/2025" for m, d in zip(range(1, 10), range(13, 22), strict=True)] + [
        "03/04/2025",
        "12/01/2025",
    ]


def test_one_typo_does_not_spoil_a_us_column():
    text, bad = read([*_us_column(), "13/1/2019"])
    assert text[9:] == ["2025-03-04T00:00:00", "2025-12-01T00:00:00", "2019-01-13T00:00:00"]
    assert not any(bad)
    # the clear majority: the other order has at most 10% of the evidence (1 of 10 here);
    # 2 of 11 is a column of both conventions, whose ambiguous cells are not guessed
    text, bad = read([*_us_column(), "13/1/2019", "25/12/2019"])
    assert text[9:] == ["", "", "2019-01-13T00:00:00", "2019-12-25T00:00:00"]
    assert bad[9:] == [True, True, False, False]


def test_a_row_added_on_a_later_night_does_not_flip_the_column():
    nights = (_us_column(), [*_us_column(), "13/1/2019"], [*_us_column(), "31-12-2019"])
    first = parse_dates(pd.Series(nights[0], dtype=object))[0]
    for night in nights[1:]:
        assert (parse_dates(pd.Series(night, dtype=object))[0][: len(first)] == first).all()
    # and the same for a day-first (UK) column with one month-first row
    uk = [f"{d}/{m}/2025" for m, d in zip(range(1, 10), range(13, 22), strict=True)] + [
        "03/04/2025"
    ]
    text, bad = read([*uk, "12/31/2025"])
    assert text[9:] == ["2025-04-03T00:00:00", "2025-12-31T00:00:00"]
    assert not any(bad)


def test_out_of_range_datetime64_values_are_bad_whatever_the_unit():
    never = np.array(
        ["9999-12-31", "2025-11-02T10:00", "NaT", "1677-09-21T00:12:43"], dtype="M8[us]"
    )
    want = pd.Timestamp("2025-11-02T10:00", tz="UTC").value
    for col in (
        pd.Series(never),
        pd.Series(never.astype("M8[s]")),
        pd.Series(never.astype("M8[ms]")),
        pd.Series(never).dt.tz_localize("UTC"),
        pd.Series(never).dt.tz_localize("UTC").dt.tz_convert("America/New_York"),
    ):
        ns, bad = parse_dates(col)
        assert ns.tolist() == [NAT, want, NAT, NAT], col.dtype  # 9999 not wrapped to 1816
        assert bad.tolist() == [True, False, False, True], col.dtype


def test_object_columns_of_python_datetimes_and_dates():
    berlin = dt.timezone(dt.timedelta(hours=1))
    text, bad = read(
        [
            dt.datetime(2025, 11, 2, 10, 30),
            dt.date(2025, 11, 3),
            dt.datetime(2025, 11, 2, 10, 30, tzinfo=berlin),
            pd.Timestamp("2025-11-04 08:00"),
            dt.datetime(9999, 12, 31),
            None,
        ]
    )
    assert text == [
        "2025-11-02T10:30:00",
        "2025-11-03T00:00:00",
        "2025-11-02T09:30:00",
        "2025-11-04T08:00:00",
        "",
        "",
    ]
    assert bad == [False] * 4 + [True, False]
    # the same in a column that starts with a numeric date (the other pass order)
    text, bad = read(["02.11.2025", dt.date(2025, 11, 3), dt.datetime(9999, 12, 31), 5, "x"])
    assert text == ["2025-11-02T00:00:00", "2025-11-03T00:00:00", "", "", ""]
    assert bad == [False, False, True, True, True]


def test_the_vectorised_reader_reads_exactly_the_documented_grammar():
    import itertools
    import re

    from listcare import dates

    dates_ = [
        "1.2.2025",
        "31/12/25",
        "1-13-2025",
        "01.02.202",
        "1.2-2025",
        "123.1.2025",
        "1.2.20250",
    ]
    seps = ["", " ", ", ", ",", "T", " T ", ",T", " ,", "  "]
    times = [
        "",
        "9:05",
        "10:00:00",
        "10:00:00.123456789",
        "10:00:00,5",
        "10:00.5",
        "10:0",
        "1:00:00.",
    ]
    marks = ["", " AM", "pm", " p.m.", "A.M", " am.", " x", " M", " a", " P", "p.", " a.x"]
    pads = ["", " ", "\t"]
    cells = [
        pad + d + s + t + m + pad
        for d, s, t, m, pad in itertools.product(dates_, seps, times, marks, pads)
    ]
    cells += [
        "",
        "  ",
        "\x1f",
        "garbage",
        "2025-11-02",
        "1.2.2025" + " " * 40 + "10:00",
        "٠٢.١١.٢٠٢٥",
    ]
    values = np.array(cells, dtype=object)
    fields, matched, blank, slow = dates._fast_fields(values)
    assert slow.tolist() == [len(c) > dates._WIDTH or not c.isascii() for c in cells]
    assert slow[-2:].all() and not slow[0]
    want = np.array([re.match(dates._DMY, c.strip()) is not None for c in cells])
    assert matched[~slow].tolist() == want[~slow].tolist()
    assert 200 < matched.sum() < len(cells) / 2
    text = pd.Series(cells).str.strip()
    regex_fields, regex_matched = dates._regex_fields(text)
    assert regex_matched.tolist() == want.tolist()
    assert (fields[:, matched] == regex_fields[:, matched]).all()
    assert blank[~slow].tolist() == (text == "")[~slow].tolist()
    # and those left to the regex are read the same
    assert read(["02.11.2025", "1.2.2025" + " " * 40 + "10:00", "٠٢.١١.٢٠٢٥"])[0] == [
        "2025-11-02T00:00:00",
        "2025-02-01T10:00:00",
        "2025-11-02T00:00:00",
    ]
