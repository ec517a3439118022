"""Metrics the canary judge reads, and the ASGI middleware that records them (and injects faults).

- ``http_requests_total{route_class, method, status, version}``
- ``http_request_duration_seconds{route_class, version}`` with LATENCY_BUCKETS
- ``gamebackend_wallet_transactions_total{outcome, version}``: applied, replayed, insufficient,
  conflict (same Idempotency-Key, different body)
- ``gamebackend_db_retries_total{reason, version}``
- ``gamebackend_ledger_drift{version}``: |sum of wallet balances - sum of the ledger|, sampled
- ``gamebackend_projection_errors_total{version}``: Redis projection reads/writes that failed
- ``gamebackend_idempotency_pruned_total{version}``: idempotency keys deleted past their retention

With several workers, ``PROMETHEUS_MULTIPROC_DIR`` is set before prometheus_client is imported
and /metrics aggregates every worker's samples (prometheus_client multiprocess mode).
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import orjson
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
    generate_latest,
)
from starlette.requests import Request
from starlette.responses import Response

from gamebackend.accesslog import AccessLog, request_id
from gamebackend.faults import Faults

__all__ = [
    "DB_RETRIES",
    "IDEMPOTENCY_PRUNED",
    "LATENCY_BUCKETS",
    "LEDGER_DRIFT",
    "PROJECTION_ERRORS",
    "WALLET_TXNS",
    "ObservabilityMiddleware",
    "metrics_endpoint",
    "route_class",
]

log = logging.getLogger("gamebackend")

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

# A copy of canaryctl.metrics.routes.LATENCY_BUCKETS (the backend must not import canaryctl; a
# unit test keeps the two equal). Fine enough to read p95 between 5 ms and 2.5 s.
LATENCY_BUCKETS: tuple[float, ...] = (
    0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5, 0.75, 1.0, 1.5, 2.5,
    5.0, 10.0,
)  # fmt: skip

_PREFIXES: tuple[tuple[str, str], ...] = (
    ("/v1/wallet", "wallet"),
    ("/v1/pools", "pools"),
    ("/v1/inventory", "inventory"),
    ("/v1/store", "inventory"),
    ("/v1/leaderboards", "leaderboard"),
    ("/v1/players", "players"),
    ("/v1/matchmaking", "matchmaking"),
    ("/v1/ws", "realtime"),
)
_METHODS = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"})

disable_created_metrics()

HTTP_REQUESTS = Counter(
    "http_requests_total", "HTTP requests answered", ["route_class", "method", "status", "version"]
)
HTTP_DURATION = Histogram(
    "http_request_duration_seconds",
    "Time to answer an HTTP request",
    ["route_class", "version"],
    buckets=LATENCY_BUCKETS,
)
WALLET_TXNS = Counter(
    "gamebackend_wallet_transactions_total",
    "Money-moving requests by outcome (applied, replayed, insufficient, conflict)",
    ["outcome", "version"],
)
DB_RETRIES = Counter(
    "gamebackend_db_retries_total", "Database calls retried", ["reason", "version"]
)
LEDGER_DRIFT = Gauge(
    "gamebackend_ledger_drift",
    "Absolute difference between the sum of wallet balances and the sum of the ledger",
    ["version"],
    multiprocess_mode="max",
)
PROJECTION_ERRORS = Counter(
    "gamebackend_projection_errors_total", "Redis projection calls that failed", ["version"]
)
IDEMPOTENCY_PRUNED = Counter(
    "gamebackend_idempotency_pruned_total",
    "Idempotency keys deleted because they were older than the retention",
    ["version"],
)


def route_class(path: str) -> str:
    """The route class of a request path (the same rule as canaryctl's router)."""
    for prefix, name in _PREFIXES:
        if path == prefix or path.startswith(prefix + "/"):
            return name
    return "ops"


_INJECTED = orjson.dumps(
    {"error": "injected_fault", "message": "fault injected by GAMEBACKEND_FAULTS"}
)
_INTERNAL = orjson.dumps({"error": "internal", "message": "internal error"})


class ObservabilityMiddleware:
    """Counts and times every HTTP request; applies GAMEBACKEND_FAULTS to /v1 routes; writes
    the access log (gamebackend/accesslog.py) when one is given."""

    def __init__(
        self, app: ASGIApp, version: str, faults: Faults, access_log: AccessLog | None = None
    ) -> None:
        self.app = app
        self.version = version
        self.faults = faults if faults.active else None
        self.access_log = access_log
        self._counters: dict[tuple[str, str, int], Any] = {}
        self._histograms: dict[str, Any] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            if scope["type"] == "websocket" and self.access_log is not None:
                await self._websocket(scope, receive, send, self.access_log)
            else:
                await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 0
        path: str = scope["path"]
        rid = request_id(scope["headers"]) if self.access_log is not None else ""

        async def send_and_remember(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                if rid:
                    headers = [*message.get("headers", ()), (b"x-request-id", rid.encode())]
                    message = {**message, "headers": headers}
            await send(message)

        try:
            faulty = (
                self.faults is not None
                and path.startswith("/v1/")
                and self.faults.applies(route_class(path))
            )
            if faulty and await self._inject(send_and_remember):
                return
            await self.app(scope, receive, send_and_remember)
        except Exception:
            # Log without the request's headers (they carry tokens), answer a JSON 500.
            log.exception("unhandled error on %s %s", scope.get("method"), path)
            if status == 0:
                await self._answer(send_and_remember, 500, _INTERNAL)
        finally:
            seconds = time.perf_counter() - start
            method = scope.get("method", "GET")
            self._record(path, method, status or 500, seconds)
            if self.access_log is not None:
                self.access_log.record(
                    request_id=rid, method=method, path=path, route_class=route_class(path),
                    status=status or 500, seconds=seconds,
                )  # fmt: skip

    async def _websocket(self, scope: Scope, receive: Receive, send: Send, log: AccessLog) -> None:
        """One access line per WebSocket session, when its handshake is answered: 101 once
        accepted, the refusal's status otherwise (uvicorn answers 403 to a close before accept)."""
        start = time.perf_counter()
        rid = request_id(scope["headers"])
        logged = False

        def answered(status: int) -> None:
            nonlocal logged
            if not logged:
                logged = True
                log.record(
                    request_id=rid, method="GET", path=scope["path"],
                    route_class=route_class(scope["path"]), status=status,
                    seconds=time.perf_counter() - start,
                )  # fmt: skip

        async def send_and_log(message: Message) -> None:
            kind = message["type"]
            if kind == "websocket.accept":
                answered(101)
            elif kind == "websocket.close":
                answered(403)
            elif kind == "websocket.http.response.start":
                answered(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_and_log)
        except Exception:
            answered(500)
            raise
        finally:
            answered(403)  # the app returned without answering: uvicorn refuses with 403

    async def _inject(self, send: Send) -> bool:
        assert self.faults is not None
        delay = self.faults.delay()
        if delay > 0:
            await asyncio.sleep(delay)
        if not self.faults.fail():
            return False
        await self._answer(send, 500, _INJECTED)
        return True

    @staticmethod
    async def _answer(send: Send, status: int, body: bytes) -> None:
        headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
        ]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    def _record(self, path: str, method: str, status: int, seconds: float) -> None:
        rc = route_class(path)
        if method not in _METHODS:
            method = "other"
        key = (rc, method, status)
        counter = self._counters.get(key)
        if counter is None:
            counter = HTTP_REQUESTS.labels(rc, method, str(status), self.version)
            self._counters[key] = counter
        counter.inc()
        hist = self._histograms.get(rc)
        if hist is None:
            hist = HTTP_DURATION.labels(rc, self.version)
            self._histograms[rc] = hist
        hist.observe(seconds)


def _registry() -> CollectorRegistry:
    if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        return REGISTRY
    from prometheus_client import multiprocess

    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)
    return registry


async def metrics_endpoint(request: Request) -> Response:
    return Response(generate_latest(_registry()), media_type=CONTENT_TYPE_LATEST)
