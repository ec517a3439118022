"""The WebSocket gateway: ``GET /v1/ws``, Redis pub/sub between processes, presence.

See docs/realtime.md for the protocol. ``Realtime`` is the per-process runtime (started by the
app context); ``routes()`` is what the app registers.
"""

from __future__ import annotations

from gamebackend.realtime.gateway import routes
from gamebackend.realtime.runtime import Realtime

__all__ = ["Realtime", "routes"]
