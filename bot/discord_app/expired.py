"""Every button press gets an answer, even when nothing is left to handle it.

discord.py silently discards a component interaction whose custom_id no live view and no
registered dynamic item claims (a page view that timed out, a message from before a restart, a
custom_id from an older version of the bot); Discord then shows the user "This interaction
failed". This listener answers exactly those presses with a short ephemeral note.
"""

from __future__ import annotations

import logging
from typing import Any

import discord
from discord.ext import commands

log = logging.getLogger(__name__)

EXPIRED = ("This answer has expired, so its buttons no longer work. Ask again (a slash command "
           "such as `/who`, or a message to me) for a fresh one.")


def claimed(view_store: Any, interaction: discord.Interaction) -> bool:
    """Whether discord.py's view store dispatched this component press to a handler.

    Mirrors `ViewStore.dispatch_view` (discord.py 2.7): a dynamic item whose template matches
    the whole custom_id, or an item of a live view keyed by (component type, custom_id) on the
    message or as a persistent view (no message id) whose view still exists.
    """
    data: Any = interaction.data or {}
    custom_id = data.get("custom_id")
    component_type = data.get("component_type")
    if not isinstance(custom_id, str):
        return False
    if any(pattern.fullmatch(custom_id) for pattern in view_store._dynamic_items):
        return True
    key = (component_type, custom_id)
    message_id = interaction.message.id if interaction.message is not None else None
    item = None
    if message_id is not None:
        item = view_store._views.get(message_id, {}).get(key)
    if item is None:
        item = view_store._views.get(None, {}).get(key)
    return item is not None and item.view is not None


async def answer_unclaimed(interaction: discord.Interaction) -> None:
    """The `on_interaction` listener: answer a component press nobody else will."""
    if interaction.type is not discord.InteractionType.component:
        return
    view_store = interaction.client._connection._view_store
    # The listener runs after the view store had its turn (state.parse_interaction_create
    # dispatches views first); a press that was claimed, or already answered, is left alone.
    if claimed(view_store, interaction) or interaction.response.is_done():
        return
    data: Any = interaction.data or {}
    log.info("answered a press on an expired or unknown component %r", data.get("custom_id"))
    try:
        await interaction.response.send_message(
            EXPIRED, ephemeral=True, allowed_mentions=discord.AllowedMentions.none())
    except discord.InteractionResponded:
        pass  # a handler answered it meanwhile: one answer is enough
    except discord.HTTPException as exc:
        log.warning("could not answer an expired component press: %s", exc)


def install(bot: commands.bot.BotBase) -> None:
    """Register the listener (from the client's setup_hook)."""
    bot.add_listener(answer_unclaimed, "on_interaction")
