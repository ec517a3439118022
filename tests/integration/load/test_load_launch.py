"""``canaryctl load --profile launch --ws-players`` against a real backend behind the router:
WebSocket players connect, receive their own wallet's pushes, queue for matches, and leave
nothing behind (no connection open, no ticket searching)."""

from __future__ import annotations

import asyncio
import json
import signal
import time

import asyncpg
import pytest

pytestmark = pytest.mark.integration


async def _searching_tickets(database_url: str) -> int:
    conn = await asyncpg.connect(database_url)
    try:
        return int(
            await conn.fetchval("SELECT count(*) FROM mm_tickets WHERE status = 'searching'")
        )
    finally:
        await conn.close()


def _wait_closed(stack, timeout: float = 5.0) -> float:
    """The backend's open WebSockets, once they have dropped to 0 (or at the timeout)."""
    deadline = time.monotonic() + timeout
    while (open_now := stack.metric("gamebackend_ws_connections")) > 0:
        if time.monotonic() > deadline:
            break
        time.sleep(0.1)
    return open_now


def test_launch_day_with_websocket_players(stack, load_cli, wait_load):
    t0 = time.monotonic()
    run = load_cli(
        "--target", stack.router_url, "--profile", "launch", "--ws-players", "20",
        "--duration", "10s", "--seed", "11", "--ws-ping-interval", "2s",
    )  # fmt: skip
    run = wait_load(run, 40)
    took = time.monotonic() - t0
    assert run.proc.returncode == 0, run.stderr
    s = run.summary
    print(json.dumps(s, indent=1))
    assert took < 25, took  # 10 s of load, then a bounded clean-up
    assert s["profile"] == "launch" and s["interrupted"] is False
    assert s["errors"] == 0 and s["server_errors"] == 0, s["errors_by_status"]

    ws = s["ws"]
    assert ws["connected"] >= 20 and ws["peak"] >= 15, ws  # the spike brings everyone online
    assert ws["peak"] <= 20 and ws["registered"] <= 20  # never more than --ws-players
    assert ws["connect_errors"] == {} and ws["closed_by_server"] == {}, ws
    assert ws["open_at_end"] == 0 and ws["closed_by_client"] == ws["connected"], ws
    assert ws["messages_out"]["subscribe"] == 3 * ws["connected"]
    assert ws["messages_in"]["subscribed"] == ws["messages_out"]["subscribe"]
    assert ws["messages_in"]["pong"] >= 10 and ws["ping_rtt_ms"]["p95"] < 1000, ws
    assert "error" not in ws["messages_in"], ws["error_reasons"]
    # the players' own spends came back to them live
    assert ws["online_wallet_changes"] >= 5, ws
    assert ws["messages_in"]["wallet.updated"] >= ws["online_wallet_changes"] // 2, ws
    assert ws["messages_in"].get("leaderboard.updated", 0) >= 1, ws

    mm = s["matchmaking"]
    assert mm["tickets"] >= 5 and mm["refused"] == {}, mm
    ended = mm["matched"] + mm["expired"] + mm["cancelled"] + mm["cancelled_at_end"]
    assert ended + mm["cancel_too_late"] >= mm["tickets"] and mm["searching_at_end"] == 0, mm
    assert s["by_route_class"]["matchmaking"] >= mm["tickets"]

    # nothing left behind on the server
    assert _wait_closed(stack) == 0
    assert asyncio.run(_searching_tickets(stack.database_url)) == 0


def test_ctrl_c_stops_cleanly_with_a_summary(stack, load_cli, wait_load):
    run = load_cli(
        "--target", stack.router_url, "--profile", "steady", "--ws-players", "10",
        "--duration", "2m", "--rps", "20", "--matchmaking", "0.3", "--seed", "5",
    )  # fmt: skip
    time.sleep(5)
    assert run.proc.poll() is None
    assert stack.metric("gamebackend_ws_connections") >= 5
    t0 = time.monotonic()
    run.proc.send_signal(signal.SIGINT)
    run = wait_load(run, 20)
    assert time.monotonic() - t0 < 12  # the clean-up is bounded
    assert run.proc.returncode == 130, run.stderr
    s = run.summary
    assert s["interrupted"] is True and s["duration_s"] < 15
    assert s["ws"]["connected"] >= 10 and s["ws"]["open_at_end"] == 0, s["ws"]
    assert s["ws"]["closed_by_client"] == s["ws"]["connected"], s["ws"]
    assert s["matchmaking"]["tickets"] >= 1 and s["matchmaking"]["searching_at_end"] == 0
    assert s["server_errors"] == 0, s["errors_by_status"]
    assert _wait_closed(stack) == 0
    assert asyncio.run(_searching_tickets(stack.database_url)) == 0


def test_the_engines_hook_api_runs_the_launch_curve_with_players(stack, admin_key):
    from canaryctl.load import run_in_background

    handle = run_in_background(
        stack.router_url, "launch", rps=20, duration=5, admin_key=admin_key, ws_players=6, seed=2
    )
    summary = handle.wait(30)
    assert summary is not None and "error" not in summary, summary
    assert summary["server_errors"] == 0 and summary["ws"]["connected"] >= 6, summary
    assert summary["ws"]["open_at_end"] == 0 and summary["matchmaking"]["searching_at_end"] == 0
    assert _wait_closed(stack) == 0
