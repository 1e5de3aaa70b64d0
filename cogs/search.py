"""/search and /sources: find anything, and see where each fact comes from."""

from __future__ import annotations

import discord
from discord import app_commands
from discord.ext import commands

from bot.discord_app.client import BriefingBot
from bot.discord_app.send import answer_command
from bot.router import Intent


class Search(commands.Cog):
    def __init__(self, bot: BriefingBot) -> None:
        self.bot = bot

    @app_commands.command(name="search", description="Search the whole briefing")
    @app_commands.describe(query="Words to look for, e.g. Alien Enemies")
    async def search(self, interaction: discord.Interaction,
                     query: app_commands.Range[str, 1, 200]) -> None:
        await answer_command(interaction, self.bot.store, Intent.search, query)

    @app_commands.command(name="sources", description="Where each fact comes from")
    async def sources(self, interaction: discord.Interaction) -> None:
        await answer_command(interaction, self.bot.store, Intent.sources)


async def setup(bot: BriefingBot) -> None:
    await bot.add_cog(Search(bot))
