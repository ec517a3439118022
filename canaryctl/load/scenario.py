"""The mix of calls a population of players makes against the reference backend.

Each arrival is one HTTP request, chosen by weight among what players do: register, get coins
from the game server (credits with the admin key), spend with an ``Idempotency-Key`` (some
retried with the same key, as a flaky mobile network would), buy items, post scores, read boards,
the ledger and the wallet, feed the jackpot pool. Players are created as the run goes.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from canaryctl.load.http import Response

__all__ = ["ACTIONS", "GameMix", "Player"]

# action -> weight. Reads dominate, as in the systems this backend models.
ACTIONS: dict[str, int] = {
    "register": 4,
    "credit": 8,
    "debit": 14,
    "purchase": 8,
    "score": 16,
    "board": 20,
    "ledger": 8,
    "wallet": 14,
    "contribute": 8,
}
MIN_PLAYERS = 8
MAX_PLAYERS = 2000


@dataclass
class Player:
    id: str
    token: str
    recent_keys: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    @property
    def auth(self) -> dict[str, str]:
        return {"authorization": f"Bearer {self.token}"}


Recorder = Callable[[str, str, int | None, float], None]


@dataclass
class Catalogue:
    """Names the mix uses; they match the reference backend's shipped configuration."""

    currency: str = "coins"
    items: tuple[str, ...] = ("potion", "sword", "shield")
    boards: tuple[str, ...] = ("high_scores", "daily_best", "weekly_kills")
    pools: tuple[str, ...] = ("jackpot",)


class GameMix:
    """Plays one request per call of ``step()``; ``send`` does the HTTP and the recording."""

    def __init__(
        self,
        send: Callable[[str, str, str, dict[str, Any]], Awaitable[Response | None]],
        admin_key: str | None,
        rng: random.Random,
        catalogue: Catalogue | None = None,
    ) -> None:
        self.send = send
        self.admin_key = admin_key
        self.rng = rng
        self.cat = catalogue or Catalogue()
        self.players: list[Player] = []
        self.unfunded: list[Player] = []  # new players get their starting coins first
        self._names = list(ACTIONS)
        self._weights = list(ACTIONS.values())
        self._serial = 0

    def choose(self) -> str:
        if len(self.players) < MIN_PLAYERS:
            return "register"
        if self.unfunded:
            return "credit"
        action = self.rng.choices(self._names, self._weights)[0]
        if action == "register" and len(self.players) >= MAX_PLAYERS:
            return "board"
        if action == "credit" and not self.admin_key:
            return "wallet"
        return action

    async def step(self) -> None:
        action = self.choose()
        await getattr(self, f"_{action}")()

    def _key(self) -> str:
        return uuid.uuid4().hex

    async def _register(self) -> None:
        self._serial += 1
        body = {"name": f"load-{self._serial}-{self.rng.randrange(10**6)}"}
        resp = await self.send("register", "POST", "/v1/players", {"json": body})
        if resp is not None and resp.status_code == 201:
            data = resp.json()
            player = Player(str(data["player_id"]), str(data["token"]))
            self.players.append(player)
            if self.admin_key:
                self.unfunded.append(player)

    def _player(self) -> Player:
        return self.rng.choice(self.players)

    async def _credit(self) -> None:
        p = self.unfunded.pop() if self.unfunded else self._player()
        body = {"player_id": p.id, "currency": self.cat.currency, "amount": 1000}
        body["reason"] = "load:reward"
        headers = {"x-admin-key": self.admin_key or "", "idempotency-key": self._key()}
        await self.send(
            "credit", "POST", "/v1/wallet/transactions", {"json": body, "headers": headers}
        )

    async def _debit(self) -> None:
        p = self._player()
        if p.recent_keys and self.rng.random() < 0.1:  # a client retry: same key, same body
            key, body = self.rng.choice(p.recent_keys)
        else:
            key = self._key()
            body = {"currency": self.cat.currency, "amount": -self.rng.randint(1, 20)}
            body["reason"] = "load:spend"
            p.recent_keys = [*p.recent_keys[-7:], (key, body)]
        headers = {**p.auth, "idempotency-key": key}
        await self.send(
            "debit", "POST", "/v1/wallet/transactions", {"json": body, "headers": headers}
        )

    async def _purchase(self) -> None:
        p = self._player()
        body = {"item_id": self.rng.choice(self.cat.items), "qty": 1}
        headers = {**p.auth, "idempotency-key": self._key()}
        await self.send(
            "purchase", "POST", "/v1/store/purchase", {"json": body, "headers": headers}
        )

    async def _score(self) -> None:
        p = self._player()
        board = self.rng.choice(self.cat.boards)
        body = {"score": self.rng.randint(0, 100_000), "submission_id": self._key()}
        path = f"/v1/leaderboards/{board}/scores"
        await self.send("score", "POST", path, {"json": body, "headers": p.auth})

    async def _board(self) -> None:
        p = self._player()
        board = self.rng.choice(self.cat.boards)
        path = f"/v1/leaderboards/{board}/records"
        await self.send("board", "GET", path, {"params": {"limit": 10}, "headers": p.auth})

    async def _ledger(self) -> None:
        p = self._player()
        params = {"currency": self.cat.currency, "limit": 20}
        await self.send("ledger", "GET", "/v1/wallet/ledger", {"params": params, "headers": p.auth})

    async def _wallet(self) -> None:
        await self.send("wallet", "GET", "/v1/wallet", {"headers": self._player().auth})

    async def _contribute(self) -> None:
        p = self._player()
        pool = self.rng.choice(self.cat.pools)
        body = {"currency": self.cat.currency, "amount": 1}
        headers = {**p.auth, "idempotency-key": self._key()}
        path = f"/v1/pools/{pool}/contributions"
        await self.send("contribute", "POST", path, {"json": body, "headers": headers})
