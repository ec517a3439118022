"""The ECS platform's settings: what a pipeline must say, and the messages when it does not."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from canaryctl.errors import InvalidInput
from canaryctl.platforms.ecs.settings import EcsSettings

LISTENER = (
    "arn:aws:elasticloadbalancing:eu-west-1:123456789012:listener/app/gamebackend/"
    "50dc6c495c0c9188/f2f7dc8efc522ab2"
)
RULE = (
    "arn:aws:elasticloadbalancing:eu-west-1:123456789012:listener-rule/app/gamebackend/"
    "50dc6c495c0c9188/f2f7dc8efc522ab2/9683b2d02a6cabee"
)


def config(**overrides: Any) -> SimpleNamespace:
    fields: dict[str, Any] = {
        "type": "ecs",
        "cluster": "staging",
        "service": None,
        "listener_arn": LISTENER,
        "listener_rule_arn": None,
        "target_groups": SimpleNamespace(blue="tg/blue", green="tg/green"),
        "image": "registry/gamebackend:{version}",
        "stability_timeout": 600.0,
        "drain_delay": "45s",
    }
    fields.update(overrides)
    return SimpleNamespace(**fields)


def test_from_a_pipeline_model() -> None:
    settings = EcsSettings.from_config(config(), service="gamebackend")
    assert settings.service == "gamebackend"  # the pipeline's service by default
    assert settings.target_groups == ("tg/blue", "tg/green")
    assert settings.drain_delay == 45.0
    assert settings.canary_scale_percent is None
    assert settings.load_balancer_dimension == "app/gamebackend/50dc6c495c0c9188"
    by_rule = EcsSettings.from_config(
        config(listener_arn=None, listener_rule_arn=RULE), service="x"
    )
    assert by_rule.traffic_arn == RULE
    assert by_rule.load_balancer_dimension == "app/gamebackend/50dc6c495c0c9188"


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"cluster": None}, "platform.cluster: required"),
        ({"listener_arn": None}, "exactly one of listenerArn and listenerRuleArn"),
        ({"listener_rule_arn": RULE}, "exactly one of listenerArn and listenerRuleArn"),
        ({"target_groups": None}, "platform.targetGroups: required"),
        ({"target_groups": {"blue": "a", "green": "a"}}, "two different ARNs"),
        ({"image": "registry/{name}:{version}"}, "only {version} may be substituted"),
        ({"drain_delay": "soon"}, "platform.drainDelay: expected a duration"),
        ({"canary_scale_percent": 0}, r"canaryScalePercent: must be in \(0, 100\]"),
    ],
)
def test_invalid_settings_name_the_field(overrides: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        EcsSettings.from_config(config(**overrides), service="gamebackend")
