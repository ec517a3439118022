"""One analysis check, and what the verdicts decide.

Every interval the engine fetches stable and canary windows for each rule's route class (the
last interval for ``scope="interval"`` judges, everything since the step began for
``"cumulative"`` ones), asks each rule's judge for a verdict, and counts per SLO:

* a ``fail`` counts toward the rule's ``failure_limit``: reaching it rolls back (onFailure).
  A *decided* fail (``evidence["decided"]``, from anytime-valid judges) is final at once: the
  sequential test already controls false alarms over every look, so waiting for a second
  failed check would only keep a certain regression in front of players for one more interval;
* an ``error`` (no data) counts toward ``missing_limit`` consecutive checks: reaching it
  applies the rule's missing-data action (rollback or pause);
* at the end of the window every SLO is judged once more over the whole window; the step
  passes only if every SLO passes that final check (no data → missing-data action,
  too few requests → inconclusive → pause). So missing data never promotes.

An SLO with ``required: false`` can fail the canary but never holds it up: its checks without
data or with too few requests are ignored (for low-traffic route classes). A policy must keep
at least one required SLO, so the decision always rests on data.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from canaryctl.analysis.base import Judge, Outcome, Verdict
from canaryctl.config.units import format_duration
from canaryctl.errors import MetricsError
from canaryctl.metrics.base import MetricSource, NoData, Target, WindowStats
from canaryctl.rollout.plan import RuleSpec
from canaryctl.rollout.record import jsonable

__all__ = [
    "Decision",
    "Results",
    "after_check",
    "analysis_check",
    "final_decision",
    "run_check",
    "update_counters",
]

Results = list[tuple[RuleSpec, Verdict, dict[str, Any]]]


@dataclass(frozen=True)
class Decision:
    """kind: pass | fail | missing | inconclusive; ``action`` for missing: rollback | pause."""

    kind: str
    reason: str
    action: str | None = None


def _fetch(
    metrics: MetricSource, target: Target, start: float, end: float, route: str | None
) -> WindowStats | NoData:
    try:
        return metrics.window(target, start, end, route)
    except MetricsError as exc:  # an unreachable source is missing data, not a crash
        return NoData(reason=str(exc), target=target, route_class=route)


def run_check(
    rules: tuple[RuleSpec, ...],
    metrics: MetricSource,
    judge_for: Callable[[str], Judge],
    *,
    start: float,
    now: float,
    interval: float,
    final: bool,
) -> list[tuple[RuleSpec, Verdict, dict[str, Any]]]:
    """Judge every rule once. With ``final``, interval-scope judges see the whole window."""
    cache: dict[tuple[Target, float, float, str | None], WindowStats | NoData] = {}
    out = []
    for rule in rules:
        judge = judge_for(rule.slo.judge)
        whole = final or judge.scope == "cumulative"
        ws = start if whole else max(start, now - interval)
        windows = []
        for target in (Target.STABLE, Target.CANARY):
            key = (target, ws, now, rule.slo.route_class)
            if key not in cache:
                cache[key] = _fetch(metrics, target, ws, now, rule.slo.route_class)
            windows.append(cache[key])
        verdict = judge.judge(rule.slo, windows[0], windows[1])
        meta = {
            "judge": rule.slo.judge,
            "window": [ws, now],
            "check": "final" if final else "interval",
        }
        out.append((rule, verdict, meta))
    return out


def update_counters(counters: dict[str, Any], results: list[tuple[RuleSpec, Verdict, Any]]) -> None:
    for rule, verdict, _ in results:
        c = counters.setdefault(rule.name, {"checks": 0, "failures": 0, "missing": 0})
        c["checks"] += 1
        c["last"] = verdict.outcome.value
        if verdict.outcome is Outcome.FAIL:
            c["failures"] += 1
        if verdict.outcome is Outcome.ERROR and rule.required:
            c["missing"] += 1
        elif verdict.outcome is not Outcome.ERROR:
            c["missing"] = 0


def verdict_dict(verdict: Verdict, meta: dict[str, Any], t: float, step: int) -> dict[str, Any]:
    return jsonable({**verdict.to_dict(), **meta, "t": t, "step": step})


def after_check(
    counters: dict[str, Any], results: list[tuple[RuleSpec, Verdict, Any]]
) -> Decision | None:
    """A decision reached before the window ends (limits), or None to keep watching."""
    for rule, verdict, _ in results:
        c = counters[rule.name]
        decided = verdict.outcome is Outcome.FAIL and verdict.evidence.get("decided") is True
        if decided:
            return Decision("fail", f"{rule.name} failed (a decided regression): {verdict.message}")
        if c["failures"] >= rule.failure_limit:
            return Decision(
                "fail",
                f"{rule.name} failed {c['failures']} checks (limit {rule.failure_limit}): "
                f"{verdict.message}",
            )
    for rule, verdict, _ in results:
        c = counters[rule.name]
        if c["missing"] >= rule.missing_limit:
            return Decision(
                "missing",
                f"{rule.name} had no data for {c['missing']} checks in a row "
                f"(limit {rule.missing_limit}): {verdict.message}",
                rule.missing_action,
            )
    return None


def early_pass(results: list[tuple[RuleSpec, Verdict, Any]]) -> bool:
    """Every rule opted into early promotion, and every *required* rule's judge says the pass
    is already certain (``evidence["decided"]`` on a pass, set by anytime-valid judges).
    Optional rules (``required: false``) never hold a promotion up, early or at the end of the
    window: they only must not be failing. (A relative rule such as "no worse than stable" can
    never be proven for a canary equal to stable; it is there to catch regressions.)"""
    required = [(r, v) for r, v, _ in results if r.required]
    return (
        bool(required)
        and all(rule.early_promotion for rule, _, _ in results)
        and all(v.outcome is not Outcome.FAIL for _, v, _ in results)
        and all(
            v.outcome is Outcome.PASS and v.evidence.get("decided") is True for _, v in required
        )
    )


def final_decision(results: list[tuple[RuleSpec, Verdict, Any]], window: str) -> Decision:
    """The step's decision from the whole-window verdicts."""
    for outcome, kind in ((Outcome.FAIL, "fail"), (Outcome.ERROR, "missing")):
        bad = [
            (r, v) for r, v, _ in results if v.outcome is outcome and (r.required or kind == "fail")
        ]
        if bad:
            rule, verdict = bad[0]
            what = "failed" if kind == "fail" else "had no data"
            return Decision(
                kind,
                f"{rule.name} {what} over the whole {window} window: {verdict.message}",
                rule.missing_action if kind == "missing" else None,
            )
    unsure = [(r, v) for r, v, _ in results if v.outcome is Outcome.INCONCLUSIVE and r.required]
    if unsure:
        rule, verdict = unsure[0]
        # anytime-valid judges already say it (with the time at the current rate)
        said = "more canary requests" in verdict.message
        more = (
            f"; needs about {verdict.needed_requests} more canary requests"
            if verdict.needed_requests and not said
            else ""
        )
        return Decision("inconclusive", f"{rule.name} is inconclusive: {verdict.message}{more}")
    return Decision("pass", f"every SLO passed over the whole {window} window")


def analysis_check(
    rules: tuple[RuleSpec, ...],
    metrics: MetricSource,
    judge_for: Callable[[str], Judge],
    counters: dict[str, Any],
    *,
    start: float,
    end: float,
    now: float,
    interval: float,
    on_results: Callable[[Results, bool], None] | None = None,
) -> Decision | None:
    """One due check of an analysis step ``[start, end)`` at ``now``: the whole decision path
    the engine follows, shared with ``canaryctl policy backtest``.

    Judge every rule on its scope's window and count the outcomes (``counters``); a limit
    reached decides (fail, missing data); every rule certain of its pass with early promotion
    decides ``pass``; at ``now >= end`` the interval-scope rules are judged once more over the
    whole window and ``final_decision`` decides. Otherwise None: keep watching.
    ``on_results(results, final)`` sees each batch of verdicts (the engine records them)."""
    results = run_check(
        rules, metrics, judge_for, start=start, now=now, interval=interval, final=False
    )
    update_counters(counters, results)
    if on_results is not None:
        on_results(results, False)
    decision = after_check(counters, results)
    if decision is None and early_pass(results):
        return Decision("pass", "every SLO passed conclusively (early promotion)")
    if decision is not None or now < end:
        return decision
    # Interval-scope judges get one more verdict over the whole window; cumulative ones just
    # judged it.
    again = tuple(r for r in rules if judge_for(r.slo.judge).scope != "cumulative")
    kept = [x for x in results if x[0] not in again]
    more = run_check(again, metrics, judge_for, start=start, now=now, interval=interval, final=True)
    if on_results is not None:
        on_results(more, True)
    return final_decision(kept + more, format_duration(end - start))
