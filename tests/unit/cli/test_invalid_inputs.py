"""A table of invalid pipelines, policies and flags, run through the real CLI entry point.

Every one must exit 2 with exactly one line on stderr that names the file:line (or the flag)
and the problem, and no traceback. Nothing may be deployed.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from canaryctl.cli.main import main

PIPELINE = """\
apiVersion: canaryctl/v1
kind: Pipeline
service: gamebackend
policy: policy.yaml
platform:
  type: local
  healthTimeout: 60s
metrics:
  type: embedded
analysis:
  window: 30s
steps:
  - setWeight: 10
  - analyze: {}
  - promote: {}
hooks:
  duringAnalysis:
    - load: {profile: steady, rps: 30}
onFailure: rollback
"""

POLICY = """\
apiVersion: canaryctl/v1
kind: Policy
analysis:
  interval: 10s
  window: 1m
slos:
  all:
    errorRate: {max: 1%}
    latency: {p95: 250ms}
    relative:
      p95: 1.2x
  wallet:
    errorRate: {max: 0.5%}
"""

P, Q = "p.yaml", "policy.yaml"
DEPLOY = ["deploy", "--pipeline", "{p}", "--version", "v2"]
VALIDATE = ["policy", "validate", "{q}", "--output", "text"]

# (id, file edited, old text, new text, argv, where (file:line or flag), problem)
CASES = [
    # --- pipelines ------------------------------------------------------------------------
    ("unknown-key", P, "service:", "servce:", DEPLOY, "p.yaml:3", "did you mean 'service'"),
    ("api-version", P, "canaryctl/v1", "canaryctl/v2", DEPLOY, "p.yaml:1", "'canaryctl/v1'"),
    ("no-kind", P, "kind: Pipeline\n", "", DEPLOY, "p.yaml:1", "kind: is required"),
    ("service-name", P, "service: gamebackend", "service: Game Backend", DEPLOY, "p.yaml:3",
     "lowercase letters"),
    ("platform-type", P, "type: local", "type: lokal", DEPLOY, "p.yaml:6",
     "unknown type 'lokal' (known: local, ecs)"),
    ("platform-no-type", P, "  type: local\n", "", DEPLOY, "p.yaml:5", "needs a 'type' key"),
    ("health-timeout", P, "healthTimeout: 60s", "healthTimeout: soon", DEPLOY, "p.yaml:7",
     "invalid duration 'soon'"),
    ("platform-key", P, "healthTimeout", "healthTimeOut", DEPLOY, "p.yaml:7",
     "did you mean 'healthTimeout'"),
    ("prometheus-url", P, "type: embedded", "type: prometheus", DEPLOY, "p.yaml:8",
     "metrics.url: is required"),
    ("prometheus-selector", P, "type: embedded",
     "type: prometheus\n  url: http://127.0.0.1:9090\n  selector: job=gb", DEPLOY, "p.yaml:11",
     "not a list of label matchers: 'job=gb'"),
    ("prometheus-labels", P, "type: embedded",
     "type: prometheus\n  url: http://127.0.0.1:9090\n  labels: {target: tg, version: v}",
     DEPLOY, "p.yaml:11", "set exactly one of version"),
    ("prometheus-route", P, "type: embedded",
     "type: prometheus\n  url: http://127.0.0.1:9090\n  routeClasses: {walet: pay}", DEPLOY,
     "p.yaml:11", "did you mean 'wallet'"),
    ("no-steps", P, "  - setWeight: 10\n  - analyze: {}\n  - promote: {}\n", "  []\n", DEPLOY,
     "p.yaml:12", "must not be empty"),
    ("two-kinds", P, "- setWeight: 10", "- {setWeight: 10, promote: {}}", DEPLOY, "p.yaml:13",
     "exactly one of setWeight"),
    ("weight-range", P, "setWeight: 10", "setWeight: 150", DEPLOY, "p.yaml:13",
     "less than or equal to 100"),
    ("weight-type", P, "setWeight: 10", "setWeight: ten", DEPLOY, "p.yaml:13",
     "must be a whole number (got 'ten')"),
    ("analyze-first", P, "  - setWeight: 10\n", "", DEPLOY, "p.yaml:13",
     "analyze comes before any setWeight"),
    ("promote-not-last", P, "  - analyze: {}\n  - promote: {}", "  - promote: {}\n  - analyze: {}",
     DEPLOY, "p.yaml:14", "promote must be the last step"),
    ("step-typo", P, "- setWeight: 10", "- setweight: 10", DEPLOY, "p.yaml:13",
     "did you mean 'setWeight'"),
    ("analyze-duration", P, "analyze: {}", "analyze: {duration: 2 minutes}", DEPLOY, "p.yaml:14",
     "invalid duration"),
    ("hook-rps", P, "rps: 30", "rps: 0", DEPLOY, "p.yaml:18", "greater than 0"),
    ("hook-profile", P, "profile: steady", "profile: burst", DEPLOY, "p.yaml:18",
     "'steady', 'ramp', 'spike' or 'launch'"),
    ("on-failure", P, "onFailure: rollback", "onFailure: retry", DEPLOY, "p.yaml:19",
     "'rollback' or 'pause'"),
    ("policy-missing", P, "policy: policy.yaml", "policy: nope.yaml", DEPLOY, "p.yaml:4",
     "nope.yaml not found"),
    ("yaml-syntax", P, "steps:", "steps: [", DEPLOY, "p.yaml:", "invalid YAML"),
    ("duplicate-key", P, "onFailure: rollback", "onFailure: rollback\nservice: other", DEPLOY,
     "p.yaml:20", "duplicate key (first at line 3)"),
    ("not-a-pipeline", P, "kind: Pipeline", "kind: Policy", DEPLOY, "p.yaml:2",
     "this is a Policy file; expected a Pipeline"),
    ("pipeline-missing", None, "", "", ["deploy", "--pipeline", "{tmp}/none.yaml", "--version",
     "v2"], "none.yaml", "pipeline file not found"),
    # --- policies (through deploy: the error names the policy file) ---------------------------
    ("route-class", Q, "wallet:", "walet:", DEPLOY, "policy.yaml:12", "did you mean 'wallet'"),
    ("rate-not-percent", Q, "max: 1%", "max: 5", VALIDATE, "policy.yaml:8",
     "write 5% if you meant percent"),
    ("rate-100", Q, "max: 1%", "max: 100%", VALIDATE, "policy.yaml:8", "can never fail"),
    ("latency-too-high", Q, "p95: 250ms", "p95: 20s", VALIDATE, "policy.yaml:9",
     "largest finite latency bucket"),
    ("latency-too-low", Q, "p95: 250ms", "p95: 1ms", VALIDATE, "policy.yaml:9",
     "smallest latency bucket"),
    ("quantile-key", Q, "p95: 250ms", "p100: 250ms", VALIDATE, "policy.yaml:9",
     "invalid quantile 'p100'"),
    ("factor-below-1", Q, "p95: 1.2x", "p95: 0.8x", VALIDATE, "policy.yaml:11", "below 1x"),
    ("relative-both", Q, "p95: 1.2x", "errorRate: {maxIncrease: 1%, factor: 2x}", VALIDATE,
     "policy.yaml:11", "either factor"),
    ("window-vs-interval", Q, "window: 1m", "window: 5s", VALIDATE, "policy.yaml:5",
     "shorter than the interval"),
    ("judge", Q, "errorRate: {max: 0.5%}", "errorRate: {max: 0.5%, judge: bayesian}", VALIDATE,
     "policy.yaml:13", "unknown judge 'bayesian'"),
    ("missing-data", Q, "  interval: 10s", "  interval: 10s\n  missingData: {action: ignore}",
     VALIDATE, "policy.yaml:5", "'rollback' or 'pause'"),
    ("class-interval", Q, "  wallet:\n", "  wallet:\n    interval: 5s\n", VALIDATE,
     "policy.yaml:13", "set once for the whole policy"),
    ("no-slo", Q, "    errorRate: {max: 0.5%}\n", "    minRequests: 5\n", VALIDATE,
     "policy.yaml:12", "no SLO given"),
    ("none-required", Q, "  interval: 10s", "  interval: 10s\n  required: false", VALIDATE,
     "policy.yaml:7", "keep at least one required SLO"),
    ("p99-samples", Q, "p95: 250ms", "p99: 250ms", VALIDATE, "policy.yaml:9",
     "set minRequests to at least 100"),
    # --- flags ------------------------------------------------------------------------------
    ("set-no-equals", None, "", "", [*DEPLOY, "--set", "analysis.window"], "--set",
     "expected PATH=VALUE"),
    ("set-unknown", None, "", "", [*DEPLOY, "--set", "analysis.windw=30s"],
     "--set analysis.windw=30s", "did you mean 'window'"),
    ("set-bad-value", None, "", "", [*DEPLOY, "--set", "analysis.window=5x"],
     "--set analysis.window=5x", "invalid duration '5x'"),
    ("set-too-short", None, "", "", [*DEPLOY, "--set", "analysis.window=5s"],
     "--set analysis.window=5s", "shorter than its check interval 10s"),
    ("set-index", None, "", "", [*DEPLOY, "--set", "steps.9.analyze.duration=1s"],
     "--set steps.9.analyze.duration=1s", "no item 9"),
    ("env-key", None, "", "", [*DEPLOY, "--env", "1BAD=x"], "--env '1BAD=x'", "KEY=VALUE"),
    ("version", None, "", "", ["deploy", "--pipeline", "{p}", "--version", "v 2"], "--version",
     "letters, digits"),
    ("output", None, "", "", [*DEPLOY, "--output", "xml"], "--output", "text or json"),
    ("missing-flag", None, "", "", ["deploy", "--pipeline", "{p}"], "'--version'", "Missing"),
    ("unknown-flag", None, "", "", [*DEPLOY, "--bogus"], "--bogus", "No such option"),
    ("unknown-deployment", None, "", "", ["status", "nope", "--state-dir", "{tmp}/s"],
     "'nope'", "no deployment"),
    ("image-local", None, "", "", [*DEPLOY, "--image", "repo/gb:2"], "--image",
     "only the ecs platform runs images (this pipeline: local)"),
    ("task-definition-missing", None, "", "", [*DEPLOY, "--task-definition", "nope.json"],
     "--task-definition nope.json", "no such file"),
    ("task-definition-arn", None, "", "", [*DEPLOY, "--task-definition", "arn:aws:ecs:x"],
     "--task-definition 'arn:aws:ecs:x'", "not a task definition ARN"),
    ("task-definition-json", None, "", "", [*DEPLOY, "--task-definition", "{p}"],
     "p.yaml:1", "not JSON"),
]  # fmt: skip


def _setup(tmp: Path, file: str | None, old: str, new: str) -> None:
    texts = {P: PIPELINE, Q: POLICY}
    if file is not None:
        assert old in texts[file], f"case does not apply: {old!r}"
        texts[file] = texts[file].replace(old, new, 1)
    for name, text in texts.items():
        (tmp / name).write_text(text)


def _argv(argv: list[str], tmp: Path) -> list[str]:
    return [a.format(p=tmp / P, q=tmp / Q, tmp=tmp) for a in argv]


def test_the_table_is_big_enough():
    assert len(CASES) >= 25
    assert len({c[0] for c in CASES}) == len(CASES)


@pytest.mark.parametrize(("file", "old", "new", "argv", "where", "problem"),
                         [c[1:] for c in CASES], ids=[c[0] for c in CASES])  # fmt: skip
def test_invalid_input_is_one_line_and_exit_2(
    tmp_path, capsys, monkeypatch, file, old, new, argv, where, problem
):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("CANARYCTL_STATE_DIR", str(tmp_path / "state"))
    _setup(tmp_path, file, old, new)
    with pytest.raises(SystemExit) as exit_info:
        main(_argv(argv, tmp_path))
    out, err = capsys.readouterr()
    lines = [line for line in err.splitlines() if line.strip()]
    assert exit_info.value.code == 2, err
    assert len(lines) == 1, err
    assert "Traceback" not in err and out == ""
    line = lines[0]
    assert line.startswith("error: "), line
    assert where in line and problem in line, line
    assert not (tmp_path / "state" / "locks").exists() or not any(
        (tmp_path / "state" / "locks").iterdir()
    )  # nothing was deployed


@pytest.mark.parametrize(
    "argv",
    [
        ["deploy", "--pipeline", "{p}", "--version", "v2", "--set", "analysis.window=5x"],
        ["policy", "validate", "{q}"],
    ],
    ids=["flag", "policy"],
)
def test_a_real_process_prints_one_line_too(tmp_path, argv):
    _setup(tmp_path, Q, "max: 1%", "max: 5")
    proc = subprocess.run(
        [sys.executable, "-m", "canaryctl", *_argv(argv, tmp_path)],
        capture_output=True, text=True, timeout=60, cwd=tmp_path,
    )  # fmt: skip
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert proc.returncode == 2 and len(lines) == 1, proc.stderr
    assert "Traceback" not in proc.stderr


def test_policy_validate_accepts_the_good_files_and_reports_each_bad_one(tmp_path, capsys):
    _setup(tmp_path, None, "", "")
    (tmp_path / "bad.yaml").write_text(POLICY.replace("wallet:", "walet:"))
    with pytest.raises(SystemExit) as exit_info:
        files = [str(tmp_path / name) for name in (Q, P, "bad.yaml")]
        main(["policy", "validate", *files, "--output", "text"])
    out, err = capsys.readouterr()
    assert exit_info.value.code == 2
    assert out.count("ok: ") == 2 and "policy with 4 SLOs" in out
    assert "pipeline for gamebackend: set weight 10%, analyze 30s (every 10s), promote" in out
    assert err.strip().splitlines() == [
        f"error: {tmp_path / 'bad.yaml'}:12: slos.walet: unknown route class 'walet' (known: "
        "all, wallet, pools, inventory, leaderboard, players, matchmaking, realtime, ops); "
        "did you mean 'wallet'?"
    ]
