"""YAML loading keeps each key's line, refuses duplicates, and reports file:line."""

from __future__ import annotations

import pytest

from canaryctl.config.yamlload import line_of, load_yaml
from canaryctl.errors import ConfigError


def test_every_key_and_item_knows_its_line(tmp_path):
    f = tmp_path / "p.yaml"
    f.write_text("a: 1\nb:\n  c: 2\n  d:\n    - x\n    - {e: 3}\n")
    data = load_yaml(f)
    assert line_of(data, ["a"]) == 1
    assert line_of(data, ["b", "c"]) == 3
    assert line_of(data, ["b", "d", 1]) == 6
    assert line_of(data, ["b", "d", 1, "e"]) == 6
    assert line_of(data, ["b", "missing"]) == 2  # the nearest existing key


@pytest.mark.parametrize(("text", "line", "problem"), [
    ("a: 1\nb: 2\na: 3\n", 3, "duplicate key (first at line 1)"),
    ("a: [1, 2\nb: 3\n", 2, "invalid YAML"),
    ("- 1\n- 2\n", 1, "must be a mapping"),
])  # fmt: skip
def test_problems_name_the_line(tmp_path, text, line, problem):
    f = tmp_path / "p.yaml"
    f.write_text(text)
    with pytest.raises(ConfigError) as info:
        load_yaml(f)
    assert info.value.line == line and problem in str(info.value)
    assert str(info.value).startswith(f"{f}:{line}: ")


def test_missing_and_empty_files(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        load_yaml(tmp_path / "nope.yaml")
    (tmp_path / "empty.yaml").write_text("# nothing\n")
    with pytest.raises(ConfigError, match="is empty"):
        load_yaml(tmp_path / "empty.yaml")
