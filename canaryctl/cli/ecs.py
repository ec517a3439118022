"""``canaryctl ecs adopt``: the first PRIMARY task set of a Terraform-created ECS service.

Thin: flags and the pipeline's environment outputs become a ``FirstTaskSet``; the work is in
``canaryctl.platforms.ecs.adopt``."""

# No `from __future__ import annotations` here: Typer builds every command's parameters for
# any --help, and string annotations cost it an eval each (about 10% of `canaryctl --help`).

from typing import Annotated, Any

import typer

from canaryctl.cli.main import app

__all__ = ["adopt", "ecs_app"]

ecs_app = typer.Typer(
    help="ECS services driven by canaryctl (EXTERNAL deployment controller).",
    no_args_is_help=True,
)
app.add_typer(ecs_app, name="ecs", rich_help_panel="Deployments")

# Terraform outputs (terraform/modules/service_environment/outputs.tf) that say what the first
# task set runs; a flag given wins.
_OUTPUTS = {
    "task_definition": "task_definition_arn",
    "subnets": "private_subnet_ids",
    "security_groups": "service_security_group_id",
    "launch_type": "launch_type",
    "container_port": "container_port",
}


def _ids(flag: str, values: list[str] | None) -> list[str] | None:
    """``--subnets a,b --subnets c`` → ``[a, b, c]``; an empty one names the flag."""
    if values is None:
        return None
    ids = [v.strip() for value in values for v in value.split(",")]
    if not ids or "" in ids:
        raise _invalid(f"{flag}: expected IDs separated by commas, got {','.join(values)!r}")
    return ids


def _invalid(message: str) -> Exception:
    from canaryctl.errors import InvalidInput

    return InvalidInput(message)


def _environment_defaults(path: str, environment: str | None, outputs: Any) -> dict[str, Any]:
    """The first task set's values from the Terraform outputs of ``environment`` (default:
    the pipeline's ``platform.fromEnvironment``); {} without an environment."""
    from canaryctl.config.yamlload import load_yaml

    if environment is None:
        platform = load_yaml(path, "pipeline file").get("platform")
        found = platform.get("fromEnvironment") if isinstance(platform, dict) else None
        environment = found if isinstance(found, str) else None
    if environment is None:
        return {}
    values = outputs(environment)
    defaults = {key: values[name] for key, name in _OUTPUTS.items() if name in values}
    if isinstance(defaults.get("security_groups"), str):
        defaults["security_groups"] = [defaults["security_groups"]]
    return defaults


@ecs_app.command()
def adopt(
    pipeline: Annotated[str, typer.Option("--pipeline", "-p", help="Pipeline file (YAML).")],
    task_definition: Annotated[
        str | None,
        typer.Option(
            "--task-definition",
            help="ARN (or family:revision) of the first task definition "
            "[default: the environment's task_definition_arn output, else the service's].",
        ),
    ] = None,
    subnets: Annotated[
        list[str] | None,
        typer.Option(
            "--subnets",
            help="Subnet IDs, comma-separated, when the service has no network configuration "
            "[default: the environment's private_subnet_ids].",
        ),
    ] = None,
    security_groups: Annotated[
        list[str] | None,
        typer.Option(
            "--security-groups",
            help="Security group IDs, comma-separated [default: the environment's "
            "service_security_group_id].",
        ),
    ] = None,
    public_ip: Annotated[
        bool, typer.Option("--assign-public-ip", help="Give the tasks public IPs.")
    ] = False,
    container_port: Annotated[
        int | None,
        typer.Option(
            "--container-port",
            help="Port the target group sends traffic to [default: the container's first].",
        ),
    ] = None,
    version: Annotated[
        str | None,
        typer.Option("--version", help="Version it runs [default: the image's tag]."),
    ] = None,
    environment: Annotated[
        str | None,
        typer.Option(
            "--environment",
            help="Terraform environment for the defaults [default: platform.fromEnvironment].",
        ),
    ] = None,
    set_: Annotated[
        list[str] | None,
        typer.Option("--set", help="PATH=VALUE override of the pipeline."),
    ] = None,
    output: Annotated[str | None, typer.Option("--output", "-o", help="text or json.")] = None,
) -> None:
    """Give the pipeline's ECS service its first PRIMARY task set, once, after `canaryctl env
    up`: a service with the EXTERNAL deployment controller runs nothing until it has one, and
    `canaryctl deploy` starts each canary beside it.

    The task set runs the first task definition at 100% scale behind the target group the
    listener sends the traffic to (blue, as Terraform creates it), with the service's network
    configuration and launch type, else the environment's (private subnets, the service's
    security group, FARGATE). It waits until the set is PRIMARY and steady. A second run
    changes nothing ("already adopted"). A service with task sets but no PRIMARY is refused.

    Exit codes: 0 adopted or already adopted, 2 invalid input (or a service canaryctl will not
    adopt), 1 anything else (e.g. the task set is not steady within platform.healthTimeout).
    """
    import json
    import sys

    from canaryctl.cli import runtime as rt
    from canaryctl.config import EcsPlatformConfig, load_pipeline
    from canaryctl.config.environments import EnvironmentOutputs, environments_root

    mode = rt.output_mode(output)
    if version is not None:
        rt.validate_version(version)
    if container_port is not None and not 0 < container_port < 65536:
        raise _invalid(f"--container-port: must be a port (1-65535), got {container_port}")
    subnet_ids = _ids("--subnets", subnets)
    group_ids = _ids("--security-groups", security_groups)
    outputs = EnvironmentOutputs(environments_root())  # Terraform runs once per environment
    loaded = load_pipeline(pipeline, set_ or (), outputs=outputs)
    config = loaded.pipeline.platform
    if not isinstance(config, EcsPlatformConfig):
        raise _invalid(
            f"{pipeline}: platform.type: ecs adopt needs an ecs pipeline, not {config.type}"
        )
    defaults = _environment_defaults(pipeline, environment, outputs)
    first = _first_task_set(
        defaults,
        task_definition=task_definition,
        subnets=subnet_ids,
        security_groups=group_ids,
        public_ip=public_ip,
        container_port=container_port,
        version=version,
    )
    done = _adopt(config, loaded.pipeline.service, first)
    ts = done.task_set
    status = "adopted" if done.changed else "already adopted"
    if mode == "json":
        doc = {
            "status": status,
            "changed": done.changed,
            "service": config.service or loaded.pipeline.service,
            "task_set": {"id": ts.id, "version": ts.version, **ts.details},
            "target_group": done.target_group,
        }
        sys.stdout.write(json.dumps(doc, indent=2, default=str) + "\n")
        return
    group = done.target_group.rsplit(":", 1)[-1]
    what = "" if done.changed else "; nothing changed"
    sys.stdout.write(
        f"{status}: task set {ts.id} ({ts.version}) is PRIMARY behind {group}, "
        f"{ts.details.get('stability')}, running {ts.running} of {ts.desired}{what}\n"
    )


def _first_task_set(defaults: dict[str, Any], **flags: Any) -> Any:
    from canaryctl.platforms.ecs.adopt import FirstTaskSet

    def pick(name: str) -> Any:
        return flags.get(name) if flags.get(name) is not None else defaults.get(name)

    subnets, groups = pick("subnets"), pick("security_groups")
    network = None
    if subnets:
        network = {
            "subnets": list(subnets),
            "securityGroups": list(groups or []),
            "assignPublicIp": "ENABLED" if flags["public_ip"] else "DISABLED",
        }
    elif flags.get("security_groups"):
        raise _invalid("--security-groups: give --subnets with it")
    port = pick("container_port")
    return FirstTaskSet(
        task_definition=pick("task_definition"),
        network=network,
        launch_type=pick("launch_type"),
        container_port=int(port) if port is not None else None,
        version=flags.get("version"),
    )


def _adopt(config: Any, service: str, first: Any) -> Any:
    from canaryctl.platforms.ecs.adopt import adopt as run
    from canaryctl.platforms.ecs.platform import EcsPlatform
    from canaryctl.platforms.ecs.settings import EcsSettings

    platform = EcsPlatform(EcsSettings.from_config(config, service=service))
    try:
        return run(platform, first, timeout_s=float(config.health_timeout))
    finally:
        platform.close()
