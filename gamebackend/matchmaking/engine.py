"""Forming groups in one pool: pure, so the rules are tested without a database.

Candidates come sorted by MMR. The longest-waiting ticket picks first: among the runs of
``size`` consecutive free candidates (in MMR order) that contain it, it takes the one with the
smallest skill spread that every member's window accepts. Free neighbours are kept in a doubly
linked list, so a pass is O(n * size).
"""

from __future__ import annotations

from dataclasses import dataclass

from gamebackend.matchmaking.rules import MatchRules

__all__ = ["Candidate", "form_groups"]


@dataclass(frozen=True, slots=True)
class Candidate:
    ticket_id: str
    player_id: str
    mmr: int
    waited: float  # seconds since the ticket was made
    ping: int  # to this pool's region
    best_ping: int


def form_groups(cands: list[Candidate], size: int, rules: MatchRules) -> list[list[Candidate]]:
    """Disjoint groups of ``size`` candidates, each acceptable to all of its members."""
    n = len(cands)
    if n < size:
        return []
    windows = [rules.window(c.waited) for c in cands]
    prev = list(range(-1, n - 1))
    nxt = list(range(1, n + 1))
    free = [True] * n
    groups: list[list[Candidate]] = []
    for i in sorted(range(n), key=lambda k: -cands[k].waited):
        if not free[i]:
            continue
        best = _best_run(i, size, cands, windows, prev, nxt, free)
        if best is None:
            continue
        for k in best:
            free[k] = False
            if prev[k] >= 0:
                nxt[prev[k]] = nxt[k]
            if nxt[k] < n:
                prev[nxt[k]] = prev[k]
        groups.append([cands[k] for k in best])
    return groups


def _best_run(
    i: int, size: int, cands: list[Candidate], windows: list[float],
    prev: list[int], nxt: list[int], free: list[bool],
) -> list[int] | None:  # fmt: skip
    left = _walk(i, size - 1, prev, free, len(cands))
    right = _walk(i, size - 1, nxt, free, len(cands))
    best: list[int] | None = None
    best_spread = 0
    for n_left in range(size):
        n_right = size - 1 - n_left
        if n_left > len(left) or n_right > len(right):
            continue
        run = [*reversed(left[:n_left]), i, *right[:n_right]]
        spread = cands[run[-1]].mmr - cands[run[0]].mmr
        if spread <= min(windows[k] for k in run) and (best is None or spread < best_spread):
            best, best_spread = run, spread
    return best


def _walk(i: int, count: int, step: list[int], free: list[bool], n: int) -> list[int]:
    """Up to ``count`` free indices next to ``i`` following ``step`` (prev or nxt)."""
    out: list[int] = []
    k = step[i]
    while 0 <= k < n and len(out) < count:
        if free[k]:
            out.append(k)
        k = step[k]
    return out
