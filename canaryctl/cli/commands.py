"""Imports every command module so they register on the app."""

from __future__ import annotations

import importlib

_MODULES = ["deploy", "control", "policy", "sandbox", "load", "env", "explain", "ecs"]

for _name in _MODULES:
    try:
        importlib.import_module(f"canaryctl.cli.{_name}")
    except ModuleNotFoundError as exc:  # a group not built yet
        if exc.name != f"canaryctl.cli.{_name}":
            raise
