"""The local state store: JSON files under a directory (``.canaryctl/`` by default).

    <dir>/deployments/<id>.json         one record per deployment (atomic replace)
    <dir>/requests/<id>/<t>-<rand>.json control requests, one file each (never rewritten)
    <dir>/locks/<service>.lock          the per-service lock: holder, pid, host, time

Writes go to a temporary file that is fsynced and renamed over the target, then the directory
is fsynced: a crash leaves either the old or the new record, never half of one.

Records are written conditionally: a record carries its revision (``rev``, 1 on creation, one
more on every save), and a save replaces the file only if the file still holds the revision the
record was read at (checked under an ``flock`` of the ``deployments`` directory). So when another
process took a deployment over (``abort --force``, a concurrent ``resume``), the old writer's next
save raises ``RecordConflict`` instead of overwriting the newer record.

The lock file is written whole to a temporary file, then ``link``ed into place, which fails if
the lock exists: two processes cannot both take it, and a full disk leaves no empty lock behind.
A lock whose process is gone is reported as stale (with how to finish the deployment), never
silently taken over: only its holder (``resume`` of that deployment) re-acquires it.
"""

from __future__ import annotations

import builtins
import contextlib
import fcntl
import json
import os
import re
import secrets
import tempfile
import time
from pathlib import Path
from typing import Any

from canaryctl.errors import (
    DeploymentNotFound,
    InvalidInput,
    LockHeld,
    RecordConflict,
    StateError,
)
from canaryctl.state.liveness import identity, is_alive

__all__ = ["DEFAULT_STATE_DIR", "FileStateStore", "LockHeldBy", "state_dir"]

DEFAULT_STATE_DIR = ".canaryctl"
_SAFE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")


class LockHeldBy(LockHeld):
    """``LockHeld`` with the lock file's process, and whether that process is gone (stale)."""

    def __init__(
        self, service: str, holder: str, since: str | None, *, pid: Any, host: Any, stale: bool
    ) -> None:
        super().__init__(service, holder, since)
        self.pid, self.host, self.stale = pid, host, stale


def state_dir(explicit: str | None = None) -> Path:
    """``--state-dir``, else ``$CANARYCTL_STATE_DIR``, else ``./.canaryctl``."""
    return Path(explicit or os.environ.get("CANARYCTL_STATE_DIR") or DEFAULT_STATE_DIR)


def _safe(name: str, what: str) -> str:
    if not _SAFE.match(name):
        raise InvalidInput(f"invalid {what} {name!r}")
    return name


def _fsync_dir(path: Path) -> None:
    with contextlib.suppress(OSError):  # some filesystems cannot open directories
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _write_atomic(path: Path, data: dict[str, Any], *, exclusive: bool = False) -> None:
    """Write ``data`` to a fsynced temporary file, then rename it over ``path`` — or, with
    ``exclusive``, link it to ``path`` (``FileExistsError`` if ``path`` exists)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(data, f, indent=1, sort_keys=True)
            f.flush()
            os.fsync(f.fileno())
        if exclusive:
            os.link(tmp, path)
            os.unlink(tmp)
        else:
            os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    _fsync_dir(path.parent)


def _read(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise StateError(f"corrupt state file {path}: {exc}") from None
    if not isinstance(data, dict):
        raise StateError(f"corrupt state file {path}: not an object")
    return data


class FileStateStore:
    """StateStore on a local directory."""

    def __init__(self, root: Path | str) -> None:
        self.root = Path(root)
        self._revs: dict[str, int] = {}  # deployment id → revision this store last read/wrote

    # records -----------------------------------------------------------------------------
    def _record_path(self, deployment_id: str) -> Path:
        return self.root / "deployments" / f"{_safe(deployment_id, 'deployment id')}.json"

    def save(self, record: dict[str, Any]) -> None:
        """Write ``record`` if the file still holds the revision it was read at (its ``rev``,
        else the one this store last read or wrote; none: the file must not exist), and set
        its ``rev`` to the new one. ``RecordConflict`` otherwise."""
        deployment_id = str(record["id"])
        path = self._record_path(deployment_id)
        expected = record.get("rev", self._revs.get(deployment_id))
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            guard = os.open(path.parent, os.O_RDONLY)
            try:
                fcntl.flock(guard, fcntl.LOCK_EX)  # released when the descriptor closes
                try:
                    on_disk: dict[str, Any] | None = _read(path)
                except FileNotFoundError:
                    on_disk = None
                current = None if on_disk is None else int(on_disk.get("rev") or 0)
                if current is not None and current != expected:
                    raise RecordConflict(deployment_id, on_disk)
                rev = (current or 0) + 1
                _write_atomic(path, {**record, "rev": rev})
            finally:
                os.close(guard)
        except OSError as exc:
            raise StateError(f"cannot save deployment {deployment_id}: {exc}") from None
        record["rev"] = self._revs[deployment_id] = rev

    def load(self, deployment_id: str) -> dict[str, Any]:
        path = self._record_path(deployment_id)
        try:
            return self._seen(_read(path))
        except FileNotFoundError:
            raise DeploymentNotFound(
                f"no deployment {deployment_id!r} in {self.root} (see `canaryctl history`)"
            ) from None
        except OSError as exc:
            raise StateError(f"cannot read {path}: {exc}") from None

    def list(self, service: str | None = None, limit: int = 20) -> list[dict[str, Any]]:
        records = []
        for path in (self.root / "deployments").glob("*.json"):
            try:
                record = _read(path)
            except (OSError, StateError):
                continue  # a record being replaced or damaged must not hide the others
            if service is None or record.get("service") == service:
                records.append(self._seen(record))
        records.sort(key=lambda r: (r.get("created_at") or 0, r.get("id", "")), reverse=True)
        return records[:limit]

    def _seen(self, record: dict[str, Any]) -> dict[str, Any]:
        record["rev"] = int(record.get("rev") or 0)  # records written before revisions: 0
        self._revs[str(record.get("id"))] = record["rev"]
        return record

    # lock --------------------------------------------------------------------------------
    def _lock_path(self, service: str) -> Path:
        return self.root / "locks" / f"{_safe(service, 'service name')}.lock"

    def _lock_info(self, service: str) -> dict[str, Any] | None:
        try:
            return _read(self._lock_path(service))
        except FileNotFoundError:
            return None
        except StateError:
            # Damaged (a lock is linked into place whole, so never half-written).
            return {"holder": "unknown (unreadable lock file)", "pid": None}

    def acquire(self, service: str, holder: str) -> None:
        path = self._lock_path(service)
        path.parent.mkdir(parents=True, exist_ok=True)
        info = {"holder": holder, **identity(), "time": time.time()}
        try:
            _write_atomic(path, info, exclusive=True)
        except FileExistsError:
            current = self._lock_info(service) or {}
            if current.get("holder") == holder:
                _write_atomic(path, info)  # resume by the holder: the lock is now ours
                return
            raise self._held(service, current) from None
        except OSError as exc:
            raise StateError(f"cannot lock service {service!r} in {path.parent}: {exc}") from None

    def _held(self, service: str, current: dict[str, Any]) -> LockHeldBy:
        since = current.get("time")
        when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(since)) if since else None
        return LockHeldBy(
            service,
            str(current.get("holder")),
            when,
            pid=current.get("pid"),
            host=current.get("host"),
            stale=is_alive(current) is False,
        )

    def release(self, service: str, holder: str) -> None:
        current = self._lock_info(service)
        if current and current.get("holder") == holder:
            with contextlib.suppress(FileNotFoundError):
                self._lock_path(service).unlink()
            _fsync_dir(self._lock_path(service).parent)

    def holder(self, service: str) -> str | None:
        current = self._lock_info(service)
        return str(current["holder"]) if current else None

    def lock_info(self, service: str) -> dict[str, Any] | None:
        """The lock file's content (holder, pid, host, time), or None when unlocked."""
        return self._lock_info(service)

    # control requests --------------------------------------------------------------------
    def _requests_dir(self, deployment_id: str) -> Path:
        return self.root / "requests" / _safe(deployment_id, "deployment id")

    def post_request(self, deployment_id: str, request: dict[str, Any]) -> None:
        request = {"id": secrets.token_hex(6), "at": time.time(), **request}
        name = f"{time.time_ns():020d}-{request['id']}.json"
        try:
            _write_atomic(self._requests_dir(deployment_id) / name, request)
        except OSError as exc:
            raise StateError(f"cannot post a request for {deployment_id}: {exc}") from None

    def requests(self, deployment_id: str) -> builtins.list[dict[str, Any]]:
        out = []
        for path in sorted(self._requests_dir(deployment_id).glob("*.json")):
            with contextlib.suppress(OSError, StateError):
                out.append(_read(path))
        return out
