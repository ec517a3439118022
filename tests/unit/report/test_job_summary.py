"""The Markdown job summary: the reviewed sample, the canary-vs-stable charts (valid
xychart-beta), the timeline the charts are drawn from, and the GitHub annotations."""

from __future__ import annotations

import copy
import io
import json
import re
from pathlib import Path
from typing import Any

import pytest

from canaryctl.cli import runtime
from canaryctl.metrics.base import Target
from canaryctl.report.chart import MAX_COLUMNS, series
from canaryctl.report.github import annotation, write_annotation
from canaryctl.report.markdown import job_summary, write_job_summary
from canaryctl.report.summary import summary
from canaryctl.report.timeline import TimelineSource

SAMPLES = Path(__file__).parent / "samples"
PALETTE = "#2f855a, #c53030, #718096"  # stable green, canary red, bound grey


@pytest.fixture
def fixed_record() -> dict[str, Any]:
    """A two-step deployment (10% passed, 50% failed on errors) as the engine recorded it."""
    return json.loads((SAMPLES / "record.json").read_text(encoding="utf-8"))


def mermaid_blocks(markdown: str) -> list[str]:
    return re.findall(r"```mermaid\n(.*?)```", markdown, re.S)


def check_xychart(block: str) -> dict[str, Any]:
    """The xychart-beta grammar the summary relies on, line by line; returns the parts."""
    lines = block.strip().split("\n")
    assert lines[0].startswith("%%{init: ") and lines[0].endswith("}%%")
    palette = json.loads(lines[0][len("%%{init: ") : -len("}%%")])
    assert palette == {"themeVariables": {"xyChart": {"plotColorPalette": PALETTE}}}
    assert lines[1] == "xychart-beta"
    title = re.fullmatch(r'    title "([^"]+)"', lines[2])
    x_axis = re.fullmatch(r'    x-axis "([^"]+)" \[((?:"[^"]+"(?:, )?)+)\]', lines[3])
    y_axis = re.fullmatch(r'    y-axis "([^"]+)" 0 --> (\d+(?:\.\d+)?)', lines[4])
    assert title and x_axis and y_axis, lines[:5]
    labels = re.findall(r'"([^"]+)"', x_axis.group(2))
    plotted = []
    for line in lines[5:]:
        match = re.fullmatch(r"    line \[([-\d., ]+)\]", line)
        assert match, line
        values = [float(v) for v in match.group(1).split(", ")]
        assert len(values) == len(labels)  # one value per x category
        plotted.append(values)
    top = float(y_axis.group(2))
    assert all(0 <= v <= top for values in plotted for v in values)
    return {"title": title.group(1), "labels": labels, "lines": plotted, "top": top}


def test_the_summary_of_a_fixed_record_is_the_reviewed_sample(fixed_record, tmp_path):
    expected = (SAMPLES / "job_summary.md").read_text(encoding="utf-8")
    assert job_summary(fixed_record) == expected
    target = tmp_path / "step-summary.md"
    target.write_text("earlier step\n", encoding="utf-8")
    assert write_job_summary(fixed_record, str(target)) == target
    assert target.read_text(encoding="utf-8") == "earlier step\n" + expected  # appended


def test_the_samples_charts_are_canary_vs_stable_over_the_window(fixed_record):
    p95, errors = (check_xychart(b) for b in mermaid_blocks(job_summary(fixed_record)))
    assert p95["labels"] == ["10s", "20s", "30s", "40s", "50s", "1m", "1m10s"]
    stable, canary, bound = p95["lines"]
    assert stable == [87.5] * 7 and canary[-2:] == [350, 350] and bound == [250] * 7
    stable, canary, bound = errors["lines"]
    assert canary == [0, 0, 0, 0.4, 0.4, 3, 3] and stable[-1] == 0.2 and bound == [1] * 7


def test_a_long_analysis_is_merged_into_readable_columns(fixed_record):
    record = copy.deepcopy(fixed_record)
    base = record["timeline"][0]
    record["timeline"] = []
    for i in range(150):  # 150 intervals of 10 s; the canary slow in every third one
        point = copy.deepcopy(base)
        point["t"] = record["traffic_at"] + 10 * (i + 1)
        point["canary"] = {"requests": 100, "errors": i % 2, "p95": 0.3 if i % 3 == 2 else 0.1}
        record["timeline"].append(point)
    chart = series(record, "p95")
    assert len(chart.labels) == 50 <= MAX_COLUMNS and chart.merged == 3
    assert chart.canary == [300.0] * 50  # the highest p95 of each group of three
    errors = series(record, "error_rate")
    assert errors.canary[0] == pytest.approx(1 / 300 * 100)  # errors 0+1+0 over 300 requests
    markdown = job_summary(record)
    for block in mermaid_blocks(markdown):
        assert len(check_xychart(block)["labels"]) == 50
    assert "Each point merges 3 analysis intervals (the highest p95 of them)." in markdown


def test_intervals_without_data_are_left_out_and_no_timeline_says_so(fixed_record):
    record = copy.deepcopy(fixed_record)
    record["timeline"][2]["canary"] = {"no_data": "connection refused"}
    record["timeline"][3]["stable"] = {"requests": 0, "errors": 0, "p95": None}
    assert series(record, "p95").labels == ["10s", "20s", "50s", "1m", "1m10s"]
    record["timeline"] = []
    assert "No analysis interval measured both stable and canary: nothing to chart." in job_summary(
        record
    )
    assert "```mermaid" not in job_summary(record)


def test_the_json_summary_carries_the_timeline(fixed_record):
    data = summary(fixed_record)
    assert len(data["timeline"]) == 7
    assert data["timeline"][0]["t"] == "2027-01-15T08:00:10.000Z"
    assert data["timeline"][-1]["canary"] == {"requests": 500, "errors": 15, "p95": 0.35}


# -- the timeline the engine records --------------------------------------------------------


def run_with_timeline(harness: Any, **kw: Any) -> dict[str, Any]:
    record = kw.pop("record", None) or harness.new()
    engine = harness.engine()
    engine.metrics = TimelineSource(harness.source, record)
    return engine.run(record, **kw)


def test_each_check_records_one_point_from_the_engines_own_windows(make_harness, kit):
    bad = kit.traffic(10.0, error_rate=0.03, latency_s=0.1)
    plain = make_harness()
    plain.source.scripts[Target.CANARY] = bad
    plain.run()
    harness = make_harness()
    harness.source.scripts[Target.CANARY] = bad
    record = run_with_timeline(harness)
    assert record["phase"] == "rolled_back"
    points = record["timeline"]
    assert [p["t"] - kit.T0 for p in points] == [10.0, 20.0]  # rolled back at the 2nd check
    assert all(p["step"] == 1 and p["weight"] == 10 for p in points)
    scripts = harness.source.scripts
    for target, errors in (("stable", 0), ("canary", 3)):
        p95 = scripts[Target(target)](kit.T0, kit.T0 + 10, None).quantile(0.95)
        assert points[0][target] == {
            "requests": 100 if errors else 900,
            "errors": errors,
            "p95": p95,
        }
    assert points[0]["canary"]["p95"] > points[0]["stable"]["p95"]
    # no query beyond the engine's own: the policy judges all routes over each interval
    assert harness.source.calls == plain.source.calls
    assert harness.reload()["timeline"] == points  # saved with the verdicts


def test_route_class_policies_still_get_all_routes_points(make_harness, kit):
    rule = kit.RuleSpec(kit.SloRule("wallet.p95", "latency", route_class="wallet", threshold=1.0))
    harness = make_harness(plan=kit.make_plan(rules=(rule,)))
    record = run_with_timeline(harness)
    assert record["phase"] == "promoted"
    assert len(record["timeline"]) == 6  # 60 s checked every 10 s
    assert all(p["stable"]["requests"] == 900 for p in record["timeline"])
    extra = [c for c in harness.source.calls if c[3] is None]
    assert len(extra) == 12 and all(c[2] - c[1] == 10.0 for c in extra)  # one per target


def test_a_restarted_analysis_continues_the_timeline(harness, kit):
    harness.source.crash_on_call = 7  # the 4th check (one query per target, shared by rules)
    with pytest.raises(kit.Crash):
        run_with_timeline(harness)
    saved = harness.reload()
    assert [p["t"] - kit.T0 for p in saved["timeline"]] == [10.0, 20.0, 30.0]
    harness.clock.now += 5.0  # the new process starts a little later
    record = run_with_timeline(harness, record=saved)
    times = [p["t"] - kit.T0 for p in record["timeline"]]
    assert times[:3] == [10.0, 20.0, 30.0] and times[3] == 55.0  # 45 s + one interval
    assert record["timeline"][3]["from"] - kit.T0 == 45.0  # the restarted window's start
    assert record["phase"] == "promoted" and len(times) == 3 + 6


# -- annotations ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("phase", "level", "title"),
    [
        ("promoted", "notice", "canary promoted"),
        ("rolled_back", "error", "canary rolled back"),
        ("failed", "error", "canary deployment failed"),
        ("paused", "warning", "canary paused%3A a person must act"),
    ],
)
def test_an_annotation_per_outcome_with_the_reason(fixed_record, phase, level, title):
    record = {**fixed_record, "phase": phase, "reason": "50% done\nfor 10s"}
    line = annotation(record)
    assert line is not None and "\n" not in line
    assert line.startswith(f"::{level} title={title}::gamebackend 1.0.0 → 1.1.0 (")
    reason = "): 50%25 done%0Afor 10s"  # GitHub's escapes: one line, no command injection
    if phase == "paused":
        assert line.endswith(
            f"{reason}; then `canaryctl resume {record['id']}` or `canaryctl abort {record['id']}`"
        )
    else:
        assert line.endswith(reason)
    assert annotation({**record, "phase": "analyzing"}) is None


def test_annotations_only_in_github_actions_and_never_in_the_json(
    fixed_record, monkeypatch, capsys
):
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
    monkeypatch.delenv("GITHUB_ACTIONS", raising=False)
    assert write_annotation(fixed_record, io.StringIO()) is False
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    assert runtime.emit(fixed_record, "json") == 3
    out, err = capsys.readouterr()
    assert json.loads(out)["status"] == "rolled_back"  # stdout stays one JSON document
    assert err.startswith("::error title=canary rolled back::gamebackend 1.0.0 → 1.1.0")
    assert "all.error_rate failed 2 checks" in err and err.count("\n") == 1
