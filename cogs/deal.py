"""/deal: who gave what to whom."""

from __future__ import annotations

import discord
from discord import app_commands
from discord.ext import commands

from bot.discord_app.client import BriefingBot
from bot.discord_app.send import answer_command
from bot.router import Intent


class Deal(commands.Cog):
    def __init__(self, bot: BriefingBot) -> None:
        self.bot = bot

    @app_commands.command(name="deal", description="The deal: who gave what to whom")
    async def deal(self, interaction: discord.Interaction) -> None:
        await answer_command(interaction, self.bot.store, Intent.deal)


async def setup(bot: BriefingBot) -> None:
    await bot.add_cog(Deal(bot))
