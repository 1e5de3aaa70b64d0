"""/about: what the bot is, what it knows, and how to read its answers."""

from __future__ import annotations

import discord
from discord import app_commands
from discord.ext import commands

from bot.discord_app.client import BriefingBot
from bot.discord_app.send import answer_command
from bot.router import Intent


class Help(commands.Cog):
    def __init__(self, bot: BriefingBot) -> None:
        self.bot = bot

    @app_commands.command(name="about", description="What this bot knows and how to ask it")
    async def about(self, interaction: discord.Interaction) -> None:
        await answer_command(interaction, self.bot.store, Intent.about)


async def setup(bot: BriefingBot) -> None:
    await bot.add_cog(Help(bot))
