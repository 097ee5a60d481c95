"""Lead-funnel arithmetic: how many sales opportunities marketing must hand over.

Closes needed = revenue target / deal size; opportunities needed = closes / close rate.
With 100,000 EUR a month, 4,000 EUR per deal and a close rate of one third: 25 closes and
75 opportunities a month. A year of 900 opportunities at 33% gives 297 closes and
1,188,000 EUR; 10% more close rate (36.3%) gives 326.7 closes and 1,306,800 EUR, 118,800
EUR more: about 2.5 more won opportunities a month.

:func:`decay_loss` links this to list decay: what a decaying list costs in contacts and
expected opportunities each month.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import NamedTuple

import pandas as pd

from .exceptions import ConfigError


def _positive(value, what: str, *, allow_zero: bool = False) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{what} must be a number, got {value!r}.") from None
    if math.isnan(v) or math.isinf(v) or v < 0 or (v == 0 and not allow_zero):
        need = "0 or more" if allow_zero else "above 0"
        raise ConfigError(f"{what} must be a finite number {need}, got {value!r}.")
    return v


def _share(value, what: str, *, allow_zero: bool = False) -> float:
    v = _positive(value, what, allow_zero=allow_zero)
    if v > 1:
        raise ConfigError(f"{what} is a share between 0 and 1 (e.g. 0.33 for 33%), got {value!r}.")
    return v


@dataclass(frozen=True)
class Requirements:
    """What a revenue target needs per period (the period of the target)."""

    closes: float
    opportunities: float


def requirements(revenue_target: float, deal_size: float, close_rate: float) -> Requirements:
    """Closes (target / deal size) and opportunities (closes / close rate) a target needs.

    >>> requirements(100_000, 4_000, 1 / 3)
    Requirements(closes=25.0, opportunities=75.0)
    """
    target = _positive(revenue_target, "revenue_target", allow_zero=True)
    deal = _positive(deal_size, "deal_size")
    rate = _share(close_rate, "close_rate")
    closes = target / deal
    return Requirements(closes=closes, opportunities=closes / rate)


class Uplift(NamedTuple):
    """Result of :func:`uplift_table`: the table and the revenue difference."""

    table: pd.DataFrame
    revenue_difference: float

    def _repr_html_(self) -> str:
        # Jupyter: the table and the revenue difference (listcare.display)
        from .display import uplift_doc

        return uplift_doc(self).html()


def uplift_table(
    opportunities: float, close_rate: float, deal_size: float, uplift: float = 0.10
) -> Uplift:
    """A yearly (or any period's) comparison of a baseline and an improved close rate.

    The improved close rate is ``close_rate * (1 + uplift)`` (a 10% better rate, not 10
    points). Returns ``(table, revenue_difference)``: table rows ``opportunities``,
    ``close rate``, ``closes``, ``revenue``; columns ``baseline`` and ``improved``.

    >>> table, more = uplift_table(900, 0.33, 4_000)
    >>> round(more)
    118800
    """
    opp = _positive(opportunities, "opportunities", allow_zero=True)
    rate = _share(close_rate, "close_rate")
    deal = _positive(deal_size, "deal_size")
    up = _positive(uplift, "uplift", allow_zero=True)
    better = rate * (1.0 + up)
    if better > 1:
        raise ConfigError(
            f"close_rate x (1 + uplift) = {better:.3g} exceeds 1: no more than every opportunity can close."
        )
    cols = {}
    for name, r in (("baseline", rate), ("improved", better)):
        closes = opp * r
        cols[name] = [opp, r, closes, closes * deal]
    table = pd.DataFrame(
        cols, index=pd.Index(["opportunities", "close rate", "closes", "revenue"], name="yearly")
    )
    # money: to the cent, so 1,306,800 - 1,188,000 reads 118800.0, not 118800.00000000023
    return Uplift(table, round(float(table.loc["revenue", "improved"] - table.loc["revenue", "baseline"]), 2))


@dataclass(frozen=True)
class DecayLoss:
    """What a list loses each month to decay."""

    contacts_lost_per_month: float
    opportunities_lost_per_month: float


def decay_loss(contacts: float, monthly_rate, lead_to_opportunity_rate: float) -> DecayLoss:
    """Contacts a list of *contacts* loses per month, and the opportunities they would bring.

    *monthly_rate* is a share (0.021) or a :class:`listcare.DecayModel`;
    *lead_to_opportunity_rate* the share of contacts that become a sales opportunity.
    Figures are for the coming month (contacts x monthly rate).

    >>> decay_loss(10_000, 0.021, 0.05)
    DecayLoss(contacts_lost_per_month=210.0, opportunities_lost_per_month=10.5)
    """
    n = _positive(contacts, "contacts", allow_zero=True)
    rate = getattr(monthly_rate, "monthly_rate", monthly_rate)
    rate = _share(rate, "monthly_rate", allow_zero=True)
    if rate >= 1:
        raise ConfigError("monthly_rate must be below 1.")
    conv = _share(lead_to_opportunity_rate, "lead_to_opportunity_rate", allow_zero=True)
    lost = n * rate
    return DecayLoss(contacts_lost_per_month=lost, opportunities_lost_per_month=lost * conv)


__all__ = ["Requirements", "requirements", "Uplift", "uplift_table", "DecayLoss", "decay_loss"]
