"""``policy explain``, ``policy backtest``, ``policy record`` and ``explain ID`` through the real
CLI entry point (in-process), on the shipped recordings and on records the engine wrote."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from canaryctl.config.units import parse_duration
from canaryctl.metrics.base import Target, WindowStats
from canaryctl.metrics.embedded import EmbeddedSource
from canaryctl.metrics.record import record_source
from canaryctl.metrics.replay import parse_lines
from canaryctl.metrics.routes import LATENCY_BUCKETS
from canaryctl.rollout.plan import Plan, StepSpec

ROOT = Path(__file__).resolve().parents[3]
RECORDINGS = ROOT / "recordings"
SEQUENTIAL = str(RECORDINGS / "sequential-policy.yaml")
SHIPPED = str(ROOT / "policies" / "gamebackend.yaml")
THRESHOLD = str(ROOT / "policies" / "gamebackend-threshold.yaml")
Run = Callable[..., tuple[int, str, str]]


# --- policy explain --------------------------------------------------------------------------


@pytest.mark.parametrize("policy", [SHIPPED, SEQUENTIAL])
def test_policy_explain_names_every_rule_and_its_settings(cli, policy):
    code, out, _ = cli("policy", "explain", policy, "-o", "json")
    assert code == 0
    data = json.loads(out)
    text = "\n".join(data["explanation"])
    for slo in data["slos"]:
        assert f"  - {slo['slo']}: " in text
        assert slo["words"] in text
    code, plain, _ = cli("policy", "explain", policy, "-o", "text")
    assert code == 0 and plain.splitlines() == data["explanation"]


def test_policy_explain_says_bounds_judges_and_limits_in_words(cli):
    _, out, _ = cli("policy", "explain", THRESHOLD, "-o", "text")
    assert "every SLO below is checked every 10s" in out
    assert "watches the canary for 2m" in out
    assert "- wallet.error_rate: at most 0.5% of the canary's requests may fail" in out
    assert "- wallet.p95: 95% of the canary's requests must finish within 200ms" in out
    assert (
        "- all.relative.p95: the canary's p95 latency may be at most 1.2 times the stable "
        "version's, measured over the same time; it is never held to less than 100ms" in out
    )
    assert "plus 1 percentage point" in out
    assert "The second failed check of an SLO rolls the canary back" in out
    assert "No data for 3 checks in a row: roll the canary back." in out
    assert "A check needs at least 30 canary requests" in out  # all
    assert "A check needs at least 20 canary requests" in out  # wallet and the quiet classes
    assert out.count("Optional (required: false)") == 3
    assert "Early promotion: off" in out
    assert "threshold judge (fixed window)" in out


def test_policy_explain_of_the_shipped_default(cli):
    _, out, _ = cli("policy", "explain", SHIPPED, "-o", "text")
    assert "every SLO below is checked every 5s" in out
    assert "watches the canary for 3m" in out
    assert (
        "- all.relative.error_rate: the canary's error rate may be at most 1.2 times the stable "
        "version's, measured over the same time; it is never held to less than 0.15%" in out
    )
    assert (
        "- all.relative.shape: at every latency of the histogram, the canary may be at most "
        "1.25 times as likely as the stable version to be slower" in out
    )
    assert "all.relative.shape: judged by the distribution judge (anytime-valid test)" in out
    assert "at most a 1% chance of a false alarm however often it looks" in out
    assert "it proves a pass only after 30s of traffic" in out
    assert "The first failed check of an SLO rolls the canary back" in out
    assert "A check needs at least 100 canary requests" in out  # all, for p99
    assert "Early promotion: on (when every required SLO is certainly met" in out
    assert "threshold judge" not in out


def test_policy_explain_of_the_sequential_policy(cli):
    _, out, _ = cli("policy", "explain", SEQUENTIAL, "-o", "text")
    assert "every SLO below is checked every 1s" in out
    assert (
        "all.error_rate, all.p95, all.p99: judged by the sequential judge (anytime-valid test)"
        in out
    )
    assert "at most a 1% chance of a false alarm however often it looks" in out
    assert "it proves a pass only after 1m of traffic" in out
    assert "all.relative.p95: judged by the distribution judge" in out
    assert "1.25 times as likely as the stable version to be slower" in out
    assert "The first failed check of an SLO rolls the canary back" in out
    assert "Early promotion: on" in out


def test_policy_explain_of_a_pipeline_uses_its_timing(cli, tmp_path):
    (tmp_path / "policy.yaml").write_text(Path(SHIPPED).read_text())
    (tmp_path / "p.yaml").write_text(
        "apiVersion: canaryctl/v1\nkind: Pipeline\nservice: gamebackend\npolicy: policy.yaml\n"
        "platform: {type: local}\nmetrics: {type: embedded}\n"
        "analysis: {window: 30s, interval: 5s}\n"
        "steps: [{setWeight: 10}, {analyze: {}}, {promote: {}}]\n"
    )
    code, out, _ = cli("policy", "explain", str(tmp_path / "p.yaml"), "-o", "text")
    assert code == 0 and "checked every 5s" in out and "for 30s" in out


def test_policy_explain_of_a_bad_policy_is_one_line_with_file_and_line(cli, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "apiVersion: canaryctl/v1\nkind: Policy\nslos:\n  walet:\n    errorRate: {max: 1%}\n"
    )
    code, out, err = cli("policy", "explain", str(bad))
    assert code == 2 and out == ""
    assert f"{bad}:4: slos.walet: unknown route class 'walet'" in err
    assert len(err.strip().splitlines()) == 1


# --- policy backtest -------------------------------------------------------------------------


def backtest(cli: Run, recording: str, *extra: str, policy: str = SEQUENTIAL):
    return cli("policy", "backtest", policy, "--metrics", str(RECORDINGS / recording), *extra)


def test_backtest_exit_codes_are_deploys(cli):
    assert backtest(cli, "good.jsonl", "-o", "json")[0] == 0
    assert backtest(cli, "error-regression.jsonl", "-o", "json")[0] == 3
    assert backtest(cli, "low-traffic.jsonl", "-o", "json")[0] == 4


def test_backtest_text_shows_the_timeline_and_the_decision_time(cli):
    code, out, _ = backtest(cli, "error-regression.jsonl", "-o", "text")
    assert code == 3
    decision = re.search(
        r"^Decision at (\d+)s: ROLL BACK — (\S+) failed \(a decided regression\)", out, re.M
    )
    assert decision, out
    t, slo = decision.groups()
    line = re.search(
        rf"^\s+{t}s  {re.escape(slo)}\s+fail\s+(\S+)\s+(\S+)\s+n=(\S+) e=(\S+)/100", out, re.M
    )
    assert line, out
    measured, bound = line.group(1), line.group(2)
    assert (
        measured.endswith("%")
        and bound == {"wallet.error_rate": "0.5%", "all.error_rate": "1%"}[slo]
    )
    assert float(line.group(4)) >= 100


def test_backtest_json_carries_the_timeline_with_evidence(cli):
    code, out, _ = backtest(cli, "low-traffic.jsonl", "-o", "json")
    data = json.loads(out)
    assert code == 4 and data["decision"] == "pause" and data["exit_code"] == 4
    assert data["decided_at_s"] == 180.0 and data["checks"] == 180
    assert data["recording"]["canary_requests"] == 355
    last = [v for v in data["timeline"] if v["t"] == 180.0]
    unsure = [v for v in last if v["outcome"] == "inconclusive"]
    assert unsure and all(v["needed_requests"] > 0 and v["needed_seconds"] > 0 for v in unsure)
    for v in last:
        assert {"measured", "threshold", "canary_requests", "stable_requests", "e_value",
                "lower", "upper", "alpha"} <= set(v)  # fmt: skip
    assert "needs about" in data["reason"] and "at the current rate" in data["reason"]


def test_backtest_interval_and_window_flags(cli):
    code, out, _ = backtest(
        cli, "error-regression.jsonl", "--interval", "5s", "--window", "1m", "-o", "json",
        policy=SHIPPED,
    )  # fmt: skip
    data = json.loads(out)
    assert code == 3 and data["interval_s"] == 5.0 and data["window_s"] == 60.0
    assert {v["t"] for v in data["timeline"]} <= {5.0 * k for k in range(1, 13)}


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        ("{not json", "not valid JSON"),
        ('{"t": 1, "target": "blue", "requests": 1, "errors": 0, "buckets": {"+Inf": 1}}',
         "target: expected 'stable' or 'canary', got 'blue'"),
        ('{"t": 1, "target": "canary", "requests": 2, "errors": 0, "buckets": {"+Inf": 1}}',
         "buckets: '+Inf' is 1, it must equal requests (2)"),
        ('{"t": 1, "target": "canary", "requests": 1, "error": 0, "buckets": {"+Inf": 1}}',
         "error: unknown field"),
    ],
)  # fmt: skip
def test_a_bad_recording_line_is_exit_2_naming_file_and_line(cli, tmp_path, line, problem):
    good = (RECORDINGS / "good.jsonl").read_text().splitlines()[:3]
    path = tmp_path / "bad.jsonl"
    path.write_text("\n".join([*good, line, *good[:1]]) + "\n")
    code, out, err = cli("policy", "backtest", SEQUENTIAL, "--metrics", str(path))
    assert code == 2 and out == ""
    assert f"{path}:4: {problem}" in err
    assert len(err.strip().splitlines()) == 1


def test_backtest_bad_flags_are_exit_2(cli, tmp_path):
    code, _, err = backtest(cli, "good.jsonl", "--interval", "soon")
    assert code == 2 and "--interval: invalid duration 'soon'" in err
    code, _, err = backtest(cli, "good.jsonl", "--window", "1s", "--interval", "5s")
    assert code == 2 and "--window" in err
    code, _, err = cli("policy", "backtest", SEQUENTIAL, "--metrics", str(tmp_path / "nope"))
    assert code == 2 and f"--metrics: {tmp_path / 'nope'}: no such file" in err


# --- explain ID on records the engine wrote ----------------------------------------------------


def explain(cli: Run, harness, record, mode: str):
    return cli("explain", record["id"], "--state-dir", str(harness.tmp / "state"), "-o", mode)


def test_explain_a_rollback_gives_the_failed_checks_with_their_numbers(cli, harness, kit):
    harness.source.scripts[Target.CANARY] = kit.traffic(10.0, error_rate=0.05)
    record = harness.run()
    code, out, _ = explain(cli, harness, record, "text")
    assert code == 0
    assert "v1 → v2 was ROLLED BACK" in out
    assert "Why: all.error_rate failed 2 checks (limit 2)" in out
    assert "Decided 20s into step 2 (analyze 60s (every 10s)) with 10% of traffic" in out
    checks = re.findall(r"^  all\.error_rate fail at \+(\d+)s: canary 5% over 100 requests > "
                        r"bound 1% \(stable 0% over 900\); failed check (\d) \(the policy acts "
                        r"at 2\)$", out, re.M)  # fmt: skip
    assert checks == [("10", "1"), ("20", "2")]
    assert "evidence: 100 canary / 900 stable requests; fixed window, no statistical test" in out

    code, out, _ = explain(cli, harness, record, "json")
    data = json.loads(out)
    assert data["status"] == "rolled_back" and data["cause"] == "slo"
    assert [(d["slo"], d["outcome"], d["t_offset_s"]) for d in data["deciding"]] == [
        ("all.error_rate", "fail", 10.0), ("all.error_rate", "fail", 20.0)]  # fmt: skip
    first = data["deciding"][0]
    assert (first["measured"], first["threshold"], first["canary_requests"],
            first["stable_requests"]) == (0.05, 0.01, 100, 900)  # fmt: skip
    assert data["explanation"] == explain(cli, harness, record, "text")[1].splitlines()


def sequential_plan(kit, *, window: float = 30.0):
    params = {"alpha": 0.01, "early_promotion": False}
    rules = (
        kit.RuleSpec(kit.SloRule("all.error_rate", "error_rate", threshold=0.01, min_requests=50,
                                 judge="sequential", params=params), failure_limit=1),
        kit.RuleSpec(kit.SloRule("all.p95", "latency", threshold=0.25, min_requests=50,
                                 judge="sequential", params=params), failure_limit=1),
    )  # fmt: skip
    steps = (StepSpec("set_weight", weight=10), StepSpec("analyze", duration_s=window,
             interval_s=1.0), StepSpec("promote"))  # fmt: skip
    return Plan(service="gamebackend", steps=steps, rules=rules)


def test_explain_an_inconclusive_pause_says_how_much_more_traffic(cli, harness, kit):
    harness.plan = sequential_plan(kit)
    harness.source.scripts[Target.CANARY] = kit.traffic(5.0)  # 150 requests in 30 s
    record = harness.run()
    assert record["phase"] == "paused"
    _, out, _ = explain(cli, harness, record, "text")
    assert "is PAUSED (a person must act)" in out
    need = re.search(r"To conclude, (\S+) needs about ([\d,]+) more canary requests \(about "
                     r"(\S+) at the current rate\)\.", out)  # fmt: skip
    assert need, out
    seconds = parse_duration(need.group(3))
    assert seconds == pytest.approx(int(need.group(2).replace(",", "")) / 5.0, rel=0.05)
    assert re.search(
        r"evidence: 150 canary / 2,700 stable requests; e-values \S+ for a breach and \S+ for "
        r"within the bound; 100 decides; 99% anytime bounds for the error rate 0%\.\.\S+%",
        out,
    )

    data = json.loads(explain(cli, harness, record, "json")[1])
    assert data["estimate"]["slo"] == need.group(1)
    assert data["estimate"]["needed_requests"] == int(need.group(2).replace(",", ""))
    for d in data["deciding"]:
        assert d["outcome"] == "inconclusive" and d["alpha"] == 0.01
        assert d["e_value"] is not None and d["upper"] is not None and d["p_value"] <= 1


def test_explain_a_promotion_lists_every_slo_with_its_evidence(cli, harness, kit):
    harness.plan = sequential_plan(kit, window=60.0)
    harness.source.scripts[Target.CANARY] = kit.traffic(40.0)
    record = harness.run()
    assert record["phase"] == "promoted"
    data = json.loads(explain(cli, harness, record, "json")[1])
    assert [d["slo"] for d in data["deciding"]] == ["all.error_rate", "all.p95"]
    assert all(d["outcome"] == "pass" and d["canary_requests"] == 2400 for d in data["deciding"])
    out = explain(cli, harness, record, "text")[1]
    assert "was PROMOTED" in out and "Decided 1m into step 2" in out


def test_explain_an_abort_shows_the_last_check_not_a_decision(cli, harness, kit):
    record = harness.new()
    harness.clock.at(
        kit.T0 + 25,
        lambda: harness.store.post_request(record["id"], {"action": "abort", "by": "ops@laptop"}),
    )
    record = harness.run(record)
    out = explain(cli, harness, record, "text")[1]
    assert "was ROLLED BACK" in out and "Why: aborted by ops@laptop (a person aborted it)." in out
    assert "The last check 20s into step 2" in out and "Decided" not in out
    assert json.loads(explain(cli, harness, record, "json")[1])["estimate"] is None


def test_an_optional_slo_without_traffic_does_not_decide_a_promotion(cli, harness, kit):
    quiet = kit.RuleSpec(kit.SloRule("inventory.error_rate", "error_rate", route_class="inventory",
                                     threshold=0.01, min_requests=50), required=False)  # fmt: skip
    harness.plan = kit.make_plan(rules=(*kit.make_rules(), quiet))
    busy, quiet_route = kit.traffic(10.0), kit.no_data("no inventory traffic")
    harness.source.scripts[Target.CANARY] = lambda s, e, r: (
        quiet_route(s, e, r) if r == "inventory" else busy(s, e, r)
    )
    record = harness.run()
    assert record["phase"] == "promoted"
    data = json.loads(explain(cli, harness, record, "json")[1])
    assert [d["slo"] for d in data["deciding"]] == [
        "all.error_rate", "all.p95", "all.relative.p95"]  # fmt: skip
    assert data["estimate"] is None
    slos = {s["slo"]: s["outcome"] for s in data["slos"]}
    assert slos["inventory.error_rate"] == "error"


def test_explain_an_unknown_id_is_exit_2(cli, tmp_path):
    code, _, err = cli("explain", "nope-1", "--state-dir", str(tmp_path), "-o", "text")
    assert code == 2 and "nope-1" in err


# --- policy record -----------------------------------------------------------------------------


@pytest.fixture
def router_admin(router_admin_at: Callable[[float], Any]) -> Any:
    """The sandbox router's admin API (per-second windows) on a thread, on a fake clock."""
    return router_admin_at(1_800_000_000.5)


def test_record_from_the_embedded_source_replays_what_the_router_counted(router_admin, io_buf):
    url, stats, clock = router_admin
    traffic = {
        1: [("stable", "wallet", 0.02, False), ("canary", "wallet", 0.3, True)],
        2: [("stable", "players", 0.004, False)],
        3: [("canary", "players", 0.07, False), ("canary", "wallet", 0.01, False)],
    }

    def sleep(seconds: float) -> None:  # requests arrive while the recorder waits
        end = clock.now + seconds
        while clock.now < end:
            second = int(clock.now) - 1_800_000_000
            for group, route, latency, error in traffic.pop(second, []):
                stats.record(group, route, latency, error=error)
            clock.now = min(end, float(int(clock.now) + 1))

    summary = record_source(
        EmbeddedSource(url), io_buf, duration_s=4, interval_s=1, routes=("wallet", "players"),
        clock=clock, sleep=sleep,
    )  # fmt: skip
    intervals = parse_lines(io_buf.getvalue().splitlines(), "rec.jsonl")
    got = {(i.t, str(i.target), i.route_class): i.stats for i in intervals}
    # offset 1 is the second that began at the first whole second (1_800_000_001)
    assert set(got) == {
        (1.0, "stable", None), (1.0, "stable", "wallet"), (1.0, "canary", None),
        (1.0, "canary", "wallet"), (2.0, "stable", None), (2.0, "stable", "players"),
        (3.0, "canary", None), (3.0, "canary", "players"), (3.0, "canary", "wallet"),
    }  # fmt: skip
    expected = WindowStats.from_latencies([0.3], 1, LATENCY_BUCKETS)
    assert got[(1.0, "canary", "wallet")] == expected
    assert got[(3.0, "canary", None)].requests == 2
    assert summary.lines == 9 and summary.intervals == 4
    assert summary.missing == 4 * 6 - 9  # windows without requests are left out, not zeros
    assert "no requests recorded" in summary.reasons["canary/all"]


def test_record_refuses_without_a_sandbox_or_url(cli, tmp_path):
    code, _, err = cli("policy", "record", "--duration", "2s", "--sandbox", str(tmp_path))
    assert code == 2 and f"no sandbox running in {tmp_path}" in err
    code, _, err = cli("policy", "record", "--duration", "2s", "--source", "prometheus")
    assert code == 2 and "--url: required with --source prometheus" in err
    code, _, err = cli("policy", "record", "--duration", "2s", "--source", "graphite")
    assert code == 2 and "--source: must be embedded or prometheus" in err
    code, _, err = cli("policy", "record", "--duration", "2s", "--routes", "walet")
    assert code == 2 and "--routes: unknown route class 'walet'" in err


def test_record_with_no_data_at_all_is_an_error(io_buf, unused_tcp_port, kit):
    from canaryctl.errors import MetricsError

    clock = kit.FakeClock(1_800_000_000.0)
    source = EmbeddedSource(f"http://127.0.0.1:{unused_tcp_port}", timeout=1)
    with pytest.raises(MetricsError, match=r"recorded no data in 2s: .*unreachable"):
        record_source(source, io_buf, duration_s=2, interval_s=1, routes=(), clock=clock,
                      sleep=clock.sleep)  # fmt: skip
    assert io_buf.getvalue() == ""


@pytest.fixture
def io_buf():
    import io

    return io.StringIO()
