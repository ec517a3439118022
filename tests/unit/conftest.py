"""Test doubles of canaryctl's own seams, shared by the engine, CLI and report tests.

* ``MemoryPlatform``: a Platform that keeps task sets and weights in memory and can "crash"
  (raise ``Crash``, a BaseException the engine does not catch) before or after any call.
* ``ScriptedSource``: a MetricSource whose windows come from per-target scripts of time.
* ``FakeClock``: a clock whose ``sleep`` advances time and runs callbacks scheduled ``at`` a
  time (e.g. another process posting ``abort``).
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from canaryctl.analysis.base import SloRule
from canaryctl.errors import PlatformError, TrafficDrift, UnhealthyTaskSet
from canaryctl.metrics.base import NoData, Target, WindowStats
from canaryctl.metrics.routes import LATENCY_BUCKETS
from canaryctl.platforms.base import CanarySpec, PlatformState, TaskSet, Weights
from canaryctl.platforms.local.admin import add_router_routes
from canaryctl.platforms.local.httpserver import AdminServer
from canaryctl.platforms.local.router import Router
from canaryctl.platforms.local.stats import RouterStats
from canaryctl.rollout.engine import Engine
from canaryctl.rollout.plan import LoadHookSpec, Plan, RuleSpec, StepSpec
from canaryctl.rollout.record import new_record
from canaryctl.state.file import FileStateStore

T0 = 1_800_000_000.0


class Crash(BaseException):
    """The process dies here (like SIGKILL): nothing after this point runs."""


class FakeClock:
    def __init__(self, start: float = T0) -> None:
        self.now = start
        self._at: list[tuple[float, Callable[[], None]]] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += max(seconds, 0.0)
        due = [(t, fn) for t, fn in self._at if t <= self.now]
        self._at = [(t, fn) for t, fn in self._at if t > self.now]
        for _, fn in due:
            fn()

    def at(self, t: float, fn: Callable[[], None]) -> None:
        self._at.append((t, fn))


@dataclass
class MemoryPlatform:
    """An in-memory Platform for one service, idempotent like the real ones."""

    stable: TaskSet | None = field(
        default_factory=lambda: TaskSet("ts-v1", "v1", "stable", True, 2, 2)
    )
    canary: TaskSet | None = None
    weights: Weights = field(default_factory=lambda: Weights(100, 0))
    healthy: bool = True
    calls: list[str] = field(default_factory=list)
    crash_at: tuple[str, str, int] | None = None  # (method, "before" | "after", nth call)
    failures: dict[str, int] = field(default_factory=dict)  # method -> failures left
    env_seen: dict[str, str] = field(default_factory=dict)
    name: str = "memory"

    def _call(self, method: str, when: str) -> None:
        if when == "before":
            self.calls.append(method)
            if self.failures.get(method, 0) > 0:
                self.failures[method] -= 1
                raise PlatformError(f"{method} failed", code="Throttled")
        crash = self.crash_at
        if crash and crash[:2] == (method, when) and self.calls.count(method) == crash[2]:
            self.crash_at = None
            raise Crash(f"crash {when} {method}")

    def describe(self) -> PlatformState:
        self._call("describe", "before")
        state = PlatformState(
            self.stable, self.canary, self.weights, {"router_url": "http://router"}
        )
        self._call("describe", "after")
        return state

    def start_canary(self, spec: CanarySpec) -> TaskSet:
        self._call("start_canary", "before")
        if self.canary is not None and self.canary.version != spec.version:
            raise PlatformError(f"a canary of {self.canary.version} is running")
        if self.canary is None:
            self.canary = TaskSet(f"ts-{spec.version}", spec.version, "canary", False, 0, 2)
            self.env_seen = dict(spec.env)
        self._call("start_canary", "after")
        return self.canary

    def wait_healthy(self, timeout_s: float) -> TaskSet:
        self._call("wait_healthy", "before")
        assert self.canary is not None
        if not self.healthy:
            raise UnhealthyTaskSet(f"canary {self.canary.version} not healthy in {timeout_s}s")
        self.canary = replace(self.canary, healthy=True, running=2)
        self._call("wait_healthy", "after")
        return self.canary

    def set_weights(self, weights: Weights, expected: Weights | None = None) -> Weights:
        self._call("set_weights", "before")
        if expected is not None and self.weights != expected and self.weights != weights:
            raise TrafficDrift(f"weights are {self.weights}, expected {expected}")
        self.weights = weights
        self._call("set_weights", "after")
        return weights

    def promote(self) -> PlatformState:
        self._call("promote", "before")
        if self.canary is not None:
            self.stable = replace(self.canary, role="stable")
            self.canary = None
        self.weights = Weights(100, 0)
        self._call("promote", "after")
        return PlatformState(self.stable, self.canary, self.weights)

    def rollback(self) -> PlatformState:
        self._call("rollback", "before")
        self.weights = Weights(100, 0)
        self.canary = None
        self._call("rollback", "after")
        return PlatformState(self.stable, self.canary, self.weights)

    def close(self) -> None:
        pass


Script = Callable[[float, float, str | None], WindowStats | NoData]


def traffic(rps: float, error_rate: float = 0.0, latency_s: float = 0.04) -> Script:
    """Steady traffic: ``rps`` requests/s, a share of errors, 90% at ``latency_s`` and 10% at
    1.5 × ``latency_s`` (so p95 lands between the two)."""

    def script(start: float, end: float, route: str | None) -> WindowStats:
        n = round(rps * (end - start))
        slow = n // 10
        lat = [latency_s] * (n - slow) + [latency_s * 1.5] * slow
        errors = round(n * error_rate)
        return WindowStats.from_latencies(lat, errors, LATENCY_BUCKETS, start=start, end=end)

    return script


def no_data(reason: str = "connection refused") -> Script:
    return lambda start, end, route: NoData(reason)


def switch(at: float, before: Script, after: Script) -> Script:
    """``before`` for windows ending before ``at`` (absolute time), else ``after``."""
    return lambda s, e, r: before(s, e, r) if e <= at else after(s, e, r)


class ScriptedSource:
    name = "scripted"

    def __init__(self) -> None:
        self.scripts: dict[Target, Script] = {
            Target.STABLE: traffic(90.0),
            Target.CANARY: traffic(10.0),
        }
        self.calls: list[tuple[Target, float, float, str | None]] = []
        self.crash_on_call: int | None = None

    def window(
        self, target: Target, start: float, end: float, route_class: str | None = None
    ) -> WindowStats | NoData:
        self.calls.append((target, start, end, route_class))
        if self.crash_on_call is not None and len(self.calls) == self.crash_on_call:
            self.crash_on_call = None
            raise Crash("crash while reading metrics")
        return self.scripts[target](start, end, route_class)

    def close(self) -> None:
        pass


class FakeHooks:
    def __init__(self) -> None:
        self.started: list[tuple[float, float]] = []
        self.stopped = 0

    def check(self, hooks: Any) -> None:
        pass

    def start(self, hooks: Any, duration_s: float) -> list[Any]:
        self.started.append((len(hooks), duration_s))
        outer = self

        class Handle:
            def stop(self) -> None:
                outer.stopped += 1

        return [Handle() for _ in hooks]


def make_rules(
    failure_limit: int = 2,
    missing_limit: int = 3,
    missing_action: str = "rollback",
    min_requests: int = 50,
) -> tuple[RuleSpec, ...]:
    """error rate ≤ 1% and p95 ≤ 250 ms over all routes, plus relative p95 ≤ 1.2× (floor 50 ms)."""
    common = {
        "failure_limit": failure_limit,
        "missing_limit": missing_limit,
        "missing_action": missing_action,
    }
    return (
        RuleSpec(
            SloRule("all.error_rate", "error_rate", threshold=0.01, min_requests=min_requests),
            **common,
        ),
        RuleSpec(
            SloRule("all.p95", "latency", threshold=0.25, quantile=0.95, min_requests=min_requests),
            **common,
        ),
        RuleSpec(
            SloRule(
                "all.relative.p95",
                "latency",
                comparison="relative",
                factor=1.2,
                threshold=0.05,
                min_requests=min_requests,
            ),
            **common,
        ),
    )


def make_plan(steps: tuple[StepSpec, ...] | None = None, **kw: Any) -> Plan:
    steps = steps or (
        StepSpec("set_weight", weight=10),
        StepSpec("analyze", duration_s=60.0, interval_s=10.0),
        StepSpec("promote"),
    )
    return Plan(service="gamebackend", steps=steps, rules=kw.pop("rules", make_rules()), **kw)


@dataclass
class Harness:
    """One deployment under test: its doubles, store and record."""

    tmp: Path
    clock: FakeClock = field(default_factory=FakeClock)
    platform: MemoryPlatform = field(default_factory=MemoryPlatform)
    source: ScriptedSource = field(default_factory=ScriptedSource)
    hooks: FakeHooks = field(default_factory=FakeHooks)
    plan: Plan = field(default_factory=make_plan)
    record: dict[str, Any] = field(default_factory=dict)

    @property
    def store(self) -> FileStateStore:
        return FileStateStore(self.tmp / "state")

    def new(self, version: str = "v2", env: dict[str, str] | None = None) -> dict[str, Any]:
        self.record = new_record(
            plan=self.plan,
            canary_version=version,
            env=env or {},
            config={},
            cwd=str(self.tmp),
            now=self.clock(),
        )
        return self.record

    def engine(self, **kw: Any) -> Engine:
        return Engine(
            plan=self.plan,
            platform=self.platform,
            metrics=self.source,
            store=self.store,
            clock=self.clock,
            sleep=self.clock.sleep,
            hooks=self.hooks,
            **kw,
        )

    def run(self, record: dict[str, Any] | None = None, **kw: Any) -> dict[str, Any]:
        resume = kw.pop("resume", False)
        return self.engine(**kw).run(record or self.record or self.new(), resume=resume)

    def reload(self) -> dict[str, Any]:
        return self.store.load(self.record["id"])


@pytest.fixture
def harness(tmp_path: Path) -> Harness:
    return Harness(tmp_path)


@pytest.fixture
def make_harness(tmp_path: Path) -> Callable[..., Harness]:
    def make(**kw: Any) -> Harness:
        return Harness(tmp_path, **kw)

    return make


@pytest.fixture
def kit() -> SimpleNamespace:
    """The builders and types above, for tests (shared through this fixture, not imports)."""
    return SimpleNamespace(
        T0=T0,
        FakeClock=FakeClock,
        Crash=Crash,
        MemoryPlatform=MemoryPlatform,
        ScriptedSource=ScriptedSource,
        traffic=traffic,
        no_data=no_data,
        switch=switch,
        make_plan=make_plan,
        make_rules=make_rules,
        StepSpec=StepSpec,
        LoadHookSpec=LoadHookSpec,
        RuleSpec=RuleSpec,
        SloRule=SloRule,
    )


RouterAdmin = tuple[str, RouterStats, FakeClock]


@pytest.fixture
def router_admin_at() -> Iterator[Callable[[float], RouterAdmin]]:
    """``router_admin_at(start)`` → ``(url, stats, clock)``: the sandbox router's admin API
    (its per-second windows) served on a thread of its own, on a ``FakeClock`` starting at
    ``start``; stopped when the test ends."""
    stops: list[Callable[[], None]] = []

    def serve(start: float) -> RouterAdmin:
        clock = FakeClock(start)
        stats = RouterStats(clock=clock)
        loop = asyncio.new_event_loop()
        server = AdminServer()
        add_router_routes(server, Router(stats))
        port = loop.run_until_complete(server.start())
        thread = threading.Thread(target=loop.run_forever, daemon=True)
        thread.start()

        def stop() -> None:
            asyncio.run_coroutine_threadsafe(server.close(), loop).result(5)
            loop.call_soon_threadsafe(loop.stop)
            thread.join(5)
            loop.close()

        stops.append(stop)
        return f"http://127.0.0.1:{port}", stats, clock

    yield serve
    for stop in reversed(stops):
        stop()
