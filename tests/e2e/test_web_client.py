"""The web client in headless Chromium (Debian's, driven by Playwright) against a real
``gamebackend serve``: sign in as a guest, see the wallet, buy an item, post a score, watch the
leaderboard, the wallet and presence move live, queue for a match and get one.

Screenshots the page into the test's tmp dir; with ``UPDATE_SCREENSHOTS=1`` it also replaces
docs/img/web-client.png (the README's screenshot), which otherwise stays untouched.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets

pytestmark = pytest.mark.e2e

CHROMIUM = "/usr/bin/chromium"
FLAGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]  # fmt: skip
ADMIN = {"X-Admin-Key": "web-admin-key"}
SCREENSHOT = Path(__file__).resolve().parents[2] / "docs" / "img" / "web-client.png"
# Only a deliberate run rewrites the committed image: ordinary runs leave the tree clean.
UPDATE_SCREENSHOTS = os.environ.get("UPDATE_SCREENSHOTS") == "1"


@pytest.fixture(scope="module")
def backend(
    embedded_servers: Callable[[str], Any],
    gamebackend_env: Callable[..., dict[str, str]],
    session_processes: Any,
) -> str:
    """``gamebackend serve`` on embedded PostgreSQL and Redis of its own (the shared server
    fixtures of tests/_servers.py), stopped at the end of the session."""
    env = gamebackend_env(
        embedded_servers("web"),
        GAMEBACKEND_ADMIN_KEY=ADMIN["X-Admin-Key"],
        GAMEBACKEND_MM_TICK="0.1",
    )
    return str(session_processes.backend(env).url)


def _player(http: httpx.Client) -> dict[str, str]:
    made = http.post("/v1/players", json={"name": "rival"})
    assert made.status_code == 201
    return dict(made.json())


async def test_web_client_live_in_chromium(backend: str, tmp_path: Path) -> None:
    assert shutil.which(CHROMIUM), "Debian's chromium is missing (scripts/system-deps.sh)"
    from playwright.async_api import async_playwright, expect

    committed = SCREENSHOT.read_bytes() if SCREENSHOT.exists() else None
    shot = tmp_path / "web-client.png"
    http = httpx.Client(base_url=backend, timeout=30)
    rival = _player(http)
    rival_auth = {"Authorization": f"Bearer {rival['token']}"}
    errors: list[str] = []
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
        try:
            page = await browser.new_page(viewport={"width": 1280, "height": 900})
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            await page.goto(backend + "/")
            await expect(page.get_by_test_id("socket")).to_have_text("offline")

            # Sign in as a guest: a wallet with the welcome coins, a live socket.
            await page.fill("#name", "ada")
            await page.get_by_test_id("guest").click()
            await expect(page.get_by_test_id("whoami")).to_contain_text("Playing as ada")
            await expect(page.get_by_test_id("coins")).to_have_text("500")
            await expect(page.get_by_test_id("socket")).to_have_text("live")
            await expect(page.get_by_test_id("presence")).to_have_text("1 online")

            # Buy an item: the wallet and the inventory change.
            await page.get_by_test_id("buy-sword").click()
            await expect(page.get_by_test_id("coins")).to_have_text("250")
            await expect(page.get_by_test_id("inventory")).to_contain_text("sword ×1")

            # A game server credits the player: the wallet moves with no reload.
            me = await page.evaluate("state.player")
            body = {"currency": "coins", "amount": 75, "player_id": me}
            credit = http.post("/v1/wallet/transactions", json=body,
                               headers={**ADMIN, "Idempotency-Key": str(uuid.uuid4())})  # fmt: skip
            assert credit.status_code == 201
            await expect(page.get_by_test_id("coins")).to_have_text("325")

            # Post a score, then watch a rival overtake it live.
            await page.fill("[data-testid=score-input]", "4242")
            await page.get_by_test_id("post-score").click()
            board = page.get_by_test_id("leaderboard")
            await expect(board.locator("tr.me")).to_contain_text("4242")
            await expect(page.get_by_test_id("board-note")).to_contain_text("Your rank: 1")
            score = {"score": 9999, "submission_id": uuid.uuid4().hex}
            posted = http.post(
                "/v1/leaderboards/high_scores/scores", json=score, headers=rival_auth
            )
            assert posted.status_code == 201
            await expect(board.locator("tr").first).to_contain_text("9999")
            await expect(board.locator("tr.me")).to_contain_text("2")
            await expect(page.get_by_test_id("board-note")).to_contain_text("Your rank: 2")

            # Someone else comes online.
            async with websockets.connect(
                backend.replace("http", "ws") + f"/v1/ws?token={rival['token']}"
            ) as rival_ws:
                await rival_ws.send('{"type": "subscribe", "payload": {"topic": "presence:lobby"}}')
                await expect(page.get_by_test_id("presence")).to_have_text("2 online")

                # Queue for a match; the rival queues too; the page hears match.found.
                await page.get_by_test_id("find-match").click()
                await expect(page.get_by_test_id("mm-status")).to_contain_text("Searching in eu")
                ticket = {"mode": "duel", "regions": {"eu": 20}, "mmr": 1520}
                queued = http.post("/v1/matchmaking/tickets", json=ticket, headers=rival_auth)
                assert queued.status_code == 201
                await expect(page.get_by_test_id("mm-status")).to_contain_text(
                    "Match found in eu", timeout=15_000
                )
                await expect(page.get_by_test_id("events")).to_contain_text("match.found")
                await page.screenshot(path=str(shot), full_page=True)
            await expect(page.get_by_test_id("presence")).to_have_text("1 online")
        finally:
            await browser.close()
            http.close()
    assert errors == []
    assert shot.stat().st_size > 10_000
    if UPDATE_SCREENSHOTS:
        SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(shot, SCREENSHOT)
        assert SCREENSHOT.read_bytes() == shot.read_bytes()
    else:
        now = SCREENSHOT.read_bytes() if SCREENSHOT.exists() else None
        assert now == committed, "docs/img/web-client.png changes only with UPDATE_SCREENSHOTS=1"
