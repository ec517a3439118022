"""Finding the backend's admin key for the load's server-side calls (credits)."""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import urlsplit

from canaryctl.platforms.local.sandboxfile import SandboxInfo

__all__ = ["sandbox_admin_key"]


def sandbox_admin_key(target: str, sandbox_dir: Path | str = ".sandbox") -> str | None:
    """``GAMEBACKEND_ADMIN_KEY`` from the environment, else the key of the sandbox whose router
    is ``target`` (read from ``<sandbox_dir>/sandbox.json``), else None (no credits)."""
    key = os.environ.get("GAMEBACKEND_ADMIN_KEY")
    if key:
        return key
    info = SandboxInfo.load(Path(sandbox_dir))
    if info is None or not info.admin_key:
        return None
    want, have = urlsplit(target), urlsplit(info.router_url)
    if (want.hostname, want.port) == (have.hostname, have.port):
        return info.admin_key
    return None
