"""What every anytime-valid judge shares: its parameters, the shape of an assessment, and
how an assessment becomes a Verdict (fail / decided pass / pass / inconclusive / error).

Outcomes: ``fail`` as soon as a regression is certain (e-value >= 1/alpha) — and, when the
assessment carries an attribution test, only if the canary is also worse than stable over the
same time (otherwise a shared incident is reported as inconclusive); ``pass`` with
``evidence["decided"]`` when the canary is certainly within the SLO (after ``min_bake_s``);
``pass`` without ``decided`` when nothing is wrong so far and the test has seen enough traffic
to have caught a ``power_ratio``-times regression; otherwise ``inconclusive`` with the number
of canary requests still needed. Missing data is ``error``, never a pass.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from canaryctl.analysis.base import Outcome, SloRule, Verdict
from canaryctl.errors import InvalidInput
from canaryctl.metrics.base import NoData, WindowStats

__all__ = [
    "Assessment",
    "SequentialSettings",
    "decide",
    "fmt_level",
    "fmt_ms",
    "fmt_pct",
    "inconclusive_verdict",
    "no_data_verdict",
    "param_number",
]

_DURATION_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}


def param_number(params: dict[str, Any], key: str, default: float, percent: bool = False) -> float:
    """A numeric judge parameter: a number, ``"1%"`` (when ``percent``) or a duration such as
    ``"60s"``/``"2m"``. A policy typo is the user's input error (exit 2), never a silent default."""
    value = params.get(key, default)
    if isinstance(value, str):
        text = value.strip()
        unit = next((u for u in ("ms", "s", "m", "h") if text.endswith(u)), None)
        scale = 1.0
        if percent and text.endswith("%"):
            text, scale = text[:-1], 0.01
        elif unit is not None:
            text, scale = text[: -len(unit)], _DURATION_UNITS[unit]
        try:
            value = float(text) * scale
        except ValueError:
            raise InvalidInput(f"judge parameter {key}: {params[key]!r} is not a number") from None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise InvalidInput(f"judge parameter {key}: {value!r} is not a number")
    return float(value)


@dataclass(frozen=True)
class SequentialSettings:
    """Judge parameters from ``rule.params``: ``alpha`` (false-alarm level, default 1%),
    ``power_ratio`` (the regression size, in odds, that "enough traffic" must be able to catch;
    default 3), ``min_bake_s`` (no decided pass before this many seconds of canary traffic),
    ``only_if_worse_than_stable`` (absolute rules fail only when the canary is also worse than
    stable over the same time; default true)."""

    alpha: float = 0.01
    power_ratio: float = 3.0
    min_bake_s: float = 0.0
    only_if_worse_than_stable: bool = True

    @classmethod
    def from_params(cls, params: dict[str, Any]) -> SequentialSettings:
        alpha = param_number(params, "alpha", 0.01, percent=True)
        power = param_number(params, "power_ratio", 3.0)
        bake = param_number(params, "min_bake_s", param_number(params, "min_bake", 0.0))
        attribute = params.get("only_if_worse_than_stable", True)
        if not 0.0 < alpha < 0.5:
            raise InvalidInput(f"judge parameter alpha: {alpha:g} must be between 0 and 50%")
        if power <= 1.0:
            raise InvalidInput(f"judge parameter power_ratio: {power:g} must be above 1")
        if bake < 0:
            raise InvalidInput(f"judge parameter min_bake_s: {bake:g} must not be negative")
        if not isinstance(attribute, bool):
            raise InvalidInput(
                f"judge parameter only_if_worse_than_stable: {attribute!r} is not true or false"
            )
        return cls(alpha, power, bake, attribute)

    @property
    def level(self) -> float:
        return math.log(1.0 / self.alpha)


@dataclass
class Assessment:
    """What a rule's tests found, before it becomes a Verdict.

    ``fail_log_e``/``pass_log_e`` are compared with log(1/alpha); ``blame_log_e`` (optional)
    is the evidence that the canary is worse than stable, which a fail also needs; ``within``
    says nothing points at a regression (the point estimate is inside the bound); ``needed`` is
    more canary requests to conclude at the observed rates; ``power_requests`` the canary
    requests after which a ``power_ratio``-times regression would have been caught. ``what``
    names the measured quantity in words.
    """

    measured: float | None
    threshold: float | None
    fail_log_e: float
    pass_log_e: float
    within: bool
    needed: int | None
    power_requests: int | None
    what: str
    baseline: float | None = None
    blame_log_e: float | None = None
    evidence: dict[str, Any] = field(default_factory=dict)


def no_data_verdict(
    rule: SloRule,
    judge: str,
    stable: WindowStats | NoData,
    canary: WindowStats | NoData,
    needs_stable: bool,
) -> Verdict | None:
    """``error`` naming the missing side, or None when the data needed is there."""
    missing = canary if isinstance(canary, NoData) else None
    if missing is None and needs_stable and isinstance(stable, NoData):
        missing = stable
    if missing is None:
        return None
    who = "canary" if missing is canary else "stable (the baseline)"
    return Verdict(
        slo=rule.name, outcome=Outcome.ERROR, route_class=rule.route_class,
        measured=None, threshold=rule.threshold,
        canary_requests=0 if isinstance(canary, NoData) else canary.requests,
        stable_requests=0 if isinstance(stable, NoData) else stable.requests,
        evidence={"judge": judge, "no_data": missing.reason, "decided": False},
        message=f"no {who} data: {missing.reason}",
    )  # fmt: skip


def inconclusive_verdict(
    rule: SloRule,
    judge: str,
    stable: WindowStats | NoData,
    canary: WindowStats,
    message: str,
    needed: int | None,
) -> Verdict:
    """``inconclusive`` before any test can run (too few requests, no baseline yet)."""
    return Verdict(
        slo=rule.name, outcome=Outcome.INCONCLUSIVE, route_class=rule.route_class,
        measured=None, threshold=rule.threshold, canary_requests=canary.requests,
        stable_requests=0 if isinstance(stable, NoData) else stable.requests,
        evidence={"judge": judge, "decided": False}, message=message, needed_requests=needed,
    )  # fmt: skip


def _e(log_e: float) -> float:
    return math.exp(min(log_e, 700.0))


def _outcome(
    s: SequentialSettings, found: Assessment, n: int, elapsed: float
) -> tuple[Outcome, bool, str, int | None]:
    """(outcome, decided, why, needed requests) of an assessment."""
    cut = f">= {1 / s.alpha:g}"
    if found.fail_log_e >= s.level:
        if found.blame_log_e is None or found.blame_log_e >= s.level:
            why = f"above the bound for sure (e-value {_e(found.fail_log_e):.3g} {cut})"
            return Outcome.FAIL, True, why, None
        why = (
            "above the bound for sure, but not worse than stable over the same time (e-value "
            f"{_e(found.blame_log_e):.3g} that it is): a shared problem, not the canary's"
        )
        return Outcome.INCONCLUSIVE, False, why, None
    if found.pass_log_e >= s.level:
        decided = elapsed >= s.min_bake_s
        why = f"within the bound for sure (e-value {_e(found.pass_log_e):.3g} {cut})"
        if not decided:
            why += f"; waiting for the minimum bake of {s.min_bake_s:g}s"
        return Outcome.PASS, decided, why, None
    power = found.power_requests
    if found.within and power is not None and n >= power:
        why = (f"no regression found, and a {s.power_ratio:g}x regression would have been "
               f"caught after about {power:,} canary requests")  # fmt: skip
        return Outcome.PASS, False, why, None
    gaps = [found.needed, power - n if found.within and power is not None else None]
    known = [g for g in gaps if g is not None]
    return Outcome.INCONCLUSIVE, False, "not conclusive yet", max(1, min(known)) if known else None


def decide(
    rule: SloRule,
    settings: SequentialSettings,
    found: Assessment,
    stable: WindowStats | NoData,
    canary: WindowStats,
    judge: str,
) -> Verdict:
    """The outcome of an assessment, with the evidence a reader needs to trust it."""
    elapsed = max(0.0, canary.end - canary.start)
    n = canary.requests
    outcome, decided, why, needed = _outcome(settings, found, n, elapsed)
    rate = n / elapsed if elapsed > 0 else None
    evidence = {
        "judge": judge, "alpha": settings.alpha,
        "e_value": _e(found.fail_log_e), "log_e_value": found.fail_log_e,
        "e_value_within": _e(found.pass_log_e), "log_e_value_within": found.pass_log_e,
        "decided": decided, "power_ratio": settings.power_ratio,
        "power_requests": found.power_requests, "elapsed_s": elapsed,
        "min_bake_s": settings.min_bake_s, **found.evidence,
    }  # fmt: skip
    if found.blame_log_e is not None:
        evidence["log_e_value_worse_than_stable"] = found.blame_log_e
    message = f"{found.what}: {why}"
    if needed is not None:
        more = f" (about {needed / rate:.0f}s at the current rate)" if rate else ""
        message += f"; needs about {needed:,} more canary requests{more}"
        if rate:
            evidence["needed_seconds"] = needed / rate
    elif outcome is Outcome.INCONCLUSIVE and found.fail_log_e < settings.level:
        message += "; the observed rate is too close to the bound to tell at any traffic"
    return Verdict(
        slo=rule.name, outcome=outcome, route_class=rule.route_class,
        measured=found.measured, threshold=found.threshold, baseline=found.baseline,
        canary_requests=n, stable_requests=0 if isinstance(stable, NoData) else stable.requests,
        evidence=evidence, message=message, needed_requests=needed,
    )  # fmt: skip


def fmt_pct(x: float | None) -> str:
    return "n/a" if x is None else f"{100 * x:.3g}%"


def fmt_level(s: SequentialSettings) -> str:
    return f"{100 * (1 - s.alpha):g}%"


def fmt_ms(x: float | None) -> str:
    return "n/a" if x is None else f"{1000 * x:.0f}ms"
