"""The three outcomes of a canary release on the local platform, through the installed CLI,
judged by the fixed-window policy (the shipped default's verdicts are tested in
test_local_sequential.py):
a good version promoted, a version answering 5% HTTP 500 rolled back on its error rate, a
version adding 400 ms to 30% of its requests rolled back on p95 (``make demo``'s releases,
with a 10 s window checked every 5 s — 20 s for the bad ones, room for the policy's 2 failed
checks — and the pipeline's own load hook for traffic).

Each test checks what a user would look at: the exit code, the JSON document, the weights
the router applies, which versions still run and serve, and the record ``canaryctl status``
shows afterwards.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(240)]

# The shipped policy's SLOs that must hold for a promotion (required: true), with their
# minimum number of canary requests (policies/gamebackend-threshold.yaml).
REQUIRED = {
    "all.error_rate": 30,
    "all.p95": 30,
    "all.relative.p95": 30,
    "all.relative.error_rate": 30,
    "wallet.error_rate": 20,
    "wallet.p95": 20,
}


def _seconds(step: dict[str, Any]) -> float:
    start, end = (datetime.fromisoformat(step[k]) for k in ("start", "end"))
    return (end - start).total_seconds()


def _check_record(cli: Any, deployment_id: str, phase: str) -> None:
    shown = cli.control("status", deployment_id)
    assert shown.code == 0, shown.stderr
    assert shown.doc["phase"] == phase and shown.doc["status"] == phase, shown.doc
    assert cli.record(deployment_id)["engine"]["exited"]  # nobody is left in charge


def test_a_good_release_is_promoted_and_replaces_the_stable_version(sandbox, cli, versions):
    stable, version = sandbox.settled()["stable"]["version"], versions()
    old = sandbox.processes("stable")
    assert len(old) == 2, old
    out = cli.deploy(version)

    assert out.code == 0, out.stderr
    doc = out.doc
    assert doc["status"] == "promoted" and doc["exit_code"] == 0, doc["reason"]
    assert (doc["service"], doc["stable_version"], doc["canary_version"]) == (
        "gamebackend",
        stable,
        version,
    )
    assert doc["weights"] == {"stable": 0, "canary": 100}
    assert [(s["kind"], s["weight"]) for s in doc["steps"]] == [
        ("set_weight", 10),
        ("analyze", 10),
        ("promote", None),
    ]
    assert all(s["start"] and s["end"] for s in doc["steps"]), doc["steps"]
    assert _seconds(doc["steps"][1]) >= 9.5  # the whole (10 s) window was watched
    finals = {v["slo"]: v for v in doc["verdicts"] if v["check"] == "final"}
    for slo, minimum in REQUIRED.items():
        v = finals[slo]
        assert v["outcome"] == "pass", v
        assert v["measured"] <= v["threshold"] and v["canary_requests"] >= minimum, v
    # Only the new version runs and serves; the old task set's processes are gone.
    sandbox.assert_only(version)
    assert sandbox.still_alive(old) == [], old
    _check_record(cli, doc["deployment_id"], "promoted")


@pytest.mark.parametrize(
    ("fault", "kind"),
    [
        pytest.param("errors=0.05", "error_rate", id="errors"),
        pytest.param("latency=400ms@0.3", "p95", id="latency"),
    ],
)
def test_a_bad_release_is_rolled_back_on_the_slo_it_breaks(sandbox, cli, versions, fault, kind):
    stable, version = sandbox.settled()["stable"]["version"], versions()
    sets = {"analysis.window": "20s"}  # a cap: it ends at the 2nd failed check
    out = cli.deploy(version, env=(f"GAMEBACKEND_FAULTS={fault}",), sets=sets)

    assert out.code == 3, out.stderr
    doc = out.doc
    assert doc["status"] == "rolled_back" and doc["exit_code"] == 3, doc["reason"]
    assert doc["cause"] == "slo"
    assert (doc["stable_version"], doc["canary_version"]) == (stable, version)
    assert doc["weights"] == {"stable": 100, "canary": 0}
    # The deciding SLO is named in the reason, and is one of the kind the fault breaks.
    slo = doc["reason"].split(" ", 1)[0]
    assert slo.endswith(kind), doc["reason"]
    failed = [v for v in doc["verdicts"] if v["slo"] == slo and v["outcome"] == "fail"]
    assert failed, doc["verdicts"]
    for v in failed:
        assert v["target"] == "canary" and v["measured"] > v["threshold"], v
        assert v["canary_requests"] >= REQUIRED.get(slo, 20), v
        if kind == "error_rate":
            assert v["evidence"]["canary"]["errors"] > 0, v
    counters = {s["slo"]: s for s in doc["slos"]}
    assert counters[slo]["failures"] >= 1
    steps = doc["steps"]
    assert steps[1]["kind"] == "analyze" and steps[1]["end"], steps
    assert steps[2]["start"] is None, "a rolled-back canary must never reach the promote step"
    # Only the stable version runs and serves; the canary's processes are gone.
    sandbox.assert_only(stable)
    _check_record(cli, doc["deployment_id"], "rolled_back")
