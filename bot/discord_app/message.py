"""The one place a rendered page becomes discord.py keyword arguments.

Renderers produce plain payload dicts (`bot.render.pages.Payload`); every message the bot
sends, edits or follows up with is built here. Mentions are not set here: the client sets
`allowed_mentions=none()` once, and discord.py applies it to every send, edit, followup and
webhook call, including any a future cog makes without this function.
"""

from __future__ import annotations

import io
from typing import Any

import discord

from bot.render.attachments import attachments
from bot.render.pages import Payload

EPHEMERAL = 64


def message_kwargs(payload: Payload, *, edit: bool = False) -> dict[str, Any]:
    """discord.py keyword arguments for one rendered page (send, followup or, with `edit`,
    edit). The page's files go as `files` to a send; to an edit as `attachments`, always, so
    the edited message holds exactly the page's files (a page without a picture drops one)."""
    kwargs: dict[str, Any] = {
        "content": payload.get("content") or None,
        "embeds": [discord.Embed.from_dict(e) for e in payload.get("embeds", [])],
    }
    # A discord.File is read once when sent: a fresh one for every message.
    files = [discord.File(io.BytesIO(a.data), filename=a["filename"],
                          description=a["description"] or None) for a in attachments(payload)]
    if edit:
        kwargs["attachments"] = files
    elif files:
        kwargs["files"] = files
    return kwargs


def is_ephemeral(payload: Payload) -> bool:
    """Whether the renderer asked for the page to be shown only to the asker."""
    return bool(payload.get("flags", 0) & EPHEMERAL)
