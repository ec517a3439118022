"""Policies compile into SLO rules with cascaded settings."""

from __future__ import annotations

from pathlib import Path

import pytest

from canaryctl.config import load_policy
from canaryctl.errors import ConfigError

ROOT = Path(__file__).resolve().parents[3]
HEAD = "apiVersion: canaryctl/v1\nkind: Policy\n"


def policy(tmp_path, body: str):
    f = tmp_path / "policy.yaml"
    f.write_text(HEAD + body)
    return load_policy(f)


def test_the_shipped_policy_compiles_to_named_rules():
    loaded = load_policy(ROOT / "policies" / "gamebackend.yaml")
    rules = {r.name: r for r in loaded.rules}
    assert {"all.error_rate", "all.p95", "all.p99", "all.relative.p95", "all.relative.shape",
            "all.relative.error_rate", "wallet.error_rate", "wallet.p95"} <= set(rules)  # fmt: skip
    assert rules["all.p95"].slo.threshold == 0.25 and rules["all.p95"].slo.quantile == 0.95
    assert rules["all.p95"].slo.route_class is None  # "all" is every request together
    assert rules["all.error_rate"].slo.threshold == 0.01
    rel = rules["all.relative.p95"].slo
    assert (rel.comparison, rel.factor, rel.threshold) == ("relative", 1.2, 0.05)
    err = rules["all.relative.error_rate"].slo
    assert (err.comparison, err.factor, err.threshold) == ("relative", 1.2, 0.0015)
    shape = rules["all.relative.shape"].slo
    assert (shape.judge, shape.kind, shape.factor, shape.threshold) == (
        "distribution",
        "latency",
        1.25,
        None,
    )
    # the default: anytime-valid tests, acting on the first (certain) failure
    sequential = [r for r in loaded.rules if r.name != "all.relative.shape"]
    assert all(r.slo.judge == "sequential" for r in sequential)
    assert all(r.slo.params["alpha"] == 0.01 and r.slo.params["min_bake"] == 30 for r in sequential)
    assert shape.params["alpha"] == 0.01  # the block's judge parameters reach the shape rule
    assert rules["wallet.p95"].slo.min_requests == 20  # class setting
    assert rules["all.p95"].slo.min_requests == 100  # the class's, for p99
    assert rules["all.relative.error_rate"].required and not rules["inventory.p95"].required
    assert all(r.failure_limit == 1 and r.early_promotion for r in loaded.rules)


def test_the_fixed_window_policy_compiles_to_threshold_rules():
    loaded = load_policy(ROOT / "policies" / "gamebackend-threshold.yaml")
    rules = {r.name: r for r in loaded.rules}
    assert all(r.slo.judge == "threshold" for r in loaded.rules)
    rel = rules["all.relative.p95"].slo
    assert (rel.comparison, rel.factor, rel.threshold) == ("relative", 1.2, 0.1)
    assert rules["all.relative.error_rate"].slo.params["margin"] == 0.01
    assert rules["all.p95"].slo.min_requests == 30  # analysis default
    assert all(r.failure_limit == 2 and r.missing_action == "rollback" for r in loaded.rules)


def test_a_latency_shape_bound_is_judged_by_the_distribution_judge(tmp_path):
    loaded = policy(
        tmp_path,
        """
analysis: {judge: {type: sequential, alpha: 5%}}
slos:
  all: {relative: {shape: 1.5x}}
  wallet: {relative: {shape: {factor: 2x, floor: 100ms}, p95: 1.2x}}
""",
    )
    rules = {r.name: r.slo for r in loaded.rules}
    assert rules["all.relative.shape"].judge == "distribution"
    assert rules["all.relative.shape"].params["alpha"] == 0.05
    assert (rules["all.relative.shape"].factor, rules["all.relative.shape"].threshold) == (
        1.5,
        None,
    )
    assert (rules["wallet.relative.shape"].factor, rules["wallet.relative.shape"].threshold) == (
        2.0, 0.1
    )  # fmt: skip
    assert rules["wallet.relative.p95"].judge == "sequential"


def test_a_shape_factor_below_one_is_refused_with_its_line(tmp_path):
    with pytest.raises(ConfigError) as caught:
        policy(tmp_path, "slos:\n  all:\n    relative: {shape: 0.9x}\n")
    assert "policy.yaml:" in str(caught.value) and "below 1x" in str(caught.value)


def test_settings_cascade_from_analysis_to_class_to_block(tmp_path):
    loaded = policy(
        tmp_path,
        """
analysis: {failureLimit: 3, missingData: {action: pause, limit: 5}, judge: threshold}
slos:
  wallet:
    failureLimit: 2
    errorRate: {max: 0.5%, failureLimit: 1, judge: {type: sequential, alpha: 1%}}
    latency: {p99: 400ms, minRequests: 200, earlyPromotion: true}
""",
    )
    rules = {r.name: r for r in loaded.rules}
    err, p99 = rules["wallet.error_rate"], rules["wallet.p99"]
    assert err.failure_limit == 1 and p99.failure_limit == 2
    assert err.missing_action == "pause" and err.missing_limit == 5
    assert err.slo.judge == "sequential" and err.slo.params["alpha"] == 0.01
    assert p99.slo.judge == "threshold" and p99.slo.min_requests == 200
    assert p99.early_promotion and p99.slo.params["early_promotion"] is True
    assert p99.slo.quantile == pytest.approx(0.99) and p99.slo.route_class == "wallet"


def test_relative_forms(tmp_path):
    loaded = policy(
        tmp_path,
        """
slos:
  all:
    relative:
      minRequests: 100
      p95: 1.5x
      p99: {maxIncrease: 100ms, floor: 200ms}
      errorRate: {factor: 2x}
""",
    )
    rules = {r.name: r.slo for r in loaded.rules}
    assert rules["all.relative.p95"].factor == 1.5
    assert rules["all.relative.p95"].threshold == 0.05  # the default latency floor
    assert rules["all.relative.p99"].params["margin"] == 0.1
    assert rules["all.relative.p99"].threshold == 0.2
    assert rules["all.relative.error_rate"].threshold == 0.005  # the default rate floor


def test_quantiles_need_enough_requests_to_be_measured(tmp_path):
    with pytest.raises(ConfigError, match="set minRequests to at least 1000") as info:
        policy(tmp_path, "slos:\n  all:\n    latency:\n      p99.9: 1s\n")
    assert info.value.line == 6 and info.value.field == "slos.all.latency.p99.9"


def test_the_default_judge_is_the_sequential_one(tmp_path):
    loaded = policy(
        tmp_path, "slos:\n  all:\n    errorRate: {max: 1%}\n    latency: {p95: 250ms}\n"
    )
    assert {r.slo.judge for r in loaded.rules} == {"sequential"}
    assert all(r.slo.params.get("alpha") is None for r in loaded.rules)  # the judge's own 1%
