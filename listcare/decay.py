"""List decay as a survival model with a constant monthly hazard.

The widely quoted figure (MarketingSherpa) is 2.1% of contacts going bad per month:
S(t) = (1 - m) ** t, so a year loses 1 - 0.979 ** 12 = 22.5% (compounded), which people
round to "about 25%" (12 x 2.1% = 25.2% without compounding). A 2008 list mailed in
mid-2010 has contacts 18 to 30 months old; at 2.1% a month the model expects
1 - mean(0.979 ** t) = 40% of them to be gone, the bounce rate that sender reported.

Fitting follows lifelines: ``fit`` returns self, fitted attributes end in ``_`` and
``summary`` is a DataFrame. Durations are in months (1 month = 365.25 / 12 days).
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field
from datetime import timedelta

import numpy as np
import pandas as pd

from .dates import parse_dates, timestamp
from .exceptions import ColumnError, ConfigError, InputError, sample
from .schema import EMAIL_COLUMN_NAMES, require_columns

DEFAULT_MONTHLY_RATE = 0.021
#: days in an average Gregorian month; durations and ages are measured in these months
MONTH_DAYS = 365.25 / 12.0
_NS_PER_MONTH = MONTH_DAYS * 86_400 * 1_000_000_000


# The few distribution functions the fits need, from scipy.special (its cephes kernels,
# the ones scipy.stats calls): importing scipy.stats costs the nightly job half a second.
def _norm_ppf(p: float) -> float:
    from scipy import special

    return float(special.ndtri(p))


def _chi2_sf(x, df):
    from scipy import special

    return special.chdtrc(df, x)


def _chi2_ppf(p: float, df) -> float:
    from scipy import special

    return float(special.chdtri(df, 1.0 - p))
#: the Weibull fit needs t > 0; a duration of exactly 0 (a hard bounce at the moment of
#: acquisition) is taken as half a day, or as the shortest positive duration if that is
#: shorter (timestamps of list imports are rarely finer than a day)
_WEIBULL_MIN_MONTHS = 0.5 / MONTH_DAYS
#: Weibull shapes outside this range are no estimate but a likelihood that keeps rising
#: (durations nearly all the same length, e.g. a list imported on one day and mailed
#: once, or a single event): reported as NaN, with a warning, not as shape 1e8
_WEIBULL_SHAPE_RANGE = (0.05, 20.0)
#: largest number of durations for which an interval-censored fit also computes Turnbull
TURNBULL_MAX_N = 100_000
#: resolution of that Turnbull estimate (quantiles of the interval end points)
TURNBULL_GRID = 400
#: default age cohorts of :func:`bounce_rate_by_cohort`, in months
DEFAULT_BINS = (0, 3, 6, 12, 18, 24, 36, math.inf)


def _check_rate(rate: float, what: str) -> float:
    try:
        rate = float(rate)
    except (TypeError, ValueError):
        raise ConfigError(f"{what} must be a number such as 0.021 (2.1%), got {rate!r}.") from None
    if not (0.0 <= rate < 1.0) or math.isnan(rate):
        raise ConfigError(
            f"{what} must be a share between 0 and 1 (e.g. 0.021 for 2.1%), got {rate!r}."
        )
    return rate


def _check_alpha(alpha: float) -> float:
    try:
        alpha = float(alpha)
    except (TypeError, ValueError):
        raise ConfigError(f"alpha must be a number such as 0.05, got {alpha!r}.") from None
    if not 0.0 < alpha < 1.0:
        raise ConfigError(
            f"alpha must be between 0 and 1 (0.05 gives 95% intervals), got {alpha!r}."
        )
    return alpha


def _check_visibility(visibility) -> float:
    try:
        value = float(visibility)
    except (TypeError, ValueError):
        value = math.nan
    if not 0.0 <= value <= 1.0:
        raise ConfigError(f"visibility must be a share between 0 and 1, got {visibility!r}.")
    return value


class DecayModel:
    """Share of a list still reachable after *t* months, at a constant monthly rate.

    Construct it from a rate (``DecayModel(0.021)``, ``DecayModel.from_annual_rate(0.225)``)
    or fit it to observed durations (``DecayModel().fit(durations, event_observed)``).
    After ``fit`` the fitted attributes end in ``_`` and :attr:`monthly_rate` is the fitted
    rate.

    >>> m = DecayModel()
    >>> f"{m.annual_rate:.1%} compounded, {m.annual_rate_simple:.1%} simple"
    '22.5% compounded, 25.2% simple'
    >>> round(m.half_life_months, 1), round(m.decayed(24), 3)
    (32.7, 0.399)
    >>> round(DecayModel.from_annual_rate(0.252, compounded=False).monthly_rate, 4)
    0.021
    >>> fitted = DecayModel().fit([3.0, 10.0, 24.0, 30.0], [True, False, True, False])
    >>> round(fitted.hazard_, 4)  # 2 events in 67 months observed
    0.0299
    """

    def __init__(self, monthly_rate: float = DEFAULT_MONTHLY_RATE):
        self._monthly_rate = _check_rate(monthly_rate, "monthly_rate")
        self.alpha = 0.05

    # ------------------------------------------------------------------ constructors
    @classmethod
    def from_annual_rate(cls, annual_rate: float, *, compounded: bool = True) -> DecayModel:
        """From a yearly share: compounded (1 - (1 - m) ** 12) or simple (12 * m)."""
        annual_rate = _check_rate(annual_rate, "annual_rate")
        if compounded:
            return cls(1.0 - (1.0 - annual_rate) ** (1.0 / 12.0))
        if annual_rate / 12.0 >= 1.0:
            raise ConfigError("annual_rate / 12 must be below 1.")
        return cls(annual_rate / 12.0)

    # ------------------------------------------------------------------ properties
    @property
    def monthly_rate(self) -> float:
        return self._monthly_rate

    @property
    def annual_rate(self) -> float:
        """Share lost in 12 months, compounded: 1 - (1 - m) ** 12."""
        return 1.0 - (1.0 - self.monthly_rate) ** 12

    @property
    def annual_rate_simple(self) -> float:
        """12 x the monthly rate, as the figure is often (loosely) quoted."""
        return 12.0 * self.monthly_rate

    @property
    def hazard(self) -> float:
        """Continuous monthly hazard lambda with S(t) = exp(-lambda t)."""
        return -math.log1p(-self.monthly_rate)

    @property
    def half_life_months(self) -> float:
        """Months until half of a list has decayed."""
        if self.monthly_rate == 0:
            return math.inf
        return math.log(2.0) / self.hazard

    @property
    def is_fitted(self) -> bool:
        return hasattr(self, "monthly_rate_")

    # ------------------------------------------------------------------ curves
    def survival(self, months):
        """Share of contacts still good after *months* (scalar, array or Series)."""
        return _like(months, np.exp(-self.hazard * _months(months)))

    def decayed(self, months):
        """Share of contacts gone bad after *months*: 1 - survival."""
        return _like(months, -np.expm1(-self.hazard * _months(months)))

    def decayed_ci(self, months):
        """Lower and upper confidence limits of :meth:`decayed` (needs a fitted model)."""
        self._require_fit("decayed_ci")
        t = _months(months)
        lo, hi = self.monthly_rate_ci_
        return (
            _like(months, -np.expm1(np.log1p(-lo) * t)),
            _like(months, -np.expm1(np.log1p(-hi) * t)),
        )

    def expected_bounce_rate(self, ages_in_months, visibility: float = 1.0) -> float:
        """Expected hard-bounce share of a list whose contacts have these ages.

        *visibility* is the share of decayed contacts whose decay shows as a hard bounce:
        a person who changed jobs may leave a live mailbox behind (visibility < 1).
        """
        visibility = _check_visibility(visibility)
        ages = _months(ages_in_months)
        if ages.size == 0:
            return 0.0
        return float(visibility * np.mean(-np.expm1(-self.hazard * ages)))

    # ------------------------------------------------------------------ fitting
    def fit(
        self, durations, event_observed=None, *, last_good=None, alpha: float = 0.05
    ) -> DecayModel:
        """Fit the monthly rate to observed durations with right-censoring; returns self.

        *durations* are months from the start (acquisition) to the first hard bounce
        (``event_observed`` true) or to the last time the contact was known to be good
        (false: right-censored). ``event_observed=None`` means every duration ended in an
        event.

        Exponential maximum likelihood: lambda = events / exposure (total months
        observed), monthly_rate = 1 - exp(-lambda). The interval is a Wald interval on
        log(lambda) (standard error 1 / sqrt(events)); with no event at all the upper
        limit is the likelihood-ratio bound chi2_1(1 - alpha) / (2 * exposure).

        A Weibull model (hazard proportional to t ** (shape - 1)) is fitted by maximising
        the censored log-likelihood with the scale profiled out (scipy); the shape gets a
        profile-likelihood interval and a likelihood-ratio test of shape == 1 (constant
        hazard). shape < 1: contacts that survive early go bad more slowly later.
        A Kaplan-Meier table (``km_``) is kept for plots.

        *last_good* (optional, months, as the ``last_good`` column of
        :func:`durations_from`): for events, the last time the contact was known to be
        good. A hard bounce only shows when the contact is next mailed, so the contact
        went bad somewhere between *last_good* and the bounce; with *last_good* the
        exponential and Weibull fits treat events as interval-censored (no bias from
        sparse mailing). Then the rate's interval is a Wald interval on log(lambda) from
        the observed information, the Weibull fit is a two-parameter maximum likelihood
        (scipy) with a Wald interval on log(shape); ``km_`` still steps at the bounces, and
        ``turnbull_`` holds the nonparametric interval-censored estimate on a grid of
        ``TURNBULL_GRID`` quantiles (for up to ``TURNBULL_MAX_N`` contacts; None above).
        """

        alpha = _check_alpha(alpha)
        event_observed = _aligned(event_observed, durations, "event_observed")
        last_good = _aligned(last_good, durations, "last_good")
        t, e = _check_durations(durations, event_observed)
        lower = None if last_good is None else _check_last_good(last_good, t, e)
        n = t.size
        d = int(np.count_nonzero(e))
        exposure = float(t.sum(dtype=np.float64))
        if exposure <= 0.0:
            raise InputError(
                "All durations are 0 months: there is no observed time to estimate a rate from."
            )
        z = _norm_ppf(1.0 - alpha / 2.0)
        if d == 0:
            lam = 0.0
            lam_ci = (0.0, _chi2_ppf(1.0 - alpha, 1) / (2.0 * exposure))
            loglik = 0.0
        elif lower is None:
            lam = d / exposure
            half = z / math.sqrt(d)
            lam_ci = (lam * math.exp(-half), lam * math.exp(half))
            loglik = d * math.log(lam) - lam * exposure
        else:
            lam, info, loglik = _exponential_interval(t, e, lower)
            half = z / (lam * math.sqrt(info))  # se of log(lambda)
            lam_ci = (lam * math.exp(-half), lam * math.exp(half))
        self.alpha = alpha
        self.interval_censored_ = lower is not None
        self.n_ = n
        self.events_ = d
        self.exposure_ = exposure
        self.hazard_ = lam
        self.hazard_ci_ = lam_ci
        self.monthly_rate_ = float(-math.expm1(-lam))
        self.monthly_rate_ci_ = (float(-math.expm1(-lam_ci[0])), float(-math.expm1(-lam_ci[1])))
        self.log_likelihood_ = float(loglik)
        self._monthly_rate = self.monthly_rate_
        if lower is None:
            self._fit_weibull(t, e, alpha)
        else:
            self._fit_weibull_interval(t, e, lower, alpha)
        self.km_ = kaplan_meier(t, e, alpha=alpha, _checked=True)
        self.turnbull_ = None
        if lower is not None and n <= TURNBULL_MAX_N:
            self.turnbull_ = turnbull(
                np.where(e, lower, t), np.where(e, t, np.inf), grid=TURNBULL_GRID
            )
        return self

    def _fit_weibull_interval(self, t, e, lower, alpha) -> None:
        from scipy import optimize

        nan = math.nan
        self.weibull_shape_, self.weibull_scale_ = nan, nan
        self.weibull_shape_ci_ = (nan, nan)
        self.weibull_log_likelihood_, self.weibull_p_value_ = nan, nan
        if not e.any():
            return
        exact = e & (lower >= t)
        inter = e & ~exact
        c_t, x_t, lo_t, hi_t = t[~e], t[exact], lower[inter], t[inter]
        positive = t[t > 0]
        floor = (
            min(_WEIBULL_MIN_MONTHS, float(positive.min()))
            if positive.size
            else _WEIBULL_MIN_MONTHS
        )
        log_x = np.log(np.maximum(x_t, floor))
        log_c = np.log(np.maximum(c_t, floor))
        log_hi = np.log(np.maximum(hi_t, floor))
        log_lo = np.where(lo_t > 0, np.log(np.maximum(lo_t, floor)), -np.inf)

        lo_k, hi_k = (math.log(b) for b in _WEIBULL_SHAPE_RANGE)

        def loglik(params) -> float:
            log_k, log_s = params
            if not lo_k - 1.0 < log_k < hi_k + 1.0 or not abs(log_s) < 700.0:
                return -1e300  # (far outside any estimate: exp() would overflow)
            k = math.exp(log_k)
            with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
                hc = np.exp(k * (log_c - log_s))
                hx = np.exp(k * (log_x - log_s))
                hl = np.exp(k * (log_lo - log_s))
                hh = np.exp(k * (log_hi - log_s))
                ll = -hc.sum()
                ll += float(np.sum(log_k - log_s + (k - 1.0) * (log_x - log_s) - hx))
                ll += float(np.sum(-hl + np.log(-np.expm1(-(hh - hl)))))
            return ll if math.isfinite(ll) else -1e300

        start = (0.0, -math.log(self.hazard_))
        res = optimize.minimize(
            lambda p: -loglik(p),
            start,
            method="Nelder-Mead",
            options={"xatol": 1e-9, "fatol": 1e-10, "maxiter": 4000},
        )
        log_k, log_s = res.x
        if _weibull_unidentified(math.exp(log_k)):
            return
        lmax = -float(res.fun)
        # observed information on (log k, log s) by central differences
        h = 1e-4
        hess = np.empty((2, 2))
        unit = np.eye(2)
        for i in range(2):
            for j in range(2):
                at = [
                    loglik(res.x + a * h * unit[i] + b * h * unit[j])
                    for a, b in ((1, 1), (1, -1), (-1, 1), (-1, -1))
                ]
                hess[i, j] = (at[0] - at[1] - at[2] + at[3]) / (4 * h * h)
        try:
            var = float(np.linalg.inv(-hess)[0, 0])
        except np.linalg.LinAlgError:
            var = nan
        z = _norm_ppf(1.0 - alpha / 2.0)
        se = math.sqrt(var) if var > 0 else nan
        stat = max(0.0, 2.0 * (lmax - self.log_likelihood_))
        self.weibull_shape_ = math.exp(log_k)
        self.weibull_scale_ = math.exp(log_s)
        self.weibull_shape_ci_ = (_exp(log_k - z * se), _exp(log_k + z * se))
        self.weibull_log_likelihood_ = lmax
        self.weibull_p_value_ = float(_chi2_sf(stat, 1))

    def _fit_weibull(self, t: np.ndarray, e: np.ndarray, alpha: float) -> None:

        d = int(np.count_nonzero(e))
        nan = math.nan
        self.weibull_shape_, self.weibull_scale_ = nan, nan
        self.weibull_shape_ci_ = (nan, nan)
        self.weibull_log_likelihood_, self.weibull_p_value_ = nan, nan
        if d == 0:
            return
        positive = t[t > 0]
        floor = (
            min(_WEIBULL_MIN_MONTHS, float(positive.min()))
            if positive.size
            else _WEIBULL_MIN_MONTHS
        )
        logt = np.log(np.where(t > 0, t, floor))
        top = float(logt.max())
        sum_log_events = float(logt[e].sum())

        def profile(k: float, derivatives: bool = True):
            # the scale is profiled out: scale ** k = sum(t ** k) / d. The profile
            # log-likelihood is concave in k, so Newton's method is safe from any start.
            w = np.exp(k * (logt - top))
            a0 = float(w.sum())
            log_a = math.log(a0) + k * top
            ll = d * math.log(k) - d * (log_a - math.log(d)) + (k - 1.0) * sum_log_events - d
            if not derivatives:
                return ll, log_a, 0.0, 0.0
            wl = w * logt
            m1 = float(wl.sum()) / a0
            m2 = float(np.dot(wl, logt)) / a0
            grad = d / k - d * m1 + sum_log_events
            hess = -d / (k * k) - d * max(m2 - m1 * m1, 0.0)
            return ll, log_a, grad, hess

        def newton(f, k: float) -> float:
            # f(k) -> (value, slope); find the root of value, keeping k > 0
            for _ in range(100):
                val, slope = f(k)
                if slope == 0 or not math.isfinite(val):
                    break
                step = val / slope
                new = k - step
                while new <= 0:
                    step /= 2.0
                    new = k - step
                if abs(new - k) <= 1e-12 * max(k, 1e-12):
                    return new
                k = new
            return k

        k = newton(lambda x: profile(x)[2:4], 1.0)
        if _weibull_unidentified(k):
            return
        lmax, log_a, _, hess = profile(k)
        cut = lmax - _chi2_ppf(1.0 - alpha, 1) / 2.0
        width = math.sqrt(2.0 * (lmax - cut) / -hess)

        def limit(direction: float) -> float:
            start = max(k + direction * width, k * 1e-3)
            return newton(lambda x: (profile(x)[0] - cut, profile(x)[2]), start)

        stat = max(0.0, 2.0 * (lmax - profile(1.0, derivatives=False)[0]))
        self.weibull_shape_ = k
        self.weibull_scale_ = math.exp((log_a - math.log(d)) / k)
        self.weibull_shape_ci_ = (limit(-1.0), limit(1.0))
        self.weibull_log_likelihood_ = lmax
        self.weibull_p_value_ = float(_chi2_sf(stat, 1))

    def _require_fit(self, what: str) -> None:
        if not self.is_fitted:
            raise ConfigError(
                f"{what} needs a fitted model: call DecayModel().fit(durations, event_observed) first."
            )

    @property
    def summary(self) -> pd.DataFrame:
        """The fit as a table: estimate and confidence limits of each figure."""
        self._require_fit("summary")
        lo, hi = self.monthly_rate_ci_
        level = f"{1 - self.alpha:.0%}"

        def annual(m):
            return 1.0 - (1.0 - m) ** 12

        def half(m):
            return math.inf if m == 0 else math.log(2.0) / -math.log1p(-m)

        rows = [
            (
                "monthly rate (exponential)",
                self.monthly_rate_,
                lo,
                hi,
                f"{self.events_} events in {self.exposure_:,.0f} contact-months; "
                + ("interval-censored" if self.interval_censored_ else "right-censored"),
            ),
            ("annual rate, compounded", annual(self.monthly_rate_), annual(lo), annual(hi), ""),
            ("annual rate, simple (12 x monthly)", 12 * self.monthly_rate_, 12 * lo, 12 * hi, ""),
            ("half-life (months)", half(self.monthly_rate_), half(hi), half(lo), ""),
            ("hazard lambda (per month)", self.hazard_, *self.hazard_ci_, ""),
            (
                "Weibull shape (1 = constant hazard)",
                self.weibull_shape_,
                *self.weibull_shape_ci_,
                f"LR test shape == 1: p = {self.weibull_p_value_:.3g}",
            ),
            ("Weibull scale (months)", self.weibull_scale_, math.nan, math.nan, ""),
        ]
        out = pd.DataFrame(
            rows, columns=["figure", "estimate", f"lower {level}", f"upper {level}", "note"]
        ).set_index("figure")
        out.attrs.update(
            n=self.n_,
            events=self.events_,
            exposure_months=self.exposure_,
            log_likelihood=self.log_likelihood_,
            weibull_p_value=self.weibull_p_value_,
            interval_censored=self.interval_censored_,
        )
        return out

    # ------------------------------------------------------------------ groups
    @classmethod
    def fit_by(
        cls, durations, event_observed, groups, *, last_good=None, alpha: float = 0.05
    ) -> GroupFit:
        """Fit one rate per group (e.g. per lead source) and test whether they differ.

        Returns a :class:`GroupFit`: ``table`` (one row per group, fastest-decaying first,
        with rate, interval, annual rates and half-life), ``models`` (group -> fitted
        :class:`DecayModel`), ``pooled`` (one model for all), and two tests of "all groups
        decay at the same rate": the likelihood ratio of per-group exponential rates
        against one pooled rate (chi-square, k - 1 degrees of freedom) and the log-rank
        test (which assumes no hazard shape; it uses the durations as they are).
        *last_good* makes the per-group fits and the likelihood ratio interval-censored,
        as in :meth:`fit`.
        """

        alpha = _check_alpha(alpha)
        event_observed = _aligned(event_observed, durations, "event_observed")
        last_good = _aligned(last_good, durations, "last_good")
        groups = _aligned(groups, durations, "groups")
        t, e = _check_durations(durations, event_observed)
        g = pd.Series(
            np.asarray(groups, dtype=object)
            if not isinstance(groups, pd.Series)
            else groups.to_numpy()
        )
        if len(g) != t.size:
            raise InputError(
                f"groups has {len(g)} values but durations has {t.size}; give one group per duration."
            )
        if g.isna().any():
            raise InputError(
                f"{int(g.isna().sum())} durations have no group; fill them in (e.g. 'unknown')."
            )
        codes, labels = pd.factorize(g, sort=True)
        k = len(labels)
        if k < 2:
            raise InputError(f"fit_by needs at least two groups, got {k}.")
        lower = None if last_good is None else _check_last_good(last_good, t, e)
        pooled = cls().fit(t, e, last_good=lower, alpha=alpha)
        models = {}
        rows = []
        for i, label in enumerate(labels):
            mask = codes == i
            m = cls().fit(
                t[mask], e[mask], last_good=None if lower is None else lower[mask], alpha=alpha
            )
            models[label] = m
            rows.append(
                {
                    "group": label,
                    "n": m.n_,
                    "events": m.events_,
                    "exposure_months": m.exposure_,
                    "monthly_rate": m.monthly_rate_,
                    "ci_low": m.monthly_rate_ci_[0],
                    "ci_high": m.monthly_rate_ci_[1],
                    "annual_rate": m.annual_rate,
                    "annual_rate_simple": m.annual_rate_simple,
                    "half_life_months": m.half_life_months,
                }
            )
        table = pd.DataFrame(rows).set_index("group").sort_values("monthly_rate", ascending=False)
        lr = max(
            0.0, 2.0 * (sum(m.log_likelihood_ for m in models.values()) - pooled.log_likelihood_)
        )
        lr_p = float(_chi2_sf(lr, k - 1))
        lrk, lrk_p = logrank_test(t, e, codes)
        return GroupFit(
            table=table,
            models=models,
            pooled=pooled,
            lr_statistic=lr,
            lr_p_value=lr_p,
            logrank_statistic=lrk,
            logrank_p_value=lrk_p,
            degrees_of_freedom=k - 1,
            alpha=alpha,
        )

    def _repr_html_(self) -> str:
        # Jupyter: the rate figures, and the fit summary when fitted (listcare.display)
        from .display import decay_model_doc

        return decay_model_doc(self).html()

    def __repr__(self) -> str:
        fitted = f", fitted on {self.n_} contacts / {self.events_} events" if self.is_fitted else ""
        return (
            f"DecayModel(monthly_rate={self.monthly_rate:.4g}; "
            f"{self.annual_rate:.1%} a year compounded, half-life {self.half_life_months:.1f} months"
            f"{fitted})"
        )


@dataclass(frozen=True)
class GroupFit:
    """Result of :meth:`DecayModel.fit_by`."""

    table: pd.DataFrame
    models: dict = field(repr=False)
    pooled: DecayModel = field(repr=False)
    lr_statistic: float
    lr_p_value: float
    logrank_statistic: float
    logrank_p_value: float
    degrees_of_freedom: int
    alpha: float = 0.05

    @property
    def fastest(self):
        """The group with the highest monthly rate; None when no group stands out (every
        rate the same, e.g. no group has a hard bounce yet)."""
        rates = self.table["monthly_rate"]
        if len(rates) > 1 and rates.iloc[0] <= rates.iloc[1]:
            return None
        return self.table.index[0]

    @property
    def differ(self) -> bool:
        """True when the likelihood-ratio test rejects equal rates at level alpha."""
        return self.lr_p_value < self.alpha

    @property
    def summary(self) -> pd.DataFrame:
        """The tests as a small table."""
        return pd.DataFrame(
            {
                "statistic": [self.lr_statistic, self.logrank_statistic],
                "df": [self.degrees_of_freedom, self.degrees_of_freedom],
                "p_value": [self.lr_p_value, self.logrank_p_value],
            },
            index=pd.Index(["likelihood ratio (exponential)", "log-rank"], name="test"),
        )

    def _repr_html_(self) -> str:
        # Jupyter: the groups, the two tests and a one-line verdict (listcare.display)
        from .display import group_fit_doc

        return group_fit_doc(self).html()


# ---------------------------------------------------------------------- estimators
def _aligned(values, durations, what: str):
    """*values* in the order of *durations* when both are pandas Series with the same
    labels in another order (pandas users expect alignment by index, not by position:
    pairing by position would silently fit the wrong contacts' flags). Labels that
    differ are an error; anything else is used by position."""
    if not (isinstance(values, pd.Series) and isinstance(durations, pd.Series)):
        return values
    if values.index.equals(durations.index):
        return values
    if (
        len(values) == len(durations)
        and durations.index.is_unique
        and values.index.is_unique
        and durations.index.isin(values.index).all()
    ):
        return values.reindex(durations.index)
    raise InputError(
        f"{what} and durations are pandas Series with different index labels: pass them "
        "with the same index (e.g. columns of one DataFrame) or as plain arrays."
    )


def _check_durations(durations, event_observed) -> tuple[np.ndarray, np.ndarray]:
    try:
        t = np.asarray(durations, dtype=float).ravel()
    except (TypeError, ValueError) as exc:
        raise InputError(f"durations must be numbers of months: {exc}") from None
    if t.size == 0:
        raise InputError("No durations given: there is nothing to fit.")
    bad = ~np.isfinite(t)
    if bad.any():
        pos = np.flatnonzero(bad)
        raise InputError(
            f"{pos.size} durations are missing or infinite (positions {sample(pos.tolist())}); "
            "drop those contacts or give them a duration."
        )
    neg = t < 0
    if neg.any():
        pos = np.flatnonzero(neg)
        raise InputError(
            f"{pos.size} durations are negative (positions {sample(pos.tolist())}): the end lies "
            "before the start (check the acquisition dates)."
        )
    if event_observed is None:
        return t, np.ones(t.size, dtype=bool)
    ev = (
        pd.Series(np.asarray(event_observed).ravel())
        if not isinstance(event_observed, pd.Series)
        else event_observed
    )
    if len(ev) != t.size:
        raise InputError(
            f"event_observed has {len(ev)} values but durations has {t.size}; give one flag per duration."
        )
    if ev.isna().any():
        raise InputError(f"{int(ev.isna().sum())} event flags are missing; use True/False or 1/0.")
    arr = ev.to_numpy()
    if arr.dtype != bool:
        try:
            num = arr.astype(float)
        except (TypeError, ValueError):
            raise InputError("event_observed must be True/False or 1/0.") from None
        if not np.isin(num, (0.0, 1.0)).all():
            raise InputError("event_observed must be True/False or 1/0.")
        arr = num == 1.0
    return t, arr


def _check_last_good(last_good, t: np.ndarray, e: np.ndarray) -> np.ndarray:
    try:
        lower = np.asarray(last_good, dtype=float).ravel()
    except (TypeError, ValueError) as exc:
        raise InputError(f"last_good must be numbers of months: {exc}") from None
    if lower.size != t.size:
        raise InputError(
            f"last_good has {lower.size} values but durations has {t.size}; give one per duration."
        )
    bad = e & (~np.isfinite(lower) | (lower < 0) | (lower > t))
    if bad.any():
        pos = np.flatnonzero(bad)
        raise InputError(
            f"{pos.size} events have a last_good time that is missing, negative or after the bounce "
            f"(positions {sample(pos.tolist())}); last_good must lie between 0 and the duration."
        )
    return np.where(e, lower, t)


def _exponential_interval(
    t: np.ndarray, e: np.ndarray, lower: np.ndarray
) -> tuple[float, float, float]:
    """ML rate when events lie in (lower, t]: returns (lambda, observed information, log-lik).

    log L = -lambda * (censored time + lower ends) + sum log(1 - exp(-lambda * width))
    + (exact events) * log(lambda) - lambda * (their times); concave in lambda, so Newton's
    method from the right-censored estimate converges.
    """
    exact = e & (lower >= t)
    inter = e & ~exact
    width = (t - lower)[inter]
    base = float(t[~e].sum() + lower[inter].sum() + t[exact].sum())
    d_exact = int(exact.sum())

    def parts(lam: float):
        x = lam * width
        em1 = np.expm1(x)  # e^x - 1
        ll = (
            -lam * base
            + float(np.sum(np.log(-np.expm1(-x))))
            + (d_exact * math.log(lam) if d_exact else 0.0)
        )
        grad = -base + float(np.sum(width / em1)) + d_exact / lam
        hess = -float(np.sum(width * width * (em1 + 1.0) / (em1 * em1))) - d_exact / (lam * lam)
        return ll, grad, hess

    lam = int(e.sum()) / float(t.sum())
    for _ in range(200):
        ll, grad, hess = parts(lam)
        step = grad / hess
        new = lam - step
        while new <= 0:
            step /= 2.0
            new = lam - step
        if abs(new - lam) <= 1e-13 * lam:
            lam = new
            break
        lam = new
    ll, grad, hess = parts(lam)
    return lam, -hess, ll


def kaplan_meier(
    durations, event_observed=None, *, alpha: float = 0.05, _checked: bool = False
) -> pd.DataFrame:
    """Kaplan-Meier table at 0 and at every distinct event time (where S changes).

    Columns: ``timeline`` (months), ``at_risk``, ``events``, ``survival``, ``ci_low``,
    ``ci_high``. The interval is the exponential Greenwood (log-log) interval, as in
    lifelines (https://www.math.wustl.edu/~sawyer/handouts/greenwood.pdf).
    """

    t, e = (durations, event_observed) if _checked else _check_durations(durations, event_observed)
    n = t.size
    order = np.argsort(t, kind="stable")
    ts = t[order]
    es = e[order]
    first = np.empty(n, dtype=bool)
    first[0] = True
    np.not_equal(ts[1:], ts[:-1], out=first[1:])
    starts = np.flatnonzero(first)
    times = ts[starts]
    deaths = np.add.reduceat(es.astype(np.int64), starts)
    at_risk = n - starts  # sorted ascending: everything from this position on is at risk
    keep = deaths > 0
    times, deaths, at_risk = times[keep], deaths[keep], at_risk[keep].astype(np.int64)
    with np.errstate(divide="ignore", invalid="ignore"):
        log_s = np.cumsum(np.log(at_risk - deaths) - np.log(at_risk))
        step_var = deaths / (at_risk.astype(float) * (at_risk - deaths))
        step_var[~np.isfinite(step_var)] = 0.0  # the last contacts all failed
        var = np.cumsum(step_var)
        z = _norm_ppf(1.0 - alpha / 2.0)
        spread = z * np.sqrt(var) / log_s
        low = np.exp(-np.exp(np.log(-log_s) - spread))
        high = np.exp(-np.exp(np.log(-log_s) + spread))
    surv = np.exp(log_s)
    low = np.where(np.isnan(low), 1.0, low)
    high = np.where(np.isnan(high), 1.0, high)
    if times.size == 0 or times[0] > 0:
        times = np.concatenate([[0.0], times])
        at_risk = np.concatenate([[n], at_risk])
        deaths = np.concatenate([[0], deaths])
        surv = np.concatenate([[1.0], surv])
        low = np.concatenate([[1.0], low])
        high = np.concatenate([[1.0], high])
    return pd.DataFrame(
        {
            "timeline": times,
            "at_risk": at_risk,
            "events": deaths,
            "survival": surv,
            "ci_low": low,
            "ci_high": high,
        }
    )


def turnbull(
    lower, upper, *, grid: int | None = None, tol: float = 1e-5, max_iter: int = 2_000
) -> pd.DataFrame:
    """Nonparametric (Turnbull) survival estimate for interval-censored durations.

    Each contact went bad in (*lower*, *upper*] (``upper = inf``: still good at *lower*;
    ``lower == upper``: exactly then). Mass sits on the innermost intervals; it is found by
    the self-consistency EM of Turnbull (1976), accelerated with SQUAREM (Varadhan and
    Roland 2008), until no innermost interval's likelihood gradient exceeds 1 + *tol*
    (the Kuhn-Tucker condition of the maximum). With only exact and right-censored
    durations it is the Kaplan-Meier estimate.

    *grid*: with more distinct end points than this, each interval is first widened to a
    grid of that many quantiles of the end points (lower ends down, upper ends up: the
    data stay true, only coarser), which keeps the EM fast for large lists.

    Returns one row per innermost interval: ``lower``, ``upper``, ``mass`` and
    ``survival`` (after the interval); ``attrs["log_likelihood"]`` and
    ``attrs["iterations"]`` (*max_iter* bounds the time on very large data, where the
    EM's tail converges slowly).
    """
    lo = np.asarray(lower, dtype=float).ravel()
    hi = np.asarray(upper, dtype=float).ravel()
    if (
        lo.size != hi.size
        or lo.size == 0
        or np.isnan(lo).any()
        or np.isnan(hi).any()
        or (lo > hi).any()
    ):
        raise InputError(
            "turnbull needs as many lower as upper bounds, none missing, lower <= upper."
        )
    n = lo.size
    if grid is not None:
        ends = np.concatenate([lo, hi[np.isfinite(hi)]])
        if np.unique(ends).size > grid:
            edges = np.unique(np.quantile(ends, np.linspace(0.0, 1.0, int(grid) + 1)))
            lo = edges[np.maximum(np.searchsorted(edges, lo, side="right") - 1, 0)]
            finite = np.isfinite(hi)
            hi = hi.copy()
            hi[finite] = edges[
                np.minimum(np.searchsorted(edges, hi[finite], side="left"), edges.size - 1)
            ]
    lo = np.where(lo >= hi, np.nextafter(hi, -np.inf), lo)  # exact: an interval just below
    values = np.concatenate([lo, hi])
    is_right = np.concatenate([np.zeros(n, dtype=bool), np.ones(n, dtype=bool)])
    order = np.lexsort((~is_right, values))  # at ties a right end closes before a left end opens
    v, r = values[order], is_right[order]
    inner = np.flatnonzero(~r[:-1] & r[1:])
    q_lo, q_hi = v[inner], v[inner + 1]
    m = q_lo.size
    j_lo = np.searchsorted(q_lo, lo, side="left")
    j_hi = np.searchsorted(q_hi, hi, side="right")

    def em(p):
        """One EM step: (new p, log-likelihood of p, max gradient (1 at the optimum))."""
        cum = np.concatenate([[0.0], np.cumsum(p)])
        den = cum[j_hi] - cum[j_lo]
        if not (den > 0).all():
            return p, -math.inf, math.inf
        w = 1.0 / den
        grad = (
            np.cumsum(
                np.bincount(j_lo, w, minlength=m + 1) - np.bincount(j_hi, w, minlength=m + 1)
            )[:m]
            / n
        )
        return p * grad, float(np.log(den).sum()), float(grad.max())

    p = np.full(m, 1.0 / m)
    it = 0
    for it in range(1, max_iter + 1):  # noqa: B007 (reported in attrs)
        p1, ll0, gmax = em(p)
        # Kuhn-Tucker: at the NPMLE no innermost interval's gradient exceeds 1
        if gmax < 1.0 + tol:
            break
        p2, _, _ = em(p1)
        step, curve = p1 - p, p2 - 2 * p1 + p
        vv = float(curve @ curve)
        if vv == 0.0:
            p = p2
            continue
        a = min(-math.sqrt(float(step @ step) / vv), -1.0)
        q = np.clip(p - 2 * a * step + a * a * curve, 0.0, None)
        q, llq, _ = em(q / q.sum())
        p = q if math.isfinite(llq) and llq >= ll0 else p2
    _, ll, _ = em(p)
    out = pd.DataFrame(
        {"lower": q_lo, "upper": q_hi, "mass": p, "survival": np.clip(1.0 - np.cumsum(p), 0.0, 1.0)}
    )
    out.attrs.update(log_likelihood=ll, iterations=it)
    return out


def logrank_test(durations, event_observed, groups) -> tuple[float, float]:
    """k-sample log-rank test of equal survival; returns (chi-square statistic, p-value).

    The standard Mantel-Haenszel form with k - 1 degrees of freedom (as
    lifelines.statistics.multivariate_logrank_test), vectorised over event times.
    """

    t, e = _check_durations(durations, event_observed)
    codes, labels = pd.factorize(pd.Series(np.asarray(groups)), sort=True)
    k = len(labels)
    if k < 2:
        raise InputError(f"The log-rank test needs at least two groups, got {k}.")
    order = np.argsort(t, kind="stable")
    ts, es, gs = t[order], e[order], codes[order]
    n = t.size
    first = np.empty(n, dtype=bool)
    first[0] = True
    np.not_equal(ts[1:], ts[:-1], out=first[1:])
    starts = np.flatnonzero(first)
    m = starts.size
    time_idx = np.cumsum(first) - 1
    # per distinct time and group: how many leave (any reason) and how many fail
    leave = np.zeros((m, k))
    fail = np.zeros((m, k))
    np.add.at(leave, (time_idx, gs), 1.0)
    np.add.at(fail, (time_idx[es], gs[es]), 1.0)
    at_risk = leave[::-1].cumsum(axis=0)[::-1]
    tot_risk = at_risk.sum(axis=1)
    tot_fail = fail.sum(axis=1)
    use = tot_fail > 0
    at_risk, fail, tot_risk, tot_fail = at_risk[use], fail[use], tot_risk[use], tot_fail[use]
    share = at_risk / tot_risk[:, None]
    expected = share * tot_fail[:, None]
    o_minus_e = (fail - expected).sum(axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        w = np.where(tot_risk > 1, tot_fail * (tot_risk - tot_fail) / (tot_risk - 1), 0.0)
    v = np.diag((w[:, None] * share).sum(axis=0)) - (share * w[:, None]).T @ share
    stat = float(o_minus_e[:-1] @ np.linalg.pinv(v[:-1, :-1]) @ o_minus_e[:-1])
    return stat, float(_chi2_sf(stat, k - 1))


# ---------------------------------------------------------------------- tables
def _weibull_unidentified(shape: float) -> bool:
    lo, hi = _WEIBULL_SHAPE_RANGE
    if math.isfinite(shape) and lo < shape < hi:
        return False
    warnings.warn(
        "The Weibull shape cannot be estimated from these durations (nearly all the same "
        "length, or too few events): weibull_* are NaN; the exponential rate stands.",
        RuntimeWarning,
        stacklevel=4,
    )
    return True


def _exp(x: float) -> float:
    return math.exp(x) if x < 700.0 else math.inf


def _to_utc_ns(values) -> np.ndarray:
    """int64 nanoseconds since the epoch (UTC; naive times are taken as UTC); NaT where
    missing or not a date (the callers name those rows). Text is read by
    :func:`listcare.dates.parse_dates`, the one reader of list dates (the policy and the
    cadence planner read the same cells the same way: dotted day-first, a slashed
    column's order from its own evidence, a time without a date never "today")."""
    return parse_dates(values if isinstance(values, pd.Series) else pd.Series(values))[0]


def _as_of_ns(as_of) -> int:
    if as_of is None:
        raise ConfigError(
            "as_of is required: give the date the analysis refers to (e.g. as_of='2026-06-30')."
        )
    try:
        ts = timestamp(as_of)
    except ConfigError:
        raise
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"as_of is not a date: {exc}") from None
    if ts is pd.NaT:
        raise ConfigError("as_of is not a date.")
    ts = ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")
    return int(ts.as_unit("ns").value)


def _email_column(contacts: pd.DataFrame, email_column: str | None) -> str:
    try:  # the contacts module owns the lookup (names, then values that look like addresses)
        from .contacts import find_email_column
    except ImportError:  # pragma: no cover - a partial checkout
        find_email_column = None
    if find_email_column is not None:
        return find_email_column(contacts, email_column)
    if email_column is not None:
        require_columns(contacts, [email_column], what="contact table")
        return email_column
    wanted = {n.replace("-", "").replace("_", "") for n in EMAIL_COLUMN_NAMES}
    for col in contacts.columns:
        key = str(col).lower().replace(" ", "").replace("-", "").replace("_", "")
        if key in wanted:
            return col
    seen = [str(c) for c in contacts.columns]
    raise ColumnError(
        f"No email column found among {sample(seen, 12)}; pass email_column=...",
        missing=["email"],
        seen=seen,
    )


def _normalise(values) -> np.ndarray:
    """Addresses lowercased and stripped, as an object array; empty or missing -> None."""
    raw = values.tolist() if isinstance(values, pd.Series) else list(values)
    # a plain loop beats pandas' .str accessors (which check for NA per element) about 2x
    out = np.array(
        [v.strip().lower() or None if isinstance(v, str) else None for v in raw], dtype=object
    )
    return out


def _utc(ns: np.ndarray) -> pd.DatetimeIndex:
    return pd.DatetimeIndex(ns.view("M8[ns]")).tz_localize("UTC")


#: a second, independent siphash key: two 64-bit hashes must both agree for a match
_CHECK_KEY = "listcare-decay-2"[:16]


def _hash_keys(values, chunk: int = 1 << 20) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Two independent 64-bit hashes of the normalised addresses and a missing-address
    mask, computed in chunks so that ten million normalised strings never exist at once."""
    raw = values.tolist() if isinstance(values, pd.Series) else list(values)
    hashes = np.empty(len(raw), dtype=np.uint64)
    checks = np.empty(len(raw), dtype=np.uint64)
    null = np.empty(len(raw), dtype=bool)
    for i in range(0, len(raw), chunk):
        keys = _normalise(raw[i : i + chunk])
        miss = pd.isna(keys)
        keys[miss] = ""
        hashes[i : i + chunk] = pd.util.hash_array(keys, categorize=False)
        checks[i : i + chunk] = pd.util.hash_array(keys, hash_key=_CHECK_KEY, categorize=False)
        null[i : i + chunk] = miss
    return hashes, checks, null


def _start_ns(contacts: pd.DataFrame, start: str) -> np.ndarray:
    require_columns(contacts, [start], what="contact table")
    ns = _to_utc_ns(contacts[start])
    bad = ns == np.iinfo(np.int64).min
    if bad.any():
        rows = contacts.index[bad]
        raise InputError(
            f"{int(bad.sum())} contacts have no usable {start!r} date (rows {sample(rows.tolist())}); "
            "fill it in (or use start='...' to name another date column)."
        )
    return ns


def match_keys(contact_keys: np.ndarray, usable: np.ndarray, event_keys: np.ndarray):
    """Every (contact position, event index) pair whose integer keys are equal, contacts
    where *usable* only: the contacts' keys sorted once, the events' looked up in sorted
    order (numpy narrows each binary search from the previous one: 10x faster), and a
    key shared by several contacts gives each of them the event."""
    usable = np.flatnonzero(usable)
    order = usable[np.argsort(contact_keys[usable], kind="stable")]
    sorted_key = contact_keys[order]
    by_key = np.argsort(event_keys, kind="stable")
    lo = np.empty(event_keys.size, dtype=np.intp)
    hi = np.empty(event_keys.size, dtype=np.intp)
    lo[by_key] = np.searchsorted(sorted_key, event_keys[by_key], "left")
    hi[by_key] = np.searchsorted(sorted_key, event_keys[by_key], "right")
    cnt = hi - lo
    del sorted_key, by_key, hi
    total = int(cnt.sum())
    ev_rep = np.repeat(np.arange(event_keys.size), cnt)
    offset = np.arange(total) - np.repeat(np.cumsum(cnt) - cnt, cnt)
    return order[np.repeat(lo, cnt) + offset], ev_rep


def _pair_events(contacts, events, *, start, email_column, as_of_ns, kinds):
    """Match events to contacts by normalised address.

    Returns (start_ns per contact, contact position per pair, event time per pair, event
    kind per pair) for events of *kinds* at or after the contact's start and not after
    as_of. Every contact sharing an address gets the address's events.
    """
    require_columns(events, ["recipient", "timestamp", "kind"], what="events table")
    col = _email_column(contacts, email_column)
    start_ns = _start_ns(contacts, start)
    kind = events["kind"].astype("string").str.lower()
    wanted = kind.isin(kinds).fillna(False).to_numpy(dtype=bool)
    if "event_id" in events.columns:
        # the same evidence twice (two read_bounces results pasted together, a log and
        # its copy) is one event, as the store keeps it: not two sends in the cohorts
        ids = events["event_id"]
        real = (ids.notna() & (ids.astype("string") != "")).fillna(False)
        wanted &= ~(ids.duplicated() & real).to_numpy(dtype=bool)
    ev = events.loc[wanted, ["recipient", "timestamp"]]
    ev_kind = kind[wanted].to_numpy(dtype=object)
    ev_ns = _to_utc_ns(ev["timestamp"])
    nat = ev_ns == np.iinfo(np.int64).min
    if nat.any():
        raise InputError(
            f"{int(nat.sum())} events have no usable timestamp (rows {sample(ev.index[nat].tolist())}); "
            "every event needs the time it happened."
        )
    in_window = ev_ns <= as_of_ns
    ev_ns, ev_kind = ev_ns[in_window], ev_kind[in_window]
    # match on 64-bit hashes of the normalised addresses (sorting integers is far faster
    # than hashing millions of Python strings into a table), then confirm each matched
    # pair with a second, independent 64-bit hash: joining two different addresses would
    # take a collision of both (odds about 2 ** -128 per pair)
    chash, ccheck, cnull = _hash_keys(contacts[col])
    ehash, echeck, enull = _hash_keys(ev["recipient"].iloc[np.flatnonzero(in_window)])
    known = ~enull
    ehash, echeck, ev_ns, ev_kind = ehash[known], echeck[known], ev_ns[known], ev_kind[known]
    pos, ev_rep = match_keys(chash, ~cnull, ehash)
    del chash
    same = ccheck[pos] == echeck[ev_rep]
    if not same.all():
        pos, ev_rep = pos[same], ev_rep[same]
    t = ev_ns[ev_rep]
    after = t >= start_ns[pos]
    return start_ns, pos[after], t[after], ev_kind[ev_rep[after]]


def durations_of_pairs(start_ns, pos, t, hard, as_of_ns: int, *, index) -> pd.DataFrame:
    """:func:`durations_from`'s table from matched pairs: for each pair, the contact's
    position (*pos*), the event's time (*t*, int64 ns) and whether it is a hard bounce
    (*hard*; else a delivery); *start_ns* per contact. The nightly job calls it with the
    policy's address codes, :func:`durations_from` with hashes of the addresses."""
    n = len(start_ns)
    big, small = np.iinfo(np.int64).max, np.iinfo(np.int64).min
    first_hard = np.full(n, big, dtype=np.int64)
    np.minimum.at(first_hard, pos[hard], t[hard])
    last_ok = np.full(n, small, dtype=np.int64)
    np.maximum.at(last_ok, pos[~hard], t[~hard])
    event = first_hard != big
    delivered = last_ok != small
    end = np.where(event, first_hard, np.where(delivered, last_ok, as_of_ns))
    duration = (end - start_ns) / _NS_PER_MONTH
    # last delivery before the first hard bounce: the contact went bad after it
    ok = ~hard
    before = ok & (t < first_hard[pos])
    good_before = np.full(n, small, dtype=np.int64)
    np.maximum.at(good_before, pos[before], t[before])
    last_good = np.where(good_before != small, (good_before - start_ns) / _NS_PER_MONTH, 0.0)
    return pd.DataFrame(
        {
            "start": _utc(start_ns),
            "end": _utc(end),
            "duration": duration,
            "event": event,
            "mailed": event | delivered,
            "last_good": np.where(event, last_good, duration),
        },
        index=index,
    )


def durations_from(
    contacts: pd.DataFrame,
    events: pd.DataFrame,
    *,
    start: str = "acquired_at",
    email_column: str | None = None,
    as_of,
) -> pd.DataFrame:
    """Durations (months) and event flags for :meth:`DecayModel.fit`, one row per contact.

    The event is the contact's first hard bounce (``kind == 'hard'``) at or after its
    *start* date. A contact without one is censored at its last successful delivery
    (``kind == 'delivered'``) and, when it was never delivered to, at *as_of* (the issue's
    rule; such contacts are flagged ``mailed == False`` so they can be left out:
    ``d[d.mailed]``). Events before the start or after *as_of* are ignored; events are
    matched to contacts by address, lowercased and stripped (rows that share an address
    each get its events: deduplicate first if they are one person).

    Returns a DataFrame with the contacts' index and the columns ``start``, ``end``
    (UTC), ``duration`` (months of 365.25 / 12 days), ``event``, ``mailed`` and
    ``last_good``: for events, the months from the start to the last delivery before the
    bounce (0 when there was none: the contact is taken as good when acquired), else the
    duration. Pass it to ``DecayModel.fit(..., last_good=d.last_good)`` for an
    interval-censored fit that does not mistake the (late) bounce for the moment of decay.
    Raises :class:`InputError` when a start date is missing or lies after *as_of*.
    """
    as_of_ns = _as_of_ns(as_of)
    start_ns, pos, t, kind = _pair_events(
        contacts,
        events,
        start=start,
        email_column=email_column,
        as_of_ns=as_of_ns,
        kinds=("hard", "delivered"),
    )
    late = start_ns > as_of_ns
    if late.any():
        raise InputError(
            f"{int(late.sum())} contacts start after as_of (rows {sample(contacts.index[late].tolist())}); "
            "check the dates or move as_of."
        )
    return durations_of_pairs(start_ns, pos, t, kind == "hard", as_of_ns, index=contacts.index)


def wilson_interval(successes, trials, alpha: float = 0.05) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval for binomial proportions (vectorised; NaN where trials == 0)."""

    x = np.asarray(successes, dtype=float)
    n = np.asarray(trials, dtype=float)
    z = _norm_ppf(1.0 - _check_alpha(alpha) / 2.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        p = x / n
        denom = 1.0 + z * z / n
        centre = (p + z * z / (2 * n)) / denom
        half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
        return np.clip(centre - half, 0.0, 1.0), np.clip(centre + half, 0.0, 1.0)


def _bin_labels(edges: np.ndarray) -> list[str]:
    def fmt(x):
        return f"{x:g}"

    return [
        f"{fmt(a)}+" if math.isinf(b) else f"{fmt(a)}-{fmt(b)}"
        for a, b in zip(edges[:-1], edges[1:], strict=True)
    ]


#: outcomes of one send attempt; the denominator of a bounce rate
SEND_OUTCOMES = ("delivered", "hard", "soft", "block")


def bounce_rate_by_cohort(
    contacts: pd.DataFrame,
    events: pd.DataFrame,
    *,
    start: str = "acquired_at",
    bins=None,
    model: DecayModel | None = None,
    as_of=None,
    email_column: str | None = None,
    visibility: float = 1.0,
    alpha: float = 0.05,
) -> pd.DataFrame:
    """Hard-bounce rate by the contacts' age (months since *start*) when they were mailed.

    Each send outcome (an event of kind delivered, hard, soft or block, at or after the
    contact's start and, when *as_of* is given, not after it) falls into the age cohort
    of the contact at that moment. *bins* are month edges (default 0, 3, 6, 12, 18, 24,
    36 and more; right-open intervals).

    One row per cohort: ``cohort`` label, ``age_from``/``age_to``, ``mean_age`` of the
    sends, ``contacts`` (distinct contacts mailed), ``mailed`` (send outcomes),
    ``first_sends`` (sends to a contact never delivered to before since its start),
    ``hard_bounces``, ``bounce_rate`` (hard / mailed), its Wilson interval (``ci_low``,
    ``ci_high``) and ``predicted``: the model's expected bounce rate of those sends.

    For each send the model's expectation is the chance that a contact known to be good
    at its previous successful delivery (or at its start, for a first send) has gone bad
    since, times *visibility*: ``model.decayed(age - age at previous delivery)``. A list
    mailed for the first time at 24 months (the 2008 list mailed in 2010) is expected to
    bounce ``decayed(24)``, about 40% at 2.1% a month; a list mailed every month and
    cleaned of its bounces only about the monthly rate at any age. *model* defaults to the
    2.1%-a-month benchmark, ``DecayModel()``. Contact rows that share an address each
    count its events (deduplicate first if they are one person).
    """
    model = DecayModel() if model is None else model
    visibility = _check_visibility(visibility)
    edges = np.asarray(DEFAULT_BINS if bins is None else bins, dtype=float)
    if (
        edges.ndim != 1
        or edges.size < 2
        or np.any(np.diff(edges) <= 0)
        or edges[0] < 0
        or np.isnan(edges).any()
    ):
        raise ConfigError(
            f"bins must be increasing month edges starting at 0 or later, got {list(edges)!r}."
        )
    as_of_ns = np.iinfo(np.int64).max if as_of is None else _as_of_ns(as_of)
    start_ns, pos, t, kind = _pair_events(
        contacts,
        events,
        start=start,
        email_column=email_column,
        as_of_ns=as_of_ns,
        kinds=SEND_OUTCOMES,
    )
    order = np.lexsort((t, pos))
    pos, t, kind = pos[order], t[order], kind[order]
    age = (t - start_ns[pos]) / _NS_PER_MONTH
    # age at the previous successful delivery to the same contact (0: its start)
    ok_age = pd.Series(np.where(kind == "delivered", age, np.nan))
    prev = ok_age.groupby(pos).shift(1)
    prev = prev.groupby(pos).ffill()
    first = prev.isna().to_numpy()
    gap = age - prev.fillna(0.0).to_numpy()
    which = np.searchsorted(edges, age, side="right") - 1
    inside = (which >= 0) & (which < edges.size - 1)
    which, age, pos, hard = which[inside], age[inside], pos[inside], kind[inside] == "hard"
    gap, first = gap[inside], first[inside]
    nb = edges.size - 1
    mailed = np.bincount(which, minlength=nb)
    bounces = np.bincount(which, weights=hard, minlength=nb).astype(np.int64)
    age_sum = np.bincount(which, weights=age, minlength=nb)
    pred_sum = np.bincount(which, weights=np.asarray(model.decayed(gap)), minlength=nb)
    firsts = np.bincount(which, weights=first, minlength=nb).astype(np.int64)
    distinct = pd.DataFrame({"b": which, "c": pos}).drop_duplicates()
    n_contacts = np.bincount(distinct["b"].to_numpy(), minlength=nb)
    lo, hi = wilson_interval(bounces, mailed, alpha)
    with np.errstate(divide="ignore", invalid="ignore"):
        rate = bounces / mailed
        mean_age = age_sum / mailed
        predicted = float(visibility) * pred_sum / mailed
    out = pd.DataFrame(
        {
            "cohort": _bin_labels(edges),
            "age_from": edges[:-1],
            "age_to": edges[1:],
            "mean_age": mean_age,
            "contacts": n_contacts.astype(np.int64),
            "mailed": mailed.astype(np.int64),
            "first_sends": firsts,
            "hard_bounces": bounces,
            "bounce_rate": rate,
            "ci_low": lo,
            "ci_high": hi,
            "predicted": predicted,
        }
    )
    # which model ``predicted`` comes from (a chart must not draw it beside another one)
    out.attrs["monthly_rate"] = float(model.monthly_rate)
    out.attrs["visibility"] = float(visibility)
    return out


def _months(months) -> np.ndarray:
    """Ages in months as floats. Time differences (``as_of - last_contacted``, a
    ``pd.Timedelta``) are converted at MONTH_DAYS days a month: taken as numbers they
    would be nanoseconds, and every contact would be fully decayed."""
    if isinstance(months, (pd.Timedelta, timedelta, np.timedelta64)):
        months = pd.Timedelta(months).total_seconds() / 86_400.0 / MONTH_DAYS
    elif isinstance(months, (pd.Series, pd.Index, np.ndarray, list, tuple)):
        td = pd.Series(months) if not isinstance(months, pd.Series) else months
        if pd.api.types.is_timedelta64_dtype(td.dtype) or (
            td.dtype == object and len(td) and td.map(lambda v: isinstance(v, (pd.Timedelta, timedelta))).all()
        ):
            days = pd.to_timedelta(td).dt.total_seconds().to_numpy(dtype=float) / 86_400.0
            months = days / MONTH_DAYS
    try:
        arr = np.asarray(months, dtype=float)
    except (TypeError, ValueError):
        raise ConfigError(
            "Ages must be numbers of months (or time differences such as "
            "as_of - last_contacted)."
        ) from None
    if np.any(arr < 0):
        raise ConfigError("Ages and durations in months cannot be negative.")
    return arr


def _like(template, values):
    if isinstance(template, pd.Series):
        return pd.Series(values, index=template.index, name=template.name)
    if np.ndim(values) == 0:
        return float(values)
    return values


__all__ = [
    "DEFAULT_MONTHLY_RATE",
    "MONTH_DAYS",
    "DecayModel",
    "GroupFit",
    "kaplan_meier",
    "turnbull",
    "logrank_test",
    "durations_from",
    "bounce_rate_by_cohort",
    "wilson_interval",
]
