"""Charts: rendered with Agg, checked for what they draw."""

from __future__ import annotations

import subprocess
import sys

import matplotlib
import numpy as np
import pandas as pd
import pytest

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.container import ErrorbarContainer  # noqa: E402

from listcare import DecayModel, bounce_rate_by_cohort  # noqa: E402
from listcare.plotting import pct, plot_decay_vs_bounce, plot_events, plot_survival  # noqa: E402
from tests.test_decay import simulate, simulate_mailings  # noqa: E402


@pytest.fixture(autouse=True)
def _close():
    yield
    plt.close("all")


@pytest.fixture(scope="module")
def fitted():
    contacts, events, as_of = simulate_mailings(3000, 0.021, seed=30)
    from listcare import durations_from

    d = durations_from(contacts, events, as_of=as_of)
    model = DecayModel().fit(d["duration"], d["event"])
    cohorts = bounce_rate_by_cohort(contacts, events, model=model, as_of=as_of)
    return model, cohorts, events


def _texts(ax):
    return " ".join(t.get_text() for t in ax.texts)


def test_decay_vs_bounce_draws_model_band_cohorts_and_figures(fitted):
    model, cohorts, _ = fitted
    ax = plot_decay_vs_bounce(model, cohorts)
    ax.figure.canvas.draw()
    line = ax.lines[0]
    x, y = line.get_data()
    np.testing.assert_allclose(y, model.decayed(x))
    assert "model:" in line.get_label()
    # the confidence band brackets the curve
    band = [c for c in ax.collections if "confidence band" in c.get_label()]
    assert len(band) == 1
    verts = band[0].get_paths()[0].vertices
    assert verts[:, 1].max() >= y.max() - 1e-9
    # one error bar per mailed cohort, at its mean age and bounce rate
    bars = [c for c in ax.containers if isinstance(c, ErrorbarContainer)]
    assert len(bars) == 1
    px, py = bars[0].lines[0].get_data()
    mailed = cohorts[cohorts["mailed"] > 0]
    np.testing.assert_allclose(px, mailed["mean_age"])
    np.testing.assert_allclose(py, mailed["bounce_rate"])
    text = _texts(ax)
    assert f"{pct(model.monthly_rate)} a month" in text and pct(0.01852) == "1.85%"
    assert f"{model.annual_rate:.1%} a year compounded" in text
    assert f"{model.annual_rate_simple:.1%} as 12 x monthly" in text
    assert "ages 18-30 months" in text
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert any("bounced ~40%" in lab for lab in labels)
    assert "list age" in ax.get_xlabel()
    bench = [ln for ln in ax.lines if ln.get_label().startswith("benchmark")]
    assert len(bench) == 1 and bench[0].get_linestyle() == "--"
    bx, by = bench[0].get_data()
    np.testing.assert_allclose(by, DecayModel(0.021).decayed(bx))


def test_decay_vs_bounce_benchmark_model_without_cohorts_on_given_axes():
    fig, ax = plt.subplots()
    out = plot_decay_vs_bounce(DecayModel(), ax=ax, max_months=48)
    assert out is ax
    assert ax.get_xlim() == (0.0, 48.0)
    assert not [c for c in ax.containers if isinstance(c, ErrorbarContainer)]
    assert not [c for c in ax.collections if "confidence band" in c.get_label()]
    assert not [ln for ln in ax.lines if ln.get_label().startswith("benchmark")]
    assert "2.1% a month" in _texts(ax) and "22.5% a year compounded" in _texts(ax)
    assert "model expects 40%" in _texts(ax)
    # the reported 40% point of the 2008 list
    star = [ln for ln in ax.lines if "2008" in ln.get_label()][0]
    assert star.get_ydata()[0] == pytest.approx(0.40)


def test_plot_survival_draws_fit_and_kaplan_meier_steps():
    model = DecayModel().fit(*simulate(800, 0.03, seed=31))
    ax = plot_survival(model)
    fit_line, km_line = ax.lines[0], ax.lines[1]
    x, y = fit_line.get_data()
    np.testing.assert_allclose(y, model.survival(x))
    assert km_line.get_label() == "Kaplan-Meier (observed)"
    assert km_line.get_drawstyle() == "steps-post"
    np.testing.assert_allclose(km_line.get_ydata(), model.km_["survival"])
    assert "Weibull shape" in _texts(ax) and f"{model.n_:,} contacts" in _texts(ax)


def test_plot_survival_interval_censored_shows_turnbull(fitted):
    contacts, events, as_of = simulate_mailings(1500, 0.021, seed=32, every=4)
    from listcare import durations_from

    d = durations_from(contacts, events, as_of=as_of)
    model = DecayModel().fit(d["duration"], d["event"], last_good=d["last_good"])
    ax = plot_survival(model)
    labels = [ln.get_label() for ln in ax.lines]
    assert any(lab.startswith("observed (Turnbull") for lab in labels)
    assert any("lags the decay" in lab for lab in labels)
    tb_line = [ln for ln in ax.lines if ln.get_label().startswith("observed (Turnbull")][0]
    ys = tb_line.get_ydata()
    assert ys[0] == 1.0 and (np.diff(ys) <= 1e-12).all()
    finite = np.isfinite(model.turnbull_["upper"])
    np.testing.assert_allclose(ys[1:], model.turnbull_["survival"][finite])


def test_plot_events_counts_bounces_by_kind():
    events = pd.DataFrame(
        {
            "timestamp": pd.to_datetime(
                [
                    "2025-01-03",
                    "2025-01-20",
                    "2025-02-02",
                    "2025-02-05",
                    "2025-02-07",
                    "2025-03-01",
                ],
                utc=True,
            ),
            "kind": ["hard", "hard", "soft", "hard", "delivered", "block"],
        }
    )
    ax = plot_events(events, freq="MS")
    by_label = {ln.get_label(): ln for ln in ax.lines}
    assert set(by_label) == {"hard (3)", "soft (1)", "block (1)"}  # delivered is not a bounce
    assert by_label["hard (3)"].get_ydata().tolist() == [2, 1, 0]
    assert "by kind" in ax.get_title() and ax.get_ylabel() == "events per month"
    # two months of events: counted per day by default, days without events at 0
    daily = plot_events(events.assign(kind=["hard", "hard", "deferred", "hard", "soft", "soft"]))
    assert daily.get_ylabel() == "events per day"
    lines = {ln.get_label(): ln for ln in daily.lines}
    assert set(lines) == {"hard (3)", "soft (2)"}  # deferred is a delay, not a bounce
    assert (
        len(lines["hard (3)"].get_ydata())
        == (pd.Timestamp("2025-03-01") - pd.Timestamp("2025-01-03")).days + 1
    )
    assert sum(lines["hard (3)"].get_ydata()) == 3


def test_import_does_not_load_matplotlib():
    code = "import listcare, listcare.decay, listcare.funnel, listcare.plotting, sys; print('matplotlib.pyplot' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_cohorts_of_another_model_are_labelled_and_warned_about(fitted):
    """Cohorts computed with the benchmark drawn beside a fitted curve: the chart must
    not present the two as one model."""
    model, cohorts, _ = fitted
    assert cohorts.attrs["monthly_rate"] == pytest.approx(model.monthly_rate)
    other = DecayModel(0.03)
    with pytest.warns(UserWarning, match="pass model="):
        ax = plot_decay_vs_bounce(other, cohorts)
    labels = ax.get_legend_handles_labels()[1]
    assert any(f"{model.monthly_rate:.2%}/month" in lab for lab in labels)
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        plot_decay_vs_bounce(model, cohorts)  # the same model: no warning


def test_the_legend_stays_inside_a_callers_figure_without_a_layout_engine():
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots()  # no layout engine: nothing outside the axes survives savefig
    plot_decay_vs_bounce(DecayModel(), ax=ax)
    fig.canvas.draw()
    legend = ax.get_legend().get_window_extent()
    assert fig.bbox.contains(legend.x0, legend.y0) and fig.bbox.contains(legend.x1, legend.y1)
    own = plot_decay_vs_bounce(DecayModel())  # our own figure: below the plot, room made
    assert own.figure.get_layout_engine() is not None


def test_plot_events_reads_text_dates_as_listcare_does_and_names_a_bad_freq():
    from listcare import ConfigError
    from listcare.plotting import plot_events

    ev = pd.DataFrame({"timestamp": ["01.06.2026", "13.06.2026", "02.06.2026"],
                       "kind": ["hard", "soft", "hard"]})
    ax = plot_events(ev)
    lo, hi = (matplotlib.dates.num2date(x).date() for x in ax.get_xlim())
    assert lo <= pd.Timestamp("2026-06-01").date() and hi >= pd.Timestamp("2026-06-13").date()
    assert hi < pd.Timestamp("2026-07-01").date()  # June, not January-December
    plt.close(ax.figure)
    # slashed: the column's own evidence (13/06) makes it day-first, as in a contact list
    ev2 = ev.assign(timestamp=["01/06/2026", "13/06/2026", "02/06/2026"])
    ax = plot_events(ev2)
    assert [matplotlib.dates.num2date(x).month for x in ax.get_xlim()] == [5, 6] or all(
        matplotlib.dates.num2date(x).month == 6 for x in ax.get_xlim()
    )
    plt.close(ax.figure)
    with pytest.raises(ConfigError, match="not a pandas frequency"):
        plot_events(ev, freq="fortnight")
