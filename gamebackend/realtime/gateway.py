"""``GET /v1/ws``: the WebSocket gateway's ASGI endpoint and message handling.

The token comes in the ``Authorization: Bearer`` header or the ``token`` query parameter
(browsers cannot set headers on a WebSocket). A missing or invalid token is accepted and then
closed with 4401, so that browsers see the code. Everything a client sends gets an answer; a bad
message gets an ``error`` with a reason, and the connection stays open.
"""

from __future__ import annotations

import logging
import time
from collections.abc import MutableMapping
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs

from starlette.routing import WebSocketRoute

from gamebackend.realtime.connection import Connection, Send
from gamebackend.realtime.messages import (
    Envelope,
    ProtocolError,
    Topic,
    parse_envelope,
    parse_topic,
)
from gamebackend.realtime.protocol import FRAMES_EXTENSION

if TYPE_CHECKING:
    from gamebackend.context import AppContext
    from gamebackend.realtime.runtime import Realtime

__all__ = ["UNAUTHORIZED", "Gateway", "routes"]

log = logging.getLogger("gamebackend.realtime")

UNAUTHORIZED = 4401
Scope = MutableMapping[str, Any]


def _token(scope: Scope) -> str | None:
    for name, value in scope.get("headers", ()):
        if name == b"authorization":
            scheme, _, token = value.decode("latin-1").partition(" ")
            if scheme.lower() == "bearer" and token.strip():
                return token.strip()
    query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
    values = query.get("token")
    return values[0] if values else None


class Gateway:
    """The ASGI app behind ``WebSocketRoute("/v1/ws")`` (a plain ASGI app, not a Starlette
    endpoint function: each connection then holds fewer objects)."""

    async def __call__(self, scope: Scope, receive: Any, send: Send) -> None:
        ctx: AppContext = scope["app"].state.ctx
        rt = ctx.realtime
        if (await receive())["type"] != "websocket.connect" or rt is None:
            return
        token = _token(scope)
        player = ctx.signer.verify(token) if token else None
        await send({"type": "websocket.accept"})
        if player is None:
            rt.rejected("invalid_token")
            reason = "invalid bearer token" if token else "missing token"
            await send({"type": "websocket.close", "code": UNAUTHORIZED, "reason": reason})
            return
        writer = scope.get("extensions", {}).get(FRAMES_EXTENSION)
        conn = Connection(player, send, writer, rt.settings.send_queue, rt.slow_closed)
        rt.opened(conn)
        try:
            while True:
                message = await receive()
                if message["type"] == "websocket.disconnect":
                    return
                if not conn.closed:
                    await handle(rt, conn, message.get("text"))
        finally:
            await rt.closed(conn)


async def handle(rt: Realtime, conn: Connection, text: str | None) -> None:
    """Answer one client message."""
    try:
        env = parse_envelope(text, rt.settings.max_message_bytes)
    except ProtocolError as exc:
        rt.count_in("invalid")
        rt.reply(conn, "error", exc.cid, {"reason": exc.reason, "message": exc.message})
        return
    rt.count_in(env.type)
    try:
        if env.type == "ping":
            rt.reply(conn, "pong", env.cid, {"ts": time.time()})
        elif env.type == "subscribe":
            payload = await _subscribe(rt, conn, _topic(rt, conn, env))
            rt.reply(conn, "subscribed", env.cid, payload)
        else:
            topic = _topic(rt, conn, env)
            await _unsubscribe(rt, conn, topic)
            rt.reply(conn, "unsubscribed", env.cid, {"topic": topic.name})
    except ProtocolError as exc:
        rt.reply(conn, "error", env.cid, {"reason": exc.reason, "message": exc.message})
    except Exception as exc:  # Redis or the database failed: the client may retry
        log.warning("gateway %s: %s: %s", env.type, type(exc).__name__, exc)
        message = "the server could not do this now; try again"
        rt.reply(conn, "error", env.cid, {"reason": "unavailable", "message": message})


def _topic(rt: Realtime, conn: Connection, env: Envelope) -> Topic:
    return parse_topic(env, conn.player_id, rt.board_ids)


async def _subscribe(rt: Realtime, conn: Connection, topic: Topic) -> dict[str, Any]:
    payload: dict[str, Any] = {"topic": topic.name}
    if topic.internal in conn.topics:
        return {**payload, "already": True}
    if len(conn.topics) >= rt.settings.max_subscriptions:
        limit = rt.settings.max_subscriptions
        raise ProtocolError("too_many_subscriptions", f"at most {limit} subscriptions")
    await rt.hub.subscribe(conn, topic.internal)
    if topic.kind == "presence":
        await rt.presence.join(topic.arg, conn.player_id)
        count, members = await rt.presence.members(topic.arg, rt.settings.presence_members)
        payload.update(count=count, members=members)
    elif topic.kind == "leaderboard":
        payload.update(await rt.leaderboards.top(topic.arg))
    return payload


async def _unsubscribe(rt: Realtime, conn: Connection, topic: Topic) -> None:
    if topic.internal not in conn.topics:
        raise ProtocolError("not_subscribed", f"not subscribed to {topic.name}")
    rt.hub.unsubscribe(conn, topic.internal)
    if topic.kind == "presence":
        await rt.presence.leave(topic.arg, conn.player_id)


def routes() -> list[WebSocketRoute]:
    return [WebSocketRoute("/v1/ws", Gateway())]
