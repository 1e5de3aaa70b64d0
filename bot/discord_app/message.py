"""The one place a rendered page becomes discord.py keyword arguments.

Renderers produce plain payload dicts (`bot.render.pages.Payload`); every message the bot
sends, edits or follows up with is built here. Mentions are not set here: the client sets
`allowed_mentions=none()` once, and discord.py applies it to every send, edit, followup and
webhook call, including any a future cog makes without this function.
"""

from __future__ import annotations

from typing import Any

import discord

from bot.render.pages import Payload

EPHEMERAL = 64


def message_kwargs(payload: Payload) -> dict[str, Any]:
    """discord.py keyword arguments for one rendered page (send, followup or edit)."""
    return {
        "content": payload.get("content") or None,
        "embeds": [discord.Embed.from_dict(e) for e in payload.get("embeds", [])],
    }


def is_ephemeral(payload: Payload) -> bool:
    """Whether the renderer asked for the page to be shown only to the asker."""
    return bool(payload.get("flags", 0) & EPHEMERAL)
