"""Leaderboards: operators, periods, idempotent submissions, deterministic ranks, Redis
sorted sets rebuilt from PostgreSQL."""

from __future__ import annotations

import datetime as dt

import pytest
import redis.asyncio as aioredis

pytestmark = pytest.mark.integration


async def submit(client, player, board: str, score: int, submission: str):
    return await client.post(
        f"/v1/leaderboards/{board}/scores",
        json={"score": score, "submission_id": submission},
        headers=player.headers,
    )


async def records(client, headers, board: str, **params) -> list[tuple[int, str, int]]:
    response = await client.get(f"/v1/leaderboards/{board}/records", params=params, headers=headers)
    assert response.status_code == 200, response.text
    return [(r["rank"], r["player_id"], r["score"]) for r in response.json()["records"]]


async def test_operators_best_latest_increment(client, new_player) -> None:
    player = await new_player()
    for i, score in enumerate((50, 80, 60)):
        for board in ("t_best", "t_latest", "t_inc"):
            assert (await submit(client, player, board, score, f"s{i}")).status_code == 201
    expected = {"t_best": 80, "t_latest": 60, "t_inc": 190}
    for board, score in expected.items():
        mine = [
            r
            for r in await records(client, player.headers, board, limit=100)
            if r[1] == player.player_id
        ]
        assert mine and mine[0][2] == score, board


async def test_submission_is_idempotent_per_submission_id(client, new_player) -> None:
    player = await new_player()
    first = await submit(client, player, "t_inc", 7, "match-1")
    again = await submit(client, player, "t_inc", 7, "match-1")
    assert first.status_code == again.status_code == 201
    assert again.headers["Idempotent-Replayed"] == "true" and again.json() == first.json()
    clash = await submit(client, player, "t_inc", 8, "match-1")
    assert clash.status_code == 422 and clash.json()["error"] == "submission_id_reused"
    mine = [
        r
        for r in await records(client, player.headers, "t_inc", limit=100)
        if r[1] == player.player_id
    ]
    assert mine[0][2] == 7


async def test_ties_rank_by_earliest_then_player_id(client, new_player) -> None:
    a, b, c, top = [await new_player() for _ in range(4)]
    # b reaches 100 first, then a, then c; top scores more later.
    for player in (b, a, c):
        assert (await submit(client, player, "t_rank", 100, "only")).status_code == 201
    assert (await submit(client, top, "t_rank", 150, "only")).status_code == 201
    ranked = await records(client, a.headers, "t_rank")
    assert [pid for _, pid, _ in ranked] == [top.player_id, b.player_id, a.player_id, c.player_id]
    assert [rank for rank, _, _ in ranked] == [1, 2, 3, 4]
    # A better score later moves a player up; ties among the rest are unchanged.
    assert (await submit(client, c, "t_rank", 120, "second")).status_code == 201
    ranked = await records(client, a.headers, "t_rank")
    assert [pid for _, pid, _ in ranked] == [top.player_id, c.player_id, b.player_id, a.player_id]


async def test_pages_and_around(client, new_player) -> None:
    players = [await new_player() for _ in range(7)]
    for i, player in enumerate(players):
        await submit(client, player, "t_page", 10 * (i + 1), "one")
    order = [p.player_id for p in reversed(players)]  # highest score first
    seen, cursor = [], ""
    while True:
        response = await client.get(
            "/v1/leaderboards/t_page/records", params={"limit": 3, "cursor": cursor},
            headers=players[0].headers,
        )  # fmt: skip
        data = response.json()
        seen += [r["player_id"] for r in data["records"]]
        if not data["next_cursor"]:
            break
        cursor = data["next_cursor"]
    assert seen == order
    middle = players[3]  # rank 4 of 7
    around = await client.get(
        f"/v1/leaderboards/t_page/records/around/{middle.player_id}", params={"limit": 3},
        headers=players[0].headers,
    )  # fmt: skip
    assert around.status_code == 200
    assert [(r["rank"], r["player_id"]) for r in around.json()["records"]] == [
        (3, order[2]), (4, middle.player_id), (5, order[4]),
    ]  # fmt: skip
    stranger = await new_player()
    missing = await client.get(
        f"/v1/leaderboards/t_page/records/around/{stranger.player_id}", headers=players[0].headers
    )
    assert missing.status_code == 404


async def test_periods_follow_the_reset_setting(client, new_player) -> None:
    player = await new_player()
    daily = await submit(client, player, "t_daily", 5, "d1")
    weekly = await submit(client, player, "t_weekly", 5, "w1")
    now = dt.datetime.now(dt.UTC)
    assert daily.json()["period"] == now.strftime("%Y-%m-%d")
    year, week, _ = now.isocalendar()
    assert weekly.json()["period"] == f"{year}-W{week:02d}"
    listed = await client.get("/v1/leaderboards", headers=player.headers)
    periods = {b["id"]: b["period"] for b in listed.json()["leaderboards"]}
    assert periods["t_daily"] == daily.json()["period"] and periods["t_best"] == "all"
    old = await client.get("/v1/leaderboards/t_daily/records", params={"period": "2000-01-01"},
                           headers=player.headers)  # fmt: skip
    assert old.status_code == 200 and old.json()["records"] == []
    bad = await client.get("/v1/leaderboards/t_daily/records", params={"period": "yesterday"},
                           headers=player.headers)  # fmt: skip
    assert bad.status_code == 422


async def test_score_validation_and_unknown_board(client, new_player) -> None:
    player = await new_player()
    assert (await submit(client, player, "nope", 1, "a")).status_code == 404
    for score in (-1, 1.5, 10**13):
        assert (await submit(client, player, "t_best", score, "bad")).status_code == 422
    assert (
        await client.get("/v1/leaderboards/nope/records", headers=player.headers)
    ).status_code == 404


async def test_missing_redis_board_is_rebuilt_from_postgres(client, new_player, embedded) -> None:
    players = [await new_player() for _ in range(3)]
    for score, player in zip((30, 10, 20), players, strict=True):
        await submit(client, player, "t_rebuild", score, "x")
    expected = [players[0].player_id, players[2].player_id, players[1].player_id]
    assert [pid for _, pid, _ in await records(client, players[0].headers, "t_rebuild")] == expected
    redis = aioredis.Redis.from_url(embedded.redis_url, decode_responses=True)
    try:
        keys = [k async for k in redis.scan_iter(match="gb:*:lb:t_rebuild:*")]
        assert keys, "the board is served from a Redis sorted set"
        await redis.delete(*keys)
        assert [
            pid for _, pid, _ in await records(client, players[0].headers, "t_rebuild")
        ] == expected
        rebuilt = [k async for k in redis.scan_iter(match="gb:*:lb:t_rebuild:all:z")]
        assert rebuilt and await redis.zcard(rebuilt[0]) == 3
    finally:
        await redis.aclose()
