"""Matchmaking tickets: queued with plausible bodies, followed to their end, a lost cancel race
is not an error, and the run leaves no ticket searching."""

from __future__ import annotations

import asyncio
import random
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest

from canaryctl.load import matchmaking as mm_module
from canaryctl.load.http import Response
from canaryctl.load.matchmaking import Matchmaking, ticket_body
from canaryctl.load.scenario import Player
from canaryctl.load.stats import HttpStats


def test_ticket_bodies_have_a_home_region_in_reach_and_plausible_skill():
    rng = random.Random(5)
    bodies = [ticket_body(rng, ("eu", "us", "asia")) for _ in range(2000)]
    for body in bodies:
        assert set(body["regions"]) <= {"eu", "us", "asia"}
        assert min(body["regions"].values()) <= 80  # within any sane ping limit
        assert 0 <= body["mmr"] <= 10_000 and body["mode"] in ("duel", "squad")
    duels = sum(b["mode"] == "duel" for b in bodies) / len(bodies)
    assert 0.7 < duels < 0.8
    assert any(len(b["regions"]) == 3 for b in bodies) and any(
        len(b["regions"]) == 1 for b in bodies
    )


class Queue:
    """The backend's ticket routes: ``outcome`` says how each GET/DELETE answers."""

    def __init__(self, answer) -> None:  # type: ignore[no-untyped-def]
        self.answer = answer
        self.tickets: dict[str, str] = {}  # id -> status
        self.stats = HttpStats()

    async def send(
        self, action: str, method: str, path: str, kw: dict[str, Any], ok: tuple[int, ...] = ()
    ) -> Response | None:
        if method == "POST":
            tid = str(uuid.uuid4())
            self.tickets[tid] = "searching"
            resp = _json(201, {"ticket_id": tid, "status": "searching"})
        else:
            tid = path.rsplit("/", 1)[1]
            resp = self.answer(self, method, tid)
        self.stats.record(action, path, resp.status, 0.001, resp.status in ok)
        return resp


def _json(status: int, body: dict[str, Any]) -> Response:
    return Response(status, {}, orjson.dumps(body))


def _matched(tid: str) -> Response:
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    return _json(200, {
        "ticket_id": tid, "status": "matched", "created_at": t0.isoformat(),
        "ended_at": (t0 + timedelta(seconds=1.5)).isoformat(), "match": {"match_id": "m"},
    })  # fmt: skip


def _player() -> Player:
    return Player(str(uuid.uuid4()), "token")


@pytest.fixture
def fast(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(mm_module, "POLL_INTERVAL", 0.02)
    monkeypatch.setattr(mm_module, "CANCEL_AFTER", (0.05, 0.05))


async def test_polled_tickets_record_the_servers_wait(fast, monkeypatch):
    monkeypatch.setattr(mm_module, "CANCEL_SHARE", 0.0)
    queue = Queue(lambda q, method, tid: _matched(tid))
    mm = Matchmaking(queue.send, queue.send, random.Random(1), ("eu", "us"))
    players = [_player() for _ in range(3)]
    for p in players:
        await mm.queue(p, queue.send)
        assert mm.searching(p)
    await mm.queue(players[0], queue.send)  # already searching: checks on its ticket instead
    assert queue.stats.by_action == {"mm_queue": 3, "mm_poll": 1}
    await asyncio.sleep(0.2)
    await mm.finish(timeout=1)
    s = mm.summary(0.1)
    assert s["tickets"] == 3 and s["matched"] == 3 and s["searching_at_end"] == 0
    assert s["wait_s"] == {"p50": 1.5, "p95": 1.5, "n": 3}
    assert not any(mm.searching(p) for p in players)


async def test_a_cancel_that_loses_the_race_is_counted_but_is_not_an_error(fast, monkeypatch):
    monkeypatch.setattr(mm_module, "CANCEL_SHARE", 1.0)

    def answer(q: Queue, method: str, tid: str) -> Response:
        if method == "DELETE":
            return _json(409, {"error": "already_matched"})
        return (
            _matched(tid) if q.stats.by_action["mm_cancel"] else _json(200, {"status": "searching"})
        )

    queue = Queue(answer)
    mm = Matchmaking(queue.send, queue.send, random.Random(1), ("eu",))
    await mm.queue(_player(), queue.send)
    await asyncio.sleep(0.3)
    await mm.finish(timeout=1)
    s = mm.summary(0.1)
    assert s["cancel_too_late"] == 1 and s["matched"] == 1 and s["cancelled"] == 0
    http = queue.stats.summary()
    assert http["errors"] == 0 and http["errors_by_status"] == {}
    assert http["status_counts"]["409"] == 1  # still visible


async def test_tickets_still_searching_are_cancelled_at_the_end(monkeypatch):
    monkeypatch.setattr(mm_module, "CANCEL_SHARE", 0.0)

    def answer(q: Queue, method: str, tid: str) -> Response:
        if method == "DELETE":
            q.tickets[tid] = "cancelled"
            return _json(200, {"status": "cancelled"})
        return _json(200, {"status": q.tickets[tid]})

    queue = Queue(answer)
    mm = Matchmaking(queue.send, queue.send, random.Random(1), ("eu",))
    for _ in range(4):
        await mm.queue(_player(), queue.send)
    await mm.finish(timeout=1)
    s = mm.summary(0.1)
    assert s["cancelled_at_end"] == 4 and s["searching_at_end"] == 0 and s["cancelled"] == 0
    assert set(queue.tickets.values()) == {"cancelled"}


async def test_a_refused_ticket_frees_the_player(monkeypatch):
    async def refuse(action, method, path, kw, ok=()):  # type: ignore[no-untyped-def]
        return _json(422, {"error": "no_region_in_reach"})

    mm = Matchmaking(refuse, refuse, random.Random(1), ("eu",))
    p = _player()
    await mm.queue(p, refuse)
    assert not mm.searching(p)
    assert mm.summary(0.1)["refused"] == {"422": 1} and mm.summary(0.1)["tickets"] == 0
