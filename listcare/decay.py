"""List decay as a survival model with a constant monthly hazard.

The widely quoted figure (MarketingSherpa) is 2.1% of contacts going bad per month:
S(t) = (1 - m) ** t, so a year loses 1 - 0.979 ** 12 = 22.5% (compounded), which people
round to "about 25%" (12 x 2.1% = 25.2% without compounding).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from .exceptions import ConfigError

DEFAULT_MONTHLY_RATE = 0.021


def _check_rate(rate: float, what: str) -> float:
    rate = float(rate)
    if not (0.0 <= rate < 1.0) or math.isnan(rate):
        raise ConfigError(f"{what} must be a share between 0 and 1 (e.g. 0.021 for 2.1%), got {rate!r}.")
    return rate


class DecayModel:
    """Share of a list still reachable after *t* months, at a constant monthly rate."""

    def __init__(self, monthly_rate: float = DEFAULT_MONTHLY_RATE):
        self._monthly_rate = _check_rate(monthly_rate, "monthly_rate")

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

    # ------------------------------------------------------------------ curves
    def survival(self, months):
        """Share of contacts still good after *months* (scalar, array or Series)."""
        return _like(months, np.exp(-self.hazard * _months(months)))

    def decayed(self, months):
        """Share of contacts gone bad after *months*: 1 - survival."""
        return _like(months, -np.expm1(-self.hazard * _months(months)))

    def expected_bounce_rate(self, ages_in_months, visibility: float = 1.0) -> float:
        """Expected hard-bounce share of a list whose contacts have these ages.

        *visibility* is the share of decayed contacts whose decay shows as a hard bounce:
        a person who changed jobs may leave a live mailbox behind (visibility < 1).
        """
        visibility = float(visibility)
        if not 0.0 <= visibility <= 1.0:
            raise ConfigError(f"visibility must be between 0 and 1, got {visibility!r}.")
        ages = _months(ages_in_months)
        if ages.size == 0:
            return 0.0
        return float(visibility * np.mean(-np.expm1(-self.hazard * ages)))

    def __repr__(self) -> str:
        return (
            f"DecayModel(monthly_rate={self.monthly_rate:.4g}; "
            f"{self.annual_rate:.1%} a year compounded, half-life {self.half_life_months:.1f} months)"
        )


def _months(months) -> np.ndarray:
    arr = np.asarray(months, dtype=float)
    if np.any(arr < 0):
        raise ConfigError("Ages and durations in months cannot be negative.")
    return arr


def _like(template, values):
    if isinstance(template, pd.Series):
        return pd.Series(values, index=template.index, name=template.name)
    if np.ndim(values) == 0:
        return float(values)
    return values
