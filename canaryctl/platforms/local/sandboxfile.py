"""``<dir>/sandbox.json``: how clients find a running sandbox, and whether one runs.

The supervisor holds an exclusive ``flock`` on ``<dir>/supervisor.lock`` for its whole life, so
"is a sandbox running here" never depends on a pid that may have been reused: a stale
``sandbox.json`` left by a killed supervisor is recognised as stale.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import secrets
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from canaryctl.errors import InvalidInput

__all__ = [
    "LOCK_FILE",
    "SANDBOX_FILE",
    "SandboxInfo",
    "load_secrets",
    "lock_is_held",
    "no_sandbox",
    "running_sandbox",
]

SANDBOX_FILE = "sandbox.json"
LOCK_FILE = "supervisor.lock"
SECRETS_FILE = "secrets.json"


@dataclass
class SandboxInfo:
    """What ``sandbox.json`` holds. ``token`` guards the control API's mutating calls."""

    dir: str
    pid: int
    status: str  # starting | ready | stopping
    service: str = "gamebackend"
    router_url: str = ""
    control_url: str = ""
    metrics_url: str = ""
    token: str = ""
    admin_key: str = ""
    database_url: str = ""
    redis_url: str = ""
    started_at: float = 0.0
    log: str = ""
    process_groups: list[int] = field(default_factory=list)

    @classmethod
    def load(cls, directory: Path) -> SandboxInfo | None:
        path = directory / SANDBOX_FILE
        try:
            data = json.loads(path.read_text())
        except (OSError, ValueError):
            return None
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        try:
            return cls(**known)
        except TypeError:
            return None

    def save(self, directory: Path) -> None:
        # Atomic and private: the file holds the control token and the backend's admin key.
        path = directory / SANDBOX_FILE
        tmp = path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            json.dump(asdict(self), fh, indent=2)
        tmp.replace(path)

    def public(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("token")
        data.pop("admin_key")
        return data


def lock_is_held(directory: Path) -> bool:
    """True while a supervisor holds ``<dir>/supervisor.lock``."""
    path = directory / LOCK_FILE
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)  # closing drops a lock we may just have taken
    return False


def running_sandbox(directory: Path) -> SandboxInfo | None:
    """The sandbox running in ``directory``, or None (absent, stale or stopped)."""
    info = SandboxInfo.load(directory)
    if info is None or not lock_is_held(directory):
        return None
    return info


def no_sandbox(directory: Path | str) -> InvalidInput:
    return InvalidInput(f"no sandbox running in {directory} (run `canaryctl sandbox up`)")


def load_secrets(directory: Path) -> dict[str, str]:
    """The sandbox's admin key and token secret, created once and reused on the next start so
    players registered before a restart keep valid tokens."""
    path = directory / SECRETS_FILE
    with contextlib.suppress(OSError, ValueError):
        data = json.loads(path.read_text())
        if isinstance(data, dict) and {"admin_key", "token_secret"} <= data.keys():
            return {k: str(v) for k, v in data.items()}
    data = {"admin_key": secrets.token_urlsafe(24), "token_secret": secrets.token_urlsafe(32)}
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        json.dump(data, fh)
    return data
