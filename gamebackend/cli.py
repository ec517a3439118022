"""The ``gamebackend`` command: serve, migrate, check, prune, admin-key.

Exit codes: 0 success, 1 failure (a violated invariant, an unreachable server), 2 invalid input
(flags, environment, data files). Bad input is one line on stderr, never a traceback.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import copy
import logging
import os
import shutil
import signal
import sys
from collections.abc import Iterator
from pathlib import Path

from gamebackend import __version__
from gamebackend.settings import Settings

__all__ = ["main"]

EXIT_OK, EXIT_FAILED, EXIT_INVALID = 0, 1, 2


class CliError(Exception):
    """A one-line failure with its exit code."""

    def __init__(self, message: str, code: int = EXIT_FAILED) -> None:
        super().__init__(message)
        self.code = code


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="gamebackend", description="The reference gaming backend."
    )
    parser.add_argument("--version", action="version", version=f"gamebackend {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    data_help = "where embedded PostgreSQL/Redis live when DATABASE_URL/REDIS_URL are unset"
    serve = sub.add_parser("serve", help="run the HTTP API")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--workers", type=int, default=1, help="worker processes (default 1)")
    serve.add_argument("--data-dir", type=Path, default=None, help=data_help)
    for name, text in (
        ("migrate", "apply database migrations"),
        ("check", "verify the data invariants; exit 1 naming each violation"),
        ("prune", "delete idempotency keys older than GAMEBACKEND_IDEMPOTENCY_RETENTION"),
        ("admin-key", "print the admin key (generated and stored on first start when unset)"),
    ):
        cmd = sub.add_parser(name, help=text)
        cmd.add_argument("--data-dir", type=Path, default=None, help=data_help)
    return parser


def _settings() -> Settings:
    from gamebackend.catalogue import CatalogueError, load_game_data
    from gamebackend.faults import FaultSpecError, parse_faults
    from gamebackend.matchmaking.rules import load_rules
    from gamebackend.realtime.settings import load_realtime_settings
    from gamebackend.settings import SettingsError, load_settings

    try:
        settings = load_settings()
        parse_faults(settings.faults)
        load_game_data(settings.catalogue, settings.leaderboards)
        load_realtime_settings()
        load_rules()
    except FaultSpecError as exc:
        raise CliError(f"GAMEBACKEND_FAULTS: {exc}", EXIT_INVALID) from None
    except (SettingsError, CatalogueError) as exc:
        raise CliError(str(exc), EXIT_INVALID) from None
    return settings


@contextlib.contextmanager
def _servers(
    settings: Settings, data_dir: Path, *, redis: bool, create: bool
) -> Iterator[tuple[str, str | None]]:
    """(database_url, redis_url): the configured ones, or embedded ones under data_dir."""
    need_pg = not settings.database_url
    need_redis = redis and not settings.redis_url
    if not need_pg and not need_redis:
        yield settings.database_url or "", settings.redis_url
        return
    if need_pg and not create and not (data_dir / "pg" / "PG_VERSION").exists():
        raise CliError(
            f"--data-dir {data_dir}: no database there, and DATABASE_URL is unset", EXIT_INVALID
        )
    from gamebackend.embedded import EmbeddedError, EmbeddedServers

    servers = EmbeddedServers(data_dir, postgres=need_pg, redis=need_redis)
    try:
        servers.start()
    except EmbeddedError as exc:
        servers.stop()
        raise CliError(str(exc)) from None
    except BaseException:  # e.g. SIGTERM while starting: do not leave half of them running
        servers.stop()
        raise
    try:
        yield (
            servers.database_url or settings.database_url or "",
            servers.redis_url or settings.redis_url,
        )
    finally:
        servers.stop()


def _migrate(dsn: str) -> list[str]:
    from gamebackend.db.migrate import migrate

    try:
        return asyncio.run(migrate(dsn))
    except (OSError, ConnectionError) as exc:
        raise CliError(f"cannot reach the database: {exc}") from None


def _log_config() -> dict[str, object]:
    from uvicorn.config import LOGGING_CONFIG

    config = copy.deepcopy(LOGGING_CONFIG)
    config["loggers"]["gamebackend"] = {
        "handlers": ["default"],
        "level": "INFO",
        "propagate": False,
    }
    return config


class _Terminated(BaseException):
    """SIGTERM arrived. uvicorn shuts down gracefully, then re-raises the signal: raising this
    from our handler lets the embedded servers stop in the ``finally`` instead of the process
    dying on the spot."""


def _on_sigterm(signum: int, frame: object) -> None:
    raise _Terminated


def _serve(args: argparse.Namespace, settings: Settings, data_dir: Path) -> int:
    if args.workers < 1:
        raise CliError("--workers must be at least 1", EXIT_INVALID)
    signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        return _serve_with_servers(args, settings, data_dir)
    except _Terminated:
        return EXIT_OK


def _serve_with_servers(args: argparse.Namespace, settings: Settings, data_dir: Path) -> int:
    import uvicorn

    with _servers(settings, data_dir, redis=True, create=True) as (dsn, redis_url):
        applied = _migrate(dsn)
        if applied:
            print(f"applied migrations: {', '.join(applied)}", file=sys.stderr)
        # Workers build their settings from the environment: hand them the servers.
        os.environ["DATABASE_URL"] = dsn
        os.environ["REDIS_URL"] = redis_url or ""
        metrics_dir = data_dir / "metrics" / str(os.getpid())
        if args.workers > 1:
            shutil.rmtree(metrics_dir, ignore_errors=True)
            metrics_dir.mkdir(parents=True)
            os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(metrics_dir)
            # The workers share one listening socket; libuv (uvloop) would accept a burst of
            # connections all in the first worker to wake (13 of 16 measured). One accept per
            # turn spreads them over the workers.
            os.environ.setdefault("UV_TCP_SINGLE_ACCEPT", "1")
        try:
            uvicorn.run(
                "gamebackend.app:create_app", factory=True, host=args.host, port=args.port,
                workers=args.workers, access_log=False, log_config=_log_config(),
                server_header=False, timeout_graceful_shutdown=10,
                # The gateway's lean protocol; no per-connection compression (memory, and a
                # broadcast is framed once for every subscriber).
                ws="gamebackend.realtime.protocol:GatewayProtocol", ws_per_message_deflate=False,
                # A response's head and body in one send() (see gamebackend/httpserver.py).
                http="gamebackend.httpserver:CorkedHttpToolsProtocol",
                ws_max_size=65_536,
            )  # fmt: skip
        except KeyboardInterrupt:
            pass
        finally:
            shutil.rmtree(metrics_dir, ignore_errors=True)
    return EXIT_OK


def _check(settings: Settings, data_dir: Path) -> int:
    import asyncpg

    from gamebackend.catalogue import load_game_data
    from gamebackend.db.check import run_checks

    boards = load_game_data(settings.catalogue, settings.leaderboards).leaderboards
    with _servers(settings, data_dir, redis=False, create=False) as (dsn, _):
        try:
            checked, violations = asyncio.run(run_checks(dsn, boards))
        except asyncpg.UndefinedTableError:
            raise CliError(
                "the database has no gamebackend schema (run gamebackend migrate)"
            ) from None
        except (OSError, ConnectionError) as exc:
            raise CliError(f"cannot reach the database: {exc}") from None
    for v in violations:
        print(f"VIOLATION {v.invariant}: {v.detail}")
    if violations:
        print(f"{len(violations)} violation(s) across {checked} invariants", file=sys.stderr)
        return EXIT_FAILED
    print(f"ok: {checked} invariants hold")
    return EXIT_OK


def _prune(settings: Settings, data_dir: Path) -> int:
    from gamebackend.db import connect
    from gamebackend.db.retention import PruneResult, prune_idempotency
    from gamebackend.errors import ApiError

    retention, batch = settings.idempotency_retention, settings.idempotency_prune_batch

    async def prune(dsn: str) -> PruneResult:
        db = await connect(dsn, 1, settings.version)
        try:
            return await prune_idempotency(db, retention, batch, version=settings.version)
        finally:
            await db.close()

    with _servers(settings, data_dir, redis=False, create=False) as (dsn, _):
        _migrate(dsn)  # the index each batch uses comes with a migration
        try:
            result = asyncio.run(prune(dsn))
        except (OSError, ConnectionError, ApiError) as exc:
            raise CliError(f"cannot reach the database: {exc}") from None
    batches = f"{result.batches} batch" + ("es" if result.batches != 1 else "")
    print(
        f"pruned {result.deleted} idempotency keys older than {retention:g} s"
        f" in {batches} of at most {batch}"
    )
    return EXIT_OK


def _admin_key(settings: Settings, data_dir: Path) -> int:
    if settings.admin_key:
        print(settings.admin_key)
        return EXIT_OK
    from gamebackend.context import stored_secret
    from gamebackend.db import connect

    async def fetch(dsn: str) -> str:
        db = await connect(dsn, 1, settings.version)
        try:
            return await stored_secret(db, "admin_key", None)
        finally:
            await db.close()

    with _servers(settings, data_dir, redis=False, create=False) as (dsn, _):
        _migrate(dsn)
        print(asyncio.run(fetch(dsn)))
    return EXIT_OK


def run(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    settings = _settings()
    data_dir = (args.data_dir or settings.data_dir).expanduser().resolve()
    if args.command == "serve":
        return _serve(args, settings, data_dir)
    if args.command == "migrate":
        with _servers(settings, data_dir, redis=False, create=True) as (dsn, _):
            applied = _migrate(dsn)
        print(f"applied: {', '.join(applied)}" if applied else "up to date")
        return EXIT_OK
    if args.command == "check":
        return _check(settings, data_dir)
    if args.command == "prune":
        return _prune(settings, data_dir)
    return _admin_key(settings, data_dir)


def main(argv: list[str] | None = None) -> None:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        code = run(argv)
    except CliError as exc:
        print(f"error: {exc}", file=sys.stderr)
        code = exc.code
    except KeyboardInterrupt:
        code = 130
    raise SystemExit(code)
