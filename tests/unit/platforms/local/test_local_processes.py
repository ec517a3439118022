"""Child process groups: stopping escalates to SIGKILL and takes the whole group."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import pytest

from canaryctl.platforms.local.processes import Proc, pid_alive

# Ignores SIGTERM, forks a grandchild that also ignores it, prints both pids, then hangs.
STUBBORN = """
import os, signal, sys, time
signal.signal(signal.SIGTERM, signal.SIG_IGN)
child = os.fork()
if child == 0:
    time.sleep(3600)
    os._exit(0)
print(os.getpid(), child, flush=True)
time.sleep(3600)
"""


def _pids(log: Path) -> list[int]:
    for _ in range(100):
        text = log.read_text() if log.exists() else ""
        if text.strip():
            return [int(x) for x in text.split()]
        time.sleep(0.05)
    raise AssertionError("the child did not report its pids")


@pytest.mark.timeout(30)
async def test_stop_kills_a_hung_group_after_the_timeout(tmp_path: Path):
    log = tmp_path / "p.log"
    proc = Proc("stubborn", [sys.executable, "-c", STUBBORN], dict(os.environ), log)
    proc.start()
    leader, grandchild = _pids(log)
    t0 = time.monotonic()
    code = await proc.stop(timeout=0.5)
    assert time.monotonic() - t0 < 5
    assert code == -9
    for _ in range(50):  # the grandchild is reparented and reaped by init
        if not pid_alive(grandchild) or _is_zombie(grandchild):
            break
        time.sleep(0.05)
    assert not pid_alive(leader)
    assert not pid_alive(grandchild) or _is_zombie(grandchild)


def _is_zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] == "Z"
    except OSError:
        return False


async def test_tail_shows_the_last_lines(tmp_path: Path):
    log = tmp_path / "p.log"
    proc = Proc("echo", [sys.executable, "-c", "print('one'); print('two')"], dict(os.environ), log)
    proc.start()
    assert proc.popen is not None
    proc.popen.wait(10)
    assert proc.tail(1) == "two"
    assert proc.exit_code == 0
    assert await proc.stop() == 0
