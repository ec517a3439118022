"""Player tokens and who may act on whose resources."""

from __future__ import annotations

import uuid

import pytest

from gamebackend.auth import Principal, TokenSigner
from gamebackend.errors import ApiError

PLAYER = str(uuid.uuid4())


def test_token_round_trip_and_tampering() -> None:
    signer = TokenSigner("secret-one")
    token = signer.issue(PLAYER)
    assert signer.verify(token) == PLAYER
    assert signer.verify(token) == PLAYER  # remembered: same answer
    other = str(uuid.uuid4())
    forged = token.replace(PLAYER, other)
    assert signer.verify(forged) is None
    assert TokenSigner("secret-two").verify(token) is None
    for junk in ("", "gb1", "gb1.x.y", "Bearer " + token, token + "x"):
        assert signer.verify(junk) is None


def test_player_acts_only_on_itself() -> None:
    me = Principal(player_id=PLAYER)
    assert me.target(None) == PLAYER
    assert me.target(PLAYER) == PLAYER
    with pytest.raises(ApiError) as err:
        me.target(str(uuid.uuid4()))
    assert err.value.status == 403
    with pytest.raises(ApiError):
        me.require_admin()


def test_admin_must_name_the_player_and_has_its_own_key_scope() -> None:
    server = Principal(player_id=None, admin=True)
    assert server.target(PLAYER) == PLAYER
    with pytest.raises(ApiError) as err:
        server.target(None)
    assert err.value.status == 422
    assert server.scope(PLAYER) == f"admin:{PLAYER}"
    assert Principal(player_id=PLAYER).scope(PLAYER) == PLAYER
