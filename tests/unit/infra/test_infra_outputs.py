"""``resolve``: pipelines that take identifiers from an environment's Terraform outputs."""

from __future__ import annotations

from typing import Any

import pytest

from canaryctl.errors import InvalidInput
from canaryctl.infra.outputs import OutputReferenceError, resolve

STAGING = {
    "listener_arn": "arn:aws:elasticloadbalancing:eu-west-1:1:listener/app/gb/abc/def",
    "private_subnet_ids": ["subnet-a", "subnet-b"],
    "container_port": 8080,
    "canaryctl_ecs": {
        "cluster": "gamebackend-staging",
        "service": "gamebackend",
        "targetGroups": {"blue": "arn:tg/blue", "green": "arn:tg/green"},
    },
}
ENVS = {"staging": STAGING}


def test_whole_string_reference_keeps_the_type() -> None:
    doc = {
        "a": "${env.staging.outputs.private_subnet_ids}",
        "b": "${env.staging.outputs.container_port}",
    }
    assert resolve(doc, ENVS) == {"a": ["subnet-a", "subnet-b"], "b": 8080}


def test_nested_and_indexed_references() -> None:
    doc = [
        "${env.staging.outputs.canaryctl_ecs.targetGroups.green}",
        "${env.staging.outputs.private_subnet_ids[1]}",
    ]
    assert resolve(doc, ENVS) == ["arn:tg/green", "subnet-b"]


def test_reference_inside_text_is_interpolated_and_escape_is_literal() -> None:
    text = "port ${env.staging.outputs.container_port} of $${env.staging.outputs.x}"
    assert resolve(text, ENVS) == "port 8080 of ${env.staging.outputs.x}"


def test_from_environment_fills_the_block_and_written_keys_win() -> None:
    doc = {"platform": {"type": "ecs", "fromEnvironment": "staging", "service": "other"}}
    out = resolve(doc, ENVS)
    assert out["platform"] == {
        "type": "ecs",
        "cluster": "gamebackend-staging",
        "service": "other",
        "targetGroups": {"blue": "arn:tg/blue", "green": "arn:tg/green"},
    }
    assert "fromEnvironment" in doc["platform"]  # the input is not changed


def test_loader_is_called_once_per_environment() -> None:
    calls: list[str] = []

    def load(name: str) -> dict[str, Any]:
        calls.append(name)
        return STAGING

    doc = ["${env.staging.outputs.container_port}", "${env.staging.outputs.listener_arn}"]
    resolve(doc, load)
    assert calls == ["staging"]


@pytest.mark.parametrize(
    ("doc", "path", "needle"),
    [
        (
            {"p": {"arn": "${env.prod.outputs.listener_arn}"}},
            ("p", "arn"),
            "unknown environment 'prod'",
        ),
        ({"p": ["${env.staging.outputs.nope}"]}, ("p", 0), "has no output 'nope'"),
        ({"p": "${env.staging.outputs.private_subnet_ids[5]}"}, ("p",), "has no '[5]'"),
        ({"p": "x ${env.staging.outputs.private_subnet_ids}"}, ("p",), "is a list, not text"),
        ({"p": {"fromEnvironment": "staging"}}, ("p", "fromEnvironment"), "needs a `type`"),
        (
            {"p": {"type": "local", "fromEnvironment": "staging"}},
            ("p", "fromEnvironment"),
            "canaryctl_local",
        ),
    ],
)
def test_bad_references_say_where_and_why(doc: Any, path: tuple[Any, ...], needle: str) -> None:
    with pytest.raises(OutputReferenceError) as info:
        resolve(doc, ENVS)
    assert info.value.key_path == path
    assert needle in str(info.value)
    assert isinstance(info.value, InvalidInput) and info.value.exit_code == 2


def test_loader_errors_carry_the_key_path() -> None:
    def load(name: str) -> dict[str, Any]:
        raise InvalidInput(f"unknown environment {name!r}: no Terraform files in envs/{name}/")

    with pytest.raises(OutputReferenceError) as info:
        resolve({"m": {"url": "${env.qa.outputs.router_url}"}}, load)
    assert info.value.key_path == ("m", "url") and "envs/qa/" in str(info.value)
