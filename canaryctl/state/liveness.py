"""Who is running: a process identity that survives pid reuse, and a liveness check.

Used for the lock file (a stale lock is one whose process is gone) and for the deployment
record's ``engine`` (when no engine is alive, ``abort``/``promote`` act themselves).
"""

from __future__ import annotations

import os
import socket
from typing import Any

__all__ = ["identity", "is_alive", "process_start"]


def _stat(pid: int) -> list[str] | None:
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as f:
            stat = f.read()
    except OSError:
        return None
    # The command name (field 2) may contain spaces and parentheses; fields resume after ')'.
    return stat[stat.rfind(")") + 2 :].split()


def process_start(pid: int) -> str | None:
    """The kernel's start time of ``pid`` (clock ticks since boot), or None if unknown.

    Together with the pid it names a process uniquely: a reused pid has another start time."""
    fields = _stat(pid)
    return fields[19] if fields and len(fields) > 19 else None


def identity() -> dict[str, Any]:
    """This process: pid, host and start time."""
    pid = os.getpid()
    return {"pid": pid, "host": socket.gethostname(), "start": process_start(pid)}


def is_alive(who: dict[str, Any] | None) -> bool | None:
    """True/False for a process on this host; None when it runs elsewhere (cannot tell)."""
    if not who or not who.get("pid"):
        return False
    if who.get("host") != socket.gethostname():
        return None
    pid = int(who["pid"])
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # exists, owned by someone else
    fields = _stat(pid)
    if fields is None:
        return True  # no /proc: the signal check is all we have
    if fields[0] in ("Z", "X"):
        return False  # exited, not yet reaped by its parent
    start = who.get("start")
    return start is None or len(fields) <= 19 or fields[19] == start
