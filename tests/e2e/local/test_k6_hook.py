"""Acceptance 6 of issue 10: a local canary whose load hook is the launch-day curve played by
k6 (``runner: k6``: canaryctl's profile rendered as ramping-arrival-rate stages, the real k6
binary). The canary is judged as with canaryctl's own generator (test_local_outcomes.py, the
same fixed-window policy, 10 s window checked every 5 s): a good version is promoted, one
answering 5% HTTP 500 is rolled back on an error rate. And k6's own report of its requests —
read back from its summary into the deployment's JSON — is exactly what the router counted
for stable and canary together during the deployment.

The threshold policy cannot decide before the window's end (two failed checks are needed), so
k6 plays its whole curve and ends by itself: its counts are exact (a run stopped early is
interrupted, and k6 does not count the requests it had in flight; canaryctl/load/k6.py)."""

from __future__ import annotations

import pytest

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(240)]

K6_LAUNCH = {
    "hooks.duringAnalysis.0.load.runner": "k6",
    "hooks.duringAnalysis.0.load.profile": "launch",
    "hooks.duringAnalysis.0.load.rps": "300",
}


def _k6_report(doc: dict) -> dict:
    """The one load report of the analyze step: k6's, from a run that ended by itself."""
    (report,) = doc["load"]
    assert report["runner"] == "k6" and report["profile"] == "launch", report
    assert report["interrupted"] is False and report["k6_exit_code"] == 0, report
    assert "error" not in report, report
    return dict(report)


def _deployed(sandbox, cli, version: str, **kw):
    before = sandbox.router_counts()
    errors_before = sandbox.router_counts("errors")
    out = cli.deploy(version, sets=K6_LAUNCH, **kw)
    counted = sandbox.router_counts() - before
    errors = sandbox.router_counts("errors") - errors_before
    report = out.doc.get("load")
    print(f"{version}: k6 {report and report[0].get('requests')}, router {dict(counted)}, "
          f"errors {dict(errors)}")  # fmt: skip
    return out, counted, errors


def test_a_good_release_under_k6s_launch_curve_is_promoted(sandbox, cli, versions):
    stable, version = sandbox.settled()["stable"]["version"], versions()
    out, counted, errors = _deployed(sandbox, cli, version)

    assert out.code == 0, out.stderr
    doc = out.doc
    assert doc["status"] == "promoted", doc["reason"]
    finals = [v for v in doc["verdicts"] if v["check"] == "final"]
    assert finals and all(v["outcome"] == "pass" for v in finals if v["slo"].startswith("all."))
    k6 = _k6_report(doc)
    # The launch curve at a 300/s peak for the 10 s window: about 47% of a flat run.
    assert 1100 <= k6["iterations"] <= 1700, k6
    assert k6["requests"] == counted["stable"] + counted["canary"], (k6, counted)
    assert 0.05 <= counted["canary"] / k6["requests"] <= 0.15, counted  # the 10% step
    assert k6["failures"] == sum(errors.values()) == 0, (k6, errors)
    sandbox.assert_only(version)
    assert stable != version


def test_a_bad_release_under_k6s_launch_curve_is_rolled_back(sandbox, cli, versions):
    stable, version = sandbox.settled()["stable"]["version"], versions()
    out, counted, errors = _deployed(sandbox, cli, version, env=("GAMEBACKEND_FAULTS=errors=0.05",))

    assert out.code == 3, out.stderr
    doc = out.doc
    assert doc["status"] == "rolled_back" and doc["cause"] == "slo", doc["reason"]
    assert "error_rate" in doc["reason"].split(" ", 1)[0], doc["reason"]
    k6 = _k6_report(doc)
    assert k6["requests"] == counted["stable"] + counted["canary"], (k6, counted)
    # The canary's 500s are k6's failures, and the router's errors: nothing else failed.
    assert k6["failures"] == errors["canary"] > 0 and errors["stable"] == 0, (k6, errors)
    sandbox.assert_only(stable)
