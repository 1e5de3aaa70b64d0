"""/search and /sources: find anything, and see where each fact comes from."""

from __future__ import annotations

import discord
from discord import app_commands
from discord.ext import commands

from bot.discord_app.client import BriefingBot
from bot.discord_app.send import answer_command
from bot.router import Intent

from .utils.stories import STORY_HELP, defaults_of, story_choices


class Search(commands.Cog):
    def __init__(self, bot: BriefingBot) -> None:
        self.bot = bot

    @app_commands.command(name="search", description="Search the whole briefing")
    @app_commands.describe(story=STORY_HELP)
    @app_commands.describe(query="Words to look for, e.g. Alien Enemies")
    async def search(self, interaction: discord.Interaction,
                     query: app_commands.Range[str, 1, 200],
                    story: str | None = None) -> None:
        await answer_command(interaction, self.bot.store, Intent.search, query,
                             story=story, defaults=await defaults_of(self.bot, interaction))

    @app_commands.command(name="sources", description="Where each fact comes from")
    @app_commands.describe(story=STORY_HELP)
    async def sources(self, interaction: discord.Interaction, story: str | None = None) -> None:
        await answer_command(interaction, self.bot.store, Intent.sources,
                             story=story, defaults=await defaults_of(self.bot, interaction))

    @search.autocomplete("story")
    async def search_story(self, interaction: discord.Interaction,
                       current: str) -> list[app_commands.Choice[str]]:
        return story_choices(self.bot.store, current)

    @sources.autocomplete("story")
    async def sources_story(self, interaction: discord.Interaction,
                       current: str) -> list[app_commands.Choice[str]]:
        return story_choices(self.bot.store, current)


async def setup(bot: BriefingBot) -> None:
    await bot.add_cog(Search(bot))
