"""Matchmaking against real processes: the tickets API, region and skill-window rules, expiry,
statistics, and atomic match formation with two matchmaker processes.

Rules of the test processes (conftest TEST_RULES): regions eu,us,asia; ping limit 100 ms; best
regions within 20 ms of the lowest ping, every region in reach after 2 s; window 50 + 100/s,
capped at 300; expiry after 8 s; a tick every 0.1 s.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

import asyncpg
import pytest

pytestmark = pytest.mark.integration


async def _ticket(
    http: Any, player: Any, mmr: int, regions: dict[str, int], mode: str = "duel"
) -> str:
    body = {"mode": mode, "regions": regions, "mmr": mmr}
    made = await http.post("/v1/matchmaking/tickets", json=body, headers=player.headers)
    assert made.status_code == 201, made.text
    assert made.json()["status"] == "searching"
    return str(made.json()["ticket_id"])


async def _until(
    http: Any, player: Any, ticket: str, statuses: set[str], timeout: float = 20
) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        got = await http.get(f"/v1/matchmaking/tickets/{ticket}", headers=player.headers)
        assert got.status_code == 200, got.text
        if got.json()["status"] in statuses:
            return dict(got.json())
        assert time.monotonic() < deadline, got.json()
        await asyncio.sleep(0.1)


async def test_ticket_lifecycle_and_errors(http: Any, new_player: Any, band: int) -> None:
    player, other = await new_player(), await new_player()
    ticket = await _ticket(http, player, band, {"eu": 40, "asia": 300})
    got = await http.get(f"/v1/matchmaking/tickets/{ticket}", headers=player.headers)
    assert got.json()["status"] == "searching" and got.json()["match"] is None
    assert got.json()["regions"] == {"eu": 40}  # asia is beyond the ping limit
    again = await http.post(
        "/v1/matchmaking/tickets", json={"mode": "duel", "regions": {"eu": 40}, "mmr": band},
        headers=player.headers,
    )  # fmt: skip
    assert again.status_code == 409 and again.json()["error"] == "already_searching"
    assert ticket in again.json()["message"]
    peek = await http.get(f"/v1/matchmaking/tickets/{ticket}", headers=other.headers)
    assert peek.status_code == 403
    assert (
        await http.delete(f"/v1/matchmaking/tickets/{ticket}", headers=other.headers)
    ).status_code == 403
    cancelled = await http.delete(f"/v1/matchmaking/tickets/{ticket}", headers=player.headers)
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    twice = await http.delete(f"/v1/matchmaking/tickets/{ticket}", headers=player.headers)
    assert twice.status_code == 200 and twice.json()["status"] == "cancelled"
    missing = await http.get(f"/v1/matchmaking/tickets/{uuid.uuid4()}", headers=player.headers)
    assert missing.status_code == 404
    assert (
        await http.get("/v1/matchmaking/tickets/nope", headers=player.headers)
    ).status_code == 404
    assert (await http.get(f"/v1/matchmaking/tickets/{ticket}")).status_code == 401


@pytest.mark.parametrize(
    ("body", "code", "words"),
    [
        ({"mode": "battle", "regions": {"eu": 10}, "mmr": 1}, "invalid_body", "mode"),
        ({"mode": "duel", "regions": {}, "mmr": 1}, "invalid_body", "regions"),
        ({"mode": "duel", "regions": {"eu": 10}, "mmr": -1}, "invalid_body", "mmr"),
        ({"mode": "duel", "regions": {"eu": "10"}, "mmr": 1}, "invalid_body", "regions"),
        ({"mode": "duel", "regions": {"mars": 10}, "mmr": 1}, "invalid_body", "mars"),
        (
            {"mode": "duel", "regions": {"eu": 101, "us": 250}, "mmr": 1},
            "no_region_in_reach",
            "100 ms",
        ),
        ({"mode": "duel", "regions": {"eu": 10}}, "invalid_body", "mmr"),
    ],
)
async def test_invalid_tickets_are_refused(
    http: Any, new_player: Any, body: dict[str, Any], code: str, words: str
) -> None:
    player = await new_player()
    made = await http.post("/v1/matchmaking/tickets", json=body, headers=player.headers)
    assert made.status_code == 422, made.text
    assert made.json()["error"] == code and words in made.json()["message"]


async def test_a_match_records_who_where_and_skill_spread(
    http: Any, new_player: Any, band: int
) -> None:
    a, b = await new_player(), await new_player()
    ta = await _ticket(http, a, band, {"eu": 30, "us": 90})
    tb = await _ticket(http, b, band + 40, {"eu": 45})
    done = await _until(http, a, ta, {"matched"})
    match = done["match"]
    assert match["region"] == "eu" and match["mode"] == "duel" and match["skill_spread"] == 40
    assert [p["player_id"] for p in match["players"]] == [a.player_id, b.player_id]  # by MMR
    assert [p["ticket_id"] for p in match["players"]] == [ta, tb]
    other = await _until(http, b, tb, {"matched"})
    assert other["match"]["match_id"] == match["match_id"]


async def test_squad_matches_four(http: Any, new_player: Any, band: int) -> None:
    players = [await new_player() for _ in range(4)]
    tickets = [
        await _ticket(http, p, band + 10 * i, {"us": 20}, "squad") for i, p in enumerate(players)
    ]
    done = await _until(http, players[0], tickets[0], {"matched"})
    assert {p["ticket_id"] for p in done["match"]["players"]} == set(tickets)
    assert done["match"]["skill_spread"] == 30 and done["match"]["region"] == "us"


async def test_skill_window_widens_with_waiting(http: Any, new_player: Any, band: int) -> None:
    a, b = await new_player(), await new_player()
    started = time.monotonic()
    ta = await _ticket(http, a, band, {"asia": 10})
    await _ticket(http, b, band + 200, {"asia": 10})  # outside 50, inside 50 + 100/s after 1.5 s
    done = await _until(http, a, ta, {"matched"})
    assert time.monotonic() - started >= 1.4
    assert done["match"]["skill_spread"] == 200


async def test_best_region_first_then_any_region_in_reach(
    http: Any, new_player: Any, band: int
) -> None:
    roams, local = await new_player(), await new_player()
    started = time.monotonic()
    tr = await _ticket(http, roams, band, {"eu": 30, "us": 70})  # us is 40 ms worse than eu
    await _ticket(http, local, band, {"us": 25})
    done = await _until(http, roams, tr, {"matched"})
    assert time.monotonic() - started >= 1.9  # us only after the 2 s fallback
    assert done["match"]["region"] == "us"


async def test_out_of_reach_region_and_skill_never_match_and_expire(
    http: Any, new_player: Any, band: int
) -> None:
    far_eu, far_us = await new_player(), await new_player()
    low, high = await new_player(), await new_player()
    t1 = await _ticket(http, far_eu, band, {"eu": 35, "us": 110})  # us is beyond 100 ms
    await _ticket(http, far_us, band, {"us": 20, "eu": 180})
    t3 = await _ticket(http, low, band, {"asia": 10})
    await _ticket(http, high, band + 400, {"asia": 10})  # 400 apart: beyond the 300 cap
    for player, ticket in ((far_eu, t1), (low, t3)):
        done = await _until(http, player, ticket, {"matched", "expired"}, timeout=25)
        assert done["status"] == "expired" and done["match"] is None
    late = await http.delete(f"/v1/matchmaking/tickets/{t1}", headers=far_eu.headers)
    assert late.status_code == 409 and late.json()["error"] == "expired"


async def test_cancelling_a_matched_ticket_is_refused(
    http: Any, new_player: Any, band: int
) -> None:
    a, b = await new_player(), await new_player()
    ta = await _ticket(http, a, band, {"eu": 5})
    await _ticket(http, b, band, {"eu": 5})
    await _until(http, a, ta, {"matched"})
    refused = await http.delete(f"/v1/matchmaking/tickets/{ta}", headers=a.headers)
    assert refused.status_code == 409 and refused.json()["error"] == "already_matched"


async def test_stats_show_depth_and_wait_percentiles(http: Any, new_player: Any, band: int) -> None:
    a, b, waiting = await new_player(), await new_player(), await new_player()
    ta = await _ticket(http, a, band, {"eu": 10})
    await _ticket(http, b, band + 5, {"eu": 10})
    await _until(http, a, ta, {"matched"})
    await _ticket(http, waiting, band + 450, {"eu": 10})
    stats = await http.get("/v1/matchmaking/stats", headers=a.headers)
    assert stats.status_code == 200
    pools = {(p["mode"], p["region"]): p for p in stats.json()["pools"]}
    assert set(pools) == {(m, r) for m in ("duel", "squad") for r in ("eu", "us", "asia")}
    eu = pools[("duel", "eu")]
    assert eu["queue_depth"] >= 1 and eu["matched"] >= 2
    assert 0 <= eu["wait_p50_s"] <= eu["wait_p95_s"] < 8
    assert eu["skill_spread_p50"] is not None
    assert (await http.get("/v1/matchmaking/stats")).status_code == 401


async def test_two_matchmaker_processes_never_put_a_ticket_in_two_matches(
    gateways: Any, http: Any, new_player: Any, band: int, embedded: Any
) -> None:
    before = [g.metric("gamebackend_matchmaking_matches_total") for g in gateways]
    players = [await new_player() for _ in range(160)]
    # Every ticket searches eu and us from the start: two pools, two processes, one ticket.
    tickets = await asyncio.gather(*(
        _ticket(http, p, band + (i * 7) % 280, {"eu": 30, "us": 40}) for i, p in enumerate(players)
    ))  # fmt: skip
    deadline = time.monotonic() + 30
    conn = await asyncpg.connect(embedded.database_url)
    try:
        while await conn.fetchval(
            "SELECT count(*) FROM mm_tickets"
            " WHERE ticket_id = ANY($1::uuid[]) AND status = 'searching'",
            tickets,
        ):
            assert time.monotonic() < deadline
            await asyncio.sleep(0.2)
        per_ticket = await conn.fetch(
            "SELECT t, count(*) AS n FROM mm_matches, unnest(tickets) AS t"
            " WHERE t = ANY($1::uuid[]) GROUP BY t",
            tickets,
        )
        matched = await conn.fetchval(
            "SELECT count(*) FROM mm_tickets"
            " WHERE ticket_id = ANY($1::uuid[]) AND status = 'matched'",
            tickets,
        )
        sizes = await conn.fetch(
            "SELECT cardinality(players) AS n,"
            "       cardinality(ARRAY(SELECT DISTINCT unnest(players))) AS d"
            "  FROM mm_matches WHERE tickets && $1::uuid[]",
            tickets,
        )
    finally:
        await conn.close()
    assert matched == len(tickets)  # everyone found a partner
    assert len(per_ticket) == len(tickets) and all(r["n"] == 1 for r in per_ticket)
    assert all(r["n"] == 2 and r["d"] == 2 for r in sizes) and len(sizes) == len(tickets) // 2
    formed = [
        g.metric("gamebackend_matchmaking_matches_total") - x
        for g, x in zip(gateways, before, strict=True)
    ]
    assert sum(formed) == len(tickets) // 2


async def test_concurrent_formations_of_one_ticket_settle_on_one_match(
    new_player: Any, embedded: Any
) -> None:
    """Two matchmakers propose groups sharing a ticket at the same moment: the second waits
    for the first's row locks, sees the ticket taken, and forms nothing with it."""
    players = [await new_player() for _ in range(3)]
    conns = [await asyncpg.connect(embedded.database_url) for _ in range(2)]
    try:
        # mode "race" is no pool of the running matchmakers: only this test touches these.
        t1, t2, t3 = [
            await conns[0].fetchval(
                "INSERT INTO mm_tickets (player_id, mode, mmr, pings, regions, best_ping)"
                " VALUES ($1, 'race', 1, '{\"eu\": 1, \"us\": 1}', '{eu,us}', 1)"
                " RETURNING ticket_id",
                uuid.UUID(p.player_id),
            )
            for p in players
        ]
        first = conns[0].transaction()
        await first.start()
        won = await conns[0].fetch("SELECT * FROM gb_mm_form('race', 'eu', 2, $1)", [t1, t2])
        assert len(won) == 1
        second = asyncio.create_task(
            conns[1].fetch("SELECT * FROM gb_mm_form('race', 'us', 2, $1)", [t2, t3])
        )
        await asyncio.sleep(0.5)
        assert not second.done()  # waiting on the first's lock of t2
        await first.commit()
        assert await asyncio.wait_for(second, 10) == []
        status = dict(await conns[1].fetch(
            "SELECT ticket_id, status FROM mm_tickets WHERE ticket_id = ANY($1)", [t1, t2, t3]
        ))  # fmt: skip
        assert status == {t1: "matched", t2: "matched", t3: "searching"}
        with pytest.raises(asyncpg.UniqueViolationError):  # the last line of defence
            await conns[1].execute(
                "INSERT INTO mm_match_tickets (ticket_id, match_id) VALUES ($1, $2)",
                t2, won[0]["o_match_id"],
            )  # fmt: skip
    finally:
        for c in conns:
            await c.close()
