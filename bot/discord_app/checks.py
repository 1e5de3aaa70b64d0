"""Who may do what: the owner check shared by slash and text commands."""

from __future__ import annotations

import logging

import discord
from discord import app_commands

log = logging.getLogger("bot.security")


class NotOwner(app_commands.CheckFailure):
    """Raised for anyone but the bot's owners; the error handler answers politely."""


async def require_owner(interaction: discord.Interaction) -> bool:
    """Pass owners; log and refuse everyone else, whatever their server permissions."""
    client = interaction.client
    is_owner = getattr(client, "is_owner", None)
    if is_owner is not None and await is_owner(interaction.user):
        return True
    command = interaction.command.qualified_name if interaction.command else "?"
    log.warning("refused /%s for user %s in %s", command, interaction.user.id,
                f"guild {interaction.guild_id}" if interaction.guild_id else "a DM")
    raise NotOwner("Only the bot's owners can use this command.")
