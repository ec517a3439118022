"""``canaryctl deploy --task-definition FILE --image IMAGE`` on ECS over moto's server: the
revision registered for the canary is the repository's file (sidecar, secret, memory kept),
with the image given; the record, the JSON output and ``explain`` carry its ARN. Deploying
the stable version again changes nothing and succeeds."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.e2e

Staging = Any  # conftest's Staging (shared through fixtures, not imports)

POLICY = """\
apiVersion: canaryctl/v1
kind: Policy
analysis:
  interval: 2s
  window: 4s
  minRequests: 20
  failureLimit: 1
  judge: threshold
slos:
  all:
    errorRate: {max: 1%}
    latency: {p95: 250ms}
"""
SECRET = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:gamebackend/token-AbCdEf"


def pipeline(staging: Staging, recording: Path) -> Path:
    rest = f"""\
metrics: {{type: replay, path: {recording.name}}}
steps:
  - setWeight: 10
  - analyze: {{}}
  - promote: {{}}
"""
    return Path(staging.write_pipeline(POLICY, rest))


def release_file(staging: Staging) -> Path:
    """What a repository keeps: `aws ecs describe-task-definition --include TAGS` of the
    stable revision (read-only fields and all), edited: more memory, a secret, a sidecar."""
    ecs = staging.client("ecs")
    described = ecs.describe_task_definition(
        taskDefinition=staging.world.task_definition, include=["TAGS"]
    )
    described.pop("ResponseMetadata")
    td = described["taskDefinition"]
    td["memory"] = "1024"
    app = td["containerDefinitions"][0]
    app["memory"] = 768
    app["secrets"] = [{"name": "GAMEBACKEND_SECRET", "valueFrom": SECRET}]
    sidecar = {"name": "otel", "image": "otel/collector:0.111", "memory": 256, "essential": False}
    td["containerDefinitions"].append(sidecar)
    described["tags"] = [{"key": "team", "value": "games"}]
    path = staging.tmp / "task-definition.json"
    path.write_text(json.dumps(described, indent=2, default=str), encoding="utf-8")
    return path


def test_the_file_is_registered_with_the_image_and_deploying_it_again_is_unchanged(
    staging: Staging, recording: Any
) -> None:
    good = recording(staging.tmp / "good.jsonl", 60, canary_error_rate=0.0, canary_slow=0.0)
    path, td_file = pipeline(staging, good), release_file(staging)
    image = f"{staging.world.image_repo}:1.1.0-rc"
    args = ("--task-definition", str(td_file), "--image", image)

    code, outcome, stderr = staging.run(*_deploy(path, "1.1.0", *args))

    assert code == 0, stderr
    assert outcome["status"] == "promoted"
    [primary] = staging.task_sets()
    arn = primary["taskDefinition"]
    assert outcome["task_definition_arn"] == arn != staging.world.task_definition
    ecs = staging.client("ecs")
    registered = ecs.describe_task_definition(taskDefinition=arn, include=["TAGS"])
    td = registered["taskDefinition"]
    assert td["memory"] == "1024"
    app, sidecar = td["containerDefinitions"]
    assert (app["image"], app["memory"]) == (image, 768)
    assert app["secrets"] == [{"name": "GAMEBACKEND_SECRET", "valueFrom": SECRET}]
    assert (sidecar["name"], sidecar["image"]) == ("otel", "otel/collector:0.111")
    tags = {t["key"]: t["value"] for t in registered["tags"]}
    assert tags["team"] == "games" and tags["canaryctl:version"] == "1.1.0"
    [record] = staging.records()
    assert record["task_definition_arn"] == arn
    assert record["release"]["definition"]["containerDefinitions"][1]["name"] == "otel"
    code, facts, stderr = staging.run("explain", record["id"], "--output", "json")
    assert code == 0, stderr
    assert facts["task_definition_arn"] == arn
    assert f"Task definition: {arn}." in facts["explanation"]

    again, outcome, stderr = staging.run(*_deploy(path, "1.1.0", *args))

    assert again == 0, stderr
    assert (outcome["status"], outcome["exit_code"]) == ("unchanged", 0)
    assert outcome["reason"] == "version 1.1.0 is already the stable version; nothing changed"
    assert [ts["taskSetArn"] for ts in staging.task_sets()] == [primary["taskSetArn"]]
    families = ecs.list_task_definitions(familyPrefix=td["family"])["taskDefinitionArns"]
    assert len(families) == 2  # the first revision and the canary's: nothing registered again


def test_a_bad_file_is_refused_before_any_aws_call(staging: Staging, recording: Any) -> None:
    good = recording(staging.tmp / "good.jsonl", 10, canary_error_rate=0.0, canary_slow=0.0)
    path, td_file = pipeline(staging, good), release_file(staging)
    doc = json.loads(td_file.read_text())
    bad = copy.deepcopy(doc)
    bad["taskDefinition"]["containerDefinitions"][1]["memory"] = "256"
    td_file.write_text(json.dumps(bad))
    log = staging.throttle_every_third_call()  # logs every AWS call the process makes

    code, _, stderr = staging.run(*_deploy(path, "1.1.0", "--task-definition", str(td_file)))

    assert code == 2
    assert stderr.strip() == (
        f'error: {td_file}: containerDefinitions[1].memory: expected a number (integer), got "256"'
    )
    assert not log.exists()  # not one AWS call
    assert staging.records() == []


def _deploy(pipeline: Path, version: str, *extra: str) -> list[str]:
    return ["deploy", "-p", str(pipeline), "--version", version, "-o", "json", "--yes", *extra]
