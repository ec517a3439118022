"""The deployment record: a plain JSON dict, saved before every side effect.

Fields (all JSON): ``id``, ``service``, ``stable_version``, ``canary_version``, ``env``,
``release`` (image, task definition ARN or file and its definition, as ``deploy`` was given
them), ``task_definition_arn`` (what the canary's task set runs, once started),
``phase`` (``Phase``), ``reason``, ``step_index``, ``weights`` / ``target_weights``,
``steps`` (kind, weight, start, end), ``analysis`` (the current analyze step's window),
``counters`` (per SLO: checks, failures, consecutive missing), ``verdicts``, ``events``,
``requests`` (control requests handled), ``engine`` (pid, host, heartbeat of the process in
charge), ``paused`` / ``failed`` (how to continue), ``outcome`` (cause), ``plan`` and
``config`` (what was started, so a resume does not depend on the files), timestamps, and
``rev`` (the store's revision of the record: saves are conditional on it, see ``state.base``).
"""

from __future__ import annotations

import math
import secrets
import time
from enum import StrEnum
from typing import Any

from canaryctl.errors import (
    EXIT_INCONCLUSIVE,
    EXIT_OK,
    EXIT_ROLLED_BACK,
    EXIT_UNEXPECTED,
)
from canaryctl.rollout.plan import Plan
from canaryctl.state.liveness import is_alive

__all__ = [
    "FINAL",
    "Phase",
    "add_event",
    "engine_alive",
    "exit_code",
    "jsonable",
    "new_record",
    "status_of",
]

RECORD_VERSION = 1
MAX_EVENTS = 500
# An engine on another host is presumed gone when its heartbeat (every 10 s) is this old.
STALE_AFTER_S = 60.0


class Phase(StrEnum):
    PENDING = "pending"
    STARTING_CANARY = "starting_canary"
    SHIFTING = "shifting"
    ANALYZING = "analyzing"
    PAUSED = "paused"
    PROMOTING = "promoting"
    PROMOTED = "promoted"
    ROLLING_BACK = "rolling_back"
    ROLLED_BACK = "rolled_back"
    FAILED = "failed"
    UNCHANGED = "unchanged"  # the version was already the stable one: nothing was done


FINAL = frozenset({Phase.PROMOTED, Phase.ROLLED_BACK, Phase.FAILED, Phase.UNCHANGED})
_STATUS = {
    Phase.UNCHANGED: "unchanged",
    Phase.PROMOTED: "promoted",
    Phase.ROLLED_BACK: "rolled_back",
    Phase.PAUSED: "paused",
    Phase.FAILED: "failed",
}
_EXIT = {
    "unchanged": EXIT_OK,
    "promoted": EXIT_OK,
    "rolled_back": EXIT_ROLLED_BACK,
    "paused": EXIT_INCONCLUSIVE,
    "failed": EXIT_UNEXPECTED,
}


def new_id(service: str, now: float) -> str:
    stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime(now))
    return f"{service}-{stamp}-{secrets.token_hex(2)}"


def new_record(
    *,
    plan: Plan,
    canary_version: str,
    env: dict[str, str],
    config: dict[str, Any],
    cwd: str,
    now: float,
    release: dict[str, Any] | None = None,
) -> dict[str, Any]:
    return {
        "record_version": RECORD_VERSION,
        "id": new_id(plan.service, now),
        "service": plan.service,
        "stable_version": None,
        "canary_version": canary_version,
        "env": dict(env),
        # what the canary runs beyond the version (deploy --image / --task-definition)
        "release": dict(release or {}),
        "task_definition_arn": None,  # set when the canary has started (ECS)
        "phase": Phase.PENDING.value,
        "reason": "",
        "step_index": -1,
        "weights": None,
        "target_weights": None,
        "steps": [
            {
                "index": i,
                "kind": s.kind,
                "description": s.describe(),
                "weight": s.weight,
                "start": None,
                "end": None,
            }
            for i, s in enumerate(plan.steps)
        ],
        "analysis": None,
        "counters": {},
        "verdicts": [],
        "events": [],
        "requests": [],
        "engine": None,
        "paused": None,
        "failed": None,
        "outcome": None,
        "plan": plan.to_dict(),
        "config": config,
        "cwd": cwd,
        "created_at": now,
        "updated_at": now,
        "finished_at": None,
    }


def status_of(record: dict[str, Any]) -> str:
    """promoted | rolled_back | paused | failed | unchanged, or ``running`` while in
    progress."""
    return _STATUS.get(Phase(record["phase"]), "running")


def exit_code(record: dict[str, Any]) -> int:
    """0 promoted or unchanged, 3 rolled back, 4 paused, 1 failed (and 1 if somehow still
    running)."""
    return _EXIT.get(status_of(record), EXIT_UNEXPECTED)


def add_event(record: dict[str, Any], now: float, message: str, **extra: Any) -> None:
    # ``n`` numbers events for readers that follow the record (events are trimmed).
    record["event_seq"] = n = record.get("event_seq", 0) + 1
    event = {"n": n, "t": now, "phase": record["phase"], "message": message, **extra}
    record["events"].append(event)
    del record["events"][:-MAX_EVENTS]


def jsonable(value: Any) -> Any:
    """Strict-JSON copy: non-finite floats become strings, tuples lists, enums values."""
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, StrEnum):
        return value.value
    if value is None or isinstance(value, str | int | bool):
        return value
    return str(value)


def engine_alive(record: dict[str, Any], now: float | None = None) -> bool:
    """Whether a process is in charge of the record right now."""
    engine = record.get("engine")
    if not engine or engine.get("exited"):
        return False
    alive = is_alive(engine)
    if alive is None:  # another host: trust a recent heartbeat
        now = time.time() if now is None else now
        return bool(now - float(engine.get("heartbeat") or 0) < STALE_AFTER_S)
    return alive
