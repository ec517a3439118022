"""Judges: window statistics + an SLO rule → a Verdict. ``create_judge`` maps a policy's
``judge:`` name to an implementation and refuses unknown names (no silent default)."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from canaryctl.errors import InvalidInput

if TYPE_CHECKING:
    from canaryctl.analysis.base import Judge

__all__ = ["JUDGES", "create_judge"]

# name -> "module:Class"; imported lazily so a policy only pays for the judges it uses.
JUDGES: dict[str, str] = {
    "threshold": "canaryctl.analysis.threshold:ThresholdJudge",
    "sequential": "canaryctl.analysis.sequential:SequentialJudge",
    "distribution": "canaryctl.analysis.distribution:DistributionJudge",
}


def create_judge(name: str) -> Judge:
    try:
        target = JUDGES[name]
    except KeyError:
        known = ", ".join(sorted(JUDGES))
        raise InvalidInput(f"unknown judge {name!r} (known: {known})") from None
    module, _, cls = target.partition(":")
    return getattr(importlib.import_module(module), cls)()
