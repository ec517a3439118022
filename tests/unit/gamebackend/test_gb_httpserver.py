"""The corked transport: a response's writes leave together, in order, and none is lost."""

from __future__ import annotations

import asyncio
from typing import Any

from gamebackend.httpserver import CorkedTransport


class _Recorder:
    """Stands in for a socket transport: records what reaches it."""

    def __init__(self) -> None:
        self.sent: list[bytes] = []
        self.events: list[str] = []

    def write(self, data: bytes) -> None:
        self.sent.append(data)

    def close(self) -> None:
        self.events.append("close")

    def abort(self) -> None:
        self.events.append("abort")

    def write_eof(self) -> None:
        self.events.append("eof")

    def get_write_buffer_size(self) -> int:
        return 0

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return f"info:{name}"


async def test_writes_of_one_turn_leave_in_one_send() -> None:
    inner = _Recorder()
    corked = CorkedTransport(inner, asyncio.get_running_loop())  # type: ignore[arg-type]
    corked.write(b"HTTP/1.1 201 Created\r\n\r\n")
    corked.write(b'{"balance": 5}')
    assert inner.sent == [] and corked.get_write_buffer_size() == 38
    await asyncio.sleep(0)
    assert inner.sent == [b'HTTP/1.1 201 Created\r\n\r\n{"balance": 5}']
    corked.write(b"next")
    await asyncio.sleep(0)
    assert inner.sent[1:] == [b"next"]


async def test_close_sends_what_is_buffered_first() -> None:
    inner = _Recorder()
    corked = CorkedTransport(inner, asyncio.get_running_loop())  # type: ignore[arg-type]
    corked.write(b"bye")
    corked.close()
    assert inner.sent == [b"bye"] and inner.events == ["close"]
    await asyncio.sleep(0)  # the scheduled flush finds nothing left to send
    assert inner.sent == [b"bye"]


async def test_abort_drops_the_buffer_and_the_rest_is_delegated() -> None:
    inner = _Recorder()
    corked = CorkedTransport(inner, asyncio.get_running_loop())  # type: ignore[arg-type]
    corked.write(b"lost")
    corked.abort()
    await asyncio.sleep(0)
    assert inner.sent == [] and inner.events == ["abort"]
    assert corked.get_extra_info("peername") == "info:peername"
