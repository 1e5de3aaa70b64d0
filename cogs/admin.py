"""/admin for the bot's owners, and the same as `!reload`, `!sync`, `!status` in a DM.

The text commands exist for when slash commands are not synced yet (a fresh application).
Everything here is owner-only; refusals are logged by the check.

Discord shows `/admin` only where owners work: in servers where the bot is installed, to
members with the Administrator permission (a server can change that under Integrations), never
in DMs, group DMs or through a user install (the `!` commands serve DMs). That is only what the
command list shows; the owner check still runs on every use.
"""

from __future__ import annotations

import logging
from typing import Literal

import discord
from discord import app_commands
from discord.ext import commands

from bot.discord_app import operations
from bot.discord_app.checks import require_owner
from bot.discord_app.client import BriefingBot
from bot.discord_app.send import reply_pages, send_notice, send_pages

log = logging.getLogger("bot.security")


@app_commands.default_permissions(administrator=True)
@app_commands.allowed_contexts(guilds=True, dms=False, private_channels=False)
@app_commands.allowed_installs(guilds=True, users=False)
class Admin(commands.GroupCog, group_name="admin", group_description="Owner tools"):
    def __init__(self, bot: BriefingBot) -> None:
        self.bot = bot
        super().__init__()

    async def interaction_check(self, interaction: discord.Interaction) -> bool:  # type: ignore[override]
        return await require_owner(interaction)

    @app_commands.command(name="reload", description="Reload the briefing data, the cogs, or both")
    @app_commands.describe(what="data: rebuild from the files; cogs: re-import the code")
    async def reload(self, interaction: discord.Interaction,
                     what: Literal["data", "cogs", "all"]) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        await send_pages(interaction, await operations.reload(self.bot, what), ephemeral=True)

    @app_commands.command(name="sync", description="Publish the slash commands to Discord")
    @app_commands.describe(scope="guild: DEV_GUILD_ID or this server (instant); global: everywhere")
    async def sync(self, interaction: discord.Interaction,
                   scope: Literal["guild", "global"] = "guild") -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        pages = await operations.sync(self.bot, scope, interaction.guild_id)
        await send_pages(interaction, pages, ephemeral=True)

    @app_commands.command(name="status", description="Version, data, uptime, latency, shards")
    async def status(self, interaction: discord.Interaction) -> None:
        shard = interaction.guild.shard_id if interaction.guild else None
        await send_pages(interaction, await operations.status(self.bot, shard), ephemeral=True)

    @app_commands.command(name="misses", description="Questions the sources did not answer")
    async def misses(self, interaction: discord.Interaction) -> None:
        pages = await operations.misses(self.bot)
        await send_pages(interaction, pages, ephemeral=True)

    # ---- the same in a DM, as text, for when slash commands are not synced yet

    async def cog_check(self, ctx: commands.Context[BriefingBot]) -> bool:  # type: ignore[override]
        if ctx.guild is not None:
            return False  # text admin commands only in DMs: nobody watches over your shoulder
        if await self.bot.is_owner(ctx.author):
            return True
        log.warning("refused !%s for user %s in a DM", ctx.command, ctx.author.id)
        raise commands.NotOwner("Only the bot's owners can use this command.")

    async def cog_command_error(self, ctx: commands.Context[BriefingBot],  # type: ignore[override]
                                error: commands.CommandError) -> None:
        if isinstance(error, commands.NotOwner):
            text = "Only the bot's owners can use this command."
        elif isinstance(error, commands.CheckFailure):
            text = "Admin commands work only in a direct message to the bot."
        elif isinstance(error, commands.UserInputError):
            text = "Usage: `!reload data|cogs|all`, `!sync [global]`, `!status`."
        else:
            log.error("!%s failed", ctx.command, exc_info=error)
            text = "Something went wrong on our side; it has been logged."
        await send_notice(ctx.message, "Not done", text)

    @commands.command(name="reload")
    async def reload_text(self, ctx: commands.Context[BriefingBot],
                          what: Literal["data", "cogs", "all"] = "data") -> None:
        await reply_pages(ctx.message, await operations.reload(self.bot, what), buttons=False)

    @commands.command(name="sync")
    async def sync_text(self, ctx: commands.Context[BriefingBot],
                        scope: Literal["guild", "global"] = "guild") -> None:
        await reply_pages(ctx.message, await operations.sync(self.bot, scope, None),
                          buttons=False)

    @commands.command(name="status")
    async def status_text(self, ctx: commands.Context[BriefingBot]) -> None:
        await reply_pages(ctx.message, await operations.status(self.bot), buttons=False)


async def setup(bot: BriefingBot) -> None:
    await bot.add_cog(Admin(bot))
