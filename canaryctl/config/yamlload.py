"""YAML loading that remembers where every key came from.

``LineLoader`` is a ``yaml.SafeLoader`` whose mappings are ``LineDict`` (each key's line in
``key_lines``) and whose sequences are ``LineList`` (each item's line in ``item_lines``), so a
validation error anywhere in the document can be reported as ``file:line``. Duplicate keys are
an error here: YAML would silently keep the last one, hiding a typo'd override.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterator, Sequence
from pathlib import Path
from typing import Any

import yaml

from canaryctl.errors import ConfigError

__all__ = ["LineDict", "LineList", "LineLoader", "line_of", "load_yaml", "walk_loc"]


class LineDict(dict[Any, Any]):
    """A mapping that knows the line of itself and of each key (1-based)."""

    line: int | None = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.key_lines: dict[Any, int] = {}


class LineList(list[Any]):
    """A sequence that knows the line of itself and of each item (1-based)."""

    line: int | None = None

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.item_lines: list[int] = []


class LineLoader(yaml.SafeLoader):
    """SafeLoader that builds LineDict/LineList and rejects duplicate keys."""

    def __init__(self, stream: Any, path: str) -> None:
        super().__init__(stream)
        self.path = path


def _construct_mapping(loader: LineLoader, node: yaml.MappingNode) -> Iterator[LineDict]:
    data = LineDict()
    data.line = node.start_mark.line + 1
    yield data  # yielded first so recursive (anchored) structures resolve, as PyYAML does
    loader.flatten_mapping(node)
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        line = key_node.start_mark.line + 1
        if not isinstance(key, Hashable):
            raise ConfigError(loader.path, line, None, "a mapping key must be a plain value")
        if key in data:
            first = data.key_lines[key]
            raise ConfigError(loader.path, line, str(key), f"duplicate key (first at line {first})")
        data[key] = loader.construct_object(value_node, deep=True)
        data.key_lines[key] = line


def _construct_sequence(loader: LineLoader, node: yaml.SequenceNode) -> Iterator[LineList]:
    data = LineList()
    data.line = node.start_mark.line + 1
    yield data
    for item in node.value:
        data.append(loader.construct_object(item, deep=True))
        data.item_lines.append(item.start_mark.line + 1)


LineLoader.add_constructor("tag:yaml.org,2002:map", _construct_mapping)
LineLoader.add_constructor("tag:yaml.org,2002:seq", _construct_sequence)


def load_yaml(path: Path | str, what: str = "file") -> LineDict:
    """Load one YAML document whose top level must be a mapping; every problem is a
    ``ConfigError`` naming the file and line."""
    name = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(name, None, None, f"{what} not found") from None
    except IsADirectoryError:
        raise ConfigError(name, None, None, f"{what} is a directory, not a file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(name, None, None, f"cannot read {what}: {exc}") from None
    loader = LineLoader(text, name)
    try:
        data = loader.get_single_data()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        problem = " ".join(str(p) for p in (exc.problem, exc.context) if p) or str(exc)
        raise ConfigError(name, line, None, f"invalid YAML: {problem}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(name, None, None, f"invalid YAML: {exc}") from None
    finally:
        loader.dispose()
    if data is None:
        raise ConfigError(name, None, None, f"{what} is empty")
    if not isinstance(data, LineDict):
        raise ConfigError(name, 1, None, f"{what} must be a mapping of keys to values")
    return data


def walk_loc(data: Any, loc: Sequence[Any]) -> tuple[list[Any], int | None]:
    """Follow a pydantic error location through the loaded data.

    Returns the path elements that exist in the data (union tags and validator names in
    ``loc`` are skipped) and the line of the deepest one found."""
    found: list[Any] = []
    line = getattr(data, "line", None)
    node = data
    for part in loc:
        if isinstance(node, LineDict) and part in node:
            line = node.key_lines.get(part, line)
            node = node[part]
        elif isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, LineList) and isinstance(part, int) and 0 <= part < len(node):
            line = node.item_lines[part] if part < len(node.item_lines) else line
            node = node[part]
        elif isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
            node = node[part]
        else:
            continue
        found.append(part)
    return found, line


def line_of(data: Any, loc: Sequence[Any]) -> int | None:
    return walk_loc(data, loc)[1]
