"""Envelopes, topics and frames of the gateway protocol."""

from __future__ import annotations

import asyncio
from typing import Any

import orjson
import pytest
from websockets.frames import Frame
from websockets.streams import StreamReader

from gamebackend.realtime.connection import SLOW_CONSUMER, Connection
from gamebackend.realtime.feeds import wallet_events
from gamebackend.realtime.messages import (
    ProtocolError,
    answer,
    encode_event,
    parse_envelope,
    parse_topic,
)
from gamebackend.realtime.protocol import frame_text

ME = "6f1c2a7e-0000-4000-8000-000000000001"


def test_envelope_fields_and_defaults() -> None:
    env = parse_envelope('{"type": "ping", "cid": "7"}', 4096)
    assert (env.type, env.cid, env.payload) == ("ping", "7", {})


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        (None, "binary_not_supported"),
        ("x" * 5000, "message_too_large"),
        ("{", "invalid_json"),
        ('"ping"', "invalid_envelope"),
        ('{"type": ""}', "invalid_envelope"),
        ('{"type": "ping", "cid": 5}', "invalid_envelope"),
        ('{"type": "ping", "payload": 3}', "invalid_payload"),
        ('{"type": "shout"}', "unknown_type"),
    ],
)
def test_bad_envelopes(text: str | None, reason: str) -> None:
    with pytest.raises(ProtocolError) as err:
        parse_envelope(text, 4096)
    assert err.value.reason == reason


def test_topics_map_to_internal_topics() -> None:
    def topic(name: str) -> Any:
        env = parse_envelope(
            orjson.dumps({"type": "subscribe", "payload": {"topic": name}}).decode(), 4096
        )
        return parse_topic(env, ME, {"high_scores"})

    assert topic("wallet").internal == f"wallet:{ME}"
    assert topic("matchmaking").internal == f"matchmaking:{ME}"
    assert topic("leaderboard:high_scores").internal == "leaderboard:high_scores"
    assert topic("presence:lobby-1").arg == "lobby-1"
    for bad in ("leaderboard:nope", "presence:", "presence:has space", "wallet:someone", "x"):
        with pytest.raises(ProtocolError) as err:
            topic(bad)
        assert err.value.reason == "unknown_topic"


def test_answers_echo_cid_and_events_carry_time() -> None:
    assert orjson.loads(answer("pong", "9", {})) == {"type": "pong", "payload": {}, "cid": "9"}
    assert "cid" not in orjson.loads(answer("pong", None, {}))
    event = orjson.loads(encode_event("match.found", "matchmaking:x", {"a": 1}))
    assert event["topic"] == "matchmaking:x" and event["ts"] > 1.7e9


@pytest.mark.parametrize("size", [0, 125, 126, 65535, 65536, 200_000])
def test_frames_parse_as_websocket_text_frames(size: int) -> None:
    data = b"a" * size
    reader = StreamReader()
    reader.feed_data(frame_text(data))
    parser = Frame.parse(reader.read_exact, mask=False)
    try:
        next(parser)
    except StopIteration as done:
        frame = done.value
    assert frame.fin and frame.opcode.name == "TEXT" and frame.data == data


def test_wallet_events_group_balances_per_player() -> None:
    rows = [["p1", "coins", 3, 90], ["p2", "coins", 8, 10], ["p1", "gems", 2, 5]]
    assert wallet_events(rows) == {
        "p1": {"balances": {"coins": 90, "gems": 5}, "versions": {"coins": 3, "gems": 2}},
        "p2": {"balances": {"coins": 10}, "versions": {"coins": 8}},
    }
    assert wallet_events(None) == {}


class Socket:
    """A frame writer whose socket stops keeping up when told to."""

    def __init__(self) -> None:
        self.frames: list[bytes] = []
        self.keeps_up = True
        self.closed_with: int | None = None

    def write_frame(self, frame: bytes) -> bool:
        if not self.keeps_up:
            return False
        self.frames.append(frame)
        return True

    def close_now(self, code: int, reason: str) -> None:
        self.closed_with = code


async def test_a_client_that_stops_reading_is_closed_and_freed() -> None:
    sock, sent, slow = Socket(), [], []

    async def send(message: Any) -> None:
        await asyncio.Event().wait()  # a send that never completes: the client does not read

    conn = Connection("p", send, sock, limit=3, on_slow=lambda: slow.append(1))
    conn.push("one")
    assert sock.frames == [frame_text(b"one")] and conn.queue is None
    sock.keeps_up = False
    for text in ("a", "b", "c", "d", "e"):  # one in flight, three queued, one too many
        conn.push(text)
        await asyncio.sleep(0)
    assert sock.closed_with == SLOW_CONSUMER and slow == [1]
    assert conn.closed and conn.queue is None
    conn.push("after")
    assert sent == [] and len(sock.frames) == 1


async def test_queued_messages_are_sent_in_order_once_the_socket_drains() -> None:
    sock, sent = Socket(), []

    async def send(message: Any) -> None:
        sent.append(message["text"])

    conn = Connection("p", send, sock, limit=10, on_slow=lambda: None)
    sock.keeps_up = False
    conn.push("a")
    conn.push("b")
    sock.keeps_up = True
    conn.push("c")  # behind the queue, not around it
    for _ in range(5):
        await asyncio.sleep(0)
    assert sent == ["a", "b", "c"] and sock.frames == []
    conn.push("d")
    assert sock.frames == [frame_text(b"d")]


async def test_without_the_gateway_protocol_messages_go_through_asgi_sends() -> None:
    sent: list[Any] = []
    release = asyncio.Event()

    async def send(message: Any) -> None:
        sent.append(message)
        if message["type"] == "websocket.send" and message["text"] == "stuck":
            await release.wait()

    conn = Connection("p", send, None, limit=2, on_slow=lambda: None)
    conn.push("a")
    conn.push("b")
    await asyncio.sleep(0)
    assert [m["text"] for m in sent] == ["a", "b"]
    for text in ("stuck", "c", "d", "e"):
        conn.push(text)
        await asyncio.sleep(0)
    for _ in range(3):
        await asyncio.sleep(0)
    assert sent[-1] == {"type": "websocket.close", "code": 1013, "reason": "send queue full"}
    assert conn.closed
