"""GAMEBACKEND_FAULTS parsing: the documented grammar, and a clear refusal otherwise."""

from __future__ import annotations

import pytest

from gamebackend.faults import Faults, FaultSpecError, parse_faults


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("", Faults()),
        ("latency=300ms@0.2,errors=0.05", Faults(latency_s=0.3, latency_p=0.2, error_p=0.05)),
        ("errors=5%", Faults(error_p=0.05)),
        ("latency=1.5s", Faults(latency_s=1.5, latency_p=1.0)),
        (" latency = 20ms @ 50% , ", Faults(latency_s=0.02, latency_p=0.5)),
        ("errors=0.2,routes=wallet", Faults(error_p=0.2, routes=frozenset({"wallet"}))),
        (
            "routes=wallet | pools,latency=1s",
            Faults(1.0, 1.0, routes=frozenset({"wallet", "pools"})),
        ),
    ],
)
def test_valid_specs(spec: str, expected: Faults) -> None:
    assert parse_faults(spec) == expected


@pytest.mark.parametrize(
    ("spec", "fragment"),
    [
        ("latency=300", "not a duration"),
        ("latency=300ms@1.5", "outside [0, 1]"),
        ("errors=lots", "not a probability"),
        ("errors", "expected name=value"),
        ("jitter=5ms", "unknown fault 'jitter'"),
        ("errors=0.1,errors=0.2", "given twice"),
        ("latency=-5ms", "not a duration"),
        ("errors=0.1,routes=walet", "unknown route class 'walet' (known: wallet, pools"),
        ("errors=0.1,routes=|", "unknown route class '|'"),
    ],
)
def test_malformed_specs_name_the_item(spec: str, fragment: str) -> None:
    with pytest.raises(FaultSpecError) as err:
        parse_faults(spec)
    assert fragment in str(err.value)


def test_probability_one_always_fires_and_zero_never() -> None:
    always = parse_faults("latency=10ms@1,errors=1")
    never = parse_faults("latency=10ms@0,errors=0")
    assert always.active and all(always.fail() and always.delay() == 0.01 for _ in range(100))
    assert not never.active and not any(never.fail() or never.delay() for _ in range(100))


def test_faults_scoped_to_route_classes_apply_to_those_only() -> None:
    wallet = parse_faults("errors=1,routes=wallet")
    assert wallet.applies("wallet") and not wallet.applies("leaderboard")
    assert parse_faults("errors=1").applies("leaderboard")
