"""HTTP helpers shared by the routers: JSON answers, body reading and validation, headers."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import MutableMapping
from typing import Any, TypeVar

import orjson
from pydantic import BaseModel, ValidationError
from starlette.datastructures import Headers
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response

from gamebackend.errors import ApiError

__all__ = [
    "FastRequest",
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


class _IndexedHeaders(Headers):
    """Request headers with dict lookups (the first value of a name, as ``Headers`` answers):
    a write reads four or five headers, and ``Headers`` scans the whole list for each."""

    def __init__(self, scope: MutableMapping[str, Any]) -> None:
        super().__init__(scope=scope)
        self._first = dict(reversed(self._list))

    def __getitem__(self, key: str) -> str:
        value = self._first.get(key.lower().encode("latin-1"))
        if value is None:
            raise KeyError(key)
        return value.decode("latin-1")

    def get(self, key: str, default: Any = None) -> Any:
        value = self._first.get(key.lower().encode("latin-1"))
        return default if value is None else value.decode("latin-1")

    def __contains__(self, key: Any) -> bool:
        return key.lower().encode("latin-1") in self._first


class FastRequest(Request):
    """A Request whose headers are indexed once (see ``app.HotRoutes``)."""

    @property
    def headers(self) -> Headers:
        if not hasattr(self, "_headers"):
            self._headers = _IndexedHeaders(self.scope)
        return self._headers


class _RawJson(Response):
    """A JSON answer already rendered, with the raw headers Starlette's Response would build
    (extra headers, content-length, content-type), minus its generic header handling."""

    media_type = _JSON

    def __init__(self, body: bytes, status: int, extra: list[tuple[bytes, bytes]]) -> None:
        self.status_code = status
        self.background = None
        self.body = body
        self.raw_headers = [*extra, (b"content-length", b"%d" % len(body)), _CONTENT_TYPE]


_CONTENT_TYPE = (b"content-type", _JSON.encode())


def json_response(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(orjson.dumps(data), status_code=status, media_type=_JSON, headers=headers)


def raw_json_response(
    body: str | bytes, status: int = 200, headers: dict[str, str] | None = None
) -> Response:
    """An answer whose JSON was already rendered (by PostgreSQL, for stored responses)."""
    extra = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in (headers or {}).items()]
    return _RawJson(body.encode() if isinstance(body, str) else body, status, extra)


def error_response(exc: ApiError) -> Response:
    return json_response({"error": exc.code, "message": exc.message}, status=exc.status)


async def read_body(request: Request, model: type[M], limit: int) -> M:
    """Read at most ``limit`` bytes (413 beyond) and validate them against ``model`` (422)."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise ApiError(413, "body_too_large", f"request body larger than {limit} bytes")
    raw = await _receive_body(request, limit)
    try:
        return model.model_validate_json(raw or b"null")
    except ValidationError as exc:
        raise ApiError(422, "invalid_body", _describe(exc)) from None


async def _receive_body(request: Request, limit: int) -> bytes:
    """The body from the ASGI messages, counted as it arrives (a chunked body declares no
    length). One message is the usual case: its bytes are used as they are."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await request.receive()
        if message["type"] == "http.disconnect":
            raise ClientDisconnect()
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise ApiError(413, "body_too_large", f"request body larger than {limit} bytes")
        chunks.append(chunk)
        if not message.get("more_body", False):
            return chunks[0] if len(chunks) == 1 else b"".join(chunks)


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
