"""The router's HTTP proxying, against real sockets: what a client of the router notices."""

from __future__ import annotations

import asyncio
from collections import Counter

import httpx
import pytest

from canaryctl.platforms.local.router import Router


async def raw_exchange(port: int, data: bytes, until: bytes, timeout: float = 5.0) -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(data)
    buf = b""
    try:
        while buf.count(until) < 1:
            chunk = await asyncio.wait_for(reader.read(65536), timeout)
            if not chunk:
                break
            buf += chunk
    finally:
        writer.close()
    return buf


async def test_keep_alive_connections_are_pooled(upstreams, router: Router, router_port: int):
    up = await upstreams("a")
    router.set_targets("stable", [("127.0.0.1", up.port)])
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{router_port}") as client:
        for _ in range(50):
            resp = await client.get("/ok")
            assert resp.status_code == 200 and resp.text == "a /ok"
    assert up.connections == 1  # sequential requests reuse one upstream connection


async def test_request_body_and_headers_reach_the_upstream(upstreams, router, router_port):
    up = await upstreams("a")
    router.set_targets("stable", [("127.0.0.1", up.port)])
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{router_port}") as client:
        resp = await client.post("/echo", content=b"x" * 100_000, headers={"x-custom": "1"})
    assert resp.content == b"x" * 100_000
    method, path, headers, _ = up.requests[-1]
    assert (method, path, headers["x-custom"]) == ("POST", "/echo", "1")
    assert headers["x-forwarded-for"] == "127.0.0.1"


async def test_chunked_request_is_forwarded_with_a_length(upstreams, router, router_port):
    up = await upstreams("a")
    router.set_targets("stable", [("127.0.0.1", up.port)])
    req = (
        b"POST /echo HTTP/1.1\r\nhost: x\r\ntransfer-encoding: chunked\r\n\r\n"
        b"5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"
    )
    answer = await raw_exchange(router_port, req, b"hello world")
    assert answer.startswith(b"HTTP/1.1 200") and answer.endswith(b"hello world")
    assert up.requests[-1][2]["content-length"] == "11"


async def test_pipelined_requests_are_answered_in_order(upstreams, router, router_port):
    up = await upstreams("a")
    router.set_targets("stable", [("127.0.0.1", up.port)])
    req = b"".join(b"GET /slow/%d HTTP/1.1\r\nhost: x\r\n\r\n" % ms for ms in (30, 1, 10))
    answer = await raw_exchange(router_port, req, b"a /slow/10")
    assert answer.index(b"a /slow/30") < answer.index(b"a /slow/1") < answer.index(b"a /slow/10")


async def test_head_and_expect_continue(upstreams, router, router_port):
    up = await upstreams("a")
    router.set_targets("stable", [("127.0.0.1", up.port)])
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{router_port}") as client:
        for _ in range(3):  # the connection stays usable after an answer without a body
            head = await client.head("/ok")
            assert head.status_code == 200 and head.headers["content-length"] == "5"
            assert (await client.get("/ok")).text == "a /ok"
    req = b"POST /echo HTTP/1.1\r\nhost: x\r\nexpect: 100-continue\r\ncontent-length: 2\r\n\r\nhi"
    answer = await raw_exchange(router_port, req, b"\r\n\r\nhi")
    assert answer.startswith(b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200")


async def test_answer_delimited_by_close(upstreams, router, router_port):
    up = await upstreams("a")
    router.set_targets("stable", [("127.0.0.1", up.port)])
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{router_port}") as client:
        resp = await client.get("/eof")
        assert resp.status_code == 200 and resp.text == "a /eof"
        assert (await client.get("/ok")).text == "a /ok"


async def test_stale_pooled_connection_is_retried_transparently(upstreams, router, router_port):
    up = await upstreams("a")
    router.set_targets("stable", [("127.0.0.1", up.port)])
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{router_port}") as client:
        assert (await client.get("/ok")).status_code == 200
        up.drop_idle()  # the backend closes its idle keep-alive connection
        for _ in range(5):
            assert (await client.get("/ok")).status_code == 200
    assert router.stats.window("stable", 0, 2**40).errors == 0


async def test_dead_upstream_is_skipped_then_502_when_none_answers(upstreams, router, router_port):
    up = await upstreams("a")
    router.set_targets("stable", [("127.0.0.1", 1), ("127.0.0.1", up.port)])
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{router_port}") as client:
        statuses = Counter([(await client.get("/ok")).status_code for _ in range(10)])
        assert statuses == {200: 10}  # the refused connection falls over to the live process
        router.set_targets("stable", [("127.0.0.1", 1)])
        resp = await client.get("/v1/wallet")
    assert resp.status_code == 502 and "unreachable" in resp.text
    w = router.stats.window("stable", 0, 2**40, "wallet")
    assert (w.requests, w.errors) == (1, 1)


async def test_no_backend_in_group_is_503(router, router_port):
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{router_port}") as client:
        resp = await client.get("/ok")
    assert resp.status_code == 503


async def test_hung_upstream_times_out_with_504(upstreams, router, router_port):
    up = await upstreams("a")
    router.set_targets("stable", [("127.0.0.1", up.port)])
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{router_port}", timeout=10) as c:
        task = asyncio.create_task(c.get("/hang"))
        for _ in range(40):  # the sweeper runs every second; upstream_timeout is 2 s here
            await asyncio.sleep(0.1)
            router.sweep()
            if task.done():
                break
        resp = await task
    assert resp.status_code == 504
    assert router.stats.window("stable", 0, 2**40).errors == 1


async def test_upstream_5xx_counts_as_error_per_route_class(upstreams, router, router_port):
    up = await upstreams("a")
    router.set_targets("stable", [("127.0.0.1", up.port)])
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{router_port}") as client:
        for path in ("/status/500", "/status/503", "/status/404", "/ok"):
            await client.get(path)
    w = router.stats.window("stable", 0, 2**40, "ops")
    assert (w.requests, w.errors) == (4, 2)


@pytest.mark.parametrize("weights", [(90, 10), (50, 50), (0, 100), (100, 0)])
async def test_weights_split_requests_exactly(upstreams, router, router_port, weights):
    a, b = await upstreams("stable"), await upstreams("canary")
    router.set_targets("stable", [("127.0.0.1", a.port)])
    router.set_targets("canary", [("127.0.0.1", b.port)])
    router.set_weights(*weights)
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{router_port}") as client:
        names = Counter([(await client.get("/ok")).text.split()[0] for _ in range(200)])
    assert names.get("stable", 0) == 2 * weights[0]
    assert names.get("canary", 0) == 2 * weights[1]
