"""The small RESP client's wire format (the client itself runs against Redis in the
integration tests)."""

from __future__ import annotations

import pytest

from gamebackend.projections.resp import RespClient, RespError, encode_command, parse_reply


def test_encode_command() -> None:
    assert encode_command(("EVALSHA", "ab", 1, "k", -3)) == (
        b"*5\r\n$7\r\nEVALSHA\r\n$2\r\nab\r\n$1\r\n1\r\n$1\r\nk\r\n$2\r\n-3\r\n"
    )


def test_parse_every_reply_type() -> None:
    buf = (
        b"+OK\r\n:42\r\n$5\r\nhello\r\n$-1\r\n"
        b"*3\r\n:1\r\n*1\r\n$1\r\nx\r\n$0\r\n\r\n-NOSCRIPT no\r\n"
    )
    values, pos = [], 0
    while pos < len(buf):
        value, pos = parse_reply(buf, pos)
        values.append(value)
    assert values[:5] == ["OK", 42, "hello", None, [1, ["x"], ""]]
    assert isinstance(values[5], RespError) and str(values[5]) == "NOSCRIPT no"


def test_incomplete_replies_wait_for_more_bytes() -> None:
    whole = b"*2\r\n$5\r\nhello\r\n:7\r\n"
    for cut in range(1, len(whole)):
        _value, pos = parse_reply(whole[:cut], 0)
        assert pos == 0, cut  # nothing consumed until the reply is complete
    assert parse_reply(whole, 0) == (["hello", 7], len(whole))


@pytest.mark.parametrize(
    ("url", "where"),
    [
        ("unix:///tmp/r.sock?db=3", ("/tmp/r.sock", 3)),
        ("redis://cache:6380/2", (None, 2)),
        ("redis://cache", (None, 0)),
    ],
)
def test_urls(url: str, where: tuple[str | None, int]) -> None:
    client = RespClient(url)
    assert (client._unix, client._db) == where


def test_unknown_scheme_is_refused() -> None:
    with pytest.raises(ValueError, match="unsupported"):
        RespClient("http://cache")
