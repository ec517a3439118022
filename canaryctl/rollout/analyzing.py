"""The analyzing phase of the engine: checks every interval, the final whole-window check,
drift detection, and the ``duringAnalysis`` hooks. A mixin of ``Engine`` (engine.py)."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any, Protocol

from canaryctl.analysis.base import Judge
from canaryctl.errors import CanaryError, PlatformError
from canaryctl.metrics.base import MetricSource
from canaryctl.platforms.base import Platform, Weights
from canaryctl.rollout import analysis as an
from canaryctl.rollout.hooks import HookHandle, HookRunner
from canaryctl.rollout.plan import Plan, StepSpec

__all__ = ["AnalyzingMixin", "new_window", "weights_dict"]


class _Engine(Protocol):
    """What the mixin uses of the engine."""

    rec: dict[str, Any]
    plan: Plan
    platform: Platform
    metrics: MetricSource
    hooks: HookRunner | None
    clock: Callable[[], float]
    _handles: list[HookHandle]

    def _wait_until(self, t: float) -> bool: ...
    def _event(self, message: str, **extra: Any) -> None: ...
    def _save(self) -> None: ...
    def _judge(self, name: str) -> Judge: ...
    def _step(self) -> StepSpec: ...
    def _enter_step(self, index: int) -> None: ...
    def _fail(self, reason: str, cause: str) -> None: ...
    def _rollback(self, reason: str, cause: str) -> None: ...
    def _pause(self, reason: str, resume_step: int, *, until: float | None = ...,
               cause: str = ...) -> None: ...  # fmt: skip
    def _start_hooks(self, duration_s: float) -> None: ...
    def _stop_hooks(self) -> None: ...
    def _analysis_loop(self, window: dict[str, Any], step: StepSpec) -> an.Decision | None: ...
    def _record_check(self, window: dict[str, Any], now: float, results: an.Results,
                      final: bool) -> None: ...  # fmt: skip
    def _drift(self) -> str | None: ...
    def _decide(self, decision: an.Decision) -> None: ...


class AnalyzingMixin:
    """The engine's analyzing phase (methods typed against ``_Engine``)."""

    def _analyzing(self: _Engine) -> None:
        window = self.rec["analysis"]
        step = self._step()
        try:
            self._start_hooks(window["end"] - self.clock())
        except CanaryError as exc:
            self._fail(f"a duringAnalysis hook failed: {exc}", "hook")
            return
        decision = self._analysis_loop(window, step)
        self._stop_hooks()
        if decision is None:
            return  # a control request arrived; the loop handles it
        self._decide(decision)

    def _analysis_loop(self: _Engine, window: dict[str, Any], step: StepSpec) -> an.Decision | None:
        interval = float(step.interval_s or 10.0)
        while True:
            due = min(window["last_check"] + interval, window["end"])
            if not self._wait_until(due):
                return None
            drift = self._drift()
            if drift:
                return an.Decision("drift", drift)
            decision = an.analysis_check(
                self.plan.rules,
                self.metrics,
                self._judge,
                self.rec["counters"],
                start=window["start"],
                end=window["end"],
                now=due,
                interval=interval,
                on_results=partial(self._record_check, window, due),
            )
            if decision is not None:
                return decision

    def _record_check(
        self: _Engine, window: dict[str, Any], now: float, results: an.Results, final: bool
    ) -> None:
        if not final:
            window["last_check"] = now
            window["checks"] += 1
        for _, verdict, meta in results:
            self.rec["verdicts"].append(an.verdict_dict(verdict, meta, now, self.rec["step_index"]))
        self._save()

    def _drift(self: _Engine) -> str | None:
        try:
            current = self.platform.describe().weights
        except PlatformError as exc:
            self._event(f"could not read weights: {exc}")
            return None
        if weights_dict(current) != self.rec["weights"]:
            return (
                f"traffic drift: weights are {current.stable}/{current.canary}, canaryctl set "
                f"{self.rec['weights']['stable']}/{self.rec['weights']['canary']}"
            )
        return None

    def _decide(self: _Engine, decision: an.Decision) -> None:
        self._event(f"analysis: {decision.kind}: {decision.reason}")
        index = self.rec["step_index"]
        if decision.kind == "pass":
            self.rec["passed"] = decision.reason
            self._enter_step(index + 1)
        elif decision.kind == "fail":
            self._fail(decision.reason, "slo")
        elif decision.kind == "missing" and decision.action == "rollback":
            self._rollback(decision.reason, "missing_data")
        else:  # missing (pause), inconclusive, drift: a person decides
            self._pause(decision.reason, index)

    # hooks -------------------------------------------------------------------------------
    def _start_hooks(self: _Engine, duration_s: float) -> None:
        if self.hooks is not None and self.plan.load_hooks and not self._handles:
            self._handles = self.hooks.start(self.plan.load_hooks, max(duration_s, 1.0))

    def _stop_hooks(self: _Engine) -> None:
        handles, self._handles = self._handles, []
        for handle in handles:
            try:
                report = handle.stop()
            except Exception as exc:  # a hook that fails to stop must not hide the outcome
                self._event(f"could not stop a hook: {exc}")
                continue
            if report:  # what the load reported (requests, failures), with the step it ran in
                self.rec.setdefault("load", []).append({"step": self.rec["step_index"], **report})


def weights_dict(weights: Weights) -> dict[str, int]:
    return {"stable": weights.stable, "canary": weights.canary}


def new_window(step: StepSpec, now: float) -> dict[str, Any]:
    duration = float(step.duration_s or 0.0)
    return {
        "start": now,
        "end": now + duration,
        "last_check": now,
        "checks": 0,
        "interval": step.interval_s,
    }
