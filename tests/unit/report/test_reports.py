"""JSON summary, live view, final text report and Markdown job summary of real engine records."""

from __future__ import annotations

import io
import json

from rich.console import Console

from canaryctl.analysis.explain_record import deployment_facts
from canaryctl.metrics.base import Target
from canaryctl.report.live import EventPrinter, final_report, render
from canaryctl.report.markdown import job_summary, write_job_summary
from canaryctl.report.summary import summary


def text_of(renderable) -> str:
    console = Console(file=io.StringIO(), width=140, color_system=None)
    console.print(renderable)
    return console.file.getvalue()


def test_summary_is_strict_json_with_the_documented_fields(harness):
    record = harness.run()
    data = summary(record)
    json.dumps(data, allow_nan=False)  # strict JSON: no NaN/Infinity anywhere
    assert data["status"] == "promoted" and data["exit_code"] == 0
    assert data["duration_s"] == 60.0
    assert data["steps"][1]["start"].endswith("Z") and data["steps"][1]["weight"] == 10
    assert {s["slo"] for s in data["slos"]} == {"all.error_rate", "all.p95", "all.relative.p95"}
    assert data["slos"][0]["checks"] == 6 and data["slos"][0]["failures"] == 0
    final = [v for v in data["verdicts"] if v["check"] == "final"]
    assert len(final) == 3 and all(v["outcome"] == "pass" for v in final)


def test_live_view_shows_step_weights_time_left_and_each_slo(harness, kit):
    harness.source.scripts[Target.CANARY] = kit.traffic(10.0, latency_s=0.1)
    frames: list[str] = []
    harness.run(observer=lambda rec: frames.append(text_of(render(rec, harness.clock.now))))
    analyzing = next(f for f in frames if "analyzing" in f and "all.p95" in f and "pass" in f)
    assert "step 2/3: analyze 60s (every 10s)" in analyzing
    assert "stable 90%" in analyzing and "canary 10%" in analyzing
    assert "left of 60s" in analyzing
    # canary p95 (10% of requests at 150 ms: interpolated in the 150–200 ms bucket) and bound
    assert "175ms" in analyzing and "250ms" in analyzing
    assert "check every 10s" in analyzing
    assert any("fail" in f and "all.relative.p95" in f for f in frames)


def test_final_text_and_markdown_say_what_happened(harness, kit, tmp_path, monkeypatch):
    harness.source.scripts[Target.CANARY] = kit.traffic(10.0, error_rate=0.05)
    record = harness.run()
    text = text_of(final_report(record))
    assert "was ROLLED BACK" in text and "the canary failed its SLOs" in text
    # the same explanation as `canaryctl explain ID` (its lines: analysis/test_explain_record)
    for line in deployment_facts(record, "rolled_back")["explanation"]:
        assert line in text.splitlines()
    assert "all.error_rate fail at +20s: canary 5% over 100 requests > bound 1%" in text

    md = job_summary(record)
    assert md.startswith("## ❌ canaryctl: gamebackend v2 rolled back")
    assert "#### ❌ `all.error_rate`: error rate ≤ 1% (all routes, threshold judge)" in md
    assert (
        "| 2. analyze 60s (every 10s) | 10% | 0% | 5% | ≤ 1% | ❌ fail | 900 / 100 "
        "| 2 of 2 (limit 2) |"
    ) in md
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(tmp_path / "s.md"))
    assert write_job_summary(record) == tmp_path / "s.md"
    assert (tmp_path / "s.md").read_text() == md
    monkeypatch.delenv("GITHUB_STEP_SUMMARY")
    assert write_job_summary(record) is None


def test_event_printer_prints_each_event_once(harness):
    out = io.StringIO()
    printer = EventPrinter(Console(file=out, width=200))
    harness.run(observer=printer)
    lines = out.getvalue().splitlines()
    assert len(lines) == len(set(lines)) >= 5
    assert lines[-1].endswith("promoted: promote step: every SLO passed over the whole 1m window")
