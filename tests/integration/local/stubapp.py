"""A stand-in backend for router tests: /healthz, /readyz, a few /v1 routes and /v1/ws.

Run as ``python stubapp.py PORT``. Env: STUB_VERSION (echoed in ``x-version``), STUB_ERRORS
(fraction answered 500), STUB_LATENCY_MS (added to every /v1 answer).
"""

from __future__ import annotations

import asyncio
import os
import random
import sys

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket

VERSION = os.environ.get("STUB_VERSION", "v1")
ERRORS = float(os.environ.get("STUB_ERRORS", "0"))
LATENCY = float(os.environ.get("STUB_LATENCY_MS", "0")) / 1000


async def ok(request: Request) -> PlainTextResponse:
    return PlainTextResponse("ok", headers={"x-version": VERSION})


async def api(request: Request) -> JSONResponse:
    if LATENCY:
        await asyncio.sleep(LATENCY)
    if "delay" in request.query_params:
        await asyncio.sleep(float(request.query_params["delay"]))
    body = await request.body()
    status = 500 if random.random() < ERRORS else int(request.query_params.get("status", 200))
    return JSONResponse(
        {"version": VERSION, "path": request.url.path, "echo": body.decode(), "pid": os.getpid()},
        status_code=status,
        headers={"x-version": VERSION},
    )


async def ws(websocket: WebSocket) -> None:
    await websocket.accept()
    try:
        while True:
            text = await websocket.receive_text()
            await websocket.send_text(f"{VERSION}:{text}")
    except Exception:
        return


routes = [
    Route("/healthz", ok),
    Route("/readyz", ok),
    Route("/v1/{rest:path}", api, methods=["GET", "POST", "PUT", "DELETE", "HEAD"]),
    WebSocketRoute("/v1/ws", ws),
]
# /v1/ws must win over the catch-all HTTP route
routes = [routes[3], *routes[:3]]
app = Starlette(routes=routes)

if __name__ == "__main__":
    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning", access_log=False)
