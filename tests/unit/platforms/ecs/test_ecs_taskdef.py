"""Deriving the canary's task definition from the stable one."""

from __future__ import annotations

from typing import Any

import pytest

from canaryctl.errors import InvalidInput
from canaryctl.platforms.ecs.taskdef import (
    fingerprint,
    image_version,
    pick_container,
    register_kwargs,
    with_image_and_env,
)

ACCEPTED = {"family", "containerDefinitions", "cpu", "memory", "networkMode", "tags"}


def definition() -> dict[str, Any]:
    """As describe_task_definition returns it: read-only fields included."""
    return {
        "taskDefinitionArn": "arn:aws:ecs:eu-west-1:1:task-definition/gamebackend:7",
        "family": "gamebackend",
        "revision": 7,
        "status": "ACTIVE",
        "compatibilities": ["EC2", "FARGATE"],
        "registeredAt": "2026-11-01T10:00:00Z",
        "networkMode": "awsvpc",
        "cpu": "256",
        "memory": "512",
        "containerDefinitions": [
            {
                "name": "app",
                "image": "registry/gamebackend:1.0.0",
                "environment": [
                    {"name": "LOG_LEVEL", "value": "info"},
                    {"name": "FEATURE_X", "value": "off"},
                ],
                "secrets": [{"name": "DB_PASSWORD", "valueFrom": "arn:secret"}],
            },
            {"name": "envoy", "image": "envoy:1.31"},
        ],
    }


def test_only_the_chosen_container_changes() -> None:
    base = definition()
    env = {"FEATURE_X": "on", "DB_PASSWORD": "from-override", "NEW": "1"}
    derived = with_image_and_env(base, "app", "registry/gamebackend:1.1.0", env)

    assert base == definition()
    app, envoy = derived["containerDefinitions"]
    assert app["image"] == "registry/gamebackend:1.1.0"
    assert app["environment"] == [
        {"name": "LOG_LEVEL", "value": "info"},
        {"name": "FEATURE_X", "value": "on"},
        {"name": "DB_PASSWORD", "value": "from-override"},
        {"name": "NEW", "value": "1"},
    ]
    assert app["secrets"] == []  # an override wins over a secret of the same name
    assert envoy == {"name": "envoy", "image": "envoy:1.31"}


def test_register_arguments_drop_read_only_fields() -> None:
    kwargs = register_kwargs(
        definition(), [{"key": "canaryctl:version", "value": "1.1.0"}], ACCEPTED
    )
    assert set(kwargs) == {"family", "containerDefinitions", "cpu", "memory", "networkMode", "tags"}
    assert kwargs["tags"] == [{"key": "canaryctl:version", "value": "1.1.0"}]


def test_the_container_is_the_configured_one_or_the_load_balanced_one() -> None:
    assert pick_container(definition(), "envoy", "app") == "envoy"
    assert pick_container(definition(), None, "app") == "app"
    with pytest.raises(InvalidInput, match=r"containerName: required, .* 2 containers"):
        pick_container(definition(), None, None)
    with pytest.raises(InvalidInput, match="no container 'web'"):
        pick_container(definition(), "web", None)


def test_versions_from_image_references_and_fingerprints() -> None:
    assert image_version("123.dkr.ecr.eu-west-1.amazonaws.com/gamebackend:1.4.2") == "1.4.2"
    assert image_version("registry:5000/team/gamebackend:2.0") == "2.0"
    digest = "registry/gamebackend@sha256:" + "ab" * 32
    assert image_version(digest) == digest
    one = fingerprint("td:7", "app", "img:1.1.0", {"A": "1", "B": "2"})
    assert one == fingerprint("td:7", "app", "img:1.1.0", {"B": "2", "A": "1"})
    assert one != fingerprint("td:7", "app", "img:1.1.0", {"A": "1"})
