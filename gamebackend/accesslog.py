"""The access log: one JSON object per line on stdout for every request (``ACCESS_LOG``).

The fields are what terraform/modules/observability's log metric filters read (``route_class``,
``status``, ``duration_ms``) plus what an engineer needs to find one request::

    {"time": "2026-12-03T10:00:00.123Z", "request_id": "...", "method": "POST",
     "path": "/v1/wallet/transactions", "route_class": "wallet", "status": 201,
     "duration_ms": 12.3, "version": "1.4.0"}

``status`` and ``duration_ms`` are JSON numbers: the metric filters compare ``$.status >= 500``
and publish ``$.duration_ms`` as the value, which CloudWatch does only for numbers. A WebSocket
session gets one line when its handshake is answered (``status`` 101 once accepted).

Never logged: headers (``Authorization``, ``X-Admin-Key``, cookies) and the query string (the
WebSocket gateway takes its ``token`` there). The request id is the caller's ``X-Request-Id``
when it is a plain token-like string, else the ALB's ``X-Amzn-Trace-Id``, else a new one; it is
echoed in the ``x-request-id`` response header.

Lines are written at the end of the event-loop turn, several per ``write()``, each write at most
``PIPE_BUF`` bytes of whole lines, so that the workers sharing one stdout never interleave
inside a line.
"""

from __future__ import annotations

import asyncio
import os
import re
import sys
import time
from collections.abc import Iterable
from typing import Literal

import orjson

__all__ = ["AccessLog", "AccessMode", "request_id"]

AccessMode = Literal["stdout", "off"]

_PIPE_BUF = 4096
_MAX_PATH = 256
_REQUEST_ID = re.compile(rb"[A-Za-z0-9._:;=/+-]{1,128}")


def request_id(headers: Iterable[tuple[bytes, bytes]]) -> str:
    """The caller's request id (``X-Request-Id``, then the ALB's ``X-Amzn-Trace-Id``) when it is
    a plain short token, else a fresh random one."""
    found: dict[bytes, bytes] = {}
    for name, value in headers:
        if name in (b"x-request-id", b"x-amzn-trace-id"):
            found[name] = value
    for name in (b"x-request-id", b"x-amzn-trace-id"):
        wanted = found.get(name)
        if wanted is not None and _REQUEST_ID.fullmatch(wanted):
            return wanted.decode("ascii")
    return os.urandom(12).hex()


def _utc(seconds: float) -> str:
    whole = int(seconds)
    millis = int((seconds - whole) * 1000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(whole)) + f".{millis:03d}Z"


class AccessLog:
    """Writes access lines to a file descriptor (stdout unless told), batched per loop turn."""

    def __init__(self, version: str, fd: int | None = None) -> None:
        self.version = version
        self._fd = sys.stdout.fileno() if fd is None else fd
        self._lines: list[bytes] = []
        self._broken = False

    def record(
        self,
        *,
        request_id: str,
        method: str,
        path: str,
        route_class: str,
        status: int,
        seconds: float,
    ) -> None:
        """Queue one request's line; it is written at the end of the current loop turn."""
        if self._broken:
            return
        line = orjson.dumps(
            {
                "time": _utc(time.time()),
                "request_id": request_id,
                "method": method,
                "path": path[:_MAX_PATH],
                "route_class": route_class,
                "status": status,
                "duration_ms": round(seconds * 1000.0, 3),
                "version": self.version,
            }
        )
        if not self._lines:
            try:
                asyncio.get_running_loop().call_soon(self.flush)
            except RuntimeError:  # no loop (a direct call): write now
                self._lines.append(line + b"\n")
                self.flush()
                return
        self._lines.append(line + b"\n")

    def flush(self) -> None:
        """Write the queued lines, whole lines only, at most PIPE_BUF bytes per write."""
        lines, self._lines = self._lines, []
        chunk: list[bytes] = []
        size = 0
        for line in lines:
            if chunk and size + len(line) > _PIPE_BUF:
                self._write(b"".join(chunk))
                chunk, size = [], 0
            chunk.append(line)
            size += len(line)
        if chunk:
            self._write(b"".join(chunk))

    def _write(self, data: bytes) -> None:
        view = memoryview(data)
        try:
            while view and not self._broken:
                view = view[os.write(self._fd, view) :]
        except OSError as exc:
            # stdout is gone (a closed pipe): serving matters more than logging.
            self._broken = True
            print(f"gamebackend: access log disabled: {exc}", file=sys.stderr)
