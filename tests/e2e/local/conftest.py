"""Fixtures for whole canary releases on the local platform, driven through the installed CLI.

- ``sandbox`` (session): a detached sandbox from the shared ``sandboxes`` fixture
  (tests/_sandbox.py: ``canaryctl sandbox up --detach`` with an ephemeral router port) in a
  ``scratch_dir`` — real ``gamebackend serve`` processes, embedded PostgreSQL and Redis, the
  weighted router. Shared by every test here (a deployment always ends with the sandbox at
  100% stable and no canary, so the next one starts from a known state). Its teardown runs
  ``sandbox down`` and asserts that no process it started is left.
- ``cli``: runs ``canaryctl deploy`` (and the control commands) as separate processes against
  that sandbox, with a state directory of the test's own (records and the service lock);
  deployments started in the background are killed when the test ends.
- ``versions``: a fresh version label per deployment (a version cannot be released twice).
- from the ``tests/_servers.py`` plugin: ``prometheus`` (Debian's Prometheus scraping a target).

The sandbox's processes are observed from the outside too: ``/proc`` says which backend versions
are really running (``GAMEBACKEND_VERSION`` in their environment), and the router's ``/healthz``
answers say which versions really serve traffic.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[3]
PIPELINE = ROOT / "pipelines" / "gamebackend-local.yaml"
CANARYCTL = str(Path(sys.executable).with_name("canaryctl"))
Sandboxes = Any  # the plugin's Sandboxes (and Sandbox): shared through fixtures, not imports

# The analysis of the outcome tests: the fixed-window policy (policies/gamebackend-threshold.yaml;
# these tests are about the engine and the platform, and its verdicts come in seconds), a 10 s
# window checked every 5 s, with the pipeline's load hook at 80 requests/s (8/s on a 10%
# canary: about 40 canary requests per check, about 70 in the whole window, against the
# policy's minimum of 30 — 20 for the wallet's SLOs, about half the traffic).
SHORT = {
    "policy": str(ROOT / "policies" / "gamebackend-threshold.yaml"),
    "analysis.window": "10s",
    "analysis.interval": "5s",
    "hooks.duringAnalysis.0.load.rps": "80",
}


def _proc_stat(pid: int) -> list[str] | None:
    try:
        text = Path(f"/proc/{pid}/stat").read_text(errors="replace")
    except OSError:
        return None
    return text[text.rfind(")") + 2 :].split()  # fields after the command name


def _live() -> dict[int, list[str]]:
    """Every live process (zombies excluded): pid → its ``/proc/PID/stat`` fields."""
    out = {}
    for entry in Path("/proc").iterdir():
        fields = _proc_stat(int(entry.name)) if entry.name.isdigit() else None
        if fields is not None and fields[0] not in ("Z", "X"):
            out[int(entry.name)] = fields
    return out


def _alive(pid: int, start: str) -> bool:
    """Whether the process ``pid`` that started at ``start`` still runs (not a zombie)."""
    fields = _proc_stat(pid)
    return fields is not None and fields[0] not in ("Z", "X") and fields[19] == start


def _descendants(root: int, live: dict[int, list[str]]) -> dict[int, str]:
    """Every process of ``live`` under ``root`` (itself included): pid → start time."""
    found, frontier = {root}, [root]
    while frontier:
        pid = frontier.pop()
        for child, fields in live.items():
            if int(fields[1]) == pid and child not in found:
                found.add(child)
                frontier.append(child)
    return {pid: live[pid][19] for pid in found if pid in live}


def _proc_text(pid: int, name: str) -> str:
    try:
        return (
            Path(f"/proc/{pid}/{name}").read_bytes().replace(b"\0", b"\n").decode(errors="replace")
        )
    except OSError:
        return ""


def processes_mentioning(text: str) -> list[int]:
    """Live processes whose command line or environment contains ``text``."""
    return [
        pid
        for pid in _live()
        if pid != os.getpid()
        and (text in _proc_text(pid, "cmdline") or text in _proc_text(pid, "environ"))
    ]


def sandbox_processes(base: str) -> dict[int, str]:
    """Every process of a sandbox under ``base``: those naming it (the supervisor, the
    backends, PostgreSQL's postmaster, Redis; PostgreSQL and Redis daemonize, so they are not
    the supervisor's children) and all their descendants. pid → start time."""
    live, out = _live(), {}
    for pid in processes_mentioning(base):
        out.update(_descendants(pid, live))
    return out


def describe(pids: list[int]) -> list[str]:
    return [f"{pid}: {_proc_text(pid, 'cmdline').replace(chr(10), ' ')[:100]}" for pid in pids]


@dataclass
class Sandbox:
    """The plugin's sandbox (``dir``, ``info``, its URLs, ``state()``: the control API's view)
    and what can be observed of it."""

    up: Any  # the plugin's Sandbox

    @property
    def admin_hostport(self) -> str:
        return str(self.up.control_url).removeprefix("http://")

    def state(self) -> dict[str, Any]:
        return dict(self.up.state())

    def status(self) -> dict[str, Any]:
        """``canaryctl sandbox status --output json``: task sets, weights, router targets."""
        proc = run_cli("sandbox", "status", "--dir", str(self.up.dir), "--output", "json")
        assert proc.returncode == 0, proc.stderr
        return dict(json.loads(proc.stdout))

    def settled(self, timeout: float = 60.0) -> dict[str, Any]:
        """The state once no task set is starting or draining (retired processes stopped)."""
        deadline = time.monotonic() + timeout
        while True:
            state = self.state()
            if state["canary"] is None and not state["draining"]:
                return state
            assert time.monotonic() < deadline, f"sandbox did not settle: {state}"
            time.sleep(0.1)

    def router_counts(self, name: str = "requests") -> Counter[str]:
        """The router's ``canaryctl_router_<name>_total`` so far (its admin ``/metrics``), by
        target group (stable, canary), over every route class."""
        out: Counter[str] = Counter()
        for line in httpx.get(str(self.up.info["metrics_url"]), timeout=10).text.splitlines():
            if line.startswith(f"canaryctl_router_{name}_total{{"):
                group = line.split('target_group="', 1)[1].split('"', 1)[0]
                out[group] += int(float(line.rpartition(" ")[2]))
        return out

    def canary_requests(self) -> float:
        """Requests the router has sent to canary task sets so far (its admin ``/metrics``)."""
        return float(self.router_counts()["canary"])

    def wait_canary_traffic(self, timeout: float = 30.0) -> None:
        """Until the router sends the canary requests it had not sent before this call."""
        before, deadline = self.canary_requests(), time.monotonic() + timeout
        while self.canary_requests() <= before:
            assert time.monotonic() < deadline, "no new request reached the canary"
            time.sleep(0.05)

    def served_versions(self, requests: int = 40) -> Counter[str]:
        """Which versions answer traffic through the router: ``/healthz`` says its version."""
        seen: Counter[str] = Counter()
        with httpx.Client(base_url=self.up.router_url, timeout=10) as client:
            for _ in range(requests):
                resp = client.get("/healthz")
                assert resp.status_code == 200, resp.text
                seen[resp.json()["version"]] += 1
        return seen

    def running_versions(self) -> Counter[str]:
        """Backend processes of this sandbox that are alive, by ``GAMEBACKEND_VERSION``."""
        database = f"DATABASE_URL={self.up.info['database_url']}"
        out: Counter[str] = Counter()
        for pid in _live():
            env = _proc_text(pid, "environ").splitlines()
            if database in env and "gamebackend" in _proc_text(pid, "cmdline"):
                versions = [
                    e.partition("=")[2] for e in env if e.startswith("GAMEBACKEND_VERSION=")
                ]
                out[versions[0] if versions else "?"] += 1
        return out

    def assert_only(self, version: str, replicas: int = 2) -> dict[str, Any]:
        """Only ``version`` runs and serves, at 100%, with no canary: as the control API
        reports it (what ``sandbox status`` prints), as ``/proc`` shows it, and as the router's
        answers show it."""
        status = self.settled()
        assert status["weights"] == {"stable": 100, "canary": 0}, status["weights"]
        assert status["router"]["weights"] == {"stable": 100, "canary": 0}, status["router"]
        assert status["canary"] is None and status["draining"] == [], status
        assert status["stable"]["version"] == version and status["stable"]["healthy"], status
        assert status["router"]["targets"]["canary"] == []
        assert len(status["router"]["targets"]["stable"]) == replicas
        assert self.running_versions() == Counter({version: replicas})
        assert self.served_versions() == Counter({version: 40})
        return status

    def processes(self, role: str = "stable") -> dict[int, str]:
        """The live processes of the ``role`` task set now: pid → start time (pid reuse safe)."""
        task_set = self.state()[role] or {"processes": []}
        out = {}
        for proc in task_set["processes"]:
            fields = _proc_stat(int(proc["pid"]))
            if fields is not None:
                out[int(proc["pid"])] = fields[19]
        return out

    @staticmethod
    def still_alive(processes: dict[int, str]) -> list[int]:
        return [pid for pid, start in processes.items() if _alive(pid, start)]

    def force_stable(self) -> None:
        """Cleanup after a failed test: 100% stable, any canary stopped (control API)."""
        headers = {"x-sandbox-token": str(self.up.info["token"])}
        httpx.post(f"{self.up.control_url}/v1/rollback", headers=headers, timeout=60)


def run_cli(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([CANARYCTL, *args], capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="session")
def sandbox(sandboxes: Sandboxes, scratch_dir: Callable[[str], Path]) -> Iterator[Sandbox]:
    """One sandbox (stable v1 x2) for every test here; torn down with a check for leftovers."""
    base = scratch_dir("e2e-local")
    up = sandboxes.up(base / ".sandbox", replicas=2)
    try:
        yield Sandbox(up)
    finally:
        mark = f"{base}/"  # in the command line or environment of every process it started
        started = sandbox_processes(mark)
        names = " ".join(_proc_text(pid, "cmdline") for pid in started)
        down = sandboxes.down(up)
        deadline = time.monotonic() + 20
        while True:
            left = [pid for pid, start in started.items() if _alive(pid, start)]
            left += [p for p in processes_mentioning(mark) if p not in left]
            if not left or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        leftovers = describe(left)
        for pid in left:  # never leave them to the next run, but fail the session for it
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        assert down.returncode == 0, down.stdout + down.stderr
        assert "stopped" in down.stdout and "forced" not in down.stdout, down.stdout
        assert not leftovers, f"left running after sandbox down: {leftovers}"
        # The check saw what it had to see: the supervisor, the backends, PostgreSQL, Redis.
        assert int(up.info["pid"]) in started, started
        for name in (
            "canaryctl.platforms.local.supervisor",
            "gamebackend",
            "postgres",
            "redis-server",
        ):
            assert name in names, f"{name} not among the sandbox's processes: {names}"


@pytest.fixture(scope="session")
def versions() -> Callable[[], str]:
    """``next()`` → a version label never used in this session (v2, v3, …)."""
    counter = itertools.count(2)
    return lambda: f"v{next(counter)}"


@dataclass
class Outcome:
    """A finished ``canaryctl`` command: exit code, its JSON document, stderr."""

    code: int
    doc: dict[str, Any]
    stderr: str


@dataclass
class Cli:
    """``canaryctl`` against the sandbox, with this test's own state directory."""

    sandbox: Sandbox
    state_dir: Path
    procs: list[subprocess.Popen[str]] = field(default_factory=list)

    def deploy_argv(
        self,
        version: str,
        *,
        env: tuple[str, ...] = (),
        sets: dict[str, str] | None = None,
        pipeline: Path = PIPELINE,
    ) -> list[str]:
        values = {**SHORT, "platform.sandbox": str(self.sandbox.up.dir), **(sets or {})}
        argv = [CANARYCTL, "deploy", "--pipeline", str(pipeline), "--version", version]
        argv += ["--state", str(self.state_dir), "--output", "json", "--yes"]
        for item in env:
            argv += ["--env", item]
        for key, value in values.items():
            argv += ["--set", f"{key}={value}"]
        return argv

    def deploy(self, version: str, *, timeout: float = 150, **kw: Any) -> Outcome:
        return self.finish(self.start_deploy(version, **kw), timeout)

    def start_deploy(self, version: str, **kw: Any) -> subprocess.Popen[str]:
        """A deployment in the background (its own process group, killed at teardown)."""
        proc = subprocess.Popen(
            self.deploy_argv(version, **kw),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        self.procs.append(proc)
        return proc

    def finish(self, proc: subprocess.Popen[str], timeout: float = 120) -> Outcome:
        out, err = proc.communicate(timeout=timeout)
        return _outcome(proc.returncode, out, err)

    def control(self, *args: str, timeout: float = 150) -> Outcome:
        """``status``/``resume``/``abort``/… with ``--state`` and ``--output json``."""
        proc = run_cli(*args, "--state", str(self.state_dir), "--output", "json", timeout=timeout)
        return _outcome(proc.returncode, proc.stdout, proc.stderr)

    def record(self, deployment_id: str) -> dict[str, Any]:
        """The deployment record as the engine wrote it (atomically replaced on each save)."""
        path = self.state_dir / "deployments" / f"{deployment_id}.json"
        return dict(json.loads(path.read_text()))

    def wait_record(
        self,
        proc: subprocess.Popen[str],
        until: Callable[[dict[str, Any]], bool],
        timeout: float = 60,
    ) -> dict[str, Any]:
        """The only record in the state directory, once ``until(record)`` holds."""
        deadline = time.monotonic() + timeout
        folder = self.state_dir / "deployments"
        while True:
            files = sorted(folder.glob("*.json")) if folder.exists() else []
            if files:
                assert len(files) == 1, files
                record = dict(json.loads(files[0].read_text()))
                if until(record):
                    return record
            if proc.poll() is not None:
                raise AssertionError(
                    f"deploy exited {proc.returncode} early: {proc.stderr and proc.stderr.read()}"
                )
            assert time.monotonic() < deadline, f"record never got there: {files}"
            time.sleep(0.1)

    def kill_all(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.communicate(timeout=10)


def _outcome(code: int, stdout: str, stderr: str) -> Outcome:
    try:
        doc = json.loads(stdout) if stdout.strip() else {}
    except ValueError as exc:
        raise AssertionError(f"stdout is not one JSON document: {stdout!r}\n{stderr}") from exc
    return Outcome(code, doc, stderr)


@pytest.fixture
def cli(sandbox: Sandbox, tmp_path: Path) -> Iterator[Cli]:
    """A CLI runner with its own state; afterwards the sandbox is back at 100% stable."""
    runner = Cli(sandbox, tmp_path / "state")
    try:
        yield runner
    finally:
        runner.kill_all()
        state = sandbox.state()
        if state["canary"] is not None or state["weights"]["canary"] != 0:
            sandbox.force_stable()  # a failed test must not spoil the next ones
        sandbox.settled()
