"""A metric source that goes away during analysis never promotes the canary: with the
Prometheus source against a real Prometheus server (Debian's) scraping the sandbox router's
admin ``/metrics``, stopped mid-analysis, the policy's missing-data rule decides — the shipped
policy's default: roll back after 3 checks in a row without data."""

from __future__ import annotations

import time

import pytest

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(240)]


def test_prometheus_stopped_during_analysis_rolls_back_on_missing_data(
    sandbox, cli, versions, prometheus
):
    stable, version = sandbox.settled()["stable"]["version"], versions()
    prom = prometheus(sandbox.admin_hostport)
    prom.scraped()
    sets = {
        "metrics.type": "prometheus",
        "metrics.url": prom.url,
        "metrics.preset": "router",
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
