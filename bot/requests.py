"""Requests as buttons re-ask them: answered from one snapshot, marked with its data version.

Shared by the Discord surface (slash commands, typed messages, button presses) and
`python -m bot ask`; no discord import.
"""

from __future__ import annotations

from collections.abc import Hashable

from .briefing.store import Snapshot, Store
from .render.buttons import TYPED, Ask, stamp
from .render.pages import Pages, Payload
from .router import (
    ConversationMemory,
    Intent,
    MissSink,
    Outcome,
    clean,
    record_miss,
    respond,
    respond_text,
)

VERSION = 8  # hex characters of the data's content hash that a button carries


def data_version(snap: Snapshot) -> str:
    """A short name for the data a snapshot holds: the start of its content hash."""
    return (snap.meta.get("content_hash") or "")[:VERSION].lower()


def command_ask(intent: Intent, arg: str | None = None) -> Ask:
    """The request of a slash command, as its buttons re-ask it."""
    return Ask(str(intent), clean(arg or ""))


def typed_ask(text: str) -> Ask:
    """The request of a typed question (a DM or a mention), as its buttons re-ask it."""
    return Ask(TYPED, clean(text))


async def respond_to(snap: Snapshot, ask: Ask, *, memory: ConversationMemory | None = None,
                     user: Hashable | None = None) -> tuple[Pages, Outcome | None]:
    """The router's answer to `ask` from one snapshot, marked with the snapshot's version, and
    the outcome of a typed question (None for a command).

    `memory` and `user` let a typed follow-up refer to the user's previous question; a button
    re-asks without them, so it re-answers the words as typed. Raises ValueError for an intent
    the router does not know (a button of an older build).
    """
    outcome: Outcome | None = None
    if ask.intent == TYPED:
        pages, outcome = await respond_text(snap, ask.arg, memory=memory, user=user)
    else:
        pages = await respond(snap, Intent(ask.intent), ask.arg)
    if not isinstance(pages, Pages):
        pages = Pages.of(list(pages))
    pages.version = data_version(snap)  # the same for every caller: pages live in one snapshot
    return pages, outcome


async def answer_ask(store: Store, ask: Ask, *, memory: ConversationMemory | None = None,
                     user: Hashable | None = None, misses: MissSink | None = None) -> Pages:
    """Answer a request from the store's current snapshot; `misses` keeps a typed question
    that ended in an abstention, for editors."""
    async with store.snapshot() as snap:
        pages, outcome = await respond_to(snap, ask, memory=memory, user=user)
    await record_miss(outcome, misses)
    return pages


def stamped(pages: Pages, ask: Ask, owner: int = 0) -> list[Payload]:
    """Every page with the buttons it would carry (for the command line's preview)."""
    return [stamp(pages, i, ask=ask, owner=owner, version=pages.version)
            for i in range(len(pages))]
