"""uvicorn's httptools protocol, with a response's writes leaving in one ``send()``.

uvicorn writes a response's head and its body separately: two system calls, and two wake-ups of
the client, which on a busy 2-core machine often takes the CPU from the API worker right there
(the writes were the top sites of a sampled profile of a wallet debit). Here the writes made
during one event-loop turn are joined and sent at the end of it. WebSocket upgrades get the
real transport, so the gateway's own writes are untouched.

``gamebackend serve`` passes ``http="gamebackend.httpserver:CorkedHttpToolsProtocol"``.
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

__all__ = ["CorkedHttpToolsProtocol", "CorkedTransport"]


class CorkedTransport:
    """Buffers ``write()`` until the end of the current event-loop turn; ``close()`` and
    ``write_eof()`` send what is buffered first. Everything else is the wrapped transport's."""

    def __init__(self, inner: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self.inner = inner
        self._loop = loop
        self._out: list[bytes] = []

    def write(self, data: bytes | bytearray | memoryview) -> None:
        if not self._out:
            self._loop.call_soon(self.flush)
        self._out.append(bytes(data))

    def writelines(self, lines: Any) -> None:
        for data in lines:
            self.write(data)

    def flush(self) -> None:
        if self._out:
            data = self._out[0] if len(self._out) == 1 else b"".join(self._out)
            self._out = []
            self.inner.write(data)

    def close(self) -> None:
        self.flush()
        self.inner.close()

    def write_eof(self) -> None:
        self.flush()
        self.inner.write_eof()

    def abort(self) -> None:
        self._out = []
        self.inner.abort()

    def get_write_buffer_size(self) -> int:
        return self.inner.get_write_buffer_size() + sum(len(d) for d in self._out)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


class CorkedHttpToolsProtocol(HttpToolsProtocol):
    """``HttpToolsProtocol`` writing through a ``CorkedTransport``."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        corked = CorkedTransport(transport, self.loop)
        super().connection_made(corked)  # type: ignore[arg-type]

    def handle_websocket_upgrade(self) -> None:
        corked = self.transport
        if isinstance(corked, CorkedTransport):
            corked.flush()
            self.transport = corked.inner
        super().handle_websocket_upgrade()
