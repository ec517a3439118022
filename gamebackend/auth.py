"""Who is calling: a player (signed bearer token) or a game server (admin key).

Tokens are ``gb1.<player uuid>.<base64url HMAC-SHA256>`` signed with the backend's secret; they
carry no expiry (a game session token would; the reference backend keeps them minimal).
Tokens and keys are never logged: the access log is off and no log line includes headers.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import uuid
from dataclasses import dataclass

from starlette.requests import Request

from gamebackend.errors import ApiError

__all__ = ["Authenticator", "Principal", "TokenSigner"]

_PREFIX = "gb1"


_CACHE_SIZE = 100_000


class TokenSigner:
    """Issues and verifies player bearer tokens. Verified tokens are remembered (a token's
    validity never changes), which saves an HMAC per request for active players."""

    def __init__(self, secret: str) -> None:
        self._key = secret.encode()
        self._verified: dict[str, str] = {}

    def _sign(self, payload: str) -> str:
        mac = hmac.new(self._key, payload.encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(mac).rstrip(b"=").decode()

    def issue(self, player_id: str) -> str:
        payload = f"{_PREFIX}.{player_id}"
        return f"{payload}.{self._sign(payload)}"

    def verify(self, token: str) -> str | None:
        """The player id the token was issued to, or None if it is not a valid token."""
        known = self._verified.get(token)
        if known is not None:
            return known
        player_id = self._check(token)
        if player_id is not None:
            if len(self._verified) >= _CACHE_SIZE:
                self._verified.clear()
            self._verified[token] = player_id
        return player_id

    def _check(self, token: str) -> str | None:
        payload, _, signature = token.rpartition(".")
        prefix, _, player_id = payload.partition(".")
        if prefix != _PREFIX or not hmac.compare_digest(signature, self._sign(payload)):
            return None
        try:
            return str(uuid.UUID(player_id))
        except ValueError:
            return None


@dataclass(frozen=True)
class Principal:
    """The caller: ``player_id`` for a player, ``admin`` for a game server."""

    player_id: str | None
    admin: bool = False

    def target(self, requested: str | None) -> str:
        """The player this call acts on. A player acts only on itself (403 otherwise); an admin
        must name the player."""
        if self.admin:
            if requested is None:
                raise ApiError(422, "invalid_body", "player_id is required with the admin key")
            return requested
        assert self.player_id is not None
        if requested is not None and requested != self.player_id:
            raise ApiError(403, "forbidden", "a player may act only on its own resources")
        return self.player_id

    def require_admin(self) -> None:
        if not self.admin:
            raise ApiError(403, "forbidden", "this call needs the admin key (X-Admin-Key)")

    def scope(self, target: str) -> str:
        """The idempotency-key namespace of this caller acting on ``target``: a player's own keys,
        or the game servers' keys for that player."""
        return f"admin:{target}" if self.admin else target


class Authenticator:
    """Turns request headers into a Principal (401 without credentials, 403 for a bad admin key)."""

    def __init__(self, signer: TokenSigner, admin_key: str) -> None:
        self._signer = signer
        self._admin_key = admin_key.encode()

    def __call__(self, request: Request) -> Principal:
        admin = request.headers.get("x-admin-key")
        if admin is not None:
            if hmac.compare_digest(admin.encode(), self._admin_key):
                return Principal(player_id=None, admin=True)
            raise ApiError(403, "forbidden", "wrong admin key")
        header = request.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token:
            raise ApiError(401, "unauthorized", "missing bearer token")
        player_id = self._signer.verify(token.strip())
        if player_id is None:
            raise ApiError(401, "unauthorized", "invalid bearer token")
        return Principal(player_id=player_id)
