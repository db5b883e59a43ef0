"""A/B design: the sample-size formula against reference values, the split and the verdict."""

from __future__ import annotations

import pytest

from tools.ab_design import (
    Baseline,
    channel_baseline,
    design,
    design_ab_test,
    detectable_lift,
    power_of,
    sample_size_per_arm,
)
from tools.result import ToolContext
from warehouse.errors import EmptyResult, InvalidArgument


@pytest.mark.parametrize(("p1", "p2", "pooled", "n"), [
    (0.10, 0.12, True, 3841),    # the pooled-variance formula (Fleiss, no continuity correction)
    (0.10, 0.12, False, 3839),   # unpooled variance: (za + zb)^2 (p1q1 + p2q2) / d^2
    (0.20, 0.30, True, 294),
    (0.50, 0.60, True, 388),
    (0.12, 0.10, True, 3841),    # symmetric in the direction of the change
])
def test_sample_size_matches_reference_values(p1, p2, pooled, n):
    assert sample_size_per_arm(p1, p2, pooled=pooled) == n


def test_power_and_detectable_lift_agree_with_the_sample_size():
    assert power_of(0.10, 0.12, 3841, 3841) >= 0.8 > power_of(0.10, 0.12, 3840, 3840)
    assert detectable_lift(0.10, 3841, 3841) == pytest.approx(0.20, abs=1e-3)
    assert detectable_lift(0.10, 2, 2) is None       # nothing below 100% is detectable
    # a stricter significance level needs more customers
    assert sample_size_per_arm(0.10, 0.12, alpha=0.05 / 3) > 3841


def test_design_splits_the_audience_and_says_when_it_is_enough():
    base = Baseline(0.10, "given")
    big = design(base, channel="email", audience=10_000, min_lift=0.2, variants=2, holdout=0.1)
    assert (big.per_arm_needed, big.per_arm_available, big.holdout_size) == (3841, 4500, 1000)
    assert big.feasible and big.total_needed == 8536      # ceil(2 * 3841 / 0.9)
    assert big.detectable_lift < 0.2
    small = design(base, channel="email", audience=2_000, variants=2, holdout=0.1)
    assert small.feasible is False and small.per_arm_available == 900
    # the lift detectable with 900 per arm is the one that needs exactly 900 per arm
    assert sample_size_per_arm(0.10, 0.10 * (1 + small.detectable_lift)) == 900
    assert small.detectable_lift == pytest.approx(0.43, abs=0.01)
    split = small.split()
    assert list(split["group"]) == ["Variant A", "Variant B", "Holdout (no message)"]
    assert list(split["customers"]) == [900, 900, 200]


def test_more_variants_split_the_significance_level():
    three = design(Baseline(0.10, "given"), channel="push", audience=None, variants=3,
                   holdout=0.0)
    assert three.alpha == pytest.approx(0.05 / 3)
    assert three.per_arm_needed == sample_size_per_arm(0.10, 0.12, alpha=0.05 / 3)
    assert any("Bonferroni" in n for n in three.notes)


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"variants": 5}, "variants must be between 1 and 4"),
    ({"min_lift": 0}, "relative lift"),
    ({"holdout": 0.6}, "holdout is a share below 0.5"),
    ({"variants": 1, "holdout": 0}, "not a test"),
])
def test_design_rejects_impossible_tests(kwargs, message):
    with pytest.raises(InvalidArgument, match=message):
        design(Baseline(0.1, "given"), channel="email", audience=1000, **kwargs)


@pytest.fixture
def ctx(wh, tmp_path):
    return ToolContext(wh=wh, settings=None, output_dir=tmp_path)


def test_the_baseline_follows_the_contract_definition(ctx, wh):
    events = wh.df("SELECT e.campaign_id, e.customer_id, e.event FROM campaign_events e "
                   "JOIN campaigns c USING (campaign_id) WHERE c.channel = 'email'")
    pairs = events.drop_duplicates()
    sent = len(pairs[pairs.event == "sent"])
    converted = len(pairs[pairs.event == "converted"])
    base = channel_baseline(ctx, "email")
    assert base.sends == sent and base.rate == pytest.approx(converted / sent)
    assert base.campaigns == wh.scalar("SELECT count(*) FROM campaigns WHERE channel = 'email' "
                                       "AND campaign_id IN (SELECT campaign_id FROM "
                                       "campaign_events)")


def test_the_tool_reports_the_design_in_words(ctx):
    result = design_ab_test(ctx, channel="email", audience_size=1_500)
    text = result.summary
    assert "Baseline conversion rate for email" in text and "past email campaigns" in text
    assert "too small" in text and "lift of" in text
    assert result.data["audience"] == 1_500 and result.data["feasible"] is False
    assert result.sql and "campaign_events" in result.sql[0]
    big = design_ab_test(ctx, channel="email", audience_size=5_000_000, baseline_rate=0.05)
    assert "That is enough for the test." in big.summary


def test_all_marketable_customers_are_the_default_audience(ctx):
    result = design_ab_test(ctx, channel="sms", holdout=0.2)
    assert result.data["audience"] > 0
    assert result.data["holdout_size"] == round(result.data["audience"] * 0.2)


def test_a_channel_without_history_asks_for_a_baseline(ctx):
    with pytest.raises(EmptyResult, match=r"no past in_app campaigns.*baseline_rate"):
        design_ab_test(ctx, channel="in_app", audience_size=1000)
    result = design_ab_test(ctx, channel="in_app", audience_size=1000, baseline_rate=0.03)
    assert result.data["baseline"] == 0.03
    with pytest.raises(InvalidArgument, match="unknown channel"):
        design_ab_test(ctx, channel="fax")
