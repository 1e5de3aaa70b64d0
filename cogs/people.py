"""/who: who is who in the story."""

from __future__ import annotations

import discord
from discord import app_commands
from discord.ext import commands

from bot.discord_app.client import BriefingBot
from bot.discord_app.send import answer_command
from bot.router import Intent

from .utils.choices import name_choices
from .utils.stories import STORY_HELP, defaults_of, story_choices


class People(commands.Cog):
    def __init__(self, bot: BriefingBot) -> None:
        self.bot = bot

    @app_commands.command(name="who", description="Who is who: a person, place, group or law")
    @app_commands.describe(story=STORY_HELP)
    @app_commands.describe(name="A name or alias; leave empty to list everyone")
    async def who(self, interaction: discord.Interaction,
                  name: app_commands.Range[str, 1, 200] | None = None,
                    story: str | None = None) -> None:
        await answer_command(interaction, self.bot.store, Intent.who, name,
                             story=story, defaults=await defaults_of(self.bot, interaction))

    @who.autocomplete("name")
    async def who_name(self, interaction: discord.Interaction,
                       current: str) -> list[app_commands.Choice[str]]:
        return name_choices(self.bot.store, current)

    @who.autocomplete("story")
    async def who_story(self, interaction: discord.Interaction,
                       current: str) -> list[app_commands.Choice[str]]:
        return story_choices(self.bot.store, current)


async def setup(bot: BriefingBot) -> None:
    await bot.add_cog(People(bot))
