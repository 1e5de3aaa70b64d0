"""Sending rendered pages to Discord: to an interaction or in reply to a message.

Renderers produce plain payload dicts; this is the one place they become discord.py objects.
An answer that is not ready within DEFER_AFTER seconds is deferred first, so that no
interaction misses Discord's three-second window.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import discord

from bot.render.pages import Payload

from .paginator import PageView

log = logging.getLogger(__name__)

DEFER_AFTER = 1.5  # seconds; Discord drops an interaction not answered within 3


def message_kwargs(payload: Payload) -> dict[str, Any]:
    """discord.py keyword arguments for one rendered page."""
    return {
        "content": payload.get("content") or None,
        "embeds": [discord.Embed.from_dict(e) for e in payload.get("embeds", [])],
        "allowed_mentions": discord.AllowedMentions.none(),
    }


def is_ephemeral(payload: Payload) -> bool:
    return bool(payload.get("flags", 0) & 64)


async def send_pages(interaction: discord.Interaction, pages: Sequence[Payload],
                     *, ephemeral: bool | None = None) -> None:
    """Send the first page with page buttons when there are more; respond or follow up."""
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


async def answer(interaction: discord.Interaction,
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


async def reply_pages(message: discord.Message, pages: Sequence[Payload]) -> None:
    """Answer a typed message (a DM, or a server message that mentions the bot)."""
    view = PageView(pages, message.author.id) if len(pages) > 1 else None
    kwargs = message_kwargs(pages[0])
    if view is not None:
        kwargs["view"] = view
    sent = await message.reply(**kwargs, mention_author=False)
    if view is not None:
        view.message = sent
