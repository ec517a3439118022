"""``terraform fmt -check`` over terraform/, and checkov skips that carry reasons."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from canaryctl.infra.embedded import EmbeddedTerraform

_SKIP = re.compile(r"checkov:skip=([A-Z0-9_]+)(?::(.*))?")


def test_terraform_fmt_check_passes(repo_root: Path) -> None:
    res = EmbeddedTerraform().fmt_check(repo_root / "terraform")
    assert res.returncode == 0, f"terraform fmt would change:\n{res.stdout}"


def test_fmt_check_catches_a_misformatted_file(repo_root: Path, tmp_path: Path) -> None:
    copy = tmp_path / "terraform"
    shutil.copytree(repo_root / "terraform" / "environments" / "local", copy)
    main = copy / "main.tf"
    main.write_text(main.read_text().replace("  input = {", "  input       =   {"))
    res = EmbeddedTerraform().fmt_check(copy)
    assert res.returncode != 0 and "main.tf" in res.stdout


def _skips(repo_root: Path) -> list[tuple[str, int, str, str]]:
    found = []
    for path in sorted((repo_root / "terraform").rglob("*.tf")):
        for lineno, line in enumerate(path.read_text().splitlines(), 1):
            if match := _SKIP.search(line):
                found.append((str(path), lineno, match.group(1), (match.group(2) or "").strip()))
    return found


def test_every_checkov_skip_carries_a_reason(repo_root: Path) -> None:
    skips = _skips(repo_root)
    assert skips, "expected the documented skips (e.g. CKV_AWS_378 on the target groups)"
    bad = [f"{p}:{n}: {check}" for p, n, check, reason in skips if len(reason.split()) < 5]
    assert not bad, "checkov skips without a reason:\n" + "\n".join(bad)


@pytest.mark.parametrize(
    "check", ["CKV_AWS_16", "CKV_AWS_17", "CKV_AWS_29", "CKV_AWS_30", "CKV_AWS_358"]
)
def test_security_checks_that_matter_are_never_skipped(repo_root: Path, check: str) -> None:
    assert check not in {c for _, _, c, _ in _skips(repo_root)}
