"""Owner tools over Discord: publishing the commands, reloading the data, refusing others.

Each test has a bot process of its own: syncs share a 30 s cooldown and reloads change the
data the bot serves.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from tests import payloads as P
from tests.briefing_data import BRIEFING_NAME
from tests.discord_limits import shown_text
from tests.fakediscord import FakeDiscord
from tests.payloads import CHANNEL_MESSAGE, DEFERRED_CHANNEL_MESSAGE, EPHEMERAL

from .conftest import (
    COMMANDS,
    OWNER,
    STEP,
    BotProcess,
    Json,
    in_dm,
    in_guild,
    wait_for_log,
)

pytestmark = pytest.mark.asyncio(loop_scope="module")

GLOBAL_ROUTE = rf"^/applications/{P.APPLICATION_ID}/commands$"
GUILD_ROUTE = rf"^/applications/{P.APPLICATION_ID}/guilds/{P.DEFAULT_GUILD_ID}/commands$"

OLD_WORDS = "President of El Salvador. He announced"
NEW_WORDS = "Edited by the e2e test. He announced"


async def owner_admin(fake: FakeDiscord, subcommand: str, options: dict[str, str],
                      *, dm: bool = False) -> tuple[Json, Json]:
    """Run /admin <subcommand> as the owner; return the deferral and the (one) followup."""
    make = in_dm if dm else in_guild
    payload = make("admin", options, subcommand=subcommand, user=OWNER)
    deferral = await fake.interact(payload, STEP)
    await fake.wait_until(lambda: bool(fake.followups_for(payload["id"])), STEP,
                          f"the /admin {subcommand} answer")
    [followup] = fake.followups_for(payload["id"])
    return deferral, followup


def assert_private(deferral: Json, followup: Json) -> None:
    assert deferral["type"] == DEFERRED_CHANNEL_MESSAGE, deferral
    assert int(deferral["data"].get("flags") or 0) & EPHEMERAL, "the deferral must be ephemeral"
    assert int(followup.get("flags") or 0) & EPHEMERAL, "the answer must be ephemeral"


def put_requests(fake: FakeDiscord, route: str) -> list[Any]:
    """The JSON bodies of the accepted PUTs to a route."""
    return [r.json for r in fake.requests
            if r.method == "PUT" and re.search(route, r.path) and r.status == 200]


def assert_every_command_everywhere(commands: list[Json]) -> None:
    """Member commands everywhere; /admin for server administrators in servers only."""
    assert {c["name"] for c in commands} == COMMANDS
    for command in commands:
        if command["name"] == "admin":
            assert command.get("contexts") == [0], command
            assert command.get("integration_types") == [0], command
            assert int(command.get("default_member_permissions") or 0) == 8, command
            continue
        if command["name"] in ("follow", "unfollow"):  # Manage Server, in servers
            assert command.get("contexts") == [0], command
            assert int(command.get("default_member_permissions") or 0) == 1 << 5, command
            continue
        assert sorted(command.get("contexts") or []) == [0, 1, 2], command
        assert sorted(command.get("integration_types") or []) == [0, 1], command
        assert command.get("default_member_permissions") is None, command


async def who_bukele(fake: FakeDiscord) -> str:
    body = await fake.interact(in_guild("who", {"name": "Bukele"}), STEP)
    assert body["type"] == CHANNEL_MESSAGE
    return shown_text(body["data"])


# --------------------------------------------------------------------------- sync


async def test_owner_global_sync_publishes_every_command_for_servers_dms_and_user_installs(
        fake: FakeDiscord, bot: BotProcess) -> None:
    deferral, answer = await owner_admin(fake, "sync", {"scope": "global"})

    assert_private(deferral, answer)
    [commands] = put_requests(fake, GLOBAL_ROUTE)
    assert_every_command_everywhere(commands)
    assert put_requests(fake, r"/guilds/") == []
    text = shown_text(answer)
    assert f"{len(COMMANDS)} command(s) synced" in text and "global" in text, text
    assert "Added: " + ", ".join(sorted(COMMANDS)) in text, text
    assert {c["name"] for c in fake.global_commands} == COMMANDS


async def test_a_second_sync_within_the_cooldown_is_refused_and_sends_nothing(
        fake: FakeDiscord, bot: BotProcess) -> None:
    await owner_admin(fake, "sync", {"scope": "global"})
    deferral, answer = await owner_admin(fake, "sync", {"scope": "guild"})

    assert_private(deferral, answer)
    assert "cooling down" in shown_text(answer).lower(), shown_text(answer)
    assert len(put_requests(fake, GLOBAL_ROUTE)) == 1
    assert put_requests(fake, GUILD_ROUTE) == []


async def test_owner_guild_sync_in_a_server_publishes_to_that_server(
        fake: FakeDiscord, bot: BotProcess) -> None:
    deferral, answer = await owner_admin(fake, "sync", {"scope": "guild"})

    assert_private(deferral, answer)
    [commands] = put_requests(fake, GUILD_ROUTE)
    assert_every_command_everywhere(commands)
    assert put_requests(fake, GLOBAL_ROUTE) == []
    text = shown_text(answer)
    assert f"synced to guild {P.DEFAULT_GUILD_ID}" in text, text
    assert "Added: " in text
    assert {c["name"] for c in fake.guild_commands[P.DEFAULT_GUILD_ID]} == COMMANDS


# --------------------------------------------------------------------------- reload


def edit_briefing(data_dir: Path, old: str, new: str) -> Path:
    path = data_dir / "briefings" / BRIEFING_NAME
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, f"{old!r} is not unique in the briefing"
    path.write_text(text.replace(old, new), encoding="utf-8")
    return path


async def test_owner_reload_makes_the_changed_file_visible_to_the_next_answer(
        fake: FakeDiscord, bot: BotProcess, tmp_data: Path) -> None:
    assert OLD_WORDS in await who_bukele(fake)
    edit_briefing(tmp_data, OLD_WORDS, NEW_WORDS)
    assert OLD_WORDS in await who_bukele(fake), "the file alone must not change answers"

    deferral, answer = await owner_admin(fake, "reload", {"what": "data"})

    assert_private(deferral, answer)
    assert "Data reloaded" in shown_text(answer), shown_text(answer)
    after = await who_bukele(fake)
    assert NEW_WORDS in after and OLD_WORDS not in after


async def test_owner_reload_of_a_broken_file_lists_located_errors_and_keeps_the_old_data(
        fake: FakeDiscord, bot: BotProcess, tmp_data: Path) -> None:
    before = await who_bukele(fake)
    path = edit_briefing(tmp_data, "    name: Nayib Bukele\n", "    name: [Nayib Bukele\n")
    broken_line = path.read_text(encoding="utf-8").splitlines().index("    name: [Nayib Bukele") + 1

    deferral, answer = await owner_admin(fake, "reload", {"what": "data"})

    assert_private(deferral, answer)
    text = shown_text(answer)
    assert "Reload refused" in text, text
    located = [int(n) for n in re.findall(rf"{re.escape(BRIEFING_NAME)}:(\d+)", text)]
    assert located, f"no file:line in the answer: {text}"
    assert all(broken_line <= n <= broken_line + 2 for n in located), (broken_line, located)
    assert "YAML" in text
    assert await who_bukele(fake) == before


async def test_owner_reload_from_a_dm_works_too(
        fake: FakeDiscord, bot: BotProcess, tmp_data: Path) -> None:
    edit_briefing(tmp_data, OLD_WORDS, NEW_WORDS)
    deferral, answer = await owner_admin(fake, "reload", {"what": "data"}, dm=True)
    assert_private(deferral, answer)
    assert NEW_WORDS in await who_bukele(fake)


@pytest.mark.parametrize(("subcommand", "options"),
                         [("reload", {"what": "data"}), ("sync", {"scope": "global"})])
async def test_non_owner_admin_is_refused_privately_and_changes_nothing(
        fake: FakeDiscord, bot: BotProcess, tmp_data: Path,
        subcommand: str, options: dict[str, str]) -> None:
    edit_briefing(tmp_data, OLD_WORDS, NEW_WORDS)
    stranger = P.user()
    payload = in_guild("admin", options, subcommand=subcommand, user=stranger, admin=True)

    body = await fake.interact(payload, STEP)

    assert body["type"] == CHANNEL_MESSAGE, body
    assert int(body["data"].get("flags") or 0) & EPHEMERAL
    assert "Only the bot's owners" in shown_text(body["data"])
    await wait_for_log(fake, bot, rf"refused /admin {subcommand} for user {stranger['id']}")
    answer = await who_bukele(fake)
    assert OLD_WORDS in answer and NEW_WORDS not in answer
    assert put_requests(fake, r"/commands$") == []
    assert fake.followups_for(payload["id"]) == []
