"""Task definition files (``deploy --task-definition FILE``): read-only fields dropped, all
else kept, mistakes named by file and field before any AWS call."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from canaryctl.errors import InvalidInput
from canaryctl.platforms.ecs.taskdef_file import content_id, load_task_definition


def described() -> dict[str, Any]:
    """`aws ecs describe-task-definition --include TAGS` output, read-only fields and all."""
    return {
        "taskDefinition": {
            "taskDefinitionArn": "arn:aws:ecs:eu-west-1:123456789012:task-definition/gb:7",
            "family": "gb",
            "revision": 7,
            "status": "ACTIVE",
            "compatibilities": ["EC2", "FARGATE"],
            "requiresAttributes": [{"name": "ecs.capability.secrets.asm.environment-variables"}],
            "registeredAt": "2026-11-01T10:00:00.000Z",
            "registeredBy": "arn:aws:sts::123456789012:assumed-role/deploy/x",
            "requiresCompatibilities": ["FARGATE"],
            "networkMode": "awsvpc",
            "cpu": "512",
            "memory": "2048",
            "runtimePlatform": {"operatingSystemFamily": "LINUX", "cpuArchitecture": "ARM64"},
            "volumes": [{"name": "tmp"}],
            "containerDefinitions": [
                {
                    "name": "app",
                    "image": "registry/gamebackend:1.0.0",
                    "memory": 1536,
                    "essential": True,
                    "secrets": [{"name": "TOKEN", "valueFrom": "arn:aws:secretsmanager:x"}],
                    "mountPoints": [{"sourceVolume": "tmp", "containerPath": "/tmp"}],
                },
                {"name": "otel", "image": "otel/collector:0.111", "essential": False},
            ],
        },
        "tags": [{"key": "team", "value": "games"}],
    }


def write(tmp_path: Path, doc: Any, name: str = "td.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(doc, indent=2) if not isinstance(doc, str) else doc)
    return path


def test_read_only_fields_are_dropped_and_everything_else_is_kept(tmp_path: Path) -> None:
    loaded = load_task_definition(write(tmp_path, described()))

    expected = {k: v for k, v in described()["taskDefinition"].items()}
    for key in ("taskDefinitionArn", "revision", "status", "compatibilities"):
        expected.pop(key)
    for key in ("requiresAttributes", "registeredAt", "registeredBy"):
        expected.pop(key)
    assert loaded.definition == {**expected, "tags": [{"key": "team", "value": "games"}]}
    assert loaded.ignored == [
        "compatibilities",
        "registeredAt",
        "registeredBy",
        "requiresAttributes",
        "revision",
        "status",
        "taskDefinitionArn",
    ]


def test_the_bare_definition_and_json_nulls_are_accepted(tmp_path: Path) -> None:
    bare = described()["taskDefinition"]
    bare["taskRoleArn"] = None  # render-task-definition and hand edits leave nulls behind
    loaded = load_task_definition(write(tmp_path, bare))
    assert "taskRoleArn" not in loaded.definition
    assert [c["name"] for c in loaded.definition["containerDefinitions"]] == ["app", "otel"]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            lambda d: d["containerDefinitions"][0].update(memroy=1),
            "td.json: containerDefinitions[0].memroy: not a field of RegisterTaskDefinition; "
            "did you mean 'memory'?",
        ),
        (
            lambda d: d["containerDefinitions"][1].update(memory="1024"),
            'td.json: containerDefinitions[1].memory: expected a number (integer), got "1024"',
        ),
        (
            lambda d: d.update(networkMode="vpc"),
            "td.json: networkMode: must be one of bridge, host, awsvpc, none, got 'vpc'",
        ),
        (lambda d: d.pop("family"), "td.json: family: required"),
        (
            lambda d: d["containerDefinitions"][1].pop("image"),
            "td.json: containerDefinitions[1].image: required",
        ),
        (
            lambda d: d["containerDefinitions"][1].update(name="app"),
            "td.json: containerDefinitions[1].name: 'app' twice",
        ),
        (
            lambda d: d.update(containerDefinitions={"name": "app"}),
            "td.json: containerDefinitions: expected a list, got an object",
        ),
    ],
)
def test_a_bad_field_is_named_with_the_file(tmp_path: Path, change: Any, message: str) -> None:
    doc = described()["taskDefinition"]
    change(doc)
    with pytest.raises(InvalidInput) as info:
        load_task_definition(write(tmp_path, doc))
    assert str(info.value) == message.replace("td.json", str(tmp_path / "td.json"))


def test_not_json_names_the_line(tmp_path: Path) -> None:
    path = write(tmp_path, '{\n  "family": "gb",\n  "containerDefinitions": [\n}\n')
    with pytest.raises(InvalidInput, match=rf"^{path}:4: not JSON: "):
        load_task_definition(path)


def test_the_same_content_has_the_same_id_whatever_the_key_order() -> None:
    a = {"family": "gb", "cpu": "256"}
    assert content_id(a) == content_id({"cpu": "256", "family": "gb"})
    assert content_id(a) != content_id({**a, "cpu": "512"})
