"""Requests as buttons re-ask them: answered from one snapshot, marked with its data version,
from one story (bot/stories.py) that the answer names.

Shared by the Discord surface (slash commands, typed messages, button presses) and
`python -m bot ask`; no discord import.
"""

from __future__ import annotations

import collections
import hashlib
from collections.abc import Hashable, Iterable

from .answering.engine import MAX_TURNS
from .briefing.store import Snapshot, Store
from .render.buttons import CHECK, FOLLOWS, FOLLOWUP, TYPED, Ask, stamp, story_matches
from .render.cache import KeptPerVersion
from .render.pages import Pages, Payload
from .router import (
    CHECK_INPUT,
    ConversationMemory,
    Intent,
    MissSink,
    Outcome,
    answered,
    clean,
    mark_asked,
    parse,
    remembering,
    respond,
    respond_check,
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


# ---------------------------------------------------------------- checked messages
#
# A posted message can be 2,000 characters and a custom id holds 100, so a check's buttons
# carry a digest of the message's text, and the text is kept here, in this process's memory,
# for the most recent CHECKED_KEPT checks. Re-fetching the message by channel and message id
# would need the bot to read that channel, which a user-installed app (a server the bot is not
# in, a DM between two people) cannot; a digest works wherever the menu works. A press after
# the text is gone (a restart, a busy hour, another process) says so: run the check again.

CHECKED_KEPT = 2_000  # texts of checked messages kept (at most 2,000 characters each)
CHECK_DIGEST = 16  # hex characters of sha256 a check's buttons carry
CHECK_EXPIRED = ("This check has expired: the bot keeps a checked message only for a while. "
                 "Run **Check against the briefing** on the message again.")
_checked: collections.OrderedDict[str, str] = collections.OrderedDict()


class AskAgain(LookupError):
    """A button whose request can no longer be answered as it was first answered: the member
    is told (`title`, `notice`) to ask again, rather than shown another answer."""

    title = "Ask again"
    notice = "This answer can no longer be shown again. Ask the question again."


class CheckExpired(AskAgain):
    """A check's button whose message text is no longer kept."""

    title = "Check again"
    notice = CHECK_EXPIRED


class ConversationTooLong(AskAgain):
    """A follow-up's button whose conversation was too long for its button to carry."""

    notice = ("This answer followed a long conversation, which its buttons cannot replay. "
              "Ask the question again in full, in one message.")


def check_ask(text: str, story: str | None = None) -> Ask:
    """The request of "Check against the briefing" on a message's text, as its buttons re-ask
    it: the text's digest, the text kept for a while."""
    cleaned = clean(text, limit=CHECK_INPUT)
    key = hashlib.sha256(cleaned.encode("utf-8")).hexdigest()[:CHECK_DIGEST]
    _checked[key] = cleaned
    _checked.move_to_end(key)
    while len(_checked) > CHECKED_KEPT:
        _checked.popitem(last=False)
    return Ask(CHECK, key, clean(story or "", limit=100))


def checked_text(ask: Ask) -> str:
    """The text a check's request stands for; raises CheckExpired when it is gone."""
    text = _checked.get(ask.arg)
    if text is None:
        raise CheckExpired(ask.arg)
    return text


def _asked_text(ask: Ask) -> str:
    """The words a request's story is chosen by (a check: the message's text)."""
    if ask.intent == CHECK:
        return checked_text(ask)
    if ask.intent == FOLLOWUP:
        return ask.arg.replace(FOLLOWS, " ")
    return ask.arg


#: Characters of a conversation a follow-up's buttons carry: past a custom id's room it goes
#: in the embed's footer ("Asked: ..."), which must leave the embed within Discord's 6,000.
MAX_CARRIED = 500


def followup_ask(conversation: tuple[str, ...], story: str = "") -> Ask:
    """The request that asks a follow-up again with the questions it followed. One whose
    conversation cannot be carried (longer than MAX_TURNS or MAX_CARRIED characters, or a
    question holding the separator) has no questions: its buttons ask the member to ask
    again (ConversationTooLong) rather than answer the follow-up's words alone, which would
    answer something else."""
    joined = FOLLOWS.join(conversation)
    if (len(conversation) > MAX_TURNS or len(joined) > MAX_CARRIED
            or any(FOLLOWS in q for q in conversation)):
        return Ask(FOLLOWUP, "", story)
    return Ask(FOLLOWUP, joined, story)


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
    return choose(snap, asked=asked, defaults=defaults, text=_asked_text(ask), every=every)


# A command's answer as `respond_to` hands it out (story named, version marked), per snapshot,
# by the request and the stories chosen where it was asked: a command asked again there (the
# common case) then costs no choosing of a story, no router lookup and no copying of its
# pages. Kept only while the router remembers its answers (`answers_remembered(0)` turns
# this off too, so a profile of a first answer measures all of it).
# Beside the pages: the story view and intent they were answered through, so a hit still
# counts as asked for `router.warm` (which renders the commands asked lately at a reload).
_handed: KeptPerVersion[tuple[Ask, tuple[tuple[str, str], ...]],
                        tuple[Pages, str | None, Intent]] = KeptPerVersion()


def _remembered(snap: Snapshot, ask: Ask, where: tuple[tuple[str, str], ...]) -> Pages | None:
    """The pages `respond_to` handed out for the command `ask` where `where` chose, if kept
    (and marked asked again, for warming)."""
    if not remembering():
        return None
    handed = _handed.get(snap, (ask, where))
    if handed is None:
        return None
    named, story, intent = handed
    mark_asked(snap.story(story), intent, ask.arg)
    return named


def remembered(store: Store, ask: Ask, defaults: Defaults = ()) -> Pages | None:
    """A slash command's answer from the store's current snapshot when it was given before
    where the same stories are chosen (the common case), else None: found at once, with no
    lease and no await, since nothing is read from the snapshot. Then `answer_ask`."""
    if ask.intent in (TYPED, FOLLOWUP, CHECK):
        return None
    try:
        snap = store.current
    except RuntimeError:  # closed: answer_ask says so
        return None
    return _remembered(snap, ask, tuple(defaults))


async def respond_to(snap: Snapshot, ask: Ask, *, memory: ConversationMemory | None = None,
                     user: Hashable | None = None, defaults: Defaults = ()
                     ) -> tuple[Pages, Outcome | None]:
    """The router's answer to `ask` from one snapshot and one story, marked with the
    snapshot's version and the story (which every page names), and the outcome of a typed
    question (None for a command).

    `memory` and `user` let a typed follow-up refer to the user's previous question; its
    buttons then re-ask the conversation up to it (FOLLOWUP), which answers the same without
    the memory. `defaults` are the stories chosen where the question was asked. Raises
    ValueError for an intent the router does not know (a button of an older build), and
    CheckExpired for a check whose message text is no longer kept.
    """
    command = ask.intent not in (TYPED, FOLLOWUP, CHECK)
    where = tuple(defaults)
    kept = _remembered(snap, ask, where) if command else None
    if kept is not None:
        return kept, None
    outcome: Outcome | None = None
    chosen = choose_for(snap, ask, where)
    view = snap.story(chosen.id)
    if ask.intent == TYPED:
        pages, outcome = await respond_text(view, ask.arg, memory=memory, user=user)
    elif ask.intent == FOLLOWUP:
        if not ask.arg:
            raise ConversationTooLong()
        pages, outcome = await _respond_conversation(view, ask.arg.split(FOLLOWS))
    elif ask.intent == CHECK:
        pages = await respond_check(view, checked_text(ask))
    else:
        pages = await respond(view, Intent(ask.intent), ask.arg)
    named = name_story(pages, chosen.story, chosen.note)
    if outcome is not None and outcome.conversation:
        again = followup_ask(outcome.conversation)
        named.reask = (again.intent, again.arg)
    named.version = data_version(snap)  # the same for every caller: pages live in one snapshot
    # Buttons re-ask within the story; with one story there is nothing to choose between.
    named.story = (chosen.id or "") if len(snap.stories) > 1 else ""
    if command and remembering():
        _handed.put(snap, (ask, where), (named, chosen.id, Intent(ask.intent)))
    return named, outcome


async def _respond_conversation(view: Snapshot, questions: list[str]
                                ) -> tuple[list[Payload], Outcome | None]:
    """The last of `questions` answered after the others, in a conversation of its own."""
    memory, outcome = ConversationMemory(), None
    pages: list[Payload] = []
    for question in questions:
        pages, outcome = await respond_text(view, clean(question), memory=memory, user=0)
    return pages, outcome


async def answer_ask(store: Store, ask: Ask, *, memory: ConversationMemory | None = None,
                     user: Hashable | None = None, misses: MissSink | None = None,
                     defaults: Defaults = ()) -> Pages:
    """Answer a request from the store's current snapshot; `misses` keeps a typed question
    that ended in an abstention, for editors; `defaults` as for `respond_to`."""
    return await answered(store, lambda snap: respond_to(
        snap, ask, memory=memory, user=user, defaults=defaults), misses)


def stamped(pages: Pages, ask: Ask, owner: int = 0) -> list[Payload]:
    """Every page with the buttons it would carry (for the command line's preview)."""
    return [stamp(pages, i, ask=ask, owner=owner, version=pages.version)
            for i in range(len(pages))]
