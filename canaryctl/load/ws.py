"""WebSocket players: connections to ``/v1/ws`` that follow the profile's curve, at most N.

Each player is registered (and funded, with the admin key) through the HTTP API, holds one
WebSocket through the target, subscribes to its wallet, one leaderboard and its matchmaking,
pings every few seconds and counts what the server pushes. A controller opens connections while
the curve rises and closes some (a normal 1000 close) as it falls; a player who left may come
back later on the same account. At the end every connection is closed. Once subscribed to its
wallet, a player joins the mix's ``online`` set, so its own spends come back to it as
``wallet.updated``.
"""

from __future__ import annotations

import asyncio
import itertools
import random
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import orjson
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus

from canaryctl.load.profiles import Profile, connections
from canaryctl.load.scenario import GameMix, Player, Send

__all__ = ["MAX_WS_PLAYERS", "WsPlayers", "ws_url"]

MAX_WS_PLAYERS = 5_000  # per process: ~15 KB of server memory each, and one file each here
TICK = 0.1  # seconds between the controller's looks at the curve
MAX_BACKOFF = 5.0  # seconds without new connections after failures (doubling from 0.2 s)
CLOSE_TIMEOUT = 2.0  # for the closing handshake, per connection


def ws_url(target: str) -> str:
    """``http://host:port/prefix`` → ``ws://host:port/prefix/v1/ws`` (``https`` → ``wss``,
    which ``websockets`` verifies against the default trust store)."""
    parts = urlsplit(target)
    scheme = "wss" if parts.scheme == "https" else "ws"
    return urlunsplit((scheme, parts.netloc, parts.path.rstrip("/") + "/v1/ws", "", ""))


@dataclass(eq=False)
class _Session:
    player: Player | None = None
    conn: ClientConnection | None = None
    task: asyncio.Task[None] | None = None
    leaving: bool = False
    pings: dict[str, float] = field(default_factory=dict)  # cid -> when sent


@dataclass
class _WsStats:
    connected: int = 0
    open: int = 0
    peak: int = 0
    closed_by_client: int = 0
    closed_by_server: Counter[str] = field(default_factory=Counter)
    connect_errors: Counter[str] = field(default_factory=Counter)
    messages_in: Counter[str] = field(default_factory=Counter)
    messages_out: Counter[str] = field(default_factory=Counter)
    error_reasons: Counter[str] = field(default_factory=Counter)
    rtts: list[float] = field(default_factory=list)


class WsPlayers:
    """Up to ``players`` WebSocket players; ``run`` follows the curve, ``close`` ends them."""

    def __init__(
        self,
        target: str,
        players: int,
        profile: Profile,
        mix: GameMix,
        send: Send,
        rng: random.Random,
        ping_interval: float = 5.0,
        timeout: float = 10.0,
    ) -> None:
        self.url = ws_url(target)
        self.players, self.profile, self.mix, self.send = players, profile, mix, send
        self.rng = rng
        self.ping_interval, self.timeout = ping_interval, timeout
        self.st = _WsStats()
        self.sessions: set[_Session] = set()
        self.offline: list[Player] = []  # players who left and may come back
        self.registered = 0
        self._cids = itertools.count(1)
        self._closers: set[asyncio.Task[None]] = set()
        self._failures = 0  # in a row: refused, timed out, closed by the server
        self._calm_until = 0.0

    async def run(self, t0: float, duration: float, stop: asyncio.Event | None) -> None:
        """Open and close connections to follow the curve until the run's end (or ``stop``)."""
        loop = asyncio.get_running_loop()
        burst = max(5, -(-self.players // 20))  # a login storm, but not all in one tick
        while (elapsed := loop.time() - t0) < duration and not (stop and stop.is_set()):
            want = connections(self.profile, self.players, elapsed, duration)
            staying = [s for s in self.sessions if not s.leaving]
            if len(staying) < want and loop.time() >= self._calm_until:
                # players not in a session (one still closing holds its player until it is done)
                free = len(self.offline) + self.players - self.registered
                for _ in range(min(want - len(staying), burst, free)):
                    self._open()
            elif len(staying) > want:
                for s in self.rng.sample(staying, len(staying) - want):
                    self._leave(s)
            await asyncio.sleep(TICK)

    def _open(self) -> None:
        s = _Session()
        self.sessions.add(s)
        s.task = asyncio.get_running_loop().create_task(self._session(s))

    def _leave(self, s: _Session) -> None:
        s.leaving = True
        if s.player is not None:  # its spends from now on may not reach it any more
            self.mix.online.discard(s.player)
        if s.conn is not None:
            closer = asyncio.get_running_loop().create_task(s.conn.close(1000, "bye"))
            self._closers.add(closer)
            closer.add_done_callback(self._closers.discard)

    def _failed(self) -> None:
        """Back off: clients that failed (or were closed) wait before they try again, so a
        failing backend is not flooded with reconnections."""
        self._failures += 1
        delay = min(MAX_BACKOFF, 0.1 * 2 ** min(self._failures, 10))
        self._calm_until = asyncio.get_running_loop().time() + delay * self.rng.uniform(0.5, 1)

    async def _take_player(self) -> Player | None:
        if self.offline:
            return self.offline.pop(self.rng.randrange(len(self.offline)))
        self.registered += 1  # the controller opens no more sessions than free players
        player = await self.mix.new_player(self.send)
        if player is None:
            self.registered -= 1
            self.st.connect_errors["register_failed"] += 1
            self._failed()
        return player

    async def _session(self, s: _Session) -> None:
        try:
            s.player = await self._take_player()
            if s.player is not None and not s.leaving:
                conn = await self._connect(s.player)
                if conn is None:
                    self._failed()
                else:
                    self._failures = 0
                    await self._hold(s, conn)
        finally:
            self.sessions.discard(s)
            if s.player is not None:
                self.mix.online.discard(s.player)
                self.offline.append(s.player)

    async def _connect(self, player: Player) -> ClientConnection | None:
        try:
            return await connect(
                self.url,
                additional_headers=player.auth,
                user_agent_header="canaryctl-load",
                compression=None,  # as the gateway: no permessage-deflate
                proxy=None,  # straight to the target, as the HTTP client
                open_timeout=self.timeout,
                ping_interval=None,  # the players ping in the protocol (type "ping")
                close_timeout=CLOSE_TIMEOUT,
            )
        except InvalidStatus as exc:
            self.st.connect_errors[str(exc.response.status_code)] += 1
        except TimeoutError:
            self.st.connect_errors["timeout"] += 1
        except (OSError, InvalidHandshake) as exc:
            self.st.connect_errors[type(exc).__name__] += 1
        return None

    async def _hold(self, s: _Session, conn: ClientConnection) -> None:
        s.conn = conn
        st = self.st
        st.connected += 1
        st.open += 1
        st.peak = max(st.peak, st.open)
        pinger = asyncio.get_running_loop().create_task(self._pinger(s, conn))
        try:
            if s.leaving:  # asked to leave while connecting
                self._leave(s)
            else:
                board = self.rng.choice(self.mix.cat.boards)
                for topic in ("wallet", f"leaderboard:{board}", "matchmaking"):
                    await self._send(conn, "subscribe", {"topic": topic})
            async for raw in conn:
                self._received(s, raw)
        except ConnectionClosed:
            pass
        finally:
            pinger.cancel()
            st.open -= 1
            self._count_close(s, conn)

    def _count_close(self, s: _Session, conn: ClientConnection) -> None:
        proto = conn.protocol
        if proto.close_rcvd is not None and (
            proto.close_sent is None or proto.close_rcvd_then_sent
        ):
            self.st.closed_by_server[str(proto.close_rcvd.code)] += 1
        elif proto.close_sent is not None and s.leaving:
            self.st.closed_by_client += 1
            return
        else:  # no closing handshake: the connection was lost
            self.st.closed_by_server["1006"] += 1
        self._failed()

    async def _send(
        self, conn: ClientConnection, kind: str, payload: dict[str, Any], cid: str | None = None
    ) -> None:
        body = {"type": kind, "cid": cid or f"c{next(self._cids)}", "payload": payload}
        await conn.send(orjson.dumps(body).decode())
        self.st.messages_out[kind] += 1

    def _received(self, s: _Session, raw: str | bytes) -> None:
        try:
            msg = orjson.loads(raw)
            kind = str(msg.get("type"))
        except (orjson.JSONDecodeError, AttributeError):
            self.st.messages_in["unreadable"] += 1
            return
        self.st.messages_in[kind] += 1
        payload = msg.get("payload") or {}
        if kind == "pong":
            sent = s.pings.pop(str(msg.get("cid")), None)
            if sent is not None:
                self.st.rtts.append(time.perf_counter() - sent)
        elif kind == "subscribed" and payload.get("topic") == "wallet" and s.player is not None:
            if not s.leaving:
                self.mix.online.add(s.player)
        elif kind == "error":
            self.st.error_reasons[str(payload.get("reason"))] += 1

    async def _pinger(self, s: _Session, conn: ClientConnection) -> None:
        # The first ping at a random phase: a crowd that connected together does not ping in step.
        await asyncio.sleep(self.rng.uniform(0, self.ping_interval))
        while True:
            cid = f"p{next(self._cids)}"
            s.pings = {cid: time.perf_counter()}  # an unanswered ping is forgotten
            try:
                await self._send(conn, "ping", {}, cid)
            except ConnectionClosed:
                return
            await asyncio.sleep(self.ping_interval)

    async def close(self, timeout: float) -> None:
        """Close every connection (and stop sessions still connecting), bounded in time."""
        tasks = [s.task for s in self.sessions if s.task is not None]
        for s in list(self.sessions):
            self._leave(s)
        if tasks:
            _, pending = await asyncio.wait(tasks, timeout=timeout)
            for task in pending:
                task.cancel()
            if pending:
                await asyncio.wait(pending, timeout=1.0)
        if self._closers:
            await asyncio.wait(self._closers, timeout=CLOSE_TIMEOUT)

    def summary(self) -> dict[str, Any]:
        st = self.st
        rtts = sorted(st.rtts)

        def ms(q: float) -> float | None:
            return round(rtts[min(len(rtts) - 1, int(q * len(rtts)))] * 1000, 3) if rtts else None

        return {
            "players": self.players,
            "registered": self.registered,
            "connected": st.connected,
            "peak": st.peak,
            "open_at_end": st.open,
            "closed_by_client": st.closed_by_client,
            "closed_by_server": dict(sorted(st.closed_by_server.items())),
            "connect_errors": dict(sorted(st.connect_errors.items())),
            "messages_in": dict(sorted(st.messages_in.items())),
            "messages_out": dict(sorted(st.messages_out.items())),
            "error_reasons": dict(sorted(st.error_reasons.items())),
            "ping_rtt_ms": {"p50": ms(0.5), "p95": ms(0.95), "n": len(rtts)},
            "online_wallet_changes": self.mix.online_wallet_changes,
        }
