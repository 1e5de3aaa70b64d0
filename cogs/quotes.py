"""/quote: who said what, word for word."""

from __future__ import annotations

import discord
from discord import app_commands
from discord.ext import commands

from bot.discord_app.client import BriefingBot
from bot.discord_app.send import answer_command
from bot.router import Intent

from .utils.choices import name_choices
from .utils.stories import STORY_HELP, defaults_of, story_choices


class Quotes(commands.Cog):
    def __init__(self, bot: BriefingBot) -> None:
        self.bot = bot

    @app_commands.command(name="quote", description="Who said what, word for word")
    @app_commands.describe(story=STORY_HELP)
    @app_commands.describe(speaker="Only what this person said")
    async def quote(self, interaction: discord.Interaction,
                    speaker: app_commands.Range[str, 1, 200] | None = None,
                    story: str | None = None) -> None:
        await answer_command(interaction, self.bot.store, Intent.quote, speaker,
                             story=story, defaults=await defaults_of(self.bot, interaction))

    @quote.autocomplete("speaker")
    async def quote_speaker(self, interaction: discord.Interaction,
                            current: str) -> list[app_commands.Choice[str]]:
        return name_choices(self.bot.store, current)

    @quote.autocomplete("story")
    async def quote_story(self, interaction: discord.Interaction,
                       current: str) -> list[app_commands.Choice[str]]:
        return story_choices(self.bot.store, current)


async def setup(bot: BriefingBot) -> None:
    await bot.add_cog(Quotes(bot))
