"""Requests as buttons re-ask them: answered from one snapshot, marked with its data version,
from one story (bot/stories.py) that the answer names.

Shared by the Discord surface (slash commands, typed messages, button presses) and
`python -m bot ask`; no discord import.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable

from .briefing.store import Snapshot, Store
from .render.buttons import TYPED, Ask, stamp, story_matches
from .render.pages import Pages, Payload
from .router import (
    ConversationMemory,
    Intent,
    MissSink,
    Outcome,
    clean,
    parse,
    record_miss,
    respond,
    respond_text,
)
from .stories import Chosen, choose, name_story

Defaults = Iterable[tuple[str, str]]  # (where, story id): channel, server, user, in that order

VERSION = 8  # hex characters of the data's content hash that a button carries


def data_version(snap: Snapshot) -> str:
    """A short name for the data a snapshot holds: the start of its content hash."""
    return (snap.meta.get("content_hash") or "")[:VERSION].lower()


def command_ask(intent: Intent, arg: str | None = None, story: str | None = None) -> Ask:
    """The request of a slash command, as its buttons re-ask it (within `story` if given)."""
    return Ask(str(intent), clean(arg or ""), clean(story or "", limit=100))


def typed_ask(text: str, story: str | None = None) -> Ask:
    """The request of a typed question (a DM or a mention), as its buttons re-ask it."""
    return Ask(TYPED, clean(text), clean(story or "", limit=100))


def choose_for(snap: Snapshot, ask: Ask, defaults: Defaults = ()) -> Chosen:
    """The story `ask` is answered from: the one it names (a button's story token, an id or
    a title), else as bot/stories.py orders the fallbacks. A search without a story searches
    every story."""
    asked = ask.story or None
    if asked:
        asked = next((s.id for s in snap.stories if story_matches(asked, s.id)), asked)
    typed = parse(ask.arg) if ask.intent == TYPED else None
    every = ask.intent == Intent.search or (
        typed is not None and typed.command and typed.intent is Intent.search)
    return choose(snap, asked=asked, defaults=defaults, text=ask.arg, every=every)


async def respond_to(snap: Snapshot, ask: Ask, *, memory: ConversationMemory | None = None,
                     user: Hashable | None = None, defaults: Defaults = ()
                     ) -> tuple[Pages, Outcome | None]:
    """The router's answer to `ask` from one snapshot and one story, marked with the
    snapshot's version and the story (which every page names), and the outcome of a typed
    question (None for a command).

    `memory` and `user` let a typed follow-up refer to the user's previous question; a button
    re-asks without them, so it re-answers the words as typed. `defaults` are the stories
    chosen where the question was asked. Raises ValueError for an intent the router does not
    know (a button of an older build).
    """
    outcome: Outcome | None = None
    chosen = choose_for(snap, ask, defaults)
    view = snap.story(chosen.id)
    if ask.intent == TYPED:
        pages, outcome = await respond_text(view, ask.arg, memory=memory, user=user)
    else:
        pages = await respond(view, Intent(ask.intent), ask.arg)
    named = name_story(pages, chosen.story, chosen.note)
    named.version = data_version(snap)  # the same for every caller: pages live in one snapshot
    # Buttons re-ask within the story; with one story there is nothing to choose between.
    named.story = (chosen.id or "") if len(snap.stories) > 1 else ""
    return named, outcome


async def answer_ask(store: Store, ask: Ask, *, memory: ConversationMemory | None = None,
                     user: Hashable | None = None, misses: MissSink | None = None,
                     defaults: Defaults = ()) -> Pages:
    """Answer a request from the store's current snapshot; `misses` keeps a typed question
    that ended in an abstention, for editors; `defaults` as for `respond_to`."""
    async with store.snapshot() as snap:
        pages, outcome = await respond_to(snap, ask, memory=memory, user=user,
                                          defaults=defaults)
    await record_miss(outcome, misses)
    return pages


def stamped(pages: Pages, ask: Ask, owner: int = 0) -> list[Payload]:
    """Every page with the buttons it would carry (for the command line's preview)."""
    return [stamp(pages, i, ask=ask, owner=owner, version=pages.version)
            for i in range(len(pages))]
