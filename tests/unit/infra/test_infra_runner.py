"""Which Terraform canaryctl runs, and the python-terraform wrapper that keeps removed flags out."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from python_terraform import IsFlagged

from canaryctl.errors import InvalidInput, PlatformError
from canaryctl.infra.runner import ENV_VAR, MIN_VERSION, parse_version, select_terraform
from canaryctl.infra.system import SafeTerraform, SystemTerraform


def _version_json(version: str) -> str:
    return json.dumps({"terraform_version": version, "platform": "linux_amd64"}) + "\n"


def test_embedded_is_chosen_by_name() -> None:
    tf = select_terraform({ENV_VAR: "embedded", "PATH": ""})
    assert tf.kind == "embedded"


def test_embedded_when_no_terraform_on_path(tmp_path: Path) -> None:
    assert select_terraform({"PATH": str(tmp_path)}).kind == "embedded"


def test_terraform_on_path_is_used(recording_executable: Any) -> None:
    exe, _ = recording_executable("terraform", _version_json("1.11.4"))
    tf = select_terraform({"PATH": str(exe.parent)})
    assert tf.kind == "system"
    assert isinstance(tf, SystemTerraform) and tf.binary == str(exe)


def test_configured_binary_wins_over_path(recording_executable: Any) -> None:
    on_path, _ = recording_executable("terraform", _version_json("1.11.4"))
    chosen, log = recording_executable("tf-pinned", _version_json("1.12.0"))
    tf = select_terraform({ENV_VAR: str(chosen), "PATH": str(on_path.parent)})
    assert isinstance(tf, SystemTerraform) and tf.binary == str(chosen)
    assert log.exists()


def test_too_old_terraform_is_refused_with_a_way_out(recording_executable: Any) -> None:
    exe, _ = recording_executable("terraform", _version_json("1.5.7"))
    with pytest.raises(InvalidInput) as info:
        select_terraform({"PATH": str(exe.parent)})
    message = str(info.value)
    assert "1.5.7" in message and str(exe) in message
    assert ".".join(map(str, MIN_VERSION)) in message and f"{ENV_VAR}=embedded" in message


def test_missing_configured_binary_names_the_variable(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match=f"{ENV_VAR}=.*no such executable"):
        select_terraform({ENV_VAR: str(tmp_path / "nope"), "PATH": ""})


@pytest.mark.parametrize(
    ("text", "expected"),
    [("1.11.4", (1, 11, 4)), ("v1.15.5", (1, 15, 5)), ("Terraform v0.12.31\n", (0, 12, 31))],
)
def test_parse_version(text: str, expected: tuple[int, int, int]) -> None:
    assert parse_version(text) == expected


def test_destroy_runs_as_apply_destroy_without_force(
    recording_executable: Any, argv_log: Any, tmp_path: Path
) -> None:
    exe, log = recording_executable("terraform", "")
    SafeTerraform(working_dir=str(tmp_path), terraform_bin_path=str(exe)).destroy()
    (argv,) = argv_log(log)
    assert argv[0] == "apply"
    assert "-destroy" in argv and "-auto-approve" in argv
    assert not any(a.split("=")[0] == "-force" for a in argv)


def test_explicit_force_is_dropped_from_destroy(
    recording_executable: Any, argv_log: Any, tmp_path: Path
) -> None:
    exe, log = recording_executable("terraform", "")
    SafeTerraform(working_dir=str(tmp_path), terraform_bin_path=str(exe)).destroy(force=IsFlagged)
    (argv,) = argv_log(log)
    assert "-force" not in argv


def test_removed_flag_never_reaches_terraform_on_any_path(
    recording_executable: Any, tmp_path: Path
) -> None:
    exe, log = recording_executable("terraform", "")
    tf = SafeTerraform(working_dir=str(tmp_path), terraform_bin_path=str(exe))
    with pytest.raises(PlatformError, match="-force"):
        tf.cmd("destroy", force=IsFlagged)
    assert not log.exists()  # nothing was executed


def test_system_destroy_and_apply_command_lines(
    recording_executable: Any, argv_log: Any, tmp_path: Path
) -> None:
    exe, log = recording_executable("terraform", "")
    tf = SystemTerraform(str(exe))
    tf.apply(tmp_path, variables={})
    tf.destroy(tmp_path, variables={})
    apply, destroy = argv_log(log)
    assert apply[0] == "apply" and "-auto-approve=true" in apply and "-input=false" in apply
    assert destroy[:1] == ["apply"] and "-destroy" in destroy and "-auto-approve" in destroy
    assert "-force" not in apply + destroy
