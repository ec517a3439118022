"""HTTP helpers shared by the routers: JSON answers, body reading and validation, headers."""

from __future__ import annotations

import hashlib
import uuid
from typing import Any, TypeVar

import orjson
from pydantic import BaseModel, ValidationError
from starlette.requests import Request
from starlette.responses import Response

from gamebackend.errors import ApiError

__all__ = [
    "error_response",
    "idempotency_key",
    "json_response",
    "query_int",
    "query_player",
    "raw_json_response",
    "read_body",
    "request_hash",
]

M = TypeVar("M", bound=BaseModel)
_JSON = "application/json"


def json_response(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(orjson.dumps(data), status_code=status, media_type=_JSON, headers=headers)


def raw_json_response(
    body: str | bytes, status: int = 200, headers: dict[str, str] | None = None
) -> Response:
    """An answer whose JSON was already rendered (by PostgreSQL, for stored responses)."""
    return Response(body, status_code=status, media_type=_JSON, headers=headers)


def error_response(exc: ApiError) -> Response:
    return json_response({"error": exc.code, "message": exc.message}, status=exc.status)


async def read_body(request: Request, model: type[M], limit: int) -> M:
    """Read at most ``limit`` bytes (413 beyond) and validate them against ``model`` (422)."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit():
        if int(declared) > limit:
            raise ApiError(413, "body_too_large", f"request body larger than {limit} bytes")
        raw = await request.body()  # bounded by the declared length
    else:  # chunked: count as it arrives
        buffer = bytearray()
        async for chunk in request.stream():
            buffer += chunk
            if len(buffer) > limit:
                raise ApiError(413, "body_too_large", f"request body larger than {limit} bytes")
        raw = bytes(buffer)
    try:
        return model.model_validate_json(raw or b"null")
    except ValidationError as exc:
        raise ApiError(422, "invalid_body", _describe(exc)) from None


def _describe(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors(include_url=False):
        where = ".".join(str(p) for p in err["loc"]) or "body"
        parts.append(f"{where}: {err['msg']}")
    return "; ".join(parts)


def idempotency_key(request: Request) -> str:
    key = request.headers.get("idempotency-key")
    if key is None or not key.strip():
        raise ApiError(400, "idempotency_key_required", "the Idempotency-Key header is required")
    if len(key) > 128 or not key.isascii() or not key.isprintable():
        raise ApiError(
            400, "bad_request", "Idempotency-Key must be 1-128 printable ASCII characters"
        )
    return key


def request_hash(operation: str, body: BaseModel, *extra: str) -> bytes:
    """What makes two requests "the same" for idempotency: the operation, the target and the
    validated body in canonical form (so key order and whitespace do not matter)."""
    canonical = orjson.dumps(body.model_dump(mode="json"), option=orjson.OPT_SORT_KEYS)
    head = "\0".join((operation, *extra)).encode()
    return hashlib.sha256(head + b"\0" + canonical).digest()


def query_int(request: Request, name: str, default: int, low: int, high: int) -> int:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ApiError(422, "invalid_query", f"{name} must be an integer") from None
    if not low <= value <= high:
        raise ApiError(422, "invalid_query", f"{name} must be between {low} and {high}")
    return value


def query_player(request: Request) -> str | None:
    """The optional ``player_id`` query parameter, normalised (422 if it is not a UUID)."""
    raw = request.query_params.get("player_id")
    if not raw:
        return None
    try:
        return str(uuid.UUID(raw))
    except ValueError:
        raise ApiError(422, "invalid_query", "player_id must be a UUID") from None
