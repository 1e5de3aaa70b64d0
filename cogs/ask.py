"""/ask and the message menu "Check against the briefing": anywhere, for anyone.

`/ask question:` answers exactly as a DM does, through the same router and the same
conversation memory (so a follow-up works in both). "Check against the briefing" takes a
message someone posted and answers with what the briefing says that bears on it, from the
story of where it was asked, with Sources and Notes buttons. Both work in servers, in DMs and
as a user-installed app.
"""

from __future__ import annotations

import discord
from discord import app_commands
from discord.ext import commands

from bot.answering.engine import ConversationMemory, conversation_key
from bot.answering.misses import MissStore
from bot.discord_app.client import BriefingBot
from bot.discord_app.send import answer_interaction
from bot.requests import answer_ask, check_ask, typed_ask

from .utils.stories import STORY_HELP, defaults_of, story_choices

CHECK_MENU = "Check against the briefing"


def conversation_memory(bot: BriefingBot) -> ConversationMemory | None:
    """The follow-up memory the conversation cog owns (shared, so /ask and DMs agree)."""
    return getattr(bot.get_cog("Conversation"), "memory", None)


def miss_sink(bot: BriefingBot) -> MissStore | None:
    """The editors' log of unanswered questions, also the conversation cog's."""
    return getattr(bot.get_cog("Conversation"), "misses", None)


class Ask(commands.Cog):
    def __init__(self, bot: BriefingBot) -> None:
        self.bot = bot
        self.menu = app_commands.ContextMenu(name=CHECK_MENU, callback=self.check_message)
        self.menu.allowed_installs = app_commands.AppInstallationType(guild=True, user=True)
        self.menu.allowed_contexts = app_commands.AppCommandContext(
            guild=True, dm_channel=True, private_channel=True)
        bot.tree.add_command(self.menu)

    async def cog_unload(self) -> None:
        self.bot.tree.remove_command(self.menu.name, type=self.menu.type)

    @app_commands.command(name="ask", description="Ask the briefing a question in your own words")
    @app_commands.describe(question="e.g. who brokered the exchange? how many Americans?",
                           story=STORY_HELP)
    @app_commands.allowed_installs(guilds=True, users=True)
    @app_commands.allowed_contexts(guilds=True, dms=True, private_channels=True)
    async def ask(self, interaction: discord.Interaction,
                  question: app_commands.Range[str, 1, 500],
                  story: str | None = None) -> None:
        memory, misses = conversation_memory(self.bot), miss_sink(self.bot)
        ask = typed_ask(question, story)  # its buttons re-ask the question as a DM would
        defaults = await defaults_of(self.bot, interaction)
        await answer_interaction(interaction, lambda: answer_ask(
            self.bot.store, ask, memory=memory, misses=misses,
            user=conversation_key(interaction.user.id, interaction.guild_id),
            defaults=defaults), ask=ask)

    @ask.autocomplete("story")
    async def ask_story(self, interaction: discord.Interaction,
                        current: str) -> list[app_commands.Choice[str]]:
        return story_choices(self.bot.store, current)

    async def check_message(self, interaction: discord.Interaction,
                            message: discord.Message) -> None:
        text = message.content or " ".join(
            part for e in message.embeds for part in (e.title or "", e.description or ""))
        # From the story of where it was asked, like /ask; its buttons (Sources, Notes, pages)
        # re-answer the check from the message's digest (see bot/requests.py `check_ask`).
        ask = check_ask(text)
        defaults = await defaults_of(self.bot, interaction)
        await answer_interaction(interaction, lambda: answer_ask(
            self.bot.store, ask, defaults=defaults), ephemeral=True, ask=ask)


async def setup(bot: BriefingBot) -> None:
    await bot.add_cog(Ask(bot))
