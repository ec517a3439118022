"""The mix of calls a population of players makes against the reference backend.

Each arrival is one HTTP request, chosen by weight among what players do: register, get coins
from the game server (credits with the admin key), spend with an ``Idempotency-Key`` (some
retried with the same key, as a flaky mobile network would), buy items, post scores, read boards,
the ledger and the wallet, feed the jackpot pool. Players are created as the run goes.

With WebSocket players online (``online``), half of the actions are theirs: the players who
hold a connection are the active ones, and their own spends come back to them as pushes. With a
matchmaking share, that share of the actions queue a ticket (or check the one searching).
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Awaitable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from canaryctl.load.http import Response

if TYPE_CHECKING:
    from canaryctl.load.matchmaking import Matchmaking

__all__ = ["ACTIONS", "Catalogue", "GameMix", "OnlineSet", "Player", "Send"]

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
ONLINE_SHARE = 0.5  # of the actions, made by a player who holds a WebSocket (when any does)
WALLET_ACTIONS = frozenset(("credit", "debit", "purchase", "contribute"))


@dataclass
class Player:
    id: str
    token: str
    recent_keys: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    @property
    def auth(self) -> dict[str, str]:
        return {"authorization": f"Bearer {self.token}"}


class Send(Protocol):
    """Sends one request and records it; None when there was no answer (or no budget left).
    A status in ``ok`` is an expected answer, not an error (a cancel that lost a race)."""

    def __call__(
        self, action: str, method: str, path: str, kw: dict[str, Any], ok: tuple[int, ...] = ()
    ) -> Awaitable[Response | None]: ...


class OnlineSet:
    """The players holding a subscribed WebSocket: add, discard and pick at random in O(1)."""

    def __init__(self) -> None:
        self._items: list[Player] = []
        self._index: dict[str, int] = {}

    def __len__(self) -> int:
        return len(self._items)

    def __contains__(self, player_id: object) -> bool:
        return player_id in self._index

    def add(self, player: Player) -> None:
        if player.id not in self._index:
            self._index[player.id] = len(self._items)
            self._items.append(player)

    def discard(self, player: Player) -> None:
        i = self._index.pop(player.id, None)
        if i is None:
            return
        last = self._items.pop()
        if last.id != player.id:  # swap the last one into the hole
            self._items[i] = last
            self._index[last.id] = i

    def choice(self, rng: random.Random) -> Player:
        return self._items[rng.randrange(len(self._items))]


@dataclass
class Catalogue:
    """Names the mix uses; they match the reference backend's shipped configuration."""

    currency: str = "coins"
    items: tuple[str, ...] = ("potion", "sword", "shield")
    boards: tuple[str, ...] = ("high_scores", "daily_best", "weekly_kills")
    pools: tuple[str, ...] = ("jackpot",)
    regions: tuple[str, ...] = ("eu", "us", "asia")  # the backend's default matchmaking regions


class GameMix:
    """Plays one request per call of ``step()``; ``send`` does the HTTP and the recording."""

    def __init__(
        self,
        send: Send,
        admin_key: str | None,
        rng: random.Random,
        catalogue: Catalogue | None = None,
        matchmaking: Matchmaking | None = None,
        matchmaking_share: float = 0.0,
    ) -> None:
        self.send = send
        self.admin_key = admin_key
        self.rng = rng
        self.cat = catalogue or Catalogue()
        self.players: list[Player] = []
        self.unfunded: list[Player] = []  # new players get their starting coins first
        self.online = OnlineSet()
        self.online_wallet_changes = 0  # committed wallet changes of subscribed players
        self.mm = matchmaking if matchmaking_share > 0 else None
        self.mm_share = matchmaking_share
        self._names = list(ACTIONS)
        self._weights = list(ACTIONS.values())
        self._serial = 0

    def choose(self) -> str:
        if len(self.players) < MIN_PLAYERS:
            return "register"
        if self.unfunded:
            return "credit"
        # No random draw without a share: the same seed plays the same mix as before.
        if self.mm is not None and self.rng.random() < self.mm_share:
            return "matchmake"
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
        player = await self._create_player(self.send, "register")
        if player is not None:
            self.players.append(player)
            if self.admin_key:
                self.unfunded.append(player)

    async def _create_player(self, send: Send, action: str) -> Player | None:
        self._serial += 1
        body = {"name": f"load-{self._serial}-{self.rng.randrange(10**6)}"}
        resp = await send(action, "POST", "/v1/players", {"json": body})
        if resp is None or resp.status_code != 201:
            return None
        data = resp.json()
        return Player(str(data["player_id"]), str(data["token"]))

    async def new_player(self, send: Send) -> Player | None:
        """A player for a WebSocket session: registered, funded (with the admin key), and
        then one of the mix's players. ``send`` is the caller's (it is not an arrival)."""
        player = await self._create_player(send, "ws_register")
        if player is None:
            return None
        if self.admin_key:
            await self._fund(send, "ws_credit", player)
        self.players.append(player)
        return player

    def _player(self) -> Player:
        if self.online and self.rng.random() < ONLINE_SHARE:
            return self.online.choice(self.rng)
        return self.rng.choice(self.players)

    def _count(self, action: str, p: Player, resp: Response | None) -> None:
        if resp is None or not 200 <= resp.status < 300 or p.id not in self.online:
            return
        if action in WALLET_ACTIONS and "idempotent-replayed" not in resp.headers:
            self.online_wallet_changes += 1

    async def _credit(self) -> None:
        p = self.unfunded.pop() if self.unfunded else self._player()
        self._count("credit", p, await self._fund(self.send, "credit", p))

    async def _fund(self, send: Send, action: str, p: Player) -> Response | None:
        body = {"player_id": p.id, "currency": self.cat.currency, "amount": 1000}
        body["reason"] = "load:reward"
        headers = {"x-admin-key": self.admin_key or "", "idempotency-key": self._key()}
        return await send(
            action, "POST", "/v1/wallet/transactions", {"json": body, "headers": headers}
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
        kw = {"json": body, "headers": headers}
        self._count("debit", p, await self.send("debit", "POST", "/v1/wallet/transactions", kw))

    async def _purchase(self) -> None:
        p = self._player()
        body = {"item_id": self.rng.choice(self.cat.items), "qty": 1}
        headers = {**p.auth, "idempotency-key": self._key()}
        kw = {"json": body, "headers": headers}
        self._count("purchase", p, await self.send("purchase", "POST", "/v1/store/purchase", kw))

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
        resp = await self.send("contribute", "POST", path, {"json": body, "headers": headers})
        self._count("contribute", p, resp)

    async def _matchmake(self) -> None:
        assert self.mm is not None
        await self.mm.queue(self._player(), self.send)  # or, already queued, checks on it
