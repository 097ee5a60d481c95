"""Charts (the only module that imports matplotlib; pyplot is imported when a chart is drawn).

Every function takes ``ax=None`` (a new figure is made when omitted) and returns ``ax``.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd

from .dates import parse_dates
from .exceptions import ConfigError
from .schema import require_columns

_COLOURS = {
    "model": "#1f4e79",
    "band": "#9dc3e6",
    "observed": "#c00000",
    "km": "#404040",
    "anecdote": "#7f6000",
}
_KIND_COLOURS = {
    "hard": "#c00000",
    "soft": "#ed7d31",
    "block": "#7030a0",
    "complaint": "#000000",
    "deferred": "#a5a5a5",
    "unsubscribe": "#70ad47",
    "auto_reply": "#5b9bd5",
    "delivered": "#2e75b6",
}


def pct(share: float) -> str:
    """A share as a percentage with up to two decimals: 0.021 -> '2.1%', 0.01852 -> '1.85%'."""
    text = f"{share * 100:.2f}".rstrip("0").rstrip(".")
    return f"{text}%"


def _axes(ax, figsize=(9, 6)):
    if ax is not None:
        return ax
    import matplotlib.pyplot as plt

    _, ax = plt.subplots(figsize=figsize, layout="constrained")
    return ax


def _percent_axis(axis) -> None:
    from matplotlib.ticker import PercentFormatter

    axis.set_major_formatter(PercentFormatter(1.0, decimals=0))


def plot_decay_vs_bounce(
    model,
    cohorts: pd.DataFrame | None = None,
    ax=None,
    *,
    max_months: float | None = None,
    visibility: float = 1.0,
    anecdote: bool = True,
    benchmark: bool = True,
):
    """The headline chart: share of a list gone bad against its age, and observed bounces.

    Draws the model's decayed share (times *visibility*) over list age with its confidence
    band (fitted models): what a list mailed for the first time at that age would bounce;
    the observed bounce rate of each cohort of :func:`listcare.bounce_rate_by_cohort` at
    its mean age with Wilson error bars and the model's expectation for those same sends
    (hollow diamonds; below the curve when the contacts were mailed and cleaned since), the
    monthly/annual figures in a text box, and (``anecdote=True``) the classic reference:
    a list whose contacts are 18-30 months old (a 2008 list mailed in mid-2010) bounced
    about 40%; the model's expectation for those ages is marked next to it. With
    ``benchmark=True`` a model whose rate is not 2.1% a month is drawn next to the
    2.1%-a-month benchmark curve (dashed).
    """
    if not 0.0 <= float(visibility) <= 1.0:
        raise ConfigError(f"visibility must be between 0 and 1, got {visibility!r}.")
    ax = _axes(ax)
    if cohorts is not None:
        require_columns(
            cohorts, ["mean_age", "bounce_rate", "ci_low", "ci_high"], what="cohort table"
        )
        cohorts = (
            cohorts[cohorts["mailed"] > 0]
            if "mailed" in cohorts.columns
            else cohorts.dropna(subset=["bounce_rate"])
        )
    if max_months is None:
        top = 36.0
        if cohorts is not None and len(cohorts):
            top = max(top, float(np.nanmax(cohorts["mean_age"])) * 1.1)
        max_months = top
    t = np.linspace(0.0, float(max_months), 400)
    v = float(visibility)
    label = f"model: share gone bad by that age ({pct(model.monthly_rate)} a month)"
    if v < 1:
        label += f" x {v:.0%} visible"
    ax.plot(
        t, v * np.asarray(model.decayed(t)), color=_COLOURS["model"], lw=2.5, label=label, zorder=3
    )
    if benchmark and abs(model.monthly_rate - 0.021) > 5e-5:
        from .decay import DecayModel

        ax.plot(
            t,
            v * np.asarray(DecayModel(0.021).decayed(t)),
            color="#7f7f7f",
            lw=1.3,
            ls="--",
            label="benchmark: 2.1% a month (MarketingSherpa)",
            zorder=2,
        )
    if getattr(model, "is_fitted", False):
        lo, hi = model.decayed_ci(t)
        level = 1 - model.alpha
        ax.fill_between(
            t,
            v * np.asarray(lo),
            v * np.asarray(hi),
            color=_COLOURS["band"],
            alpha=0.5,
            lw=0,
            label=f"{level:.0%} confidence band",
            zorder=2,
        )
    if cohorts is not None and len(cohorts):
        y = cohorts["bounce_rate"].to_numpy(float)
        yerr = np.vstack(
            [y - cohorts["ci_low"].to_numpy(float), cohorts["ci_high"].to_numpy(float) - y]
        )
        ax.errorbar(
            cohorts["mean_age"].to_numpy(float),
            y,
            yerr=np.clip(yerr, 0, None),
            fmt="o",
            color=_COLOURS["observed"],
            ecolor=_COLOURS["observed"],
            capsize=4,
            ms=7,
            label="observed hard-bounce rate (95% interval)",
            zorder=4,
        )
        if "predicted" in cohorts.columns:
            label = "model's expectation for those mailings"
            own = cohorts.attrs.get("monthly_rate")
            if own is not None and not np.isclose(own, model.monthly_rate, rtol=1e-9, atol=0):
                # the cohorts were computed with another model than the curve's: say so
                # on the chart (and to the caller) instead of mixing the two unlabelled
                warnings.warn(
                    f"The cohorts' expectations were computed at {own:.2%} a month, the "
                    f"curve is {model.monthly_rate:.2%}: pass model= to the cohorts call "
                    "to compare like with like.",
                    UserWarning,
                    stacklevel=2,
                )
                label = f"expectation at {own:.2%}/month for those mailings"
            ax.plot(
                cohorts["mean_age"].to_numpy(float),
                cohorts["predicted"].to_numpy(float),
                "D",
                mfc="none",
                mec=_COLOURS["model"],
                ms=8,
                mew=1.5,
                label=label,
                zorder=4,
            )
    if anecdote:
        ages = np.linspace(18.0, 30.0, 121)
        expected = v * model.expected_bounce_rate(ages)
        ax.axvspan(18.0, 30.0, color=_COLOURS["anecdote"], alpha=0.08, lw=0, zorder=1)
        ax.plot(
            [24.0],
            [0.40],
            marker="*",
            ms=15,
            color=_COLOURS["anecdote"],
            ls="none",
            label="reported: a 2008 list mailed in mid-2010 bounced ~40%",
            zorder=5,
        )
        ax.annotate(
            f"model expects {expected:.0%}\nfor ages 18-30 months",
            xy=(24.0, expected),
            xytext=(24.0 + 0.12 * max_months, max(0.05, expected - 0.12)),
            arrowprops={"arrowstyle": "->", "color": _COLOURS["anecdote"]},
            color=_COLOURS["anecdote"],
            fontsize=9,
        )
    half = model.half_life_months
    text = (
        f"{pct(model.monthly_rate)} a month\n"
        f"= {model.annual_rate:.1%} a year compounded\n"
        f"({model.annual_rate_simple:.1%} as 12 x monthly)\n"
        f"half of the list gone after {half:.0f} months"
        if math.isfinite(half)
        else "no decay"
    )
    if getattr(model, "is_fitted", False):
        lo, hi = model.monthly_rate_ci_
        text += f"\nfitted: {lo:.2%} to {hi:.2%} a month ({1 - model.alpha:.0%} CI)"
    ax.text(
        0.02,
        0.97,
        text,
        transform=ax.transAxes,
        va="top",
        ha="left",
        fontsize=9.5,
        bbox={"boxstyle": "round", "facecolor": "white", "edgecolor": "#bfbfbf"},
    )
    ax.set_xlim(0, max_months)
    ymax = max(0.5, float(v * model.decayed(max_months)) * 1.1)
    if cohorts is not None and len(cohorts):
        ymax = max(ymax, float(np.nanmax(cohorts["ci_high"])) * 1.1)
    ax.set_ylim(0, min(1.0, ymax))
    ax.set_xlabel("list age (months since the contact was acquired)")
    ax.set_ylabel("share of contacts gone bad / hard-bounce rate")
    _percent_axis(ax.yaxis)
    ax.set_title("List decay: the older the list, the more it bounces")
    ax.grid(alpha=0.3)
    if ax.figure.get_layout_engine() is not None:
        # below the plot, where it hides nothing: a layout engine makes room for it
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.12), ncol=2, fontsize=8.5, frameon=False)
    else:
        # the caller's figure makes no room outside the axes: a legend below would be cut
        # off when it is saved without bbox_inches="tight"
        ax.legend(loc="upper left", fontsize=8, framealpha=0.9)
    return ax


def plot_survival(model, ax=None, *, max_months: float | None = None):
    """Share of contacts still good over time: the fitted curve (and band) and Kaplan-Meier steps."""
    ax = _axes(ax)
    fitted = getattr(model, "is_fitted", False)
    if max_months is None:
        max_months = float(model.km_["timeline"].max()) if fitted else 48.0
        max_months = max(max_months, 1.0)
    t = np.linspace(0.0, max_months, 400)
    ax.plot(
        t,
        np.asarray(model.survival(t)),
        color=_COLOURS["model"],
        lw=2.5,
        label=f"exponential fit: {pct(model.monthly_rate)} a month",
        zorder=3,
    )
    if fitted:
        lo, hi = model.decayed_ci(t)
        ax.fill_between(
            t,
            1 - np.asarray(hi),
            1 - np.asarray(lo),
            color=_COLOURS["band"],
            alpha=0.5,
            lw=0,
            label=f"{1 - model.alpha:.0%} confidence band",
            zorder=2,
        )
        km = model.km_
        tb = getattr(model, "turnbull_", None)
        if tb is None:
            ax.step(
                km["timeline"],
                km["survival"],
                where="post",
                color=_COLOURS["km"],
                lw=1.3,
                label="Kaplan-Meier (observed)",
                zorder=4,
            )
            ax.fill_between(
                km["timeline"],
                km["ci_low"],
                km["ci_high"],
                step="post",
                color=_COLOURS["km"],
                alpha=0.12,
                lw=0,
                zorder=1,
            )
        else:
            # a bounce shows when the contact is next mailed: Kaplan-Meier on the bounce
            # dates lags the decay; Turnbull's estimate uses when it was last known good
            ax.step(
                km["timeline"],
                km["survival"],
                where="post",
                color=_COLOURS["km"],
                lw=1.0,
                ls=":",
                label="Kaplan-Meier on the bounce dates (lags the decay)",
                zorder=4,
            )
            x = np.concatenate([[0.0], tb["upper"].to_numpy(float)])
            y = np.concatenate([[1.0], tb["survival"].to_numpy(float)])
            finite = np.isfinite(x)
            ax.step(
                x[finite],
                y[finite],
                where="post",
                color=_COLOURS["km"],
                lw=1.6,
                label="observed (Turnbull, from last delivery to bounce)",
                zorder=4,
            )
        if math.isfinite(model.weibull_shape_):
            lo_k, hi_k = model.weibull_shape_ci_
            ax.text(
                0.98,
                0.97,
                f"Weibull shape {model.weibull_shape_:.2f} ({lo_k:.2f} to {hi_k:.2f})\n"
                f"constant hazard test: p = {model.weibull_p_value_:.3g}\n"
                f"{model.n_:,} contacts, {model.events_:,} hard bounces",
                transform=ax.transAxes,
                va="top",
                ha="right",
                fontsize=9,
                bbox={"boxstyle": "round", "facecolor": "white", "edgecolor": "#bfbfbf"},
            )
    ax.set_xlim(0, max_months)
    ax.set_ylim(0, 1.02)
    ax.set_xlabel("months since the contact was acquired")
    ax.set_ylabel("share of contacts still good")
    _percent_axis(ax.yaxis)
    ax.set_title("Survival of contacts")
    ax.grid(alpha=0.3)
    ax.legend(loc="lower left", fontsize=9)
    return ax


def _auto_freq(ts: pd.Series) -> tuple[str, str]:
    span = ts.max() - ts.min() if len(ts) else pd.Timedelta(0)
    if span <= pd.Timedelta(days=92):
        return "D", "day"
    if span <= pd.Timedelta(days=730):
        return "W-MON", "week"
    return "MS", "month"


def plot_events(events: pd.DataFrame, ax=None, *, freq: str | None = None, kinds=None):
    """Bounces over time by kind: one line per kind, events counted per period.

    *freq* is a pandas frequency ("D", "W-MON", "MS"); by default a day for up to three
    months of events, a week for up to two years, else a month. *kinds* defaults to
    every kind present except ``delivered`` and ``deferred`` (a delay, not a bounce;
    pass ``kinds=`` to include them).
    """
    require_columns(events, ["timestamp", "kind"], what="events table")
    ax = _axes(ax)
    # (the one date reader: dotted day-first, a slashed column's order from its evidence)
    ns, _bad = parse_dates(events["timestamp"])
    ts = pd.Series(ns.view("M8[ns]"), index=events.index)  # (naive UTC; NAT is NaT)
    kind = events["kind"].astype("string")
    if kinds is None:
        present = kind.dropna().unique().tolist()
        order = list(_KIND_COLOURS)
        kinds = sorted(
            (k for k in present if k not in ("delivered", "deferred")),
            key=lambda k: order.index(k) if k in order else 99,
        )
    frame = pd.DataFrame({"timestamp": ts, "kind": kind})
    frame = frame[frame["kind"].isin(list(kinds)) & frame["timestamp"].notna()]
    if freq is not None:
        try:
            pd.tseries.frequencies.to_offset(freq)
        except (TypeError, ValueError):
            raise ConfigError(
                f"freq={freq!r} is not a pandas frequency such as 'D', 'W-MON' or 'MS'."
            ) from None
    if freq is None:
        freq, unit = _auto_freq(frame["timestamp"])
    else:
        unit = {
            "D": "day",
            "W": "week",
            "W-MON": "week",
            "MS": "month",
            "M": "month",
            "ME": "month",
        }.get(freq, freq)
    if frame.empty:
        ax.text(
            0.5, 0.5, "no bounces in this period", transform=ax.transAxes, ha="center", va="center"
        )
    else:
        counts = (
            frame.groupby([pd.Grouper(key="timestamp", freq=freq), "kind"])
            .size()
            .unstack(fill_value=0)
        )
        full = pd.date_range(counts.index.min(), counts.index.max(), freq=freq)
        counts = counts.reindex(full, fill_value=0)
        for k in kinds:
            if k in counts.columns:
                ax.plot(
                    counts.index,
                    counts[k].to_numpy(),
                    marker="o",
                    ms=3.5,
                    lw=1.6,
                    color=_KIND_COLOURS.get(k),
                    label=f"{k} ({int(counts[k].sum()):,})",
                )
        ax.legend(title="kind (total)", fontsize=9)
        ax.figure.autofmt_xdate()
    ax.set_xlabel(unit)
    ax.set_ylabel(f"events per {unit}")
    ax.set_title("Bounces over time by kind")
    ax.grid(alpha=0.3)
    ax.set_ylim(bottom=0)
    return ax


__all__ = ["plot_decay_vs_bounce", "plot_survival", "plot_events"]

# ---- cadence ----


def plot_cadence(plan, ax=None):
    """Daily volume of a cadence plan stacked by reason, the capacity, and expected bounces.

    *plan* is what :func:`listcare.plan_cadence` returns (its ``daily`` table is drawn).
    Bars: emails per send day by reason (due, overdue, reconfirm; phone calls on top if
    any); dashed line: the daily capacity; red line (right axis): expected hard bounces.
    """
    daily = getattr(plan, "daily", None)
    if daily is None:
        raise ConfigError("plot_cadence needs a plan from listcare.plan_cadence (it has .daily).")
    ax = _axes(ax, figsize=(10, 5.5))
    colours = {"due": "#2e75b6", "overdue": "#ed7d31", "reconfirm": "#7030a0", "phone": "#a9d18e"}
    x = daily.index
    width = 0.8
    bottom = np.zeros(len(daily))
    for name in ("due", "overdue", "reconfirm", "phone"):
        values = daily[name].to_numpy(dtype=float)
        if values.sum() == 0:
            continue
        label = "phone follow-ups" if name == "phone" else name
        ax.bar(
            x,
            values,
            width=width,
            bottom=bottom,
            color=colours[name],
            label=f"{label} ({int(values.sum()):,})",
        )
        bottom += values
    cap = daily["capacity"]
    if cap.notna().any():
        ax.step(
            x,
            cap.astype("float64").to_numpy(),
            where="mid",
            ls="--",
            color="#404040",
            lw=1.2,
            label=f"capacity ({int(cap.max()):,}/day)",
        )
    ax.set_ylim(bottom=0)
    peak = float(bottom.max()) if len(bottom) else 0.0
    if peak > 0 and cap.notna().any() and float(cap.max()) > 4 * peak:
        # a capacity far above the plan's volume would flatten the bars to nothing: the
        # axis follows the sends, and the legend still names the capacity
        ax.set_ylim(0, 1.25 * peak)
    ax.set_ylabel("sends per day")
    ax.set_xlabel("send day")
    days = int(plan.interval / pd.Timedelta(days=1))
    ax.set_title(
        f"Cadence plan as of {pd.Timestamp(plan.as_of).date()}: every {days} days, "
        f"{plan.content_budget} campaigns a year"
    )
    ax.grid(axis="y", alpha=0.3)
    right = ax.twinx()
    right.plot(
        x,
        daily["expected_hard_bounces"].to_numpy(),
        color="#c00000",
        lw=1.6,
        label=f"expected hard bounces ({daily['expected_hard_bounces'].sum():,.0f})",
    )
    right.set_ylabel("expected hard bounces per day", color="#c00000")
    right.set_ylim(bottom=0)
    handles, labels = ax.get_legend_handles_labels()
    h2, l2 = right.get_legend_handles_labels()
    ax.legend(handles + h2, labels + l2, fontsize=9, loc="upper right")
    ax.figure.autofmt_xdate()
    return ax


__all__.append("plot_cadence")
