"""Decision quality of canary judges, side by side in one seeded run; prints one JSON object.

    .venv/bin/python benchmarks/decision.py [--runs 500] [--seed 20261122] [--workers 2]

A simulator of stable and canary traffic: Poisson arrivals (200 requests/s, 10% to the canary,
so 20 canary requests/s), errors drawn per request, latency from a lognormal body with a slow
lognormal tail, counted into the shared histogram buckets (``LATENCY_BUCKETS``). Every judge
sees ``WindowStats`` built from those counts and is called through the ``Judge`` protocol:

The policy is the ``all`` SLOs of the shipped default, read from policies/gamebackend.yaml.

* ``canaryctl-sequential+distribution``: the shipped policy as the engine runs it: every rule
  (``SequentialJudge``; the latency shape by ``DistributionJudge``) re-judged every second on
  the cumulative windows, decided by the engine's own functions: a fail rolls back (failureLimit
  1), ``early_pass`` promotes early (every required rule certain after the minimum bake),
  otherwise ``final_decision`` at the end of the 300 s window;
* ``canaryctl-sequential``: the same without the latency-shape rule;
* ``flagger-style``: ``ThresholdJudge`` on the last 1-minute interval, once a minute, one failed
  check rolls back, promoted after 5 checks (Flagger's defaults: interval 1m, threshold 1),
  same rules as ``canaryctl-sequential``;
* ``flagger-slos``: the same with the policy's absolute rules only (error rate, p95, p99),
  which is what a Flagger user writes: Flagger's metric checks have no baseline comparison;
* ``flagger-defaults``: only Flagger's built-in checks (success rate >= 99%, p99 <= 500 ms);
* ``codedeploy-style``: 10% for 5 minutes, then one alarm evaluation of the policy on the whole
  window (``ThresholdJudge``): roll back or promote at 300 s;
* ``sweep: …`` (``--sweep``, good canary and error regression only): the relative error rule
  alone at other factors and floors, to show what the bound costs in detection time.

Scenarios: good canary; error regression (stable 0.1% → canary 2%); latency regression (+50%
on every request); tail-only (3% of canary requests +1 s, median unchanged); low traffic (2
canary requests/s, good canary); noisy stable (shared error bursts on both versions, good
canary). Reported per scenario and judge: rollback/promote/inconclusive rates with 95%
Clopper-Pearson intervals, false rollback (good canaries) or missed regression rate, time to
verdict (median, p95) and, for inconclusive runs, the judge's estimate of the traffic needed.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
from scipy.stats import beta

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from canaryctl.analysis.base import Judge, Outcome, SloRule, Verdict
from canaryctl.analysis.distribution import DistributionJudge
from canaryctl.analysis.sequential import SequentialJudge
from canaryctl.analysis.threshold import ThresholdJudge
from canaryctl.config import load_policy
from canaryctl.metrics.base import WindowStats
from canaryctl.metrics.routes import LATENCY_BUCKETS
from canaryctl.rollout.analysis import early_pass, final_decision
from canaryctl.rollout.plan import RuleSpec
from recordings.generate import Latency  # the latency model the shipped recordings use

HORIZON = 300  # seconds: CodeDeploy's Canary10Percent5Minutes, and 5 Flagger checks
FLAGGER_INTERVAL = 60
BOUNDS = (*LATENCY_BUCKETS, math.inf)

# The policy every judge applies: the ``all`` SLOs of the shipped default policy, loaded from
# the file (policies/gamebackend.yaml: sequential judge, alpha 1%, minRequests 100, relative
# rules required: false, the latency shape by the distribution judge). The threshold judges
# read only each rule's bounds.
SHIPPED = Path(__file__).resolve().parent.parent / "policies" / "gamebackend.yaml"
SPECS = tuple(r for r in load_policy(SHIPPED).rules if r.slo.route_class is None)
RULES = {r.name: r.slo for r in SPECS}
SHAPE_NAME = "all.relative.shape"
SEQUENTIAL_SPECS = tuple(r for r in SPECS if r.name != SHAPE_NAME)
POLICY = tuple(r.slo for r in SEQUENTIAL_SPECS)  # what a fixed-window judge can check
# Flagger's built-in checks: request success rate >= 99% and request duration p99 <= 500 ms.
FLAGGER_DEFAULTS = (RULES["all.error_rate"], RULES["all.p99"])
# What a Flagger user writes for these SLOs: thresholds on the canary's own metrics (Flagger's
# built-in metric checks have no baseline comparison), so the policy's absolute rules only.
FLAGGER_SLOS = tuple(r for r in POLICY if r.comparison == "absolute")
# The bound sweep (--sweep): the relative error rule alone, at other factors and floors, on the
# error regression and the good canary: what a tighter or looser bound costs in detection time.
SWEEP = ((1.5, 0.002), (1.2, 0.002), (1.0, 0.002), (1.5, 0.0015), (1.2, 0.0015), (1.0, 0.0015),
         (1.0, 0.001))  # fmt: skip


@dataclass(frozen=True)
class Scenario:
    name: str
    description: str
    regression: bool
    rps: float = 200.0
    share: float = 0.1
    stable_errors: float = 0.001
    canary_errors: float = 0.001
    canary_latency: Latency = field(default_factory=Latency)
    burst_start: float = 0.0  # probability per second that a shared error burst begins
    burst_stay: float = 0.0  # probability per second that a burst goes on
    burst_errors: float = 0.0  # error probability of every request during a burst


SCENARIOS = (
    Scenario("good", "good canary (0.1% errors, same latency as stable)", False),
    Scenario("error_regression", "stable 0.1% errors, canary 2%", True, canary_errors=0.02),
    Scenario("latency_regression", "+50% on every canary request", True,
             canary_latency=Latency(scale=1.5)),
    Scenario("tail_regression", "3% of canary requests +1 s, median unchanged", True,
             canary_latency=Latency(shift_share=0.03)),
    Scenario("low_traffic", "good canary at 2 canary requests/s (20 total)", False, rps=20.0),
    Scenario("noisy_stable", "good canary; shared error bursts (5% errors, ~5 s, ~1/min) on "
             "both versions", False, burst_start=1 / 60, burst_stay=0.8, burst_errors=0.05),
)  # fmt: skip


def simulate(s: Scenario, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Per-second counts, cumulative from the start: requests, errors, histogram (cumulative
    over buckets too, as Prometheus buckets are)."""
    total = rng.poisson(s.rps, HORIZON)
    canary = rng.binomial(total, s.share)
    stable = total - canary
    burst = np.zeros(HORIZON, dtype=bool)
    on = False
    draws = rng.random(HORIZON)
    for t in range(HORIZON):
        on = draws[t] < (s.burst_stay if on else s.burst_start)
        burst[t] = on
    out: dict[str, np.ndarray] = {}
    for name, n, p_err, lat in (
        ("s", stable, s.stable_errors, Latency()),
        ("c", canary, s.canary_errors, s.canary_latency),
    ):
        p = np.where(burst, np.maximum(p_err, s.burst_errors), p_err)
        out[f"{name}_n"] = np.cumsum(n)
        out[f"{name}_e"] = np.cumsum(rng.binomial(n, p))
        hist = rng.multinomial(n, lat.bucket_probs())
        out[f"{name}_b"] = np.cumsum(np.cumsum(hist, axis=1), axis=0)
    return out


def window(sim: dict[str, np.ndarray], who: str, start: int, end: int) -> WindowStats:
    """Counts in seconds [start, end) as the metric source would return them."""

    def at(key: str, t: int) -> Any:
        return sim[f"{who}_{key}"][t - 1] if t > 0 else 0

    buckets = tuple(
        (b, int(at("b", end)[i] - (at("b", start)[i] if start else 0)))
        for i, b in enumerate(BOUNDS)
    )
    return WindowStats(int(at("n", end) - at("n", start)), int(at("e", end) - at("e", start)),
                       buckets, start=float(start), end=float(end))  # fmt: skip


def _needed_seconds(verdicts: list[Verdict]) -> float | None:
    secs = [v.evidence.get("needed_seconds") for v in verdicts if v.outcome is Outcome.INCONCLUSIVE]
    known = [x for x in secs if x is not None]
    return max(known) if known else None


Outcome3 = tuple[str, float, Any]  # decision, time (s), detail (needed seconds or failed rules)


def run_sequential(sim: dict[str, np.ndarray]) -> dict[str, Outcome3]:
    """Both canaryctl variants from one pass: every rule judged every second on everything
    since the canary got traffic, decided by the engine's own functions (a failed check rolls
    back: failureLimit 1; ``early_pass``; at the end of the window ``final_decision``)."""
    judges: dict[str, Judge] = {
        "sequential": SequentialJudge(),
        "distribution": DistributionJudge(),
    }
    variants = {
        "canaryctl-sequential": SEQUENTIAL_SPECS,
        "canaryctl-sequential+distribution": SPECS,
    }
    result: dict[str, Outcome3] = {}
    for t in range(1, HORIZON + 1):
        stable, canary = window(sim, "s", 0, t), window(sim, "c", 0, t)
        cache: dict[str, Verdict] = {}
        for name, specs in variants.items():
            if name in result:
                continue
            found: list[tuple[RuleSpec, Verdict, Any]] = []
            for spec in specs:
                if spec.name not in cache:
                    cache[spec.name] = judges[spec.slo.judge].judge(spec.slo, stable, canary)
                found.append((spec, cache[spec.name], {}))
            failed = [v.slo for _, v, _ in found if v.outcome is Outcome.FAIL]
            if failed:
                result[name] = ("rollback", t, failed)
            elif early_pass(found):
                result[name] = ("promote", t, None)
            elif t == HORIZON:
                decision = final_decision(found, f"{HORIZON}s")
                kind = {"pass": "promote", "fail": "rollback"}.get(decision.kind, decision.kind)
                result[name] = (kind, t, _needed_seconds([v for _, v, _ in found]))
        if len(result) == len(variants):
            break
    return result


def _failed(rules: tuple[SloRule, ...], stable: WindowStats, canary: WindowStats) -> list[str]:
    judge = ThresholdJudge()
    return [r.name for r in rules if judge.judge(r, stable, canary).outcome is Outcome.FAIL]


def run_fixed(sim: dict[str, np.ndarray]) -> dict[str, Outcome3]:
    result: dict[str, Outcome3] = {}
    for name, rules in (
        ("flagger-style", POLICY),
        ("flagger-slos", FLAGGER_SLOS),
        ("flagger-defaults", FLAGGER_DEFAULTS),
    ):
        result[name] = ("promote", float(HORIZON), None)
        for t in range(FLAGGER_INTERVAL, HORIZON + 1, FLAGGER_INTERVAL):
            start = t - FLAGGER_INTERVAL
            failed = _failed(rules, window(sim, "s", start, t), window(sim, "c", start, t))
            if failed:
                result[name] = ("rollback", float(t), failed)
                break
    failed = _failed(POLICY, window(sim, "s", 0, HORIZON), window(sim, "c", 0, HORIZON))
    result["codedeploy-style"] = ("rollback" if failed else "promote", float(HORIZON), failed)
    return result


def sweep_name(factor: float, floor: float) -> str:
    return f"sweep: relative.error_rate {factor:g}x, floor {100 * floor:g}%"


def run_sweep(sim: dict[str, np.ndarray]) -> dict[str, Outcome3]:
    """The relative error rule alone at each bound of ``SWEEP``, judged every second: the first
    rollback, else its verdict at the end of the window (pass → promote, or inconclusive)."""
    judge = SequentialJudge()
    base = RULES["all.relative.error_rate"]
    rules = {sweep_name(k, f): replace(base, factor=k, threshold=f) for k, f in SWEEP}
    result: dict[str, Outcome3] = {}
    for t in range(1, HORIZON + 1):
        stable, canary = window(sim, "s", 0, t), window(sim, "c", 0, t)
        for name, rule in rules.items():
            if name in result:
                continue
            verdict = judge.judge(rule, stable, canary)
            if verdict.outcome is Outcome.FAIL:
                result[name] = ("rollback", float(t), [rule.name])
            elif t == HORIZON:
                passed = verdict.outcome is Outcome.PASS
                needed = _needed_seconds([verdict])
                result[name] = ("promote" if passed else "inconclusive", float(t), needed)
        if len(result) == len(rules):
            break
    return result


SWEPT = ("good", "error_regression")


def run_chunk(args: tuple[Scenario, list[np.random.SeedSequence], bool]) -> list[dict[str, Any]]:
    scenario, seeds, sweep = args
    out = []
    for seed in seeds:
        sim = simulate(scenario, np.random.default_rng(seed))
        swept = run_sweep(sim) if sweep and scenario.name in SWEPT else {}
        out.append({**run_sequential(sim), **run_fixed(sim), **swept})
    return out


def _ci(k: int, n: int) -> list[float]:
    lo = beta.ppf(0.025, k, n - k + 1) if k else 0.0
    hi = beta.ppf(0.975, k + 1, n - k) if k < n else 1.0
    return [round(float(lo), 4), round(float(hi), 4)]


def _pct(values: list[float], q: float) -> float | None:
    return round(float(np.percentile(values, q)), 1) if values else None


def summarize(s: Scenario, runs: list[dict[str, Any]]) -> dict[str, Any]:
    judges = {}
    for name in runs[0]:
        outcomes = [r[name] for r in runs]
        n = len(outcomes)
        counts = {
            k: sum(1 for o in outcomes if o[0] == k)
            for k in ("rollback", "promote", "inconclusive")
        }
        times = [o[1] for o in outcomes]
        rb_times = [o[1] for o in outcomes if o[0] == "rollback"]
        needed = [o[2] for o in outcomes if o[0] == "inconclusive" and o[2] is not None]
        blamed: dict[str, int] = {}
        for o in outcomes:
            for rule in o[2] if o[0] == "rollback" and o[2] else ():
                blamed[rule] = blamed.get(rule, 0) + 1
        wrong = counts["promote"] + counts["inconclusive"] if s.regression else counts["rollback"]
        entry = {
            "runs": n,
            **{f"{k}_rate": round(v / n, 4) for k, v in counts.items()},
            ("missed_regression_rate" if s.regression else "false_rollback_rate"): round(
                wrong / n, 4
            ),
            ("missed_ci95" if s.regression else "false_rollback_ci95"): _ci(wrong, n),
            "time_to_verdict_s": {"median": _pct(times, 50), "p95": _pct(times, 95)},
            "time_to_rollback_s": {"median": _pct(rb_times, 50), "p95": _pct(rb_times, 95)},
        }
        if needed:
            entry["inconclusive_needed_seconds_median"] = _pct(needed, 50)
        if blamed:
            entry["rollbacks_by_rule"] = blamed
        judges[name] = entry
    return {"description": s.description, "regression": s.regression,
            "canary_requests_per_s": s.rps * s.share, "judges": judges}  # fmt: skip


def targets(results: dict[str, Any], judge: str) -> list[dict[str, Any]]:
    sc = results
    out = []

    def add(what: str, value: Any, goal: str, ok: bool) -> None:
        out.append({"judge": judge, "target": what, "value": value, "goal": goal, "met": bool(ok)})

    for name in ("good", "noisy_stable", "low_traffic"):
        fr = sc[name]["judges"][judge]["false_rollback_rate"]
        add(f"false rollback, {name}", fr, "<= 1%", fr <= 0.01)
    err = sc["error_regression"]["judges"][judge]["time_to_verdict_s"]
    add("error regression median s", err["median"], "<= 15", err["median"] <= 15)
    add("error regression p95 s", err["p95"], "<= 30", err["p95"] <= 30)
    for name in ("error_regression", "latency_regression", "tail_regression"):
        ours = sc[name]["judges"][judge]["time_to_verdict_s"]["median"]
        flagger = sc[name]["judges"]["flagger-style"]["time_to_verdict_s"]["median"]
        add(f"{name} median vs flagger-style", round(ours / flagger, 3), "<= 0.25",
            ours <= flagger / 4)  # fmt: skip
        slos = sc[name]["judges"]["flagger-slos"]
        if slos["missed_regression_rate"] <= 0.01:  # a ratio to a judge that misses means little
            theirs = slos["time_to_verdict_s"]["median"]
            add(f"{name} median vs flagger-slos", round(ours / theirs, 3), "<= 0.25",
                ours <= theirs / 4)  # fmt: skip
        missed = sc[name]["judges"][judge]["missed_regression_rate"]
        add(f"missed, {name}", missed, "<= 1%", missed <= 0.01)
    low = sc["low_traffic"]["judges"][judge]
    add("low traffic inconclusive rate", low["inconclusive_rate"], "high, with an estimate",
        low["inconclusive_rate"] > 0.5 and "inconclusive_needed_seconds_median" in low)  # fmt: skip
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=500, help="runs per scenario")
    parser.add_argument("--seed", type=int, default=20261122)
    parser.add_argument("--workers", type=int, default=min(2, os.cpu_count() or 1))
    parser.add_argument("--scenarios", default=",".join(s.name for s in SCENARIOS))
    parser.add_argument(
        "--sweep",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="also judge the relative error rule alone at other bounds (good, error regression)",
    )
    args = parser.parse_args()
    began = time.perf_counter()
    chosen = [s for s in SCENARIOS if s.name in args.scenarios.split(",")]
    root = np.random.SeedSequence(args.seed)
    jobs = []
    for scenario, seq in zip(SCENARIOS, root.spawn(len(SCENARIOS)), strict=True):
        if scenario in chosen:
            seeds = seq.spawn(args.runs)
            size = max(1, math.ceil(args.runs / (4 * args.workers)))
            jobs += [(scenario, seeds[i : i + size], args.sweep) for i in range(0, args.runs, size)]
    runs: dict[str, list[dict[str, Any]]] = {s.name: [] for s in chosen}
    with ProcessPoolExecutor(args.workers) as pool:
        for i, ((scenario, _, _), chunk) in enumerate(
            zip(jobs, pool.map(run_chunk, jobs), strict=True)
        ):
            runs[scenario.name] += chunk
            print(
                f"{i + 1}/{len(jobs)} chunks, {time.perf_counter() - began:.0f}s", file=sys.stderr
            )
    results = {s.name: summarize(s, runs[s.name]) for s in chosen}
    report: dict[str, Any] = {
        "benchmark": "decision",
        "command": "python benchmarks/decision.py " + " ".join(sys.argv[1:]),
        "date": dt.date.today().isoformat(),
        "seed": args.seed,
        "runs_per_scenario": args.runs,
        "horizon_s": HORIZON,
        "policy_file": str(SHIPPED.relative_to(SHIPPED.parent.parent)),
        "policy": [{"name": r.name, "kind": r.kind, "comparison": r.comparison,
                    "quantile": r.quantile if r.kind == "latency" else None,
                    "threshold": r.threshold, "factor": r.factor, "judge": r.judge,
                    "required": spec.required, "params": r.params}
                   for spec in SPECS for r in (spec.slo,)],
        "scenarios": results,
    }  # fmt: skip
    if len(chosen) == len(SCENARIOS):
        report["targets"] = [
            *targets(results, "canaryctl-sequential+distribution"),
            *targets(results, "canaryctl-sequential"),
        ]
    report["elapsed_s"] = round(time.perf_counter() - began, 1)
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
