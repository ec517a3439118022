"""A new task definition revision for the canary, derived from the stable one or from a
task definition given to ``deploy`` (an ARN, or a file: ``taskdef_file``).

Only the chosen container's image and environment change. The revision is tagged with a
fingerprint of what it was derived from, so a resumed ``start_canary`` finds the revision it
registered before the crash instead of registering another one.
"""

from __future__ import annotations

import copy
import hashlib
import json
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from canaryctl.errors import InvalidInput, PlatformError
from canaryctl.platforms.base import CanarySpec
from canaryctl.platforms.ecs.taskdef_file import content_id

__all__ = [
    "FINGERPRINT_TAG",
    "VERSION_TAG",
    "TaskDefinitions",
    "fingerprint",
    "image_version",
    "pick_container",
    "register_kwargs",
    "with_image_and_env",
]

VERSION_TAG = "canaryctl:version"
FINGERPRINT_TAG = "canaryctl:fingerprint"


def pick_container(
    definition: Mapping[str, Any], wanted: str | None, load_balanced: str | None
) -> str:
    """The container whose image the canary changes: the configured one, else the one the
    load balancer targets, else the only one."""
    names = [c["name"] for c in definition.get("containerDefinitions", [])]
    for candidate in (wanted, load_balanced):
        if candidate:
            if candidate not in names:
                raise InvalidInput(
                    f"platform.containerName: no container {candidate!r} in "
                    f"{_name(definition)} (containers: {', '.join(names)})"
                )
            return candidate
    if len(names) == 1:
        return names[0]
    raise InvalidInput(
        f"platform.containerName: required, the task definition has {len(names)} containers "
        f"({', '.join(names)})"
    )


def _name(definition: Mapping[str, Any]) -> str:
    arn = definition.get("taskDefinitionArn")
    return str(arn) if arn else f"the task definition of family {definition.get('family')}"


def image_version(image: str) -> str:
    """The tag of an image reference (``repo/name:1.2.0`` → ``1.2.0``); a digest reference
    has no tag and is returned whole."""
    name = image.rsplit("/", 1)[-1].split("@", 1)[0]
    return name.split(":", 1)[1] if ":" in name else image


def fingerprint(base_arn: str, container: str, image: str, env: Mapping[str, str]) -> str:
    blob = json.dumps([base_arn, container, image, sorted(env.items())], separators=(",", ":"))
    return hashlib.sha256(blob.encode()).hexdigest()[:32]


def with_image_and_env(
    definition: Mapping[str, Any], container: str, image: str, env: Mapping[str, str]
) -> dict[str, Any]:
    """A copy of ``definition`` with ``container``'s image and environment overrides applied.
    An override replaces a variable of the same name; a secret of that name is dropped so
    the override wins (ECS refuses a name that is both)."""
    new = copy.deepcopy(dict(definition))
    for spec in new.get("containerDefinitions", []):
        if spec.get("name") != container:
            continue
        spec["image"] = image
        if env:
            kept = [e for e in spec.get("environment", []) if e.get("name") not in env]
            spec["environment"] = kept + [{"name": k, "value": v} for k, v in env.items()]
            secrets = [s for s in spec.get("secrets", []) if s.get("name") not in env]
            if "secrets" in spec:
                spec["secrets"] = secrets
    return new


def register_kwargs(
    definition: Mapping[str, Any],
    tags: Iterable[Mapping[str, str]],
    accepted: Iterable[str],
) -> dict[str, Any]:
    """Arguments for ``register_task_definition`` from a described definition: only the fields
    the API accepts (``accepted``, from the client's service model, so new ECS fields pass
    through), without the read-only ones."""
    allowed = set(accepted)
    kwargs = {k: v for k, v in definition.items() if k in allowed and v not in (None, [], {})}
    if "family" not in kwargs or "containerDefinitions" not in kwargs:
        raise PlatformError("the stable task definition has no family or containers")
    merged = {t["key"]: t.get("value", "") for t in tags if t.get("key")}
    if merged:
        kwargs["tags"] = [{"key": k, "value": v} for k, v in merged.items()]
    return kwargs


Call = Callable[..., Any]  # EcsPlatform._call(method, what, **kwargs)


class TaskDefinitions:
    """Describes (cached: revisions are immutable) and registers task definitions."""

    def __init__(self, ecs: Any, call: Call, container_name: str | None) -> None:
        self._ecs, self._call, self._wanted = ecs, call, container_name
        self._cache: dict[str, dict[str, Any]] = {}

    def describe(self, arn: str) -> dict[str, Any]:
        if arn not in self._cache:
            answer = self._call(
                self._ecs.describe_task_definition,
                f"describe task definition {arn}",
                taskDefinition=arn,
                include=["TAGS"],
            )
            self._cache[arn] = {**answer["taskDefinition"], "tags": answer.get("tags", [])}
        return self._cache[arn]

    def container(self, definition: Mapping[str, Any], task_set: Mapping[str, Any]) -> str:
        lbs = task_set.get("loadBalancers") or []
        balanced = lbs[0].get("containerName") if lbs else None
        return pick_container(definition, self._wanted, balanced)

    def image(self, definition: Mapping[str, Any], container: str) -> str:
        return str(
            next(c["image"] for c in definition["containerDefinitions"] if c["name"] == container)
        )

    def version(self, task_set: Mapping[str, Any]) -> str:
        """The version a task set not started by canaryctl runs: its image's tag."""
        definition = self.describe(str(task_set.get("taskDefinition")))
        return image_version(self.image(definition, self.container(definition, task_set)))

    def for_canary(self, primary: Mapping[str, Any], spec: CanarySpec, template: str | None) -> str:
        """The task definition ARN of the canary: the given one as is, or a revision derived
        from it (or from the stable one) with the new image and the environment overrides."""
        if spec.definition is not None:  # deploy --task-definition FILE
            base = {**spec.definition}
            container = self.container(base, primary)
            return self._register(base, container, spec.image or self.image(base, container), spec)
        image = spec.image
        if image is None and template and spec.task_definition is None:
            image = template.replace("{version}", spec.version)
        if spec.task_definition and image is None and not spec.env:
            return spec.task_definition
        base = self.describe(spec.task_definition or str(primary["taskDefinition"]))
        container = self.container(base, primary)
        if image is None:
            if spec.task_definition is None:
                raise InvalidInput(
                    "no image for the canary: set platform.image (with {version}) in the "
                    "pipeline, or pass deploy --image IMAGE or --task-definition FILE|ARN"
                )
            image = self.image(base, container)
        return self._register(base, container, image, spec)

    def _register(self, base: dict[str, Any], container: str, image: str, spec: CanarySpec) -> str:
        origin = base.get("taskDefinitionArn") or content_id(base)
        mark = fingerprint(str(origin), container, image, spec.env)
        latest = self._latest(base["family"])
        if latest and {"key": FINGERPRINT_TAG, "value": mark} in latest.get("tags", []):
            return str(latest["taskDefinitionArn"])  # registered before a crash: reuse it
        ours = {VERSION_TAG: spec.version, FINGERPRINT_TAG: mark}
        tags = [t for t in base.get("tags", []) if t["key"] not in ours]
        tags += [{"key": k, "value": v} for k, v in ours.items()]
        derived = with_image_and_env(base, container, image, spec.env)
        model = self._ecs.meta.service_model.operation_model("RegisterTaskDefinition")
        answer = self._call(
            self._ecs.register_task_definition,
            f"register a task definition for version {spec.version}",
            **register_kwargs(derived, tags, model.input_shape.members),
        )
        return str(answer["taskDefinition"]["taskDefinitionArn"])

    def _latest(self, family: str) -> dict[str, Any] | None:
        try:
            answer = self._call(
                self._ecs.describe_task_definition,
                f"describe task definition family {family}",
                taskDefinition=family,
                include=["TAGS"],
            )
        except PlatformError as exc:
            if exc.code in ("ClientException", "InvalidParameterException"):
                return None
            raise
        return {**answer["taskDefinition"], "tags": answer.get("tags", [])}
