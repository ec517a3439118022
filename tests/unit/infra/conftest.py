"""Fixtures for the Terraform and infra tests: parsed HCL modules and small executables."""

from __future__ import annotations

import copy
import json
import stat
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import hcl2
import pytest
from hcl2 import SerializationOptions

REPO = Path(__file__).resolve().parents[3]
_OPTIONS = SerializationOptions(
    with_comments=False, explicit_blocks=False, strip_string_quotes=True
)


@dataclass
class Module:
    """The blocks of one Terraform directory, merged over its .tf files."""

    resources: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    data: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    modules: dict[str, dict[str, Any]] = field(default_factory=dict)
    outputs: dict[str, dict[str, Any]] = field(default_factory=dict)
    variables: dict[str, dict[str, Any]] = field(default_factory=dict)
    locals: dict[str, Any] = field(default_factory=dict)
    terraform: list[dict[str, Any]] = field(default_factory=list)
    providers: list[dict[str, Any]] = field(default_factory=list)

    def add(self, doc: dict[str, Any]) -> None:
        for kind, target in (("resource", self.resources), ("data", self.data)):
            for entry in doc.get(kind, []):
                for rtype, named in entry.items():
                    target.setdefault(rtype, {}).update(named)
        for key, target in (("module", self.modules), ("output", self.outputs)):
            for entry in doc.get(key, []):
                target.update(entry)
        for entry in doc.get("variable", []):
            self.variables.update(entry)
        for entry in doc.get("locals", []):
            self.locals.update(entry)
        self.terraform.extend(doc.get("terraform", []))
        self.providers.extend(doc.get("provider", []))


_PARSED: dict[str, dict[str, Any]] = {}


def _parse(text: str) -> dict[str, Any]:
    # python-hcl2 is slow (a lark grammar); the same module text is parsed by many tests.
    if text not in _PARSED:
        _PARSED[text] = hcl2.loads(text, serialization_options=_OPTIONS)
    return copy.deepcopy(_PARSED[text])


def parse_module(files: dict[str, str]) -> Module:
    module = Module()
    for text in files.values():
        module.add(_parse(text))
    return module


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO


@pytest.fixture(scope="session")
def tf_sources() -> Callable[[str], dict[str, str]]:
    """``"modules/alb"`` → ``{file name: text}`` of that directory's .tf files."""

    def sources(rel: str) -> dict[str, str]:
        directory = REPO / "terraform" / rel
        files = {p.name: p.read_text() for p in sorted(directory.glob("*.tf"))}
        assert files, f"no .tf files in {directory}"
        return files

    return sources


@pytest.fixture(scope="session")
def hcl_module() -> Callable[[dict[str, str]], Module]:
    """Parse ``{file name: text}`` into a ``Module`` (used on real and on mutated sources)."""
    return parse_module


@pytest.fixture
def recording_executable(tmp_path: Path) -> Callable[[str, str], tuple[Path, Path]]:
    """``(name, stdout)`` → an executable that logs its argv (one JSON list per line) and
    prints ``stdout``; returns (executable, log)."""

    def make(name: str, stdout: str) -> tuple[Path, Path]:
        directory = tmp_path / f"bin-{name}"
        directory.mkdir(exist_ok=True)
        log = directory / "argv.log"
        exe = directory / name
        exe.write_text(
            f"#!{sys.executable}\n"
            "import json, sys\n"
            f"open({str(log)!r}, 'a').write(json.dumps(sys.argv[1:]) + '\\n')\n"
            f"sys.stdout.write({stdout!r})\n"
        )
        exe.chmod(exe.stat().st_mode | stat.S_IXUSR)
        return exe, log

    return make


def read_argv_log(log: Path) -> list[list[str]]:
    return [json.loads(line) for line in log.read_text().splitlines()]


@pytest.fixture
def argv_log() -> Callable[[Path], list[list[str]]]:
    return read_argv_log
