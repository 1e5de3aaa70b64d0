"""Guilds are cached without what the bot never reads, and it still answers in them.

discord.py caches every channel, role and member of a GUILD_CREATE; BriefingBot trims the
payload first (bot.discord_app.state.TrimmedState). These tests feed a realistic GUILD_CREATE
through discord.py's own gateway parser and check what is kept.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, cast

import discord

import cogs
from bot.discord_app.client import BriefingBot
from bot.settings import Settings
from tests import payloads as P


def make_bot(tmp_path: Path) -> BriefingBot:
    settings = Settings.from_env({"DB_PATH": str(tmp_path / "db.sqlite3")}, dotenv=False)
    bot = BriefingBot(settings, cogs.extensions)
    state = bot._connection
    state.user = discord.user.ClientUser(state=state, data=cast(Any, P.bot_user()))
    return bot


def test_a_guild_is_cached_without_channels_roles_or_other_members(tmp_path: Path) -> None:
    bot = make_bot(tmp_path)
    me = P.member(user=P.bot_user())
    payload = P.guild(channels=20, roles=10, members=[me, P.member(), P.member()])
    assert len(payload["channels"]) == 20 and len(payload["roles"]) > 1

    bot._connection.parsers["GUILD_CREATE"](payload)

    guild = bot.get_guild(int(payload["id"]))
    assert guild is not None, "the guild itself is still known (guild count, shard)"
    assert guild.name == payload["name"]
    assert list(guild.channels) == []
    assert [r.id for r in guild.roles] == [guild.id], "only @everyone is kept"
    assert [m.id for m in guild.members] == [int(P.BOT_USER_ID)], "only the bot's own member"


def test_channel_events_do_not_refill_the_cache(tmp_path: Path) -> None:
    bot = make_bot(tmp_path)
    payload = P.guild(channels=0, roles=1)
    bot._connection.parsers["GUILD_CREATE"](payload)
    channel = P.text_channel(payload["id"])

    bot._connection.parsers["CHANNEL_CREATE"](channel)

    guild = bot.get_guild(int(payload["id"]))
    assert guild is not None and list(guild.channels) == []


def test_a_message_in_a_trimmed_guild_still_knows_its_guild(tmp_path: Path) -> None:
    bot = make_bot(tmp_path)
    payload = P.guild(channels=3, roles=2)
    channel_id = P.text_channels(payload)[0]["id"]
    bot._connection.parsers["GUILD_CREATE"](payload)
    # discord.py types gateway payloads as TypedDicts; the factory builds plain dicts.
    data: Any = P.message_create("hello", guild_id=payload["id"], channel_id=channel_id)
    channel: Any = bot._connection._get_guild_channel(data)[0]

    message = discord.Message(state=bot._connection, channel=channel, data=data)

    assert message.guild is not None and message.guild.id == int(payload["id"])
    assert isinstance(message.channel, discord.PartialMessageable), "replies go to its id"


def test_only_messages_the_bot_could_answer_are_parsed_and_dispatched(tmp_path: Path) -> None:
    # With the guild messages intent, every message of every server arrives (and the echo of
    # every answer the bot sends): building a discord.Message for each cost more than the
    # answers themselves. Those the conversation cog would ignore are dropped unparsed.
    bot = make_bot(tmp_path)
    payload = P.guild(channels=3, roles=1)
    channel_id = P.text_channels(payload)[0]["id"]
    bot._connection.parsers["GUILD_CREATE"](payload)  # trims the payload in place
    seen: list[str] = []
    # What the state hands to the bot's listeners (the conversation cog's on_message).
    bot._connection.dispatch = lambda event, *args, **kwargs: (
        seen.append(args[0].content) if event == "message" else None)
    me = P.bot_user()
    person, other_bot = P.user(), {**P.user(), "bot": True}

    def arrive(content: str, **kw: Any) -> None:
        data: Any = P.message_create(content, **kw)
        bot._connection.parsers["MESSAGE_CREATE"](data)

    arrive("a DM question", author=person)
    arrive(f"<@{me['id']}> a mention", author=person, guild_id=payload["id"],
           channel_id=channel_id, mentions=[me])
    arrive("chatter in the server", author=person, guild_id=payload["id"],
           channel_id=channel_id)
    arrive("the bot's own answer", author=me, guild_id=payload["id"], channel_id=channel_id)
    arrive("its own answer in a DM", author=me)
    arrive(f"<@{me['id']}> another bot", author=other_bot, guild_id=payload["id"],
           channel_id=channel_id, mentions=[me])
    someone = P.user()
    arrive(f"<@{someone['id']}> a mention of someone else", author=person,
           guild_id=payload["id"], channel_id=channel_id, mentions=[someone])

    assert seen == ["a DM question", f"<@{me['id']}> a mention"]
