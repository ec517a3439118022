"""Each metric source declares, from its config alone, whether it can answer route classes."""

from __future__ import annotations

import pytest

from canaryctl.config.metrics import (
    CloudWatchMetricsConfig,
    EmbeddedMetricsConfig,
    PrometheusMetricsConfig,
    ReplayMetricsConfig,
)
from canaryctl.errors import InvalidInput
from canaryctl.metrics import source_capabilities


@pytest.mark.parametrize(
    ("config", "route_classes"),
    [
        (EmbeddedMetricsConfig(), True),
        (PrometheusMetricsConfig(url="http://127.0.0.1:9090"), True),
        (ReplayMetricsConfig(path="r.jsonl"), True),
        (CloudWatchMetricsConfig(), False),
    ],
)
def test_sources_declare_whether_they_answer_route_classes(
    config: object, route_classes: bool
) -> None:
    assert source_capabilities(config).route_classes is route_classes


def test_an_unknown_source_type_is_refused() -> None:
    class Unknown:
        type = "datadog"

    with pytest.raises(InvalidInput, match="unknown metrics type 'datadog'"):
        source_capabilities(Unknown())
