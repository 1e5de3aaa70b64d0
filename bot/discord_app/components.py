"""Page buttons: first, previous, next, last. Only the person who asked can turn pages."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import discord

from bot.render.pages import Payload

from .message import message_kwargs

log = logging.getLogger(__name__)

NOT_YOURS = "Only the person who asked can turn these pages. Ask the bot yourself to get your own."


class PageView(discord.ui.View):
    """Buttons that flip through pre-rendered pages by editing the message in place."""

    # Every live view is a task and garbage discord.py keeps until it times out; the
    # benchmark saw 12,000 of them at 500 answers a second turn into 0.5 s GC pauses.
    def __init__(self, pages: Sequence[Payload], owner_id: int, *, timeout: float = 120) -> None:
        super().__init__(timeout=timeout)
        self.pages = list(pages)
        self.owner_id = owner_id
        self.index = 0
        self.message: discord.Message | None = None  # set when sent as a message or followup
        self.interaction: discord.Interaction | None = None  # set when sent as a response
        self._update_buttons()

    def _update_buttons(self) -> None:
        last = len(self.pages) - 1
        self.first.disabled = self.previous.disabled = self.index == 0
        self.next.disabled = self.last.disabled = self.index == last
        self.position.label = f"{self.index + 1}/{len(self.pages)}"

    async def interaction_check(self, interaction: discord.Interaction) -> bool:
        if interaction.user.id == self.owner_id:
            return True
        await interaction.response.send_message(NOT_YOURS, ephemeral=True)
        return False

    async def _show(self, interaction: discord.Interaction, index: int) -> None:
        self.index = max(0, min(index, len(self.pages) - 1))
        self._update_buttons()
        kwargs: dict[str, Any] = message_kwargs(self.pages[self.index], edit=True)
        await interaction.response.edit_message(**kwargs, view=self)

    @discord.ui.button(emoji="⏮️", style=discord.ButtonStyle.secondary)
    async def first(self, interaction: discord.Interaction, _: discord.ui.Button[Any]) -> None:
        await self._show(interaction, 0)

    @discord.ui.button(emoji="◀️", style=discord.ButtonStyle.secondary)
    async def previous(self, interaction: discord.Interaction, _: discord.ui.Button[Any]) -> None:
        await self._show(interaction, self.index - 1)

    @discord.ui.button(label="1/1", style=discord.ButtonStyle.secondary, disabled=True)
    async def position(self, interaction: discord.Interaction, _: discord.ui.Button[Any]) -> None:
        await interaction.response.defer()  # a label, never enabled

    @discord.ui.button(emoji="▶️", style=discord.ButtonStyle.secondary)
    async def next(self, interaction: discord.Interaction, _: discord.ui.Button[Any]) -> None:
        await self._show(interaction, self.index + 1)

    @discord.ui.button(emoji="⏭️", style=discord.ButtonStyle.secondary)
    async def last(self, interaction: discord.Interaction, _: discord.ui.Button[Any]) -> None:
        await self._show(interaction, len(self.pages) - 1)

    async def on_timeout(self) -> None:
        """Remove the buttons so nobody presses a dead control."""
        try:
            if self.message is not None:
                await self.message.edit(view=None)
            elif self.interaction is not None:
                await self.interaction.edit_original_response(view=None)
        except discord.HTTPException as exc:
            log.debug("could not remove page buttons: %s", exc)
