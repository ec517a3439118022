"""The load generator's engine: open-loop arrivals, bounded in count, time and concurrency.

An arrival that finds ``concurrency`` requests already in flight is not delayed (that would
turn the open loop into a closed one and hide a slow backend): it is counted as ``dropped``.

Besides the arrivals, a run may hold WebSocket players (``ws_players``) and follow matchmaking
tickets. Their requests (registering the players, polling and cancelling tickets) are
*follow-ups*: sent on a small connection pool of their own, so that they never queue an arrival
behind them, and counted in ``max_requests``. The clean-up at the end (cancelling the tickets
still searching) is sent whatever the budget: the run leaves nobody queued.
"""

from __future__ import annotations

import asyncio
import random
import resource
import signal
import threading
import time
from dataclasses import dataclass
from typing import Any

from canaryctl.errors import InvalidInput
from canaryctl.load.http import HttpClient, Response, TransportError
from canaryctl.load.matchmaking import Matchmaking
from canaryctl.load.profiles import PROFILES, Profile, arrivals
from canaryctl.load.scenario import Catalogue, GameMix
from canaryctl.load.stats import HttpStats
from canaryctl.load.target import check_target
from canaryctl.load.ws import MAX_WS_PLAYERS, WsPlayers

__all__ = [
    "LoadHandle",
    "LoadOptions",
    "check_options",
    "check_target",
    "run",
    "run_in_background",
    "run_until_signal",
]

MAX_DURATION = 24 * 3600.0
SIDE_CONNECTIONS = 16  # the follow-ups' own HTTP connections
FD_RESERVE = 128  # files the process needs besides the load's connections
DEFAULT_MM_SHARE = 0.1


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
    ws_players: int = 0
    matchmaking: float | None = None  # share of the actions; None: see matchmaking_share
    ws_ping_interval: float = 5.0

    @property
    def matchmaking_share(self) -> float:
        """The given share, else 10% on a launch day or with WebSocket players (players queue
        for matches), else none: steady, ramp and spike keep the mix they always had."""
        if self.matchmaking is not None:
            return self.matchmaking
        return DEFAULT_MM_SHARE if self.profile == "launch" or self.ws_players > 0 else 0.0


def check_options(opts: LoadOptions) -> None:
    """``InvalidInput`` naming the flag for any value out of bounds."""
    if opts.profile not in PROFILES:
        raise InvalidInput(f"--profile: unknown {opts.profile!r} (known: {', '.join(PROFILES)})")
    if not 0 < opts.rps <= 20_000:
        raise InvalidInput(f"--rps: must be in (0, 20000], got {opts.rps:g}")
    if not 0 < opts.duration <= MAX_DURATION:
        raise InvalidInput(f"--duration: must be positive and at most 24h, got {opts.duration:g}s")
    if not 1 <= opts.concurrency <= 10_000:
        raise InvalidInput(f"--concurrency: must be 1..10000, got {opts.concurrency}")
    if opts.max_requests is not None and opts.max_requests < 1:
        raise InvalidInput(f"--max-requests: must be at least 1, got {opts.max_requests}")
    if opts.matchmaking is not None and not 0 <= opts.matchmaking <= 1:
        raise InvalidInput(f"--matchmaking: a share in [0, 1], got {opts.matchmaking:g}")
    if opts.ws_ping_interval <= 0:
        raise InvalidInput(f"--ws-ping-interval: must be positive, got {opts.ws_ping_interval:g}")
    _check_ws_players(opts)


def _check_ws_players(opts: LoadOptions) -> None:
    n = opts.ws_players
    if not 0 <= n <= MAX_WS_PLAYERS:
        raise InvalidInput(f"--ws-players: must be 0..{MAX_WS_PLAYERS} per process, got {n}")
    need = n + opts.concurrency + SIDE_CONNECTIONS + FD_RESERVE
    limit = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    if n and limit != resource.RLIM_INFINITY and need > limit:
        raise InvalidInput(
            f"--ws-players: {n} WebSockets + {opts.concurrency} HTTP connections need about "
            f"{need} open files; this process may open {limit} (ulimit -n): run fewer per "
            "process"
        )


class _Budget:
    """``max_requests``: arrivals and follow-ups each take one request."""

    def __init__(self, limit: int | None) -> None:
        self.limit, self.used = limit, 0

    def take(self) -> bool:
        if self.limit is not None and self.used >= self.limit:
            return False
        self.used += 1
        return True


class _Traffic:
    """The run's HTTP clients and senders (see ``canaryctl.load.scenario.Send``)."""

    def __init__(self, opts: LoadOptions, stats: HttpStats, budget: _Budget) -> None:
        self.stats, self.budget = stats, budget
        self.main = HttpClient(opts.target, max_connections=opts.concurrency, timeout=opts.timeout)
        self.side = HttpClient(opts.target, max_connections=SIDE_CONNECTIONS, timeout=opts.timeout)
        self.side_slots = asyncio.Semaphore(SIDE_CONNECTIONS)
        self.cleanups = 0

    async def _exchange(
        self, client: HttpClient, action: str, method: str, path: str, kw: dict[str, Any],
        ok: tuple[int, ...],
    ) -> Response | None:  # fmt: skip
        t0 = time.perf_counter()
        try:
            resp = await client.request(method, path, **kw)
        except TransportError:
            self.stats.record(action, path, None, time.perf_counter() - t0)
            return None
        self.stats.record(action, path, resp.status, time.perf_counter() - t0, resp.status in ok)
        return resp

    async def arrival(
        self, action: str, method: str, path: str, kw: dict[str, Any], ok: tuple[int, ...] = ()
    ) -> Response | None:
        # The arrival took its unit of the budget when it was created.
        return await self._exchange(self.main, action, method, path, kw, ok)

    async def follow_up(
        self, action: str, method: str, path: str, kw: dict[str, Any], ok: tuple[int, ...] = ()
    ) -> Response | None:
        async with self.side_slots:  # waiting for a slot is not the backend's latency
            if not self.budget.take():
                return None
            return await self._exchange(self.side, action, method, path, kw, ok)

    async def cleanup(
        self, action: str, method: str, path: str, kw: dict[str, Any], ok: tuple[int, ...] = ()
    ) -> Response | None:
        async with self.side_slots:
            self.cleanups += 1
            return await self._exchange(self.side, action, method, path, kw, ok)

    async def aclose(self) -> None:
        await self.main.aclose()
        await self.side.aclose()


def _summary(
    opts: LoadOptions, traffic: _Traffic, sent: int, dropped: int, elapsed: float, answered: int
) -> dict[str, Any]:
    http = traffic.stats.summary()
    return {
        "target": opts.target,
        "profile": opts.profile,
        "peak_rps": opts.rps,
        "duration_s": round(elapsed, 3),
        "requests": traffic.budget.used + traffic.cleanups,
        "completed": http.pop("completed"),
        "dropped": dropped,
        "achieved_rps": round(answered / elapsed, 2) if elapsed > 0 else 0.0,
        **http,
        "arrivals": sent,
        "follow_ups": traffic.budget.used - sent,
        "cleanup_requests": traffic.cleanups,
    }


async def run(opts: LoadOptions, stop: asyncio.Event | None = None) -> dict[str, Any]:
    """Play the profile against ``opts.target`` and return the summary."""
    profile = PROFILES[opts.profile]
    budget = _Budget(opts.max_requests)
    traffic = _Traffic(opts, HttpStats(), budget)
    side_seed = None if opts.seed is None else opts.seed + 1
    side_rng = random.Random(side_seed)  # the mix's own draws stay those of earlier versions
    share = opts.matchmaking_share
    mm = None
    if share > 0:
        mm = Matchmaking(traffic.follow_up, traffic.cleanup, side_rng, Catalogue().regions)
    mix = GameMix(traffic.arrival, opts.admin_key, random.Random(opts.seed), None, mm, share)
    ws = None
    if opts.ws_players > 0:
        ws = WsPlayers(
            opts.target, opts.ws_players, profile, mix, traffic.follow_up, side_rng,
            opts.ws_ping_interval, opts.timeout,
        )  # fmt: skip
    loop = asyncio.get_running_loop()
    t0 = loop.time()
    controller = loop.create_task(ws.run(t0, opts.duration, stop)) if ws is not None else None
    try:
        sent, dropped, elapsed = await _play(opts, profile, mix, stop, budget, t0)
        answered = len(traffic.stats.latencies)  # before the clean-up's requests
    finally:
        await _wind_down(controller, mm, ws, opts.timeout)
        await traffic.aclose()
    summary = _summary(opts, traffic, sent, dropped, elapsed, answered)
    summary["ws"] = ws.summary() if ws is not None else None
    summary["matchmaking"] = mm.summary(share) if mm is not None else None
    return summary


async def _wind_down(
    controller: asyncio.Task[None] | None,
    mm: Matchmaking | None,
    ws: WsPlayers | None,
    timeout: float,
) -> None:
    """The run is over (its duration, its budget, or a stop): no new connection, nobody left
    queued, every WebSocket closed — each step bounded by the request timeout."""
    if controller is not None:
        controller.cancel()
        await asyncio.wait([controller], timeout=1.0)
    jobs = []
    if mm is not None:
        jobs.append(mm.finish(timeout))
    if ws is not None:
        jobs.append(ws.close(timeout))
    if jobs:
        await asyncio.gather(*jobs)


async def _play(
    opts: LoadOptions,
    profile: Profile,
    mix: GameMix,
    stop: asyncio.Event | None,
    budget: _Budget,
    t0: float,
) -> tuple[int, int, float]:
    loop = asyncio.get_running_loop()
    inflight: set[asyncio.Task[None]] = set()
    sent = dropped = 0
    for offset in arrivals(profile, opts.rps, opts.duration, opts.seed):
        if stop is not None and stop.is_set():
            break
        if budget.limit is not None and budget.used >= budget.limit:
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
        if not budget.take():  # follow-ups used the rest while this arrival waited
            break
        task = loop.create_task(mix.step())
        inflight.add(task)
        task.add_done_callback(inflight.discard)
        sent += 1
    if inflight:  # the run is bounded in time: stragglers get the request timeout, no more
        await asyncio.wait(inflight, timeout=opts.timeout + 1)
    return sent, dropped, loop.time() - t0


async def run_until_signal(opts: LoadOptions) -> dict[str, Any]:
    """``run`` for the command line: Ctrl-C (or SIGTERM) stops it cleanly — no new arrival,
    tickets cancelled, connections closed — and the summary says ``interrupted``. A second
    Ctrl-C stops at once."""
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    signals = (signal.SIGINT, signal.SIGTERM)

    def interrupted() -> None:
        stop.set()
        for sig in signals:
            loop.remove_signal_handler(sig)

    for sig in signals:
        loop.add_signal_handler(sig, interrupted)
    try:
        summary = await run(opts, stop)
    finally:
        for sig in signals:
            loop.remove_signal_handler(sig)
    summary["interrupted"] = stop.is_set()
    return summary


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
    """Start a load run in a thread and return its handle (the engine's ``load`` hook).
    ``kw``: any other ``LoadOptions`` field (``ws_players``, ``max_requests``, ``seed`` ...)."""
    if profile not in PROFILES:
        raise InvalidInput(f"unknown load profile {profile!r} (known: {', '.join(PROFILES)})")
    target = check_target(target_url, bool(kw.get("allow_remote", False)))
    if admin_key is None:
        from canaryctl.load.discover import sandbox_admin_key

        admin_key = sandbox_admin_key(target)
    opts = LoadOptions(target, profile, rps, duration, admin_key=admin_key, **kw)
    check_options(opts)
    return LoadHandle(opts)
