"""Plain words for SLO rules, verdicts and the decisions they led to.

Used by ``canaryctl policy explain`` (what a policy asks), ``canaryctl policy backtest`` (the
verdict timeline) and ``canaryctl explain ID`` (why a deployment ended as it did). Everything
works on the JSON forms stored in deployment records — a rule is ``RuleSpec.to_dict()``
(``{"slo": {...}, "failure_limit": ..}``), a verdict is the engine's verdict dict — so a record
written by another version of canaryctl renders the same way.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from canaryctl.config.units import format_duration

__all__ = [
    "ROUTE_WORDS",
    "describe_judge",
    "describe_settings",
    "describe_slo",
    "describe_verdict",
    "estimate",
    "estimate_seconds",
    "evidence_text",
    "explain_policy",
    "fmt_bound",
    "fmt_value",
    "rule_json",
    "verdict_facts",
]

Rule = Mapping[str, Any]

ROUTE_WORDS = {
    None: "every request of the service together",
    "wallet": "wallet requests (/v1/wallet/...)",
    "pools": "pool requests (/v1/pools/...)",
    "inventory": "inventory and store requests (/v1/inventory..., /v1/store/...)",
    "leaderboard": "leaderboard requests (/v1/leaderboards/...)",
    "players": "player requests (/v1/players...)",
    "matchmaking": "matchmaking requests (/v1/matchmaking/...)",
    "realtime": "real-time WebSocket sessions (/v1/ws)",
    "ops": "health, readiness, metrics and unclassified requests",
}
_DEFAULT_FACTOR = 1.25  # the distribution judge's, when a rule gives none


def _slo(rule: Rule) -> Mapping[str, Any]:
    return rule.get("slo", rule)


def _pct(x: float | None) -> str:
    if x is None:
        return "-"
    text = f"{100 * x:.3g}"
    return f"{float(text):g}%" if "e" not in text else f"{100 * x:.2g}%"


def _ms(x: float | None) -> str:
    return "-" if x is None else format_duration(x)


def fmt_value(rule: Rule | None, value: Any) -> str:
    """A measured value or bound in the rule's unit: percent, a duration, or a ratio (the
    distribution judge measures how many times as likely the canary is to be slow)."""
    if value is None or isinstance(value, str):
        return "-" if value is None else value
    slo = _slo(rule or {})
    if slo.get("judge") == "distribution":
        return f"{value:.3g}x"
    return _pct(value) if slo.get("kind") == "error_rate" else _ms(value)


def fmt_bound(rule: Rule) -> str:
    """The bound as written in a policy: ``1%``, ``p95 250ms``, ``p95 1.2x stable``."""
    slo = _slo(rule)
    q = f"p{100 * slo.get('quantile', 0.95):g}"
    margin = (slo.get("params") or {}).get("margin")
    if slo.get("judge") == "distribution":
        return f"{_factor(slo):g}x stable at every latency"
    if slo.get("comparison") == "relative":
        what = q if slo["kind"] == "latency" else "error rate"
        if slo.get("factor") is not None:
            return f"{what} {slo['factor']:g}x stable"
        return f"{what} stable + {fmt_value(rule, margin)}"
    if slo["kind"] == "latency":
        return f"{q} {_ms(slo.get('threshold'))}"
    return _pct(slo.get("threshold"))


def _factor(slo: Mapping[str, Any]) -> float:
    return float(slo.get("factor") or (slo.get("params") or {}).get("factor", _DEFAULT_FACTOR))


# --- what a rule asks ----------------------------------------------------------------------


def describe_slo(rule: Rule) -> str:
    """What the SLO requires of the canary, in one sentence."""
    slo = _slo(rule)
    kind, floor = slo["kind"], slo.get("threshold")
    if slo.get("judge") == "distribution":
        above = f" of {_ms(floor)} or more" if floor else ""
        return (
            f"at every latency{above} of the histogram, the canary may be at most "
            f"{_factor(slo):g} times as likely as the stable version to be slower: its whole "
            "latency distribution is compared, not one quantile; the stable version must have "
            "served the minimum number of requests too"
        )
    q = 100 * float(slo.get("quantile", 0.95))
    if slo.get("comparison") != "relative":
        if kind == "error_rate":
            return (
                f"at most {_pct(floor)} of the canary's requests may fail (an HTTP 5xx answer "
                "or no answer at all)"
            )
        return (
            f"{q:g}% of the canary's requests must finish within {_ms(floor)} (at most "
            f"{100 - q:.3g}% may be slower)"
        )
    what = f"p{q:g} latency" if kind == "latency" else "error rate"
    margin = (slo.get("params") or {}).get("margin")
    if slo.get("factor") == 1:
        limit = "the stable version's"
    elif slo.get("factor") is not None:
        limit = f"{slo['factor']:g} times the stable version's"
    elif kind == "error_rate":
        points = 100 * float(margin or 0)
        limit = f"the stable version's plus {points:.3g} percentage point{'s' * (points != 1)}"
    else:
        limit = f"the stable version's plus {fmt_value(rule, margin)}"
    return (
        f"the canary's {what} may be at most {limit}, measured over the same time; it is "
        f"never held to less than {fmt_value(rule, floor)} (the floor); the stable version "
        "must have served the minimum number of requests too"
    )


def describe_judge(rule: Rule, interval_s: float) -> str:
    """How the judge decides, with its false-alarm level."""
    slo = _slo(rule)
    every = format_duration(interval_s)
    judge = slo.get("judge", "threshold")
    if judge == "threshold":
        return (
            f"threshold judge (fixed window): every {every}, the value over the last {every} is "
            "compared with the bound; no statistics, as Flagger and Argo Rollouts do"
        )
    from canaryctl.analysis.verdicts import SequentialSettings  # validates the parameters

    s = SequentialSettings.from_params(slo.get("params") or {})
    what = "the latency histogram" if judge == "distribution" else "the SLO"
    text = (
        f"{judge} judge (anytime-valid test): every {every}, all the canary's requests since it "
        f"got traffic are tested against {what}; a breach is called as soon as it is certain, "
        f"with at most a {_pct(s.alpha)} chance of a false alarm however often it looks"
    )
    if s.min_bake_s:
        text += f"; it proves a pass only after {format_duration(s.min_bake_s)} of traffic"
    return text


def _ordinal(n: int) -> str:
    return {1: "first", 2: "second", 3: "third"}.get(n, f"{n}th")


def describe_settings(rule: Rule) -> list[str]:
    """Minimum requests, failure limit, missing data, early promotion, required."""
    slo = _slo(rule)
    n = slo.get("min_requests", 50)
    limit = int(rule.get("failure_limit", 2))
    action = "roll the canary back" if rule.get("missing_action") == "rollback" else "pause it"
    out = [
        f"A check needs at least {n} canary requests; with fewer it is inconclusive, never a pass.",
        f"The {_ordinal(limit)} failed check of an SLO rolls the canary back (or pauses it, "
        "if the pipeline says onFailure: pause).",
        f"No data for {rule.get('missing_limit', 3)} checks in a row: {action}.",
    ]
    if not rule.get("early_promotion"):
        out.append("Early promotion: off (the canary is watched for the whole window).")
    elif slo.get("judge", "threshold") == "threshold":
        out.append("Early promotion: on, but the threshold judge never proves a pass early.")
    else:
        out.append(
            "Early promotion: on (when every required SLO is certainly met and no optional one "
            "has failed, the canary is promoted before the window ends)."
        )
    if rule.get("required", True) is False:
        out.append(
            "Optional (required: false): too few requests or no data never hold the promotion "
            "up; a failure still rolls back."
        )
    return out


# --- what a verdict found ------------------------------------------------------------------


def estimate(v: Mapping[str, Any]) -> tuple[int | None, float | None]:
    """(more canary requests needed, seconds at the verdict's canary request rate)."""
    need = v.get("needed_requests")
    if not need:
        return None, None
    secs = (v.get("evidence") or {}).get("needed_seconds")
    window = v.get("window") or []
    if secs is None and len(window) == 2 and v.get("canary_requests"):
        span = float(window[1]) - float(window[0])
        secs = need / (v["canary_requests"] / span) if span > 0 else None
    return int(need), None if secs is None else float(secs)


def estimate_seconds(seconds: float) -> float:
    """Estimates to whole seconds (to a tenth below 10 s): they are rough by nature."""
    return float(round(seconds)) if seconds >= 10 else round(seconds, 1)


def _num(x: Any) -> float | None:
    if isinstance(x, bool) or not isinstance(x, int | float) or not math.isfinite(x):
        return None
    return float(x)


def verdict_facts(v: Mapping[str, Any], rule: Rule | None = None) -> dict[str, Any]:
    """The numbers a reader needs to trust a verdict, as flat JSON fields."""
    ev = v.get("evidence") or {}
    alpha = _num(ev.get("alpha"))
    e_value = _num(ev.get("e_value"))
    need, secs = estimate(v)
    facts = {
        "slo": v["slo"],
        "route_class": v.get("route_class") or "all",
        "outcome": v["outcome"],
        "judge": ev.get("judge") or v.get("judge"),
        "check": v.get("check"),
        "measured": v.get("measured"),
        "threshold": v.get("threshold"),
        "baseline": v.get("baseline"),
        "canary_requests": v.get("canary_requests", 0),
        "stable_requests": v.get("stable_requests", 0),
        "e_value": e_value,
        "e_value_within": _num(ev.get("e_value_within")),
        "e_value_needed": 1 / alpha if alpha else None,
        # 1/E is a valid p-value (Markov's inequality), for this look and, as the running
        # minimum, for every look (Ville's).
        "p_value": min(1.0, 1 / e_value) if e_value else None,
        "alpha": alpha,
        "lower": _num(ev.get("lower")),
        "upper": _num(ev.get("upper")),
        "bounds_of": ev.get("bounds_of"),
        "decided": ev.get("decided"),
        "needed_requests": need,
        "needed_seconds": secs,
        "message": v.get("message", ""),
    }
    facts["measured_text"] = fmt_value(
        rule or {"slo": {"judge": facts["judge"]}}, v.get("measured")
    )
    facts["threshold_text"] = fmt_value(rule, v.get("threshold"))
    slo = _slo(rule or {})
    if v.get("threshold") is None and slo.get("comparison") == "absolute":
        facts["threshold_text"] = fmt_value(rule, slo.get("threshold"))  # the rule's bound
    if slo.get("judge") == "distribution" and "theta0" not in ev:
        # no test ran yet: the verdict carries the rule's latency floor, not its factor
        facts["threshold_text"] = f"{_factor(slo):g}x"
    return facts


def _bounds_text(f: Mapping[str, Any]) -> str | None:
    lo, hi, of = f.get("lower"), f.get("upper"), f.get("bounds_of")
    if (lo is None and hi is None) or not of or not f.get("alpha"):
        return None
    pct = of in ("error_rate", "slow_fraction")
    show = _pct if pct else (lambda x: "inf" if x is None else f"{x:.3g}")
    name = {"error_rate": "the error rate", "slow_fraction": "the slow fraction"}.get(of, of)
    level = f"{100 * (1 - f['alpha']):g}%"
    return f"{level} anytime bounds for {name} {show(lo)}..{show(hi)}"


def evidence_text(f: Mapping[str, Any]) -> str:
    """Sample sizes and the statistical evidence, e.g. ``1,204 canary / 10,877 stable
    requests; e-value 1.3e+04 >= 100 (p <= 7.7e-05); 99% anytime bounds ...``."""
    parts = [f"{f['canary_requests']:,} canary / {f['stable_requests']:,} stable requests"]
    need = f.get("e_value_needed")
    if f.get("e_value") is not None and need:
        if f["outcome"] == "pass" and f.get("decided"):
            parts.append(f"e-value that it is within {f['e_value_within']:.3g} >= {need:g}")
        elif f["outcome"] == "inconclusive" and f.get("e_value_within") is not None:
            parts.append(
                f"e-values {f['e_value']:.3g} for a breach and {f['e_value_within']:.3g} for "
                f"within the bound; {need:g} decides"
            )
        else:
            op = ">=" if f["e_value"] >= need else "<"
            p_value = f" (p <= {f['p_value']:.2g})" if f["e_value"] > 1 else ""
            parts.append(f"e-value {f['e_value']:.3g} {op} {need:g}{p_value}")
        bounds = _bounds_text(f)
        if bounds:
            parts.append(bounds)
    elif f.get("judge") == "threshold" and f["outcome"] in ("pass", "fail"):
        parts.append("fixed window, no statistical test")
    return "; ".join(parts)


def describe_verdict(v: Mapping[str, Any], rule: Rule | None = None) -> str:
    """``canary 5% over 100 requests > bound 1% (stable 0.1% over 900)`` and, for
    inconclusive, ``needs about N more canary requests (about T s at the current rate)``."""
    f = verdict_facts(v, rule)
    if f["outcome"] == "error":
        return f"no data: {f['message']}"
    stable = (
        f" (stable {fmt_value(rule, f['baseline'])} over {f['stable_requests']:,})"
        if f["baseline"] is not None
        else ""
    )
    canary = f"canary {f['measured_text']} over {f['canary_requests']:,} requests"
    if f["outcome"] in ("pass", "fail"):
        op = "<=" if f["outcome"] == "pass" else ">"
        return f"{canary} {op} bound {f['threshold_text']}{stable}"
    text = f["message"] or "inconclusive"
    need, secs = f["needed_requests"], f["needed_seconds"]
    if need and "more canary requests" not in text:
        at = ""
        if secs:
            at = f" (about {format_duration(estimate_seconds(secs))} at the current rate)"
        text += f"; needs about {need:,} more canary requests{at}"
    return text


# --- a whole policy ------------------------------------------------------------------------


def _how(rule: Rule, interval_s: float) -> list[str]:
    """The judge and settings sentences of one SLO."""
    return [f"Judged by the {describe_judge(rule, interval_s)}.", *describe_settings(rule)]


def _common(groups: list[list[str]]) -> list[str]:
    return [line for line in groups[0] if all(line in g for g in groups[1:])]


def explain_policy(
    rules: list[dict[str, Any]],
    *,
    path: str,
    name: str | None,
    description: str | None,
    interval_s: float,
    window_s: float,
) -> list[str]:
    """The policy in plain words: timing; how every SLO is judged (said once when shared);
    then per route class each SLO's bound and whatever differs from the rest."""
    every, window = format_duration(interval_s), format_duration(window_s)
    lines = [f"Policy {name or path} ({path})" + (f": {description}" if description else "")]
    lines += [
        "",
        f"While the canary takes its share of traffic, every SLO below is checked every {every}. "
        f"An analysis step watches the canary for {window} (a pipeline may change both). At the "
        "end of the window every SLO is judged once more over the whole window: the canary "
        "moves on only if all pass; a fail rolls it back, no data applies the missing-data rule, "
        "and an inconclusive result pauses the deployment for a person (exit code 4). Missing "
        "data is never read as a pass.",
    ]
    how = {_slo(r)["name"]: _how(r, interval_s) for r in rules}
    everywhere = _common(list(how.values())) if how else []
    if everywhere:
        lines += ["", "Every SLO:" if len(how) > 1 else "The SLO:"]
        lines += [f"  {x}" for x in everywhere]
    groups: dict[str | None, list[dict[str, Any]]] = {}
    for rule in rules:
        groups.setdefault(_slo(rule).get("route_class"), []).append(rule)
    for route, members in groups.items():
        lines += ["", f"{route or 'all'}: {ROUTE_WORDS.get(route, route or '')}"]
        names = [_slo(r)["name"] for r in members]
        lines += [f"  - {n}: {describe_slo(r)}." for r, n in zip(members, names, strict=True)]
        said: list[str] = []
        for x in (x for n in names for x in how[n] if x not in everywhere):
            if x in said:
                continue
            said.append(x)
            owners = [n for n in names if x in how[n]]
            if len(owners) == len(names):
                lines.append(f"  {x}")
            else:
                lines.append(f"  {', '.join(owners)}: {x[0].lower()}{x[1:]}")
    return lines


def rule_json(rule: Rule, interval_s: float) -> dict[str, Any]:
    """One SLO of ``policy explain --output json``: its settings and the same sentences."""
    slo = _slo(rule)
    return {
        "slo": slo["name"],
        "route_class": slo.get("route_class") or "all",
        "kind": slo["kind"],
        "comparison": slo.get("comparison", "absolute"),
        "bound": fmt_bound(rule),
        "judge": slo.get("judge", "threshold"),
        "judge_params": slo.get("params") or {},
        "min_requests": slo.get("min_requests"),
        "failure_limit": rule.get("failure_limit"),
        "missing_data": {"action": rule.get("missing_action"), "limit": rule.get("missing_limit")},
        "early_promotion": rule.get("early_promotion"),
        "required": rule.get("required", True),
        "words": describe_slo(rule),
        "judge_words": describe_judge(rule, interval_s),
        "settings_words": describe_settings(rule),
    }
