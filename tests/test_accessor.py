"""The ``df.listcare`` pandas accessor: registered on import, thin over the module functions."""

from __future__ import annotations

import doctest
import subprocess
import sys

import pandas as pd
import pytest

import listcare
from listcare import accessor
from listcare.exceptions import ColumnError

AS_OF = "2026-11-01"


@pytest.fixture(scope="module")
def contacts() -> pd.DataFrame:
    return listcare.read_contacts(listcare.example_path("contacts.csv"))


@pytest.fixture(scope="module")
def events() -> pd.DataFrame:
    return listcare.read_bounces(listcare.example_path("postfix.log"), as_of=AS_OF)


def test_import_registers_the_accessor_without_loading_heavy_modules():
    code = (
        "import sys, listcare, pandas as pd\n"
        "print(pd.DataFrame({'Email': ['a@b.de']}).listcare.email_column)\n"
        "heavy = ['listcare.address.validate', 'listcare.decay', 'listcare.plotting',\n"
        "         'listcare.bounces.read', 'matplotlib', 'scipy', 'dns', 'sqlalchemy']\n"
        "print(sorted(m for m in heavy if m in sys.modules))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == ["Email", "[]"]


def test_email_column_from_read_contacts_attrs(contacts):
    assert contacts.attrs["listcare"]["email_column"] == "E-Mail"
    assert contacts.listcare.email_column == "E-Mail"


def test_email_column_attrs_win_over_name_lookup():
    # "recipient" comes later in the name list than "email", but attrs say which one it is
    df = pd.DataFrame({"email": ["x@y.de"], "recipient": ["a@b.de"]})
    assert df.listcare.email_column == "email"
    df.attrs["listcare"] = {"email_column": "recipient"}
    assert df.listcare.email_column == "recipient"


def test_email_column_stale_attrs_fall_back_to_lookup():
    df = pd.DataFrame({"E-Mail-Adresse": ["a@b.de"], "Name": ["Ann"]})
    df.attrs["listcare"] = {"email_column": "E-Mail"}  # renamed since it was read
    assert df.listcare.email_column == "E-Mail-Adresse"


def test_email_column_missing_is_a_column_error():
    df = pd.DataFrame({"Name": ["Ann"], "City": ["Köln"]})
    with pytest.raises(ColumnError, match="Cannot find the email column") as info:
        _ = df.listcare.email_column
    assert info.value.seen == ("Name", "City")


def test_validate_is_listcare_validate(contacts):
    before = contacts.copy()
    got = contacts.listcare.validate(check_dns=False)
    want = listcare.validate(contacts, check_dns=False)
    pd.testing.assert_frame_equal(got, want)
    assert got.index.equals(contacts.index)
    assert len(got) == len(contacts) == 3000
    pd.testing.assert_frame_equal(contacts, before)  # input untouched


def test_validate_passes_keywords_and_email_column():
    df = pd.DataFrame(
        {"email": ["info@example.org", "x"], "backup": ["bad@@x", "ann@example.org"]},
        index=[10, 20],
    )
    own = df.listcare.validate(check_dns=False)
    assert own["reason"].tolist() == ["role", "syntax"]
    other = df.listcare.validate(check_dns=False, email_column="backup")
    assert other["reason"].tolist() == ["syntax", "not_checked"]
    assert other.index.tolist() == [10, 20]


EVENTS = pd.DataFrame(
    {
        "recipient": ["A@x.de", "a@x.de ", "b@x.de", "c@x.de", "c@x.de", "d@x.de", "e@x.de", None],
        "kind": ["hard", "hard", "hard", "delivered", "soft", "hard", None, "weird"],
        "reason": [
            "userunknown",
            "userunknown",
            "hostunknown",
            "delivered",
            "mailboxfull",
            "userunknown",
            "undefined",
            None,
        ],
    }
)


def test_summary_counts_by_kind_and_reason():
    s = EVENTS.listcare.summary()
    assert list(s.columns) == ["events", "recipients", "share"]
    assert s.index.names == ["kind", "reason"]
    # schema.KINDS order (hard, soft, ..., delivered), reasons by count; unknown kinds last
    assert s.index.tolist() == [
        ("hard", "userunknown"),
        ("hard", "hostunknown"),
        ("soft", "mailboxfull"),
        ("delivered", "delivered"),
        ("(none)", "undefined"),
        ("weird", "(none)"),
    ]
    assert s.loc[("hard", "userunknown"), "events"] == 3
    # A@x.de and 'a@x.de ' are one recipient; d@x.de another
    assert s.loc[("hard", "userunknown"), "recipients"] == 2
    assert s["events"].sum() == len(EVENTS)
    assert s["share"].sum() == pytest.approx(1.0)
    assert s.loc[("weird", "(none)"), "recipients"] == 0  # a missing recipient is not one
    assert s.attrs["events"] == len(EVENTS)


def test_summary_without_recipient_column_and_missing_columns():
    s = EVENTS.drop(columns="recipient").listcare.summary()
    assert list(s.columns) == ["events", "share"]
    assert s["events"].sum() == len(EVENTS)
    with pytest.raises(ColumnError, match="'reason'"):
        EVENTS.drop(columns="reason").listcare.summary()


def test_summary_of_an_empty_events_table():
    empty = listcare.read_bounces([], as_of=AS_OF)
    s = empty.listcare.summary()
    assert len(s) == 0 and s.attrs["events"] == 0


def test_summary_matches_the_example_log(events):
    s = events.listcare.summary()
    assert s["events"].sum() == len(events)
    by_kind = s.groupby(level="kind", sort=False)["events"].sum()
    assert by_kind.to_dict() == events["kind"].value_counts().to_dict()
    hard = events[events["kind"] == "hard"]
    assert s.loc["hard", "recipients"].sum() >= hard["recipient"].str.lower().nunique()


def test_plot_is_plot_events(events):
    import matplotlib.pyplot as plt

    from listcare.plotting import plot_events

    ax = events.listcare.plot(kinds=["hard", "soft"])
    ref = plot_events(events, kinds=["hard", "soft"])
    try:
        got = {line.get_label(): list(line.get_ydata()) for line in ax.get_lines()}
        want = {line.get_label(): list(line.get_ydata()) for line in ref.get_lines()}
        assert got == want
        assert (
            sum(got[f"hard ({(events.kind == 'hard').sum():,})"]) == (events.kind == "hard").sum()
        )
    finally:
        plt.close("all")


def test_plot_draws_into_a_given_axes(events):
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots()
    try:
        assert events.listcare.plot(ax) is ax
    finally:
        plt.close(fig)


def test_cohorts_is_bounce_rate_by_cohort(contacts, events):
    got = contacts.listcare.cohorts(events, as_of=AS_OF)
    want = listcare.bounce_rate_by_cohort(contacts, events, as_of=AS_OF)
    pd.testing.assert_frame_equal(got, want)
    assert got["mailed"].sum() > 0


def test_durations_is_durations_from(contacts, events):
    got = contacts.listcare.durations(events, as_of=AS_OF)
    want = listcare.durations_from(contacts, events, as_of=AS_OF)
    pd.testing.assert_frame_equal(got, want)
    assert got.index.equals(contacts.index)


def test_cohorts_uses_the_email_column_from_attrs(contacts, events):
    # the address column under a name no lookup would find: attrs still name it
    renamed = contacts.rename(columns={"E-Mail": "Kontakt"})
    renamed.attrs["listcare"] = {"email_column": "Kontakt"}
    got = renamed.listcare.cohorts(events, as_of=AS_OF)
    pd.testing.assert_frame_equal(
        got, listcare.bounce_rate_by_cohort(contacts, events, as_of=AS_OF)
    )


def test_docstring_examples_run(contacts, events):
    result = doctest.testmod(
        accessor,
        extraglobs={"listcare": listcare, "contacts": contacts, "events": events},
        optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE,
    )
    assert result.attempted >= 8
    assert result.failed == 0
