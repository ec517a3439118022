"""Policy backtests: replay a recording through the judges the engine would use, on a virtual
clock, and say what the engine would have decided and when (``canaryctl policy backtest``).

The decision path is the engine's own (``canaryctl.rollout.analysis.analysis_check``): the same
windows per judge scope (the last interval, or everything since the canary got traffic), the
same failure and missing-data counters, early promotion, and the final whole-window check. Only
the clock differs: checks follow each other with no sleeping, so a backtest runs as fast as the
judges do. Time 0 is the moment the canary received traffic (offset 0 of the recording).
"""

from __future__ import annotations

import time
from bisect import bisect_right
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from canaryctl.analysis import create_judge
from canaryctl.analysis.base import Judge, Verdict
from canaryctl.analysis.explain import fmt_bound, verdict_facts
from canaryctl.config.units import format_duration
from canaryctl.errors import EXIT_INCONCLUSIVE, EXIT_OK, EXIT_ROLLED_BACK, InvalidInput
from canaryctl.metrics.base import NoData, Target, WindowStats
from canaryctl.metrics.replay import Interval, ReplaySource, parse_lines
from canaryctl.rollout import analysis as an
from canaryctl.rollout.plan import RuleSpec

__all__ = [
    "BacktestResult",
    "PolicySpec",
    "load_recording",
    "load_target",
    "render_text",
    "run_backtest",
    "summarize_recording",
]


@dataclass(frozen=True)
class PolicySpec:
    """What a policy (or a pipeline's first analysis step) asks of a canary."""

    name: str | None
    description: str | None
    rules: tuple[RuleSpec, ...]
    interval_s: float
    window_s: float
    on_failure: str = "rollback"


def load_target(path: str) -> PolicySpec:
    """A policy file (its own timing), or a pipeline (its policy's rules, the timing of its
    first analyze step, its onFailure). Problems raise ``ConfigError`` with file:line."""
    from canaryctl.config import LoadedPolicy, load_any

    loaded = load_any(path)
    if isinstance(loaded, LoadedPolicy):
        a = loaded.policy.analysis
        p = loaded.policy
        return PolicySpec(p.name, p.description, loaded.rules, a.interval, a.window)
    steps = [s for s in loaded.plan.steps if s.kind == "analyze"]
    policy = loaded.policy.policy
    interval = steps[0].interval_s if steps else None
    window = steps[0].duration_s if steps else None
    return PolicySpec(
        policy.name or loaded.pipeline.service,
        policy.description,
        loaded.plan.rules,
        float(interval or policy.analysis.interval),
        float(window or policy.analysis.window),
        loaded.plan.on_failure,
    )


def load_recording(path: str) -> list[Interval]:
    """A recording in the replay format; a bad line raises ``ConfigError`` naming file:line."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InvalidInput(f"--metrics: {path}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidInput(f"--metrics: {path}: {exc}") from None
    return parse_lines(text.splitlines(), path)


@dataclass
class BacktestResult:
    """What the engine would have done: ``decision`` promote | rollback | pause, reached at
    ``t`` seconds after the canary received traffic, and every verdict on the way."""

    decision: str
    kind: str  # the analysis decision: pass | fail | missing | inconclusive
    reason: str
    t: float
    early: bool
    exit_code: int
    window_s: float
    interval_s: float
    checks: int
    timeline: list[dict[str, Any]] = field(default_factory=list)
    recording: dict[str, Any] = field(default_factory=dict)
    cpu_s: float = 0.0

    def to_dict(self, rules: tuple[RuleSpec, ...]) -> dict[str, Any]:
        by_name = {r.name: r.to_dict() for r in rules}
        return {
            "decision": self.decision,
            "exit_code": self.exit_code,
            "decided_at_s": self.t,
            "early": self.early,
            "analysis_decision": self.kind,
            "reason": self.reason,
            "window_s": self.window_s,
            "interval_s": self.interval_s,
            "checks": self.checks,
            "recording": self.recording,
            "slos": [
                {"slo": r.name, "bound": fmt_bound(r.to_dict()), "judge": r.slo.judge}
                for r in rules
            ],
            "timeline": [
                {**verdict_facts(v, by_name.get(v["slo"])), "t": v["t"], "window": v["window"]}
                for v in self.timeline
            ],
            "cpu_s": round(self.cpu_s, 4),
        }


class _IndexedReplay(ReplaySource):
    """``ReplaySource`` with prefix sums per series: a cumulative window is two lookups
    instead of a sum over every interval so far (a backtest asks for one every check).
    Same answers and the same no-data reasons (tests/unit/analysis/test_backtest.py)."""

    def __init__(self, intervals: list[Interval], *, path: str) -> None:
        super().__init__(intervals, path=path)
        self._index: dict[tuple[Target, str | None], _Series] = {}

    def window(
        self, target: Target, start: float, end: float, route_class: str | None = None
    ) -> WindowStats | NoData:
        if self._t0 is None:
            self._t0 = start
        key = (Target(target), route_class)
        if key not in self._index:
            self._index[key] = _Series(self._pool(*key))
        series = self._index[key]
        lo, hi = start - self._t0, end - self._t0
        i, j = bisect_right(series.t, lo), bisect_right(series.t, hi)
        if i == j:  # nothing in (lo, hi]: let the plain source word the reason
            return super().window(target, start, end, route_class)
        return series.between(i, j, start, end)


class _Series:
    """Prefix sums of one target's (and route class's) intervals, in time order."""

    def __init__(self, pool: list[Interval]) -> None:
        self.t = [i.t for i in pool]
        self.bounds = tuple(b for b, _ in pool[0].stats.buckets) if pool else ()
        self.requests, self.errors = [0], [0]
        self.buckets: list[tuple[int, ...]] = [(0,) * len(self.bounds)]
        for i in pool:
            self.requests.append(self.requests[-1] + i.stats.requests)
            self.errors.append(self.errors[-1] + i.stats.errors)
            counts = (c for _, c in i.stats.buckets)
            self.buckets.append(tuple(a + c for a, c in zip(self.buckets[-1], counts, strict=True)))

    def between(self, i: int, j: int, start: float, end: float) -> WindowStats:
        buckets = tuple(
            (b, hi - lo)
            for b, lo, hi in zip(self.bounds, self.buckets[i], self.buckets[j], strict=True)
        )
        return WindowStats(
            self.requests[j] - self.requests[i], self.errors[j] - self.errors[i], buckets,
            start=start, end=end,
        )  # fmt: skip


def _entry(verdict: Verdict, meta: dict[str, Any], t: float) -> dict[str, Any]:
    """The engine's verdict dict (``rollout.analysis.verdict_dict``) without its deep copy:
    the evidence is shared with the verdict, and made strict JSON only when printed."""
    return {**vars(verdict), "outcome": verdict.outcome.value, **meta, "t": t, "step": 0}


def _outcome(decision: an.Decision, on_failure: str) -> tuple[str, int]:
    """As the engine acts on an analysis decision (``Engine._decide``)."""
    if decision.kind == "pass":
        return "promote", EXIT_OK
    if decision.kind == "fail" and on_failure != "pause":
        return "rollback", EXIT_ROLLED_BACK
    if decision.kind == "missing" and decision.action == "rollback":
        return "rollback", EXIT_ROLLED_BACK
    return "pause", EXIT_INCONCLUSIVE


def summarize_recording(intervals: list[Interval], path: str) -> dict[str, Any]:
    """Length, traffic per target and route classes of a recording (for the report)."""
    totals: dict[str, int] = {}
    any_totals = {i.target for i in intervals if i.route_class is None}
    for i in intervals:
        if i.route_class is None or i.target not in any_totals:
            totals[str(i.target)] = totals.get(str(i.target), 0) + i.stats.requests
    return {
        "path": path,
        "duration_s": max(i.t for i in intervals),
        "canary_requests": totals.get(str(Target.CANARY), 0),
        "stable_requests": totals.get(str(Target.STABLE), 0),
        "route_classes": sorted({i.route_class for i in intervals if i.route_class}),
    }


def run_backtest(
    rules: tuple[RuleSpec, ...],
    intervals: list[Interval],
    *,
    path: str,
    window_s: float,
    interval_s: float,
    on_failure: str = "rollback",
    judge_for: Callable[[str], Judge] | None = None,
) -> BacktestResult:
    """One analysis step of ``window_s`` checked every ``interval_s``, on the recording."""
    started = time.process_time()
    source = _IndexedReplay(intervals, path=path)
    source.anchor(0.0)
    judges: dict[str, Judge] = {}

    def judge(name: str) -> Judge:
        if name not in judges:
            judges[name] = (judge_for or create_judge)(name)
        return judges[name]

    counters: dict[str, Any] = {}
    timeline: list[dict[str, Any]] = []
    last, checks = 0.0, 0
    while True:
        due = min(last + interval_s, window_s)

        def keep(results: an.Results, final: bool, at: float = due) -> None:
            timeline.extend(_entry(v, meta, at) for _, v, meta in results)

        decision = an.analysis_check(
            rules, source, judge, counters,
            start=0.0, end=window_s, now=due, interval=interval_s, on_results=keep,
        )  # fmt: skip
        checks, last = checks + 1, due
        if decision is not None:
            break
    what, code = _outcome(decision, on_failure)
    return BacktestResult(
        decision=what,
        kind=decision.kind,
        reason=decision.reason,
        t=last,
        early=decision.kind == "pass" and last < window_s,
        exit_code=code,
        window_s=window_s,
        interval_s=interval_s,
        checks=checks,
        timeline=timeline,
        recording=summarize_recording(intervals, path),
        cpu_s=time.process_time() - started,
    )


# --- text ------------------------------------------------------------------------------------

_VERB = {"promote": "PROMOTE", "rollback": "ROLL BACK", "pause": "PAUSE (inconclusive)"}


def _short_evidence(f: dict[str, Any]) -> str:
    parts = [f"n={f['canary_requests']:,}/{f['stable_requests']:,}"]
    if f.get("e_value") is not None and f.get("e_value_needed"):
        e = f["e_value_within"] if f["outcome"] == "pass" and f.get("decided") else f["e_value"]
        tag = "e(within)" if f["outcome"] == "pass" and f.get("decided") else "e"
        parts.append(f"{tag}={e:.3g}/{f['e_value_needed']:g}")
    lo, hi = f.get("lower"), f.get("upper")
    if f.get("bounds_of") and (lo is not None or hi is not None):
        pct = f["bounds_of"] in ("error_rate", "slow_fraction")

        def show(x: float | None) -> str:
            if x is None:
                return "inf"
            return f"{100 * x:.3g}%" if pct else f"{x:.3g}x"

        parts.append(f"CI {show(lo)}..{show(hi)}")
    if f["outcome"] == "inconclusive" and f.get("needed_requests"):
        parts.append(f"needs ~{f['needed_requests']:,} more")
    if f["outcome"] == "error":
        parts.append(f["message"][:60])
    return " ".join(parts)


def _shown(timeline: list[dict[str, Any]], decided_at: float, verbose: bool) -> list[int]:
    """Indexes worth a line: every one when verbose, else an SLO's first verdict, each change
    of its outcome (a pass becoming certain counts), and every verdict of the deciding check."""
    seen: dict[str, tuple[str, Any]] = {}
    keep = []
    for i, v in enumerate(timeline):
        state = (v["outcome"], (v.get("evidence") or {}).get("decided"))
        if verbose or seen.get(v["slo"]) != state or v["t"] >= decided_at:
            keep.append(i)
        seen[v["slo"]] = state
    return keep


def render_text(
    result: BacktestResult, rules: tuple[RuleSpec, ...], policy: str, *, verbose: bool = False
) -> list[str]:
    rec = result.recording
    by_name = {r.name: r.to_dict() for r in rules}
    judges = sorted({r.slo.judge for r in rules})
    lines = [
        f"Backtest of {policy} on {rec['path']}",
        f"  recording: {format_duration(rec['duration_s'])}, {rec['canary_requests']:,} canary "
        f"and {rec['stable_requests']:,} stable requests"
        + (f"; route classes {', '.join(rec['route_classes'])}" if rec["route_classes"] else ""),
        f"  analysis: a check every {format_duration(result.interval_s)} for "
        f"{format_duration(result.window_s)}; {len(rules)} SLOs "
        f"(judge{'s' if len(judges) > 1 else ''}: {', '.join(judges)})",
    ]
    if rec["duration_s"] < result.window_s:
        lines.append(
            f"  note: the recording ends at {format_duration(rec['duration_s'])}, before the "
            "window does: later checks see no data, as a live source that stopped would"
        )
    lines += [
        "",
        f"{'time':>6}  {'slo':<26} {'outcome':<12} {'measured':>9} {'bound':>9}  evidence",
    ]
    shown = _shown(result.timeline, result.t, verbose)
    for i in shown:
        v = result.timeline[i]
        f = verdict_facts(v, by_name.get(v["slo"]))
        when = format_duration(v["t"]) + ("*" if v.get("check") == "final" else "")
        lines.append(
            f"{when:>6}  {v['slo']:<26} {v['outcome']:<12} {f['measured_text']:>9} "
            f"{f['threshold_text']:>9}  {_short_evidence(f)}"
        )
    hidden = len(result.timeline) - len(shown)
    if hidden:
        lines.append(
            f"  ({hidden} verdicts that repeat their SLO's previous outcome are not shown; "
            "-v shows all)"
        )
    if any(v.get("check") == "final" for v in result.timeline):
        lines.append("  * the final check over the whole window")
    early = " (early promotion)" if result.early else ""
    lines += [
        "",
        f"Decision at {format_duration(result.t)}: {_VERB[result.decision]}{early} — "
        f"{result.reason}",
        f"Exit code {result.exit_code}; {result.checks} checks replayed in "
        f"{result.cpu_s:.2f}s of CPU.",
    ]
    return lines
