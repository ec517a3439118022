"""The embedded metric source: the local router's own per-second counters, no Prometheus needed.

Each ``window()`` asks the router's admin API for the whole seconds in ``[start, end)``
(``GET /v1/window``). Nothing is cached here: the history lives in the router, so a deploy that
was killed and resumed sees the same numbers.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import httpx

from canaryctl.metrics.base import NoData, SourceCapabilities, Target, WindowStats
from canaryctl.platforms.local.sandboxfile import running_sandbox

__all__ = ["EmbeddedSource"]


class EmbeddedSource:
    """Window statistics from the sandbox router (``admin_url`` or found via the sandbox dir)."""

    name = "embedded"

    def __init__(
        self,
        admin_url: str | None = None,
        *,
        sandbox_dir: Path | str = ".sandbox",
        timeout: float = 5.0,
    ) -> None:
        self._admin_url = admin_url
        self.sandbox_dir = Path(sandbox_dir)
        self._http = httpx.Client(timeout=timeout)

    @classmethod
    def capabilities(cls, config: Any) -> SourceCapabilities:
        # The router classifies every request it forwards.
        return SourceCapabilities(route_classes=True)

    @classmethod
    def from_config(
        cls, config: Any, *, service: str, base_dir: Path, platform: Any = None
    ) -> EmbeddedSource:
        # The embedded source reads the router of the platform's sandbox; with another
        # platform (or none) it falls back to the default sandbox directory.
        url = getattr(platform, "control_url", None)
        return cls(url, sandbox_dir=getattr(config, "sandbox", ".sandbox"))

    def _url(self) -> str | None:
        if self._admin_url:
            return self._admin_url
        info = running_sandbox(self.sandbox_dir)
        return info.control_url if info else None

    def window(
        self, target: Target, start: float, end: float, route_class: str | None = None
    ) -> WindowStats | NoData:
        base = self._url()
        if base is None:
            return NoData(f"no sandbox running in {self.sandbox_dir}", target, route_class)
        params = {"target_group": str(target), "start": repr(start), "end": repr(end)}
        if route_class:
            params["route_class"] = route_class
        try:
            resp = self._http.get(f"{base}/v1/window", params=params)
            resp.raise_for_status()
            data = resp.json()
        except (httpx.HTTPError, ValueError) as exc:
            return NoData(f"router admin API {base} unreachable: {exc}", target, route_class)
        requests = int(data["requests"])
        if requests == 0:
            what = f"{target}" + (f"/{route_class}" if route_class else "")
            since = data.get("retained_since")
            reason = f"no requests recorded for {what} in [{start:.0f}, {end:.0f})"
            if since and start < float(since):
                reason += f" (the router holds history since {since})"
            return NoData(reason, target, route_class)
        buckets = tuple((math.inf if b == "+Inf" else float(b), int(c)) for b, c in data["buckets"])
        return WindowStats(
            requests=requests,
            errors=int(data["errors"]),
            buckets=buckets,
            start=float(start),
            end=float(end),
        )

    def close(self) -> None:
        self._http.close()
