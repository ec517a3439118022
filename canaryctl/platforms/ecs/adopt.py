"""``canaryctl ecs adopt``: the first PRIMARY task set of a service canaryctl has never run.

A service with the EXTERNAL deployment controller starts with no task set, and ECS runs
nothing until one exists ("you must create a task set ... before the service can run tasks",
https://docs.aws.amazon.com/AmazonECS/latest/developerguide/deployment-type-external.html).
Terraform creates such a service (terraform/modules/ecs_service) with no task definition, load
balancer or network configuration of its own: those belong to task sets. Adopting it:

1. the listener's forward action says which of the two target groups takes the traffic (the
   stable one; Terraform creates it at 100/0 on blue);
2. one task set from the first task definition, on that group, at 100% scale, with the
   network configuration and launch type given (the service's when it has them), marked as
   canaryctl's release of the image's version (``externalId canaryctl/<version>``);
3. it is made PRIMARY, and waited for until it reads PRIMARY and is steady, with the ECS
   platform's own waits;
4. the listener is set to 100% on that group if it was not exactly that.

Idempotent: a service that already has a PRIMARY task set is left as it is ("already
adopted"); a lone task set that an interrupted adopt created (same task definition, group and
externalId) is taken up where it stopped. Any other task set without a PRIMARY is refused,
named: canaryctl does not guess which of someone else's task sets should serve.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from canaryctl.errors import InvalidInput, PlatformError
from canaryctl.platforms.base import TaskSet, Weights
from canaryctl.platforms.ecs import listener, taskdef
from canaryctl.platforms.ecs.platform import EcsPlatform
from canaryctl.platforms.ecs.tasksets import (
    scale_of,
    target_group_of,
    to_task_set,
    version_from_external_id,
)

__all__ = ["Adopted", "FirstTaskSet", "adopt"]


@dataclass(frozen=True)
class FirstTaskSet:
    """What the first task set runs, where the service does not say it itself.

    ``network``: an ``awsvpcConfiguration`` (subnets, securityGroups, assignPublicIp), used
    when the service has no network configuration; ``launch_type`` likewise (FARGATE when
    neither says). ``container_port``: default the container's first port mapping.
    ``version``: default the container image's tag."""

    task_definition: str | None = None
    network: dict[str, Any] | None = None
    launch_type: str | None = None
    container_port: int | None = None
    version: str | None = None


@dataclass(frozen=True)
class Adopted:
    changed: bool  # False: it was already adopted, nothing was written
    task_set: TaskSet
    target_group: str


def adopt(platform: EcsPlatform, first: FirstTaskSet, timeout_s: float) -> Adopted:
    """Give ``platform``'s service its first PRIMARY task set (see the module doc)."""
    return _Adoption(platform, first).run(timeout_s)


class _Adoption:
    # The ECS platform's calls and waits (its retries, eventual-consistency reads and
    # steady-state checks), not a second copy of them.
    def __init__(self, platform: EcsPlatform, first: FirstTaskSet) -> None:
        self.p, self.first, self.s = platform, first, platform.settings

    def run(self, timeout_s: float) -> Adopted:
        service = self._service()
        live = [ts for ts in self.p._task_sets() if ts.get("status") in ("PRIMARY", "ACTIVE")]
        primary = next((ts for ts in live if ts["status"] == "PRIMARY"), None)
        if primary is not None:
            scale = scale_of(primary)
            steady = self.p._wait_settled(
                primary, scale, None, timeout_s, "stable", steady=scale > 0
            )
            version = self.p._version(steady)
            group = target_group_of(steady) or "no target group"
            return Adopted(False, to_task_set(steady, "stable", version), group)
        group = self._stable_group()
        definition = self._definition(service)
        container = taskdef.pick_container(definition, self.s.container_name, None)
        version = self.first.version or taskdef.image_version(
            self.p._tds.image(definition, container)
        )
        arn = str(definition["taskDefinitionArn"])
        mine = self._interrupted(live, arn, group, version)
        created = mine or self._create(service, definition, container, group, version)
        ts = self.p._find(created)
        self.p._make_primary(ts, f"make task set {ts.get('id')} primary")
        steady = self.p._wait_settled(ts, 100.0, None, timeout_s, "stable")
        if self.p._traffic.weights(group, self._other(group)) != Weights(100, 0):
            self.p._traffic.write(group, self._other(group), Weights(100, 0))
        return Adopted(True, to_task_set(steady, "stable", version), group)

    # -- what is there ----------------------------------------------------------------------

    def _service(self) -> dict[str, Any]:
        name, cluster = self.s.service, self.s.cluster
        try:
            service = self.p._describe_service()
        except PlatformError as exc:
            if exc.code != "ClusterNotFoundException":
                raise
            raise InvalidInput(f"platform.cluster: no cluster {cluster!r} ({exc})") from None
        if not service or service.get("status") not in (None, "ACTIVE"):
            raise InvalidInput(f"platform.service: no active service {name!r} in cluster {cluster}")
        kind = (service.get("deploymentController") or {}).get("type", "ECS")
        if kind != "EXTERNAL":
            raise InvalidInput(
                f"platform.service: service {name!r} uses the {kind} deployment controller; "
                "canaryctl drives task sets of EXTERNAL services only"
            )
        return service

    def _other(self, group: str) -> str:
        blue, green = self.s.target_groups
        return green if group == blue else blue

    def _stable_group(self) -> str:
        """The target group the listener sends the traffic to (Terraform: blue, 100/0)."""
        blue, green = self.s.target_groups
        split = listener.read_weights(self.p._traffic.read_actions(), blue, green)
        if split.stable > 0 and split.canary == 0:
            return blue
        if split.canary > 0 and split.stable == 0:
            return green
        raise InvalidInput(
            f"the listener {self.s.traffic_arn} forwards blue={split.stable}/green="
            f"{split.canary}: adopt needs one of platform.targetGroups taking all the traffic "
            "(Terraform creates the listener at 100/0)"
        )

    def _definition(self, service: dict[str, Any]) -> dict[str, Any]:
        arn = self.first.task_definition or service.get("taskDefinition")
        if not arn:
            raise InvalidInput(
                f"--task-definition: service {self.s.service!r} names no task definition; give "
                "its first revision (Terraform output task_definition_arn)"
            )
        try:
            return self.p._tds.describe(str(arn))
        except PlatformError as exc:
            raise InvalidInput(f"--task-definition: cannot describe {arn}: {exc}") from None

    def _interrupted(
        self, live: list[dict[str, Any]], arn: str, group: str, version: str
    ) -> dict[str, Any] | None:
        """The task set an interrupted adopt created, if that is all there is; any other task
        set without a PRIMARY is refused."""
        if not live:
            return None
        if len(live) == 1:
            ts = live[0]
            ours = (
                ts.get("taskDefinition") == arn
                and target_group_of(ts) == group
                and version_from_external_id(ts.get("externalId")) == version
                and str(ts.get("externalId", "")).startswith("canaryctl/")
            )
            if ours:
                return ts
        named = ", ".join(
            f"{ts.get('id')} ({ts.get('status')}, externalId {ts.get('externalId') or 'none'}, "
            f"{ts.get('taskDefinition')})"
            for ts in live
        )
        raise InvalidInput(
            f"service {self.s.service!r} has task sets but no PRIMARY: {named}; make one "
            "primary (aws ecs update-service-primary-task-set) or delete them "
            "(aws ecs delete-task-set) before adopting"
        )

    # -- the writes ---------------------------------------------------------------------

    def _create(
        self,
        service: dict[str, Any],
        definition: dict[str, Any],
        container: str,
        group: str,
        version: str,
    ) -> dict[str, Any]:
        balancer = {
            "targetGroupArn": group,
            "containerName": container,
            "containerPort": self._port(definition, container),
        }
        placement = {
            "networkConfiguration": service.get("networkConfiguration")
            or self._network(definition),
            "platformVersion": service.get("platformVersion"),
            "capacityProviderStrategy": service.get("capacityProviderStrategy"),
            "launchType": service.get("launchType") or self.first.launch_type or "FARGATE",
        }
        return self.p._create_like(
            placement,
            str(definition["taskDefinitionArn"]),
            version,
            [balancer],
            100.0,
            f"create the first task set of service {self.s.service} ({version})",
        )

    def _port(self, definition: dict[str, Any], container: str) -> int:
        if self.first.container_port is not None:
            return self.first.container_port
        spec = next(c for c in definition["containerDefinitions"] if c["name"] == container)
        ports = [m["containerPort"] for m in spec.get("portMappings", []) if "containerPort" in m]
        if not ports:
            raise InvalidInput(
                f"--container-port: container {container!r} of {definition['taskDefinitionArn']}"
                " maps no port; give the port the target group sends traffic to"
            )
        return int(ports[0])

    def _network(self, definition: dict[str, Any]) -> dict[str, Any] | None:
        if self.first.network:
            return {"awsvpcConfiguration": self.first.network}
        if definition.get("networkMode") == "awsvpc":
            raise InvalidInput(
                f"--subnets: service {self.s.service!r} has no network configuration and "
                f"{definition['taskDefinitionArn']} uses awsvpc: give --subnets and "
                "--security-groups (Terraform outputs private_subnet_ids, "
                "service_security_group_id)"
            )
        return None
