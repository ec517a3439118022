"""AWS as it really answers, over moto: botocore event hooks on the session canaryctl uses.

moto answers at once, consistently: a task set exists as soon as CreateTaskSet returns, a
scale change is STEADY_STATE at once, a primary switch and a listener's new weights read back
immediately, and a missing S3 key is always 404. Real AWS does not promise any of that. This
layer makes moto's answers look like AWS's, each behaviour switchable and cited:

- ``hidden_task_set_reads``: a task set created a moment ago is missing from the next
  DescribeTaskSets answers (``failures: MISSING`` when asked by ARN). The ECS API is
  eventually consistent: "the result of an API command you run that affects your Amazon ECS
  resources might not be immediately visible to all subsequent commands you run"
  (https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_RunTask.html, the ECS API
  reference's statement of its consistency model).
- ``stale_scale_reads`` then ``stabilizing_reads``: after UpdateTaskSet the next reads still
  show the old scale, the old computedDesiredCount and STEADY_STATE with the old
  stabilityStatusAt (same consistency model); then the set is STABILIZING with tasks pending
  until runningCount reaches computedDesiredCount, which ECS computes as the service's
  desiredCount times the scale, rounded up; STEADY_STATE only when running equals that count
  and nothing is pending (https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_TaskSet.html).
  A newly created set goes through the STABILIZING reads too. moto reports no counts at all
  and never leaves STEADY_STATE: the layer fills them in.
- ``stale_primary_reads``: after UpdateServicePrimaryTaskSet the next reads still show the
  old primary (the ECS consistency model above).
- ``stale_weight_reads``: after ModifyListener/ModifyRule the next DescribeListeners/
  DescribeRules answers still carry the old actions. The ELBv2 API reference makes no
  read-after-write promise for ModifyListener
  (https://docs.aws.amazon.com/elasticloadbalancing/latest/APIReference/API_ModifyListener.html);
  AWS control-plane APIs document eventual consistency for the same kind of describe-after-
  modify (https://docs.aws.amazon.com/ec2/latest/devguide/eventual-consistency.html).
- ``s3_403_for_missing_keys``: GetObject/HeadObject of a key that does not exist answer 403
  AccessDenied, as S3 does for a caller without s3:ListBucket on the bucket ("If you don't
  have the s3:ListBucket permission, Amazon S3 returns an HTTP status code 403"),
  https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetObject.html (Permissions). Listing
  stays allowed: the deploy role may list under its prefix (a prefix condition is what makes
  GetObject answer 403).
- CloudWatch's late datapoints are not here yet: ``_cloudwatch_after_call`` is the hook point
  (called for every CloudWatch answer) where they belong.

Counts are in reads (answers that include the resource), not seconds, so tests stay fast and
deterministic whatever the poll interval. In-process tests use the ``aws_behaviour`` fixture;
a canaryctl subprocess gets the layer from ``sitecustomize_source()`` (on its PYTHONPATH) and
the switches from ``$CANARYCTL_TEST_AWS_BEHAVIOUR`` (JSON, or ``off``). ``record`` (a file
path) appends one JSON line per write (UpdateTaskSet, ModifyListener, ...) with what the layer
knew of the task sets at that moment, for tests that assert the order of the calls.
"""

from __future__ import annotations

import copy
import json
import math
import os
import threading
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

__all__ = [
    "AwsBehaviour",
    "SubprocessLayer",
    "Switches",
    "aws_behaviour",
    "aws_behaviour_subprocess",
    "install_from_env",
]

ENV = "CANARYCTL_TEST_AWS_BEHAVIOUR"
_WRITES = {
    ("ecs", "CreateTaskSet"),
    ("ecs", "UpdateTaskSet"),
    ("ecs", "UpdateServicePrimaryTaskSet"),
    ("ecs", "DeleteTaskSet"),
    ("elasticloadbalancing", "ModifyListener"),
    ("elasticloadbalancing", "ModifyRule"),
}


@dataclass(frozen=True)
class Switches:
    """How many reads each behaviour lasts (0 = off)."""

    hidden_task_set_reads: int = 2
    stale_scale_reads: int = 2
    stabilizing_reads: int = 2
    stale_primary_reads: int = 2
    stale_weight_reads: int = 2
    s3_403_for_missing_keys: bool = True
    record: str | None = None

    @classmethod
    def off(cls) -> Switches:
        return cls(0, 0, 0, 0, 0, False)


@dataclass
class _TaskSetView:
    """What the layer shows of one task set until ECS 'catches up' with the last write."""

    hidden: int = 0
    stale: int = 0
    stabilizing: int = 0
    old: dict[str, Any] | None = None  # the task set as it was before the write
    written_at: datetime | None = None
    steady_at: datetime | None = None


@dataclass
class _Stale:
    reads: int
    value: Any


@dataclass
class AwsBehaviour:
    """The hooks and what they remember. ``settled(arn)`` is the layer's truth: whether ECS
    has finished the task set's last change (what a real service would eventually report)."""

    switches: Switches = field(default_factory=Switches)
    desired_count: Callable[[str, str], int] | None = None  # (cluster, service) -> count
    _views: dict[str, _TaskSetView] = field(default_factory=dict)
    _primary: dict[str, _Stale] = field(default_factory=dict)  # service ARN -> old primary ARN
    _actions: dict[str, _Stale] = field(default_factory=dict)  # listener/rule ARN -> actions
    _desired: dict[tuple[str, str], int] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _events: Any = None

    # -- installing ---------------------------------------------------------------------

    def install(self, events: Any) -> AwsBehaviour:
        events.register("before-parameter-build", self._params)
        events.register("before-call", self._before_call)
        events.register("after-call", self._after_call)
        self._events = events
        return self

    def uninstall(self) -> None:
        if self._events is not None:
            self._events.unregister("before-parameter-build", self._params)
            self._events.unregister("before-call", self._before_call)
            self._events.unregister("after-call", self._after_call)
            self._events = None

    def settled(self, arn: str) -> bool:
        view = self._views.get(arn)
        return view is None or not (view.hidden or view.stale or view.stabilizing)

    # -- hooks --------------------------------------------------------------------------

    def _params(self, model: Any, params: dict[str, Any], context: Any, **_: Any) -> None:
        context["aws_behaviour_api_params"] = copy.deepcopy(params)  # the caller's, unserialized

    def _before_call(self, model: Any, context: Any, **_: Any) -> None:
        key = (model.service_model.endpoint_prefix, model.name)
        params = context.get("aws_behaviour_api_params") or {}
        if key in _WRITES:
            context["aws_behaviour_params"] = _summary(model.name, params)
            # What AWS had before the write: what a stale replica goes on answering.
            context["aws_behaviour_before"] = self._truth_before(key[1], params)
        elif model.name == "DescribeTaskSets":
            context["aws_behaviour_named"] = bool(params.get("taskSets"))
        return None

    def _after_call(
        self, http_response: Any, parsed: dict[str, Any], model: Any, context: Any, **_: Any
    ) -> None:
        if http_response is None or http_response.status_code >= 300:
            self._error_answer(model, parsed, http_response)
            return
        name = model.name
        with self._lock:
            if model.service_model.endpoint_prefix == "monitoring":
                _cloudwatch_after_call(name, parsed)
            handler = getattr(self, f"_on_{name}", None)
            if handler is not None:
                handler(parsed, context.get("aws_behaviour_before"), context)
        if (model.service_model.endpoint_prefix, name) in _WRITES:
            self._record(name, context)

    def _error_answer(self, model: Any, parsed: dict[str, Any], http: Any) -> None:
        if not self.switches.s3_403_for_missing_keys or model.name not in (
            "GetObject",
            "HeadObject",
        ):
            return
        code = (parsed.get("Error") or {}).get("Code")
        if code in ("NoSuchKey", "404"):
            denied = "AccessDenied" if model.name == "GetObject" else "403"
            parsed["Error"] = {"Code": denied, "Message": "Access Denied"}
            parsed.setdefault("ResponseMetadata", {})["HTTPStatusCode"] = 403
            if http is not None:
                http.status_code = 403

    # ECS ------------------------------------------------------------------------------

    def _on_CreateTaskSet(self, parsed: dict[str, Any], before: Any, context: Any) -> None:
        ts = parsed.get("taskSet") or {}
        view = _TaskSetView(
            hidden=self.switches.hidden_task_set_reads,
            stabilizing=self.switches.stabilizing_reads,
            written_at=_now(),
        )
        self._views[ts["taskSetArn"]] = view
        parsed["taskSet"] = self._render(ts, view, count=False)

    def _on_UpdateTaskSet(self, parsed: dict[str, Any], before: Any, context: Any) -> None:
        ts = parsed.get("taskSet") or {}
        old = self._render(before, self._views.get(ts["taskSetArn"]), count=False) if before else {}
        view = _TaskSetView(
            stale=self.switches.stale_scale_reads,
            stabilizing=self.switches.stabilizing_reads,
            old=old or None,
            written_at=_now(),
        )
        self._views[ts["taskSetArn"]] = view
        # ECS answers the write with the new scale and time, the counts not yet recomputed.
        shown = {**ts, "updatedAt": view.written_at}
        for name in ("computedDesiredCount", "runningCount", "pendingCount"):
            if name in old:
                shown[name] = old[name]
        for name in ("stabilityStatus", "stabilityStatusAt"):
            shown[name] = old.get(name, ts.get(name))
        parsed["taskSet"] = shown

    def _on_UpdateServicePrimaryTaskSet(self, parsed: Any, before: Any, context: Any) -> None:
        ts = parsed.get("taskSet") or {}
        if before and self.switches.stale_primary_reads:
            self._primary[ts.get("serviceArn", "")] = _Stale(
                self.switches.stale_primary_reads, before
            )

    def _on_DeleteTaskSet(self, parsed: Any, before: Any, context: Any) -> None:
        self._views.pop((parsed.get("taskSet") or {}).get("taskSetArn", ""), None)

    def _on_DescribeTaskSets(self, parsed: dict[str, Any], before: Any, context: Any) -> None:
        shown: list[dict[str, Any]] = []
        failures = list(parsed.get("failures") or [])
        stale_primary = None
        for ts in parsed.get("taskSets") or []:
            stale = self._primary.get(ts.get("serviceArn", ""))
            if stale is not None:
                stale_primary = stale
                ts = {**ts, "status": _old_status(ts, stale.value)}
            view = self._views.get(ts["taskSetArn"])
            if view is not None and view.hidden:
                view.hidden -= 1
                if context.get("aws_behaviour_named"):
                    failures.append({"arn": ts["taskSetArn"], "reason": "MISSING"})
                continue
            shown.append(self._render(ts, view, count=True))
        if stale_primary is not None:
            stale_primary.reads -= 1
            if stale_primary.reads <= 0:
                self._primary = {k: v for k, v in self._primary.items() if v.reads > 0}
        parsed["taskSets"] = shown
        if failures:
            parsed["failures"] = failures

    def _render(self, ts: dict[str, Any], view: _TaskSetView | None, *, count: bool) -> dict:
        """The task set as ECS would show it now; ``count``: this read uses up one read."""
        if view is not None and view.stale and view.old is not None:
            if count:
                view.stale -= 1
            return {**copy.deepcopy(view.old), "status": ts.get("status")}
        if view is not None and view.stale:  # nothing older to show
            view.stale = 0
        shown = dict(ts)
        computed = self._computed_desired_count(ts)
        if view is not None and view.written_at is not None:
            shown["updatedAt"] = view.written_at
        if view is not None and view.stabilizing:
            if count:
                view.stabilizing -= 1
            running = max(0, computed - 1)
            shown.update(
                computedDesiredCount=computed,
                runningCount=running,
                pendingCount=computed - running,
                stabilityStatus="STABILIZING",
                stabilityStatusAt=_now(),
            )
            return shown
        if view is not None and view.steady_at is None:
            view.steady_at = _now()
        shown.update(
            computedDesiredCount=computed,
            runningCount=computed,
            pendingCount=0,
            stabilityStatus="STEADY_STATE",
        )
        if view is not None and view.steady_at is not None:
            shown["stabilityStatusAt"] = view.steady_at
        return shown

    def _computed_desired_count(self, ts: dict[str, Any]) -> int:
        scale = float((ts.get("scale") or {}).get("value", 100.0))
        desired = self._service_desired_count(ts)
        return math.ceil(desired * scale / 100 - 1e-9)

    def _service_desired_count(self, ts: dict[str, Any]) -> int:
        cluster = str(ts.get("clusterArn", "")).rsplit("/", 1)[-1]
        service = str(ts.get("serviceArn", "")).rsplit("/", 1)[-1]
        if (cluster, service) not in self._desired:
            count = self.desired_count or _moto_desired_count
            self._desired[cluster, service] = count(cluster, service)
        return self._desired[cluster, service]

    def _truth_before(self, operation: str, params: dict[str, Any]) -> Any:
        if operation == "UpdateTaskSet":
            answer = _plain("ecs").describe_task_sets(
                cluster=params["cluster"], service=params["service"], taskSets=[params["taskSet"]]
            )
            return (answer.get("taskSets") or [None])[0]
        if operation == "UpdateServicePrimaryTaskSet":
            answer = _plain("ecs").describe_task_sets(
                cluster=params["cluster"], service=params["service"]
            )
            return next(
                (t["taskSetArn"] for t in answer["taskSets"] if t["status"] == "PRIMARY"), None
            )
        if operation == "ModifyListener":
            arn = params["ListenerArn"]
            answer = _plain("elbv2").describe_listeners(ListenerArns=[arn])
            return answer["Listeners"][0]["DefaultActions"]
        if operation == "ModifyRule":
            answer = _plain("elbv2").describe_rules(RuleArns=[params["RuleArn"]])
            return answer["Rules"][0]["Actions"]
        return None

    # ELBv2 ----------------------------------------------------------------------------

    def _on_ModifyListener(self, parsed: Any, before: Any, context: Any) -> None:
        for listener in parsed.get("Listeners") or []:
            self._remember_actions(listener["ListenerArn"], before)

    def _on_ModifyRule(self, parsed: Any, before: Any, context: Any) -> None:
        for rule in parsed.get("Rules") or []:
            self._remember_actions(rule["RuleArn"], before)

    def _remember_actions(self, arn: str, before: Any) -> None:
        if before is not None and self.switches.stale_weight_reads:
            self._actions[arn] = _Stale(self.switches.stale_weight_reads, before)

    def _on_DescribeListeners(self, parsed: Any, before: Any, context: Any) -> None:
        for listener in parsed.get("Listeners") or []:
            listener["DefaultActions"] = self._stale_actions(
                listener["ListenerArn"], listener.get("DefaultActions")
            )

    def _on_DescribeRules(self, parsed: Any, before: Any, context: Any) -> None:
        for rule in parsed.get("Rules") or []:
            rule["Actions"] = self._stale_actions(rule["RuleArn"], rule.get("Actions"))

    def _stale_actions(self, arn: str, actions: Any) -> Any:
        stale = self._actions.get(arn)
        if stale is None:
            return actions
        stale.reads -= 1
        if stale.reads <= 0:
            del self._actions[arn]
        return copy.deepcopy(stale.value)

    # recording -------------------------------------------------------------------------

    def _record(self, operation: str, context: Any) -> None:
        if not self.switches.record:
            return
        params = context.get("aws_behaviour_params") or {}
        line = {"op": operation, **params, "task_sets": self._truth_now(params)}
        with open(self.switches.record, "a", encoding="utf-8") as log:
            log.write(json.dumps(line, default=str) + "\n")

    def _truth_now(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        cluster, service = params.get("cluster"), params.get("service")
        if not cluster or not service:
            cluster, service = _only_service()
        answer = _plain("ecs").describe_task_sets(cluster=cluster, service=service)
        return [
            {
                "arn": t["taskSetArn"],
                "externalId": t.get("externalId"),
                "status": t["status"],
                "scale": t["scale"]["value"],
                "settled": self.settled(t["taskSetArn"]),
            }
            for t in answer["taskSets"]
            if t["status"] != "DRAINING"
        ]


def _old_status(ts: dict[str, Any], old_primary: str) -> str:
    if ts["taskSetArn"] == old_primary:
        return "PRIMARY"
    return "ACTIVE" if ts.get("status") == "PRIMARY" else str(ts.get("status"))


def _cloudwatch_after_call(operation: str, parsed: dict[str, Any]) -> None:
    """Hook point for CloudWatch's publication delay (late datapoints, a partial last minute):
    called with every successful CloudWatch answer, in place. Nothing yet."""


def _now() -> datetime:
    return datetime.now(UTC)


_clients: dict[str, Any] = {}


def _plain(name: str) -> Any:
    """A client of the same endpoint that is NOT on canaryctl's session (no hooks)."""
    if name not in _clients:
        import boto3

        _clients[name] = boto3.session.Session().client(name)
    return _clients[name]


def _moto_desired_count(cluster: str, service: str) -> int:
    answer = _plain("ecs").describe_services(cluster=cluster, services=[service])
    return int(answer["services"][0]["desiredCount"])


def _only_service() -> tuple[str, str]:
    ecs = _plain("ecs")
    cluster = ecs.list_clusters()["clusterArns"][0]
    service = ecs.list_services(cluster=cluster)["serviceArns"][0]
    return cluster, service


def _summary(operation: str, params: dict[str, Any]) -> dict[str, Any]:
    if operation in ("ModifyListener", "ModifyRule"):
        actions = params.get("DefaultActions") or params.get("Actions") or []
        forward = next((a for a in actions if a.get("Type") == "forward"), {})
        groups = (forward.get("ForwardConfig") or {}).get("TargetGroups") or []
        return {"weights": {g["TargetGroupArn"]: g.get("Weight", 1) for g in groups}}
    out = {k: params[k] for k in ("cluster", "service", "taskSet", "primaryTaskSet") if k in params}
    if "scale" in params:
        out["scale"] = params["scale"]["value"]
    if operation == "CreateTaskSet":
        out["externalId"] = params.get("externalId")
    return out


# -- in a canaryctl subprocess ---------------------------------------------------------


def install_from_env() -> AwsBehaviour | None:
    """Install the layer on canaryctl's session as ``$CANARYCTL_TEST_AWS_BEHAVIOUR`` says."""
    raw = os.environ.get(ENV, "")
    if not raw or raw == "off":
        return None
    from canaryctl import aws

    return AwsBehaviour(Switches(**json.loads(raw))).install(aws.session().events)


@dataclass(frozen=True)
class SubprocessLayer:
    """How a test gives a canaryctl subprocess the layer: ``source`` is a ``sitecustomize``
    module (put its directory first on PYTHONPATH), ``env`` the variable with the switches
    (JSON of ``Switches`` fields; missing fields keep their defaults)."""

    env: str
    source: str
    defaults: dict[str, Any]


def sitecustomize_source() -> str:
    """Python that loads this module by path and installs the layer from the environment; a
    layer that cannot install stops the process (a test must never run without it silently)."""
    return (
        "import importlib.util as _u, sys as _sys, traceback as _tb, os as _os\n"
        "try:\n"
        f"    _s = _u.spec_from_file_location('_aws_behaviour', {str(Path(__file__))!r})\n"
        "    _m = _u.module_from_spec(_s)\n"
        "    _sys.modules['_aws_behaviour'] = _m\n"
        "    _s.loader.exec_module(_m)\n"
        "    _m.install_from_env()\n"
        "except Exception:\n"
        "    _tb.print_exc()\n"
        "    _os._exit(97)\n"
    )


@pytest.fixture
def aws_behaviour_subprocess() -> SubprocessLayer:
    """The layer for canaryctl subprocesses (see ``SubprocessLayer``)."""
    return SubprocessLayer(ENV, sitecustomize_source(), asdict(Switches()))


# -- in-process tests ------------------------------------------------------------------


@pytest.fixture
def aws_behaviour() -> Iterator[Callable[..., AwsBehaviour]]:
    """``aws_behaviour(**switches)`` installs the layer on canaryctl's current session (call it
    after boto3 points at moto); removed at the end of the test."""
    installed: list[AwsBehaviour] = []

    def install(**switches: Any) -> AwsBehaviour:
        from canaryctl import aws

        layer = AwsBehaviour(Switches(**switches)).install(aws.session().events)
        installed.append(layer)
        return layer

    yield install
    for layer in installed:
        layer.uninstall()
    _clients.clear()
