"""Resource identifiers taken from a Terraform environment's outputs instead of literal ARNs.

A pipeline (or any mapping loaded from YAML) may say, anywhere in a string::

    listenerArn: ${env.staging.outputs.listener_arn}
    blue: ${env.staging.outputs.canaryctl_ecs.targetGroups.blue}
    subnet: ${env.staging.outputs.private_subnet_ids[0]}

A string that is exactly one reference becomes the output's value with its type (a list
stays a list); a reference inside a longer string is interpolated as text. ``$${`` is a
literal ``${``.

Or a whole block comes from the environment: a mapping with ``fromEnvironment: NAME`` and
``type: T`` takes every key of the environment's ``canaryctl_T`` output (a map written for
that purpose in ``terraform/environments/*/outputs.tf``), and keys written in the mapping
win::

    platform:
      type: ecs
      fromEnvironment: staging      # cluster, service, listenerArn, targetGroups, ...
      healthTimeout: 5m

``resolve(value, env_outputs)`` does both, recursively. ``env_outputs`` is a mapping of
environment name to its outputs (``{name: value}``), or a callable ``name -> outputs`` such
as ``TerraformOutputs(root)``, which runs ``terraform output`` once per environment named.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from canaryctl.errors import InvalidInput

__all__ = [
    "FROM_ENVIRONMENT",
    "OutputReferenceError",
    "OutputsSource",
    "TerraformOutputs",
    "resolve",
]

FROM_ENVIRONMENT = "fromEnvironment"
OutputsSource = Mapping[str, Mapping[str, Any]] | Callable[[str], Mapping[str, Any]]

_NAME = r"[A-Za-z0-9_-]+"
_REF = re.compile(
    r"\$(\$?)\{env\.(" + _NAME + r")\.outputs\.([A-Za-z0-9_]+)((?:\.[A-Za-z0-9_-]+|\[\d+\])*)\}"
)
_STEP = re.compile(r"\.([A-Za-z0-9_-]+)|\[(\d+)\]")

KeyPath = tuple[str | int, ...]


class OutputReferenceError(InvalidInput):
    """A reference to an environment output could not be resolved. ``key_path`` is where in
    the resolved document it was (e.g. ``("platform", "listenerArn")``), so a config loader
    can point at the file's line."""

    def __init__(self, key_path: KeyPath, problem: str) -> None:
        self.key_path, self.problem = key_path, problem
        where = ".".join(str(k) for k in key_path)
        super().__init__(f"{where}: {problem}" if where else problem)


class _Resolver:
    def __init__(self, source: OutputsSource) -> None:
        self.source = source
        self.cache: dict[str, Mapping[str, Any]] = {}

    def outputs(self, env: str, path: KeyPath) -> Mapping[str, Any]:
        if env not in self.cache:
            if callable(self.source):
                try:
                    self.cache[env] = self.source(env)
                except OutputReferenceError:
                    raise
                except InvalidInput as exc:  # e.g. no such environment directory
                    raise OutputReferenceError(path, str(exc)) from None
            elif env in self.source:
                self.cache[env] = self.source[env]
            else:
                known = ", ".join(sorted(self.source)) or "none"
                raise OutputReferenceError(path, f"unknown environment {env!r} (known: {known})")
        return self.cache[env]

    def output(self, env: str, name: str, path: KeyPath) -> Any:
        outputs = self.outputs(env, path)
        if name not in outputs:
            known = ", ".join(sorted(outputs)) or "none: run `canaryctl env up " + env + "`"
            raise OutputReferenceError(
                path, f"environment {env!r} has no output {name!r} (outputs: {known})"
            )
        return outputs[name]

    def walk(self, value: Any, path: KeyPath) -> Any:
        if isinstance(value, str):
            return self.string(value, path)
        if isinstance(value, Mapping):
            return self.mapping(value, path)
        if isinstance(value, list | tuple):
            return [self.walk(v, (*path, i)) for i, v in enumerate(value)]
        return value

    def mapping(self, value: Mapping[Any, Any], path: KeyPath) -> dict[Any, Any]:
        out = {k: self.walk(v, (*path, k)) for k, v in value.items() if k != FROM_ENVIRONMENT}
        if FROM_ENVIRONMENT not in value:
            return out
        env = value[FROM_ENVIRONMENT]
        where = (*path, FROM_ENVIRONMENT)
        if not isinstance(env, str) or not re.fullmatch(_NAME, env):
            raise OutputReferenceError(where, f"expected an environment name, got {env!r}")
        kind = out.get("type")
        if not isinstance(kind, str):
            raise OutputReferenceError(where, "needs a `type` beside it (ecs, local, ...)")
        block = self.output(env, f"canaryctl_{kind}", where)
        if not isinstance(block, Mapping):
            raise OutputReferenceError(where, f"output canaryctl_{kind} of {env!r} is not a map")
        return {**block, **out}

    def string(self, text: str, path: KeyPath) -> Any:
        whole = _REF.fullmatch(text)
        if whole and not whole.group(1):
            return self.reference(whole, path)

        def substitute(match: re.Match[str]) -> str:
            if match.group(1):  # $${...} is a literal ${...}
                return match.group(0)[1:]
            found = self.reference(match, path)
            if isinstance(found, Mapping | list):
                raise OutputReferenceError(
                    path, f"{match.group(0)} is a {type(found).__name__}, not text"
                )
            return str(found)

        return _REF.sub(substitute, text)

    def reference(self, match: re.Match[str], path: KeyPath) -> Any:
        env, name, rest = match.group(2), match.group(3), match.group(4)
        found = self.output(env, name, path)
        for step in _STEP.finditer(rest):
            key, index = step.group(1), step.group(2)
            try:
                found = found[int(index)] if index is not None else found[key]
            except (KeyError, IndexError, TypeError):
                raise OutputReferenceError(
                    path, f"{match.group(0)}: output {name!r} has no {step.group(0)!r}"
                ) from None
        return found


def resolve(value: Any, env_outputs: OutputsSource) -> Any:
    """``value`` with every environment-output reference replaced (see the module doc).

    Mappings and lists are copied, never changed in place. Raises ``OutputReferenceError``
    (an ``InvalidInput``, exit 2) for an unknown environment or output, naming where.
    """
    return _Resolver(env_outputs).walk(value, ())


class TerraformOutputs:
    """``name -> outputs`` by running Terraform in ``root/name`` (once per name)."""

    def __init__(self, root: Path | None = None) -> None:
        from canaryctl.infra.environments import DEFAULT_ROOT

        self.root = DEFAULT_ROOT if root is None else root
        self._cache: dict[str, dict[str, Any]] = {}

    def __call__(self, name: str) -> dict[str, Any]:
        if name not in self._cache:
            from canaryctl.infra.environments import find_environment

            self._cache[name] = find_environment(name, self.root).output_values()
        return self._cache[name]
