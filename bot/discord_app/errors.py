"""The one error path for slash commands, context menus and autocomplete.

`BriefingTree.on_error` logs the failure and answers the user once, through the send path,
whatever state the interaction is in. It is part of the tree, not of a cog, so no reload can
leave the bot without it.
"""

from __future__ import annotations

import logging

import discord
from discord import app_commands

from .checks import NotOwner
from .send import release, send_notice

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


class BriefingTree(app_commands.CommandTree[discord.Client]):
    """The command tree, with the bot's error handler built in."""

    async def _call(self, interaction: discord.Interaction) -> None:
        # discord.py's dispatch of one command, context menu or autocomplete (it runs this in
        # a task per interaction). Once it returns (answered, or told of an error by
        # on_error), nothing responds again: free the interaction by reference counting.
        try:
            await super()._call(interaction)
        finally:
            release(interaction)

    async def on_error(self, interaction: discord.Interaction,
                       error: app_commands.AppCommandError) -> None:
        command = interaction.command.qualified_name if interaction.command else "?"
        if not isinstance(error, app_commands.CheckFailure):
            log.error("/%s failed for user %s", command, interaction.user.id, exc_info=error)
        if interaction.type is discord.InteractionType.autocomplete:
            return  # nothing can be shown for a failed autocomplete
        await send_notice(interaction, *explain(error))
