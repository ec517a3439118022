"""Rewriting an ALB forward action's weights without touching anything else."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from canaryctl.errors import PlatformError
from canaryctl.platforms.base import Weights
from canaryctl.platforms.ecs.listener import read_weights, with_weights

BLUE = "arn:aws:elasticloadbalancing:eu-west-1:1:targetgroup/blue/1"
GREEN = "arn:aws:elasticloadbalancing:eu-west-1:1:targetgroup/green/2"
OTHER = "arn:aws:elasticloadbalancing:eu-west-1:1:targetgroup/legacy/3"


def actions(blue: int = 100, green: int = 0) -> list[dict[str, Any]]:
    """An OIDC login in front of a sticky weighted forward, as describe_listeners returns it
    (no client secret)."""
    return [
        {
            "Type": "authenticate-oidc",
            "Order": 1,
            "AuthenticateOidcConfig": {
                "Issuer": "https://idp.example",
                "ClientId": "canary",
                "OnUnauthenticatedRequest": "authenticate",
            },
        },
        {
            "Type": "forward",
            "Order": 2,
            "TargetGroupArn": BLUE,
            "ForwardConfig": {
                "TargetGroups": [
                    {"TargetGroupArn": BLUE, "Weight": blue},
                    {"TargetGroupArn": GREEN, "Weight": green},
                ],
                "TargetGroupStickinessConfig": {"Enabled": True, "DurationSeconds": 600},
            },
        },
    ]


def test_weights_read_as_percentages_of_relative_alb_weights() -> None:
    assert read_weights(actions(100, 0), BLUE, GREEN) == Weights(100, 0)
    assert read_weights(actions(3, 1), BLUE, GREEN) == Weights(75, 25)
    assert read_weights(actions(900, 100), GREEN, BLUE) == Weights(10, 90)  # roles swapped
    single = [{"Type": "forward", "TargetGroupArn": BLUE}]
    assert read_weights(single, BLUE, GREEN) == Weights(100, 0)


def test_new_weights_keep_other_actions_stickiness_and_the_oidc_secret() -> None:
    before = actions()
    after = with_weights(before, BLUE, GREEN, Weights(90, 10))

    assert before == actions()  # the input is not modified
    oidc, forward = after
    assert oidc["AuthenticateOidcConfig"]["UseExistingClientSecret"] is True
    assert oidc["Order"] == 1 and forward["Order"] == 2
    assert "TargetGroupArn" not in forward  # ALB refuses it next to two weighted groups
    assert forward["ForwardConfig"] == {
        "TargetGroups": [
            {"TargetGroupArn": BLUE, "Weight": 90},
            {"TargetGroupArn": GREEN, "Weight": 10},
        ],
        "TargetGroupStickinessConfig": {"Enabled": True, "DurationSeconds": 600},
    }
    assert read_weights(after, BLUE, GREEN) == Weights(90, 10)


def test_a_single_group_forward_gains_the_second_group() -> None:
    after = with_weights(
        [{"Type": "forward", "TargetGroupArn": BLUE}], BLUE, GREEN, Weights(0, 100)
    )
    assert after == [
        {
            "Type": "forward",
            "ForwardConfig": {
                "TargetGroups": [
                    {"TargetGroupArn": BLUE, "Weight": 0},
                    {"TargetGroupArn": GREEN, "Weight": 100},
                ]
            },
        }
    ]


def test_traffic_to_a_third_group_or_no_forward_is_refused() -> None:
    third = copy.deepcopy(actions())
    third[1]["ForwardConfig"]["TargetGroups"].append({"TargetGroupArn": OTHER, "Weight": 5})
    with pytest.raises(PlatformError, match=r"also sends traffic to .*legacy"):
        read_weights(third, BLUE, GREEN)
    fixed = [{"Type": "fixed-response", "FixedResponseConfig": {"StatusCode": "503"}}]
    with pytest.raises(PlatformError, match=r"expected one forward action, found .*fixed-response"):
        read_weights(fixed, BLUE, GREEN)
    with pytest.raises(PlatformError, match="both target groups weight 0"):
        read_weights(actions(0, 0), BLUE, GREEN)
