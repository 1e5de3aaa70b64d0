"""Stories over the wire: /story set survives a restart of the bot process."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests import payloads as P
from tests.fakediscord import FakeDiscord
from tests.test_stories import BUNDLED, FLOOD, TITLES, add_stories

from .conftest import bot_process, in_guild

pytestmark = pytest.mark.asyncio(loop_scope="module")

MANAGE_GUILD = 1 << 5


def story_named(body: dict) -> str:
    embeds = body["data"].get("embeds") or []
    return embeds[0].get("author", {}).get("name", "").removeprefix("📰 ") if embeds else ""


async def test_story_set_is_refused_without_manage_server_and_survives_a_restart(
        fake: FakeDiscord, tmp_path: Path, tmp_data: Path) -> None:
    add_stories(tmp_data, FLOOD)
    workdir = tmp_path / "run"  # the same DB_PATH, so the same settings file beside it
    async with bot_process(fake, workdir, tmp_data) as first:
        await first.serving()
        assert story_named(await fake.interact(in_guild("who"), 30)) == TITLES[FLOOD]
        refused = await fake.interact(in_guild(
            "story", {"story": BUNDLED, "scope": "server"}, subcommand="set",
            member=P.member(P.user())), 30)
        assert "Manage Server" in str(refused["data"])
        await fake.interact(in_guild(
            "story", {"story": BUNDLED, "scope": "server"}, subcommand="set",
            member=P.member(P.user(), permissions=str(MANAGE_GUILD))), 30)
        assert story_named(await fake.interact(in_guild("who"), 30)) == TITLES[BUNDLED]
    async with bot_process(fake, workdir, tmp_data) as second:
        await second.serving()
        assert story_named(await fake.interact(in_guild("who"), 30)) == TITLES[BUNDLED]
