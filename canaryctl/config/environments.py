"""Environment outputs in a pipeline: ``${env.NAME.outputs.KEY}`` references and
``fromEnvironment: NAME`` blocks, resolved before validation (canaryctl/infra/outputs.py).

Resolution keeps the file's lines: a value that came from an environment is reported at the
line of the reference (or of the ``fromEnvironment`` key that brought it in), so a bad
output still reads ``pipeline.yaml:12: platform.cluster: …``.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from canaryctl.config.diagnostics import Source
from canaryctl.config.yamlload import LineDict, LineList
from canaryctl.errors import CanaryError, InvalidInput

__all__ = ["EnvironmentOutputs", "OutputsSource", "environments_root", "resolve_outputs"]

# Environment name → its outputs ({name: value}), or a callable name → outputs.
OutputsSource = Mapping[str, Mapping[str, Any]] | Callable[[str], Mapping[str, Any]]

ENVIRONMENTS_VAR = "CANARYCTL_ENVIRONMENTS"


def environments_root(explicit: Path | str | None = None) -> Path:
    """``explicit``, else ``$CANARYCTL_ENVIRONMENTS``, else ``terraform/environments`` (as
    ``canaryctl env --environments``)."""
    from canaryctl.infra.environments import DEFAULT_ROOT

    return Path(explicit or os.environ.get(ENVIRONMENTS_VAR) or DEFAULT_ROOT)


class EnvironmentOutputs:
    """``name -> outputs`` through Terraform; a Terraform failure becomes an input problem
    naming the environment (the resolver then names the pipeline line)."""

    def __init__(self, root: Path) -> None:
        from canaryctl.infra.outputs import TerraformOutputs

        self._terraform = TerraformOutputs(root)

    def __call__(self, name: str) -> Mapping[str, Any]:
        try:
            return self._terraform(name)
        except InvalidInput:
            raise
        except CanaryError as exc:
            raise InvalidInput(f"cannot read the outputs of environment {name!r}: {exc}") from None


def _mentions_environment(value: Any) -> bool:
    if isinstance(value, str):
        return "${env." in value or "$${" in value
    if isinstance(value, Mapping):
        return "fromEnvironment" in value or any(_mentions_environment(v) for v in value.values())
    if isinstance(value, list):
        return any(_mentions_environment(v) for v in value)
    return False


def _relined(value: Any, original: Any, line: int | None) -> Any:
    """``value`` (resolved) rebuilt as LineDict/LineList with the lines of ``original``; keys
    that were not in the file take the line of ``fromEnvironment`` (or of their parent)."""
    if isinstance(value, Mapping):
        out = LineDict()
        out.line = getattr(original, "line", None) or line
        lines = original.key_lines if isinstance(original, LineDict) else {}
        brought = lines.get("fromEnvironment", out.line)
        for key, child in value.items():
            known = isinstance(original, Mapping) and key in original
            out[key] = _relined(child, original[key] if known else None, lines.get(key, brought))
            at = lines.get(key, brought) if known else brought
            if at is not None:
                out.key_lines[key] = at
        return out
    if isinstance(value, list):
        items = LineList()
        items.line = getattr(original, "line", None) or line
        item_lines = original.item_lines if isinstance(original, LineList) else []
        for i, child in enumerate(value):
            at = item_lines[i] if i < len(item_lines) else items.line
            before = original[i] if isinstance(original, list) and i < len(original) else None
            items.append(_relined(child, before, at))
            items.item_lines.append(at or 0)
        return items
    return value


def resolve_outputs(
    source: Source, root: Path | None = None, outputs: OutputsSource | None = None
) -> None:
    """Replace the references in ``source.data`` (a new document, lines kept).

    ``outputs`` as ``canaryctl.infra.outputs.resolve`` takes them; by default Terraform's, in
    the environments under ``root`` (``terraform output`` once per environment named, and only
    when one is named)."""
    if not _mentions_environment(source.data):
        return
    from canaryctl.infra.outputs import OutputReferenceError, resolve

    try:
        found = outputs if outputs is not None else EnvironmentOutputs(environments_root(root))
        resolved = resolve(source.data, found)
    except OutputReferenceError as exc:
        raise source.error(exc.key_path, exc.problem) from None
    source.data = _relined(resolved, source.data, source.data.line)
