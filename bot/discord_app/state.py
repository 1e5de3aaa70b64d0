"""discord.py's connection state, made to cache only what this bot reads and to survive bad events.

discord.py offers no switch for this: with the guilds intent it caches every channel, role
and permission overwrite of every guild, about 14 KB a guild (over 200 MB at 10,000 guilds,
in the benchmark), whatever the other intents and cache flags say. This subclass of the
state discord.py builds (through `AutoShardedBot._get_state`) trims GUILD_CREATE before the
guild is built, and ignores channel and thread events, which would only refill that cache
(a deleted channel, like a deleted message, only tells `uploads.Uploaded` to forget the
pictures uploaded there).
It also drops, unparsed, every MESSAGE_CREATE the bot could not answer (its own messages,
other bots', server messages that do not mention it). discord.py finds its parsers by their
`parse_*` names, so overriding them is enough.

A parser that raises (an event missing a field discord.py expects) would end the shard's
worker and, with it, `bot.start()` and the whole process, every shard included. Each parser
is therefore wrapped: a malformed event is logged with its name and dropped, and an
interaction that could not be read is still answered when its id and token are there.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Callable
from typing import Any

import discord
from discord.state import AutoShardedConnectionState
from discord.webhook.async_ import async_context, interaction_message_response_params

from .uploads import Uploaded

log = logging.getLogger(__name__)

UNREADABLE = ("Sorry, I couldn't read that request (Discord sent it in a form this bot does not "
              "understand). Please try again; if it keeps happening, tell the bot's owner.")
CHANNEL_MESSAGE = 4

# What a GUILD_CREATE carries that this bot never reads: interactions bring their own channel
# and member, replies go to the channel the message came from, and the member list is off.
GUILD_PARTS_UNUSED = ("channels", "threads", "emojis", "stickers", "voice_states", "presences",
                      "stage_instances", "guild_scheduled_events", "soundboard_sounds")


def trim_guild(data: dict[str, Any], self_id: int | None) -> dict[str, Any]:
    """The GUILD_CREATE payload without what the bot never reads (modified in place)."""
    for part in GUILD_PARTS_UNUSED:
        data.pop(part, None)
    guild_id = data.get("id")
    data["roles"] = [r for r in data.get("roles", []) if r.get("id") == guild_id]
    me = str(self_id) if self_id else None
    data["members"] = [m for m in data.get("members", [])
                       if (m.get("user") or {}).get("id") == me]
    return data


def addressed_to_bot(data: Any, self_id: int | None) -> bool:
    """Whether a MESSAGE_CREATE is one the bot could answer: from a person (not a bot, the bot
    itself included, nor a webhook), in a DM or mentioning the bot. The conversation cog
    answers no other message (cogs/conversation.py `question_in`, which checks again on the
    parsed message). Anything malformed counts as addressed, so that the parser sees it and
    the guard reports it."""
    if not isinstance(data, dict):
        return True
    author = data.get("author")
    if not isinstance(author, dict):
        return True
    if author.get("bot") or data.get("webhook_id"):
        return False
    if data.get("guild_id") is None:
        return True  # a DM
    me = str(self_id) if self_id else None
    mentions = data.get("mentions")
    if not isinstance(mentions, list):
        return True
    return any(isinstance(m, dict) and m.get("id") == me for m in mentions)


def _ignored(self: Any, data: Any) -> None:
    """A gateway event whose cache this bot does not keep."""


class TrimmedState(AutoShardedConnectionState[Any]):
    """Caches guilds without their channels, roles and members; drops events it cannot parse."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # The gateway looks parsers up in this dict (by reference, gateway.py `_discord_parsers`)
        self._answers: set[asyncio.Task[None]] = set()
        #: Pictures uploaded once per server (uploads.py); forgotten here when deleted.
        self.uploaded = Uploaded()
        self.parsers.update({name: self._guarded(name, parser)
                             for name, parser in self.parsers.items()})

    def _guarded(self, event: str, parser: Callable[[Any], None]) -> Callable[[Any], None]:
        @functools.wraps(parser)
        def guarded(data: Any) -> None:
            try:
                parser(data)
            except Exception as exc:
                log.error("dropped a malformed %s event (%s: %s); the bot carries on", event,
                          type(exc).__name__, exc, exc_info=True)
                if event == "INTERACTION_CREATE":
                    self._answer_unreadable(data)

        return guarded

    def _answer_unreadable(self, data: Any) -> None:
        """Tell the user their interaction could not be read, if it can be answered at all."""
        if not isinstance(data, dict):
            return
        interaction_id, token = data.get("id"), data.get("token")
        if not interaction_id or not isinstance(token, str):
            return  # no way to answer: Discord shows "This interaction failed"
        task = asyncio.get_running_loop().create_task(
            self._send_unreadable(str(interaction_id), token))
        self._answers.add(task)  # keep a reference until it is done
        task.add_done_callback(self._answers.discard)

    async def _send_unreadable(self, interaction_id: str, token: str) -> None:
        params = interaction_message_response_params(
            type=CHANNEL_MESSAGE, content=UNREADABLE,
            flags=discord.MessageFlags(ephemeral=True),
            allowed_mentions=discord.AllowedMentions.none())
        try:
            await async_context.get().create_interaction_response(
                int(interaction_id), token,
                session=self.http._HTTPClient__session,  # type: ignore[attr-defined]
                proxy=self.http.proxy, proxy_auth=self.http.proxy_auth, params=params)
        except (discord.HTTPException, ValueError) as exc:
            log.warning("could not answer the malformed interaction %s: %s", interaction_id, exc)

    def parse_guild_create(self, data: Any) -> None:
        super().parse_guild_create(trim_guild(data, self.self_id))

    def parse_message_create(self, data: Any) -> None:
        # With the guild messages intent every message of every server arrives, and so does
        # the echo of each answer the bot sends; discord.py would build a Message (with every
        # embed and button) for each, which nothing here reads. Only messages the bot could
        # answer are parsed: the others cost a dict lookup instead of a Message.
        if addressed_to_bot(data, self.self_id):
            super().parse_message_create(data)

    # A deleted message, or channel, takes with it a picture later answers would show.
    def parse_message_delete(self, data: Any) -> None:
        self.uploaded.forget_messages([int(data["id"])])
        super().parse_message_delete(data)

    def parse_message_delete_bulk(self, data: Any) -> None:
        self.uploaded.forget_messages([int(i) for i in data["ids"]])
        super().parse_message_delete_bulk(data)

    def parse_channel_delete(self, data: Any) -> None:
        self.uploaded.forget_channel(int(data["id"]))  # not cached here otherwise

    parse_thread_delete = parse_channel_delete  # answers in threads are not kept; to be sure
    parse_channel_create = parse_channel_update = _ignored
    parse_channel_pins_update = _ignored
    parse_thread_create = parse_thread_update = _ignored
    parse_thread_list_sync = parse_thread_member_update = parse_thread_members_update = _ignored
