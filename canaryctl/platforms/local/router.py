"""The weighted router that stands in for the ALB: target groups, weights, the listening socket.

Two target groups, ``stable`` and ``canary``, each a list of backend processes served round-robin.
The group of each request is chosen by smooth weighted round-robin (nginx's algorithm): at 90/10
exactly 10 of every 100 requests go to the canary, evenly interleaved, so a short analysis
window sees the split it was promised rather than a random draw of it.

Run on its own (benchmarks, tests)::

    python -m canaryctl.platforms.local.router --port 0 --admin-port 0 \
        --stable 127.0.0.1:8001 [--canary 127.0.0.1:8002 --weights 90/10] [--ready-file F]
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterable
from typing import Any

from canaryctl.platforms.local.proxy import ClientConnection
from canaryctl.platforms.local.stats import RouterStats
from canaryctl.platforms.local.upstream import Upstream

__all__ = ["Router", "TargetGroup"]

Addr = tuple[str, int]


class TargetGroup:
    """The processes of one task set, served round-robin."""

    __slots__ = ("_rr", "name", "upstreams")

    def __init__(self, name: str) -> None:
        self.name = name
        self.upstreams: list[Upstream] = []
        self._rr = -1

    def next_upstream(self) -> Upstream | None:
        ups = self.upstreams
        if not ups:
            return None
        self._rr = (self._rr + 1) % len(ups)
        return ups[self._rr]

    def addrs(self) -> list[str]:
        return [u.addr for u in self.upstreams]


class Router:
    """Owns the listening socket, the groups, the weights and the statistics.

    Changing targets or weights only affects requests that are chosen afterwards; requests in
    flight finish on the upstream they started on, and removed upstreams are *retired*: idle
    connections close now, busy ones when their answer is done.
    """

    def __init__(
        self,
        stats: RouterStats | None = None,
        *,
        upstream_timeout: float = 60.0,
        client_idle_timeout: float = 75.0,
        pool_idle_timeout: float = 3.0,
    ) -> None:
        self.stats = stats or RouterStats()
        self.groups = {"stable": TargetGroup("stable"), "canary": TargetGroup("canary")}
        self.weights: tuple[int, int] = (100, 0)
        self.upstream_timeout = upstream_timeout
        self.client_idle_timeout = client_idle_timeout
        self.pool_idle_timeout = pool_idle_timeout
        self.clients: set[ClientConnection] = set()
        self.retired: list[Upstream] = []
        self.loop: asyncio.AbstractEventLoop  # the running loop, set by start()
        self._credit = [0, 0]
        self._server: asyncio.Server | None = None
        self._sweeper: asyncio.Task[None] | None = None

    # -- traffic -----------------------------------------------------------------------
    def pick_group(self) -> TargetGroup:
        stable, canary = self.weights
        if canary == 0:
            return self.groups["stable"]
        if stable == 0:
            return self.groups["canary"]
        credit = self._credit
        credit[0] += stable
        credit[1] += canary
        if credit[0] >= credit[1]:
            credit[0] -= 100
            return self.groups["stable"]
        credit[1] -= 100
        return self.groups["canary"]

    def set_weights(self, stable: int, canary: int) -> None:
        if not (0 <= canary <= 100 and stable + canary == 100):
            raise ValueError(f"weights must be 0..100 and add up to 100, got {stable}/{canary}")
        self.weights = (stable, canary)
        self._credit = [0, 0]

    def set_targets(self, group: str, addrs: Iterable[Addr]) -> list[Upstream]:
        """Make ``group`` serve exactly ``addrs``; returns the upstreams that were retired."""
        tg = self.groups[group]
        current = {(u.host, u.port): u for u in tg.upstreams}
        wanted = list(dict.fromkeys(addrs))
        tg.upstreams = [current.get(a) or Upstream(*a) for a in wanted]
        removed = [u for a, u in current.items() if a not in set(wanted)]
        self._retire(removed)
        return removed

    def promote(self) -> list[Upstream]:
        """Canary's processes become the stable group at 100%; the old stable ones retire."""
        stable, canary = self.groups["stable"], self.groups["canary"]
        old = [u for u in stable.upstreams if u not in canary.upstreams]
        stable.upstreams, canary.upstreams = canary.upstreams, []
        self.set_weights(100, 0)
        self._retire(old)
        return old

    def _retire(self, ups: list[Upstream]) -> None:
        for up in ups:
            up.retire()
            self.retired.append(up)

    def busy(self, addr: str) -> int:
        """Requests in flight to ``addr`` (in any group or retired): drain waits for zero."""
        ups = [*self.groups["stable"].upstreams, *self.groups["canary"].upstreams, *self.retired]
        return sum(u.inflight for u in ups if u.addr == addr)

    def forget(self, addr: str) -> None:
        """Drop a retired upstream once its process is gone."""
        self.retired = [u for u in self.retired if u.addr != addr]

    def describe(self) -> dict[str, Any]:
        return {
            "weights": {"stable": self.weights[0], "canary": self.weights[1]},
            "targets": {name: g.addrs() for name, g in self.groups.items()},
            "connections": len(self.clients),
            "inflight": {
                u.addr: u.inflight
                for g in self.groups.values()
                for u in [*g.upstreams]
                if u.inflight
            },
        }

    # -- lifecycle ---------------------------------------------------------------------
    async def start(self, host: str = "127.0.0.1", port: int = 0) -> int:
        """Listen on ``host:port`` (0 = ephemeral); returns the bound port."""
        self.loop = asyncio.get_running_loop()
        self._server = await self.loop.create_server(
            lambda: ClientConnection(self), host, port, backlog=2048, reuse_address=True
        )
        self._sweeper = self.loop.create_task(self._sweep_forever())
        return int(self._server.sockets[0].getsockname()[1])

    async def close(self) -> None:
        if self._sweeper is not None:
            self._sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sweeper
        if self._server is not None:
            self._server.close()
        for client in list(self.clients):
            client.close()
        for group in self.groups.values():
            for up in group.upstreams:
                up.retire()
        if self._server is not None:
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._server.wait_closed(), 2.0)

    async def _sweep_forever(self) -> None:
        while True:
            await asyncio.sleep(1.0)
            self.sweep()

    def sweep(self) -> None:
        """Time out stuck exchanges, close idle clients and stale pooled connections."""
        now = self.loop.time()
        for client in list(self.clients):
            ex = client.exchange
            if ex is not None:
                if now - ex.request.received > self.upstream_timeout:
                    client.timed_out(ex)
            elif client.tunnel is None and now - client.last_active > self.client_idle_timeout:
                client.close()
        deadline = now - self.pool_idle_timeout
        for group in self.groups.values():
            for up in group.upstreams:
                up.close_idle_older_than(deadline)


def main(argv: list[str] | None = None) -> None:
    from canaryctl.platforms.local.standalone import run_standalone

    run_standalone(argv)


if __name__ == "__main__":
    main()
