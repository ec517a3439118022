"""``python -m gamebackend`` is the ``gamebackend`` command."""

from __future__ import annotations

from gamebackend.cli import main

__all__: list[str] = []

if __name__ == "__main__":
    main()
