"""/timeline: what happened when, optionally for one actor."""

from __future__ import annotations

import discord
from discord import app_commands
from discord.ext import commands

from bot.discord_app.client import BriefingBot
from bot.discord_app.send import answer_command
from bot.router import Intent

from .utils.choices import name_choices
from .utils.stories import STORY_HELP, defaults_of, story_choices


class Timeline(commands.Cog):
    def __init__(self, bot: BriefingBot) -> None:
        self.bot = bot

    @app_commands.command(name="timeline", description="What happened when")
    @app_commands.describe(story=STORY_HELP)
    @app_commands.describe(actor="Only events involving this person, place or group")
    async def timeline(self, interaction: discord.Interaction,
                       actor: app_commands.Range[str, 1, 200] | None = None,
                    story: str | None = None) -> None:
        await answer_command(interaction, self.bot.store, Intent.timeline, actor,
                             story=story, defaults=await defaults_of(self.bot, interaction))

    @timeline.autocomplete("actor")
    async def timeline_actor(self, interaction: discord.Interaction,
                             current: str) -> list[app_commands.Choice[str]]:
        return name_choices(self.bot.store, current)

    @timeline.autocomplete("story")
    async def timeline_story(self, interaction: discord.Interaction,
                       current: str) -> list[app_commands.Choice[str]]:
        return story_choices(self.bot.store, current)


async def setup(bot: BriefingBot) -> None:
    await bot.add_cog(Timeline(bot))
