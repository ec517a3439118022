"""The load generator's engine: open-loop arrivals, bounded in count, time and concurrency.

An arrival that finds ``concurrency`` requests already in flight is not delayed (that would
turn the open loop into a closed one and hide a slow backend): it is counted as ``dropped``.
"""

from __future__ import annotations

import asyncio
import ipaddress
import random
import socket
import threading
import time
from collections import Counter
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from canaryctl.errors import InvalidInput
from canaryctl.load.http import HttpClient, Response, TransportError
from canaryctl.load.profiles import PROFILES, arrivals
from canaryctl.load.scenario import GameMix
from canaryctl.metrics.routes import route_class

__all__ = ["LoadHandle", "LoadOptions", "check_target", "run", "run_in_background"]


@dataclass
class LoadOptions:
    target: str
    profile: str = "steady"
    rps: float = 30.0
    duration: float = 30.0
    max_requests: int | None = None
    concurrency: int = 64
    admin_key: str | None = None
    allow_remote: bool = False
    timeout: float = 10.0
    seed: int | None = None


def check_target(url: str, allow_remote: bool = False) -> str:
    """The URL without a trailing slash; ``InvalidInput`` unless it is loopback (or allowed)."""
    parts = urlsplit(url)
    if parts.scheme != "http" or not parts.hostname:
        raise InvalidInput(f"--target: expected an http:// URL, got {url!r}")
    if not allow_remote:
        try:
            infos = socket.getaddrinfo(parts.hostname, parts.port or 80, type=socket.SOCK_STREAM)
        except OSError as exc:
            raise InvalidInput(f"--target: cannot resolve {parts.hostname}: {exc}") from None
        remote = [i[4][0] for i in infos if not ipaddress.ip_address(i[4][0]).is_loopback]
        if remote:
            raise InvalidInput(
                f"--target: {parts.hostname} is not a loopback address; "
                "load is loopback-only unless --allow-remote"
            )
    return url.rstrip("/")


class _Stats:
    def __init__(self) -> None:
        self.latencies: list[float] = []
        self.by_status: Counter[str] = Counter()
        self.by_action: Counter[str] = Counter()
        self.by_class: Counter[str] = Counter()
        self.errors = 0
        self.server_errors = 0

    def record(self, action: str, path: str, status: int | None, latency: float) -> None:
        self.latencies.append(latency)
        self.by_action[action] += 1
        self.by_class[route_class(path)] += 1
        label = str(status) if status is not None else "transport"
        self.by_status[label] += 1
        if status is None or status >= 400:
            self.errors += 1
        if status is None or status >= 500:
            self.server_errors += 1


def _quantile(sorted_values: list[float], q: float) -> float | None:
    if not sorted_values:
        return None
    return sorted_values[min(len(sorted_values) - 1, int(q * len(sorted_values)))]


def _summary(
    opts: LoadOptions, st: _Stats, sent: int, dropped: int, elapsed: float
) -> dict[str, Any]:
    lat = sorted(st.latencies)
    ms = {f"p{int(q * 100)}": _ms(_quantile(lat, q)) for q in (0.5, 0.95, 0.99)}
    ms["max"] = _ms(lat[-1] if lat else None)
    return {
        "target": opts.target,
        "profile": opts.profile,
        "peak_rps": opts.rps,
        "duration_s": round(elapsed, 3),
        "requests": sent,
        "completed": len(lat),
        "dropped": dropped,
        "achieved_rps": round(len(lat) / elapsed, 2) if elapsed > 0 else 0.0,
        "errors": st.errors,
        "server_errors": st.server_errors,
        "errors_by_status": {k: v for k, v in sorted(st.by_status.items()) if k[0] != "2"},
        "status_counts": dict(sorted(st.by_status.items())),
        "by_action": dict(sorted(st.by_action.items())),
        "by_route_class": dict(sorted(st.by_class.items())),
        "latency_ms": ms,
    }


def _ms(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds * 1000, 3)


async def run(opts: LoadOptions, stop: asyncio.Event | None = None) -> dict[str, Any]:
    """Play the profile against ``opts.target`` and return the summary."""
    profile = PROFILES[opts.profile]
    st = _Stats()
    client = HttpClient(opts.target, max_connections=opts.concurrency, timeout=opts.timeout)

    async def send(action: str, method: str, path: str, kw: dict[str, Any]) -> Response | None:
        t0 = time.perf_counter()
        try:
            resp = await client.request(method, path, **kw)
        except TransportError:
            st.record(action, path, None, time.perf_counter() - t0)
            return None
        st.record(action, path, resp.status, time.perf_counter() - t0)
        return resp

    try:
        mix = GameMix(send, opts.admin_key, random.Random(opts.seed))
        sent, dropped, elapsed = await _play(opts, profile, mix, stop)
    finally:
        await client.aclose()
    return _summary(opts, st, sent, dropped, elapsed)


async def _play(
    opts: LoadOptions, profile: Any, mix: GameMix, stop: asyncio.Event | None
) -> tuple[int, int, float]:
    loop = asyncio.get_running_loop()
    inflight: set[asyncio.Task[None]] = set()
    sent = dropped = 0
    t0 = loop.time()
    for offset in arrivals(profile, opts.rps, opts.duration, opts.seed):
        if stop is not None and stop.is_set():
            break
        if opts.max_requests is not None and sent >= opts.max_requests:
            break
        delay = t0 + offset - loop.time()
        if delay > 0:
            if stop is None:
                await asyncio.sleep(delay)
            else:
                try:
                    await asyncio.wait_for(stop.wait(), delay)
                    break
                except TimeoutError:
                    pass
        if len(inflight) >= opts.concurrency:
            dropped += 1
            continue
        task = loop.create_task(mix.step())
        inflight.add(task)
        task.add_done_callback(inflight.discard)
        sent += 1
    if inflight:  # the run is bounded in time: stragglers get the request timeout, no more
        await asyncio.wait(inflight, timeout=opts.timeout + 1)
    return sent, dropped, loop.time() - t0


class LoadHandle:
    """A load run in a background thread (its own event loop); ``stop()`` returns the summary."""

    def __init__(self, opts: LoadOptions) -> None:
        self.opts = opts
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._ready = threading.Event()
        self._result: dict[str, Any] | None = None
        self._thread = threading.Thread(target=self._main, name="canaryctl-load", daemon=True)
        self._thread.start()
        self._ready.wait(5)

    def _main(self) -> None:
        async def body() -> dict[str, Any]:
            self._loop = asyncio.get_running_loop()
            self._stop = asyncio.Event()
            self._ready.set()
            return await run(self.opts, self._stop)

        try:
            self._result = asyncio.run(body())
        except Exception as exc:  # reported in the summary: a hook must not kill the deploy
            self._result = {"target": self.opts.target, "error": f"{type(exc).__name__}: {exc}"}
        finally:
            self._ready.set()

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    def stop(self, timeout: float = 30.0) -> dict[str, Any]:
        """Stop sending, wait for requests in flight (bounded) and return the summary."""
        loop, stop = self._loop, self._stop
        if loop is not None and stop is not None and self._thread.is_alive():
            loop.call_soon_threadsafe(stop.set)
        self._thread.join(timeout)
        return self._result or {"target": self.opts.target, "error": "load run did not finish"}

    def wait(self, timeout: float | None = None) -> dict[str, Any] | None:
        """Wait for the run to end by itself (its duration or request bound)."""
        self._thread.join(timeout)
        return self._result


def run_in_background(
    target_url: str,
    profile: str = "steady",
    rps: float = 30.0,
    duration: float = 60.0,
    admin_key: str | None = None,
    **kw: Any,
) -> LoadHandle:
    """Start a load run in a thread and return its handle (the engine's ``load`` hook)."""
    if profile not in PROFILES:
        raise InvalidInput(f"unknown load profile {profile!r} (known: {', '.join(PROFILES)})")
    target = check_target(target_url, bool(kw.get("allow_remote", False)))
    if admin_key is None:
        from canaryctl.load.discover import sandbox_admin_key

        admin_key = sandbox_admin_key(target)
    opts = LoadOptions(target, profile, rps, duration, admin_key=admin_key, **kw)
    return LoadHandle(opts)
