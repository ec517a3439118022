"""Matchmaking under a launch-day arrival curve: waits, skill spread, and no ticket matched
twice. Prints one JSON object.

    .venv/bin/python benchmarks/matchmaking.py [--peak 200] [--duration 90] [--seed 7]

1. Starts embedded PostgreSQL/Redis (temp dir) and TWO ``gamebackend serve`` processes, each
   running its matchmaker with the default rules (docs/realtime.md): both share the pools.
2. Seeds players straight into the database (one INSERT; tokens minted with the secret), so the
   run measures matchmaking rather than sign-ups.
3. Tickets arrive as an inhomogeneous Poisson process whose rate follows a launch day,
   compressed into ``--duration`` seconds: a ramp to 60% of the peak (first third), a plateau,
   a spike to ``--peak`` tickets/s, a decline to 15%. Each arrival is a real
   ``POST /v1/matchmaking/tickets`` to one of the two processes, sent at its time (open loop).
   Players: 80% duel / 20% squad; home region eu 45% / us 35% / asia 20% with plausible pings
   to the others; MMR ~ N(1500, 350).
4. After the last arrival, waits until no ticket searches (bounded by the expiry), then reads
   the truth from PostgreSQL: wait per ticket, expiries, skill spread per match, and whether any
   ticket is in two matches.

Target: p95 wait <= 12 s at a 200 tickets/s peak (expired tickets count as waiting forever),
with the median skill spread reported; no ticket matched twice. Loopback only.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import json
import math
import random
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import (  # benchmarks are scripts, not a package
    ROOT,
    machine,
    percentile,
    print_json,
    scratch_dir,
    serve,
)

SECRET = "bench-mm-secret"
PINGS = {("eu", "us"): (80, 130), ("us", "asia"): (130, 200), ("eu", "asia"): (180, 260)}


def rate(t: float, duration: float, peak: float) -> float:
    """Tickets per second at time t of a launch day squeezed into ``duration`` seconds."""
    x = t / duration
    if x < 1 / 3:
        return peak * (0.03 + 0.57 * x * 3)  # ramp to 60%
    if x < 5 / 9:
        return peak * 0.6  # plateau
    if x < 13 / 18:
        return peak  # spike: the launch-day peak
    return peak * (1 - 0.85 * (x - 13 / 18) / (5 / 18))  # decline to 15%


def arrivals(duration: float, peak: float, rng: random.Random) -> list[float]:
    """An inhomogeneous Poisson process with the rate above (thinning)."""
    out: list[float] = []
    t = 0.0
    while True:
        t += rng.expovariate(peak)
        if t >= duration:
            return out
        if rng.random() < rate(t, duration, peak) / peak:
            out.append(t)


def ticket(rng: random.Random) -> dict[str, Any]:
    home = rng.choices(["eu", "us", "asia"], weights=[45, 35, 20])[0]
    regions = {home: rng.randint(15, 60)}
    for (a, b), (low, high) in PINGS.items():
        if home in (a, b):
            regions[b if home == a else a] = rng.randint(low, high)
    mmr = max(0, min(4000, round(rng.gauss(1500, 350))))
    return {"mode": "duel" if rng.random() < 0.8 else "squad", "regions": regions, "mmr": mmr}


async def _seed_players(dsn: str, n: int) -> list[str]:
    import asyncpg

    conn = await asyncpg.connect(dsn)
    try:
        rows = await conn.fetch(
            "INSERT INTO players (name) SELECT 'bench' FROM generate_series(1, $1)"
            " RETURNING player_id::text",
            n,
        )
    finally:
        await conn.close()
    return [r["player_id"] for r in rows]


class _Conn:
    """One keep-alive HTTP/1.1 connection (raw asyncio streams: a load client must be light,
    or it measures itself; httpx queues for seconds at a few hundred requests per second)."""

    def __init__(self, url: str) -> None:
        self.host, _, port = url.removeprefix("http://").partition(":")
        self.port = int(port)
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def post(self, path: str, body: bytes, token: str) -> int:
        reused = self.writer is not None and not self.writer.is_closing()
        try:
            return await self._post(path, body, token)
        except asyncio.IncompleteReadError as exc:
            if not reused or exc.partial:
                raise
            # The server closed this idle keep-alive connection before reading the request
            # (uvicorn closes after 5 s idle): nothing was done, send it on a new one.
            self.writer = None
            return await self._post(path, body, token)

    async def _post(self, path: str, body: bytes, token: str) -> int:
        if self.writer is None or self.writer.is_closing():
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        assert self.reader is not None
        self.writer.write(
            f"POST {path} HTTP/1.1\r\nHost: {self.host}\r\nAuthorization: Bearer {token}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n".encode()
            + body
        )
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        length = 0
        for line in head.split(b"\r\n"):
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":")[1])
        await self.reader.readexactly(length)
        return status


async def _offer(urls: list[str], times: list[float], bodies: list[dict[str, Any]],
                 tokens: list[str], per_backend: int = 48) -> dict[str, Any]:  # fmt: skip
    """Send every ticket at its arrival time (a request waits only when all ``per_backend``
    connections to its backend are busy: that wait is reported as the send lag)."""
    statuses: dict[int | str, int] = {}
    latencies: list[float] = []
    lag: list[float] = []
    queues: list[asyncio.Queue[int]] = [asyncio.Queue() for _ in urls]
    start = time.monotonic()

    async def worker(url: str, queue: asyncio.Queue[int]) -> None:
        conn = _Conn(url)
        while (i := await queue.get()) >= 0:
            sent = time.monotonic()
            lag.append(sent - start - times[i])
            try:
                outcome: int | str = await conn.post(
                    "/v1/matchmaking/tickets", json.dumps(bodies[i]).encode(), tokens[i]
                )
            except (OSError, asyncio.IncompleteReadError) as exc:
                outcome, conn = type(exc).__name__, _Conn(url)
            latencies.append(time.monotonic() - sent)
            statuses[outcome] = statuses.get(outcome, 0) + 1

    workers = [asyncio.create_task(worker(u, q)) for u, q in zip(urls, queues, strict=True)
               for _ in range(per_backend)]  # fmt: skip
    for i, at in enumerate(times):
        delay = start + at - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        queues[i % len(urls)].put_nowait(i)
    for q in queues:
        for _ in range(per_backend):
            q.put_nowait(-1)
    await asyncio.gather(*workers)
    return {"statuses": statuses, "post_p95_ms": round(percentile(latencies, 0.95) * 1000, 1),
            "send_lag_p99_ms": round(percentile(lag, 0.99) * 1000, 1)}  # fmt: skip


_RESULTS = """
SELECT status, extract(epoch FROM ended_at - created_at) AS wait, mode,
       (SELECT region FROM mm_matches m WHERE m.match_id = t.match_id) AS region
  FROM mm_tickets t WHERE player_id = ANY($1::uuid[])
"""


async def _truth(dsn: str, players: list[str], settle: float) -> dict[str, Any]:
    import asyncpg

    conn = await asyncpg.connect(dsn)
    try:
        deadline = time.monotonic() + settle
        while time.monotonic() < deadline and await conn.fetchval(
            "SELECT count(*) FROM mm_tickets WHERE status = 'searching'"
        ):
            await asyncio.sleep(1)
        rows = await conn.fetch(_RESULTS, players)
        dup = await conn.fetchval(
            "SELECT count(*) - count(DISTINCT t) FROM mm_matches, unnest(tickets) AS t"
        )
        bad_size = await conn.fetchval(
            "SELECT count(*) FROM mm_matches WHERE cardinality(tickets) <>"
            " CASE mode WHEN 'duel' THEN 2 ELSE 4 END"
            " OR cardinality(ARRAY(SELECT DISTINCT unnest(players))) <> cardinality(players)"
        )
        spreads = [
            r["skill_spread"] for r in await conn.fetch("SELECT skill_spread FROM mm_matches")
        ]
        per_second = await conn.fetch(
            "SELECT date_trunc('second', created_at) s, count(*) n FROM mm_tickets GROUP BY 1"
        )
    finally:
        await conn.close()
    return {"rows": rows, "dup": dup, "bad_size": bad_size, "spreads": spreads,
            "peak_arrivals_per_s": max((r["n"] for r in per_second), default=0)}  # fmt: skip


def _summary(truth: dict[str, Any]) -> dict[str, Any]:
    rows = truth["rows"]
    waits = [float(r["wait"]) if r["status"] == "matched" else math.inf for r in rows]
    matched = [w for w in waits if w != math.inf]
    pools: dict[str, list[float]] = {}
    for r in rows:
        if r["status"] == "matched":
            pools.setdefault(f"{r['mode']}/{r['region']}", []).append(float(r["wait"]))
    p95, p99 = percentile(waits, 0.95), percentile(waits, 0.99)
    return {
        "tickets": len(rows),
        "matched": len(matched),
        "expired": sum(1 for r in rows if r["status"] == "expired"),
        "wait_s": {
            "p50": round(percentile(waits, 0.5), 2),
            "p95": round(p95, 2) if p95 != math.inf else None,  # None: more than 5% expired
            "p99": round(p99, 2) if p99 != math.inf else None,
            "p95_of_matched": round(percentile(matched, 0.95), 2),
        },
        "per_pool_p95_s": {k: round(percentile(v, 0.95), 2) for k, v in sorted(pools.items())},
        "per_pool_matched": {k: len(v) for k, v in sorted(pools.items())},
        "skill_spread": {
            "median": percentile(truth["spreads"], 0.5),
            "p95": percentile(truth["spreads"], 0.95),
        },
        "tickets_in_two_matches": truth["dup"],
        "matches_of_wrong_size": truth["bad_size"],
        "peak_arrivals_per_s": truth["peak_arrivals_per_s"],
        "targets": {"p95_wait<=12s": p95 <= 12, "no_ticket_matched_twice": truth["dup"] == 0},
    }


def run(args: argparse.Namespace) -> dict[str, Any]:
    from gamebackend.auth import TokenSigner
    from gamebackend.embedded import EmbeddedServers

    rng = random.Random(args.seed)
    times = arrivals(args.duration, args.peak, rng)
    bodies = [ticket(rng) for _ in times]
    settings = {"GAMEBACKEND_SECRET": SECRET, "GAMEBACKEND_VERSION": "bench"}
    with (
        scratch_dir("bench-mm-") as data,
        EmbeddedServers(data / "servers") as servers,
        contextlib.ExitStack() as backends,
    ):
        for _ in range(2):
            port, _proc = backends.enter_context(
                serve(servers, "--data-dir", str(data), settings=settings)
            )
            args.urls.append(f"http://127.0.0.1:{port}")
        dsn = servers.database_url or ""
        players = asyncio.run(_seed_players(dsn, len(times)))
        signer = TokenSigner(SECRET)
        tokens = [signer.issue(p) for p in players]
        offered = asyncio.run(_offer(args.urls, times, bodies, tokens))
        truth = asyncio.run(_truth(dsn, players, settle=100))
    return {
        "benchmark": "matchmaking", "date": dt.date.today().isoformat(),
        "machine": machine(),
        "curve": {"duration_s": args.duration, "peak_per_s": args.peak, "offered": len(times),
                  "matchmaker_processes": 2},
        "http": offered, **_summary(truth),
    }  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--peak", type=float, default=200.0, help="tickets/s at the spike")
    parser.add_argument("--duration", type=float, default=90.0, help="seconds of arrivals")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    if args.peak <= 0 or args.duration <= 0:
        parser.error("--peak and --duration must be positive")
    args.urls = []
    print_json(run(args))


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    main()
