"""Story choices for autocomplete and the defaults of where something was asked."""

from __future__ import annotations

from typing import Any

import discord
from discord import app_commands

from bot.briefing.store import Store
from bot.briefing.text import fold
from bot.render.pages import clip

CHOICE_LIMIT = 100
STORY_HELP = "Which story (default: the one set here, else the most recently updated)"


def story_choices(store: Store, current: str) -> list[app_commands.Choice[str]]:
    """Up to 25 stories whose title or id holds what was typed (from memory, no query)."""
    try:
        stories = store.current.stories
    except RuntimeError:  # the store is closed (shutting down)
        return []
    key = fold(current).strip()
    picked = [s for s in stories if not key or key in fold(s.title) or key in s.id]
    return [app_commands.Choice(name=clip(f"{s.title} ({s.id})", CHOICE_LIMIT), value=s.id)
            for s in picked[:25]]


def settings_of(bot: Any) -> Any:
    """The settings store the Stories cog holds (None before it is loaded)."""
    return getattr(bot.get_cog("Stories"), "settings", None)


async def defaults_of(bot: Any, where: discord.Interaction | discord.Message
                      ) -> list[tuple[str, str]]:
    """The stories chosen where this was asked: channel, server, then (in DMs) the user's."""
    settings = settings_of(bot)
    if settings is None:
        return []
    if isinstance(where, discord.Interaction):  # ids as sent: no cache lookups per answer
        guild, channel, user = where.guild_id or None, where.channel_id, where.user.id
    else:
        guild = where.guild.id if where.guild else None
        channel, user = where.channel.id, where.author.id
    return list(await settings.defaults_for(channel=channel if guild else None, guild=guild,
                                            user=None if guild else user))
