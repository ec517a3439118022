"""Counter arithmetic of the Prometheus source, and an unreachable server (the real-server
tests are in tests/integration/local)."""

from __future__ import annotations

from canaryctl.metrics.base import NoData, Target
from canaryctl.metrics.prometheus import PrometheusSource, series_increase


def test_increase_from_the_baseline():
    assert series_increase(10, [10, 12, 15, 15]) == 5


def test_a_reset_counts_the_new_value_in_full():
    # the router restarted between 15 and 3: 5 before, 3 after
    assert series_increase(10, [12, 15, 3, 4]) == 5 + 4


def test_without_a_baseline_the_first_sample_is_the_baseline():
    assert series_increase(None, [7, 9]) == 2
    assert series_increase(None, []) == 0


def test_unreachable_prometheus_is_nodata_with_the_reason(unused_tcp_port: int):
    src = PrometheusSource(f"http://127.0.0.1:{unused_tcp_port}", timeout=1)
    got = src.window(Target.CANARY, 1000.0, 1060.0)
    assert isinstance(got, NoData)
    assert "unreachable" in got.reason and str(unused_tcp_port) in got.reason
    src.close()
