"""Cadence planning (issue 6): property tests of the plan's promises, then examples."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from listcare import ConfigError, DecayModel, plan_cadence
from listcare.cadence import (
    EXCLUDED_REASONS,
    PLAN_REASONS,
    CapacityWarning,
    interval_for_target,
    parse_send_days,
)
from listcare.ical import fold, to_ics, write_ics

AS_OF = pd.Timestamp("2026-11-27")  # a Friday
DAY = pd.Timedelta(days=1)


def _date(offset):
    return "" if offset is None else str((AS_OF + offset * DAY).date())


@st.composite
def scenarios(draw):
    n = draw(st.integers(1, 25))
    as_of = AS_OF + draw(st.integers(0, 6)) * DAY
    last = draw(st.lists(st.one_of(st.none(), st.integers(-500, 3)), min_size=n, max_size=n))
    acq = draw(st.lists(st.one_of(st.none(), st.integers(-800, 0)), min_size=n, max_size=n))
    emails = [f"c{i}@example.org" for i in range(n)]
    if n > 1 and draw(st.booleans()):  # a duplicate in other case
        emails[-1] = emails[0].upper()
    channels = None
    if draw(st.booleans()):
        channels = draw(
            st.lists(st.sampled_from(["email", "phone", "email,phone", ""]), min_size=n, max_size=n)
        )
    df = pd.DataFrame(
        {
            "Email": emails,
            "last_contacted_at": [_date(o) for o in last],
            "acquired_at": [_date(o) for o in acq],
        }
    )
    if channels is not None:
        df["channel"] = channels
    horizon = draw(st.integers(7, 150))
    kw = dict(
        as_of=as_of,
        every=f"{draw(st.integers(3, 90))}D",
        daily_capacity=draw(st.one_of(st.none(), st.integers(1, 12))),
        send_days=draw(st.sampled_from(["Mon-Fri", "daily", "Mon,Wed,Fri", "Tue-Thu", "Sat-Sun"])),
        holidays=[as_of + d * DAY for d in draw(st.lists(st.integers(0, horizon), max_size=4))],
        horizon=f"{horizon}D",
        state=set(draw(st.lists(st.sampled_from(emails), max_size=3))),
        sunset=f"{draw(st.integers(30, 400))}D",
        channel_column="channel" if channels is not None else None,
        min_channel_gap_days=draw(st.integers(0, 4)),
    )
    return df, kw


def _anchor_offsets(df, as_of):
    """Days from as_of back to each row's last contact (else acquisition); None if neither."""
    out = []
    for last, acq in zip(df["last_contacted_at"], df["acquired_at"], strict=True):
        d = last or acq
        out.append(None if not d else min(0, (pd.Timestamp(d) - as_of).days))
    return out


def _plan(df, kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CapacityWarning)
        return plan_cadence(df, **kw)


def _check(plan, df, kw):
    as_of = pd.Timestamp(kw["as_of"])
    interval = int(kw["every"][:-1])
    horizon = int(kw["horizon"][:-1])
    end = as_of + horizon * DAY
    gap = kw["min_channel_gap_days"]
    n = len(df)

    # every input row is in exactly one of plan / excluded, with a known reason
    planned = set(plan["row"])
    excluded = plan.excluded
    assert planned.isdisjoint(set(excluded["row"]))
    assert planned | set(excluded["row"]) == set(range(n))
    assert excluded["row"].is_unique
    assert set(excluded["reason"]) <= set(EXCLUDED_REASONS)
    assert set(plan["reason"]) <= set(PLAN_REASONS)

    # no suppressed contact is ever planned; suppressed rows say so
    sup = {s.casefold() for s in kw["state"]}
    assert not any(e.casefold() in sup for e in plan["email"])
    sup_rows = excluded[excluded["email"].str.casefold().isin(sup)]
    assert set(sup_rows["reason"]) <= {"suppressed"}

    # only allowed days, inside the horizon
    weekdays = set(parse_send_days(kw["send_days"]))
    holidays = {pd.Timestamp(h) for h in kw["holidays"]}
    assert plan["date"].between(as_of, end - DAY).all()
    assert plan["date"].dt.weekday.isin(weekdays).all()
    assert not plan["date"].isin(holidays).any()

    # the capacity is never exceeded, and the daily table adds up
    emails = plan[plan["channel"] == "email"]
    per_day = emails.groupby("date").size()
    if kw["daily_capacity"] is not None:
        assert (per_day <= kw["daily_capacity"]).all()
        assert (plan.daily["volume"] <= kw["daily_capacity"]).all()
    assert plan.daily["volume"].sum() == len(emails)
    assert plan.daily["phone"].sum() == len(plan) - len(emails)
    assert (per_day.reindex(plan.daily.index, fill_value=0) == plan.daily["volume"]).all()

    # never two channels to one contact within `gap` days
    for _, g in plan.groupby("row"):
        if g["channel"].nunique() > 1:
            d = g.sort_values("date")
            both = d["channel"].to_numpy()
            days = (d["date"] - as_of).dt.days.to_numpy()
            for i in range(len(d) - 1):
                if both[i] != both[i + 1]:
                    assert days[i + 1] - days[i] >= gap

    # stale contacts only in the reconfirmation wave (one send), the others only in waves
    sunset = int(kw["sunset"][:-1])
    anchors = _anchor_offsets(df, as_of)
    for row, g in plan.groupby("row"):
        a = anchors[row]
        if a is None or -a > sunset:
            assert (g["wave"] == 0).all() and len(g) == 1 and (g["reason"] == "reconfirm").all()
        else:
            assert (g["wave"] >= 1).all()

    # no gap above the interval within the horizon (when the plan says it is feasible)
    if plan.feasible:
        assert not (excluded["reason"] == "no_capacity").any()
        first_day = plan.daily.index.min()
        for row, g in plan[plan["wave"] >= 1].groupby("row"):
            chans = set(g["channel"])
            main = g[g["channel"] == ("email" if "email" in chans else "phone")].sort_values("date")
            a = as_of + anchors[row] * DAY
            d = list(main["date"])
            if a + interval * DAY >= first_day:
                assert (d[0] - a).days <= interval, (row, a, d)
            else:  # overdue: the first send day
                assert d[0] == first_day and main["reason"].iloc[0] == "overdue"
            assert all((y - x).days <= interval for x, y in zip(d, d[1:], strict=False))
            assert (end - d[-1]).days <= interval
        # contacts with nothing due in the horizon are the only regular ones left out
        for row in excluded.loc[excluded["reason"] == "not_due", "row"]:
            assert as_of + (anchors[row] + interval) * DAY >= end
    else:
        assert plan.warnings


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios())
def test_plan_properties(scenario):
    df, kw = scenario
    before = df.copy()
    interval = int(kw["every"][:-1])
    both = kw["channel_column"] and (df["channel"] == "email,phone").any()
    if both and 2 * kw["min_channel_gap_days"] >= interval:
        with pytest.raises(ConfigError, match="follow-up"):
            plan_cadence(df, **kw)
        return
    horizon = int(kw["horizon"][:-1])
    weekdays = set(parse_send_days(kw["send_days"]))
    days = [kw["as_of"] + d * DAY for d in range(horizon)]
    if not any(d.weekday() in weekdays and d not in kw["holidays"] for d in days):
        with pytest.raises(ConfigError, match="No send day"):
            plan_cadence(df, **kw)
        return
    plan = _plan(df, kw)
    event(f"feasible={plan.feasible}")
    event(f"regular sends>0={bool((plan['wave'] >= 1).any())}")
    pd.testing.assert_frame_equal(df, before)  # the input is never modified
    _check(plan, df, kw)
    # deterministic: the same input gives the same plan
    again = _plan(df, kw)
    pd.testing.assert_frame_equal(pd.DataFrame(plan), pd.DataFrame(again))
    pd.testing.assert_frame_equal(plan.daily, again.daily)


@settings(max_examples=40, deadline=None)
@given(scenarios(), st.randoms(use_true_random=False))
def test_plan_does_not_depend_on_row_order(scenario, rnd):
    df, kw = scenario
    if kw["channel_column"] and 2 * kw["min_channel_gap_days"] >= int(kw["every"][:-1]):
        return
    kw["holidays"] = []  # (a horizon without any send day is tested above)
    df = df[~df["Email"].str.casefold().duplicated(keep=False)]
    order = list(range(len(df)))
    rnd.shuffle(order)
    shuffled = df.iloc[order].reset_index(drop=True)
    cols = ["date", "email", "wave", "reason", "channel", "deadline"]
    a = pd.DataFrame(_plan(df.reset_index(drop=True), kw))[cols]
    b = pd.DataFrame(_plan(shuffled, kw))[cols]
    key = ["date", "channel", "email"]
    pd.testing.assert_frame_equal(
        a.sort_values(key).reset_index(drop=True), b.sort_values(key).reset_index(drop=True)
    )


# ------------------------------------------------------------------ the interval
def test_interval_for_target_matches_the_decay_model():
    # 2.1% a month, full visibility: 2% per send allows just under a month
    assert interval_for_target(0.02) == 28
    m = DecayModel()
    assert m.decayed(28 / (365.25 / 12)) <= 0.02 < m.decayed(29 / (365.25 / 12))
    # only half the decay shows as bounces: the same target allows about twice as long
    assert interval_for_target(0.02, visibility=0.5) == 58
    assert interval_for_target(0.04) > interval_for_target(0.02)
    assert interval_for_target(0.02, model=DecayModel(0.04)) < 28
    plan = plan_cadence(_contacts(5), as_of=AS_OF, target_bounce_rate=0.02)
    assert plan.interval == pd.Timedelta(days=28)
    assert plan.content_budget == math.ceil(365.25 / 28)
    with pytest.raises(ConfigError, match="not both"):
        plan_cadence(_contacts(5), as_of=AS_OF, every="30D", target_bounce_rate=0.02)
    with pytest.raises(ConfigError, match="target_bounce_rate"):
        interval_for_target(1.5)


def test_settings_are_checked_with_clear_errors():
    df = _contacts(3)
    with pytest.raises(ConfigError, match="no hidden clock"):
        plan_cadence(df, as_of=None)
    for bad, match in [
        (dict(every="soon"), "every"),
        (dict(every="36h"), "whole number of days"),
        (dict(send_days="Mon-Fry"), "send_days"),
        (dict(daily_capacity=0), "daily_capacity"),
        (dict(daily_capacity="lots"), "daily_capacity"),
        (dict(daily_capacity=10, reconfirm_daily_batch=11), "exceeds daily_capacity"),
        (dict(send_days="Sat", holidays=[AS_OF + d * DAY for d in range(1, 8)], horizon="8D"), "No send day"),
        (dict(visibility=0), "visibility"),
        (dict(holidays=["someday"]), "holidays"),
    ]:
        with pytest.raises(ConfigError, match=match):
            plan_cadence(df, as_of=AS_OF, **bad)
    assert parse_send_days("Fri-Mon") == (0, 4, 5, 6)
    assert parse_send_days("mon, wed;FRI") == (0, 2, 4)
    assert plan_cadence(df, as_of=AS_OF, every="2M").interval == pd.Timedelta(days=61)
    assert plan_cadence(df, as_of=AS_OF, every="8W").interval == pd.Timedelta(days=56)


def test_missing_date_columns_are_named():
    from listcare import ColumnError

    with pytest.raises(ColumnError, match="last_contacted_at"):
        plan_cadence(pd.DataFrame({"email": ["a@b.de"]}), as_of=AS_OF)


# ------------------------------------------------------------------ examples
def _contacts(n, *, start=-55, step=1):
    """n contacts last reached `start`, `start+step`, ... days before AS_OF."""
    return pd.DataFrame(
        {
            "email": [f"p{i}@example.com" for i in range(n)],
            "last_contacted_at": [_date(min(0, start + i * step)) for i in range(n)],
            "acquired_at": [_date(-700)] * n,
        }
    )


def test_overdue_contacts_go_first_and_stalest_first():
    df = pd.DataFrame(
        {
            "email": ["old@x.org", "older@x.org", "fresh@x.org", "new@x.org"],
            "last_contacted_at": [_date(-100), _date(-200), _date(-5), ""],
            "acquired_at": [_date(-300), _date(-300), _date(-300), _date(-10)],
        }
    )
    plan = plan_cadence(df, as_of=AS_OF, every="60D", horizon="30D", send_days="daily")
    first = plan[plan["date"] == AS_OF]
    assert list(first["email"]) == ["older@x.org", "old@x.org"]  # stalest first
    assert set(first["reason"]) == {"overdue"}
    # never contacted: the acquisition date counts; fresh contacts wait for their deadline
    assert set(plan.excluded["email"]) == {"fresh@x.org", "new@x.org"}
    assert set(plan.excluded["reason"]) == {"not_due"}


def test_volume_is_smoothed_when_deadlines_allow():
    # 600 contacts whose deadlines all fall on one day: without smoothing that day gets 600
    df = pd.DataFrame(
        {
            "email": [f"s{i}@example.com" for i in range(600)],
            "last_contacted_at": [_date(-20)] * 600,
            "acquired_at": [_date(-400)] * 600,
        }
    )
    plan = plan_cadence(df, as_of=AS_OF, every="60D", horizon="60D", send_days="daily")
    volume = plan.daily["volume"]
    assert volume.sum() == 600 and plan.feasible
    # each may go from day 10 (half the interval after its last contact) to day 40
    assert volume.max() <= math.ceil(600 / 31) + 2
    assert (plan["date"] >= AS_OF + 10 * DAY).all()  # not before half the interval


def test_capacity_shortfall_is_reported_not_exceeded():
    df = _contacts(300, start=-90)  # all overdue
    with pytest.warns(CapacityWarning, match="capacity"):
        plan = plan_cadence(df, as_of=AS_OF, every="60D", daily_capacity=20, horizon="60D")
    assert not plan.feasible and plan.warnings
    assert plan.daily["volume"].max() == 20
    assert "Raise daily_capacity" in plan.warnings[-1]
    with pytest.raises(ConfigError, match="capacity"):
        plan_cadence(df, as_of=AS_OF, every="60D", daily_capacity=20, horizon="60D", strict=True)
    # enough capacity: feasible, and strict is quiet
    ok = plan_cadence(df, as_of=AS_OF, every="60D", daily_capacity=300, horizon="60D", strict=True)
    assert ok.feasible and ok.daily["volume"].max() <= 300


def test_reconfirmation_wave_for_stale_contacts():
    df = pd.DataFrame(
        {
            "email": [f"r{i}@example.com" for i in range(40)] + ["live@example.com"],
            "last_contacted_at": [_date(-500)] * 40 + [_date(-30)],
            "acquired_at": [_date(-900)] * 41,
        }
    )
    plan = plan_cadence(df, as_of=AS_OF, every="60D", reconfirm_daily_batch=7)
    rc = plan[plan["reason"] == "reconfirm"]
    assert len(rc) == 40 and (rc["wave"] == 0).all()
    assert rc.groupby("date").size().max() == 7
    assert rc["date"].min() == pd.Timestamp("2026-11-27")  # sent first
    assert set(plan.loc[plan["wave"] >= 1, "email"]) == {"live@example.com"}
    wave0 = plan.waves.set_index("wave").loc[0]
    expected = DecayModel().decayed((500 + (rc["date"] - AS_OF).dt.days) / (365.25 / 12)).mean()
    assert wave0["expected_bounce_rate"] == pytest.approx(expected)
    # not enough days for all: the rest is listed, not dropped
    short = plan_cadence(df, as_of=AS_OF, every="60D", reconfirm_daily_batch=2, horizon="14D")
    later = short.excluded[short.excluded["reason"] == "reconfirm_later"]
    assert len(later) == 40 - 2 * 10 and len(short[short["reason"] == "reconfirm"]) == 20


def test_bad_rows_are_listed_with_a_reason():
    df = pd.DataFrame(
        {
            "email": ["a@x.org", "", "b@x.org", "A@X.org", "c@x.org", "d@x.org"],
            "last_contacted_at": [_date(-70), _date(-70), "yesterday-ish", _date(-10), _date(-70), _date(-70)],
            "acquired_at": [""] * 6,
            "channel": ["email", "email", "email", "email", "fax", "Phone"],
        }
    )
    plan = plan_cadence(df, as_of=AS_OF, channel_column="channel")
    reasons = dict(zip(plan.excluded["row"], plan.excluded["reason"], strict=True))
    assert reasons == {1: "no_address", 2: "bad_date", 0: "duplicate", 4: "unknown_channel"}
    assert set(plan["email"]) == {"A@X.org", "d@x.org"}  # the fresher duplicate is kept
    assert set(plan.loc[plan["email"] == "d@x.org", "channel"]) == {"phone"}


def test_store_decisions_suppress_and_reconfirm(tmp_path):
    from listcare import Store

    df = _contacts(6, start=-70)
    decisions = pd.DataFrame(
        {
            "address": ["p0@example.com", "P1@example.com", "p2@example.com"],
            "decision": ["suppress", "reconfirm", "keep"],
            "rule": ["hard_bounce", "soft_bounces", "none"],
            "reason": ["x", "y", "z"],
            "since": [AS_OF] * 3,
        }
    )
    with Store(tmp_path / "listcare.db") as store:
        store.replace_suppressions(decisions)
        plan = plan_cadence(df, as_of=AS_OF, state=store)
    assert "p0@example.com" not in set(plan["email"])
    assert plan.excluded.set_index("email").loc["p0@example.com", "reason"] == "suppressed"
    assert set(plan.loc[plan["email"] == "p1@example.com", "reason"]) == {"reconfirm"}
    assert set(plan.loc[plan["email"] == "p2@example.com", "wave"]) >= {1}
    # the same from a plain set and from a Series
    for state in ({"P0@example.com"}, pd.Series(["p0@example.com"])):
        assert "p0@example.com" not in set(plan_cadence(df, as_of=AS_OF, state=state)["email"])


def test_phone_follow_up_keeps_its_distance():
    df = _contacts(30, start=-70)
    df["channel"] = "email,phone"
    plan = plan_cadence(df, as_of=AS_OF, every="30D", channel_column="channel", min_channel_gap_days=3)
    phone = plan[plan["channel"] == "phone"]
    assert len(phone) > 0 and plan.feasible
    for _, g in plan.groupby("email"):
        d = g.sort_values("date")
        days = (d["date"] - AS_OF).dt.days.to_numpy()
        ch = d["channel"].to_numpy()
        assert ch[0] == "email"
        for i in range(len(d) - 1):
            assert days[i + 1] - days[i] >= 3
    assert plan.daily["phone"].sum() == len(phone)
    assert (phone["expected_bounce"] == 0).all()
    with pytest.raises(ConfigError, match="follow-up"):
        plan_cadence(df, as_of=AS_OF, every="6D", channel_column="channel", min_channel_gap_days=3)


def test_daily_expected_bounces_come_from_the_decay_model():
    df = _contacts(10, start=-90, step=0)  # all last reached 90 days ago
    plan = plan_cadence(df, as_of=AS_OF, every="60D", horizon="20D", send_days="daily")
    first = plan[plan["wave"] == 1]
    gap = (first["date"] - AS_OF).dt.days + 90
    expected = DecayModel().decayed(gap / (365.25 / 12))
    assert first["expected_bounce"].to_numpy() == pytest.approx(expected.to_numpy())
    assert plan.daily["expected_hard_bounces"].sum() == pytest.approx(plan["expected_bounce"].sum())
    half = plan_cadence(df, as_of=AS_OF, every="60D", horizon="20D", send_days="daily", visibility=0.5)
    assert half["expected_bounce"].sum() == pytest.approx(plan["expected_bounce"].sum() / 2)


def test_summary_names_waves_budget_and_warnings():
    with pytest.warns(CapacityWarning):
        plan = plan_cadence(_contacts(50, start=-400, step=9), as_of=AS_OF, every="60D", daily_capacity=3)
    text = plan.summary()
    assert "content budget 7 campaigns a year" in text
    assert "wave 1" in text and "reconfirm" in text and "WARNING: The capacity" in text
    assert plan.content_budget == 7
    assert list(plan.waves["wave"]) == sorted(plan["wave"].unique())
    assert plan.waves["contacts"].sum() >= plan["row"].nunique()
    assert type(plan.head()) is pd.DataFrame  # slices are plain frames
    # no capacity: the overdue backlog all goes on the first day, and the summary says so
    free = plan_cadence(_contacts(50, start=-200, step=3), as_of=AS_OF, every="60D")
    assert free.daily["volume"].iloc[0] == free.daily["volume"].max() > 3 * free.daily["volume"].median()
    assert "a daily capacity spreads them" in free.summary()


# ------------------------------------------------------------------ iCalendar
def _unfold(text):
    return text.replace("\r\n ", "")


def test_ics_is_rfc5545(tmp_path):
    plan = plan_cadence(_contacts(40, start=-80), as_of=AS_OF, every="60D", daily_capacity=40)
    path = tmp_path / "plan.ics"
    write_ics(plan, path)
    raw = path.read_bytes()
    assert raw.endswith(b"\r\n") and b"\n" not in raw.replace(b"\r\n", b"")
    assert all(len(line) <= 75 for line in raw.split(b"\r\n"))
    text = _unfold(raw.decode("utf-8"))
    lines = text.split("\r\n")
    assert lines[0] == "BEGIN:VCALENDAR" and "VERSION:2.0" in lines and lines[-2] == "END:VCALENDAR"
    busy = plan.daily[plan.daily["volume"] > 0]
    assert text.count("BEGIN:VEVENT") == len(busy) == text.count("END:VEVENT")
    uids = [x for x in lines if x.startswith("UID:")]
    assert len(set(uids)) == len(uids)
    assert all(x == "DTSTAMP:20261127T000000Z" for x in lines if x.startswith("DTSTAMP"))
    day = busy.index[0]
    assert f"DTSTART;VALUE=DATE:{day:%Y%m%d}" in lines
    assert f"DTEND;VALUE=DATE:{day + DAY:%Y%m%d}" in lines
    assert f"SUMMARY:listcare: {int(busy['volume'].iloc[0])} emails" in lines
    assert to_ics(plan) == raw.decode("utf-8")  # deterministic, and the same as written


def test_ics_folding_never_splits_a_character():
    line = "DESCRIPTION:" + "Grüße aus Köln; " * 20
    folded = fold(line)
    parts = folded.encode("utf-8").split(b"\r\n")
    assert all(len(p) <= 75 for p in parts) and len(parts) > 1
    assert all(p.startswith(b" ") for p in parts[1:])
    for p in parts:
        p.decode("utf-8")  # each physical line is whole characters
    assert _unfold(folded) == line


# ------------------------------------------------------------------ chart and CLI
def test_plot_cadence_draws_volume_capacity_and_bounces():
    import matplotlib.pyplot as plt

    from listcare.plotting import plot_cadence

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CapacityWarning)
        plan = plan_cadence(_contacts(60, start=-400, step=8), as_of=AS_OF, every="60D", daily_capacity=12)
    ax = plot_cadence(plan)
    try:
        bars = list(ax.patches)
        heights = {}
        for b in bars:
            heights.setdefault(b.get_x(), 0.0)
            heights[b.get_x()] += b.get_height()
        assert max(heights.values()) == plan.daily["volume"].max() <= 12
        labels = [t.get_text() for t in ax.get_legend().get_texts()]
        assert any(label.startswith("capacity") for label in labels)
        assert any(label.startswith("expected hard bounces") for label in labels)
        assert any(label.startswith("reconfirm") for label in labels)
        twin = [a for a in ax.figure.axes if a is not ax][0]
        y = twin.lines[0].get_ydata()
        assert np.allclose(y, plan.daily["expected_hard_bounces"].to_numpy())
    finally:
        plt.close(ax.figure)
    # a capacity far above the volume does not flatten the bars: the axis follows them
    big = plan_cadence(_contacts(60, start=-400, step=8), as_of=AS_OF, every="60D", daily_capacity=5000)
    ax = plot_cadence(big)
    try:
        assert ax.get_ylim()[1] <= 1.25 * big.daily["volume"].max() + 1e-9
        assert any(t.get_text().startswith("capacity (5,000") for t in ax.get_legend().get_texts())
    finally:
        plt.close(ax.figure)


def test_cli_plan_writes_plan_calendar_and_summary(tmp_path):
    from click.testing import CliRunner

    from listcare.cli import main

    src = tmp_path / "contacts.csv"
    df = _contacts(80, start=-120, step=2)
    df.loc[3, "email"] = ""
    df.to_csv(src, sep=";", index=False)
    out, ics, excl = tmp_path / "out" / "plan.csv", tmp_path / "out" / "plan.ics", tmp_path / "out" / "excl.csv"
    args = ["plan", "--contacts", str(src), "--every", "60D", "--daily-capacity", "40",
            "--as-of", "2026-11-27", "--holiday", "2026-12-25", "-o", str(out), "--ics", str(ics),
            "--excluded", str(excl)]
    res = CliRunner().invoke(main, args)
    assert res.exit_code == 0, res.output
    assert "content budget 7 campaigns a year" in res.output and "wave 1" in res.output
    plan = pd.read_csv(out, sep=";", dtype=str)  # written like the input (';')
    assert list(plan.columns) == ["date", "email", "wave", "reason", "channel", "deadline", "expected_bounce", "row"]
    assert "2026-12-25" not in set(plan["date"])
    assert plan.groupby("date").size().max() <= 40
    excluded = pd.read_csv(excl, sep=";", dtype=str)
    assert set(plan["row"]) | set(excluded["row"]) == {str(i) for i in range(80)}
    assert "BEGIN:VEVENT" in ics.read_text()
    # bad settings: a clear message and the config exit code
    res = CliRunner().invoke(main, ["plan", "--contacts", str(src), "--every", "soon", "--as-of", "2026-11-27",
                                    "-o", str(out)])
    assert res.exit_code == 78 and "every" in res.output
    res = CliRunner().invoke(main, ["plan", "--contacts", str(src), "--daily-capacity", "5", "--strict",
                                    "--as-of", "2026-11-27", "-o", str(tmp_path / "x.csv")])
    assert res.exit_code == 78 and "capacity" in res.output
    assert not (tmp_path / "x.csv").exists()  # nothing written on failure


@pytest.mark.parametrize("capacity", [None, 9, 30])
def test_vectorised_fill_matches_the_per_contact_loop(capacity):
    """The numpy fill plans exactly what the same rules give as plain Python loops."""
    import importlib.util

    from .conftest import ROOT

    spec = importlib.util.spec_from_file_location("bench_cadence", ROOT / "benchmarks" / "bench_cadence.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    df = bench.make_contacts(400, seed=capacity or 1)
    naive = bench.naive_plan(df, interval=60, horizon=180, capacity=capacity)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CapacityWarning)
        plan = plan_cadence(df, as_of=bench.AS_OF, every="60D", daily_capacity=capacity, horizon="180D")
    regular = plan[plan["wave"] >= 1]
    fast = sorted(zip((regular["date"] - bench.AS_OF).dt.days, regular["email"], regular["wave"], strict=True))
    days = [d for d in range(180) if (bench.AS_OF + d * DAY).weekday() < 5]
    assert fast == sorted((days[t], e, w) for t, e, w in naive)
    assert len(fast) > 400


def test_bundled_example_contacts_are_all_accounted_for():
    from listcare import read_contacts
    from listcare.contacts import example_path

    df = read_contacts(example_path("contacts.csv"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CapacityWarning)
        plan = plan_cadence(df, as_of="2026-11-01", every="60D", daily_capacity=100)
    assert set(plan["row"]) | set(plan.excluded["row"]) == set(range(len(df)))
    reasons = plan.excluded["reason"].value_counts().to_dict()
    assert reasons.get("duplicate", 0) > 0 and reasons.get("no_address", 0) > 0
    # issue 6 review: the example's syntax-invalid rows are never planned either
    assert set(reasons) <= {"duplicate", "no_address", "invalid_address"}
    assert plan.daily["volume"].max() <= 100
    assert (plan.waves.loc[plan.waves["wave"] == 0, "expected_bounce_rate"] > 0.2).all()


def test_german_excel_export_plans_like_the_iso_original():
    """contacts_de.csv is the first 250 contacts as German Excel saves them (TT.MM.JJJJ)."""
    from listcare import read_contacts
    from listcare.contacts import example_path

    de = read_contacts(example_path("contacts_de.csv"))
    iso = read_contacts(example_path("contacts.csv")).iloc[:250]
    kw = dict(as_of="2026-11-01", every="60D", daily_capacity=20)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CapacityWarning)
        a = plan_cadence(de, last_contacted="Zuletzt kontaktiert", acquired="Erfasst am", **kw)
        b = plan_cadence(iso, **kw)
    cols = ["date", "wave", "reason", "deadline", "row"]
    pd.testing.assert_frame_equal(pd.DataFrame(a)[cols], pd.DataFrame(b)[cols])
    assert not (a.excluded["reason"] == "bad_date").any()


def test_cli_plan_with_a_store_never_plans_suppressed(tmp_path):
    from click.testing import CliRunner

    from listcare import Store
    from listcare.cli import main

    src = tmp_path / "contacts.csv"
    _contacts(20, start=-70).to_csv(src, index=False)
    db = tmp_path / "listcare.db"
    with Store(db) as store:
        store.replace_suppressions(
            pd.DataFrame(
                {"address": ["p3@example.com"], "decision": ["suppress"], "rule": ["hard_bounce"],
                 "reason": ["5.1.1 user unknown"], "since": [AS_OF]}
            )
        )
    out = tmp_path / "plan.csv"
    res = CliRunner().invoke(main, ["plan", "--contacts", str(src), "--store", str(db), "--as-of", "2026-11-27",
                                    "-o", str(out)])
    assert res.exit_code == 0, res.output
    assert "suppressed 1" in res.output
    assert "p3@example.com" not in set(pd.read_csv(out)["email"])
    res = CliRunner().invoke(main, ["plan", "--contacts", str(src), "--store", str(tmp_path / "nope.db"),
                                    "--as-of", "2026-11-27", "-o", str(out)])
    assert res.exit_code == 66 and "no store" in res.output
    assert not (tmp_path / "nope.db").exists()


# ---------------------------------------------------------------- review of issue 6 (1): invalid addresses
def _syntax_ok(address) -> bool:
    """The reference: email-validator itself, syntax only (no DNS)."""
    from email_validator import EmailNotValidError, validate_email

    try:
        validate_email(str(address).strip(), check_deliverability=False)
    except EmailNotValidError:
        return False
    return True


def test_invalid_addresses_in_the_example_are_excluded_not_planned():
    from listcare import read_contacts
    from listcare.contacts import example_path

    df = read_contacts(example_path("contacts.csv"))
    col = df.attrs["listcare"]["email_column"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CapacityWarning)
        plan = plan_cadence(df, as_of="2026-11-01", every="60D", daily_capacity=100)
    invalid = plan.excluded[plan.excluded["reason"] == "invalid_address"]
    assert len(invalid) == 24
    nonempty = df[col].fillna("").astype(str).str.strip() != ""
    want = {i for i in range(len(df)) if nonempty.iloc[i] and not _syntax_ok(df[col].iloc[i])}
    assert set(invalid["row"]) == want
    assert {"keine Angabe", "lisa.@gmail.com", "max.mustermann@", "heike@web .de",
            "vorname.nachname@firma"} <= set(invalid["email"])
    assert all(_syntax_ok(e) for e in plan["email"].unique())
    assert not (plan["row"].isin(want)).any()  # not even in the reconfirmation wave
    assert "invalid_address 24" in plan.summary()


_LOCALS = st.sampled_from(["anna", "lisa.", ".hans", "a..b", "max mustermann", "info", "x", "o'neil", "ü"])
_DOMAINS = st.sampled_from(["web.de", "firma", "gmx,de", "web .de", "", "[300.1.2.3]", "t-online.de",
                            "xn--mnchen-3ya.de", "localhost", "example.org"])


@st.composite
def _addresses(draw):
    kind = draw(st.integers(0, 3))
    if kind == 0:
        return draw(st.text(alphabet="ab.@ -_", max_size=8))
    if kind == 1:
        return "keine Angabe"
    return draw(_LOCALS) + draw(st.sampled_from(["@", "@@", "(at)"])) + draw(_DOMAINS)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_addresses(), min_size=1, max_size=15), st.integers(-500, 0))
def test_no_planned_address_fails_the_syntax_check(emails, last):
    df = pd.DataFrame({"email": emails, "last_contacted_at": [_date(last)] * len(emails), "acquired_at": ""})
    plan = _plan(df, dict(as_of=AS_OF, every="30D", horizon="60D"))
    assert all(_syntax_ok(e) for e in plan["email"])
    reasons = dict(zip(plan.excluded["row"], plan.excluded["reason"], strict=True))
    for i, e in enumerate(emails):
        if e.strip() and not _syntax_ok(e):
            assert reasons[i] == "invalid_address", (e, reasons.get(i))
        elif e.strip():
            assert reasons.get(i) != "invalid_address", e
    assert set(plan["row"]) | set(reasons) == set(range(len(df)))


# ---------------------------------------------------------------- review of issue 6 (2): the store's deliveries
def _deliveries(rows) -> pd.DataFrame:
    """Store events (the columns tests/test_store.py uses) from (recipient, timestamp, kind)."""
    n = len(rows)
    return pd.DataFrame(
        {
            "event_id": [f"{i:024x}" for i in range(n)],
            "timestamp": pd.to_datetime([ts for _, ts, _ in rows], utc=True),
            "recipient": [r for r, _, _ in rows],
            "kind": [k for _, _, k in rows],
            "reason": ["delivered" if k == "delivered" else "mailboxfull" for _, _, k in rows],
            "status": ["2.0.0" if k == "delivered" else "4.2.2" for _, _, k in rows],
            "reply_code": ["250" if k == "delivered" else "452" for _, _, k in rows],
            "diagnostic": [""] * n,
            "remote_mta": ["mx.example.com"] * n,
            "source_format": ["postfix"] * n,
            "source": ["mail.log"] * n,
            "position": np.arange(1, n + 1),
        }
    )


def _store_with_deliveries(path):
    from listcare import Store

    rows = [
        ("p0@example.com", AS_OF - 20 * DAY + pd.Timedelta(hours=9), "delivered"),  # recent: due
        ("P1@Example.com", AS_OF - 40 * DAY, "delivered"),  # other case, same contact
        ("p1@example.com", AS_OF - 300 * DAY, "delivered"),  # an older one: the later wins
        ("p2@example.com", AS_OF + 2 * DAY, "delivered"),  # after as_of: not yet known
        ("p3@example.com", AS_OF - 10 * DAY, "soft"),  # not a delivery
        ("p4@example.com", AS_OF - 900 * DAY, "delivered"),  # older than the contact file
    ]
    with Store(path) as store:
        store.add_events(_deliveries(rows))
    return Store(path)


def test_store_deliveries_count_as_the_last_contact(tmp_path):
    df = _contacts(6, start=-500, step=0)  # the file says: nobody reached for 500 days
    df.loc[5, "last_contacted_at"] = _date(-30)  # p5: recent in the file, no delivery
    with _store_with_deliveries(tmp_path / "listcare.db") as store:
        plan = plan_cadence(df, as_of=AS_OF, every="60D", state=store)
    by = {e: g.sort_values("date") for e, g in plan.groupby("email")}
    for email, delivered in (("p0@example.com", -20), ("p1@example.com", -40)):
        g = by[email]
        assert (g["wave"] >= 1).all() and set(g["reason"]) == {"due"}, email
        assert g["deadline"].iloc[0] == AS_OF + (delivered + 60) * DAY  # delivery + interval
        assert g["date"].iloc[0] > AS_OF + (delivered + 29) * DAY  # not before half the interval
    for email in ("p2@example.com", "p3@example.com", "p4@example.com"):
        assert list(by[email]["reason"]) == ["reconfirm"], email
    assert (by["p5@example.com"]["wave"] >= 1).all()  # the file's later date still counts
    # the same contacts without the store: all but p5 to reconfirmation
    bare = plan_cadence(df, as_of=AS_OF, every="60D")
    assert set(bare.loc[bare["reason"] == "reconfirm", "email"]) == {f"p{i}@example.com" for i in range(5)}
    assert len(df) == 6 and df.loc[0, "last_contacted_at"] == _date(-500)  # input untouched


def test_cli_plan_with_a_store_uses_its_deliveries(tmp_path):
    from click.testing import CliRunner

    from listcare.cli import main

    df = _contacts(6, start=-500, step=0)
    src = tmp_path / "contacts.csv"
    df.to_csv(src, index=False)
    db = tmp_path / "listcare.db"
    with _store_with_deliveries(db) as store:
        want = plan_cadence(df, as_of=AS_OF, every="60D", state=store)
    out = tmp_path / "plan.csv"
    res = CliRunner().invoke(main, ["plan", "--contacts", str(src), "--store", str(db), "--every", "60D",
                                    "--as-of", "2026-11-27", "-o", str(out)])
    assert res.exit_code == 0, res.output
    got = pd.read_csv(out, dtype=str)
    assert set(got.loc[got["email"] == "p0@example.com", "reason"]) == {"due"}
    pairs = lambda d: sorted(zip(d["email"], d["reason"], d["wave"].astype(str), strict=True))  # noqa: E731
    assert pairs(got) == pairs(want)
    assert list(got["date"]) == [str(d.date()) for d in want["date"]]


def test_a_bare_number_of_days_and_a_mistyped_date_column(tmp_path):
    """--every 60 means 60 days (the option's metavar is DAYS); a date column named on
    purpose that the list lacks is an error, not a silently different plan."""
    from click.testing import CliRunner

    from listcare.cadence import _days
    from listcare.cli import main
    from listcare.exceptions import ColumnError

    assert _days("60", "every") == 60 == _days("60D", "every")
    contacts = pd.DataFrame({"email": ["a@b.de"], "last_contacted_at": ["2026-10-01"]})
    with pytest.raises(ColumnError, match="'nope'"):
        plan_cadence(contacts, as_of="2026-11-27", last_contacted="nope")
    src = tmp_path / "c.csv"
    contacts.to_csv(src, index=False)
    args = ["plan", "--contacts", str(src), "-o", str(tmp_path / "p.csv"), "--as-of", "2026-11-27"]
    assert CliRunner().invoke(main, [*args, "--every", "60"]).exit_code == 0
    res = CliRunner().invoke(main, [*args, "--acquired", "nope"])
    assert res.exit_code == 65 and "'nope'" in res.output


def test_a_plan_as_of_an_earlier_day_ignores_later_suppressions():
    """No hidden clock: a store's decisions that started after as_of do not apply."""
    contacts = pd.DataFrame(
        {"email": ["early@x.de", "late@x.de"], "last_contacted_at": ["2026-05-01", "2026-05-01"]}
    )
    state = pd.DataFrame(
        {
            "address": ["early@x.de", "late@x.de"],
            "decision": ["suppress", "suppress"],
            "since": pd.to_datetime(["2026-05-20", "2026-10-01"], utc=True),
        }
    )
    plan = plan_cadence(contacts, as_of="2026-06-01", state=state)
    planned = set(plan["email"]) if "email" in plan.columns else set(plan.iloc[:, 0])
    assert "late@x.de" in planned and "early@x.de" not in planned
    later = plan_cadence(contacts, as_of="2026-10-01", state=state)  # the day it started
    assert "late@x.de" not in set(later["email"])


def test_the_capacity_warning_does_not_claim_a_backlog_is_cleared_when_some_never_fit():
    from listcare import example_path, read_contacts

    contacts = read_contacts(example_path("contacts.csv"))
    with pytest.warns(UserWarning, match="cannot be planned at all"):
        plan = plan_cadence(contacts, as_of="2026-11-27", daily_capacity=10)
    text = " ".join(plan.warnings)
    assert "cannot be planned at all" in text
    assert "backlog is cleared" not in text and "those that fit are sent by" in text
    assert "--daily-capacity" in text


def test_an_interval_longer_than_the_sunset_is_pointed_out():
    contacts = _contacts(20, start=-100, step=3)
    plan = plan_cadence(contacts, as_of=AS_OF, every="60D", sunset="30D")
    assert any("longer than the sunset" in w for w in plan.warnings)
    assert "longer than the sunset" in plan.summary()
    ok = plan_cadence(contacts, as_of=AS_OF, every="60D")
    assert not any("longer than the sunset" in w for w in ok.warnings)


def test_an_unreachable_target_bounce_rate_says_the_interval_is_capped():
    from listcare.cadence import interval_for_target

    with pytest.warns(UserWarning, match="never reached within 3650 days"):
        assert interval_for_target(0.6, visibility=0.5) == 3650
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert interval_for_target(0.02) == 28


def test_a_tz_aware_or_dotted_as_of_plans_from_that_calendar_day():
    """Midnight in Berlin on 3 November is 3 November (in UTC it is still 2 November),
    8 pm in New York on 3 November too; a dotted date is day-first."""
    df = _contacts(5)
    for as_of in (pd.Timestamp("2026-11-03", tz="Europe/Berlin"),
                  pd.Timestamp("2026-11-03 20:00", tz="America/New_York"), "03.11.2026"):
        plan = plan_cadence(df, as_of=as_of, every="60D")
        assert plan.as_of == pd.Timestamp("2026-11-03"), as_of
        assert plan["date"].min() >= pd.Timestamp("2026-11-03")
    with pytest.raises(ConfigError, match="YYYY-MM-DD"):
        plan_cadence(df, as_of="03/11/2026", every="60D")
