"""Typed questions: any message in a DM, and server messages that mention the bot.

They go through the same router as `python -m bot ask`. Text that starts with `!` and names
a command (the owners' `!reload`, `!sync`, `!status`) runs that command instead.
"""

from __future__ import annotations

import logging
import re

import discord
from discord.ext import commands

from bot.answering.engine import ConversationMemory, conversation_key
from bot.answering.misses import open_misses
from bot.discord_app.client import BriefingBot
from bot.discord_app.send import reply_pages, send_notice
from bot.requests import answer_ask, typed_ask
from bot.settings_store import cluster_of

from .utils.stories import defaults_of

log = logging.getLogger(__name__)


class Conversation(commands.Cog):
    def __init__(self, bot: BriefingBot) -> None:
        self.bot = bot
        # Follow-ups ("and the children?") per user, in memory only; /ask shares it.
        self.memory = ConversationMemory()
        # Unanswered questions for editors: Redis with REDIS_URL, else a file (misses.py).
        self.misses = open_misses(bot.settings, cluster_of(bot))

    async def cog_unload(self) -> None:
        if self.misses is not None:
            await self.misses.close()

    def question_in(self, message: discord.Message) -> str | None:
        """The question a message asks the bot, or None when it is not addressed to it."""
        me = self.bot.user
        if me is None or message.author.bot or message.webhook_id:
            return None
        if message.guild is None:
            return message.content
        if any(user.id == me.id for user in message.mentions):
            return re.sub(rf"<@!?{me.id}>", " ", message.content)
        return None

    @commands.Cog.listener()
    async def on_message(self, message: discord.Message) -> None:
        text = self.question_in(message)
        if text is None:
            return
        if text.lstrip().startswith("!"):
            ctx = await self.bot.get_context(message)
            if ctx.command is not None:
                await self.bot.invoke(ctx)
                return
        try:
            ask = typed_ask(text)
            pages = await answer_ask(self.bot.store, ask, memory=self.memory,
                                     user=conversation_key(message.author.id,
                                                           message.guild.id if message.guild
                                                           else None),
                                     misses=self.misses,
                                     defaults=await defaults_of(self.bot, message))
            await reply_pages(message, pages, ask=ask)
        except discord.HTTPException:
            log.exception("could not answer message %s", message.id)
        except Exception:
            log.exception("answering message %s failed", message.id)
            await send_notice(message, "Something went wrong",
                              "Something went wrong on our side; it has been logged.")


async def setup(bot: BriefingBot) -> None:
    await bot.add_cog(Conversation(bot))
