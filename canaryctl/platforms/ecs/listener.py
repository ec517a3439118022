"""Reading and rewriting the weights of an ALB forward action, without touching anything else.

A listener's default actions (or a rule's actions) may hold more than the forward action — an
``authenticate-oidc`` step before it, say — and the forward action carries settings of its own
(``TargetGroupStickinessConfig``). These functions change the two target groups' weights and
nothing more. They work on the plain dicts ``describe_listeners``/``describe_rules`` return.
"""

from __future__ import annotations

import copy
from typing import Any

from canaryctl.errors import PlatformError
from canaryctl.platforms.base import Weights

__all__ = ["forward_action", "read_weights", "with_weights"]


def forward_action(actions: list[dict[str, Any]]) -> dict[str, Any]:
    """The (single, terminal) forward action among ``actions``."""
    forwards = [a for a in actions if a.get("Type") == "forward"]
    if len(forwards) != 1:
        kinds = ", ".join(str(a.get("Type")) for a in actions) or "none"
        raise PlatformError(f"expected one forward action, found actions: {kinds}")
    return forwards[0]


def _tg_weights(action: dict[str, Any]) -> dict[str, int]:
    config = action.get("ForwardConfig") or {}
    groups = config.get("TargetGroups") or []
    if groups:
        # A target group listed without a weight gets ALB's default weight, 1.
        return {g["TargetGroupArn"]: int(g.get("Weight", 1)) for g in groups}
    if action.get("TargetGroupArn"):
        return {action["TargetGroupArn"]: 1}
    raise PlatformError("the forward action names no target group")


def read_weights(actions: list[dict[str, Any]], stable_tg: str, canary_tg: str) -> Weights:
    """The stable/canary split in percent. ALB weights are relative (0-999): 3 and 1 read as
    75/25. A third target group with traffic is refused: canaryctl would not own the split."""
    weights = _tg_weights(forward_action(actions))
    foreign = {arn: w for arn, w in weights.items() if arn not in (stable_tg, canary_tg) and w}
    if foreign:
        raise PlatformError(
            f"the forward action also sends traffic to {', '.join(sorted(foreign))}, "
            "which is neither of the service's target groups"
        )
    stable, canary = weights.get(stable_tg, 0), weights.get(canary_tg, 0)
    if stable + canary == 0:
        raise PlatformError("the forward action gives both target groups weight 0")
    pct = round(100 * canary / (stable + canary))
    return Weights.canary_percent(pct)


def with_weights(
    actions: list[dict[str, Any]], stable_tg: str, canary_tg: str, weights: Weights
) -> list[dict[str, Any]]:
    """A copy of ``actions`` whose forward action sends ``weights`` (percent) to the two target
    groups; other actions, stickiness and any other field are kept as they were."""
    new = copy.deepcopy(actions)
    for action in new:
        _keep_oidc_secret(action)
    forward = forward_action(new)
    config = dict(forward.get("ForwardConfig") or {})
    config["TargetGroups"] = [
        {"TargetGroupArn": stable_tg, "Weight": weights.stable},
        {"TargetGroupArn": canary_tg, "Weight": weights.canary},
    ]
    forward["ForwardConfig"] = config
    # With two groups ALB refuses a top-level TargetGroupArn next to ForwardConfig.
    forward.pop("TargetGroupArn", None)
    return new


def _keep_oidc_secret(action: dict[str, Any]) -> None:
    # describe_* never returns the OIDC client secret; writing the action back without it
    # must say "keep the existing one" or ALB rejects the modification.
    oidc = action.get("AuthenticateOidcConfig")
    if oidc is not None and "ClientSecret" not in oidc:
        oidc["UseExistingClientSecret"] = True
