"""The decay model: rates, fitting (cross-checked against lifelines), durations, cohorts."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from listcare import DecayModel, bounce_rate_by_cohort, durations_from
from listcare.decay import MONTH_DAYS, kaplan_meier, logrank_test, turnbull, wilson_interval
from listcare.exceptions import ColumnError, ConfigError, InputError

lifelines = pytest.importorskip("lifelines")  # a test-only dependency (setup.cfg [test])


def simulate(n, monthly_rate, *, seed, follow_up=48.0, shape=1.0):
    """Failure times at a known rate (Weibull shape 1 = exponential), uniform censoring."""
    rng = np.random.default_rng(seed)
    lam = -math.log1p(-monthly_rate)
    if shape == 1.0:
        life = rng.exponential(1.0 / lam, n)
    else:
        life = rng.weibull(shape, n) * (1.0 / lam)
    censor = rng.uniform(0.0, follow_up, n)
    return np.minimum(life, censor), life <= censor


# ------------------------------------------------------------------ the basic figures
def test_marketing_sherpa_figures():
    m = DecayModel()
    assert m.monthly_rate == 0.021
    assert m.annual_rate == pytest.approx(1 - 0.979**12) and round(m.annual_rate, 3) == 0.225
    assert m.annual_rate_simple == pytest.approx(0.252)
    assert m.half_life_months == pytest.approx(math.log(0.5) / math.log(0.979))
    # a 2008 list mailed mid-2010: contacts 18 to 30 months old, about 40% gone
    assert m.expected_bounce_rate(np.linspace(18, 30, 1201)) == pytest.approx(0.40, abs=0.005)
    assert m.decayed(24) == pytest.approx(1 - 0.979**24)


def test_rate_either_way_and_vectorised():
    a = DecayModel.from_annual_rate(0.225)
    assert a.monthly_rate == pytest.approx(1 - 0.775 ** (1 / 12))
    s = DecayModel.from_annual_rate(0.252, compounded=False)
    assert s.monthly_rate == pytest.approx(0.021)
    ages = pd.Series([0.0, 12.0, 24.0], index=["x", "y", "z"])
    out = s.decayed(ages)
    assert list(out.index) == ["x", "y", "z"]
    assert out["x"] == 0 and out["y"] == pytest.approx(1 - 0.979**12)
    assert s.survival(12) + s.decayed(12) == pytest.approx(1.0)
    assert s.expected_bounce_rate([12, 12], visibility=0.5) == pytest.approx(0.5 * (1 - 0.979**12))
    with pytest.raises(ConfigError):
        DecayModel(1.5)
    with pytest.raises(ConfigError, match="must be a number"):
        DecayModel("two percent")
    with pytest.raises(ConfigError):
        s.expected_bounce_rate([1], visibility=2)
    with pytest.raises(ConfigError):
        s.decayed(-1)


# ------------------------------------------------------------------ fitting
def test_exponential_fit_matches_lifelines():
    t, e = simulate(3000, 0.021, seed=1)
    m = DecayModel().fit(t, e)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ef = lifelines.ExponentialFitter().fit(t, e)
    assert m.hazard_ == pytest.approx(1.0 / ef.lambda_, rel=1e-6)
    assert m.log_likelihood_ == pytest.approx(ef.log_likelihood_, rel=1e-9)
    assert m.hazard_ == e.sum() / t.sum()  # closed form: events / exposure
    assert m.monthly_rate == m.monthly_rate_ == pytest.approx(-math.expm1(-m.hazard_))
    assert (m.n_, m.events_) == (3000, int(e.sum()))
    assert m.exposure_ == pytest.approx(t.sum())


def test_kaplan_meier_matches_lifelines():
    t, e = simulate(2000, 0.03, seed=2)
    t = np.round(t, 1)  # ties, as with day-resolution dates
    km = DecayModel().fit(t, e).km_
    kmf = lifelines.KaplanMeierFitter().fit(t, e)
    # every lifelines time, looked up on our step function (which changes at events only)
    times = kmf.survival_function_.index.to_numpy()
    ours = km["survival"].to_numpy()[
        np.searchsorted(km["timeline"].to_numpy(), times, side="right") - 1
    ]
    np.testing.assert_allclose(
        ours, kmf.survival_function_.iloc[:, 0].to_numpy(), rtol=0, atol=1e-6
    )
    ci = kmf.confidence_interval_.reindex(km["timeline"].to_numpy())
    np.testing.assert_allclose(km["ci_low"], ci.iloc[:, 0], atol=1e-6)
    np.testing.assert_allclose(km["ci_high"], ci.iloc[:, 1], atol=1e-6)
    assert km["timeline"].iloc[0] == 0  # rounding made events at 0: S(0) < 1 there
    assert km["survival"].iloc[0] == pytest.approx(1 - (e & (t == 0)).sum() / t.size)
    assert (np.diff(km["survival"]) < 0).all()
    # the standalone function, every duration an event
    alone = kaplan_meier([1.0, 2.0, 2.0, 4.0])
    assert alone["survival"].tolist() == pytest.approx([1.0, 0.75, 0.25, 0.0])
    assert alone["at_risk"].tolist() == [4, 4, 3, 1]


def test_weibull_fit_matches_lifelines_and_detects_changing_hazard():
    t, e = simulate(3000, 0.03, seed=3, shape=0.6)
    m = DecayModel().fit(t, e)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        wf = lifelines.WeibullFitter().fit(t, e)
    assert m.weibull_shape_ == pytest.approx(wf.rho_, rel=1e-4)
    assert m.weibull_scale_ == pytest.approx(wf.lambda_, rel=1e-4)
    assert m.weibull_log_likelihood_ >= wf.log_likelihood_ - 1e-6
    lo, hi = m.weibull_shape_ci_
    assert lo < m.weibull_shape_ < hi < 1.0 and lo < 0.6 < hi
    assert m.weibull_p_value_ < 1e-6
    # constant hazard: the test does not reject and the interval holds 1
    c = DecayModel().fit(*simulate(3000, 0.03, seed=4))
    assert c.weibull_shape_ci_[0] < 1.0 < c.weibull_shape_ci_[1]
    assert c.weibull_p_value_ > 0.05


def test_known_rate_is_recovered_within_its_interval():
    m = DecayModel().fit(*simulate(5000, 0.021, seed=50))
    lo, hi = m.monthly_rate_ci_
    assert lo < 0.021 < hi
    assert hi - lo < 0.005


def test_interval_coverage_is_near_nominal():
    covered = 0
    seeds = 200
    for seed in range(seeds):
        m = DecayModel().fit(*simulate(400, 0.021, seed=1000 + seed))
        lo, hi = m.monthly_rate_ci_
        covered += lo <= 0.021 <= hi
    # binomial(200, 0.95) lies in [182, 197] with probability > 99.5%
    assert 182 <= covered <= 197, covered


def test_summary_table():
    m = DecayModel().fit(*simulate(2000, 0.021, seed=6), alpha=0.1)
    s = m.summary
    assert isinstance(s, pd.DataFrame)
    assert list(s.columns) == ["estimate", "lower 90%", "upper 90%", "note"]
    assert s.loc["monthly rate (exponential)", "estimate"] == m.monthly_rate_
    assert s.loc["annual rate, compounded", "estimate"] == pytest.approx(m.annual_rate)
    assert s.loc["annual rate, simple (12 x monthly)", "estimate"] == pytest.approx(
        12 * m.monthly_rate_
    )
    assert s.loc["half-life (months)", "estimate"] == pytest.approx(m.half_life_months)
    assert s.loc["Weibull shape (1 = constant hazard)", "estimate"] == m.weibull_shape_
    assert "LR test shape == 1" in s.loc["Weibull shape (1 = constant hazard)", "note"]
    lo, hi = m.monthly_rate_ci_
    assert s.loc["monthly rate (exponential)", "lower 90%"] == lo
    # a 90% interval is narrower than the 95% one
    lo95, hi95 = DecayModel().fit(*simulate(2000, 0.021, seed=6)).monthly_rate_ci_
    assert lo95 < lo < hi < hi95
    with pytest.raises(ConfigError, match="fitted"):
        _ = DecayModel().summary


def test_no_events_gives_an_upper_bound():
    m = DecayModel().fit([5.0, 10.0, 20.0], [0, 0, 0])
    assert m.monthly_rate_ == 0.0 and m.monthly_rate_ci_[0] == 0.0
    assert 0 < m.monthly_rate_ci_[1] < 0.1
    assert math.isnan(m.weibull_shape_)


@pytest.mark.parametrize(
    ("durations", "events", "message"),
    [
        ([1.0, -2.0], [1, 0], "negative"),
        ([1.0, float("nan")], [1, 0], "missing"),
        ([1.0, 2.0], [1], "one flag per duration"),
        ([1.0, 2.0], [1, 2], "True/False"),
        ([], [], "nothing to fit"),
        ([0.0, 0.0], [1, 1], "All durations are 0"),
    ],
)
def test_bad_durations_raise_clear_errors(durations, events, message):
    with pytest.raises(InputError, match=message):
        DecayModel().fit(durations, events)


def test_fit_does_not_mutate_inputs():
    t = pd.Series([1.0, 2.0, 3.0])
    e = pd.Series([True, False, True])
    DecayModel().fit(t, e)
    assert t.tolist() == [1.0, 2.0, 3.0] and e.tolist() == [True, False, True]


# ------------------------------------------------------------------ groups
def test_fit_by_finds_the_fastest_source_and_matches_lifelines_logrank():
    parts = [simulate(1500, r, seed=10 + i) for i, r in enumerate((0.01, 0.021, 0.05))]
    t = np.concatenate([p[0] for p in parts])
    e = np.concatenate([p[1] for p in parts])
    g = np.repeat(["web form", "trade fair", "bought list"], 1500)
    res = DecayModel.fit_by(t, e, g)
    assert res.fastest == "bought list"
    assert list(res.table.index) == ["bought list", "trade fair", "web form"]
    for name, rate in (("web form", 0.01), ("trade fair", 0.021), ("bought list", 0.05)):
        row = res.table.loc[name]
        assert row["ci_low"] < rate < row["ci_high"]
        assert row["monthly_rate"] == res.models[name].monthly_rate_
    assert res.degrees_of_freedom == 2 and res.differ and res.lr_p_value < 1e-10
    lr = lifelines.statistics.multivariate_logrank_test(t, g, e)
    assert res.logrank_statistic == pytest.approx(lr.test_statistic, rel=1e-6)
    assert res.logrank_p_value == pytest.approx(lr.p_value, rel=1e-6, abs=1e-300)
    # the LR statistic is 2 x (sum of group log-likelihoods - pooled log-likelihood)
    expect = 2 * (sum(m.log_likelihood_ for m in res.models.values()) - res.pooled.log_likelihood_)
    assert res.lr_statistic == pytest.approx(expect)
    assert list(res.summary.index) == ["likelihood ratio (exponential)", "log-rank"]


def test_fit_by_same_rates_do_not_differ():
    t, e = simulate(4000, 0.021, seed=20)
    g = np.random.default_rng(0).choice(["a", "b"], 4000)
    res = DecayModel.fit_by(t, e, g)
    assert not res.differ and res.lr_p_value > 0.05 and res.logrank_p_value > 0.05
    lr = lifelines.statistics.logrank_test(t[g == "a"], t[g == "b"], e[g == "a"], e[g == "b"])
    assert logrank_test(t, e, g)[0] == pytest.approx(lr.test_statistic, rel=1e-6)
    with pytest.raises(InputError, match="two groups"):
        DecayModel.fit_by(t, e, ["a"] * 4000)
    with pytest.raises(InputError, match="one group per duration"):
        DecayModel.fit_by(t, e, ["a", "b"])


# ------------------------------------------------------------------ durations_from
def _ts(*values):
    return pd.to_datetime(list(values), utc=True)


CONTACTS = pd.DataFrame(
    {
        "E-Mail": [
            " Ann@Example.COM",
            "bob@example.com",
            "cy@example.com",
            "ann@example.com",
            "dee@example.com",
        ],
        "acquired_at": ["2024-01-01", "2024-01-01", "2024-06-01", "2024-03-01", "2025-01-01"],
        "source": ["web", "web", "fair", "fair", "bought"],
    },
    index=[10, 11, 12, 13, 14],
)
EVENTS = pd.DataFrame(
    {
        "recipient": [
            "ann@example.com",
            "ANN@example.com ",
            "bob@example.com",
            "cy@example.com",
            "cy@example.com",
            "zed@example.com",
            "ann@example.com",
            "bob@example.com",
            "cy@example.com",
        ],
        "timestamp": _ts(
            "2024-02-01",
            "2024-07-01",
            "2024-05-01",
            "2024-07-01",
            "2024-09-01",
            "2024-09-01",
            "2023-01-01",
            "2025-09-01",
            "2024-10-01",
        ),
        "kind": [
            "delivered",
            "hard",
            "delivered",
            "delivered",
            "soft",
            "hard",
            "hard",
            "hard",
            "complaint",
        ],
    }
)


def test_durations_from_rules():
    before = (CONTACTS.copy(), EVENTS.copy())
    d = durations_from(CONTACTS, EVENTS, as_of="2025-06-30")
    pd.testing.assert_frame_equal(CONTACTS, before[0])
    pd.testing.assert_frame_equal(EVENTS, before[1])
    assert list(d.index) == [10, 11, 12, 13, 14]
    month = pd.Timedelta(days=MONTH_DAYS)
    # Ann (both rows share the address): first hard bounce after each one's own start
    assert d.loc[10, "event"] and d.loc[10, "end"] == pd.Timestamp("2024-07-01", tz="UTC")
    assert d.loc[10, "duration"] == pytest.approx(
        (pd.Timestamp("2024-07-01") - pd.Timestamp("2024-01-01")) / month
    )
    assert d.loc[13, "event"] and d.loc[13, "end"] == pd.Timestamp("2024-07-01", tz="UTC")
    # Bob: the hard bounce after as_of is ignored: censored at his last delivery
    assert not d.loc[11, "event"] and d.loc[11, "end"] == pd.Timestamp("2024-05-01", tz="UTC")
    # Cy: soft bounces and complaints are not events; last delivery censors
    assert not d.loc[12, "event"] and d.loc[12, "end"] == pd.Timestamp("2024-07-01", tz="UTC")
    # Dee: never mailed: censored at as_of and flagged
    assert not d.loc[14, "mailed"] and d.loc[14, "end"] == pd.Timestamp("2025-06-30", tz="UTC")
    assert d["mailed"].tolist() == [True, True, True, True, False]
    assert (d["duration"] >= 0).all()


def test_durations_from_german_export_and_day_first_dates():
    from listcare import read_contacts
    from listcare.contacts import example_path

    path = example_path("contacts_de.csv")
    if not path.is_file():
        pytest.skip("the German example export is not bundled in this checkout")
    de = read_contacts(path)
    en = read_contacts(example_path("contacts.csv")).head(len(de))
    d_de = durations_from(de, EVENTS, start="Erfasst am", as_of="2026-11-01")
    d_en = durations_from(en, EVENTS, as_of="2026-11-01")
    # 04.02.2025 is the 4th of February, as the English file's 2025-02-04 says
    assert (d_de["start"] == d_en["start"]).all()


def test_durations_from_event_before_start_is_ignored():
    contacts = pd.DataFrame({"email": ["a@x.org"], "acquired_at": ["2024-05-01"]})
    events = pd.DataFrame(
        {"recipient": ["a@x.org"], "timestamp": _ts("2024-04-30"), "kind": ["hard"]}
    )
    d = durations_from(contacts, events, as_of="2024-12-31")
    assert not d.loc[0, "event"] and not d.loc[0, "mailed"]


def test_durations_from_errors():
    bad = CONTACTS.assign(acquired_at=["2024-01-01", "", "2024-06-01", "2024-03-01", "2025-01-01"])
    with pytest.raises(InputError, match="1 contacts have no usable 'acquired_at'"):
        durations_from(bad, EVENTS, as_of="2025-06-30")
    with pytest.raises(InputError, match="start after as_of"):
        durations_from(CONTACTS, EVENTS, as_of="2024-12-31")
    with pytest.raises(ConfigError, match="as_of is required"):
        durations_from(CONTACTS, EVENTS, as_of=None)
    with pytest.raises(ColumnError, match="kind"):
        durations_from(CONTACTS, EVENTS.drop(columns="kind"), as_of="2025-06-30")
    with pytest.raises(ColumnError, match="signup"):
        durations_from(CONTACTS, EVENTS, start="signup", as_of="2025-06-30")


def test_durations_from_matches_a_naive_implementation():
    rng = np.random.default_rng(7)
    n, m = 3000, 6000
    emails = np.array([f"p{i}@d{i % 17}.example" for i in range(n)], dtype=object)
    emails[5] = emails[6]  # a duplicate contact
    start = pd.Timestamp("2022-01-01", tz="UTC") + pd.to_timedelta(
        rng.integers(0, 900, n), unit="D"
    )
    contacts = pd.DataFrame({"email": emails, "acquired_at": start})
    who = rng.integers(0, n, m)
    events = pd.DataFrame(
        {
            "recipient": [e.upper() if i % 3 == 0 else e for i, e in enumerate(emails[who])],
            "timestamp": start[who] + pd.to_timedelta(rng.integers(-60, 900, m), unit="D"),
            "kind": rng.choice(["delivered", "hard", "soft", "block"], m, p=[0.7, 0.15, 0.1, 0.05]),
        }
    )
    as_of = pd.Timestamp("2025-01-01", tz="UTC")
    d = durations_from(contacts, events, as_of=as_of)
    # naive: for each contact, loop over its events
    by = events.assign(key=events["recipient"].str.lower()).groupby("key")
    groups = {k: g for k, g in by}
    for i in rng.choice(n, 400, replace=False).tolist() + [5, 6]:
        g = groups.get(emails[i])
        s = start[i]
        if g is not None:
            g = g[(g["timestamp"] >= s) & (g["timestamp"] <= as_of)]
        hard = g[g["kind"] == "hard"]["timestamp"] if g is not None else pd.Series([], dtype=object)
        ok = (
            g[g["kind"] == "delivered"]["timestamp"]
            if g is not None
            else pd.Series([], dtype=object)
        )
        end = hard.min() if len(hard) else (ok.max() if len(ok) else as_of)
        assert d.loc[i, "event"] == bool(len(hard)), i
        assert d.loc[i, "end"] == end, i
        assert d.loc[i, "duration"] == pytest.approx((end - s) / pd.Timedelta(days=MONTH_DAYS))


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.integers(0, 5),
            st.integers(0, 1500),
            st.sampled_from(["hard", "delivered", "soft", "deferred"]),
        ),
        max_size=40,
    ),
    st.lists(st.tuples(st.integers(0, 5), st.integers(0, 1000)), min_size=1, max_size=8),
)
def test_durations_from_invariants(event_rows, contact_rows):
    base = pd.Timestamp("2023-01-01", tz="UTC")
    as_of = base + pd.Timedelta(days=1200)
    addresses = [f"u{i}@example.org" for i in range(6)]
    contacts = pd.DataFrame(
        {
            "email": [
                addresses[a].upper() if k % 2 else addresses[a]
                for k, (a, _) in enumerate(contact_rows)
            ],
            "acquired_at": [base + pd.Timedelta(days=d) for _, d in contact_rows],
        },
        index=[f"row{k}" for k in range(len(contact_rows))],
    )
    events = pd.DataFrame(
        {
            "recipient": [addresses[a] for a, _, _ in event_rows],
            "timestamp": pd.to_datetime(
                [base + pd.Timedelta(days=d) for _, d, _ in event_rows], utc=True
            ),
            "kind": [k for _, _, k in event_rows],
        }
    )
    d = durations_from(contacts, events, as_of=as_of)
    assert list(d.index) == list(contacts.index)  # every contact, once, in order
    assert (d["duration"] >= 0).all() and (d["end"] <= as_of).all()
    assert ((d["last_good"] >= 0) & (d["last_good"] <= d["duration"] + 1e-12)).all()
    assert (~d["event"] | d["mailed"]).all()
    span = (d["end"] - d["start"]) / pd.Timedelta(days=MONTH_DAYS)
    np.testing.assert_allclose(d["duration"], span)
    for key, row in d.iterrows():
        email = contacts.loc[key, "email"].lower()
        mine = events[
            (events["recipient"] == email)
            & (events["timestamp"] >= row["start"])
            & (events["timestamp"] <= as_of)
        ]
        hard = mine.loc[mine["kind"] == "hard", "timestamp"]
        assert row["event"] == (len(hard) > 0)
        if len(hard):
            assert row["end"] == hard.min()


def simulate_mailings(n, monthly_rate, *, seed, months=36, as_of="2026-01-01", every=1):
    """A list mailed every *every* months: delivered while good, a hard bounce at the first send after it went bad."""
    rng = np.random.default_rng(seed)
    as_of = pd.Timestamp(as_of, tz="UTC")
    lam = -math.log1p(-monthly_rate)
    age0 = rng.uniform(0, months, n)  # months of history each contact has
    start = as_of - pd.to_timedelta(age0 * MONTH_DAYS, unit="D")
    life = rng.exponential(1 / lam, n)
    emails = np.array([f"c{i}@example.org" for i in range(n)], dtype=object)
    k = np.arange(every, months + every, every)
    send_age = k[None, :] - rng.uniform(0, every, n)[:, None]  # a send every *every* months
    sent = send_age < age0[:, None]
    bad = send_age >= life[:, None]
    first_bad = np.where(bad & sent, send_age, np.inf).min(axis=1)
    keep = sent & (send_age <= first_bad[:, None])  # suppressed after the first hard bounce
    rows, cols = np.nonzero(keep)
    ts = start[rows] + pd.to_timedelta(send_age[rows, cols] * MONTH_DAYS, unit="D")
    kind = np.where(bad[rows, cols], "hard", "delivered")
    contacts = pd.DataFrame({"email": emails, "acquired_at": start})
    events = pd.DataFrame({"recipient": emails[rows], "timestamp": ts, "kind": kind})
    return contacts, events, as_of


def test_end_to_end_mailed_list_recovers_the_rate():
    contacts, events, as_of = simulate_mailings(6000, 0.021, seed=8)
    d = durations_from(contacts, events, as_of=as_of)
    m = DecayModel().fit(d["duration"], d["event"])
    lo, hi = m.monthly_rate_ci_
    # a bounce shows at the next send (up to a month late): allow that small bias
    assert lo - 0.002 < 0.021 < hi + 0.002
    assert d["mailed"].mean() > 0.9 and d["event"].sum() == (events["kind"] == "hard").sum()


def test_interval_censored_fit_matches_lifelines_and_removes_the_mailing_lag():
    # mailed every 4 months: a bounce shows up to 4 months after the contact went bad
    contacts, events, as_of = simulate_mailings(6000, 0.021, seed=13, every=4)
    d = durations_from(contacts, events, as_of=as_of)
    ev = d["event"].to_numpy()
    assert (d["last_good"] <= d["duration"]).all() and (
        d.loc[~d["event"], "last_good"] == d.loc[~d["event"], "duration"]
    ).all()
    lagged = DecayModel().fit(d["duration"], d["event"])
    m = DecayModel().fit(d["duration"], d["event"], last_good=d["last_good"])
    assert m.interval_censored_ and not lagged.interval_censored_
    assert m.monthly_rate_ci_[0] < 0.021 < m.monthly_rate_ci_[1]
    assert lagged.monthly_rate_ < m.monthly_rate_  # the lag makes decay look slower
    # lifelines' convention: exact events have lower == upper, right-censored upper = inf
    lo = np.where(ev, d["last_good"], d["duration"])
    hi = np.where(ev, d["duration"], np.inf)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ef = lifelines.ExponentialFitter().fit_interval_censoring(lo, hi, lo == hi)
        wf = lifelines.WeibullFitter().fit_interval_censoring(lo, hi, lo == hi)
    assert m.hazard_ == pytest.approx(1 / ef.lambda_, rel=1e-6)
    assert m.log_likelihood_ == pytest.approx(ef.log_likelihood_, rel=1e-9)
    # Wald interval on log(lambda) from the observed information, as lifelines' se
    se_log = ef.summary.loc["lambda_", "se(coef)"] / ef.lambda_
    assert math.log(m.hazard_ci_[1] / m.hazard_) == pytest.approx(
        1.959963984540054 * se_log, rel=1e-3
    )
    assert m.weibull_shape_ == pytest.approx(wf.rho_, rel=1e-5)
    assert m.weibull_scale_ == pytest.approx(wf.lambda_, rel=1e-5)
    assert m.weibull_log_likelihood_ >= wf.log_likelihood_ - 1e-6
    # the data has a constant hazard: the lag alone made it look like a rising one
    assert abs(m.weibull_shape_ - 1.0) < 0.08 < lagged.weibull_shape_ - 1.0


def test_fit_by_interval_censored():
    contacts, events, as_of = simulate_mailings(4000, 0.021, seed=16, every=4)
    d = durations_from(contacts, events, as_of=as_of)
    groups = np.where(np.arange(4000) % 2 == 0, "even", "odd")
    res = DecayModel.fit_by(d["duration"], d["event"], groups, last_good=d["last_good"])
    assert res.pooled.interval_censored_
    for name in ("even", "odd"):
        mask = groups == name
        alone = DecayModel().fit(
            d["duration"][mask], d["event"][mask], last_good=d["last_good"][mask]
        )
        assert res.table.loc[name, "monthly_rate"] == alone.monthly_rate_
        assert res.table.loc[name, "ci_low"] < 0.021 < res.table.loc[name, "ci_high"]
    assert not res.differ


def test_turnbull_is_kaplan_meier_without_intervals_and_self_consistent_with_them():
    t, e = simulate(1500, 0.03, seed=17)
    t = np.round(t, 1)
    tb = turnbull(t, np.where(e, t, np.inf), tol=1e-9).set_index("upper")["survival"]
    km = kaplan_meier(t, e).set_index("timeline")["survival"].iloc[1:]
    np.testing.assert_allclose(tb.loc[km.index], km, atol=1e-6)
    # interval-censored: the NPMLE's optimality (Kuhn-Tucker) conditions hold: every
    # innermost interval's gradient is <= 1, and == 1 where it carries mass
    contacts, events, as_of = simulate_mailings(1500, 0.021, seed=18, every=4)
    d = durations_from(contacts, events, as_of=as_of)
    lo = np.where(d["event"], d["last_good"], d["duration"])
    hi = np.where(d["event"], d["duration"], np.inf)
    res = turnbull(lo, hi, tol=1e-7)
    q_lo, q_hi, p = res["lower"].to_numpy(), res["upper"].to_numpy(), res["mass"].to_numpy()
    cover = (lo[:, None] <= q_lo[None, :]) & (q_hi[None, :] <= hi[:, None])
    grad = (cover / (cover @ p)[:, None]).sum(axis=0) / len(lo)
    assert grad.max() < 1 + 1e-4
    assert np.abs(grad[p > 1e-4] - 1).max() < 1e-4  # (tiny masses are still draining)
    assert p.sum() == pytest.approx(1.0) and (np.diff(res["survival"]) <= 1e-12).all()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        lf = lifelines.KaplanMeierFitter().fit_interval_censoring(lo, hi)
    # lifelines' EM stops earlier: ours is at least as likely
    s_lf = lf.survival_function_["NPMLE_estimate_lower"].reindex(
        q_hi[np.isfinite(q_hi)], method="ffill"
    )
    mass_lf = -np.diff(np.concatenate([[1.0], s_lf.to_numpy()]))
    mass_lf = np.concatenate([mass_lf, [max(0.0, 1 - mass_lf.sum())] * (len(p) - len(mass_lf))])
    cum = np.concatenate([[0.0], np.cumsum(mass_lf)])
    j_lo = np.searchsorted(q_lo, lo, side="left")
    j_hi = np.searchsorted(q_hi, hi, side="right")
    ll_lf = np.log(np.maximum(cum[j_hi] - cum[j_lo], 1e-300)).sum()
    assert res.attrs["log_likelihood"] >= ll_lf - 1e-6
    np.testing.assert_allclose(res["survival"][np.isfinite(q_hi)], s_lf.to_numpy(), atol=0.03)


def test_last_good_errors():
    with pytest.raises(InputError, match="between 0 and the duration"):
        DecayModel().fit([1.0, 2.0], [1, 1], last_good=[0.5, 3.0])
    with pytest.raises(InputError, match="one per duration"):
        DecayModel().fit([1.0, 2.0], [1, 1], last_good=[0.5])
    # censored rows' last_good is ignored; exact events (last_good == duration) are allowed
    m = DecayModel().fit([1.0, 2.0, 3.0], [1, 0, 1], last_good=[1.0, 99.0, 0.0])
    assert m.interval_censored_ and m.hazard_ > 0


# ------------------------------------------------------------------ cohorts
def test_wilson_interval_known_values():
    lo, hi = wilson_interval([0, 5], [10, 10])
    z2 = 1.959963984540054**2
    assert lo[0] == 0 and hi[0] == pytest.approx(z2 / (10 + z2))
    assert lo[1] == pytest.approx(1 - hi[1]) and lo[1] == pytest.approx(0.2365931, abs=1e-6)


def test_bounce_rate_by_cohort_counts():
    model = DecayModel(0.03)
    c = bounce_rate_by_cohort(CONTACTS, EVENTS, model=model, as_of="2025-06-30", bins=[0, 3, 6, 12])
    assert c["cohort"].tolist() == ["0-3", "3-6", "6-12"]
    # sends in the window (age in months of 365.25/12 days): Ann(10) 2024-02-01 1.02
    # delivered, 2024-07-01 5.98 hard; Ann(13) 2024-07-01 4.01 hard; Bob 2024-05-01 3.98
    # delivered; Cy 2024-07-01 0.99 delivered, 2024-09-01 3.02 soft (complaints are not sends)
    assert c["mailed"].tolist() == [2, 4, 0]
    assert c["hard_bounces"].tolist() == [0, 2, 0]
    assert c["contacts"].tolist() == [2, 4, 0]
    assert c.loc[1, "bounce_rate"] == pytest.approx(2 / 4)
    lo, hi = wilson_interval([2], [4])
    assert c.loc[1, "ci_low"] == pytest.approx(lo[0]) and c.loc[1, "ci_high"] == pytest.approx(
        hi[0]
    )
    month = pd.Timedelta(days=MONTH_DAYS)

    def age(a, b):
        return (pd.Timestamp(a) - pd.Timestamp(b)) / month

    ages = np.array(
        [
            age("2024-07-01", "2024-01-01"),
            age("2024-07-01", "2024-03-01"),
            age("2024-05-01", "2024-01-01"),
            age("2024-09-01", "2024-06-01"),
        ]
    )
    assert c.loc[1, "mean_age"] == pytest.approx(ages.mean())
    # expected: gone bad since the previous delivery (Ann(10): 2024-02-01, Cy: 2024-07-01)
    # or since the start (Ann(13)'s only delivery predates her start; Bob's first send)
    gaps = np.array(
        [age("2024-07-01", "2024-02-01"), ages[1], ages[2], age("2024-09-01", "2024-07-01")]
    )
    assert c.loc[1, "predicted"] == pytest.approx(model.decayed(gaps).mean())
    assert c["first_sends"].tolist() == [2, 2, 0]
    assert np.isnan(c.loc[2, "bounce_rate"]) and np.isnan(c.loc[2, "predicted"])
    vis = bounce_rate_by_cohort(
        CONTACTS, EVENTS, model=model, as_of="2025-06-30", bins=[0, 3, 6, 12], visibility=0.5
    )
    assert vis.loc[1, "predicted"] == pytest.approx(0.5 * c.loc[1, "predicted"])
    with pytest.raises(ConfigError, match="bins"):
        bounce_rate_by_cohort(CONTACTS, EVENTS, bins=[3, 1])


def test_cohorts_follow_the_model_on_simulated_mailings():
    contacts, events, as_of = simulate_mailings(6000, 0.021, seed=9)
    c = bounce_rate_by_cohort(contacts, events, as_of=as_of, bins=[0, 6, 12, 24, 36])
    assert (c["mailed"] > 0).all()
    assert c["cohort"].tolist() == ["0-6", "6-12", "12-24", "24-36"]
    # mailed monthly and suppressed after a bounce: each send bounces with about the
    # monthly rate at any age, and the model's per-send expectation says so
    assert (c["ci_low"] < 0.03).all() and (c["ci_high"] > 0.015).all()
    assert ((c["ci_low"] <= c["predicted"]) & (c["predicted"] <= c["ci_high"])).all()
    assert c["predicted"].between(0.005, 0.03).all()
    assert c["mailed"].sum() == len(events)


def test_first_mailing_of_an_old_list_bounces_like_the_decayed_share():
    """The 2008 list mailed in mid-2010: ages 18-30 months, first send, about 40% bounce."""
    rng = np.random.default_rng(12)
    n = 4000
    as_of = pd.Timestamp("2010-07-01", tz="UTC")
    age = rng.uniform(18, 30, n)
    start = as_of - pd.to_timedelta(age * MONTH_DAYS, unit="D")
    lam = -math.log1p(-0.021)
    bad = rng.exponential(1 / lam, n) < age
    emails = [f"wp{i}@example.net" for i in range(n)]
    contacts = pd.DataFrame({"email": emails, "acquired_at": start})
    events = pd.DataFrame(
        {"recipient": emails, "timestamp": as_of, "kind": np.where(bad, "hard", "delivered")}
    )
    c = bounce_rate_by_cohort(contacts, events, bins=[18, 30], as_of=as_of)
    assert c.loc[0, "first_sends"] == c.loc[0, "mailed"] == n
    assert c.loc[0, "ci_low"] < c.loc[0, "predicted"] < c.loc[0, "ci_high"]
    assert c.loc[0, "predicted"] == pytest.approx(0.40, abs=0.01)
    assert c.loc[0, "bounce_rate"] == pytest.approx(0.40, abs=0.03)


def test_docstring_examples():
    import doctest

    import listcare.decay

    result = doctest.testmod(listcare.decay)
    assert result.attempted >= 5 and result.failed == 0


def test_distribution_helpers_equal_scipy_stats():
    """The fits use scipy.special directly (scipy.stats costs half a second to import)."""
    from scipy import stats

    from listcare import decay as d

    for p in (0.5, 0.9, 0.95, 0.975, 0.999):
        assert d._norm_ppf(p) == pytest.approx(stats.norm.ppf(p), rel=1e-12)
        for df in (1, 2, 5):
            assert d._chi2_ppf(p, df) == pytest.approx(stats.chi2.ppf(p, df), rel=1e-9)
    for x in (0.1, 1.0, 3.84, 10.0, 50.0):
        for df in (1, 2, 5):
            assert d._chi2_sf(x, df) == pytest.approx(stats.chi2.sf(x, df), rel=1e-12, abs=1e-300)


def test_series_inputs_are_aligned_by_index_not_position():
    """Pandas users pass columns that may have been sorted differently: the flags must
    follow their contacts' labels, as pandas aligns them."""
    rng = np.random.default_rng(7)
    n = 4_000
    t = pd.Series(rng.exponential(30, n))
    e = pd.Series(rng.random(n) < 0.6)
    groups = pd.Series(np.where(np.arange(n) % 2 == 0, "a", "b"))
    e[groups == "a"] = rng.random(int((groups == "a").sum())) < 0.9
    ref = DecayModel.fit_by(t, e, groups)
    order = t.sort_values().index  # the same labels, another order
    got = DecayModel.fit_by(t.loc[order], e, groups.sample(frac=1, random_state=1))
    assert got.table["monthly_rate"].tolist() == pytest.approx(ref.table["monthly_rate"].tolist())
    single = DecayModel().fit(t.loc[order], e)
    assert single.monthly_rate_ == pytest.approx(DecayModel().fit(t, e).monthly_rate_)
    with pytest.raises(InputError, match="different index labels"):
        DecayModel().fit(t, e.set_axis(e.index + 1))


# ---------------------------------------------------------------- one date reader
def test_durations_from_reads_dates_as_the_rest_of_listcare_does():
    """The decay functions read list dates with listcare.dates (as the policy and the
    planner do): a slashed column's order from its own evidence, dotted day-first with
    two-digit years, and a time of day without a date is not a date (no hidden clock)."""
    events = pd.DataFrame({"recipient": [], "timestamp": pd.to_datetime([], utc=True), "kind": []})
    slashed = pd.DataFrame({"email": ["a@x.org", "b@x.org", "c@x.org"],
                            "acquired_at": ["13/01/2024", "05/02/2024", "01/03/2024"]})
    d = durations_from(slashed, events, as_of="2026-11-01")
    assert d["start"].dt.strftime("%Y-%m-%d").tolist() == ["2024-01-13", "2024-02-05", "2024-03-01"]
    dotted = pd.DataFrame({"email": ["a@x.org", "b@x.org"], "acquired_at": ["05.02.24", "13.01.24"]})
    d = durations_from(dotted, events, as_of="2026-11-01")
    assert d["start"].dt.strftime("%Y-%m-%d").tolist() == ["2024-02-05", "2024-01-13"]
    clock = pd.DataFrame({"email": ["a@x.org"], "acquired_at": ["12:00"]})
    with pytest.raises(InputError, match="no usable 'acquired_at'"):
        durations_from(clock, events, as_of="2026-11-01")


def test_a_dotted_as_of_is_day_first_and_an_ambiguous_slashed_one_is_refused():
    from listcare.dates import timestamp

    assert timestamp("01.11.2026") == pd.Timestamp("2026-11-01")
    assert timestamp("13/01/2026") == pd.Timestamp("2026-01-13")
    with pytest.raises(ConfigError, match="write the date as YYYY-MM-DD"):
        timestamp("01/11/2026")
    events = pd.DataFrame({"recipient": [], "timestamp": pd.to_datetime([], utc=True), "kind": []})
    c = pd.DataFrame({"email": ["a@x.org"], "acquired_at": ["2026-01-20"]})
    d = durations_from(c, events, as_of="01.11.2026")  # 1 November, not 11 January
    assert d.loc[0, "end"] == pd.Timestamp("2026-11-01", tz="UTC")
    with pytest.raises(ConfigError, match="could be day 1 of month 11"):
        durations_from(c, events, as_of="01/11/2026")


# ---------------------------------------------------------------- degenerate fits
def test_a_list_imported_on_one_day_fits_without_overflow_and_no_fake_weibull_shape():
    rng = np.random.default_rng(7)
    n = 300
    duration = 24.0 + rng.uniform(0.0, 0.1, n)  # one import day, one campaign over 3 days
    event = rng.random(n) < 0.2
    for kw in ({}, {"last_good": np.where(event, 0.0, duration)}):
        with pytest.warns(RuntimeWarning, match="Weibull shape cannot be estimated"):
            m = DecayModel().fit(duration, event, **kw)
        assert math.isnan(m.weibull_shape_) and math.isnan(m.weibull_p_value_)
        assert 0.0 < m.monthly_rate_ < 1.0  # the exponential rate stands
        assert m.summary is not None
    with pytest.warns(RuntimeWarning):
        assert math.isnan(DecayModel().fit([5.0], [True]).weibull_shape_)


def test_ages_as_time_differences_are_converted_to_months():
    m = DecayModel(0.021)
    ages = pd.Timestamp("2026-11-01", tz="UTC") - pd.Series(
        pd.to_datetime(["2025-11-01", "2026-05-01"], utc=True)
    )
    months = (ages.dt.days / MONTH_DAYS).to_numpy()
    assert m.decayed(ages).tolist() == pytest.approx(m.decayed(months).tolist())
    assert m.expected_bounce_rate(ages) == pytest.approx(m.expected_bounce_rate(months))
    assert m.decayed(pd.Timedelta(days=365)) == pytest.approx(m.decayed(365 / MONTH_DAYS))
    assert m.decayed(ages).max() < 0.25  # not "all gone" (nanoseconds read as months)


def test_bad_alpha_and_visibility_are_listcare_errors():
    with pytest.raises(ConfigError, match="alpha must be a number"):
        DecayModel().fit([1.0, 2.0], [True, False], alpha="x")
    with pytest.raises(ConfigError, match="visibility must be a share"):
        DecayModel(0.021).expected_bounce_rate([1.0], visibility="x")


def test_the_same_evidence_twice_counts_once():
    """Two read_bounces results pasted together share their event_ids: one event each."""
    events = EVENTS.assign(event_id=[f"e{i}" for i in range(len(EVENTS))])
    twice = pd.concat([events, events], ignore_index=True)
    once = bounce_rate_by_cohort(CONTACTS, events, as_of="2025-06-30")
    again = bounce_rate_by_cohort(CONTACTS, twice, as_of="2025-06-30")
    pd.testing.assert_frame_equal(once, again)
    assert once["mailed"].sum() > 0
    pd.testing.assert_frame_equal(
        durations_from(CONTACTS, events, as_of="2025-06-30"),
        durations_from(CONTACTS, twice, as_of="2025-06-30"),
    )


def test_fit_by_names_no_fastest_group_when_none_stands_out():
    t = np.array([1.0, 2.0, 3.0, 4.0])
    g = np.array(["a", "a", "b", "b"])
    assert DecayModel.fit_by(t, np.zeros(4, dtype=bool), g).fastest is None  # no bounce yet
    assert DecayModel.fit_by(t, np.array([True, False, False, False]), g).fastest == "a"
