"""The hot write path's shortcuts answer exactly what the general Starlette path answers."""

from __future__ import annotations

from typing import Any

import pytest
from starlette.datastructures import Headers
from starlette.responses import Response
from starlette.routing import Match

from gamebackend.app import HotRoutes, _hot, _routes
from gamebackend.projections.resp import encode_args, encode_command
from gamebackend.web import FastRequest, raw_json_response


def _scope(method: str, path: str, headers: list[tuple[bytes, bytes]] | None = None) -> Any:
    return {
        "type": "http",
        "method": method,
        "path": path,
        "root_path": "",
        "headers": headers or [],
        "query_string": b"",
    }


def _starlette_choice(method: str, path: str) -> tuple[Any, dict[str, str]] | None:
    for route in _routes():
        match, child = route.matches(_scope(method, path))
        if match is Match.FULL:
            return child["endpoint"], child["path_params"]
    return None


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/v1/wallet/transactions"),
        ("POST", "/v1/pools/jackpot/contributions"),
        ("POST", "/v1/pools/naive_jackpot/contributions"),
    ],
)
def test_hot_routes_pick_the_endpoint_the_router_picks(method: str, path: str) -> None:
    routes = _routes()
    hot = HotRoutes(app=None, routes=_hot(routes))  # type: ignore[arg-type]
    assert hot._find(_scope(method, path)) == _starlette_choice(method, path)


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/v1/wallet/transactions"),  # the router answers 405
        ("POST", "/v1/pools/a/b/contributions"),  # 404
        ("POST", "/v1/pools/jackpot"),
        ("POST", "/v1/wallet/transfers"),
    ],
)
def test_other_requests_go_to_the_router(method: str, path: str) -> None:
    hot = HotRoutes(app=None, routes=_hot(_routes()))  # type: ignore[arg-type]
    assert hot._find(_scope(method, path)) is None


def test_indexed_headers_answer_like_starlette_headers() -> None:
    raw = [(b"authorization", b"Bearer a"), (b"x-twice", b"first"), (b"x-twice", b"second")]
    fast = FastRequest(_scope("POST", "/", raw)).headers
    slow = Headers(raw=raw)
    for name in ("Authorization", "x-twice", "X-TWICE", "missing"):
        assert fast.get(name) == slow.get(name)
        assert (name in fast) == (name in slow)
    assert fast["x-twice"] == "first"
    with pytest.raises(KeyError):
        fast["missing"]


@pytest.mark.parametrize("headers", [None, {"Idempotent-Replayed": "true"}])
def test_raw_json_response_has_starlette_headers(headers: dict[str, str] | None) -> None:
    body = '{"txn_id": "t", "balance": 5}'
    ours = raw_json_response(body, status=201, headers=headers)
    theirs = Response(body, status_code=201, media_type="application/json", headers=headers)
    assert (ours.status_code, ours.body, ours.raw_headers) == (
        theirs.status_code,
        theirs.body,
        theirs.raw_headers,
    )


def test_encoded_head_is_the_same_command() -> None:
    head = encode_args("EVALSHA", "ab", 1, "gb:epoch")
    assert encode_command(("p", -3, b"x"), head) == encode_command(
        ("EVALSHA", "ab", 1, "gb:epoch", "p", -3, b"x")
    )
