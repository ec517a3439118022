"""Wallet and hot-pool throughput over HTTP against pgbench, on ONE embedded server, in one run.
Prints one JSON object.

    .venv/bin/python benchmarks/wallet.py [--reps 3] [--duration 10] [--workers 2]
                                          [--pgbench-time 12] [--profile DIR]

1. Starts embedded PostgreSQL and Redis (``gamebackend.embedded.EmbeddedServers``, temp dir)
   and initialises pgbench (scale 1) in a database of its own (``pgbench``) on that server.
2. Starts ``gamebackend serve --workers N`` on those servers (uvicorn, httptools + uvloop,
   access log off), registers ``--players`` players and credits each of them.
3. Each repetition runs, back to back: pgbench tpcb-like and simple-update (``-N``)
   (``-c 16 -j 2 -T --pgbench-time``); wallet debits (``POST /v1/wallet/transactions``,
   amount -1) at 16 and 64 concurrent clients; contributions to the sharded ``jackpot`` and to
   the naive ``naive_jackpot`` control (one pool row, ``SELECT ... FOR UPDATE`` then
   ``UPDATE``) at the same offered load (``--pool-clients`` closed-loop clients each).
4. The load generator is ``wrk`` (C, like pgbench's client; installed with apt-get when
   missing) with a Lua script: every request carries a unique Idempotency-Key and the token of
   one of the players (round robin, so concurrent requests touch different wallets).
5. CPU per request of each process (API workers, PostgreSQL, Redis, load generator) is sampled
   around every run: on a 2-core machine throughput is bounded by their sum.

Reported: medians over ``--reps`` of every figure, and ratios computed within each repetition
(same run, same machine load) with their median. Targets: contributions/s sharded >= 2x the
control and p95 <= 0.29x the control's; wallet tx/s (16 clients) >= 0.5x pgbench ``-N`` tps.
``--profile DIR`` adds one wallet run (64 clients, not counted) under ``py-spy record`` of the
API workers and reports their hottest functions. Loopback only; bounded in time.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import (  # benchmarks are scripts, not a package
    PY,
    children_cpu_s,
    cpu_s,
    ensure_apt_tool,
    host_info,
    pg_bin,
    postmaster_pid,
    print_json,
    scratch_dir,
    serve,
)

ADMIN_KEY = "bench-admin-key"
CREDIT = 1_000_000_000

# Runs in wrk's threads. args: path, body, nonce, tokens file, threads. Each thread walks its
# own slice of the players round robin; keys are unique per run, thread and request.
WRK_LUA = r"""
local tokens = {}
local counter, base, span = 0, 0, 1
function init(args)
  wrk.method, wrk.path, wrk.body = "POST", args[1], args[2]
  nonce = args[3] .. "-" .. tostring(tid) .. "-"
  for line in io.lines(args[4]) do tokens[#tokens + 1] = line end
  span = math.floor(#tokens / tonumber(args[5]))
  base = tid * span
end
function request()
  counter = counter + 1
  local headers = {
    ["Content-Type"] = "application/json",
    ["Authorization"] = "Bearer " .. tokens[base + (counter % span) + 1],
    ["Idempotency-Key"] = nonce .. counter,
  }
  return wrk.format(nil, nil, headers, nil)
end
local n = 0
function setup(thread)
  thread:set("tid", n)
  n = n + 1
end
function done(s, lat, req)
  local e = s.errors
  io.write(string.format(
    'WRKJSON {"requests": %d, "duration_us": %d, "errors": %d, "p50_us": %d, ' ..
    '"p95_us": %d, "p99_us": %d, "mean_us": %.1f, "max_us": %d}\n',
    s.requests, s.duration, e.connect + e.read + e.write + e.status + e.timeout,
    lat:percentile(50), lat:percentile(95), lat:percentile(99), lat.mean, lat.max))
end
"""


class Bench:
    """The servers, the API and the players of one benchmark run."""

    def __init__(self, tmp: Path, ns: argparse.Namespace) -> None:
        self.tmp = tmp
        self.ns = ns
        self.wrk = ensure_apt_tool("wrk", "wrk")
        self.lua = tmp / "wallet.lua"
        self.lua.write_text(WRK_LUA)
        self.tokens = tmp / "tokens.txt"
        self.port = 0  # the API's, once it is up
        self.pids: dict[str, int] = {}
        self.pg_dir = tmp / "data" / "pg"

    # -- pgbench ---------------------------------------------------------------------------
    def pg_args(self) -> list[str]:
        return ["-h", str(self.pg_dir), "-U", "postgres"]

    def pgbench_init(self) -> None:
        psql = [str(pg_bin("psql")), *self.pg_args(), "-q", "-d", "postgres"]
        subprocess.run([*psql, "-c", "CREATE DATABASE pgbench"], check=True, capture_output=True)
        init = [str(pg_bin("pgbench")), *self.pg_args(), "-i", "-s", "1", "-q", "pgbench"]
        subprocess.run(init, check=True, capture_output=True)

    def pgbench(self, simple: bool) -> dict[str, Any]:
        cmd = [str(pg_bin("pgbench")), *self.pg_args(), "-c", "16", "-j", "2"]
        cmd += ["-T", str(self.ns.pgbench_time), *(["-N"] if simple else []), "pgbench"]
        out, cpu = self.measured(lambda: _run(cmd))
        tps = float(re.search(r"tps = ([\d.]+) \(without", out).group(1))  # type: ignore[union-attr]
        lat = float(re.search(r"latency average = ([\d.]+) ms", out).group(1))  # type: ignore[union-attr]
        per = {k: v / max(1.0, tps * self.ns.pgbench_time) * 1e6 for k, v in cpu.items()}
        return {"tps": tps, "latency_avg_ms": lat, **{f"{k}_cpu_us": v for k, v in per.items()}}

    # -- the API ---------------------------------------------------------------------------
    async def make_players(self) -> None:
        import httpx

        url = f"http://127.0.0.1:{self.port}"
        limits = httpx.Limits(max_connections=16)
        async with httpx.AsyncClient(base_url=url, limits=limits, timeout=30) as client:
            sem = asyncio.Semaphore(16)

            async def one(i: int) -> str:
                async with sem:
                    made = await client.post("/v1/players", json={"name": f"bench{i}"})
                    player = made.raise_for_status().json()
                    credit = {
                        "currency": "coins",
                        "amount": CREDIT,
                        "player_id": player["player_id"],
                    }
                    headers = {"x-admin-key": ADMIN_KEY, "idempotency-key": f"fund-{i}"}
                    r = await client.post("/v1/wallet/transactions", json=credit, headers=headers)
                    r.raise_for_status()
                    return str(player["token"])

            tokens = await asyncio.gather(*(one(i) for i in range(self.ns.players)))
        self.tokens.write_text("\n".join(tokens) + "\n")

    # -- load ------------------------------------------------------------------------------
    def measured(self, run: Any) -> tuple[str, dict[str, float]]:
        """Run ``run()`` (a child process that exits); CPU seconds each party spent on it."""
        before = {name: cpu_s(pid) for name, pid in self.pids.items()}
        kids = children_cpu_s()
        out = run()
        cpu = {name: cpu_s(pid) - before[name] for name, pid in self.pids.items()}
        cpu["loadgen"] = children_cpu_s() - kids
        return out, cpu

    def wrk_run(self, path: str, body: str, clients: int, seconds: float) -> dict[str, Any]:
        threads = min(2, clients)
        cmd = [self.wrk, "-t", str(threads), "-c", str(clients), "-d", f"{seconds:g}s"]
        cmd += ["--timeout", "30s", "-s", str(self.lua), f"http://127.0.0.1:{self.port}"]
        cmd += ["--", path, body, uuid.uuid4().hex[:12], str(self.tokens), str(threads)]
        out, cpu = self.measured(lambda: _run(cmd))
        line = next(x for x in out.splitlines() if x.startswith("WRKJSON "))
        raw = json.loads(line[len("WRKJSON ") :])
        n = max(1, raw["requests"])
        result = {
            "rps": raw["requests"] / (raw["duration_us"] / 1e6),
            "requests": raw["requests"],
            "errors": raw["errors"],
            **{k.replace("_us", "_ms"): raw[k] / 1e3 for k in ("p50_us", "p95_us", "p99_us")},
            "mean_ms": raw["mean_us"] / 1e3,
        }
        result |= {f"{k}_cpu_us": v / n * 1e6 for k, v in cpu.items()}
        return result

    def debit(self, clients: int, seconds: float) -> dict[str, Any]:
        body = '{"currency": "coins", "amount": -1, "reason": "bet"}'
        return self.wrk_run("/v1/wallet/transactions", body, clients, seconds)

    def contribute(self, pool: str, clients: int, seconds: float) -> dict[str, Any]:
        body = '{"currency": "coins", "amount": 1}'
        return self.wrk_run(f"/v1/pools/{pool}/contributions", body, clients, seconds)

    def repetition(self) -> dict[str, Any]:
        ns = self.ns
        rep: dict[str, Any] = {"loadavg_1m": os.getloadavg()[0]}
        rep["pgbench_tpcb"] = self.pgbench(simple=False)
        rep["pgbench_simple"] = self.pgbench(simple=True)
        for c in ns.clients:
            rep[f"wallet_c{c}"] = self.debit(c, ns.duration)
        rep["pool_sharded"] = self.contribute("jackpot", ns.pool_clients, ns.duration)
        rep["pool_naive"] = self.contribute("naive_jackpot", ns.pool_clients, ns.duration)
        rep["ratios"] = ratios(rep, ns.clients)
        return rep

    def profile(self, out_dir: Path) -> dict[str, Any]:
        """One extra wallet run under py-spy (sampling all API worker processes)."""
        out_dir.mkdir(parents=True, exist_ok=True)
        raw = out_dir / "wallet-pyspy.txt"
        spy = shutil.which("py-spy") or str(Path(PY).with_name("py-spy"))
        cmd = [spy, "record", "--pid", str(self.pids["api"]), "--subprocesses", "--format"]
        cmd += ["raw", "--rate", "250", "--output", str(raw), "--duration", "12", "--nonblocking"]
        spy_proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            time.sleep(1.5)
            run = self.debit(64, 8)
            spy_proc.wait(60)  # it writes the file when its --duration is over
        finally:
            if spy_proc.poll() is None:
                spy_proc.kill()
                spy_proc.wait()
        return {"run_under_profiler": run, "file": str(raw), **summarize_profile(raw)}


def _run(cmd: list[str]) -> str:
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    if done.returncode != 0:
        raise RuntimeError(f"{Path(cmd[0]).name} failed: {done.stderr.strip()[-500:]}")
    return done.stdout


def ratios(rep: dict[str, Any], clients: list[int]) -> dict[str, float]:
    sharded, naive = rep["pool_sharded"], rep["pool_naive"]
    simple = rep["pgbench_simple"]["tps"]
    out = {
        "pool_rps_sharded_over_naive": sharded["rps"] / naive["rps"],
        "pool_p95_sharded_over_naive": sharded["p95_ms"] / naive["p95_ms"],
    }
    for c in clients:
        out[f"wallet_c{c}_over_pgbench_simple"] = rep[f"wallet_c{c}"]["rps"] / simple
    # When every party is CPU-bound on the 2 cores, tx/s is inversely proportional to the CPU
    # spent per transaction by all of them: a ratio that does not depend on what else the
    # shared machine ran meanwhile. pgbench: PostgreSQL + its client; wallet: API + PostgreSQL
    # + Redis + wrk.
    pg = rep["pgbench_simple"]
    pg_cpu = pg["postgres_cpu_us"] + pg["loadgen_cpu_us"]
    for c in clients:
        run = rep[f"wallet_c{c}"]
        cpu = sum(run[f"{k}_cpu_us"] for k in ("api", "postgres", "redis", "loadgen"))
        out[f"wallet_c{c}_cpu_model_over_pgbench_simple"] = pg_cpu / cpu
    return out


def summarize_profile(raw: Path, top: int = 25) -> dict[str, Any]:
    """Self and inclusive sample shares of the hottest functions in py-spy's collapsed stacks."""
    own: Counter[str] = Counter()
    incl: Counter[str] = Counter()
    total = 0
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        frames = [re.sub(r":\d+\)$", ")", f) for f in stack.split(";")[1:]]  # drop process
        n = int(count)
        total += n
        if frames:
            own[frames[-1]] += n
        for f in set(frames):
            incl[f] += n
    share = {"samples": total}
    share["self"] = {f: round(c / total, 3) for f, c in own.most_common(top)}  # type: ignore[assignment]
    share["inclusive"] = {f: round(c / total, 3) for f, c in incl.most_common(top)}  # type: ignore[assignment]
    return share


def medians(reps: list[dict[str, Any]]) -> dict[str, Any]:
    """The median of every numeric figure across repetitions (nested dicts kept)."""
    out: dict[str, Any] = {}
    for key, first in reps[0].items():
        if isinstance(first, dict):
            out[key] = medians([r[key] for r in reps])
        elif isinstance(first, (int, float)):
            out[key] = statistics.median(r[key] for r in reps)
    return out


def targets(med: dict[str, Any], clients: list[int]) -> dict[str, bool]:
    r = med["ratios"]
    met = {
        "pool_rps_ratio_ge_2": r["pool_rps_sharded_over_naive"] >= 2.0,
        "pool_p95_ratio_le_0.29": r["pool_p95_sharded_over_naive"] <= 0.29,
    }
    for c in clients:
        met[f"wallet_c{c}_ge_half_pgbench_simple"] = r[f"wallet_c{c}_over_pgbench_simple"] >= 0.5
    return met


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--reps", type=int, default=3, help="repetitions (medians are reported)")
    ap.add_argument("--duration", type=float, default=10.0, help="seconds per HTTP run")
    ap.add_argument("--pgbench-time", type=int, default=12, help="seconds per pgbench run")
    ap.add_argument("--workers", type=int, default=2, help="API worker processes")
    ap.add_argument("--players", type=int, default=1024)
    ap.add_argument("--clients", type=lambda s: [int(x) for x in s.split(",")], default=[16, 64])
    ap.add_argument("--pool-clients", type=int, default=64, help="clients of each pool run")
    ap.add_argument("--profile", type=Path, default=None, help="py-spy the API into this dir")
    ns = ap.parse_args()
    if ns.reps < 1 or ns.duration <= 0 or ns.pgbench_time < 1 or ns.workers < 1:
        ap.error("--reps, --duration, --pgbench-time and --workers must be positive")
    if ns.players < 2 * max([*ns.clients, ns.pool_clients]):
        ap.error("--players must be at least twice the largest number of clients")
    from gamebackend.embedded import EmbeddedServers

    with scratch_dir("bench-wallet-") as tmp, EmbeddedServers(tmp / "data") as srv:
        result = run(Bench(tmp, ns), srv, ns)
    print_json(result)


def run(bench: Bench, srv: Any, ns: argparse.Namespace) -> dict[str, Any]:
    bench.pgbench_init()
    settings = {"GAMEBACKEND_ADMIN_KEY": ADMIN_KEY}
    info = host_info()
    workers = ("--workers", str(ns.workers))
    with serve(srv, *workers, settings=settings, log=bench.tmp / "serve.log") as (port, api):
        bench.port = port
        bench.pids = {"api": api.pid, "postgres": postmaster_pid(bench.pg_dir)}
        bench.pids["redis"] = srv.redis_pid
        asyncio.run(bench.make_players())
        bench.debit(64, 3)  # warm-up: connections, prepared statements, token cache
        bench.contribute("jackpot", 64, 2)
        bench.contribute("naive_jackpot", 64, 2)
        reps = [bench.repetition() for _ in range(ns.reps)]
        prof = bench.profile(ns.profile) if ns.profile else None
    med = medians(reps)
    return {
        "benchmark": "wallet",
        "command": " ".join(["benchmarks/wallet.py", *sys.argv[1:]]),
        **info,
        "loadavg_end": [round(x, 2) for x in os.getloadavg()],
        "api": f"gamebackend serve --workers {ns.workers}",
        "load_generator": "wrk 4.1 (C, Lua script: unique Idempotency-Key per request)",
        "pgbench": f"scale 1, -c 16 -j 2 -T {ns.pgbench_time}, database pgbench, same server",
        "duration_s": ns.duration,
        "players": ns.players,
        "median": med,
        "targets_met": targets(med, ns.clients),
        "reps": reps,
        "profile": prof,
    }


if __name__ == "__main__":
    main()
