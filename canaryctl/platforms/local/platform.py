"""LocalPlatform: the Platform seam implemented on the sandbox's control API.

The sandbox supervisor owns the processes and the router, so every call here is a request to
it, and every call converges: starting the same canary twice returns the running one, promote
and rollback with nothing left to do return the current state.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from canaryctl.errors import InvalidInput, PlatformError, TrafficDrift, UnhealthyTaskSet
from canaryctl.platforms.base import CanarySpec, PlatformState, TaskSet, Weights
from canaryctl.platforms.local.client import ControlClient

__all__ = ["LocalPlatform"]


def _taskset(data: dict[str, Any] | None) -> TaskSet | None:
    if not data:
        return None
    return TaskSet(
        id=str(data["id"]),
        version=str(data["version"]),
        role=str(data["role"]),
        healthy=bool(data["healthy"]),
        running=int(data["running"]),
        desired=int(data["desired"]),
        details={
            "state": data.get("state"),
            "reason": data.get("reason"),
            "env": data.get("env", {}),
            "processes": data.get("processes", []),
        },
    )


class LocalPlatform:
    """Task sets as local process groups, traffic through the sandbox's weighted router."""

    name = "local"

    def __init__(
        self,
        client: ControlClient,
        *,
        service: str = "gamebackend",
        health_timeout: float = 60.0,
        poll_interval: float = 0.25,
    ) -> None:
        self.client = client
        self.service = service
        self.health_timeout = health_timeout
        self.poll_interval = poll_interval
        if client.info.service != service:
            raise InvalidInput(
                f"the sandbox in {client.info.dir} runs {client.info.service!r}, not {service!r}"
            )

    @classmethod
    def from_config(cls, config: Any, *, service: str, base_dir: Path) -> LocalPlatform:
        # ``sandbox`` is relative to the working directory (the pipeline contract), like
        # the ``--dir`` of ``canaryctl sandbox up``, not to the pipeline file.
        directory = Path(getattr(config, "sandbox", ".sandbox"))
        client = ControlClient.for_dir(directory)
        return cls(
            client,
            service=service,
            health_timeout=float(getattr(config, "health_timeout", 60.0)),
        )

    # -- URLs other parts need (the load hook, the embedded metric source) ----------------
    @property
    def router_url(self) -> str:
        return self.client.info.router_url

    @property
    def traffic_url(self) -> str:
        """Where load hooks send traffic: the sandbox router."""
        return self.client.info.router_url

    @property
    def control_url(self) -> str:
        return self.client.info.control_url

    @property
    def admin_key(self) -> str:
        return self.client.info.admin_key

    # -- Platform ------------------------------------------------------------------------
    def describe(self) -> PlatformState:
        data = self.client.state()
        w = data["weights"]
        return PlatformState(
            stable=_taskset(data.get("stable")),
            canary=_taskset(data.get("canary")),
            weights=Weights(stable=int(w["stable"]), canary=int(w["canary"])),
            details={
                "router_url": data.get("router_url"),
                "draining": [t["id"] for t in data.get("draining", [])],
            },
        )

    def start_canary(self, spec: CanarySpec) -> TaskSet:
        body = {"version": spec.version, "env": dict(spec.env)}
        ts = _taskset(self.client.call("POST", "/v1/tasksets", body))
        assert ts is not None
        return ts

    def wait_healthy(self, timeout_s: float | None = None) -> TaskSet:
        timeout = self.health_timeout if timeout_s is None else timeout_s
        deadline = time.monotonic() + timeout
        while True:
            canary = self.describe().canary
            if canary is None:
                raise UnhealthyTaskSet("no canary task set is running", "no_canary")
            if canary.healthy:
                return canary
            dead = [p for p in canary.details["processes"] if not p["alive"]]
            if dead or time.monotonic() >= deadline:
                reason = canary.details.get("reason") or "/readyz has not answered 200 yet"
                raise UnhealthyTaskSet(
                    f"canary {canary.version} ({canary.id}) not healthy after "
                    f"{timeout:.0f}s: {reason}"
                    if not dead
                    else f"canary {canary.version} ({canary.id}): {reason}",
                    "unhealthy",
                )
            time.sleep(self.poll_interval)

    def set_weights(self, weights: Weights, expected: Weights | None = None) -> Weights:
        body: dict[str, Any] = {"stable": weights.stable, "canary": weights.canary}
        if expected is not None:
            body["expected"] = {"stable": expected.stable, "canary": expected.canary}
        self.client.call("PUT", "/v1/weights", body)
        actual = self.describe().weights
        if actual != weights:  # read back: someone may have changed them in between
            raise TrafficDrift(
                f"sandbox: weights read back as {actual.stable}/{actual.canary} "
                f"after setting {weights.stable}/{weights.canary}"
            )
        return actual

    def promote(self) -> PlatformState:
        self.client.call("POST", "/v1/promote")
        state = self.describe()
        if state.canary is not None:
            raise PlatformError("sandbox: the canary is still there after promote")
        return state

    def rollback(self) -> PlatformState:
        self.client.call("POST", "/v1/rollback")
        return self.describe()

    def close(self) -> None:
        self.client.close()
