"""Things the backend shares with canaryctl by copy (it must not import canaryctl), and the
request identity used by idempotency."""

from __future__ import annotations

import pytest

from canaryctl.metrics import routes
from gamebackend.faults import ROUTE_CLASSES
from gamebackend.observability import LATENCY_BUCKETS, route_class
from gamebackend.schemas_common import Body, Money
from gamebackend.web import request_hash


def test_latency_buckets_are_canaryctls() -> None:
    assert LATENCY_BUCKETS == routes.LATENCY_BUCKETS


def test_route_class_names_are_canaryctls() -> None:
    assert ROUTE_CLASSES == routes.ROUTE_CLASSES


@pytest.mark.parametrize(
    "path",
    ["/v1/wallet", "/v1/wallet/ledger", "/v1/pools/jackpot", "/v1/store/purchase", "/v1/inventory",
     "/v1/leaderboards/x/records", "/v1/players", "/v1/matchmaking/q", "/v1/ws", "/healthz",
     "/metrics", "/v1/walletx", "/"],
)  # fmt: skip
def test_route_classes_agree_with_the_router(path: str) -> None:
    assert route_class(path) == routes.route_class(path)


class Spend(Body):
    currency: str
    amount: Money


def test_request_identity_ignores_form_but_not_content() -> None:
    one = Spend.model_validate_json(b'{"currency": "coins", "amount": -5}')
    same = Spend.model_validate_json(b'{ "amount":-5,"currency":"coins" }')
    other = Spend.model_validate_json(b'{"currency": "coins", "amount": -6}')
    assert request_hash("op", one, "p1") == request_hash("op", same, "p1")
    assert request_hash("op", one, "p1") != request_hash("op", other, "p1")
    assert request_hash("op", one, "p1") != request_hash("op2", one, "p1")
    assert request_hash("op", one, "p1") != request_hash("op", one, "p2")
