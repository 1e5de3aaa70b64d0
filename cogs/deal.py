"""/deal: who gave what to whom."""

from __future__ import annotations

import discord
from discord import app_commands
from discord.ext import commands

from bot.discord_app.client import BriefingBot
from bot.discord_app.send import answer_command
from bot.router import Intent

from .utils.stories import STORY_HELP, defaults_of, story_choices


class Deal(commands.Cog):
    def __init__(self, bot: BriefingBot) -> None:
        self.bot = bot

    @app_commands.command(name="deal", description="The deal: who gave what to whom")
    @app_commands.describe(story=STORY_HELP)
    async def deal(self, interaction: discord.Interaction, story: str | None = None) -> None:
        await answer_command(interaction, self.bot.store, Intent.deal,
                             story=story, defaults=await defaults_of(self.bot, interaction))

    @deal.autocomplete("story")
    async def deal_story(self, interaction: discord.Interaction,
                       current: str) -> list[app_commands.Choice[str]]:
        return story_choices(self.bot.store, current)


async def setup(bot: BriefingBot) -> None:
    await bot.add_cog(Deal(bot))
