"""The one exception tree of canaryctl, and the exit code each maps to.

    CanaryError                      base; exit 1 (unexpected error)
    ├── InvalidInput                 exit 2: flags, pipeline or policy files are wrong
    │   └── ConfigError              a config file problem, with file:line and field
    ├── LockHeld                     exit 5: another deployment of the service holds the lock
    ├── DeploymentNotFound           exit 2: no record with that id
    ├── PlatformError                exit 1: the platform (ECS, local processes) failed;
    │   │                            keeps the provider's error code (e.g. AWS's) in ``code``
    │   ├── UnhealthyTaskSet         the canary did not become healthy in time
    │   └── TrafficDrift             someone else changed the weights (the engine pauses)
    ├── MetricsError                 a metric source failed (unreachable, bad answer)
    └── StateError                   the state store failed (corrupt record, I/O)
        └── RecordConflict           exit 5: another process wrote the record meanwhile

The CLI maps these to exit codes and a one-line message in one place (``canaryctl.cli.main``).
Outcomes of a deployment (promoted, rolled back, paused) are not exceptions: they are the
record's final phase, and the CLI maps them to exit codes 0, 3 and 4.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "EXIT_INCONCLUSIVE",
    "EXIT_INVALID",
    "EXIT_LOCKED",
    "EXIT_OK",
    "EXIT_ROLLED_BACK",
    "EXIT_UNEXPECTED",
    "CanaryError",
    "ConfigError",
    "DeploymentNotFound",
    "InvalidInput",
    "LockHeld",
    "MetricsError",
    "PlatformError",
    "RecordConflict",
    "StateError",
    "TrafficDrift",
    "UnhealthyTaskSet",
]

EXIT_OK = 0
EXIT_UNEXPECTED = 1
EXIT_INVALID = 2
EXIT_ROLLED_BACK = 3
EXIT_INCONCLUSIVE = 4
EXIT_LOCKED = 5


class CanaryError(Exception):
    """Base of every error canaryctl raises on purpose."""

    exit_code = EXIT_UNEXPECTED


class InvalidInput(CanaryError):
    """The user's input (a flag, a file) is wrong; nothing was changed."""

    exit_code = EXIT_INVALID


class ConfigError(InvalidInput):
    """A pipeline or policy file is invalid. ``str()`` reads ``file:line: field: problem``."""

    def __init__(self, path: str, line: int | None, field: str | None, problem: str) -> None:
        self.path, self.line, self.field, self.problem = path, line, field, problem
        where = f"{path}:{line}" if line else path
        what = f"{field}: {problem}" if field else problem
        super().__init__(f"{where}: {what}")


class DeploymentNotFound(InvalidInput):
    """No deployment record has the given id."""


class LockHeld(CanaryError):
    """Another deployment of the same service holds the per-service lock."""

    exit_code = EXIT_LOCKED

    def __init__(self, service: str, holder: str, since: str | None = None) -> None:
        self.service, self.holder, self.since = service, holder, since
        extra = f" since {since}" if since else ""
        super().__init__(f"service {service!r} is locked by deployment {holder}{extra}")


class PlatformError(CanaryError):
    """The platform failed to do what was asked. ``code`` keeps the provider's error code."""

    def __init__(self, message: str, code: str | None = None) -> None:
        self.code = code
        super().__init__(f"{message} ({code})" if code else message)


class UnhealthyTaskSet(PlatformError):
    """The canary task set did not become healthy within its timeout."""


class TrafficDrift(PlatformError):
    """The traffic weights are not what canaryctl last set: someone else changed them."""


class MetricsError(CanaryError):
    """A metric source could not answer (unreachable, malformed answer)."""


class StateError(CanaryError):
    """The state store could not load or save a record."""


class RecordConflict(StateError):
    """A conditional save was refused: another process wrote the record after this one last
    read or wrote it (another engine took over). Nothing was overwritten."""

    exit_code = EXIT_LOCKED

    def __init__(self, deployment_id: str, current: Any = None) -> None:
        """``current``: the record as the store now holds it (its ``engine`` is named)."""
        self.deployment_id = deployment_id
        engine = (current.get("engine") if isinstance(current, dict) else None) or {}
        by = f" (its engine: pid {engine.get('pid')} on {engine.get('host')})" if engine else ""
        super().__init__(
            f"deployment {deployment_id} was written by another process since this one last "
            f"read it{by}; not overwritten"
        )
