"""The Redis projection scripts: versioned entries never regress, fills from an old epoch
are refused, and sorted-set members keep the ranking order."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest

from gamebackend.leaderboards.service import member
from gamebackend.projections import Projections

pytestmark = pytest.mark.integration


@pytest.fixture
async def projections(embedded) -> AsyncIterator[Projections]:
    store = Projections(embedded.redis_url, "test", ttl=60)
    await store.start()
    try:
        yield store
    finally:
        await store.close()


async def test_an_older_version_never_overwrites_a_newer_one(projections) -> None:
    player = str(uuid.uuid4())
    await projections.publish([("wallet_set", (player, "coins", 5, 50, 60))])
    await projections.publish([("wallet_set", (player, "coins", 3, 999, 60))])  # late arrival
    raw = await projections.eval("wallet_get", player)
    fields = dict(zip(raw[1::2], raw[2::2], strict=True))
    assert fields == {"coins": "5:50"}  # and no "_full": not served until filled from PostgreSQL
    assert projections.healthy


async def test_a_fill_read_before_an_invalidation_is_refused(projections) -> None:
    player = str(uuid.uuid4())
    epoch = (await projections.eval("wallet_get", player))[0]
    await projections.redis.incr("gb:epoch")  # someone invalidated meanwhile
    assert await projections.eval("wallet_fill", player, 60, epoch, "coins", 1, 10) == -1
    now = await projections.eval("wallet_get", player)
    assert now[0] != epoch and now[1:] == []
    assert await projections.eval("wallet_fill", player, 60, now[0], "coins", 1, 10) == 1
    fields = await projections.eval("wallet_get", player)
    assert dict(zip(fields[1::2], fields[2::2], strict=True)) == {"coins": "1:10", "_full": "1"}


async def test_sorted_set_order_is_the_ranking_order(projections) -> None:
    board = f"unit_{uuid.uuid4().hex[:8]}"
    ids = sorted(str(uuid.uuid4()) for _ in range(3))
    entries = [  # (player, version, score, achieved µs)
        (ids[2], 1, 100, 2_000),
        (ids[1], 1, 100, 1_000),
        (ids[0], 1, 100, 2_000),
    ]
    args: list[object] = [board, "all", 60, (await projections.eval("wallet_get", "x"))[0], "1"]
    for player, version, score, at in entries:
        args += [player, version, -score, member(at, player)]
    assert await projections.eval("lb_load", *args) == 1
    page = await projections.eval("lb_range", board, "all", 0, -1)
    assert page[1] == 1
    order = [m.partition(":")[2] for m in page[2::2]]
    assert order == [ids[1], ids[0], ids[2]]  # earliest first, then player id
    # A newer version moves a player; an older one is ignored.
    await projections.publish(
        [("lb_set", (board, "all", ids[2], 2, -150, member(3_000, ids[2]), 60))]
    )
    await projections.publish(
        [("lb_set", (board, "all", ids[2], 1, -1, member(9_000, ids[2]), 60))]
    )
    around = await projections.eval("lb_around", board, "all", ids[0], 1)
    assert around[2] == 1  # the window starts at rank index 1
    # now: ids[2] (150), ids[1], ids[0]; around ids[0] with one either side
    assert [m.partition(":")[2] for m in around[3::2]] == [ids[1], ids[0]]
    top = await projections.eval("lb_range", board, "all", 0, 0)
    assert top[2].endswith(ids[2]) and top[3] == "-150"
