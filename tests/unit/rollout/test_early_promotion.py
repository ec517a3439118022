"""Early promotion: every required SLO certainly met; optional SLOs never hold it up but a
failing one still blocks it."""

from __future__ import annotations

from typing import Any

from canaryctl.analysis.base import Outcome, SloRule, Verdict
from canaryctl.rollout.analysis import early_pass
from canaryctl.rollout.plan import RuleSpec


def rule(name: str, *, required: bool = True, early: bool = True) -> RuleSpec:
    return RuleSpec(
        slo=SloRule(name, "error_rate", threshold=0.01, judge="sequential"),
        failure_limit=1,
        missing_action="rollback",
        missing_limit=3,
        early_promotion=early,
        required=required,
    )


def verdict(name: str, outcome: Outcome, decided: bool = False) -> Verdict:
    return Verdict(name, outcome, None, 0.0, 0.01, evidence={"decided": decided})


def results(*pairs: tuple[RuleSpec, Verdict]) -> list[tuple[RuleSpec, Verdict, Any]]:
    return [(r, v, {}) for r, v in pairs]


CERTAIN = Outcome.PASS, True


def test_every_required_slo_certain_promotes_early():
    a, b = rule("all.error_rate"), rule("all.p95")
    assert early_pass(results((a, verdict(a.name, *CERTAIN)), (b, verdict(b.name, *CERTAIN))))
    # one required SLO merely passing (not yet certain) holds it up
    assert not early_pass(
        results((a, verdict(a.name, *CERTAIN)), (b, verdict(b.name, Outcome.PASS)))
    )


def test_an_optional_slo_that_cannot_be_proven_does_not_hold_it_up():
    a, rel = rule("all.error_rate"), rule("all.relative.error_rate", required=False)
    for outcome in (Outcome.INCONCLUSIVE, Outcome.PASS, Outcome.ERROR):
        assert early_pass(
            results((a, verdict(a.name, *CERTAIN)), (rel, verdict(rel.name, outcome)))
        )


def test_a_failing_optional_slo_blocks_early_promotion():
    a, rel = rule("all.error_rate"), rule("all.relative.error_rate", required=False)
    assert not early_pass(
        results((a, verdict(a.name, *CERTAIN)), (rel, verdict(rel.name, Outcome.FAIL)))
    )


def test_no_required_slo_or_an_slo_without_early_promotion_never_promotes_early():
    rel = rule("all.relative.error_rate", required=False)
    assert not early_pass(results((rel, verdict(rel.name, *CERTAIN))))
    a, b = rule("all.error_rate"), rule("wallet.error_rate", early=False)
    assert not early_pass(results((a, verdict(a.name, *CERTAIN)), (b, verdict(b.name, *CERTAIN))))
