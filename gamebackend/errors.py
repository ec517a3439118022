"""Errors the API answers with a JSON body ``{"error": code, "message": text}``.

    ApiError          any answer other than success: carries the HTTP status and a stable code
    ├── 400 idempotency_key_required / bad_request
    ├── 401 unauthorized            no or invalid bearer token
    ├── 403 forbidden               another player's resources, a player asking for a credit,
    │                               a wrong admin key
    ├── 404 not_found               unknown pool, leaderboard, player
    ├── 409 insufficient_funds / insufficient_items / insufficient_pool_funds
    ├── 413 body_too_large
    ├── 422 invalid_body / idempotency_key_reused / unknown_player
    └── 500 internal / injected_fault

Services raise them; ``gamebackend.web`` renders them. Nothing else is caught on purpose.
"""

from __future__ import annotations

__all__ = ["ApiError"]


class ApiError(Exception):
    """A refusal with an HTTP status, a stable machine-readable code and a human message."""

    def __init__(self, status: int, code: str, message: str = "") -> None:
        super().__init__(message or code)
        self.status = status
        self.code = code
        self.message = message or code.replace("_", " ")
