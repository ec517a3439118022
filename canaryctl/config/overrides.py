"""``--set PATH=VALUE``: change a loaded pipeline document before it is validated.

PATH is dotted keys into the pipeline file (``analysis.window``, ``steps.1.analyze.duration``,
``metrics.url``); numbers index lists. VALUE is read as a YAML scalar (``30s``, ``10``,
``true``). Every value set this way remembers its flag, so a problem with it is reported as
``--set analysis.window=5x: analysis.window: invalid duration …`` rather than as a file line.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import yaml

from canaryctl.config.yamlload import LineDict
from canaryctl.errors import InvalidInput

__all__ = ["apply_sets", "parse_set"]

Path_ = tuple[str | int, ...]


def parse_set(item: str) -> tuple[Path_, Any]:
    """``analysis.window=30s`` → (("analysis", "window"), "30s")."""
    path, sep, raw = item.partition("=")
    if not sep or not path.strip():
        raise InvalidInput(f"--set {item!r}: expected PATH=VALUE, e.g. analysis.window=30s")
    parts: list[str | int] = []
    for segment in path.strip().split("."):
        if not segment:
            raise InvalidInput(f"--set {item}: empty segment in {path!r}")
        parts.append(int(segment) if segment.isdigit() else segment)
    try:
        value = yaml.safe_load(raw) if raw.strip() else None
    except yaml.YAMLError:
        value = raw  # not YAML: take the text as it is
    return tuple(parts), value


def _name(path: Path_) -> str:
    return ".".join(str(p) for p in path)


def _child(node: Any, part: str | int, flag: str, path: Path_) -> Any:
    if isinstance(node, dict):
        if part not in node or node[part] is None:
            node[part] = LineDict()
        child = node[part]
    elif isinstance(node, list):
        child = node[_index(node, part, flag, path)]
    else:
        raise InvalidInput(f"{flag}: {_name(path[:-1])} is not a mapping or a list")
    if not isinstance(child, dict | list):
        raise InvalidInput(f"{flag}: {_name(path)} is a single value, not a mapping or a list")
    return child


def _index(node: list[Any], part: str | int, flag: str, path: Path_) -> int:
    if not isinstance(part, int):
        raise InvalidInput(f"{flag}: {_name(path[:-1])} is a list; index it with a number")
    if part >= len(node):
        raise InvalidInput(
            f"{flag}: {_name(path[:-1])} has {len(node)} items (0..{len(node) - 1}); no item {part}"
        )
    return part


def apply_sets(data: LineDict, items: Iterable[str]) -> dict[tuple[Any, ...], str]:
    """Apply each ``--set`` in order; returns each changed path → its flag text."""
    origins: dict[tuple[Any, ...], str] = {}
    for item in items:
        path, value = parse_set(item)
        flag = f"--set {item}"
        node: Any = data
        for depth, part in enumerate(path[:-1]):
            node = _child(node, part, flag, path[: depth + 1])
        last = path[-1]
        if isinstance(node, list):
            node[_index(node, last, flag, path)] = value
        else:
            node[last] = value
        origins[path] = flag
    return origins
