"""Fixtures for every test directory. The servers the integration and end-to-end tests start
(processes, ports, embedded PostgreSQL/Redis, the router, Prometheus, sandboxes, moto) live in
plugins, so that each directory's conftest receives them as fixtures instead of repeating
them: no test module imports another."""

from __future__ import annotations

__all__ = ["pytest_plugins"]

pytest_plugins = [
    "tests._servers",
    "tests._sandbox",
    "tests._moto",
    "tests._aws_behaviour",
    "tests._environments",
]
