"""WebSocket gateway capacity: connections held by ONE process, RSS per connection, and the
fan-out latency of a leaderboard update to all of them. Prints one JSON object.

    .venv/bin/python benchmarks/realtime.py [--connections 15000] [--clients 4] [--updates 20]

1. Starts embedded PostgreSQL/Redis (temp dir) and one ``gamebackend serve`` process (the
   gateway, one worker; its matchmaker off so nothing else runs in it).
2. Mints player tokens with the gateway's secret (auth needs no database row) and spreads the
   connections over ``--clients`` client processes (a process may hold at most 20,000 open
   files here). Each client is a minimal RFC 6455 client on uvloop: upgrade, subscribe to
   ``leaderboard:high_scores``, then only read.
3. RSS of the gateway: before any connection (after one warm-up connection and score) and with
   all connections open and subscribed; the difference over the count is the RSS per connection.
4. Posts ``--updates`` scores over HTTP, one per ``--interval`` s; each becomes one
   ``leaderboard.updated`` pushed to every connection. Latency per receipt: from the event's
   publication (its ``ts``) and from the HTTP post, to the client's read.

Targets (2-core machine): >= 15,000 connections in one process at <= 20 KB RSS each; fan-out
p99 <= 500 ms at 15,000. Loopback only; bounded by ``--timeout``.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import datetime as dt
import functools
import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import (  # benchmarks are scripts, not a package
    PY,
    ROOT,
    cpu_s,
    machine,
    percentile,
    print_json,
    scratch_dir,
    serve,
)

SECRET = "bench-realtime-secret"
ADMIN_KEY = "bench-admin"
TOPIC = "leaderboard:high_scores"
# The gateway: one worker, its matchmaker off so nothing else runs in it.
GATEWAY_SETTINGS = {
    "GAMEBACKEND_SECRET": SECRET, "GAMEBACKEND_ADMIN_KEY": ADMIN_KEY,
    "GAMEBACKEND_MM_ENABLED": "false", "GAMEBACKEND_VERSION": "bench",
}  # fmt: skip


# -- client process ----------------------------------------------------------------------
class _Client(asyncio.Protocol):
    """One WebSocket connection: handshake, subscribe, then record leaderboard pushes."""

    def __init__(
        self, token: str, ready: asyncio.Future[None], receipts: list[tuple[float, float]]
    ):
        self.token, self.ready, self.receipts = token, ready, receipts
        self.buf = b""
        self.open = False

    def connection_made(self, transport: Any) -> None:
        self.transport = transport
        key = base64.b64encode(os.urandom(16)).decode()
        transport.write(
            f"GET /v1/ws?token={self.token} HTTP/1.1\r\nHost: bench\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
            "Sec-WebSocket-Version: 13\r\n\r\n".encode()
        )

    def _send(self, opcode: int, payload: bytes) -> None:
        mask = os.urandom(4)
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        self.transport.write(bytes((0x80 | opcode, 0x80 | len(payload))) + mask + masked)

    def data_received(self, data: bytes) -> None:
        self.buf += data
        if not self.open:
            end = self.buf.find(b"\r\n\r\n")
            if end < 0:
                return
            if not self.buf.startswith(b"HTTP/1.1 101"):
                self.ready.set_exception(RuntimeError(self.buf[:80].decode(errors="replace")))
                return
            self.open, self.buf = True, self.buf[end + 4 :]
            self._send(1, json.dumps({"type": "subscribe", "payload": {"topic": TOPIC}}).encode())
        self._frames()

    def _frames(self) -> None:
        # A small parser on purpose: the benchmark measures the gateway, so the clients must
        # spend as little of the shared CPU as they can (no JSON parse: "ts" is the last field).
        buf = self.buf
        while len(buf) >= 2:
            size, pos = buf[1] & 0x7F, 2
            if size == 126:
                size, pos = int.from_bytes(buf[2:4], "big"), 4
            elif size == 127:
                size, pos = int.from_bytes(buf[2:10], "big"), 10
            end = pos + size
            if len(buf) < end:
                break
            opcode, payload, buf = buf[0] & 0x0F, buf[pos:end], buf[end:]
            if opcode == 0x1:
                now = time.time()
                if b'"leaderboard.updated"' in payload:
                    at = payload.rfind(b'"ts":')
                    self.receipts.append((float(payload[at + 5 : -1]), now))
                elif b'"subscribed"' in payload and not self.ready.done():
                    self.ready.set_result(None)
            elif opcode == 0x9:
                self._send(0xA, payload)
        self.buf = buf


async def _client_main(port: int, tokens: list[str]) -> None:
    loop = asyncio.get_running_loop()
    receipts: list[tuple[float, float]] = []
    for start in range(0, len(tokens), 100):
        futures = []
        for token in tokens[start : start + 100]:
            ready: asyncio.Future[None] = loop.create_future()
            futures.append(ready)
            await loop.create_connection(
                functools.partial(_Client, token, ready, receipts), "127.0.0.1", port
            )
        await asyncio.wait_for(asyncio.gather(*futures), timeout=120)
    print(f"ready {len(tokens)}", flush=True)
    await loop.run_in_executor(None, sys.stdin.readline)  # "report"
    print(json.dumps({"receipts": receipts}), flush=True)


def client(port: int, token_file: str) -> None:
    import uvloop

    tokens = Path(token_file).read_text().split()
    uvloop.run(_client_main(port, tokens))


# -- driver --------------------------------------------------------------------------------
def _metric(url: str, name: str) -> float:
    import httpx

    for line in httpx.get(url + "/metrics", timeout=30).text.splitlines():
        if line.startswith(name + "{") or line.startswith(name + " "):
            return float(line.rpartition(" ")[2])
    return 0.0


def _fanout_seconds(url: str) -> tuple[float, float]:
    """(sum, count) of the gateway's fan-out histogram."""
    return (
        _metric(url, "gamebackend_ws_fanout_seconds_sum"),
        _metric(url, "gamebackend_ws_fanout_seconds_count"),
    )


def _post_scores(url: str, updates: int, interval: float) -> list[float]:
    import httpx

    with httpx.Client(base_url=url, timeout=30) as http:
        made = http.post("/v1/players", json={"name": "poster"}).json()
        headers = {"Authorization": f"Bearer {made['token']}"}
        posted = []
        for i in range(updates):
            posted.append(time.time())
            body = {"score": 1_000_000 + i, "submission_id": uuid.uuid4().hex}
            assert (
                http.post(
                    "/v1/leaderboards/high_scores/scores", json=body, headers=headers
                ).status_code
                == 201
            )
            time.sleep(interval)
    return posted


def _warm_up(url: str) -> None:
    """One connection, one subscription, one score: the code paths are loaded before the
    baseline RSS is read."""
    from gamebackend.auth import TokenSigner

    async def once() -> None:
        import websockets

        token = TokenSigner(SECRET).issue(str(uuid.uuid4()))
        async with websockets.connect(url.replace("http", "ws") + f"/v1/ws?token={token}") as ws:
            await ws.send(json.dumps({"type": "subscribe", "payload": {"topic": TOPIC}}))
            await ws.recv()

    asyncio.run(once())
    _post_scores(url, 1, 0.5)


def run(args: argparse.Namespace) -> dict[str, Any]:
    from gamebackend.embedded import EmbeddedServers

    with (
        scratch_dir("bench-rt-") as data,
        EmbeddedServers(data / "servers") as servers,
        serve(servers, "--data-dir", str(data), settings=GATEWAY_SETTINGS) as (port, gateway),
    ):
        return _measure(args, port, gateway.pid, data)


@contextlib.contextmanager
def _clients(args: argparse.Namespace, port: int, data: Path) -> Iterator[list[Any]]:
    """The client processes, each holding its share of the connections; killed on the way out."""
    from gamebackend.auth import TokenSigner

    signer = TokenSigner(SECRET)
    per = -(-args.connections // args.clients)
    clients: list[subprocess.Popen[str]] = []
    try:
        for k in range(args.clients):
            count = min(per, args.connections - k * per)
            tokens = data / f"tokens-{k}"
            tokens.write_text("\n".join(signer.issue(str(uuid.uuid4())) for _ in range(count)))
            clients.append(subprocess.Popen(
                [PY, __file__, "--client", str(port), str(tokens)],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
            ))  # fmt: skip
        for c in clients:
            line = c.stdout.readline() if c.stdout else ""
            if not line.startswith("ready"):
                raise RuntimeError(f"a client failed: {line!r}")
        yield clients
    finally:
        for c in clients:
            c.kill()
            c.wait()


def _receipts(clients: list[Any]) -> list[tuple[float, float]]:
    receipts: list[tuple[float, float]] = []
    for c in clients:
        assert c.stdin is not None and c.stdout is not None
        c.stdin.write("report\n")
        c.stdin.flush()
        receipts.extend(tuple(r) for r in json.loads(c.stdout.readline())["receipts"])
    return receipts


def _measure(args: argparse.Namespace, port: int, pid: int, data: Path) -> dict[str, Any]:
    import psutil

    url = f"http://127.0.0.1:{port}"
    _warm_up(url)
    time.sleep(1)
    proc = psutil.Process(pid)
    rss_before = proc.memory_info().rss
    opened = time.monotonic()
    with _clients(args, port, data) as clients:
        connect_s = time.monotonic() - opened
        time.sleep(3)  # settle
        rss_after = proc.memory_info().rss
        held = _metric(url, "gamebackend_ws_connections")
        fanout_before = _fanout_seconds(url)
        cpu_before = cpu_s(pid), sum(cpu_s(c.pid) for c in clients)
        posted = _post_scores(url, args.updates, args.interval)
        time.sleep(3)
        cpu_after = cpu_s(pid), sum(cpu_s(c.pid) for c in clients)
        fanout_after = _fanout_seconds(url)
        receipts = _receipts(clients)
    fanouts = max(1, fanout_after[1] - fanout_before[1])
    server_ms = 1000 * (fanout_after[0] - fanout_before[0]) / fanouts
    report = _report(args, rss_before, rss_after, held, connect_s, posted, receipts)
    report["fanout"]["server_mean_ms"] = round(server_ms, 1)  # publication -> last local write
    # CPU per update (all cores), whatever else runs on the machine: the gateway's, the clients'.
    report["fanout"]["cpu_ms_per_update"] = {
        "gateway": round(1000 * (cpu_after[0] - cpu_before[0]) / args.updates, 1),
        "clients": round(1000 * (cpu_after[1] - cpu_before[1]) / args.updates, 1),
    }
    return report


def _report(
    args: argparse.Namespace, rss_before: int, rss_after: int, held: float, connect_s: float,
    posted: list[float], receipts: list[tuple[float, float]],
) -> dict[str, Any]:  # fmt: skip
    publish = [(recv - ts) * 1000 for ts, recv in receipts]
    order = sorted({ts for ts, _ in receipts})
    post_of = {ts: posted[i] for i, ts in enumerate(order) if i < len(posted)}
    end_to_end = [(recv - post_of[ts]) * 1000 for ts, recv in receipts if ts in post_of]
    by_update: dict[float, list[float]] = {}
    for ts, recv in receipts:
        by_update.setdefault(ts, []).append((recv - ts) * 1000)
    per_conn_kb = (rss_after - rss_before) / max(1, args.connections) / 1024
    p99 = percentile(publish, 0.99)
    expected = args.connections * args.updates
    fanout = {
        "updates": len(order),
        "messages_delivered": len(receipts),
        "messages_expected": expected,
        "publish_to_receipt_ms": _ms(publish),
        "post_to_receipt_ms": _ms(end_to_end),
        "per_update_p99_ms": [round(percentile(by_update[ts], 0.99), 1) for ts in order],
    }
    return {
        "benchmark": "realtime",
        "date": dt.date.today().isoformat(),
        "machine": machine(),
        "connections": args.connections,
        "client_processes": args.clients,
        "held_by_one_gateway": int(held),
        "connect_seconds": round(connect_s, 1),
        "rss_before_mb": round(rss_before / 2**20, 1),
        "rss_after_mb": round(rss_after / 2**20, 1),
        "rss_per_connection_kb": round(per_conn_kb, 2),
        "fanout": fanout,
        "targets": {
            "connections_held>=15000": held >= 15_000,
            "rss_per_connection<=20KB": per_conn_kb <= 20,
            "fanout_p99<=500ms": p99 <= 500,
            "every_message_delivered": len(receipts) == expected,
        },
    }


def _ms(values: list[float]) -> dict[str, float]:
    return {
        "p50": round(percentile(values, 0.5), 1),
        "p99": round(percentile(values, 0.99), 1),
        "max": round(max(values, default=float("nan")), 1),
    }


def main() -> None:
    if len(sys.argv) == 4 and sys.argv[1] == "--client":
        client(int(sys.argv[2]), sys.argv[3])
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--connections", type=int, default=15_000)
    parser.add_argument("--clients", type=int, default=4, help="client processes")
    parser.add_argument("--updates", type=int, default=20)
    parser.add_argument("--interval", type=float, default=1.0, help="seconds between updates")
    args = parser.parse_args()
    if args.connections > 19_000 * args.clients:
        parser.error("--connections: at most 19,000 per client process (20,000 open files)")
    print_json(run(args))


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    main()
