"""Requests as buttons re-ask them: answered from one snapshot, marked with its data version.

Shared by the Discord surface (slash commands, typed messages, button presses) and
`python -m bot ask`; no discord import.
"""

from __future__ import annotations

from .briefing.store import Snapshot, Store
from .render.buttons import TYPED, Ask, stamp
from .render.pages import Pages, Payload
from .router import Intent, clean, parse, respond

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


async def respond_to(snap: Snapshot, ask: Ask) -> Pages:
    """The router's answer to `ask` from one snapshot, marked with the snapshot's version.

    Raises ValueError for an intent the router does not know (a button of an older build).
    """
    if ask.intent == TYPED:
        request = parse(ask.arg)
        pages = await respond(snap, request.intent, request.arg, question=request.question)
    else:
        pages = await respond(snap, Intent(ask.intent), ask.arg)
    if not isinstance(pages, Pages):
        pages = Pages.of(list(pages))
    pages.version = data_version(snap)  # the same for every caller: pages live in one snapshot
    return pages


async def answer_ask(store: Store, ask: Ask) -> Pages:
    """Answer a request from the store's current snapshot."""
    async with store.snapshot() as snap:
        return await respond_to(snap, ask)


def stamped(pages: Pages, ask: Ask, owner: int = 0) -> list[Payload]:
    """Every page with the buttons it would carry (for the command line's preview)."""
    return [stamp(pages, i, ask=ask, owner=owner, version=pages.version)
            for i in range(len(pages))]
