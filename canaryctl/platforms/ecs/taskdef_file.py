"""A task definition from the repository (``deploy --task-definition FILE``), checked before
any AWS call.

FILE is what users already have: the JSON of ``aws ecs describe-task-definition`` (with or
without its top-level ``taskDefinition`` wrapper, whose ``tags`` are kept) or the output of
aws-actions/amazon-ecs-render-task-definition. The fields DescribeTaskDefinition returns but
RegisterTaskDefinition refuses (``taskDefinitionArn``, ``revision``, ``status``,
``requiresAttributes``, ``compatibilities``, ``registeredAt``, ``registeredBy``,
``deregisteredAt``, ``deleteRequestedAt``) are dropped; every other field is kept as written
and checked against RegisterTaskDefinition's input in botocore's ECS model (no network): an
unknown field or a wrong type is exit 2 naming the file and the field.

RegisterTaskDefinition's parameters:
https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_RegisterTaskDefinition.html
"""

from __future__ import annotations

import difflib
import hashlib
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from canaryctl.errors import InvalidInput

__all__ = ["TaskDefinitionFile", "content_id", "load_task_definition", "read_only_fields"]

_TYPES = {
    "string": (str,),
    "integer": (int,),
    "long": (int,),
    "boolean": (bool,),
    "double": (int, float),
    "float": (int, float),
    "timestamp": (str, int, float),
    "blob": (str, bytes),
}


def _ecs_model() -> Any:
    import botocore.session

    return botocore.session.get_session().get_service_model("ecs")


def read_only_fields(model: Any = None) -> frozenset[str]:
    """What DescribeTaskDefinition returns and RegisterTaskDefinition does not take."""
    model = model or _ecs_model()
    described = model.operation_model("DescribeTaskDefinition").output_shape
    returned = set(described.members["taskDefinition"].members)
    accepted = set(model.operation_model("RegisterTaskDefinition").input_shape.members)
    return frozenset(returned - accepted)


class TaskDefinitionFile:
    """The registrable definition of a file (``definition``: RegisterTaskDefinition's
    parameters, ``tags`` included) and the read-only fields it dropped (``ignored``)."""

    def __init__(self, path: str, definition: dict[str, Any], ignored: list[str]) -> None:
        self.path, self.definition, self.ignored = path, definition, ignored

    def error(self, field: str, problem: str) -> InvalidInput:
        return InvalidInput(f"{self.path}: {field}: {problem}")


def _without_nulls(value: Any) -> Any:
    # JSON nulls mean "not set" (the render action and hand-edited files leave some behind);
    # botocore would refuse None for any typed parameter.
    if isinstance(value, dict):
        return {k: _without_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_without_nulls(v) for v in value if v is not None]
    return value


def _type_name(value: Any) -> str:
    return {dict: "an object", list: "a list", str: "a string", bool: "true/false"}.get(
        type(value), type(value).__name__
    )


class _Checker:
    """Walks a value against a botocore shape; the first problem is raised with its path."""

    def __init__(self, source: TaskDefinitionFile) -> None:
        self.source = source

    def check(self, value: Any, shape: Any, path: str) -> None:
        kind = shape.type_name
        if kind == "structure":
            self._structure(value, shape, path)
        elif kind == "list":
            if not isinstance(value, list):
                raise self.source.error(path, f"expected a list, got {_type_name(value)}")
            for i, item in enumerate(value):
                self.check(item, shape.member, f"{path}[{i}]")
        elif kind == "map":
            if not isinstance(value, dict):
                raise self.source.error(path, f"expected an object, got {_type_name(value)}")
            for key, item in value.items():
                self.check(item, shape.value, f"{path}.{key}")
        else:
            self._scalar(value, shape, path)

    def _structure(self, value: Any, shape: Any, path: str) -> None:
        if not isinstance(value, dict):
            raise self.source.error(path, f"expected an object, got {_type_name(value)}")
        for key in shape.required_members:
            if key not in value:
                raise self.source.error(_join(path, key), "required")
        known = list(shape.members)
        for key, item in value.items():
            if key not in shape.members:
                close = difflib.get_close_matches(key, known, n=1, cutoff=0.6)
                hint = f"; did you mean {close[0]!r}?" if close else ""
                raise self.source.error(
                    _join(path, key), f"not a field of RegisterTaskDefinition{hint}"
                )
            self.check(item, shape.members[key], _join(path, key))

    def _scalar(self, value: Any, shape: Any, path: str) -> None:
        allowed = _TYPES.get(shape.type_name, (object,))
        bad_bool = isinstance(value, bool) and bool not in allowed
        if bad_bool or not isinstance(value, allowed):
            want = {"string": "a string", "boolean": "true or false"}.get(
                shape.type_name, f"a number ({shape.type_name})"
            )
            raise self.source.error(path, f"expected {want}, got {json.dumps(value)[:60]}")
        from botocore.model import StringShape

        enum = shape.enum if isinstance(shape, StringShape) else []
        if enum and value not in enum:
            raise self.source.error(path, f"must be one of {', '.join(enum)}, got {value!r}")


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _unwrap(doc: dict[str, Any], source: TaskDefinitionFile) -> dict[str, Any]:
    """The definition, from describe-task-definition's ``{"taskDefinition": …, "tags": …}``
    or as written; the wrapper's tags join the definition's."""
    inner = doc.get("taskDefinition")
    if not isinstance(inner, dict):
        return dict(doc)
    extra = sorted(set(doc) - {"taskDefinition", "tags", "ResponseMetadata"})
    if extra:
        raise source.error(extra[0], "unexpected beside taskDefinition")
    definition = dict(inner)
    if doc.get("tags"):
        definition["tags"] = [*(definition.get("tags") or []), *doc["tags"]]
    return definition


def _check_containers(source: TaskDefinitionFile) -> None:
    containers = source.definition["containerDefinitions"]
    if not containers:
        raise source.error("containerDefinitions", "needs at least one container")
    seen: set[str] = set()
    for i, spec in enumerate(containers):
        for key in ("name", "image"):
            if not spec.get(key):
                raise source.error(f"containerDefinitions[{i}].{key}", "required")
        if spec["name"] in seen:
            raise source.error(f"containerDefinitions[{i}].name", f"{spec['name']!r} twice")
        seen.add(spec["name"])


def load_task_definition(path: str | Path, model: Any = None) -> TaskDefinitionFile:
    """Read, strip and check FILE; ``InvalidInput`` (exit 2) naming FILE and the field."""
    name = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidInput(f"--task-definition {name}: cannot read it: {exc}") from None
    try:
        doc = json.loads(text)
    except ValueError as exc:
        line = getattr(exc, "lineno", None)
        where = f"{name}:{line}" if line else name
        raise InvalidInput(f"{where}: not JSON: {getattr(exc, 'msg', exc)}") from None
    source = TaskDefinitionFile(name, {}, [])
    if not isinstance(doc, dict):
        raise InvalidInput(f"{name}: expected a JSON object (a task definition), got a list")
    definition = _unwrap(_without_nulls(doc), source)
    model = model or _ecs_model()
    readonly = read_only_fields(model)
    source.ignored = sorted(k for k in definition if k in readonly)
    source.definition = {k: v for k, v in definition.items() if k not in readonly}
    shape = model.operation_model("RegisterTaskDefinition").input_shape
    _Checker(source).check(source.definition, shape, "")
    _check_containers(source)
    return source


def content_id(definition: Mapping[str, Any]) -> str:
    """A stable name for a definition that has no ARN yet (the fingerprint's base)."""
    blob = json.dumps(definition, sort_keys=True, separators=(",", ":"))
    return "file:" + hashlib.sha256(blob.encode()).hexdigest()[:32]
