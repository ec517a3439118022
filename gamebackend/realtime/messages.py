"""The gateway's message envelopes: ``{"type": str, "cid": str?, "payload": object}``.

Client -> server: ``subscribe`` / ``unsubscribe`` ``{"topic": ...}``, ``ping``.
Server -> client: ``subscribed`` / ``unsubscribed`` / ``pong`` / ``error`` (answers, with the
client's ``cid``), and pushes: ``wallet.updated``, ``leaderboard.updated``, ``match.found``,
``presence.joined``, ``presence.left`` (with the internal ``topic`` and the publication time
``ts``, seconds since the epoch).
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from typing import Any

import orjson

__all__ = [
    "CLIENT_TYPES",
    "PUSH_TYPES",
    "Envelope",
    "ProtocolError",
    "Topic",
    "answer",
    "encode_event",
    "parse_envelope",
    "parse_topic",
]

CLIENT_TYPES = frozenset({"subscribe", "unsubscribe", "ping"})
PUSH_TYPES = frozenset(
    {"wallet.updated", "leaderboard.updated", "match.found", "presence.joined", "presence.left"}
)
_CHANNEL = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
_BOARD = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
_CID_MAX = 64


class ProtocolError(Exception):
    """A client message the gateway refuses; ``reason`` is the stable code sent back in an
    ``error`` message (the connection stays open)."""

    def __init__(self, reason: str, message: str, cid: str | None = None) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message
        self.cid = cid


@dataclass(frozen=True, slots=True)
class Envelope:
    type: str
    cid: str | None
    payload: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Topic:
    """A topic as the client named it, and the internal topic (Redis channel suffix)."""

    kind: str  # leaderboard | wallet | matchmaking | presence
    name: str  # what the client sent
    internal: str  # e.g. wallet:<player id>
    arg: str  # board id, presence channel, or the player id


def parse_envelope(text: str | None, limit: int) -> Envelope:
    if text is None:
        raise ProtocolError("binary_not_supported", "send JSON text messages")
    if len(text) > limit:
        raise ProtocolError("message_too_large", f"messages are limited to {limit} characters")
    try:
        data = orjson.loads(text)
    except orjson.JSONDecodeError:
        raise ProtocolError("invalid_json", "the message is not JSON") from None
    if not isinstance(data, dict):
        raise ProtocolError("invalid_envelope", "the message must be a JSON object")
    cid = data.get("cid")
    if cid is not None and (not isinstance(cid, str) or not 0 < len(cid) <= _CID_MAX):
        raise ProtocolError("invalid_envelope", f"cid must be a string of 1-{_CID_MAX} characters")
    kind = data.get("type")
    if not isinstance(kind, str) or not kind:
        raise ProtocolError("invalid_envelope", "type must be a non-empty string", cid)
    payload = data.get("payload", {})
    if not isinstance(payload, dict):
        raise ProtocolError("invalid_payload", "payload must be a JSON object", cid)
    unknown = set(data) - {"type", "cid", "payload"}
    if unknown:
        raise ProtocolError(
            "invalid_envelope", f"unknown field(s): {', '.join(sorted(unknown))}", cid
        )
    if kind not in CLIENT_TYPES:
        known = ", ".join(sorted(CLIENT_TYPES))
        raise ProtocolError(
            "unknown_type", f"unknown message type {kind[:64]!r} (known: {known})", cid
        )
    return Envelope(kind, cid, payload)


def parse_topic(env: Envelope, player_id: str, boards: set[str]) -> Topic:
    raw = env.payload.get("topic")
    if not isinstance(raw, str) or not raw:
        raise ProtocolError("invalid_payload", "payload.topic must be a non-empty string", env.cid)
    if set(env.payload) != {"topic"}:
        raise ProtocolError("invalid_payload", "payload takes only 'topic'", env.cid)
    if raw in ("wallet", "matchmaking"):
        return Topic(raw, raw, f"{raw}:{player_id}", player_id)
    kind, _, arg = raw.partition(":")
    if kind == "leaderboard" and _BOARD.match(arg):
        if arg not in boards:
            raise ProtocolError("unknown_topic", f"no leaderboard {arg!r}", env.cid)
        return Topic(kind, raw, raw, arg)
    if kind == "presence" and _CHANNEL.match(arg):
        return Topic(kind, raw, raw, arg)
    raise ProtocolError(
        "unknown_topic",
        "topic must be wallet, matchmaking, leaderboard:<id> or presence:<channel>"
        " (channel: 1-64 of A-Z a-z 0-9 _ . -)",
        env.cid,
    )


def answer(kind: str, cid: str | None, payload: dict[str, Any]) -> str:
    """An answer to one client message (the client's cid echoed when it sent one)."""
    body: dict[str, Any] = {"type": kind, "payload": payload}
    if cid is not None:
        body["cid"] = cid
    return orjson.dumps(body).decode()


def encode_event(kind: str, topic: str, payload: dict[str, Any]) -> bytes:
    """A push, serialised once by its publisher and sent as-is to every subscriber."""
    return orjson.dumps({"type": kind, "topic": topic, "payload": payload, "ts": time.time()})
