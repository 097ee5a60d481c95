"""Lead-funnel arithmetic: the issue's worked example, exactly."""

from __future__ import annotations

import dataclasses
import doctest

import pytest

from listcare import funnel
from listcare.decay import DecayModel
from listcare.exceptions import ConfigError


def test_requirements_of_the_monthly_target():
    r = funnel.requirements(100_000, 4_000, 1 / 3)
    assert r.closes == 25
    assert r.opportunities == pytest.approx(75, abs=1e-9)
    assert dataclasses.is_dataclass(r)
    with pytest.raises(dataclasses.FrozenInstanceError):
        r.closes = 30


def test_uplift_table_reproduces_the_yearly_example():
    table, more = funnel.uplift_table(900, 0.33, 4_000, uplift=0.10)
    assert list(table.index) == ["opportunities", "close rate", "closes", "revenue"]
    assert list(table.columns) == ["baseline", "improved"]
    base, better = table["baseline"], table["improved"]
    assert base["opportunities"] == better["opportunities"] == 900
    assert base["close rate"] == 0.33 and better["close rate"] == pytest.approx(0.363, abs=1e-12)
    assert base["closes"] == pytest.approx(297, abs=1e-9)
    assert better["closes"] == pytest.approx(326.7, abs=1e-9)
    assert base["revenue"] == pytest.approx(1_188_000, abs=1e-6)
    assert better["revenue"] == pytest.approx(1_306_800, abs=1e-6)
    assert more == pytest.approx(118_800, abs=1e-6)
    # "about 2.5 more good opportunities a month"
    per_month = (better["closes"] - base["closes"]) / 12
    assert per_month == pytest.approx(2.475) and round(per_month, 1) == 2.5
    # the year is twelve months of the monthly requirement
    r = funnel.requirements(100_000, 4_000, 1 / 3)
    assert 12 * r.opportunities == pytest.approx(900)


def test_decay_loss_links_decay_to_opportunities():
    loss = funnel.decay_loss(10_000, 0.021, 0.05)
    assert loss.contacts_lost_per_month == pytest.approx(210)
    assert loss.opportunities_lost_per_month == pytest.approx(10.5)
    assert funnel.decay_loss(
        10_000, DecayModel(0.03), 0.1
    ).opportunities_lost_per_month == pytest.approx(30)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: funnel.requirements(100_000, 0, 0.3), "deal_size"),
        (lambda: funnel.requirements(100_000, 4_000, 0), "close_rate"),
        (lambda: funnel.requirements(100_000, 4_000, 33), "share between 0 and 1"),
        (lambda: funnel.requirements(-5, 4_000, 0.3), "revenue_target"),
        (lambda: funnel.requirements("lots", 4_000, 0.3), "must be a number"),
        (lambda: funnel.uplift_table(900, 0.95, 4_000, uplift=0.10), "exceeds 1"),
        (lambda: funnel.uplift_table(float("nan"), 0.3, 4_000), "opportunities"),
        (lambda: funnel.decay_loss(1000, 1.2, 0.1), "monthly_rate"),
        (lambda: funnel.decay_loss(1000, 0.02, -0.1), "lead_to_opportunity_rate"),
    ],
)
def test_bad_inputs_raise_config_errors(call, message):
    with pytest.raises(ConfigError, match=message):
        call()


def test_docstring_examples():
    result = doctest.testmod(funnel)
    assert result.attempted >= 3 and result.failed == 0
