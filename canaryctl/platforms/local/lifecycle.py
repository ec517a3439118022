"""Starting, stopping and inspecting a sandbox from the command line.

``up`` runs the supervisor as a child in its own session (so the terminal's Ctrl-C reaches only
the CLI, which then stops the supervisor in order) and waits until it reports ready or fails.
``down`` asks the supervisor to stop; if it does not answer, it is signalled, and as a last
resort every process group recorded in ``sandbox.json`` is killed.
"""

from __future__ import annotations

import contextlib
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from canaryctl.errors import InvalidInput, PlatformError
from canaryctl.platforms.local.control import SandboxOptions
from canaryctl.platforms.local.processes import _die_with_parent, kill_group, pid_alive
from canaryctl.platforms.local.sandboxfile import (
    SANDBOX_FILE,
    SandboxInfo,
    lock_is_held,
    running_sandbox,
)
from canaryctl.platforms.local.supervisor import ERROR_FILE

__all__ = ["down", "status", "up", "validate"]

_VERSION = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


def validate(opts: SandboxOptions) -> None:
    """Refuse bad flags, a sandbox already running in the dir and a taken port, in one line."""
    if not 1 <= opts.replicas <= 16:
        raise InvalidInput(f"--replicas: must be 1..16, got {opts.replicas}")
    if not 0 <= opts.port <= 65535:
        raise InvalidInput(f"--port: must be 0..65535, got {opts.port}")
    if not _VERSION.match(opts.version):
        raise InvalidInput(f"--version: {opts.version!r} is not a valid version label")
    info = running_sandbox(opts.dir)
    if info is not None or lock_is_held(opts.dir):
        where = f" (router {info.router_url}, pid {info.pid})" if info else ""
        raise InvalidInput(
            f"a sandbox is already running in {opts.dir}{where}; "
            f"run `canaryctl sandbox down --dir {opts.dir}` first"
        )
    if opts.port:
        with socket.socket() as s:
            try:
                s.bind((opts.host, opts.port))
            except OSError:
                raise InvalidInput(
                    f"--port: {opts.host}:{opts.port} is already in use (choose another --port)"
                ) from None


def up(
    opts: SandboxOptions,
    *,
    detach: bool,
    on_ready: Callable[[SandboxInfo], None] = lambda info: None,
    timeout: float = 180.0,
) -> SandboxInfo:
    """Start the supervisor; with ``detach`` return once ready, else serve until interrupted."""
    validate(opts)
    opts.dir.mkdir(parents=True, exist_ok=True)
    with contextlib.suppress(FileNotFoundError):
        (opts.dir / ERROR_FILE).unlink()
    log_path = opts.dir / "supervisor.log"
    argv = [sys.executable, "-m", "canaryctl.platforms.local.supervisor", *opts.to_argv()]
    with open(log_path, "ab") as log:
        proc = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            close_fds=True,
            # In the foreground the sandbox lives as long as this command, even if it is killed.
            preexec_fn=None if detach else _die_with_parent,
        )
    info = _wait_ready(proc, opts.dir, timeout)
    on_ready(info)
    if not detach:
        _serve_foreground(proc)
    return info


def _wait_ready(proc: subprocess.Popen[bytes], directory: Path, timeout: float) -> SandboxInfo:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        code = proc.poll()
        if code is not None:
            raise _startup_error(directory, code)
        info = SandboxInfo.load(directory)
        if info is not None and info.pid == proc.pid and info.status == "ready":
            return info
        time.sleep(0.1)
    proc.terminate()
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(30)
    raise PlatformError(f"the sandbox did not become ready within {timeout:.0f}s", "timeout")


def _startup_error(directory: Path, code: int) -> Exception:
    try:
        first, _, message = (directory / ERROR_FILE).read_text().partition("\n")
        exit_code, message = int(first), message.strip()
    except (OSError, ValueError):
        exit_code, message = 1, f"the supervisor exited with code {code}"
    message += f" (log: {directory / 'supervisor.log'})" if exit_code != 2 else ""
    return InvalidInput(message) if exit_code == 2 else PlatformError(message)


def _serve_foreground(proc: subprocess.Popen[bytes]) -> None:
    def forward(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, forward)
    try:
        proc.wait()
    except KeyboardInterrupt:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(60)
        except subprocess.TimeoutExpired:
            kill_group(proc.pid, signal.SIGKILL)
            proc.wait()
    finally:
        signal.signal(signal.SIGTERM, previous)


def down(directory: Path, timeout: float = 60.0) -> dict[str, Any]:
    """Stop the sandbox in ``directory``; idempotent. Returns what was done."""
    info = SandboxInfo.load(directory)
    if not lock_is_held(directory):
        killed = _kill_leftovers(info) if info else []
        with contextlib.suppress(FileNotFoundError):
            (directory / SANDBOX_FILE).unlink()
        return {"stopped": False, "running": False, "killed_groups": killed}
    if info is not None and info.control_url:
        _ask_shutdown(info)
    if _wait_unlocked(directory, timeout):
        return {"stopped": True, "running": True, "killed_groups": []}
    # The supervisor did not stop in time: signal it, then kill what it owned.
    if info is not None and _is_supervisor(info.pid):
        kill_group(info.pid, signal.SIGTERM)
        if _wait_unlocked(directory, 15.0):
            return {"stopped": True, "running": True, "killed_groups": [], "signalled": True}
        kill_group(info.pid, signal.SIGKILL)
    killed = _kill_leftovers(info) if info else []
    with contextlib.suppress(FileNotFoundError):
        (directory / SANDBOX_FILE).unlink()
    return {"stopped": True, "running": True, "killed_groups": killed, "forced": True}


def _ask_shutdown(info: SandboxInfo) -> None:
    import httpx

    with contextlib.suppress(httpx.HTTPError):
        httpx.post(
            f"{info.control_url}/v1/shutdown",
            headers={"x-sandbox-token": info.token},
            timeout=5.0,
        )


def _wait_unlocked(directory: Path, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not lock_is_held(directory):
            return True
        time.sleep(0.1)
    return False


def _is_supervisor(pid: int) -> bool:
    # Never signal a pid that was reused by an unrelated process.
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return pid_alive(pid) and sys.platform != "linux"
    return b"canaryctl.platforms.local.supervisor" in cmdline


def _kill_leftovers(info: SandboxInfo) -> list[int]:
    killed = [g for g in info.process_groups if kill_group(g, signal.SIGKILL)]
    if _is_supervisor(info.pid) and kill_group(info.pid, signal.SIGKILL):
        killed.append(info.pid)
    return killed


def status(directory: Path) -> dict[str, Any] | None:
    """The running sandbox's state from its control API, or None."""
    from canaryctl.platforms.local.client import ControlClient

    if running_sandbox(directory) is None:
        return None
    client = ControlClient.for_dir(directory, timeout=5.0)
    try:
        return client.state()
    finally:
        client.close()
