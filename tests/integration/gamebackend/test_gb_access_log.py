"""The access log a real ``gamebackend serve`` writes is what the observability module's
CloudWatch metric filters read.

The filters' patterns are parsed out of terraform/modules/observability/main.tf and evaluated
over the real log lines with CloudWatch's JSON filter semantics
(https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/FilterAndPatternSyntax.html): a
field renamed on either side, or a number written as a string, makes a filter match nothing
and fails here.
"""

from __future__ import annotations

import fnmatch
import json
import re
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import hcl2
import httpx
import pytest
from hcl2 import SerializationOptions
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[3]
OBSERVABILITY = REPO / "terraform" / "modules" / "observability" / "main.tf"
COOKIE = "session=cookie-secret-4f1c"
QUERY_TOKEN = "query-token-secret-9b2e"


# --- CloudWatch JSON filter patterns ----------------------------------------------------------

_TOKEN = re.compile(
    r"\s*(?:(?P<op>&&|\|\||>=|<=|!=|=|>|<)|(?P<paren>[()])|(?P<sel>\$\.[A-Za-z0-9_.]+)"
    r'|(?P<str>"(?:[^"\\]|\\.)*")|(?P<num>-?\d+(?:\.\d+)?)|(?P<star>\*))'
)


def _tokens(pattern: str) -> list[tuple[str, str]]:
    body = pattern.strip()
    assert body.startswith("{") and body.endswith("}"), f"not a JSON pattern: {pattern}"
    text, pos, out = body[1:-1].strip(), 0, []
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        assert match and match.end() > pos, f"unsupported filter syntax at {text[pos:]!r}"
        kind = match.lastgroup or ""
        out.append((kind, match.group(kind)))
        pos = match.end()
    return out


def _field(event: dict[str, Any], selector: str) -> tuple[bool, Any]:
    value: Any = event
    for part in selector[2:].split("."):
        if not isinstance(value, dict) or part not in value:
            return False, None
        value = value[part]
    return True, value


def _compare(event: dict[str, Any], selector: str, op: str, kind: str, raw: str) -> bool:
    present, value = _field(event, selector)
    if not present:
        return False
    if kind == "star":  # `$.f = *`: the field exists (aws-cdk's FilterPattern.exists)
        assert op == "=", f"{selector} {op} * is not a pattern"
        return True
    if kind == "num":  # numeric comparisons match JSON numbers only
        if isinstance(value, bool) or not isinstance(value, int | float):
            return False
        wanted = float(raw)
        return {
            "=": value == wanted, "!=": value != wanted, ">": value > wanted,
            "<": value < wanted, ">=": value >= wanted, "<=": value <= wanted,
        }[op]  # fmt: skip
    assert op in ("=", "!="), f"{op} on a string"
    matched = isinstance(value, str) and fnmatch.fnmatchcase(value, json.loads(raw))
    return matched if op == "=" else not matched


def matches(pattern: str, event: dict[str, Any]) -> bool:
    """Whether a CloudWatch JSON filter pattern matches one JSON log event (``&&`` binds
    tighter than ``||``; parentheses group)."""
    tokens = _tokens(pattern)
    pos = 0

    def term() -> bool:
        nonlocal pos
        kind, text = tokens[pos]
        if kind == "paren" and text == "(":
            pos += 1
            value = disjunction()
            assert tokens[pos] == ("paren", ")"), f"unbalanced parentheses in {pattern}"
            pos += 1
            return value
        assert kind == "sel", f"expected a $.selector in {pattern}, got {text!r}"
        (_, op), (vkind, raw) = tokens[pos + 1], tokens[pos + 2]
        pos += 3
        return _compare(event, text, op, vkind, raw)

    def chain(op: str, inner: Callable[[], bool]) -> bool:
        nonlocal pos
        values = [inner()]
        while pos < len(tokens) and tokens[pos] == ("op", op):
            pos += 1
            values.append(inner())
        return all(values) if op == "&&" else any(values)

    def disjunction() -> bool:
        return chain("||", lambda: chain("&&", term))

    result = disjunction()
    assert pos == len(tokens), f"trailing tokens in {pattern}"
    return result


def metric_filters() -> dict[str, dict[str, Any]]:
    """name → the aws_cloudwatch_log_metric_filter block, as written in main.tf."""
    options = SerializationOptions(
        with_comments=False, explicit_blocks=False, strip_string_quotes=True
    )
    doc = hcl2.loads(OBSERVABILITY.read_text(), serialization_options=options)
    found: dict[str, dict[str, Any]] = {}
    for entry in doc.get("resource", []):
        found.update(entry.get("aws_cloudwatch_log_metric_filter", {}))
    return found


def _transformation(block: dict[str, Any]) -> dict[str, Any]:
    mt = block["metric_transformation"]
    return mt[0] if isinstance(mt, list) else mt


# --- the test ---------------------------------------------------------------------------------


def _access_lines(log: Path) -> list[dict[str, Any]]:
    """The JSON lines of a backend's output, but the fixture's own /readyz probes."""
    lines = []
    for line in log.read_text(errors="replace").splitlines():
        if line.startswith("{"):
            lines.append(json.loads(line))
    return [line for line in lines if line.get("path") != "/readyz"]


def _wait_lines(log: Path, count: int, timeout: float = 10.0) -> list[dict[str, Any]]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        lines = _access_lines(log)
        if len(lines) >= count:
            return lines
        time.sleep(0.05)
    raise AssertionError(f"{count} access lines expected, got {len(_access_lines(log))}")


def _traffic(url: str, ws_url: str) -> tuple[list[int], list[str]]:
    """Requests carrying every kind of secret; returns (statuses in order, secrets sent)."""
    statuses: list[int] = []
    secrets = [QUERY_TOKEN, "cookie-secret-4f1c", "test-admin-key", "test-token-secret"]
    with httpx.Client(base_url=url, timeout=10, headers={"Cookie": COOKIE}) as http:
        statuses.append(http.get("/healthz", headers={"X-Request-Id": "req-abc.123"}).status_code)
        token = ""
        for _ in range(60):  # errors=50% on /v1: until a player is created and a 500 was seen
            created = http.post("/v1/players", json={"name": "log"})
            statuses.append(created.status_code)
            if created.status_code == 201 and not token:
                token = created.json()["token"]
            if token and 500 in statuses:
                break
        assert token and 500 in statuses, f"no player created and a 500 in 60 tries: {statuses}"
        secrets.append(token)
        bearer = {"Authorization": f"Bearer {token}", "X-Admin-Key": "test-admin-key"}
        got = http.get(f"/v1/wallet?token={QUERY_TOKEN}&cursor=1", headers=bearer)
        statuses.append(got.status_code)
        statuses.append(http.get("/no/such/route").status_code)
    with connect(f"{ws_url}?token={token}", additional_headers={"Cookie": COOKIE}) as ws:
        ws.send(json.dumps({"type": "ping", "cid": "1"}))
        assert json.loads(ws.recv(timeout=10))["type"] == "pong"
    statuses.append(101)
    # accepted, then closed with 4401
    with connect(f"{ws_url}?token={QUERY_TOKEN}") as ws, pytest.raises(ConnectionClosed):
        ws.recv(timeout=10)
    statuses.append(101)
    return statuses, secrets


def test_real_access_lines_feed_every_metric_filter(processes, cli_env) -> None:
    env = cli_env(ACCESS_LOG="stdout", GAMEBACKEND_FAULTS="errors=50%")
    backend = processes.backend(env)
    statuses, secrets = _traffic(backend.url, backend.ws_url)
    lines = _wait_lines(backend.log, len(statuses))

    assert [line["status"] for line in lines] == statuses
    assert 500 in statuses and 201 in statuses, statuses
    for line in lines:
        assert set(line) == {
            "time", "request_id", "method", "path", "route_class", "status", "duration_ms",
            "version",
        }  # fmt: skip
        assert line["version"] == "subprocess" and line["request_id"]
        assert datetime.fromisoformat(line["time"]).tzinfo is not None
        assert "?" not in line["path"]
    assert lines[0]["request_id"] == "req-abc.123"
    assert {line["route_class"] for line in lines} == {"ops", "players", "wallet", "realtime"}

    filters = metric_filters()
    assert set(filters) == {"requests", "errors", "latency"}
    for name, block in filters.items():
        matched = [line for line in lines if matches(block["pattern"], line)]
        expected = [line for line in lines if line["status"] >= 500] if name == "errors" else lines
        assert matched == expected, f"filter {name} ({block['pattern']}) matched {matched}"
        mt = _transformation(block)
        for line in matched:
            value = mt["value"]
            if value.startswith("$."):
                present, number = _field(line, value)
                assert present and isinstance(number, int | float), (name, value, line)
            for dim, selector in mt["dimensions"].items():
                present, label = _field(line, selector)
                assert present and isinstance(label, str) and label, (name, dim, line)

    text = backend.log.read_text(errors="replace")
    leaked = [s for s in secrets if s in text]
    assert not leaked, f"secrets in the log: {leaked}"


def test_filter_evaluator_rejects_renamed_and_mistyped_fields() -> None:
    line = {"route_class": "wallet", "status": 503, "duration_ms": 4.5}
    assert matches("{ $.route_class = * && $.status >= 500 }", line)
    assert not matches("{ $.route_class = * && $.status >= 500 }", {**line, "status": "503"})
    assert not matches("{ $.route = * && $.duration_ms = * }", line)
    assert matches('{ ($.route_class = "wal*" || $.x = 1) && $.status != 200 }', line)
    with pytest.raises(AssertionError):
        matches("{ $.status ~ 5 }", line)


def test_access_log_off_writes_no_lines(processes, cli_env) -> None:
    backend = processes.backend(cli_env(ACCESS_LOG="off"))
    answer = httpx.get(backend.url + "/healthz")
    assert answer.status_code == 200 and "x-request-id" not in answer.headers
    assert not [line for line in backend.log.read_text().splitlines() if line.startswith("{")]
