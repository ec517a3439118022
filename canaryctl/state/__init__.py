"""Deployment records and the per-service lock (``base.StateStore``); ``file`` is the local
store. ``open_store`` picks the store for a ``--state-dir``."""

from __future__ import annotations

from canaryctl.state.base import StateStore
from canaryctl.state.file import FileStateStore, state_dir

__all__ = ["FileStateStore", "StateStore", "open_store", "state_dir"]


def open_store(directory: str | None = None) -> FileStateStore:
    """The file store under ``--state-dir`` / ``$CANARYCTL_STATE_DIR`` / ``./.canaryctl``."""
    return FileStateStore(state_dir(directory))
