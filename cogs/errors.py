"""One tree-level error handler: every failed interaction gets an answer, and a log line.

Installed in `cog_load` and the previous handler restored in `cog_unload`, so reloading the
cog swaps the handler cleanly.
"""

from __future__ import annotations

import logging
from typing import Any

import discord
from discord import app_commands
from discord.ext import commands

from bot.client import BriefingBot
from bot.render.answers import message_answer

from .utils.checks import NotOwner
from .utils.replies import message_kwargs

log = logging.getLogger(__name__)


def explain(error: app_commands.AppCommandError) -> tuple[str, str]:
    """A title and a sentence for the user; the traceback goes to the log, not to them."""
    if isinstance(error, NotOwner):
        return "Owners only", "Only the bot's owners can use this command."
    if isinstance(error, app_commands.CommandOnCooldown):
        return "Slow down", f"Try again in {error.retry_after:.0f}s."
    if isinstance(error, app_commands.CheckFailure):
        return "Not here", "This command can't be used here."
    if isinstance(error, app_commands.TransformerError):
        return "That value didn't work", "Check the option and try again."
    return "Something went wrong", "Something went wrong on our side; it has been logged."


async def send_error(interaction: discord.Interaction, title: str, text: str) -> None:
    """Answer in whichever way is still open: first response, followup, or the channel."""
    kwargs: dict[str, Any] = message_kwargs(message_answer(title, text)[0])
    try:
        if interaction.response.is_done():
            await interaction.followup.send(**kwargs, ephemeral=True)
        else:
            await interaction.response.send_message(**kwargs, ephemeral=True)
    except discord.NotFound:  # the interaction token expired: say it in the channel instead
        channel = interaction.channel
        if isinstance(channel, discord.abc.Messageable):
            try:
                await channel.send(**kwargs)
            except discord.HTTPException:
                log.warning("could not tell user %s about an error", interaction.user.id)
    except discord.HTTPException:
        log.warning("could not tell user %s about an error", interaction.user.id)


class Errors(commands.Cog):
    def __init__(self, bot: BriefingBot) -> None:
        self.bot = bot
        self._previous: Any = None

    async def cog_load(self) -> None:
        self._previous = self.bot.tree.on_error
        self.bot.tree.on_error = self.on_app_command_error  # type: ignore[method-assign]

    async def cog_unload(self) -> None:
        self.bot.tree.on_error = self._previous  # type: ignore[method-assign]

    async def on_app_command_error(self, interaction: discord.Interaction,
                                   error: app_commands.AppCommandError) -> None:
        command = interaction.command.qualified_name if interaction.command else "?"
        if not isinstance(error, app_commands.CheckFailure):
            log.error("/%s failed for user %s", command, interaction.user.id,
                      exc_info=error)
        if interaction.type is discord.InteractionType.autocomplete:
            return  # nothing can be shown for a failed autocomplete
        title, text = explain(error)
        await send_error(interaction, title, text)


async def setup(bot: BriefingBot) -> None:
    await bot.add_cog(Errors(bot))
