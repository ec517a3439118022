"""Pytest plugin: detached local sandboxes (``canaryctl sandbox up --detach`` / ``down``).

Registered by ``tests/conftest.py`` (``pytest_plugins``); received through fixtures only:
``sandboxes`` (session) starts a sandbox in a given directory, its router on an ephemeral port,
and downs any still up at the end of the session.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

__all__ = ["Sandbox", "Sandboxes", "sandboxes"]

CANARYCTL = str(Path(sys.executable).with_name("canaryctl"))


@dataclass
class Sandbox:
    """A detached ``canaryctl sandbox`` (``sandbox.json`` in ``dir`` describes it)."""

    dir: Path
    info: dict[str, Any]

    @property
    def router_url(self) -> str:
        return str(self.info["router_url"])

    @property
    def control_url(self) -> str:
        return str(self.info["control_url"])

    def state(self) -> dict[str, Any]:
        """The control API's view (what ``sandbox status`` prints)."""
        return dict(httpx.get(f"{self.control_url}/v1/state", timeout=10).json())


def _sandbox_cli(*args: str, timeout: float = 240) -> subprocess.CompletedProcess[str]:
    cmd = [CANARYCTL, "sandbox", *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)


class Sandboxes:
    """``canaryctl sandbox up --detach`` (router on an ephemeral port) and ``down``."""

    def __init__(self) -> None:
        self._up: list[Sandbox] = []

    def up(self, directory: Path, replicas: int = 2) -> Sandbox:
        args = ("--dir", str(directory), "--port", "0", "--replicas", str(replicas))
        done = _sandbox_cli("up", "--detach", *args)
        if done.returncode != 0:
            _sandbox_cli("down", "--dir", str(directory))  # whatever it started before failing
            raise AssertionError(done.stdout + done.stderr)
        sandbox = Sandbox(directory, json.loads((directory / "sandbox.json").read_text()))
        self._up.append(sandbox)
        return sandbox

    def down(self, sandbox: Sandbox) -> subprocess.CompletedProcess[str]:
        if sandbox in self._up:
            self._up.remove(sandbox)
        return _sandbox_cli("down", "--dir", str(sandbox.dir))

    def down_all(self) -> None:
        for sandbox in reversed(self._up):
            self.down(sandbox)


@pytest.fixture(scope="session")
def sandboxes(
    scratch_dir: Callable[[str], Path],  # torn down after: a sandbox's directory outlives its down
) -> Iterator[Sandboxes]:
    """Starts and stops detached sandboxes; any still up at the end of the session is downed."""
    made = Sandboxes()
    yield made
    made.down_all()
