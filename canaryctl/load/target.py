"""Where load may go: loopback addresses, unless the caller opts in to a remote target.

A load generator pointed at the wrong host is a denial of service, so a target is checked
before any request: its name is resolved, and any address that is not loopback is refused
unless the caller said so (``--allow-remote`` on the command line, ``allowRemote: true`` on a
pipeline's load hook). ``http://`` and ``https://`` targets are accepted (TLS is verified with
the system's trust store, or ``SSL_CERT_FILE``; WebSocket players use ``ws://``/``wss://``).
"""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

from canaryctl.errors import InvalidInput

__all__ = ["SCHEMES", "check_target", "remote_addresses"]

SCHEMES = ("http", "https")


def remote_addresses(host: str, port: int) -> list[str]:
    """The addresses ``host`` resolves to that are not loopback (``InvalidInput`` if it does
    not resolve). A literal address is its own resolution."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as exc:
        raise InvalidInput(f"cannot resolve {host}: {exc}") from None
    found = {str(info[4][0]) for info in infos}
    return sorted(a for a in found if not ipaddress.ip_address(a.split("%")[0]).is_loopback)


def check_target(
    url: str,
    allow_remote: bool = False,
    *,
    where: str = "--target",
    opt_in: str = "--allow-remote",
) -> str:
    """The URL without a trailing slash; ``InvalidInput`` naming ``where`` unless it is an
    http(s) URL whose host resolves to loopback addresses only, or ``allow_remote``.
    ``opt_in`` is what the user sets to allow a remote target (a flag, a pipeline key)."""
    parts = urlsplit(url)
    if parts.scheme not in SCHEMES or not parts.hostname:
        raise InvalidInput(f"{where}: expected an http:// or https:// URL, got {url!r}")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError as exc:
        raise InvalidInput(f"{where}: {exc} in {url!r}") from None
    try:
        remote = remote_addresses(parts.hostname, port)
    except InvalidInput as exc:
        raise InvalidInput(f"{where}: {exc}") from None
    if remote and not allow_remote:
        shown = "" if remote == [parts.hostname] else f" ({', '.join(remote)})"
        raise InvalidInput(
            f"{where}: {parts.hostname}{shown} is not a loopback address; load is "
            f"loopback-only unless {opt_in}"
        )
    return url.rstrip("/")
