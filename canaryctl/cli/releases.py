"""What ``deploy --image`` and ``--task-definition FILE|ARN`` release, checked before any AWS
call and kept in the record (``release``) so ``resume`` does not need the file again.

Imported inside command bodies only."""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Any

from canaryctl.errors import InvalidInput

__all__ = ["check_release", "release_from_flags"]

_IMAGE = re.compile(r"^[^\s]+$")
# A task definition ARN: arn:PARTITION:ecs:REGION:ACCOUNT:task-definition/FAMILY:REVISION
_ARN = re.compile(r"^arn:[a-z-]+:ecs:[a-z0-9-]+:\d{12}:task-definition/[A-Za-z0-9_-]+(:\d+)?$")


def _task_definition(value: str) -> dict[str, Any]:
    if value.startswith("arn:"):
        if not _ARN.match(value):
            raise InvalidInput(
                f"--task-definition {value!r}: not a task definition ARN "
                "(arn:aws:ecs:REGION:ACCOUNT:task-definition/FAMILY:REVISION)"
            )
        return {"task_definition": value}
    if not Path(value).is_file():
        raise InvalidInput(
            f"--task-definition {value}: no such file (give a JSON file, as `aws ecs "
            "describe-task-definition` or amazon-ecs-render-task-definition write it, or an ARN)"
        )
    from canaryctl.platforms.ecs.taskdef_file import load_task_definition

    loaded = load_task_definition(value)
    if loaded.ignored:
        sys.stderr.write(
            f"note: {value}: ignoring the read-only fields {', '.join(loaded.ignored)} "
            "(DescribeTaskDefinition returns them; RegisterTaskDefinition does not take them)\n"
        )
    return {"task_definition_file": value, "definition": loaded.definition}


def release_from_flags(image: str | None, task_definition: str | None) -> dict[str, Any]:
    """The record's ``release`` (empty when neither flag is given), read and checked from
    the flags alone: ``InvalidInput`` (exit 2) names the flag, or the file and its field."""
    release: dict[str, Any] = {}
    if image is not None:
        if not _IMAGE.match(image):
            raise InvalidInput(f"--image {image!r}: not an image reference")
        release["image"] = image
    if task_definition is not None:
        release.update(_task_definition(task_definition))
    return release


def check_release(release: dict[str, Any], platform: Any) -> None:
    """The release against the pipeline's platform: only ecs runs images, and a file must
    hold the pipeline's container (when the pipeline names one)."""
    if not release:
        return
    kind = getattr(platform, "type", None)
    if kind != "ecs":
        flag = "--image" if "image" in release else "--task-definition"
        raise InvalidInput(f"{flag}: only the ecs platform runs images (this pipeline: {kind})")
    definition = release.get("definition")
    container = platform.container_name
    if definition is not None and container:
        names = [c["name"] for c in definition["containerDefinitions"]]
        if container not in names:
            raise InvalidInput(
                f"{release['task_definition_file']}: containerDefinitions: no container "
                f"{container!r} (platform.containerName); containers: {', '.join(names)}"
            )
