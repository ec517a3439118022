"""deploy / status / history / explain / abort / promote / pause / resume through the real CLI
entry point, with the platform and metrics replaced by the in-memory doubles (real clock,
a 2-second window checked every second)."""

from __future__ import annotations

import json
import subprocess
import threading
import time
from pathlib import Path

import pytest

from canaryctl.cli import runtime
from canaryctl.cli.main import main
from canaryctl.metrics.base import Target
from canaryctl.platforms.base import Weights
from canaryctl.state.file import FileStateStore

PIPELINE = """\
apiVersion: canaryctl/v1
kind: Pipeline
service: gamebackend
policy: policy.yaml
platform: {type: local}
metrics: {type: embedded}
analysis: {window: 2s, interval: 1s}
steps:
  - setWeight: 10
  - analyze: {}
  - promote: {}
"""
POLICY = """\
apiVersion: canaryctl/v1
kind: Policy
analysis: {minRequests: 20, failureLimit: 1, judge: threshold}
slos:
  all:
    errorRate: {max: 1%}
    latency: {p95: 250ms}
"""


@pytest.fixture
def cli(tmp_path, monkeypatch, capsys, kit):
    """Runs canaryctl in-process against shared doubles; returns (exit code, stdout, stderr)."""
    (tmp_path / "p.yaml").write_text(PIPELINE)
    (tmp_path / "policy.yaml").write_text(POLICY)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("CANARYCTL_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
    platform, source = kit.MemoryPlatform(), kit.ScriptedSource()
    source.scripts[Target.CANARY] = kit.traffic(20.0)  # 20 canary requests per 1 s check
    monkeypatch.setattr(runtime, "_wire", lambda record: (platform, source))

    def run(*argv: str) -> tuple[int, str, str]:
        with pytest.raises(SystemExit) as info:
            main(list(argv))
        out, err = capsys.readouterr()
        return int(info.value.code or 0), out, err

    run.platform, run.source = platform, source  # type: ignore[attr-defined]
    run.store = FileStateStore(tmp_path / "state")  # type: ignore[attr-defined]
    return run


DEPLOY = ("deploy", "--pipeline", "p.yaml", "--version", "v2")


def _objects(out: str) -> list[dict]:
    """Every JSON object printed (a command and the deploy it controls share stdout here)."""
    decoder, found, i = json.JSONDecoder(), [], 0
    while i < len(out):
        if out[i].isspace():
            i += 1
            continue
        obj, i = decoder.raw_decode(out, i)
        found.append(obj)
    return found


def _dead_pid() -> int:
    proc = subprocess.Popen(["true"])
    proc.wait(10)
    return proc.pid


def _crash_mid_analysis(cli, kit) -> dict:
    """A deploy whose process dies while analyzing (the record says who ran it: a dead pid)."""
    cli.source.crash_on_call = 3
    with pytest.raises(kit.Crash):
        main(list(DEPLOY))
    [record] = cli.store.list()
    assert record["phase"] == "analyzing"
    record["engine"]["pid"] = _dead_pid()
    cli.store.save(record)
    return record


def test_deploy_promotes_and_prints_one_json_object(cli, tmp_path, monkeypatch):
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(tmp_path / "summary.md"))
    code, out, err = cli(*DEPLOY, "--env", "GAMEBACKEND_FAULTS=none")

    assert code == 0, err
    report = json.loads(out)  # stdout is one JSON object and nothing else
    assert report["status"] == "promoted" and report["exit_code"] == 0
    assert (report["service"], report["stable_version"], report["canary_version"]) == (
        "gamebackend", "v1", "v2")  # fmt: skip
    assert [(s["kind"], s["weight"]) for s in report["steps"]] == [
        ("set_weight", 10), ("analyze", 10), ("promote", None)]  # fmt: skip
    assert all(s["start"] and s["end"] for s in report["steps"][:2])
    verdict = report["verdicts"][0]
    assert {"slo", "route_class", "target", "measured", "threshold", "outcome",
            "canary_requests", "stable_requests", "evidence"} <= set(verdict)  # fmt: skip
    assert verdict["route_class"] == "all" and verdict["target"] == "canary"
    assert {v["outcome"] for v in report["verdicts"]} == {"pass"}
    assert 2.0 <= report["duration_s"] < 30
    assert cli.platform.stable.version == "v2" and cli.platform.env_seen == {
        "GAMEBACKEND_FAULTS": "none"}  # fmt: skip
    assert "canaryctl: gamebackend v2 promoted" in (tmp_path / "summary.md").read_text()


def test_bad_canary_is_rolled_back_with_exit_3_and_explained(cli, kit):
    cli.source.scripts[Target.CANARY] = kit.traffic(20.0, error_rate=0.2)
    code, out, _ = cli(*DEPLOY)
    report = json.loads(out)
    assert code == 3 and report["status"] == "rolled_back"
    assert cli.platform.canary is None and cli.platform.weights == Weights(100, 0)

    code, text, _ = cli("explain", report["deployment_id"], "--output", "text")
    assert code == 0
    assert "v1 → v2 was ROLLED BACK" in text
    assert "Why: all.error_rate failed 1 checks (limit 1)" in text
    assert "canary 20% over 20 requests > bound 1%" in text

    code, out, _ = cli("history")
    rows = json.loads(out)
    assert [(r["deployment_id"], r["status"]) for r in rows] == [
        (report["deployment_id"], "rolled_back")]  # fmt: skip

    code, out, _ = cli("status")  # the latest
    assert json.loads(out)["status"] == "rolled_back"


def test_a_second_deploy_while_one_runs_exits_5_naming_the_holder(cli):
    cli.store.save({"id": "gamebackend-running", "service": "gamebackend", "phase": "analyzing",
                    "canary_version": "v9", "stable_version": "v1", "created_at": 1.0,
                    "engine": {"pid": __import__("os").getpid(),
                               "host": __import__("socket").gethostname()}})  # fmt: skip
    cli.store.acquire("gamebackend", "gamebackend-running")
    code, out, err = cli(*DEPLOY)
    assert code == 5 and out == ""
    [line] = err.strip().splitlines()
    assert "locked by deployment gamebackend-running" in line and "(v1 → v9, analyzing)" in line
    assert cli.platform.calls == []


def test_a_lock_left_by_a_dead_process_says_how_to_finish_it(cli, kit):
    record = _crash_mid_analysis(cli, kit)
    code, _, err = cli("deploy", "--pipeline", "p.yaml", "--version", "v3")
    assert code == 5
    assert f"no process is running it: `canaryctl resume {record['id']}`" in err


def test_rerunning_the_same_deploy_after_a_crash_converges(cli, kit):
    record = _crash_mid_analysis(cli, kit)
    code, out, err = cli(*DEPLOY)
    assert code == 0 and f"continuing deployment {record['id']}" in err
    assert json.loads(out)["deployment_id"] == record["id"]
    assert cli.platform.stable.version == "v2" and cli.platform.canary is None


def test_abort_with_no_engine_alive_rolls_back_itself(cli, kit):
    record = _crash_mid_analysis(cli, kit)
    assert cli.platform.weights == Weights(90, 10)
    code, out, _ = cli("abort", record["id"])
    report = json.loads(out)
    assert code == 0 and report["status"] == "rolled_back" and report["cause"] == "aborted"
    assert cli.platform.canary is None and cli.platform.weights == Weights(100, 0)
    assert cli.store.holder("gamebackend") is None

    code, _, err = cli("promote", record["id"])
    assert code == 2 and "already rolled back" in err


def test_promote_with_no_engine_alive_promotes_itself(cli, kit):
    record = _crash_mid_analysis(cli, kit)
    code, out, _ = cli("promote", record["id"])
    assert code == 0 and json.loads(out)["status"] == "promoted"
    assert cli.platform.stable.version == "v2"


def test_resume_after_a_crash_finishes_the_deployment(cli, kit):
    record = _crash_mid_analysis(cli, kit)
    code, out, _ = cli("resume", record["id"])
    assert code == 0 and json.loads(out)["status"] == "promoted"
    assert cli.platform.stable.version == "v2" and cli.platform.weights == Weights(100, 0)


def _in_thread(*argv: str) -> tuple[threading.Thread, dict]:
    result: dict = {}

    def run() -> None:
        with pytest.raises(SystemExit) as info:
            main(list(argv))
        result["code"] = info.value.code

    worker = threading.Thread(target=run)
    worker.start()
    return worker, result


def _wait_phase(cli, phase: str, n_events: int = 0) -> str:
    deadline = time.monotonic() + 20
    while True:
        records = cli.store.list()
        if records and records[0]["phase"] == phase and len(records[0]["events"]) > n_events:
            return records[0]["id"]
        assert time.monotonic() < deadline, records and records[0]["phase"]
        time.sleep(0.05)


def test_pause_resume_and_promote_a_running_deploy(cli, tmp_path):
    (tmp_path / "p.yaml").write_text(PIPELINE.replace("window: 2s", "window: 60s"))
    worker, result = _in_thread(*DEPLOY)
    deployment_id = _wait_phase(cli, "analyzing")

    code, _, _ = cli("pause", deployment_id)  # the running engine acts within a second
    worker.join(20)
    assert code == 0 and result["code"] == 4  # deploy exits 4: a person must act
    record = cli.store.load(deployment_id)
    assert record["phase"] == "paused" and record["reason"].startswith("paused by ")
    assert cli.platform.weights == Weights(90, 10)  # traffic stays where it was
    assert cli.store.holder("gamebackend") == deployment_id

    worker, result = _in_thread("resume", deployment_id)
    _wait_phase(cli, "analyzing", n_events=len(record["events"]))
    code, out, _ = cli("promote", deployment_id)  # skip the rest of the restarted window
    worker.join(20)
    assert code == 0 and result["code"] == 0
    assert [o["status"] for o in _objects(out)] == ["promoted", "promoted"]
    assert cli.platform.stable.version == "v2"


def test_abort_of_a_running_deploy_is_carried_out_by_its_engine(cli, tmp_path):
    (tmp_path / "p.yaml").write_text(PIPELINE.replace("window: 2s", "window: 60s"))
    worker, result = _in_thread(*DEPLOY)
    deployment_id = _wait_phase(cli, "analyzing")
    started = time.monotonic()
    code, out, _ = cli("abort", deployment_id)
    worker.join(20)
    assert code == 0 and result["code"] == 3  # the deploy reports its rollback
    assert [o["status"] for o in _objects(out)] == ["rolled_back", "rolled_back"]
    assert time.monotonic() - started < 10
    record = cli.store.load(deployment_id)
    assert record["outcome"]["cause"] == "aborted"
    assert [r["result"] for r in record["requests"]] == ["rolling back"]
    assert cli.platform.canary is None


def test_status_of_nothing_and_history_of_nothing(cli):
    code, _, err = cli("status")
    assert code == 2 and "no deployments" in err
    code, out, _ = cli("history")
    assert code == 0 and json.loads(out) == []


def test_text_output_when_asked(cli):
    code, out, _ = cli(*DEPLOY, "--output", "text", "--yes")
    assert code == 0
    assert "was PROMOTED" in out and "all.error_rate" in out
    assert Path(".canaryctl").exists() is False  # the state went to CANARYCTL_STATE_DIR
