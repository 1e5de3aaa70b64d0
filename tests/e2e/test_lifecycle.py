"""Starting, refusing a bad token, shutting down, and reaching Discord through proxy URLs.

Each test runs a bot process of its own: these scenarios are about the process itself.
"""

from __future__ import annotations

import re
import signal
from pathlib import Path

import pytest

from tests.fakediscord import FakeDiscord
from tests.payloads import CHANNEL_MESSAGE

from .conftest import (
    STEP,
    TOKEN,
    BotProcess,
    bot_process,
    in_guild,
    wait_for_log,
)

pytestmark = pytest.mark.asyncio(loop_scope="module")

PRIVILEGED_INTENTS = (1 << 1) | (1 << 8) | (1 << 15)  # members, presences, message content
READY_LOG = r"bot\.discord_app\.client: ready as "
CLOSED_LOG = r"closed the gateway, the HTTP session and the database"


def command_writes(fake: FakeDiscord) -> list[str]:
    """Every request that would change the application's registered commands."""
    return [f"{r.method} {r.path}" for r in fake.requests
            if re.search(r"/applications/\d+/(guilds/\d+/)?commands", r.path)
            and r.method in ("PUT", "POST", "PATCH", "DELETE")]


async def test_start_logs_in_with_the_bot_token_and_identifies_without_privileged_intents(
        fake: FakeDiscord, bot: BotProcess) -> None:
    login = fake.requests[0]
    assert (login.method, login.path) == ("GET", "/users/@me")
    assert login.headers.get("Authorization") == f"Bot {TOKEN}"
    assert login.status == 200
    assert fake.identifies == 1 and fake.readies == 1
    [identify] = [f for f in fake.gateway_received if f["op"] == 2]
    assert identify["d"]["token"] == TOKEN
    assert identify["d"]["shard"] == [0, 1]
    assert identify["d"]["intents"] & PRIVILEGED_INTENTS == 0


async def test_start_never_syncs_commands(fake: FakeDiscord, bot: BotProcess) -> None:
    # on_ready comes guild_ready_timeout (2 s) after READY; a sync "on start" would be in
    # setup_hook (before READY) or on_ready, so watch for a second after on_ready.
    await wait_for_log(fake, bot, READY_LOG, STEP)
    with pytest.raises(TimeoutError):
        await fake.wait_until(lambda: bool(command_writes(fake)), 1.0, "a command sync")
    assert command_writes(fake) == []
    assert fake.global_commands == [] and fake.guild_commands == {}


@pytest.mark.parametrize("how", ["revoked token", "wrong token"])
async def test_refused_token_exits_non_zero_at_once_with_one_line_that_hides_the_token(
        fake: FakeDiscord, tmp_path: Path, tmp_data: Path, how: str) -> None:
    token = TOKEN
    if how == "revoked token":
        fake.reject_token = True
    else:
        token = "MTE5OTk5OTk5OTk5OTk5OTk5OQ.Gwrong.not-the-token-discord-knows-abcdefghij"
    async with bot_process(fake, tmp_path / "bot", tmp_data, token=token, start=False) as bot:
        await bot.spawn()
        result = await bot.wait_exit(STEP)

    assert result.returncode != 0, bot.output()
    assert result.seconds < 8, f"took {result.seconds:.1f}s to give up"
    errors = [line for line in bot.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, bot.output()
    assert "token" in errors[0].lower() and "401" in errors[0], errors[0]
    for text in (bot.stderr, bot.stdout, bot.log):
        assert token not in text
        assert TOKEN not in text
    assert "Traceback" not in bot.stderr, bot.output()
    assert fake.identifies == 0


async def test_token_revoked_while_running_exits_non_zero_saying_the_token_was_refused(
        fake: FakeDiscord, bot: BotProcess) -> None:
    fake.reject_token = True
    await fake.close_sessions(4004)
    result = await bot.wait_exit(STEP)

    assert result.returncode != 0, bot.output()
    errors = [line for line in bot.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, bot.output()
    assert TOKEN not in bot.stderr + bot.stdout + bot.log
    assert "token" in errors[0].lower(), errors[0]


async def test_sigterm_ends_the_process_cleanly_and_closes_the_gateway(
        fake: FakeDiscord, bot: BotProcess) -> None:
    assert fake.stats()["live_connections"] == 1
    result = await bot.stop(signal.SIGTERM)

    assert not result.killed and result.returncode == 0, bot.output()
    assert result.seconds < 5
    assert "SIGTERM received: shutting down" in bot.log
    stats = fake.stats()
    assert stats["live_connections"] == 0
    # The fake ends a session only when the client closes with 1000/1001 (a dropped TCP
    # connection or a crash would leave it resumable): the bot said goodbye properly.
    assert stats["sessions"] == 0, stats
    assert "Traceback" not in bot.stderr, bot.output()


async def test_sigterm_logs_that_the_database_was_closed(
        fake: FakeDiscord, bot: BotProcess) -> None:
    result = await bot.stop(signal.SIGTERM)
    assert result.returncode == 0 and not result.killed
    assert re.search(CLOSED_LOG, bot.log), bot.log[-3000:]


async def test_sigint_also_ends_the_process_with_exit_code_0(
        fake: FakeDiscord, bot: BotProcess) -> None:
    result = await bot.stop(signal.SIGINT)
    assert not result.killed and result.returncode == 0, bot.output()
    assert "SIGINT received: shutting down" in bot.log
    assert fake.stats()["sessions"] == 0


async def test_api_base_with_a_trailing_slash_works(
        fake: FakeDiscord, tmp_path: Path, tmp_data: Path) -> None:
    async with bot_process(fake, tmp_path / "bot", tmp_data,
                           api_base=fake.rest_base + "/") as bot:
        payload = in_guild("who", {"name": "Bukele"})
        body = await fake.interact(payload, STEP)
        assert body["type"] == CHANNEL_MESSAGE
        assert bot.running
    assert [r.path for r in fake.requests[:2]] == ["/users/@me", "/oauth2/applications/@me"]
    assert all("//" not in r.path and r.status < 400 for r in fake.requests), [
        (r.method, r.path, r.status) for r in fake.requests]
