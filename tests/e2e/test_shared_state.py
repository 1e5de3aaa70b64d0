"""Settings shared by two bot processes through Redis (SHARD_COUNT=2, SHARD_IDS=0 and 1).

A reload that changes a followed story, sent through one process, reaches both; each channel
gets exactly one "what's new", posted by the process that runs its server's shard. A story
set through one process is what another process (a replacement on a machine of its own, with
no files from the first) answers with, and the changes either process recorded are what both
show.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

from tests import payloads as P
from tests.discord_limits import assert_pings_nobody, assert_valid, shown_text
from tests.fakediscord import FakeDiscord, Recorded
from tests.test_stories import BRIDGE, FLOOD, TITLES, add_stories, change_the_flood

from .conftest import START_TIMEOUT, STEP, BotProcess, Json, bot_process, wait_for_log
from .test_many_processes import SHARDS, Deployment, configure, two_processes

pytestmark = pytest.mark.asyncio(loop_scope="module")

MANAGE_GUILD = 1 << 5  # https://discord.com/developers/docs/topics/permissions
ANNOUNCED = r"what's new: \d+ change\(s\) recorded here"


def manager() -> Json:
    return P.member(P.user(), permissions=str(MANAGE_GUILD))


def channel_of(guild: Json) -> str:
    return str(P.text_channels(guild)[0]["id"])


def posts_to(fake: FakeDiscord, channel: str) -> list[Recorded]:
    """The messages the bot posted in a channel by itself (not answers to a command)."""
    return [r for r in fake.requests if r.status and r.method == "POST"
            and r.path == f"/channels/{channel}/messages"]


async def announced(fake: FakeDiscord, bot: BotProcess, times: int) -> None:
    """Wait until the process has finished its `times`-th round of what's new."""
    await fake.wait_until(lambda: len(re.findall(ANNOUNCED, bot.log)) >= times, STEP,
                          f"what's new round {times} in {bot.workdir.name}")


async def command(deployment: Deployment, shard: int, name: str, options: dict[str, str],
                  subcommand: str, **where: object) -> str:
    """/<name> <subcommand> in shard `shard`'s server (default: a member without rights);
    the text of the first answer, checked as Discord would take it."""
    body = await deployment.fake.interact(P.slash_interaction(
        name, options, subcommand=subcommand, guild=deployment.guilds[shard],
        **where), STEP)  # type: ignore[arg-type]
    assert_valid([body["data"]])
    assert_pings_nobody([body["data"]])
    return shown_text(body["data"])


async def story_named(deployment: Deployment, shard: int, **where: object) -> str:
    body = await deployment.ask(shard, "who", **where)  # type: ignore[arg-type]
    embeds = body["data"].get("embeds") or []
    return str(embeds[0].get("author", {}).get("name", "")).removeprefix("📰 ")


@pytest_asyncio.fixture(loop_scope="module")
async def deployment(tmp_path: Path, tmp_data: Path) -> AsyncIterator[Deployment]:
    """Two bot processes, one per shard, sharing one Redis; three stories."""
    add_stories(tmp_data, FLOOD, BRIDGE)
    async with two_processes(tmp_path, tmp_data) as made:
        for bot in made.bots:
            await announced(made.fake, bot, 1)  # at start: the stories' first versions recorded
        yield made


async def test_a_changing_reload_posts_once_per_channel_from_the_process_of_its_server(
        deployment: Deployment) -> None:
    fake, bots = deployment.fake, deployment.bots
    channels = [channel_of(guild) for guild in deployment.guilds]
    for shard, channel in enumerate(channels):
        followed = await command(deployment, shard, "follow", {"story": FLOOD}, "add",
                                 member=manager(), channel_id=channel)
        assert "Following" in followed, followed

    change_the_flood(deployment.data)
    text = await deployment.admin(0, "reload", {"what": "data"})
    assert "2 processes, 2 shards: 2 reloaded" in text, text

    for bot in bots:
        await announced(fake, bot, 2)  # both have done what's new for this reload
    for shard, channel in enumerate(channels):
        (post,) = posts_to(fake, channel)  # exactly one in each channel
        assert_valid([post.json])
        assert_pings_nobody([post.json])
        shown = shown_text(post.json)
        assert TITLES[FLOOD] in shown and "7 November 2026" in shown, shown
        # ... posted by the process that runs the channel's server, and by no other
        posted_by = [b for b in bots if f"posted what's new in {FLOOD} to channel {channel}"
                     in b.log]
        assert posted_by == [bots[shard]], [b.workdir.name for b in posted_by]

    text = await deployment.admin(1, "reload", {"what": "data"})  # nothing changed
    assert "2 reloaded" in text, text
    for bot in bots:
        await announced(fake, bot, 3)
    assert [len(posts_to(fake, c)) for c in channels] == [1, 1], "one message per version"

    # The change was recorded once, by one process, and both show it.
    for shard in range(SHARDS):
        shown = await command(deployment, shard, "story", {"story": FLOOD}, "changes")
        assert "1.0" in shown and "1.1" in shown and "7 November 2026" in shown, shown


async def test_a_story_set_through_one_process_is_what_another_answers_with(
        deployment: Deployment, tmp_path: Path) -> None:
    fake = deployment.fake
    assert await story_named(deployment, 1) != TITLES[BRIDGE]
    done = await command(deployment, 1, "story", {"story": BRIDGE, "scope": "server"}, "set",
                         member=manager())
    assert "Story set" in done, done
    assert await story_named(deployment, 1) == TITLES[BRIDGE]

    # Shard 1 moves to a new process on another machine: none of the first one's files.
    await deployment.bots[1].stop()
    async with bot_process(fake, tmp_path / "replacement", deployment.data,
                           start=False) as replacement:
        configure(replacement, 1, deployment.redis)
        await replacement.spawn()
        await wait_for_log(fake, replacement, r"ready as ", START_TIMEOUT)
        assert await story_named(deployment, 1) == TITLES[BRIDGE]
        assert await story_named(deployment, 0) != TITLES[BRIDGE], "set for one server only"
