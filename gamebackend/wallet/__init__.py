"""Wallets and the money ledger: credits, debits, transfers, with idempotency keys."""

from __future__ import annotations

__all__: list[str] = []
