"""``canaryctl ecs adopt`` on a service as terraform/modules/ecs_service creates it (in moto,
through the AWS behaviour layer): one PRIMARY task set; a second run changes nothing; then a
canary deploys and is promoted. The pipeline takes every identifier from the staging
environment's Terraform outputs (a fixture environment holding moto's ARNs), as a user's does.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.e2e

Staging = Any  # conftest's Staging (shared through fixtures, not imports)

PIPELINE = """\
apiVersion: canaryctl/v1
kind: Pipeline
service: gamebackend
policy: policy.yaml
platform:
  type: ecs
  fromEnvironment: staging
  canaryScalePercent: 50
  healthTimeout: 30s
  stabilityTimeout: 30s
  pollInterval: 0.2s
metrics:
  type: replay
  path: good.jsonl
steps:
  - setWeight: 10
  - analyze: {}
  - promote: {}
onFailure: rollback
"""

# Every AWS operation canaryctl's process calls, one name a line (botocore's before-call).
_CALLS = """\
from canaryctl import aws


def _log_call(model, **_):
    with open({log!r}, "a") as log:
        log.write(model.name + "\\n")


aws.session().events.register("before-call", _log_call)
"""


def outputs_of(staging: Staging) -> dict[str, Any]:
    """The staging outputs Terraform would give for this moto world."""
    world = staging.world
    return {
        "region": world.region,
        "cluster": world.cluster,
        "service": world.service,
        "listener_arn": world.listener_arn,
        "blue_target_group_arn": world.blue,
        "green_target_group_arn": world.green,
        "task_definition_arn": world.task_definition,
        "launch_type": "FARGATE",
        "container_name": "app",
        "container_port": 8080,
        "private_subnet_ids": world.subnets,
        "service_security_group_id": world.security_group,
        "deregistration_delay": 0,
        "canaryctl_ecs": {
            "cluster": world.cluster,
            "service": world.service,
            "region": world.region,
            "listenerArn": world.listener_arn,
            "containerName": "app",
            "image": f"{world.image_repo}:{{version}}",
            "targetGroups": {"blue": world.blue, "green": world.green},
            "drainDelay": 0,
            "deregistrationDelay": 0,
        },
    }


@pytest.fixture
def adopting(bare_staging: Staging, terraform_environments: Any) -> tuple[Staging, Path]:
    """The bare staging service, a pipeline whose platform is ``fromEnvironment: staging``,
    and canaryctl pointed at the fixture environments with this world's outputs."""
    root = terraform_environments({"staging": outputs_of(bare_staging)})
    bare_staging.extra_env.update(
        {"CANARYCTL_ENVIRONMENTS": str(root), "CANARYCTL_TERRAFORM": "embedded"}
    )
    (bare_staging.tmp / "policy.yaml").write_text(bare_staging.policy(), encoding="utf-8")
    path = bare_staging.tmp / "pipeline.yaml"
    path.write_text(PIPELINE, encoding="utf-8")
    return bare_staging, path


def _lines(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").splitlines() if path.exists() else []


def test_adopt_then_again_changes_nothing_then_a_canary_is_promoted(
    adopting: tuple[Staging, Path], recording: Any
) -> None:
    staging, pipeline = adopting
    assert staging.task_sets() == []  # as Terraform leaves it
    writes = staging.record_writes()
    calls = staging.tmp / "aws-calls.log"
    staging.hooks.append(_CALLS.format(log=str(calls)))

    code, doc, err = staging.run("ecs", "adopt", "-p", str(pipeline), "-o", "json")

    assert code == 0, err
    assert (doc["status"], doc["changed"]) == ("adopted", True)
    [primary] = staging.task_sets()
    assert primary["status"] == "PRIMARY" and primary["scale"]["value"] == 100.0
    assert primary["externalId"] == "canaryctl/1.0.0"  # the image's tag
    assert primary["taskDefinition"] == staging.world.task_definition
    assert primary["launchType"] == "FARGATE"
    assert primary["loadBalancers"] == [
        {"targetGroupArn": staging.blue, "containerName": "app", "containerPort": 8080}
    ]
    network = primary["networkConfiguration"]["awsvpcConfiguration"]
    assert network["subnets"] == staging.world.subnets
    assert network["securityGroups"] == [staging.world.security_group]
    assert staging.weights() == {staging.blue: 100, staging.green: 0}
    assert doc["task_set"]["arn"] == primary["taskSetArn"]
    assert doc["task_set"]["stability"] == "STEADY_STATE"
    assert [json.loads(w)["op"] for w in _lines(writes)] == [
        "CreateTaskSet",
        "UpdateServicePrimaryTaskSet",
    ]

    first_calls = len(_lines(calls))
    code, text, err = staging.run("ecs", "adopt", "-p", str(pipeline), "-o", "text")

    assert code == 0, err
    assert text.startswith(f"already adopted: task set {primary['id']} (1.0.0) is PRIMARY")
    assert "nothing changed" in text
    assert len(_lines(writes)) == 2  # no write of any kind
    again = _lines(calls)[first_calls:]
    assert again and all(name.startswith("Describe") for name in again), again
    assert staging.task_sets() == [primary]

    good = recording(staging.tmp / "good.jsonl", 60, canary_error_rate=0.0, canary_slow=0.0)
    assert good.name == "good.jsonl"
    code, outcome, err = staging.deploy(pipeline, "1.1.0")

    assert code == 0, err
    assert (outcome["phase"], outcome["stable_version"]) == ("promoted", "1.0.0")
    [promoted] = staging.task_sets()
    assert (promoted["status"], promoted["externalId"]) == ("PRIMARY", "canaryctl/1.1.0")
    assert staging.image_of(promoted["taskDefinition"]).endswith("/gamebackend:1.1.0")
    assert staging.weights() == {staging.blue: 0, staging.green: 100}


def _task_set(staging: Staging, external_id: str) -> dict[str, Any]:
    network = {"subnets": staging.world.subnets, "securityGroups": [staging.world.security_group]}
    return dict(
        staging.client("ecs").create_task_set(
            cluster=staging.cluster,
            service=staging.service,
            taskDefinition=staging.world.task_definition,
            launchType="FARGATE",
            loadBalancers=[
                {"targetGroupArn": staging.blue, "containerName": "app", "containerPort": 8080}
            ],
            networkConfiguration={"awsvpcConfiguration": network},
            scale={"value": 100.0, "unit": "PERCENT"},
            externalId=external_id,
        )["taskSet"]
    )


def test_an_interrupted_adopt_is_taken_up_where_it_stopped(
    adopting: tuple[Staging, Path],
) -> None:
    """Killed after CreateTaskSet, before the primary switch: the next run makes that same
    set primary instead of creating another (or refusing its own work)."""
    staging, pipeline = adopting
    left = _task_set(staging, "canaryctl/1.0.0")

    code, doc, err = staging.run("ecs", "adopt", "-p", str(pipeline), "-o", "json")

    assert code == 0, err
    assert doc["changed"] is True
    [primary] = staging.task_sets()
    assert (primary["taskSetArn"], primary["status"]) == (left["taskSetArn"], "PRIMARY")


def test_task_sets_without_a_primary_are_refused_by_name(
    adopting: tuple[Staging, Path],
) -> None:
    staging, pipeline = adopting
    other = _task_set(staging, "someone-else")
    writes = staging.record_writes()

    code, _, err = staging.run("ecs", "adopt", "-p", str(pipeline), "-o", "json")

    assert code == 2
    assert err.startswith("error: service 'gamebackend' has task sets but no PRIMARY: ")
    assert other["id"] in err and "externalId someone-else" in err
    assert len(err.splitlines()) == 1 and "Traceback" not in err
    assert _lines(writes) == [] and staging.task_sets()[0]["status"] == "ACTIVE"


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("platform.service=nope", "platform.service: no active service 'nope' in cluster staging"),
        ("platform.cluster=nowhere", "platform.cluster: no cluster 'nowhere'"),
    ],
)
def test_a_service_that_is_not_there_is_one_line_and_exit_2(
    adopting: tuple[Staging, Path], override: str, message: str
) -> None:
    staging, pipeline = adopting
    code, _, err = staging.run("ecs", "adopt", "-p", str(pipeline), "--set", override)

    assert code == 2, err
    assert err.startswith("error: ") and message in err
    assert len(err.splitlines()) == 1 and "Traceback" not in err
