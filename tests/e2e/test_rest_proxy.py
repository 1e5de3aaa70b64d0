"""The bot behind a real REST rate-limit proxy: `@discordjs/proxy` (tests/package.json), run by
tests/proxy/server.mjs with the fake Discord as its upstream, the bot's DISCORD_API_BASE on it.

The bot logs in and answers slash commands through the proxy, every REST request reaches the
fake through it, and a 429 from the fake is waited out by the proxy: the bot never sees it.
The gateway does not go through a REST proxy; the bot connects to the fake's directly.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

from tests.briefing_data import REPO
from tests.discord_limits import assert_pings_nobody, assert_valid, shown_text
from tests.fakediscord import FakeDiscord
from tests.payloads import CHANNEL_MESSAGE

from .conftest import (
    ACCEPTED,
    STEP,
    BotProcess,
    bot_process,
    callback_requests,
    in_guild,
    wait_for_log,
)

pytestmark = pytest.mark.asyncio(loop_scope="module")

TESTS = REPO / "tests"
SCRIPT = TESTS / "proxy" / "server.mjs"
#: How @discordjs/rest introduces itself upstream; discord.py says "DiscordBot (...discord.py".
PROXY_AGENT = "discord.js"


def require_proxy() -> str:
    """node, with the pinned packages installed; fail in CI, skip elsewhere, when missing."""
    node = shutil.which("node")
    installed = (TESTS / "node_modules" / "@discordjs" / "proxy" / "package.json").is_file()
    if node is None or not installed:
        message = ("the REST proxy needs node and `npm ci --prefix tests` (.ci/run does both): "
                   + ("node is not installed" if node is None else "tests/node_modules is missing"))
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    return node


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def proxy(module_fake: FakeDiscord,
                tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[str]:
    """The proxy in front of the fake; yields the REST base URL the bot is given."""
    node = require_proxy()
    log = tmp_path_factory.mktemp("proxy") / "proxy.log"
    with log.open("wb") as errors:
        process = await asyncio.create_subprocess_exec(
            node, str(SCRIPT), module_fake.http_base, "0", cwd=TESTS,
            stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE, stderr=errors)
    try:
        assert process.stdout is not None
        line = await asyncio.wait_for(process.stdout.readline(), STEP)
        match = re.fullmatch(rb"listening on (\d+)\s*", line)
        assert match, f"the proxy did not start: {line!r}\n{log.read_text(errors='replace')}"
        yield f"http://127.0.0.1:{int(match.group(1))}/api/v10"
    finally:
        with contextlib.suppress(ProcessLookupError):
            process.terminate()
        await asyncio.wait_for(process.wait(), STEP)


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def proxied_bot(module_fake: FakeDiscord, proxy: str, module_data: Path,
                      tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[BotProcess]:
    """The bot with DISCORD_API_BASE on the proxy (and the gateway on the fake directly)."""
    async with bot_process(module_fake, tmp_path_factory.mktemp("bot"), module_data,
                           api_base=proxy) as process:
        await process.serving()
        yield process


def agents(fake: FakeDiscord, path: str) -> list[str]:
    return [r.headers.get("User-Agent", "") for r in fake.requests if re.search(path, r.path)]


async def test_the_bot_logs_in_through_the_proxy(module_fake: FakeDiscord,
                                                 proxied_bot: BotProcess) -> None:
    assert proxied_bot.env["DISCORD_API_BASE"] != module_fake.rest_base
    logins = agents(module_fake, r"^/users/@me$")
    assert logins and all(PROXY_AGENT in agent for agent in logins), logins
    assert module_fake.readies >= 1


async def test_slash_commands_are_answered_through_the_proxy(
        module_fake: FakeDiscord, proxied_bot: BotProcess) -> None:
    payload = in_guild("who", {"name": "Bukele"})

    body = await module_fake.interact(payload, STEP)

    assert body["type"] == CHANNEL_MESSAGE
    assert_valid([body["data"]])
    assert_pings_nobody([body["data"]])
    assert "Nayib Bukele" in shown_text(body["data"])
    callbacks = agents(module_fake, rf"^/interactions/{payload['id']}/")
    assert callbacks and all(PROXY_AGENT in agent for agent in callbacks), callbacks


async def test_every_rest_request_reached_discord_through_the_proxy(
        module_fake: FakeDiscord, proxied_bot: BotProcess) -> None:
    await module_fake.interact(in_guild("about"), STEP)
    everything = [r.headers.get("User-Agent", "") for r in module_fake.requests]
    assert everything and all(PROXY_AGENT in agent for agent in everything), set(everything)


async def test_a_429_from_discord_is_waited_out_by_the_proxy_not_the_bot(
        module_fake: FakeDiscord, proxied_bot: BotProcess) -> None:
    payload = in_guild("who", {"name": "Bukele"})
    route = rf"/interactions/{payload['id']}/"
    module_fake.fail_next("POST", route, status=429, retry_after=0.2)

    body = await module_fake.interact(payload, STEP)

    assert body["type"] == CHANNEL_MESSAGE
    assert callback_requests(module_fake, payload["id"]) == [429, ACCEPTED], "the fake sent a 429"
    # What the bot itself got back for that callback (bot/discord_app/callback.py logs each
    # status at DEBUG, just after the answer arrives: wait for the line).
    returned = rf"interaction {payload['id']} callback returned status code (\d+)"
    await wait_for_log(module_fake, proxied_bot, returned)
    seen = re.findall(returned, proxied_bot.log)
    # One success and never the 429 (204: the answer did not ask for the message back).
    assert seen == ["204"], (seen, proxied_bot.log[-3000:])
