"""Finding environments and reading ``--var`` flags."""

from __future__ import annotations

from pathlib import Path

import pytest

from canaryctl.errors import InvalidInput
from canaryctl.infra.environments import find_environment, known_environments, parse_vars


def _env(root: Path, name: str) -> None:
    (root / name).mkdir(parents=True)
    (root / name / "main.tf").write_text('resource "terraform_data" "x" {}\n')


def test_known_environments_are_directories_with_tf_files(tmp_path: Path) -> None:
    _env(tmp_path, "staging")
    _env(tmp_path, "local")
    (tmp_path / "notes").mkdir()
    assert known_environments(tmp_path) == ["local", "staging"]
    assert find_environment("local", tmp_path).directory == tmp_path / "local"


@pytest.mark.parametrize("name", ["prod", "../staging", "", "notes"])
def test_unknown_environment_names_the_directory(tmp_path: Path, name: str) -> None:
    _env(tmp_path, "staging")
    (tmp_path / "notes").mkdir()
    with pytest.raises(InvalidInput) as info:
        find_environment(name, tmp_path)
    assert f"{tmp_path / name}/" in str(info.value) and "known: staging" in str(info.value)
    assert info.value.exit_code == 2


def test_repository_environments_exist(repo_root: Path) -> None:
    root = repo_root / "terraform" / "environments"
    assert known_environments(root) == ["local", "production", "staging"]


def test_parse_vars() -> None:
    assert parse_vars(["replicas=3", "url=http://x/?a=b"]) == {
        "replicas": "3",
        "url": "http://x/?a=b",
    }


@pytest.mark.parametrize("pair", ["replicas", "=3", "bad name=1"])
def test_malformed_var_is_refused(pair: str) -> None:
    with pytest.raises(InvalidInput, match=r"--var: expected NAME=VALUE"):
        parse_vars([pair])
