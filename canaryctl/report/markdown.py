"""A Markdown job summary (GitHub Actions' ``$GITHUB_STEP_SUMMARY``)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from canaryctl.report.explain import explain
from canaryctl.report.summary import fmt_value, latest_verdicts, rule_info
from canaryctl.rollout.record import status_of

__all__ = ["job_summary", "write_job_summary"]

_ICON = {"promoted": "✅", "rolled_back": "❌", "paused": "⏸️", "failed": "💥", "running": "⏳"}


def _cell(text: Any) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def job_summary(record: dict[str, Any]) -> str:
    """Status headline, the explanation, and a table of each SLO's last verdict."""
    status = status_of(record)
    lines = explain(record)
    out = [
        f"## {_ICON.get(status, '')} canaryctl: {record['service']} "
        f"{record['canary_version']} {status.replace('_', ' ')}",
        "",
    ]
    out += [f"{line}  " for line in lines[1:] if not line.startswith("  ")]
    out += [
        "",
        "| SLO | route | stable | canary | bound | verdict | requests (canary/stable) |",
        "|---|---|---|---|---|---|---|",
    ]
    rules = rule_info(record)
    for name, v in latest_verdicts(record).items():
        kind = rules.get(name, {}).get("kind")
        out.append(
            "| "
            + " | ".join(
                _cell(x)
                for x in (
                    name,
                    v.get("route_class") or "all",
                    fmt_value(kind, v.get("baseline")),
                    fmt_value(kind, v.get("measured")),
                    fmt_value(kind, v.get("threshold")),
                    v["outcome"],
                    f"{v.get('canary_requests', 0)}/{v.get('stable_requests', 0)}",
                )
            )
            + " |"
        )
    out += ["", f"Deployment `{record['id']}`: `canaryctl explain {record['id']}` for details."]
    return "\n".join(out) + "\n"


def write_job_summary(record: dict[str, Any], path: str | None = None) -> Path | None:
    """Append the summary to ``path`` or ``$GITHUB_STEP_SUMMARY``; None when neither is set."""
    target = path or os.environ.get("GITHUB_STEP_SUMMARY")
    if not target:
        return None
    with open(target, "a", encoding="utf-8") as f:
        f.write(job_summary(record))
    return Path(target)
