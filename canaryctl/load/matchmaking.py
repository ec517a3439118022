"""Players queueing for matches: tickets with random regions and skill, followed to the end.

An arrival queues a ticket (``POST /v1/matchmaking/tickets``); a follow-up task then polls it
every couple of seconds until it is matched or expires, and gives up on some (``DELETE``) after
a few seconds, as impatient players do. At the end of the run every ticket still searching is
cancelled, so the load leaves nobody in the queue. Waits are the server's (``ended_at -
created_at`` of a matched ticket), not the poll's, which only sees them a poll late.
"""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from canaryctl.load.scenario import Player, Send

__all__ = ["Matchmaking", "Ticket", "ticket_body"]

POLL_INTERVAL = 2.0  # seconds between a ticket's polls (jittered ±50%)
CANCEL_SHARE = 0.2  # of tickets, given up after CANCEL_AFTER seconds if still searching
CANCEL_AFTER = (2.0, 8.0)
PATH = "/v1/matchmaking/tickets"


def ticket_body(rng: random.Random, regions: tuple[str, ...]) -> dict[str, Any]:
    """A player somewhere: a near home region, maybe others farther away; mostly duels."""
    home = rng.choice(regions)
    pings = {home: rng.randint(15, 80)}
    for region in regions:
        if region != home and rng.random() < 0.5:
            pings[region] = rng.randint(60, 220)
    mmr = int(min(max(rng.gauss(1500, 300), 0), 10_000))
    return {"mode": "duel" if rng.random() < 0.75 else "squad", "regions": pings, "mmr": mmr}


@dataclass
class Ticket:
    id: str
    player: Player
    status: str = "searching"
    task: asyncio.Task[None] | None = field(default=None, repr=False)


def _wait_s(data: dict[str, Any]) -> float | None:
    try:
        ended = datetime.fromisoformat(str(data["ended_at"]))
        created = datetime.fromisoformat(str(data["created_at"]))
    except (KeyError, TypeError, ValueError):
        return None
    return (ended - created).total_seconds()


class Matchmaking:
    """Tickets of the run; ``follow_up`` sends polls and cancels (not arrivals, within the
    request budget), ``cleanup`` the cancels at the end (beyond it: nobody is left queued)."""

    def __init__(
        self, follow_up: Send, cleanup: Send, rng: random.Random, regions: tuple[str, ...]
    ) -> None:
        self.follow_up, self.cleanup = follow_up, cleanup
        self.rng = rng
        self.regions = regions
        self.tickets: dict[str, Ticket] = {}  # player id -> its searching ticket
        self.outcomes: Counter[str] = Counter()
        self.refused: Counter[str] = Counter()
        self.waits: list[float] = []
        self.created = 0
        self._closing = False

    def searching(self, player: Player) -> bool:
        return player.id in self.tickets

    async def queue(self, player: Player, send: Send) -> None:
        """Queue ``player``; one already searching checks on its ticket instead."""
        if player.id in self.tickets:
            await self.poll_player(player, send)
            return
        # Reserve the player first: a second arrival for it must not queue it twice (409).
        self.tickets[player.id] = reserved = Ticket("", player)
        body = ticket_body(self.rng, self.regions)
        resp = await send("mm_queue", "POST", PATH, {"json": body, "headers": player.auth})
        if resp is None or resp.status != 201:
            self.tickets.pop(player.id, None)
            self.refused[str(resp.status) if resp is not None else "transport"] += 1
            return
        self.created += 1
        reserved.id = str(resp.json()["ticket_id"])
        if self._closing:
            return  # finish() cancels it
        reserved.task = asyncio.get_running_loop().create_task(self._follow(reserved))

    async def poll_player(self, player: Player, send: Send) -> None:
        ticket = self.tickets.get(player.id)
        if ticket is not None and ticket.id:
            await self._poll(ticket, send)

    async def _follow(self, t: Ticket) -> None:
        loop = asyncio.get_running_loop()
        give_up = None
        if self.rng.random() < CANCEL_SHARE:
            give_up = loop.time() + self.rng.uniform(*CANCEL_AFTER)
        while t.status == "searching":
            wait = POLL_INTERVAL * self.rng.uniform(0.5, 1.5)
            if give_up is not None:
                wait = min(wait, max(0.0, give_up - loop.time()))
            await asyncio.sleep(wait)
            if t.status != "searching":
                return
            if give_up is not None and loop.time() >= give_up:
                await self._cancel(t, self.follow_up, "cancelled")
                return
            await self._poll(t, self.follow_up)

    async def _poll(self, t: Ticket, send: Send) -> None:
        resp = await send("mm_poll", "GET", f"{PATH}/{t.id}", {"headers": t.player.auth})
        if resp is not None and resp.status == 200:
            self._ended(t, resp.json())

    def _ended(self, t: Ticket, data: dict[str, Any], label: str | None = None) -> None:
        status = str(data.get("status", "searching"))
        if status == "searching" or t.status != "searching":
            return
        t.status = status
        self.outcomes[label or status] += 1
        if self.tickets.get(t.player.id) is t:
            del self.tickets[t.player.id]
        if status == "matched":
            wait = _wait_s(data)
            if wait is not None:
                self.waits.append(wait)

    async def _cancel(self, t: Ticket, send: Send, outcome: str) -> None:
        kw = {"headers": t.player.auth}
        # 409: matched or expired before the cancel arrived — a race, not an error.
        resp = await send("mm_cancel", "DELETE", f"{PATH}/{t.id}", kw, (409,))
        if resp is None or t.status != "searching":
            return
        if resp.status == 200:
            self._ended(t, {"status": "cancelled"}, outcome)
        elif resp.status == 409:
            self.outcomes["cancel_too_late"] += 1
            await self._poll(t, send)

    async def finish(self, timeout: float) -> None:
        """Stop following tickets and cancel every ticket still searching (bounded)."""
        self._closing = True
        tasks = [t.task for t in self.tickets.values() if t.task is not None]
        for task in tasks:
            task.cancel()
        if tasks:  # cancelled: this only lets them unwind
            await asyncio.wait(tasks, timeout=1.0)
        left = [t for t in self.tickets.values() if t.id and t.status == "searching"]
        jobs = [
            asyncio.ensure_future(self._cancel(t, self.cleanup, "cancelled_at_end")) for t in left
        ]
        if jobs:
            _, pending = await asyncio.wait(jobs, timeout=timeout)
            for job in pending:
                job.cancel()

    def summary(self, share: float) -> dict[str, Any]:
        waits = sorted(self.waits)
        searching = sum(1 for t in self.tickets.values() if t.id and t.status == "searching")
        return {
            "share": share,
            "tickets": self.created,
            "refused": dict(sorted(self.refused.items())),
            "matched": self.outcomes["matched"],
            "expired": self.outcomes["expired"],
            "cancelled": self.outcomes["cancelled"],
            "cancel_too_late": self.outcomes["cancel_too_late"],
            "cancelled_at_end": self.outcomes["cancelled_at_end"],
            "searching_at_end": searching,
            "wait_s": {"p50": _q(waits, 0.5), "p95": _q(waits, 0.95), "n": len(waits)},
        }


def _q(values: list[float], q: float) -> float | None:
    if not values:
        return None
    return round(values[min(len(values) - 1, int(q * len(values)))], 3)
