"""Deployment records and the per-service lock (``base.StateStore``): ``file`` is the local
store (the default), ``s3`` the one for AWS. ``open_store`` picks one from a location:
``s3://BUCKET/PREFIX`` or a directory."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from canaryctl.errors import InvalidInput
from canaryctl.state.base import StateStore
from canaryctl.state.file import FileStateStore, state_dir

if TYPE_CHECKING:
    from canaryctl.state.s3 import S3StateStore

__all__ = [
    "FileStateStore",
    "StateStore",
    "is_s3_url",
    "open_store",
    "state_dir",
    "store_from_config",
]


def is_s3_url(location: str | None) -> bool:
    return bool(location) and str(location).startswith("s3://")


def open_store(
    location: str | None = None, *, region: str | None = None
) -> FileStateStore | S3StateStore:
    """The store at ``location``: ``s3://BUCKET/PREFIX`` is the S3 store (boto3 is imported
    only then); anything else is the file store's directory; None is ``$CANARYCTL_STATE_DIR``
    or ``./.canaryctl``."""
    if location is not None and location.startswith("s3:"):
        from canaryctl.state.s3 import S3StateStore

        if not is_s3_url(location) or not location[5:].split("/", 1)[0]:
            raise InvalidInput(f"state {location!r}: expected s3://BUCKET/PREFIX")
        return S3StateStore.from_url(location, region=region)
    return FileStateStore(state_dir(location))


def store_from_config(config: Any, *, region: str | None = None) -> FileStateStore | S3StateStore:
    """The store a pipeline's validated ``state:`` block names (``type: file`` or ``s3``);
    ``region`` is the fallback for an S3 block without one (the platform's region)."""
    if getattr(config, "type", None) == "s3":
        from canaryctl.state.s3 import S3StateStore

        return S3StateStore(
            str(config.bucket), str(config.prefix), region=getattr(config, "region", None) or region
        )
    return FileStateStore(state_dir(str(config.dir)))
