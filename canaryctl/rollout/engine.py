"""The rollout engine: a phase machine over a write-ahead deployment record.

    pending → starting_canary → shifting → analyzing → … (steps) → promoting → promoted
       │                 └──────────────┴──────┴────────→ rolling_back → rolled_back
       └→ unchanged (the version is already the stable one: nothing to do)
    paused (a pause step, a person, onFailure: pause, inconclusive); failed (could not
    promote or roll back; ``resume``/``abort`` retries)

Every handler saves the record (the intended phase and target) BEFORE calling the platform,
and every platform call is idempotent, so running a handler again after a crash converges.
The engine knows nothing about AWS or processes: it gets a Platform, a MetricSource, a
StateStore, a clock and a sleep. Control requests from other processes (abort, pause,
promote, resume) are polled from the store every ``poll_s`` while waiting.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from canaryctl.analysis import create_judge
from canaryctl.analysis.base import Judge
from canaryctl.errors import CanaryError, InvalidInput, PlatformError, TrafficDrift
from canaryctl.metrics.base import MetricSource
from canaryctl.platforms.base import CanarySpec, Platform, Weights
from canaryctl.rollout.analyzing import AnalyzingMixin, new_window, weights_dict
from canaryctl.rollout.hooks import HookHandle, HookRunner
from canaryctl.rollout.plan import Plan, StepSpec
from canaryctl.rollout.record import FINAL, Phase, add_event
from canaryctl.state.base import StateStore
from canaryctl.state.liveness import identity

__all__ = ["Engine"]

Observer = Callable[[dict[str, Any]], None]
HEARTBEAT_S = 10.0
RETRIES = 3


class Engine(AnalyzingMixin):
    """Drives one deployment record to promoted, rolled back, paused or failed."""

    def __init__(
        self,
        *,
        plan: Plan,
        platform: Platform,
        metrics: MetricSource,
        store: StateStore,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
        hooks: HookRunner | None = None,
        observer: Observer | None = None,
        wait_on_pause: bool = False,
        poll_s: float = 1.0,
        judge_factory: Callable[[str], Judge] = create_judge,
    ) -> None:
        self.plan, self.platform, self.metrics, self.store = plan, platform, metrics, store
        self.clock, self.sleep, self.hooks = clock, sleep, hooks
        self.observer, self.wait_on_pause, self.poll_s = observer, wait_on_pause, poll_s
        self._judge_factory = judge_factory
        self._judges: dict[str, Judge] = {}
        self._handles: list[HookHandle] = []
        self._beat = 0.0
        self.rec: dict[str, Any] = {}

    # the loop ----------------------------------------------------------------------------
    def run(self, record: dict[str, Any], *, resume: bool = False) -> dict[str, Any]:
        """Take charge of ``record`` (the lock, the ``engine`` field) and drive it until it is
        final or paused. ``resume`` means a person asked to continue a paused or failed one.
        An exception other than the handled platform/metrics errors propagates with the record
        as last saved — exactly what a killed process leaves — so ``resume`` can continue."""
        self.rec = record
        self.store.acquire(record["service"], record["id"])
        self.rec["engine"] = {**identity(), "since": self.clock(), "heartbeat": self.clock()}
        self._anchor()
        if resume:
            self._resume()
        if self.rec["phase"] == Phase.ANALYZING:
            # The metric history of a window begun by another process may be gone (an
            # embedded source keeps it in memory): judge a whole fresh window instead.
            self._event("analysis restarted by a new engine process")
            self._enter_step(self.rec["step_index"])
        self._save()
        try:
            self._loop()
        except CanaryError:
            self._exit()
            raise
        finally:
            self._stop_hooks()
        self._exit()
        return self.rec

    def _exit(self) -> None:
        self.rec["engine"]["exited"] = self.clock()
        self._save()

    def _loop(self) -> None:
        handlers: dict[Phase, Callable[[], None]] = {
            Phase.PENDING: self._pending,
            Phase.STARTING_CANARY: self._starting_canary,
            Phase.SHIFTING: self._shifting,
            Phase.ANALYZING: self._analyzing,
            Phase.PROMOTING: self._promoting,
            Phase.ROLLING_BACK: self._rolling_back,
        }
        while True:
            self._handle_requests()
            phase = Phase(self.rec["phase"])
            if phase in FINAL:
                return
            if phase is Phase.PAUSED:
                if not self._paused():
                    return
                continue
            handlers[phase]()

    # bookkeeping -------------------------------------------------------------------------
    def _save(self) -> None:
        now = self.clock()
        self.rec["updated_at"] = now
        if self.rec.get("engine"):
            self.rec["engine"]["heartbeat"] = now
        self._beat = now
        self.store.save(self.rec)
        self._notify()

    def _notify(self) -> None:
        if self.observer:
            self.observer(self.rec)

    def _event(self, message: str, **extra: Any) -> None:
        add_event(self.rec, self.clock(), message, **extra)

    def _phase(self, phase: Phase, reason: str | None = None) -> None:
        self.rec["phase"] = phase.value
        if reason is not None:
            self.rec["reason"] = reason
        self._event(f"{phase.value}" + (f": {reason}" if reason else ""))

    def _step(self) -> StepSpec:
        return self.plan.steps[self.rec["step_index"]]

    def _judge(self, name: str) -> Judge:
        if name not in self._judges:
            self._judges[name] = self._judge_factory(name)
        return self._judges[name]

    def _anchor(self) -> None:
        # A source that replays a recording starts it when the canary first got traffic; a
        # resumed process continues it from there instead of starting it over.
        anchor = getattr(self.metrics, "anchor", None)
        if callable(anchor) and self.rec.get("traffic_at") is not None:
            anchor(float(self.rec["traffic_at"]))

    def _finish(self, phase: Phase, reason: str) -> None:
        self._phase(phase, reason)
        self.rec["finished_at"] = now = self.clock()
        index = self.rec["step_index"]
        if 0 <= index < len(self.rec["steps"]) and self.rec["steps"][index]["start"]:
            self.rec["steps"][index]["end"] = self.rec["steps"][index]["end"] or now
        self._save()
        self.store.release(self.rec["service"], self.rec["id"])

    # phases ------------------------------------------------------------------------------
    def _pending(self) -> None:
        try:
            state = self.platform.describe()
            if state.stable is None:
                raise InvalidInput(
                    f"service {self.plan.service!r} has no stable task set to canary against"
                )
            canary = self.rec["canary_version"]
            if state.canary is not None and state.canary.version != canary:
                raise InvalidInput(
                    f"a canary task set of version {state.canary.version} is already running; "
                    "finish or abort its deployment first"
                )
            if state.stable.version == canary and state.canary is None:
                self._unchanged(state)
                return
            if self.hooks is not None:
                self.hooks.check(self.plan.load_hooks)
            elif self.plan.load_hooks:
                raise CanaryError("the pipeline has load hooks but no hook runner was given")
        except CanaryError as exc:
            # Nothing has changed yet: fail, free the service, and let the caller say why.
            self.rec["failed"] = {"during": Phase.PENDING.value, "error": str(exc)}
            self._finish(Phase.FAILED, str(exc))
            raise
        self.rec["stable_version"] = state.stable.version
        self.rec["weights"] = weights_dict(state.weights)
        self._phase(Phase.STARTING_CANARY, f"{state.stable.version} → {canary}")
        self._save()

    def _unchanged(self, state: Any) -> None:
        """Re-running the release of the stable version (a re-run job, a retried workflow):
        nothing to do, and nothing was wrong with the request."""
        self.rec["stable_version"] = state.stable.version
        self.rec["weights"] = weights_dict(state.weights)
        self.rec["task_definition_arn"] = state.stable.details.get("task_definition")
        self._finish(
            Phase.UNCHANGED,
            f"version {state.stable.version} is already the stable version; nothing changed",
        )

    def _starting_canary(self) -> None:
        release = self.rec.get("release") or {}
        spec = CanarySpec(
            version=self.rec["canary_version"],
            env=dict(self.rec["env"]),
            image=release.get("image"),
            task_definition=release.get("task_definition"),
            definition=release.get("definition"),
        )
        try:
            started = self.platform.start_canary(spec)
            self.platform.wait_healthy(self.plan.health_timeout_s)
        except PlatformError as exc:
            self._fail(f"the canary did not start: {exc}", "unhealthy")
            return
        # What the canary runs, as the platform registered it (ECS: the task definition ARN)
        self.rec["task_definition_arn"] = started.details.get("task_definition")
        self._event("canary healthy")
        self._enter_step(0)

    def _enter_step(self, index: int) -> None:
        now = self.clock()
        previous = self.rec["step_index"]
        if 0 <= previous < len(self.rec["steps"]) and previous != index:
            self.rec["steps"][previous]["end"] = self.rec["steps"][previous]["end"] or now
        self.rec["step_index"] = index
        self.rec["analysis"] = None
        if index >= len(self.plan.steps):
            self._phase(Phase.PROMOTING, self._why("all steps passed"))
            self._save()
            return
        step = self.plan.steps[index]
        entry = self.rec["steps"][index]
        entry.update(start=now, end=None)
        if step.kind == "set_weight":
            assert step.weight is not None
            self.rec["target_weights"] = weights_dict(Weights.canary_percent(step.weight))
            self._phase(Phase.SHIFTING, step.describe())
        elif step.kind == "analyze":
            entry["weight"] = self.rec["weights"]["canary"]
            self.rec["analysis"] = new_window(step, now)
            self._phase(Phase.ANALYZING, step.describe())
        elif step.kind == "pause":
            until = now + step.duration_s if step.duration_s else None
            self._pause("pause step", index + 1, until=until)
            return
        else:
            self._phase(Phase.PROMOTING, self._why("promote step"))
        self._save()

    def _why(self, what: str) -> str:
        passed = self.rec.get("passed")
        return f"{what}: {passed}" if passed else what

    def _shifting(self) -> None:
        target = Weights(**self.rec["target_weights"])
        try:
            current = self.platform.describe().weights
            if current != target:
                self.platform.set_weights(target, expected=Weights(**self.rec["weights"]))
        except TrafficDrift as exc:
            self._pause(f"traffic drift: {exc}", self.rec["step_index"])
            return
        except PlatformError as exc:
            self._fail(f"could not set weights: {exc}", "platform")
            return
        self.rec["weights"] = weights_dict(target)
        if target.canary > 0 and self.rec.get("traffic_at") is None:
            self.rec["traffic_at"] = self.clock()  # saved by _enter_step below
            self._anchor()
        self._event(f"weights stable {target.stable}% / canary {target.canary}%")
        self._enter_step(self.rec["step_index"] + 1)

    def _promoting(self) -> None:
        if self._retry(self.platform.promote, Phase.PROMOTING):
            self.rec["weights"] = {"stable": 0, "canary": 100}
            self._finish(Phase.PROMOTED, self.rec["reason"] or "promoted")

    def _rolling_back(self) -> None:
        if self._retry(self.platform.rollback, Phase.ROLLING_BACK):
            self.rec["weights"] = {"stable": 100, "canary": 0}
            self._finish(Phase.ROLLED_BACK, self.rec["reason"] or "rolled back")

    def _retry(self, action: Callable[[], Any], phase: Phase) -> bool:
        for attempt in range(1, RETRIES + 1):
            try:
                action()
                return True
            except PlatformError as exc:
                self._event(f"{phase.value} attempt {attempt} failed: {exc}")
                if attempt == RETRIES:
                    self.rec["failed"] = {"during": phase.value, "error": str(exc)}
                    self._phase(Phase.FAILED, f"{phase.value} failed: {exc}")
                    self._save()  # the lock stays: the service is in an unknown state
                    return False
                self._save()
                self.sleep(2.0 * attempt)
        return False

    # outcomes ----------------------------------------------------------------------------
    def _fail(self, reason: str, cause: str) -> None:
        if self.plan.on_failure == "pause":
            self._pause(reason, max(self.rec["step_index"], 0), cause=cause)
        else:
            self._rollback(reason, cause)

    def _rollback(self, reason: str, cause: str) -> None:
        self.rec["outcome"] = {"cause": cause}
        self._phase(Phase.ROLLING_BACK, reason)
        self._save()

    def _pause(
        self, reason: str, resume_step: int, *, until: float | None = None, cause: str = "pause"
    ) -> None:
        self.rec["paused"] = {
            "reason": reason,
            "resume_step": resume_step,
            "until": until,
            "cause": cause,
        }
        self._phase(Phase.PAUSED, reason)
        self._save()

    def _paused(self) -> bool:
        """Wait out a timed pause or (with ``wait_on_pause``) a person; False = stop here."""
        until = (self.rec.get("paused") or {}).get("until")
        if until is not None:
            if self._wait_until(until):
                self._continue_after_pause()
            return True
        if not self.wait_on_pause:
            return False
        self._wait_until(float("inf"))
        return True

    def _continue_after_pause(self) -> None:
        paused = self.rec.get("paused") or {}
        self.rec["paused"] = None
        try:  # a person may have accepted weights someone else set: adopt what is there
            self.rec["weights"] = weights_dict(self.platform.describe().weights)
        except PlatformError as exc:
            self._event(f"could not read weights: {exc}")
        self._enter_step(int(paused.get("resume_step", self.rec["step_index"])))

    def _resume(self) -> None:
        phase = Phase(self.rec["phase"])
        self._event("resumed")
        if phase is Phase.PAUSED:
            self._continue_after_pause()
        elif phase is Phase.FAILED and self.rec.get("failed"):
            self._phase(Phase(self.rec["failed"]["during"]), "retrying")
            self.rec["failed"] = None
            self.rec["finished_at"] = None

    # waiting and control requests --------------------------------------------------------
    def _wait_until(self, t: float) -> bool:
        """Sleep until ``t``; False as soon as a control request arrives."""
        while True:
            if self._pending_requests():
                return False
            now = self.clock()
            if now >= t:
                return True
            if now - self._beat >= HEARTBEAT_S:
                self._save()
            else:
                self._notify()
            self.sleep(min(self.poll_s, t - now))

    def _pending_requests(self) -> list[dict[str, Any]]:
        handled = {r["id"] for r in self.rec["requests"]}
        return [r for r in self.store.requests(self.rec["id"]) if r["id"] not in handled]

    def _handle_requests(self) -> None:
        for request in self._pending_requests():
            result = self._apply(request)
            if result is None:
                continue  # not yet applicable (the canary is still starting)
            self.rec["requests"].append({**request, "handled_at": self.clock(), "result": result})
            self._event(f"request {request.get('action')} by {request.get('by')}: {result}")
            self._save()

    def _apply(self, request: dict[str, Any]) -> str | None:
        phase, action = Phase(self.rec["phase"]), request.get("action")
        who = request.get("by") or "another process"
        during = (self.rec.get("failed") or {}).get("during")
        if phase is Phase.FAILED and (action == "abort" or during == Phase.PROMOTING):
            self.rec["failed"] = None  # a person retries the rollback or the promotion
            self.rec["finished_at"] = None
        elif phase in FINAL:
            return f"ignored: already {phase.value}"
        if action == "abort":
            if phase is not Phase.ROLLING_BACK:
                self._rollback(f"aborted by {who}", "aborted")
            return "rolling back"
        if phase in (Phase.PENDING, Phase.STARTING_CANARY):
            return None
        if action == "promote":
            if phase not in (Phase.PROMOTING, Phase.ROLLING_BACK):
                self.rec["paused"] = None
                self._phase(Phase.PROMOTING, f"promoted by {who}")
                self._save()
            return "promoting" if phase is not Phase.ROLLING_BACK else "ignored: rolling back"
        if action == "pause":
            if phase in (Phase.SHIFTING, Phase.ANALYZING):
                self._pause(f"paused by {who}", self.rec["step_index"], cause="request")
                return "paused"
            return f"ignored: {phase.value}"
        if action == "resume":
            if phase is Phase.PAUSED:
                self._continue_after_pause()
                return "resumed"
            return f"ignored: {phase.value}"
        return f"ignored: unknown action {action!r}"
