"""A small HTTP/1.1 server for the router's admin port and the sandbox's control API.

The admin port serves a few JSON calls and Prometheus scrapes, so it is written on asyncio
streams with no web framework: the supervisor stays light and starts in a fraction of a second.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import orjson

__all__ = ["AdminServer", "HttpError", "HttpRequest", "HttpResponse"]

_REASONS = {200: "OK", 201: "Created", 400: "Bad Request", 401: "Unauthorized", 404: "Not Found"}
_REASONS |= {405: "Method Not Allowed", 409: "Conflict", 500: "Internal Server Error"}
_MAX_HEAD = 64 * 1024
_MAX_BODY = 1024 * 1024


class HttpError(Exception):
    """Raised by a handler: answered as ``{"error": message, "code": code}`` with ``status``."""

    def __init__(self, status: int, message: str, code: str | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.code = status, message, code


@dataclass
class HttpRequest:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes = b""

    def json(self) -> dict[str, Any]:
        if not self.body:
            return {}
        try:
            data = orjson.loads(self.body)
        except orjson.JSONDecodeError as exc:
            raise HttpError(400, f"body is not JSON: {exc}") from None
        if not isinstance(data, dict):
            raise HttpError(400, "body must be a JSON object")
        return data


@dataclass
class HttpResponse:
    status: int = 200
    body: bytes = b""
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def json(cls, data: Any, status: int = 200) -> HttpResponse:
        return cls(status=status, body=orjson.dumps(data))


Handler = Callable[[HttpRequest], Awaitable[HttpResponse]]


class AdminServer:
    """Exact-path routing; mutating methods need ``X-Sandbox-Token`` when a token is set."""

    def __init__(self, token: str | None = None) -> None:
        self.token = token
        self.routes: dict[tuple[str, str], Handler] = {}
        self._server: asyncio.Server | None = None
        self._conns: set[asyncio.StreamWriter] = set()

    def route(self, method: str, path: str, handler: Handler) -> None:
        self.routes[(method, path)] = handler

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> int:
        self._server = await asyncio.start_server(self._serve, host, port, limit=_MAX_HEAD)
        return int(self._server.sockets[0].getsockname()[1])

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
        for writer in list(self._conns):
            writer.close()
        if self._server is not None:
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._server.wait_closed(), 2.0)

    async def dispatch(self, req: HttpRequest) -> HttpResponse:
        handler = self.routes.get((req.method, req.path))
        if handler is None:
            known = any(p == req.path for _, p in self.routes)
            raise HttpError(405 if known else 404, f"no route {req.method} {req.path}")
        if req.method not in ("GET", "HEAD") and self.token is not None:
            given = req.headers.get("x-sandbox-token", "")
            if not hmac.compare_digest(given.encode(), self.token.encode()):
                raise HttpError(401, "missing or wrong X-Sandbox-Token (see sandbox.json)")
        return await handler(req)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._conns.add(writer)
        try:
            while True:
                req, keep_alive = await self._read(reader)
                if req is None:
                    break
                resp = await self._answer(req)
                writer.write(_encode(resp, keep_alive))
                await writer.drain()
                if not keep_alive:
                    break
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            pass  # the peer went away or sent garbage: nothing to answer
        except (TimeoutError, ValueError):
            pass
        finally:
            self._conns.discard(writer)
            writer.close()

    async def _answer(self, req: HttpRequest) -> HttpResponse:
        try:
            return await self.dispatch(req)
        except HttpError as exc:
            return HttpResponse.json({"error": exc.message, "code": exc.code}, exc.status)
        except Exception as exc:  # an admin call must answer, whatever went wrong inside
            return HttpResponse.json({"error": f"{type(exc).__name__}: {exc}"}, 500)

    @staticmethod
    async def _read(reader: asyncio.StreamReader) -> tuple[HttpRequest | None, bool]:
        try:
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 60.0)
        except asyncio.IncompleteReadError:
            return None, False
        lines = head.decode("latin-1").split("\r\n")
        method, target, version = lines[0].split(" ", 2)
        headers: dict[str, str] = {}
        for line in lines[1:]:
            if ":" in line:
                name, _, value = line.partition(":")
                headers[name.strip().lower()] = value.strip()
        length = int(headers.get("content-length") or 0)
        if length > _MAX_BODY:
            raise ConnectionError("admin request body too large")
        body = await reader.readexactly(length) if length else b""
        url = urlsplit(target)
        keep_alive = headers.get("connection", "").lower() != "close" and version == "HTTP/1.1"
        query = dict(parse_qsl(url.query))
        return HttpRequest(method.upper(), url.path, query, headers, body), keep_alive


def _encode(resp: HttpResponse, keep_alive: bool) -> bytes:
    head = [f"HTTP/1.1 {resp.status} {_REASONS.get(resp.status, 'Status')}"]
    head.append(f"content-type: {resp.content_type}")
    head.append(f"content-length: {len(resp.body)}")
    head.append("connection: " + ("keep-alive" if keep_alive else "close"))
    head += [f"{k}: {v}" for k, v in resp.headers.items()]
    return ("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + resp.body
