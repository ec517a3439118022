"""Child processes of the sandbox, each in its own process group so none is left behind.

A backend process may fork workers; stopping signals the whole group: SIGTERM, then SIGKILL
after a timeout (a hung child cannot keep the sandbox from stopping). On Linux each child also
gets SIGTERM when the supervisor dies (``PR_SET_PDEATHSIG``), so even a SIGKILLed supervisor
leaves no backend running; ``sandbox down`` kills the recorded groups as a last resort.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

__all__ = ["Proc", "free_port", "kill_group", "pid_alive"]

_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:  # pragma: no cover - runs in the child between fork and exec
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError):
            ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


def free_port(host: str = "127.0.0.1") -> int:
    """A port free right now. The backend binds it a moment later; the gap is accepted because
    ``gamebackend serve`` takes a fixed ``--port``."""
    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def kill_group(pgid: int, sig: int = signal.SIGKILL) -> bool:
    """Signal a whole process group; False when it no longer exists."""
    try:
        os.killpg(pgid, sig)
    except ProcessLookupError:
        return False
    except PermissionError:
        return False
    return True


class Proc:
    """One child process (its own session and group), its log file and its exit."""

    def __init__(
        self,
        name: str,
        argv: Sequence[str],
        env: dict[str, str],
        log_path: Path,
        port: int | None = None,
        die_with_parent: bool = True,
    ) -> None:
        self.name = name
        self.argv = list(argv)
        self.env = env
        self.log_path = log_path
        self.port = port
        self.die_with_parent = die_with_parent
        self.popen: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "ab") as log:
            self.popen = subprocess.Popen(
                self.argv,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                close_fds=True,
                preexec_fn=_die_with_parent if self.die_with_parent else None,
            )

    @property
    def pid(self) -> int:
        return self.popen.pid if self.popen else 0

    @property
    def exit_code(self) -> int | None:
        return self.popen.poll() if self.popen else None

    def alive(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    async def stop(self, timeout: float = 10.0) -> int | None:
        """SIGTERM to the group, SIGKILL after ``timeout``; the group is gone when this returns."""
        if self.popen is None:
            return None
        pgid = self.popen.pid  # leader of its own session: pgid == pid
        if self.popen.poll() is None:
            kill_group(pgid, signal.SIGTERM)
            loop = asyncio.get_running_loop()
            deadline = loop.time() + timeout
            while self.popen.poll() is None and loop.time() < deadline:
                await asyncio.sleep(0.05)
        # Whatever is left of the group (the leader, or a worker it did not reap) goes now.
        kill_group(pgid, signal.SIGKILL)
        if self.popen.poll() is None:
            await asyncio.to_thread(self.popen.wait)
        return self.popen.returncode

    def tail(self, lines: int = 5) -> str:
        """The last lines of the process's output, for error messages."""
        try:
            with open(self.log_path, "rb") as fh:
                fh.seek(0, os.SEEK_END)
                fh.seek(max(0, fh.tell() - 4096))
                text = fh.read().decode(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.strip().splitlines()[-lines:])
