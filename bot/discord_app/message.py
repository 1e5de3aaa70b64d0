"""The one place a rendered page becomes discord.py keyword arguments.

Renderers produce plain payload dicts (`bot.render.pages.Payload`), buttons included (see
`bot.render.buttons`); every message the bot sends, edits or follows up with is built here.
Mentions are not set here: the client sets `allowed_mentions=none()` once, and discord.py
applies it to every send, edit, followup and webhook call.
"""

from __future__ import annotations

import io
from typing import Any

import discord

from bot.render.attachments import attachments
from bot.render.pages import Payload

EPHEMERAL = 64


class Components:
    """A payload's action rows, handed to discord.py where it takes a `view`.

    discord.py sends a view's `to_components()`; these rows are already in that form. Unlike a
    `discord.ui.View`, this keeps nothing: it is finished and not dispatchable, so discord.py
    stores no view per message, starts no timeout, and the object is freed by reference
    counting alone (a View's items and its future form cycles for the garbage collector,
    which the bench saw as long GC pauses). Presses are answered by the stateless
    DynamicItems of `bot.discord_app.components`.
    """

    __discord_ui_view__ = True  # what discord.py checks for a view
    __slots__ = ("rows",)
    timeout = None

    def __init__(self, rows: list[dict[str, Any]]) -> None:
        self.rows = rows

    def to_components(self) -> list[dict[str, Any]]:
        return self.rows

    def is_finished(self) -> bool:
        return True

    def is_dispatchable(self) -> bool:
        return False

    def has_components_v2(self) -> bool:
        return False


def components_view(payload: Payload) -> Any:
    """The payload's buttons in the form discord.py's `view=` takes, or None without any."""
    rows = payload.get("components") or []
    return Components(rows) if rows else None


def files_of(payload: Payload) -> list[discord.File]:
    """The payload's files as discord.py sends them; a discord.File is read once when sent, so
    a fresh one for every message."""
    return [discord.File(io.BytesIO(a.data), filename=a["filename"],
                         description=a["description"] or None) for a in attachments(payload)]


def message_kwargs(payload: Payload, *, edit: bool = False) -> dict[str, Any]:
    """discord.py keyword arguments for one rendered page (send, followup or, with `edit`,
    edit).

    An edit always sets the view and the attachments, so the edited message holds exactly the
    page's buttons and files (a page without a picture drops the old one). A send gets the
    page's files as `files`.
    """
    kwargs: dict[str, Any] = {
        "content": payload.get("content") or None,
        "embeds": [discord.Embed.from_dict(e) for e in payload.get("embeds", [])],
    }
    view = components_view(payload)
    if view is not None or edit:
        kwargs["view"] = view
    files = files_of(payload)
    if edit:
        kwargs["attachments"] = files
    elif files:
        kwargs["files"] = files
    return kwargs


class ReadyEmbed:
    """An embed already in the form discord.py sends (`Embed.to_dict()`), for the send path's
    answers: a rendered page's embed dicts go out as they are, with no `discord.Embed` built
    from them only to be turned back into the same dicts."""

    __slots__ = ("data",)

    def __init__(self, data: dict[str, Any]) -> None:
        # What Embed.from_dict(data).to_dict() gives: the same dict plus its `flags` (0).
        self.data = data if "flags" in data else {**data, "flags": 0}

    def to_dict(self) -> dict[str, Any]:
        return self.data


def is_ephemeral(payload: Payload) -> bool:
    """Whether the renderer asked for the page to be shown only to the asker."""
    return bool(payload.get("flags", 0) & EPHEMERAL)
