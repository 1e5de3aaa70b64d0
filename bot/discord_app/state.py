"""discord.py's connection state, made to cache only what this bot reads.

discord.py offers no switch for this: with the guilds intent it caches every channel, role
and permission overwrite of every guild, about 14 KB a guild (over 200 MB at 10,000 guilds,
in the benchmark), whatever the other intents and cache flags say. This subclass of the
state discord.py builds (through `AutoShardedBot._get_state`) trims GUILD_CREATE before the
guild is built, and ignores channel and thread events, which would only refill that cache.
discord.py finds its parsers by their `parse_*` names, so overriding them is enough.
"""

from __future__ import annotations

from typing import Any

from discord.state import AutoShardedConnectionState

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


def _ignored(self: Any, data: Any) -> None:
    """A gateway event whose cache this bot does not keep."""


class TrimmedState(AutoShardedConnectionState[Any]):
    """Caches guilds without their channels, roles and members."""

    def parse_guild_create(self, data: Any) -> None:
        super().parse_guild_create(trim_guild(data, self.self_id))

    parse_channel_create = parse_channel_update = parse_channel_delete = _ignored
    parse_channel_pins_update = _ignored
    parse_thread_create = parse_thread_update = parse_thread_delete = _ignored
    parse_thread_list_sync = parse_thread_member_update = parse_thread_members_update = _ignored
