"""/story and /follow on the real command tree: who may set a story, and what's new posted."""

from __future__ import annotations

from pathlib import Path

from tests import payloads as P
from tests.discord_limits import assert_pings_nobody, assert_valid, texts
from tests.harness import Harness
from tests.test_stories import BRIDGE, BUNDLED, FLOOD, TITLES, add_stories, change_the_flood

MANAGE_GUILD = 1 << 5  # https://discord.com/developers/docs/topics/permissions


def manager() -> dict:
    return P.member(P.user(), permissions=str(MANAGE_GUILD))


async def ask_who(harness: Harness, **where: object) -> str:
    calls = await harness.slash(P.slash_interaction("who", **where))  # type: ignore[arg-type]
    names = {e["author"]["name"] for c in calls for e in c.embeds if e.get("author")}
    return names.pop().removeprefix("📰 ") if len(names) == 1 else str(names)


async def test_story_set_by_server_and_channel_and_refused_without_manage_server(
        tmp_data: Path, db_path: Path) -> None:
    add_stories(tmp_data, FLOOD, BRIDGE)
    channel = 987654321098765432  # another channel than the default one
    async with Harness.start(tmp_data, db_path) as harness:
        assert await ask_who(harness, member=P.member(P.user())) == TITLES[FLOOD]  # the latest
        refused = await harness.slash(P.slash_interaction(
            "story", {"story": BUNDLED, "scope": "server"}, subcommand="set",
            member=P.member(P.user())))
        assert "Manage Server" in texts([c.body for c in refused])
        assert await ask_who(harness, member=P.member(P.user())) == TITLES[FLOOD]
        await harness.slash(P.slash_interaction(
            "story", {"story": BUNDLED, "scope": "server"}, subcommand="set", member=manager()))
        assert await ask_who(harness, member=P.member(P.user())) == TITLES[BUNDLED]
        await harness.slash(P.slash_interaction(
            "story", {"story": BRIDGE, "scope": "channel"}, subcommand="set", member=manager(),
            channel_id=channel))
        assert await ask_who(harness, member=P.member(P.user()),
                             channel_id=channel) == TITLES[BRIDGE]
        # In a DM, /story set is the user's own choice.
        me = P.user()
        await harness.slash(P.slash_interaction("story", {"story": BRIDGE}, subcommand="set",
                                                dm=True, user=me))
        assert await ask_who(harness, dm=True, user=me) == TITLES[BRIDGE]
    # A new process on the same files keeps them.
    async with Harness.start(tmp_data, db_path) as again:
        assert await ask_who(again, member=P.member(P.user())) == TITLES[BUNDLED]
        assert await ask_who(again, member=P.member(P.user()),
                             channel_id=channel) == TITLES[BRIDGE]


async def test_a_changing_reload_posts_one_whats_new_and_an_unchanged_one_nothing(
        tmp_data: Path, db_path: Path) -> None:
    add_stories(tmp_data, FLOOD, BRIDGE)
    channel = P.text_channels(P.default_guild())[0]["id"]
    async with Harness.start(tmp_data, db_path) as harness:
        stories = harness.bot.get_cog("Stories")
        assert await stories.announce_changes() == 0  # type: ignore[union-attr]  # baseline
        await harness.slash(P.slash_interaction(
            "follow", {"story": FLOOD}, subcommand="add", member=manager(), channel_id=channel))

        def posts() -> list:
            return [c for c in harness.calls if c.name == "POST /channels/{channel_id}/messages"]

        await harness.slash(P.owner_reload())
        assert posts() == []  # nothing changed, nothing said
        change_the_flood(tmp_data)
        await harness.slash(P.owner_reload())
        await harness.wait_for(lambda calls: len(posts()) >= 1)
        (post,) = posts()
        assert_valid([post.body])
        assert_pings_nobody([post.body])
        shown = texts([post.body])
        assert TITLES[FLOOD] in shown and "7 November 2026" in shown
        assert "attributed → **confirmed**" in shown
        await harness.slash(P.owner_reload())
        assert len(posts()) == 1  # one message per version


async def test_a_restart_posts_no_news_twice_nor_to_a_channel_that_followed_after_it(
        tmp_data: Path, db_path: Path) -> None:
    add_stories(tmp_data, FLOOD)
    first, later = (c["id"] for c in P.text_channels(P.default_guild())[:2])

    def posts(harness: Harness) -> list:
        return [c for c in harness.calls if c.name == "POST /channels/{channel_id}/messages"]

    async with Harness.start(tmp_data, db_path) as harness:
        stories = harness.bot.get_cog("Stories")
        await stories.announce_changes()  # type: ignore[union-attr]  # the baseline
        await harness.slash(P.slash_interaction(
            "follow", {"story": FLOOD}, subcommand="add", member=manager(), channel_id=first))
        change_the_flood(tmp_data)
        await harness.slash(P.owner_reload())
        await harness.wait_for(lambda calls: len(posts(harness)) >= 1)
        await harness.slash(P.slash_interaction(
            "follow", {"story": FLOOD}, subcommand="add", member=manager(), channel_id=later))
    async with Harness.start(tmp_data, db_path) as again:  # a new process, the same files
        stories = again.bot.get_cog("Stories")
        assert await stories.announce_changes() == 0  # type: ignore[union-attr]
        assert posts(again) == []
