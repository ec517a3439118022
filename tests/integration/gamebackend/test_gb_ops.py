"""Operations endpoints, the metrics a canary judge reads, and fault injection."""

from __future__ import annotations

import time

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

pytestmark = pytest.mark.integration

BUCKETS = [
    0.005,
    0.01,
    0.025,
    0.05,
    0.075,
    0.1,
    0.15,
    0.2,
    0.25,
    0.3,
    0.4,
    0.5,
    0.75,
    1.0,
    1.5,
    2.5,
    5.0,
    10.0,
]


def samples(text: str, name: str) -> list[tuple[dict[str, str], float]]:
    return [
        (s.labels, s.value)
        for family in text_string_to_metric_families(text)
        for s in family.samples
        if s.name == name
    ]


async def test_health_and_readiness(client) -> None:
    health = await client.get("/healthz")
    assert health.status_code == 200 and health.json()["version"] == "test"
    ready = await client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json() == {"database": "ok", "redis": "ok"}


async def test_readiness_is_503_without_redis(extra_api, tmp_path) -> None:
    api = await extra_api(redis_url=f"unix://{tmp_path}/no-such.sock?db=0")
    async with httpx.AsyncClient(base_url=api.base_url) as http:
        ready = await http.get("/readyz")
        assert ready.status_code == 503
        assert ready.json()["database"] == "ok" and ready.json()["redis"].startswith("error")
        assert (await http.get("/healthz")).status_code == 200


async def test_metrics_count_requests_by_route_class_status_and_version(
    client, new_player, fresh_key
) -> None:
    player = await new_player(coins=3)
    for amount in (-1, -5):  # one 201, one 409
        await client.post(
            "/v1/wallet/transactions",
            json={"currency": "coins", "amount": amount},
            headers={**player.headers, **fresh_key()},
        )
    text = (await client.get("/metrics")).text
    requests = samples(text, "http_requests_total")
    wallet = {
        (labels["method"], labels["status"]): value
        for labels, value in requests
        if labels["route_class"] == "wallet" and labels["version"] == "test"
    }
    assert wallet[("POST", "201")] >= 2 and wallet[("POST", "409")] >= 1  # the credit was a 201 too
    assert {labels["route_class"] for labels, _ in requests} >= {"wallet", "players"}
    buckets = [
        float(labels["le"])
        for labels, _ in samples(text, "http_request_duration_seconds_bucket")
        if labels["route_class"] == "wallet" and labels["le"] != "+Inf"
    ]
    assert buckets == BUCKETS
    outcomes = {
        labels["outcome"]: value
        for labels, value in samples(text, "gamebackend_wallet_transactions_total")
    }
    assert outcomes["applied"] >= 2 and outcomes["insufficient"] >= 1
    drift = [
        value
        for labels, value in samples(text, "gamebackend_ledger_drift")
        if labels["version"] == "test"
    ]
    assert drift == [0.0]  # sampled at start: balances equal the ledger


async def test_error_faults_hit_v1_routes_only(extra_api, client, new_player) -> None:
    player = await new_player()
    api = await extra_api(faults="errors=1.0")
    async with httpx.AsyncClient(base_url=api.base_url) as http:
        faulty = await http.get("/v1/wallet", headers=player.headers)
        assert faulty.status_code == 500 and faulty.json()["error"] == "injected_fault"
        assert (await http.get("/healthz")).status_code == 200
        assert (await http.get("/readyz")).status_code == 200
        metrics = await http.get("/metrics")
        assert metrics.status_code == 200
        counted = [
            value
            for labels, value in samples(metrics.text, "http_requests_total")
            if labels["route_class"] == "wallet" and labels["status"] == "500"
        ]
        assert counted and counted[0] >= 1


async def test_latency_faults_delay_v1_routes(extra_api, new_player) -> None:
    player = await new_player()
    api = await extra_api(faults="latency=300ms@1")
    async with httpx.AsyncClient(base_url=api.base_url) as http:
        started = time.perf_counter()
        assert (await http.get("/v1/wallet", headers=player.headers)).status_code == 200
        assert time.perf_counter() - started >= 0.3
        started = time.perf_counter()
        assert (await http.get("/healthz")).status_code == 200
        assert time.perf_counter() - started < 0.3


async def test_unknown_route_is_a_json_404(client) -> None:
    response = await client.get("/v1/nothing-here")
    assert response.status_code == 404 and response.json()["error"] == "not_found"
    wrong_method = await client.delete("/v1/wallet")
    assert wrong_method.status_code == 405
