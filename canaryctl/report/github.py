"""GitHub Actions annotations: one workflow command per finished deployment.

``::error::`` when the canary was rolled back or the deployment failed, ``::notice::`` when
it was promoted, ``::warning::`` when it paused (a pause step, inconclusive SLOs, missing
data with ``action: pause``, traffic drift): each one line, with the reason. Written only when
``GITHUB_ACTIONS=true``, so a terminal never sees them.
"""

from __future__ import annotations

import os
from typing import Any, TextIO

from canaryctl.rollout.record import status_of

__all__ = ["annotation", "write_annotation"]

_LEVEL = {
    "promoted": "notice",
    "unchanged": "notice",
    "rolled_back": "error",
    "failed": "error",
    "paused": "warning",
}
_TITLE = {
    "promoted": "canary promoted",
    "unchanged": "nothing to deploy",
    "rolled_back": "canary rolled back",
    "failed": "canary deployment failed",
    "paused": "canary paused: a person must act",
}


def _data(text: str) -> str:
    # GitHub's escaping of a workflow command's message: a newline must not start a command.
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _property(text: str) -> str:
    return _data(text).replace(":", "%3A").replace(",", "%2C")


def annotation(record: dict[str, Any]) -> str | None:
    """The workflow command for the record's outcome; None while it still runs."""
    status = status_of(record)
    level = _LEVEL.get(status)
    if level is None:
        return None
    versions = f"{record.get('stable_version') or '?'} → {record['canary_version']}"
    reason = record.get("reason") or status.replace("_", " ")
    message = f"{record['service']} {versions} ({record['id']}): {reason}"
    if status == "paused":
        message += f"; then `canaryctl resume {record['id']}` or `canaryctl abort {record['id']}`"
    return f"::{level} title={_property(_TITLE[status])}::{_data(message)}"


def write_annotation(record: dict[str, Any], stream: TextIO) -> bool:
    """Write the annotation to ``stream`` when running in GitHub Actions."""
    if os.environ.get("GITHUB_ACTIONS") != "true":
        return False
    line = annotation(record)
    if line is None:
        return False
    stream.write(line + "\n")
    stream.flush()
    return True
