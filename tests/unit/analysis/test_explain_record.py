"""Why a deployment ended as it did, on records the engine wrote: the lines ``canaryctl
explain ID`` prints (and the text report of ``deploy`` and ``status`` after a deployment
stops) and the JSON fields they come from."""

from __future__ import annotations

import re
from typing import Any

from canaryctl.analysis.explain_record import deployment_facts
from canaryctl.metrics.base import Target
from canaryctl.rollout.record import status_of


def explain(record: dict[str, Any]) -> dict[str, Any]:
    return deployment_facts(record, status_of(record))


def test_a_rollback_gives_the_decisive_numbers(harness, kit):
    harness.source.scripts[Target.CANARY] = kit.traffic(10.0, error_rate=0.05)
    facts = explain(harness.run())
    lines = facts["explanation"]
    assert lines[0].endswith("v1 → v2 was ROLLED BACK after 20s.")
    assert lines[1] == (
        "Why: all.error_rate failed 2 checks (limit 2): 0.05 > 0.01 (the canary failed its SLOs)."
    )
    assert lines[2] == (
        "Decided 20s into step 2 (analyze 60s (every 10s)) with 10% of traffic on the canary, by:"
    )
    assert lines[5] == (
        "  all.error_rate fail at +20s: canary 5% over 100 requests > bound 1% (stable 0% over "
        "900); failed check 2 (the policy acts at 2)"
    )
    assert "  3. promote: not reached" in lines
    assert (
        "  all.error_rate: fail — canary 5% over 100 requests > bound 1% (stable 0% over 900); "
        "2/2 failed of 2 checks"
    ) in lines
    assert (facts["status"], facts["cause"], facts["estimate"]) == ("rolled_back", "slo", None)


def test_an_inconclusive_pause_says_how_much_more_traffic(harness, kit):
    harness.source.scripts[Target.CANARY] = kit.traffic(0.5)
    facts = explain(harness.run())
    lines = facts["explanation"]
    assert "is PAUSED (a person must act)" in lines[0]
    assert any("needs about 20 more canary requests" in line for line in lines)
    assert (
        "To conclude, all.error_rate needs about 20 more canary requests (about 40s at the "
        "current rate)."
    ) in lines
    assert facts["estimate"] == {
        "slo": "all.error_rate",
        "needed_requests": 20,
        "needed_seconds": 40.0,
    }


def test_requests_of_a_person_are_listed_with_who_and_when(harness, kit):
    record = harness.new()
    harness.clock.at(
        kit.T0 + 25,
        lambda: harness.store.post_request(record["id"], {"action": "abort", "by": "ops@laptop"}),
    )
    lines = explain(harness.run(record))["explanation"]
    assert lines[1] == "Why: aborted by ops@laptop (a person aborted it)."
    asked = [line for line in lines if line.startswith("Request: ")]
    assert len(asked) == 1
    assert re.fullmatch(r"Request: abort by ops@laptop at \d\d:\d\d:\d\d: rolling back", asked[0])


def test_an_slo_missing_from_the_stored_plan_shows_an_unknown_limit(harness):
    record = harness.run()
    record["plan"] = {**record["plan"], "rules": []}  # as an older canaryctl may have stored it
    lines = explain(record)["explanation"]
    mine = [line for line in lines if line.startswith("  all.error_rate: pass — ")]
    assert len(mine) == 1 and mine[0].endswith("; 0/? failed of 6 checks")
