"""The state section of a pipeline (``state:``): where deployment records and the
per-service lock live.

    state: s3://my-bucket/canaryctl/                  # shorthand for the block below
    state: {type: s3, bucket: my-bucket, prefix: canaryctl/, region: eu-west-1}
    state: .canaryctl                                 # shorthand for {type: file, dir: …}

Without ``state:`` the file store under ``$CANARYCTL_STATE_DIR`` or ``./.canaryctl`` is used.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field, field_validator

from canaryctl.config.models import Model

__all__ = ["FileStateConfig", "S3StateConfig", "StateConfig"]

# S3's rules for bucket names (general purpose buckets), so a typo fails at load time.
_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")


class FileStateConfig(Model):
    """JSON files in a directory (relative to the working directory)."""

    type: Literal["file"] = "file"
    dir: str = ".canaryctl"

    @field_validator("dir")
    @classmethod
    def _not_empty(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must name a directory")
        return value


class S3StateConfig(Model):
    """An S3 bucket (conditional writes carry the lock); ``region`` defaults to the
    platform's, then to AWS_REGION."""

    type: Literal["s3"] = "s3"
    bucket: str
    prefix: str = "canaryctl/"
    region: str | None = None

    @field_validator("bucket")
    @classmethod
    def _bucket_name(cls, value: str) -> str:
        if not _BUCKET.match(value) or ".." in value:
            raise ValueError(
                f"{value!r} is not an S3 bucket name (3-63 lowercase letters, digits, '.', '-')"
            )
        return value


def _shorthand(value: Any) -> Any:
    """``s3://BUCKET/PREFIX`` → the s3 block; any other text → the file block."""
    if not isinstance(value, str):
        return value
    if value.startswith("s3://"):
        bucket, _, prefix = value[5:].partition("/")
        return {"type": "s3", "bucket": bucket, "prefix": prefix or "canaryctl/"}
    return {"type": "file", "dir": value}


StateConfig = Annotated[
    FileStateConfig | S3StateConfig,
    Field(discriminator="type"),
    BeforeValidator(_shorthand),
]
