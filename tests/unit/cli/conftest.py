"""The CLI run in-process: ``cli(*argv)`` returns (exit code, stdout, stderr)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from canaryctl.cli.main import main

Run = Callable[..., tuple[int, str, str]]


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str]) -> Run:
    def run(*argv: str) -> tuple[int, str, str]:
        with pytest.raises(SystemExit) as info:
            main(list(argv))
        out, err = capsys.readouterr()
        return int(info.value.code or 0), out, err

    return run
