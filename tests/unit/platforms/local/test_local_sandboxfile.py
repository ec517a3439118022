"""Whether a sandbox runs in a directory is decided by the supervisor's lock, not by a pid."""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

import pytest

from canaryctl.errors import InvalidInput
from canaryctl.platforms.local.client import ControlClient
from canaryctl.platforms.local.sandboxfile import (
    LOCK_FILE,
    SandboxInfo,
    load_secrets,
    running_sandbox,
)


def test_stale_sandbox_file_is_not_a_running_sandbox(tmp_path: Path):
    SandboxInfo(dir=str(tmp_path), pid=os.getpid(), status="ready").save(tmp_path)
    assert running_sandbox(tmp_path) is None
    with pytest.raises(
        InvalidInput, match=r"no sandbox running in .* \(run `canaryctl sandbox up`\)"
    ):
        ControlClient.for_dir(tmp_path)


def test_held_lock_and_file_mean_running(tmp_path: Path):
    info = SandboxInfo(dir=str(tmp_path), pid=os.getpid(), status="ready", token="t")
    info.save(tmp_path)
    assert (tmp_path / "sandbox.json").stat().st_mode & 0o777 == 0o600
    fd = os.open(tmp_path / LOCK_FILE, os.O_RDWR | os.O_CREAT)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        found = running_sandbox(tmp_path)
        assert found is not None and found.token == "t"
    finally:
        os.close(fd)
    assert running_sandbox(tmp_path) is None


def test_secrets_are_created_once_and_reused(tmp_path: Path):
    first = load_secrets(tmp_path)
    assert load_secrets(tmp_path) == first
    assert len(first["admin_key"]) >= 24
