"""The one place a rendered page becomes discord.py keyword arguments.

Renderers produce plain payload dicts (`bot.render.pages.Payload`), buttons included (see
`bot.render.buttons`); every message the bot sends, edits or follows up with is built here.
Mentions are not set here: the client sets `allowed_mentions=none()` once, and discord.py
applies it to every send, edit, followup and webhook call.
"""

from __future__ import annotations

from typing import Any

import discord

from bot.render.pages import Payload

EPHEMERAL = 64


def _item(component: dict[str, Any], row: int) -> discord.ui.Button[Any]:
    url = component.get("url")
    return discord.ui.Button(
        style=discord.ButtonStyle(int(component.get("style", 2))),
        label=component.get("label"), url=url,
        custom_id=None if url else component.get("custom_id"),
        disabled=bool(component.get("disabled")), row=row)


def components_view(payload: Payload) -> discord.ui.View | None:
    """The payload's buttons as a View that discord.py sends but never keeps.

    The buttons are stateless (their custom ids say what to do, see
    `bot.discord_app.components`); the view is stopped before it is sent, so discord.py stores
    no view per message and nothing times out.
    """
    rows = payload.get("components") or []
    if not rows:
        return None
    view = discord.ui.View(timeout=None)
    for number, row in enumerate(rows):
        for component in row.get("components", []):
            view.add_item(_item(component, number))
    view.stop()
    return view


def message_kwargs(payload: Payload, *, edit: bool = False) -> dict[str, Any]:
    """discord.py keyword arguments for one rendered page (send, followup or edit).

    An edit always sets the view, so a page without buttons removes the old ones.
    """
    kwargs: dict[str, Any] = {
        "content": payload.get("content") or None,
        "embeds": [discord.Embed.from_dict(e) for e in payload.get("embeds", [])],
    }
    view = components_view(payload)
    if view is not None or edit:
        kwargs["view"] = view
    return kwargs


def is_ephemeral(payload: Payload) -> bool:
    """Whether the renderer asked for the page to be shown only to the asker."""
    return bool(payload.get("flags", 0) & EPHEMERAL)
