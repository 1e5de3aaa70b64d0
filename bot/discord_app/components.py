"""Stateless buttons: page, Sources, Notes and related questions, as DynamicItems.

Each button's custom_id says what to show (see `bot.render.buttons`); a press re-answers the
request from the router (memoised per data snapshot) and shows the page it names. Nothing is
kept per message, so the buttons work after a restart and after any time. Only the asker turns
the pages of their message; anyone else gets their own ephemeral copy. Sources, Notes and
related questions open as an ephemeral message for whoever presses. When the data changed
since the answer was given, the answer says so and shows the current one.
"""

from __future__ import annotations

import logging
import re
from typing import Any, Self

import discord

from bot.briefing.store import Snapshot
from bot.render.buttons import (
    BACK,
    CARD,
    NEXT,
    NOTES,
    OPEN,
    POSITION,
    SOURCES,
    Ask,
    Press,
    decode,
    recover,
    stamp,
    template,
)
from bot.render.cache import AnswerCache
from bot.render.cards import card_title, footnote_pages, note_pages
from bot.render.pages import Pages
from bot.requests import AskAgain, respond_to

from .message import message_kwargs
from .send import release, send_notice
from .uploads import picture_of, scope_of

log = logging.getLogger(__name__)

NOT_YOURS = ("Only the person who asked turns the pages of their message: "
             "here is your own copy.")
STALE = "ℹ️ The briefing has been updated since this answer was given: this is the current one."
LOST = ("This button's question could not be read back from its message. "
        "Please ask again.")
UNKNOWN = "This button belongs to an older version of the bot. Please ask again."

# Sources and Notes pages, kept per snapshot like the router's answers.
_opened: AnswerCache[tuple[str, Ask]] = AnswerCache()


async def shown_pages(snap: Snapshot, ask: Ask, view: str) -> Pages:
    """The pages a button shows: the card, or its Sources or Notes (memoised likewise)."""
    pages, _ = await respond_to(snap, ask)
    if view == CARD:
        return pages
    kept = _opened.get(snap, (view, ask))
    if isinstance(kept, Pages):
        return kept
    title = card_title(pages)
    found = (footnote_pages(pages, await snap.sources(), title) if view == SOURCES
             else note_pages(pages, title))
    found.version = pages.version
    _opened.put(snap, (view, ask), found)
    return found


async def press(interaction: discord.Interaction, target: Press) -> None:
    """Answer a button press: turn the page in place for the asker, else a private copy."""
    message = interaction.message
    footer = None
    if message is not None and message.embeds:
        footer = message.embeds[0].footer.text
    arg = recover(footer, target)
    if arg is None:
        await send_notice(interaction, "Ask again", LOST)
        return
    ask = Ask(target.intent, arg, target.story)
    store = getattr(interaction.client, "store", None)
    if store is None:
        return
    async with store.snapshot() as snap:
        try:
            pages = await shown_pages(snap, ask, target.view)
        except ValueError:
            await send_notice(interaction, "Ask again", UNKNOWN)
            return
        except AskAgain as exc:  # an expired check, a conversation too long to replay
            await send_notice(interaction, exc.title, exc.notice)
            return
    stale = pages.version != target.version
    index = 0 if stale or target.role == OPEN else target.page - 1
    turn = target.role != OPEN and interaction.user.id == target.owner
    notices = [STALE] if stale else []
    if turn:
        payload = stamp(pages, index, ask=ask, owner=target.owner, version=pages.version,
                        view=target.view, notice="\n".join(notices))
        kwargs = message_kwargs(payload, edit=True)
        _keep_uploaded_picture(interaction, pages, kwargs, stale)
        await interaction.response.edit_message(**kwargs)
        return
    if target.role != OPEN:
        notices.insert(0, NOT_YOURS)
    payload = stamp(pages, index, ask=ask, owner=interaction.user.id, version=pages.version,
                    view=target.view, notice="\n".join(notices))
    await interaction.response.send_message(**message_kwargs(payload), ephemeral=True)


def _keep_uploaded_picture(interaction: discord.Interaction, pages: Pages,
                           kwargs: dict[str, Any], stale: bool) -> None:
    """A page turn keeps the picture this message uploaded (`kwargs` of its edit, changed in
    place): other answers in the server show it from here (uploads.py), and an edit that left
    it out would delete it. On a later page it rides along as the embed's thumbnail (a file
    no embed shows would appear below the message). On a new data version it goes: the new
    picture is uploaded and the old one is no longer shown from here. A message that shows
    the picture from the server's upload shows it from there again on page 1, uploading
    nothing."""
    message, uploaded = interaction.message, getattr(interaction.client, "uploaded", None)
    picture = picture_of(pages[0]) if pages else None
    if message is None or picture is None:
        return
    name = picture["filename"]
    held = next((a for a in message.attachments if a.filename == name), None)
    if held is None:  # a message showing it from the server's upload goes on doing so
        url = None if stale or uploaded is None else uploaded.address_for(
            scope_of(interaction), pages)
        if url is not None and any(f.filename == name for f in kwargs["attachments"]):
            kwargs["attachments"] = [f for f in kwargs["attachments"] if f.filename != name]
            kwargs["embeds"][0].set_image(url=url)
        return
    if stale:
        if uploaded is not None:
            uploaded.forget_messages([message.id])
        return
    kwargs["attachments"] = [held, *(f for f in kwargs["attachments"] if f.filename != name)]
    embeds = kwargs["embeds"]
    if embeds and embeds[0].image.url != f"attachment://{name}":
        embeds[0].set_thumbnail(url=f"attachment://{name}")


class _Stateless:
    """What every stateless button shares: built from its custom_id, answered by `press`."""

    target: Press

    @classmethod
    async def from_custom_id(cls, interaction: discord.Interaction[Any],
                             item: discord.ui.Item[Any], match: re.Match[str], /) -> Self:
        custom_id = getattr(item, "custom_id", None) or ""
        target = decode(custom_id)
        if target is None or not isinstance(item, discord.ui.Button):
            # The template matched, so this cannot happen; refuse rather than guess.
            raise ValueError(f"not a briefing button: {custom_id!r}")
        return cls(item, target)

    def __init__(self, item: discord.ui.Button[Any], target: Press) -> None:
        super().__init__(item)  # type: ignore[call-arg]
        self.target = target

    async def callback(self, interaction: discord.Interaction) -> None:
        try:
            await press(interaction, self.target)
        except discord.HTTPException:
            log.exception("could not answer a button press")
        except Exception:
            log.exception("answering a button press failed")
            await send_notice(interaction, "Something went wrong",
                              "Something went wrong on our side; it has been logged.")
        finally:
            release(interaction)  # handled: let reference counting free it (see send.release)


class PageButton(_Stateless, discord.ui.DynamicItem[discord.ui.Button[Any]],
                 template=template(CARD + SOURCES + NOTES, BACK + POSITION + NEXT)):
    """◀ and ▶ (and the position label): another page of the same answer."""


class SourcesButton(_Stateless, discord.ui.DynamicItem[discord.ui.Button[Any]],
                    template=template(SOURCES, OPEN)):
    """Sources: the answer's numbered citations, privately to whoever presses."""


class NotesButton(_Stateless, discord.ui.DynamicItem[discord.ui.Button[Any]],
                  template=template(NOTES, OPEN)):
    """Notes: the answer's discrepancy notes in full, privately to whoever presses."""


class RelatedButton(_Stateless, discord.ui.DynamicItem[discord.ui.Button[Any]],
                    template=template(CARD, OPEN)):
    """A related question ("Timeline", "Quotes" on a person; "Deal" on a transfer)."""


BUTTONS = (PageButton, SourcesButton, NotesButton, RelatedButton)
