"""Which store a command uses: ``--state``, ``$CANARYCTL_STATE``, the pipeline's ``state:``,
then the file store (``$CANARYCTL_STATE_DIR``, ``.canaryctl``); S3 for ``s3://`` locations."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

from canaryctl.cli.runtime import store_for
from canaryctl.config import FileStateConfig, S3StateConfig
from canaryctl.errors import InvalidInput
from canaryctl.state import FileStateStore, open_store, store_from_config
from canaryctl.state.s3 import S3StateStore


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ("CANARYCTL_STATE", "CANARYCTL_STATE_DIR", "AWS_REGION"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-central-1")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    monkeypatch.chdir(tmp_path)


def region_of(store: S3StateStore) -> str:
    return str(store._s3.meta.region_name)


def test_an_s3_url_opens_the_s3_store_anything_else_a_directory():
    s3 = open_store("s3://gb-state/staging", region="eu-west-1")
    assert isinstance(s3, S3StateStore)
    assert (s3.root, region_of(s3)) == ("s3://gb-state/staging/", "eu-west-1")
    assert open_store("s3://gb-state").root == "s3://gb-state/canaryctl/"
    files = open_store("records")
    assert isinstance(files, FileStateStore) and files.root == Path("records")


@pytest.mark.parametrize("bad", ["s3://", "s3:/gb-state", "s3:gb-state"])
def test_a_malformed_s3_location_is_refused(bad):
    with pytest.raises(InvalidInput, match="expected s3://BUCKET/PREFIX"):
        open_store(bad)


def test_the_pipeline_block_opens_its_store_with_the_platforms_region():
    block = S3StateConfig(bucket="gb-state", prefix="p/")
    store = store_from_config(block, region="us-east-2")
    assert isinstance(store, S3StateStore)
    assert (store.root, region_of(store)) == ("s3://gb-state/p/", "us-east-2")
    own = store_from_config(S3StateConfig(bucket="gb-state", region="ap-south-1"), region="x")
    assert region_of(own) == "ap-south-1"
    assert store_from_config(FileStateConfig(dir="here")).root == Path("here")


def pipeline(state: object = None, region: str | None = None) -> SimpleNamespace:
    return SimpleNamespace(state=state, platform=SimpleNamespace(type="ecs", region=region))


def test_the_flag_wins_then_the_variable_then_the_pipeline_then_the_default(monkeypatch):
    ecs = pipeline(S3StateConfig(bucket="from-pipeline"), region="eu-west-1")
    monkeypatch.setenv("CANARYCTL_STATE_DIR", "dir-from-env")
    assert store_for(None, ecs).root == "s3://from-pipeline/canaryctl/"  # over STATE_DIR
    assert region_of(store_for(None, ecs)) == "eu-west-1"  # the ECS platform's region
    monkeypatch.setenv("CANARYCTL_STATE", "s3://from-variable/x")
    assert store_for(None, ecs).root == "s3://from-variable/x/"
    assert store_for("flag-dir", ecs).root == Path("flag-dir")
    monkeypatch.delenv("CANARYCTL_STATE")
    assert store_for(None, pipeline()).root == Path("dir-from-env")
    assert store_for(None).root == Path("dir-from-env")  # control commands: no pipeline
    monkeypatch.delenv("CANARYCTL_STATE_DIR")
    assert store_for(None).root == Path(".canaryctl")
