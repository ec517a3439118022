"""An ECS pipeline that keeps its records and lock in S3 (moto's server), and the job summary
and annotation a GitHub Actions run gets — the CLI in its own process, as a user runs it."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.e2e

Staging = Any  # conftest's Staging (shared through fixtures, not imports)

BUCKET = "gamebackend-staging-canaryctl"
STATE = f"s3://{BUCKET}/canaryctl/"


def pipeline(staging: Staging, recording: Path, *, window: str, extra: str = "") -> Path:
    rest = f"""\
steps:
  - setWeight: 10
  - analyze: {{}}
  - promote: {{}}
{extra}"""
    return Path(staging.write_pipeline(staging.policy(window), rest))


def wait_for(condition: Any, timeout: float = 60.0) -> Any:
    deadline = time.monotonic() + timeout
    while not (found := condition()):
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.2)
    return found


def test_s3_state_holds_the_lock_and_the_records(staging: Staging, recording: Any) -> None:
    staging.bucket(BUCKET)
    good = recording(staging.tmp / "good.jsonl", 120, canary_error_rate=0.0, canary_slow=0.0)
    extra = f"metrics: {{type: replay, path: {good.name}}}\nstate: {STATE}\n"
    path = pipeline(staging, good, window="60s", extra=extra)
    first = staging.start_deploy(path, "1.1.0")
    try:
        lock = wait_for(lambda: staging.s3_json(BUCKET, "canaryctl/locks/gamebackend.json"))
        holder = lock["holder"]
        key = f"canaryctl/records/{holder}.json"
        wait_for(lambda: (staging.s3_json(BUCKET, key) or {}).get("phase") == "analyzing")

        code, _, stderr = staging.deploy(path, "1.2.0")  # a second release of the service
        assert code == 5, stderr
        [line] = stderr.strip().splitlines()
        assert f"is locked by deployment {holder}" in line and "1.0.0 → 1.1.0, analyzing" in line
        assert {t["externalId"] for t in staging.task_sets()} == {
            "canaryctl/1.0.0",
            "canaryctl/1.1.0",
        }  # the refused deploy changed nothing

        code, outcome, stderr = staging.run("abort", holder, "--state", STATE, "-o", "json")
        assert code == 0, stderr
        assert outcome["status"] == "rolled_back"
        assert first.wait(timeout=60) == 3  # the running deploy saw the abort in S3
    finally:
        if first.poll() is None:
            first.kill()
            first.wait()

    code, rows, stderr = staging.run("history", "--state", STATE, "--output", "json")
    assert code == 0, stderr
    assert [(r["deployment_id"], r["status"]) for r in rows] == [(holder, "rolled_back")]
    assert rows[0]["reason"].startswith("aborted by ")
    staging.extra_env["CANARYCTL_STATE"] = STATE  # the variable works as the flag does
    code, status, stderr = staging.run("status", holder, "--output", "json")
    assert (code, status["status"], status["canary_version"]) == (0, "rolled_back", "1.1.0")
    assert staging.s3_json(BUCKET, "canaryctl/locks/gamebackend.json") is None  # released
    assert not (staging.tmp / "state" / "deployments").exists()  # nothing kept locally
    assert staging.weights() == {staging.blue: 100, staging.green: 0}


def test_github_actions_gets_a_summary_with_charts_and_an_annotation(
    staging: Staging, recording: Any
) -> None:
    summary = staging.tmp / "step-summary.md"
    staging.extra_env.update(GITHUB_STEP_SUMMARY=str(summary), GITHUB_ACTIONS="true")
    good = recording(staging.tmp / "good.jsonl", 120, canary_error_rate=0.0, canary_slow=0.0)
    extra = f"metrics: {{type: replay, path: {good.name}, speed: max}}\n"
    started = time.monotonic()
    code, outcome, stderr = staging.deploy(
        pipeline(staging, good, window="60s", extra=extra), "1.1.0"
    )
    took = time.monotonic() - started

    assert code == 0, stderr
    assert outcome["status"] == "promoted"  # stdout is still one JSON document
    assert took < 45  # a 60 s analysis replayed in virtual time (speed: max)
    assert len(outcome["timeline"]) == 30  # one point per 2 s check
    assert (
        f"::notice title=canary promoted::gamebackend 1.0.0 → 1.1.0 ({outcome['deployment_id']})"
        in stderr
    )
    text = summary.read_text(encoding="utf-8")
    assert text.startswith("## ✅ canaryctl: gamebackend 1.1.0 promoted\n")
    assert (
        f"| `{outcome['deployment_id']}` | gamebackend | 1.0.0 | 1.1.0 | promoted (exit 0) |"
        in text
    )
    blocks = re.findall(r"```mermaid\n(.*?)```", text, re.S)
    assert len(blocks) == 2
    for block in blocks:
        labels = re.search(r"x-axis \"[^\"]+\" \[(.*)\]", block)
        assert labels is not None
        count = len(labels.group(1).split(", "))
        assert count == 30
        lines = re.findall(r"line \[(.*)\]", block)
        assert len(lines) == 3 and all(len(x.split(", ")) == count for x in lines)
    p95_canary = re.findall(r"line \[(.*)\]", blocks[0])[1].split(", ")
    assert set(p95_canary) == {"75"}  # 36 of 40 requests <= 50 ms, 4 within (50, 100]
    assert json.loads(json.dumps(outcome["timeline"][0]))["canary"]["requests"] == 40
