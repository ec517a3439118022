"""A metric source that goes away during analysis never promotes the canary: with the
Prometheus source against a real Prometheus server (Debian's) scraping the sandbox router's
admin ``/metrics``, stopped mid-analysis, the policy's missing-data rule decides — the shipped
policy's default: roll back after 3 checks in a row without data."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(240)]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class PrometheusServer:
    url: str
    proc: subprocess.Popen[bytes]

    def stop(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(5)

    def scraped(self, job: str = "router", timeout: float = 30.0) -> None:
        """Wait until the target has been scraped successfully."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with contextlib.suppress(httpx.HTTPError):
                resp = httpx.get(f"{self.url}/api/v1/query", params={"query": f'up{{job="{job}"}}'})
                if any(r["value"][1] == "1" for r in resp.json()["data"]["result"]):
                    return
            time.sleep(0.2)
        raise AssertionError(f"Prometheus did not scrape {job} within {timeout}s")


@pytest.fixture
def prometheus(tmp_path: Path) -> Iterator[Callable[[str], PrometheusServer]]:
    """``start("127.0.0.1:PORT")`` → Debian's Prometheus scraping that /metrics every second."""
    binary = shutil.which("prometheus") or "/usr/bin/prometheus"
    assert Path(binary).exists(), "Prometheus is needed: run scripts/system-deps.sh"
    servers: list[PrometheusServer] = []

    def start(target: str) -> PrometheusServer:
        port = _free_port()
        work = tmp_path / f"prom-{port}"
        work.mkdir()
        config = work / "prometheus.yml"
        config.write_text(
            "global: {scrape_interval: 1s, evaluation_interval: 1s}\n"
            "scrape_configs:\n"
            f"  - job_name: router\n    static_configs: [{{targets: ['{target}']}}]\n"
        )
        with open(work / "prometheus.log", "wb") as log:
            proc = subprocess.Popen(
                [
                    binary,
                    f"--config.file={config}",
                    f"--web.listen-address=127.0.0.1:{port}",
                    f"--storage.tsdb.path={work / 'data'}",
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        server = PrometheusServer(f"http://127.0.0.1:{port}", proc)
        servers.append(server)
        deadline = time.monotonic() + 60
        while True:
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{server.url}/-/ready", timeout=1).status_code == 200:
                    return server
            assert proc.poll() is None, (work / "prometheus.log").read_text()[-2000:]
            assert time.monotonic() < deadline, "Prometheus did not become ready"
            time.sleep(0.1)

    yield start
    for server in servers:
        if server.proc.poll() is None:
            server.stop()


def test_prometheus_stopped_during_analysis_rolls_back_on_missing_data(
    sandbox, cli, versions, prometheus
):
    stable, version = sandbox.settled()["stable"]["version"], versions()
    prom = prometheus(sandbox.admin_hostport)
    prom.scraped()
    sets = {
        "metrics.type": "prometheus",
        "metrics.url": prom.url,
        "analysis.window": "60s",
        "analysis.interval": "2s",
    }
    proc = cli.start_deploy(version, sets=sets)

    def judged_with_data(record: dict[str, object]) -> bool:
        verdicts = record["verdicts"]
        assert isinstance(verdicts, list)
        return any(v["slo"] == "all.error_rate" and v["canary_requests"] > 0 for v in verdicts)

    # The source works (a check saw canary requests through Prometheus); then it goes away.
    cli.wait_record(proc, judged_with_data)
    stopping_at = time.time()
    prom.stop()
    out = cli.finish(proc, timeout=90)

    assert out.code == 3, out.stderr
    doc = out.doc
    assert doc["status"] == "rolled_back" and doc["cause"] == "missing_data", doc["reason"]
    assert "no data for 3 checks in a row (limit 3)" in doc["reason"], doc["reason"]
    assert "unreachable" in doc["reason"], doc["reason"]
    assert doc["steps"][2]["start"] is None  # never promoted
    record = cli.record(doc["deployment_id"])
    slo = doc["reason"].split(" ", 1)[0]
    checks = [v for v in record["verdicts"] if v["slo"] == slo]
    # The deciding checks are the last three, without data, from the stop on (a check fetches
    # just after its due time, so one due up to an interval before may already miss it); the
    # check before them had data.
    assert [v["outcome"] for v in checks[-3:]] == ["error"] * 3, checks[-3:]
    assert all(v["t"] >= stopping_at - 2.0 for v in checks[-3:]), (stopping_at, checks[-3:])
    assert checks[-4]["outcome"] != "error" and checks[-4]["canary_requests"] > 0, checks[-4]
    assert record["finished_at"] - stopping_at < 30
    sandbox.assert_only(stable)
    assert cli.control("status", doc["deployment_id"]).doc["phase"] == "rolled_back"
