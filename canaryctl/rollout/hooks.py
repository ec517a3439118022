"""Hooks that run during an analyze step (a load generator, as Flagger's load tester).

The engine only knows ``HookRunner``; ``LoadHookRunner`` drives canaryctl's load generator
(``canaryctl.load.run_in_background``), imported when a pipeline actually uses it.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Sequence
from typing import Any, Protocol

from canaryctl.errors import CanaryError
from canaryctl.rollout.plan import LoadHookSpec

__all__ = ["HookHandle", "HookRunner", "LoadHookRunner"]


class HookHandle(Protocol):
    """A running hook; ``stop`` ends it (idempotent)."""

    def stop(self) -> None: ...


class HookRunner(Protocol):
    """Starts the pipeline's ``duringAnalysis`` hooks."""

    def check(self, hooks: Sequence[LoadHookSpec]) -> None:
        """Raise ``CanaryError`` now if the hooks could not run (before any side effect)."""
        ...

    def start(self, hooks: Sequence[LoadHookSpec], duration_s: float) -> list[HookHandle]:
        """Start every hook for at most ``duration_s``; the engine stops them at step end."""
        ...


def _load_module() -> Any:
    try:
        module = importlib.import_module("canaryctl.load")
    except ImportError as exc:
        raise CanaryError(
            f"the pipeline's load hook needs canaryctl's load generator (canaryctl.load): {exc}"
        ) from None
    if not callable(getattr(module, "run_in_background", None)):
        raise CanaryError(
            "the pipeline's load hook needs canaryctl.load.run_in_background, which this "
            "installation does not provide"
        )
    return module


class LoadHookRunner:
    """Runs ``load`` hooks against ``hook.url`` or the platform's traffic URL."""

    def __init__(
        self,
        traffic_url: Callable[[], str | None],
        options: Callable[[], dict[str, Any]] | None = None,
    ) -> None:
        self._traffic_url = traffic_url
        self._options = options or dict  # extra keyword arguments, e.g. the admin key

    def check(self, hooks: Sequence[LoadHookSpec]) -> None:
        if hooks:
            _load_module()

    def start(self, hooks: Sequence[LoadHookSpec], duration_s: float) -> list[HookHandle]:
        if not hooks:
            return []
        module = _load_module()
        handles: list[HookHandle] = []
        try:
            for hook in hooks:
                url = hook.url or self._traffic_url()
                if not url:
                    raise CanaryError(
                        "the platform does not say where to send load; give the load hook a url:"
                    )
                duration = min(hook.duration_s or duration_s, duration_s)
                handles.append(
                    module.run_in_background(
                        url, hook.profile, hook.rps, duration, **hook.options(), **self._options()
                    )
                )
        except BaseException:
            for handle in handles:
                handle.stop()
            raise
        return handles
