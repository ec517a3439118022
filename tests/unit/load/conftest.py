"""Builders for the load generator's unit tests: a stand-in for the backend's HTTP answers (the
``send`` seam the mix and the follow-ups call) and a small WebSocket server speaking the
gateway's envelopes. The real backend is exercised in tests/integration/load."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import random
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import orjson
import pytest
from websockets.asyncio.server import Server, ServerConnection, serve

from canaryctl.load.http import Response
from canaryctl.load.scenario import GameMix


def answer(status: int, body: Any = None, headers: dict[str, str] | None = None) -> Response:
    return Response(status, headers or {}, orjson.dumps(body if body is not None else {}))


@dataclass
class Api:
    """Answers the requests the load sends: players register (201) and are credited (201);
    anything else is given to ``handler`` (default: 200 {})."""

    handler: Callable[[str, str, dict[str, Any]], Response] | None = None
    calls: list[tuple[str, str, str]] = field(default_factory=list)

    async def send(
        self, action: str, method: str, path: str, kw: dict[str, Any], ok: tuple[int, ...] = ()
    ) -> Response | None:
        self.calls.append((action, method, path))
        await asyncio.sleep(0)
        if path == "/v1/players":
            return answer(201, {"player_id": str(uuid.uuid4()), "token": uuid.uuid4().hex})
        if path == "/v1/wallet/transactions":
            return answer(201)
        if self.handler is not None:
            return self.handler(method, path, kw)
        return answer(200)


@pytest.fixture
def api() -> Api:
    return Api()


@pytest.fixture
def mix(api: Api) -> GameMix:
    return GameMix(api.send, "admin", random.Random(1))


@dataclass
class Gateway:
    """A WebSocket server answering subscribe and ping as the gateway does; counts the
    connections open now and at most; ``close_first`` closes the first one with that code."""

    port: int = 0
    open: int = 0
    peak: int = 0
    accepted: int = 0
    close_first: int | None = None
    samples: list[int] = field(default_factory=list)
    _n: itertools.count[int] = field(default_factory=itertools.count)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def handle(self, conn: ServerConnection) -> None:
        self.open += 1
        self.accepted += 1
        self.peak = max(self.peak, self.open)
        first = next(self._n) == 0
        try:
            async for raw in conn:
                msg = orjson.loads(raw)
                kind = {"subscribe": "subscribed", "ping": "pong"}.get(msg["type"], "error")
                answer = {"type": kind, "cid": msg.get("cid"), "payload": msg.get("payload")}
                await conn.send(orjson.dumps(answer).decode())
                if first and self.close_first is not None and kind == "subscribed":
                    await conn.close(self.close_first, "test")
        except Exception:  # a dropped client is not the test's failure
            pass
        finally:
            self.open -= 1


@pytest.fixture
async def gateway() -> AsyncIterator[Gateway]:
    gw = Gateway()
    server: Server = await serve(gw.handle, "127.0.0.1", 0, compression=None)
    gw.port = server.sockets[0].getsockname()[1]
    try:
        yield gw
    finally:
        server.close()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(server.wait_closed(), 5)
