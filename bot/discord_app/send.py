"""The send path: rendered pages to an interaction, or in reply to a typed message.

Every answer the bot gives goes out through these functions, and every error notice through
`send_notice`, so each interaction is answered exactly once in whatever state it is in (not
yet answered, deferred, or with its token expired). An answer that is not ready within
DEFER_AFTER seconds is deferred first, so that no interaction misses Discord's three seconds.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import discord

from bot.briefing.store import Store
from bot.render.answers import message_answer
from bot.render.pages import Payload
from bot.router import Intent, answer_request

from .components import PageView
from .message import is_ephemeral, message_kwargs

log = logging.getLogger(__name__)

DEFER_AFTER = 1.5  # seconds; Discord drops an interaction not answered within 3
MAX_TEXT_REPLIES = 5  # pages sent as separate replies where buttons cannot be used


async def send_pages(interaction: discord.Interaction, pages: Sequence[Payload],
                     *, ephemeral: bool | None = None) -> None:
    """Send the first page, with page buttons when there are more; respond or follow up."""
    first = pages[0]
    hidden = is_ephemeral(first) if ephemeral is None else ephemeral
    view = PageView(pages, interaction.user.id) if len(pages) > 1 else None
    kwargs = message_kwargs(first)
    if view is not None:
        kwargs["view"] = view
    if interaction.response.is_done():
        message = await interaction.followup.send(**kwargs, ephemeral=hidden, wait=True)
        if view is not None:
            view.message = message
    else:
        await interaction.response.send_message(**kwargs, ephemeral=hidden)
        if view is not None:
            view.interaction = interaction


async def answer_interaction(interaction: discord.Interaction,
                             make_pages: Callable[[], Awaitable[list[Payload]]],
                             *, ephemeral: bool | None = None) -> None:
    """Compute an answer, deferring first if it is slow, then send it."""
    task = asyncio.ensure_future(make_pages())
    try:
        pages = await asyncio.wait_for(asyncio.shield(task), DEFER_AFTER)
    except TimeoutError:
        await interaction.response.defer(thinking=True, ephemeral=bool(ephemeral))
        pages = await task
    await send_pages(interaction, pages, ephemeral=ephemeral)


async def answer_command(interaction: discord.Interaction, store: Store, intent: Intent,
                         arg: str | None = None) -> None:
    """Answer a slash command: the router's answer from the store, through the send path."""
    await answer_interaction(interaction, lambda: answer_request(store, intent, arg))


async def reply_pages(message: discord.Message, pages: Sequence[Payload],
                      *, buttons: bool = True) -> None:
    """Answer a typed message (a DM, or a server message that mentions the bot).

    With `buttons` the first page carries page buttons; without (owners' `!` commands, whose
    answers are short) up to MAX_TEXT_REPLIES pages are sent as replies of their own.
    """
    if not buttons:
        for page in pages[:MAX_TEXT_REPLIES]:
            await message.reply(**message_kwargs(page), mention_author=False)
        return
    view = PageView(pages, message.author.id) if len(pages) > 1 else None
    kwargs = message_kwargs(pages[0])
    if view is not None:
        kwargs["view"] = view
    sent = await message.reply(**kwargs, mention_author=False)
    if view is not None:
        view.message = sent


async def send_notice(target: discord.Interaction | discord.Message, title: str,
                      text: str) -> None:
    """Tell the user something went wrong, in whichever way is still open.

    To an interaction: the first response, else a followup, else (the token expired) the
    channel. To a typed message: a reply. Never raises: a notice that cannot be delivered is
    logged.
    """
    kwargs: dict[str, Any] = message_kwargs(message_answer(title, text)[0])
    if isinstance(target, discord.Message):
        try:
            await target.reply(**kwargs, mention_author=False)
        except discord.HTTPException:
            log.warning("could not tell user %s about an error", target.author.id)
        return
    try:
        if target.response.is_done():
            await target.followup.send(**kwargs, ephemeral=True)
        else:
            await target.response.send_message(**kwargs, ephemeral=True)
    except discord.NotFound:  # the interaction token expired: say it in the channel instead
        channel = target.channel
        if isinstance(channel, discord.abc.Messageable):
            try:
                await channel.send(**kwargs)
            except discord.HTTPException:
                log.warning("could not tell user %s about an error", target.user.id)
    except discord.HTTPException:
        log.warning("could not tell user %s about an error", target.user.id)
