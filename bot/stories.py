"""Which story an answer comes from, and how the answer says so.

A snapshot can hold several briefings ("stories"). An answer comes from one of them, chosen in
this order: the story asked for; the one story that holds an entity the question names; the
defaults of where it was asked (the channel's, the server's, in DMs the user's own); and
otherwise the most recently updated story. A default whose story was removed is skipped, and
the answer says so. `/search` without a story searches every story.

No discord import: the router, the requests and the command line share it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from .briefing.records import Story
from .briefing.store import Snapshot
from .briefing.text import fold
from .render.pages import AUTHOR, Pages, Payload, clip

MAX_NAME_WORDS = 5  # the longest alias looked for in a question, in words
# Words that are aliases in some briefing ("US") but say nothing about which story is meant.
_WEAK = frozenset("a an the us it he she they we i you of in on at to and or".split())

#: Where a default comes from, as the answer names it when that default is gone.
WHERE = {"channel": "this channel", "server": "this server", "user": "you"}


@dataclass(frozen=True, slots=True)
class Chosen:
    """The story an answer comes from (None: every story), why, and what to tell the asker."""

    story: Story | None
    reason: str  # asked, named, channel, server, user, latest, all, only
    note: str = ""  # e.g. that a default's story was removed; shown above the answer

    @property
    def id(self) -> str | None:
        return self.story.id if self.story else None


def latest(stories: Sequence[Story]) -> Story | None:
    """The most recently updated story (the first in file order among equals)."""
    best: Story | None = None
    for story in stories:
        if best is None or (story.updated or "") > (best.updated or ""):
            best = story
    return best


def named_story(snap: Snapshot, text: str) -> str | None:
    """The one story holding the entities `text` names, when only one does.

    Aliases are looked for as runs of up to MAX_NAME_WORDS words; a name several stories
    share ("US") tells nothing. A text naming entities of two stories names none.
    """
    words = fold(text).replace("?", " ").replace(",", " ").split()
    found: set[str] = set()
    for i in range(len(words)):
        for n in range(min(MAX_NAME_WORDS, len(words) - i), 0, -1):
            phrase = " ".join(words[i:i + n]).strip(".!;:'\"")
            if not phrase or phrase in _WEAK:
                continue
            holders = snap.names.briefings_named(phrase)
            if holders:
                if len(holders) == 1:
                    found |= holders
                break
    if len(found) == 1:
        return next(iter(found))
    if not found and text.strip():  # a command's argument: a prefix or close spelling
        lookup = snap.resolve(text)
        if lookup.matched and len(lookup.suggestions) == 1:
            return lookup.suggestions[0].briefing_id
    return None


def choose(snap: Snapshot, *, asked: str | None = None,
           defaults: Iterable[tuple[str, str]] = (), text: str = "",
           every: bool = False) -> Chosen:
    """The story to answer from (see the module's docstring for the order).

    `defaults` are (where, story id) pairs in order: channel, server, user. With `every`
    (a search) and no story asked for, the answer comes from every story.
    """
    stories = snap.stories
    notes: list[str] = []
    if asked:
        story = snap.story_info(asked) or _by_title(stories, asked)
        if story is not None:
            return Chosen(story, "asked")
        notes.append(f"ℹ️ There is no story `{clip(asked, 64)}`; see `/story list`.")
    if len(stories) <= 1:
        return Chosen(stories[0] if stories else None, "only", " ".join(notes))
    if every:
        return Chosen(None, "all", " ".join(notes))
    named = named_story(snap, text) if text else None
    if named is not None:
        return Chosen(snap.story_info(named), "named", " ".join(notes))
    for where, sid in defaults:
        story = snap.story_info(sid)
        if story is not None:
            return Chosen(story, where, " ".join(notes))
        notes.append(f"ℹ️ The story chosen for {WHERE.get(where, where)} (`{clip(sid, 64)}`) "
                     "is no longer in the briefings.")
    story = latest(stories)
    if notes and story is not None:
        notes.append(f"Answering from the most recently updated story, *{story.title}*.")
    return Chosen(story, "latest", " ".join(notes))


def _by_title(stories: Sequence[Story], text: str) -> Story | None:
    key = fold(text).strip()
    return next((s for s in stories if fold(s.title).strip() == key), None)


STORY_LABEL = "📰 "
ALL_STORIES = "📰 All stories"


def story_line(story: Story | None) -> str:
    """How an answer names its story (the embed's author line)."""
    return clip(ALL_STORIES if story is None else f"{STORY_LABEL}{story.title}", AUTHOR)


def name_story(pages: Sequence[Payload], story: Story | None, note: str = "") -> Pages:
    """The pages with their story named on every page's first embed, and `note` above the
    first page. Returns new payloads (the rendered pages are shared and stay unchanged)."""
    line = story_line(story)
    out = []
    for number, page in enumerate(pages):
        page = dict(page)
        embeds = list(page.get("embeds") or [])
        if embeds:
            embeds[0] = {**embeds[0], "author": {"name": line}}
            page["embeds"] = embeds
        if note and number == 0:
            page["content"] = f"{note}\n{page['content']}" if page.get("content") else note
        out.append(page)
    if isinstance(pages, Pages):
        return pages.replaced(out)
    return Pages.of(out)
