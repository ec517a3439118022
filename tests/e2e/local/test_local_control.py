"""Nobody in charge, and two people at once, on the local platform (DESIGN §4):

- a deploy killed with SIGKILL while it analyzes leaves traffic split and the record at
  ``analyzing``; ``canaryctl resume ID`` finishes the deployment and the weights, the running
  task sets and the record agree afterwards;
- a second deploy of the same service is refused with exit 5 naming the holder, and
  ``canaryctl abort`` of the first rolls it back (its process exits 3, as documented for an
  aborted deployment in docs/pipelines.md).
"""

from __future__ import annotations

import os
import signal
import time
from collections import Counter

import pytest

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(240)]


def _analyzing(record: dict[str, object]) -> bool:
    return record["phase"] == "analyzing"


def test_a_deploy_killed_while_analyzing_is_finished_by_resume(sandbox, cli, versions):
    stable, version = sandbox.settled()["stable"]["version"], versions()
    old = sandbox.processes("stable")
    proc = cli.start_deploy(version)
    record = cli.wait_record(proc, _analyzing)
    deployment_id = record["id"]
    sandbox.wait_canary_traffic()  # into the window, with the load hook running
    os.killpg(proc.pid, signal.SIGKILL)
    proc.communicate(timeout=10)
    killed_at = time.time()
    assert proc.returncode == -signal.SIGKILL

    # Traffic stays split as it was, with the record saying so and nobody running it.
    shown = cli.control("status", deployment_id)
    assert shown.code == 0, shown.stderr
    assert (shown.doc["phase"], shown.doc["status"]) == ("analyzing", "running")
    assert shown.doc["weights"] == {"stable": 90, "canary": 10}
    state = sandbox.status()
    assert state["weights"] == {"stable": 90, "canary": 10}
    assert state["canary"]["version"] == version and state["canary"]["healthy"]
    assert sandbox.running_versions() == Counter({stable: 2, version: 2})
    served = sandbox.served_versions(100)
    assert set(served) == {stable, version} and 5 <= served[version] <= 15, served
    # The lock still names the deployment, and says how to finish it.
    refused = cli.deploy(versions(), timeout=60)
    assert refused.code == 5, refused.stderr
    assert deployment_id in refused.stderr and f"canaryctl resume {deployment_id}" in refused.stderr

    resumed = cli.control("resume", deployment_id)
    assert resumed.code == 0, resumed.stderr
    doc = resumed.doc
    assert doc["status"] == "promoted" and doc["deployment_id"] == deployment_id, doc["reason"]
    assert (doc["stable_version"], doc["canary_version"]) == (stable, version)
    # The new engine judged a whole fresh window (10 s), begun after the crash.
    final = cli.record(deployment_id)
    analyze = final["steps"][1]
    assert analyze["start"] > killed_at and analyze["end"] - analyze["start"] >= 9.5, analyze
    assert any("analysis restarted" in e["message"] for e in final["events"])
    # Weights, task sets and the record agree: only the canary's version runs, at 100%.
    sandbox.assert_only(version)
    assert sandbox.still_alive(old) == []
    assert final["phase"] == "promoted" and final["weights"] == {"stable": 0, "canary": 100}
    assert cli.control("status", deployment_id).doc["phase"] == "promoted"


def test_a_second_deploy_is_refused_and_abort_rolls_the_first_back(sandbox, cli, versions):
    stable, first = sandbox.settled()["stable"]["version"], versions()
    proc = cli.start_deploy(first, sets={"analysis.window": "60s"})
    holder = cli.wait_record(proc, _analyzing)["id"]

    second = cli.deploy(versions(), timeout=60)
    assert second.code == 5, second.stderr
    assert holder in second.stderr and "locked" in second.stderr, second.stderr
    assert second.stderr.count("\n") == 1 and "Traceback" not in second.stderr
    # The refused deploy changed nothing: the first one's canary still takes its 10%.
    assert sandbox.state()["canary"]["version"] == first
    assert sandbox.state()["weights"] == {"stable": 90, "canary": 10}

    aborted = cli.control("abort", holder)
    assert aborted.code == 0, aborted.stderr
    assert aborted.doc["status"] == "rolled_back"
    out = cli.finish(proc, timeout=60)
    assert out.code == 3, out.stderr
    doc = out.doc
    assert (doc["status"], doc["cause"]) == ("rolled_back", "aborted"), doc
    assert doc["reason"].startswith("aborted by"), doc["reason"]
    assert doc["weights"] == {"stable": 100, "canary": 0}
    assert [r["action"] for r in doc["requests"]] == ["abort"]
    sandbox.assert_only(stable)
    assert cli.control("status", holder).doc["phase"] == "rolled_back"
