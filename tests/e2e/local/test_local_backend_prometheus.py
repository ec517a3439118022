"""Per-route SLOs from the service's own metrics: a real Prometheus (Debian's) scrapes the
sandbox's backend processes themselves — found through the sandbox's HTTP service discovery
(``/v1/targets``), the router is not among them — and the Prometheus source judges the canary
on the backend's ``http_requests_total`` / ``http_request_duration_seconds`` (the default
``gamebackend`` mapping: stable and canary told apart by the ``version`` label).

The policy bounds the whole service loosely and the wallet tightly. A release whose only fault
is on the wallet's routes (``GAMEBACKEND_FAULTS=errors=0.2,routes=wallet``: a fifth of the
wallet's requests fail, about 9% of all) stays inside the service-wide bound and is rolled back
on ``wallet.error_rate``; a good release is promoted.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(240)]

POLICY = """\
apiVersion: canaryctl/v1
kind: Policy
name: wallet-guard
analysis:
  interval: 5s
  window: 10s
  minRequests: 20
  failureLimit: 2
  judge: threshold
  missingData: {action: rollback, limit: 3}
slos:
  all:
    errorRate: {max: 20%}    # the service as a whole: a fault on one route class hides here
  wallet:
    errorRate: {max: 1%}
    latency: {p95: 250ms}
"""


@pytest.fixture(scope="module")
def backend_prometheus(sandbox: Any, session_processes: Any) -> Iterator[Any]:
    """A Prometheus scraping every backend process the sandbox lists, every second."""
    prom = session_processes.prometheus(
        job="gamebackend", sd_url=f"{sandbox.up.control_url}/v1/targets"
    )
    prom.scraped("gamebackend")
    try:
        yield prom
    finally:
        prom.stop()


@pytest.fixture
def sets(backend_prometheus: Any, tmp_path: Path) -> dict[str, str]:
    policy = tmp_path / "wallet-guard.yaml"
    policy.write_text(POLICY)
    return {
        "policy": str(policy),
        "metrics.type": "prometheus",
        "metrics.url": backend_prometheus.url,
        "metrics.selector": 'job="gamebackend"',
        "metrics.delay": "2s",  # scraped every second
        "hooks.duringAnalysis.0.load.rps": "160",  # 16/s on the canary, 7/s of them wallet
    }


def scraped_ports(prom_url: str) -> set[int]:
    """The ports of the targets Prometheus scrapes (healthy or not)."""
    data = httpx.get(f"{prom_url}/api/v1/targets", timeout=10).json()["data"]
    return {int(t["scrapeUrl"].split(":")[2].split("/")[0]) for t in data["activeTargets"]}


def backend_ports(state: dict[str, Any]) -> set[int]:
    sets = [state["stable"], state["canary"], *state["draining"]]
    return {int(p["port"]) for ts in sets if ts for p in ts["processes"]}


def wait_scraped(prom_url: str, ports: set[int], timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not ports <= scraped_ports(prom_url):
        assert time.monotonic() < deadline, (ports, scraped_ports(prom_url))
        time.sleep(0.2)


def _verdicts(doc: dict[str, Any], slo: str) -> list[dict[str, Any]]:
    return [v for v in doc["verdicts"] if v["slo"] == slo]


def test_the_backends_are_scraped_not_the_router(sandbox: Any, backend_prometheus: Any) -> None:
    state = sandbox.state()
    listed = httpx.get(f"{sandbox.up.control_url}/v1/targets", timeout=10).json()
    assert {int(a.rsplit(":", 1)[1]) for g in listed for a in g["targets"]} == backend_ports(state)
    wait_scraped(backend_prometheus.url, backend_ports(state))
    assert int(sandbox.admin_hostport.rsplit(":", 1)[1]) not in scraped_ports(
        backend_prometheus.url
    )


def test_a_fault_on_wallet_routes_only_is_rolled_back_on_a_wallet_slo(
    sandbox: Any, cli: Any, versions: Callable[[], str], sets: dict[str, str]
) -> None:
    stable, version = sandbox.settled()["stable"]["version"], versions()
    fault = "GAMEBACKEND_FAULTS=errors=0.2,routes=wallet"
    out = cli.deploy(version, env=(fault,), sets={**sets, "analysis.window": "20s"})

    assert out.code == 3, out.stderr
    doc = out.doc
    assert doc["status"] == "rolled_back" and doc["cause"] == "slo", doc["reason"]
    assert doc["reason"].startswith("wallet.error_rate "), doc["reason"]
    failed = [v for v in _verdicts(doc, "wallet.error_rate") if v["outcome"] == "fail"]
    assert len(failed) >= 2, _verdicts(doc, "wallet.error_rate")
    for v in failed:
        assert v["canary_requests"] >= 20 and v["evidence"]["canary"]["errors"] > 0, v
        assert v["measured"] > v["threshold"] == 0.01, v
    # The service-wide bound saw the same requests and let them through.
    service = _verdicts(doc, "all.error_rate")
    assert service and all(v["outcome"] != "fail" for v in service), service
    assert all(v["measured"] > 0 for v in service if v["outcome"] == "pass"), service
    config = cli.record(doc["deployment_id"])["config"]
    assert "http_requests_total" in str(config), config  # judged on the backend's series
    sandbox.assert_only(stable)


def test_a_good_release_is_promoted_on_the_backends_own_series(
    sandbox: Any, cli: Any, versions: Callable[[], str], sets: dict[str, str]
) -> None:
    version = versions()
    out = cli.deploy(version, sets={**sets, "analysis.window": "10s"})

    assert out.code == 0, out.stderr
    doc = out.doc
    assert doc["status"] == "promoted", doc["reason"]
    finals = {v["slo"]: v for v in doc["verdicts"] if v["check"] == "final"}
    for slo in ("all.error_rate", "wallet.error_rate", "wallet.p95"):
        assert finals[slo]["outcome"] == "pass", finals[slo]
        assert finals[slo]["canary_requests"] >= 20, finals[slo]
    assert finals["wallet.p95"]["measured"] < 0.25, finals["wallet.p95"]
    sandbox.assert_only(version)
