"""A synchronous client of the sandbox's control API (used by LocalPlatform and the CLI)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx

from canaryctl.errors import PlatformError, TrafficDrift
from canaryctl.platforms.local.sandboxfile import SandboxInfo, no_sandbox, running_sandbox

__all__ = ["ControlClient"]


class ControlClient:
    """Calls the control API of the sandbox running in ``directory``.

    Errors become ``PlatformError`` carrying the API's error code (``canary_exists``,
    ``drift`` → ``TrafficDrift``, ``canary_unhealthy`` …); an unreachable sandbox becomes a
    ``PlatformError`` with code ``unreachable``.
    """

    def __init__(self, info: SandboxInfo, timeout: float = 10.0) -> None:
        self.info = info
        self._http = httpx.Client(
            base_url=info.control_url,
            headers={"x-sandbox-token": info.token},
            timeout=timeout,
        )

    @classmethod
    def for_dir(cls, directory: Path | str, timeout: float = 10.0) -> ControlClient:
        """The client of the sandbox running there, or ``InvalidInput`` naming the fix."""
        info = running_sandbox(Path(directory))
        if info is None or not info.control_url:
            raise no_sandbox(directory)
        return cls(info, timeout)

    def call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        try:
            resp = self._http.request(method, path, json=body)
        except httpx.HTTPError as exc:
            raise PlatformError(
                f"sandbox control API {self.info.control_url} unreachable: {exc}", "unreachable"
            ) from None
        if resp.status_code >= 400:
            try:
                data = resp.json()
            except ValueError:
                data = {"error": resp.text}
            code = data.get("code")
            message = f"sandbox: {data.get('error', resp.reason_phrase)}"
            if code == "drift":
                raise TrafficDrift(message)
            raise PlatformError(message, code or str(resp.status_code))
        return resp.json()

    def state(self) -> dict[str, Any]:
        return dict(self.call("GET", "/v1/state"))

    def close(self) -> None:
        self._http.close()
