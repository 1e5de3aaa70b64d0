"""Files that travel with a page: how a rendered picture rides along with its payload.

A page that carries a picture lists it in its JSON the way Discord's own message payload
does, by file name, and its embed points at it::

    {"embeds": [{..., "image": {"url": "attachment://deal.png"}}],
     "attachments": [{"filename": "deal.png", "description": "Diagram of ..."}]}

The bytes travel beside the JSON, inside the same object: each entry of "attachments" is an
`Attachment`, a dict whose `.data` holds the file. So a page stays a JSON-able dict (printing
it prints the file name and description), and wherever a page goes (memoised, paged, sliced,
copied) its file goes with it, without another return value threaded through every caller.
The Discord send path turns each entry into a `discord.File`; the command line writes it out.

Pictures are drawn in a worker thread (Pillow releases the GIL while it encodes, and a draw
takes tens of milliseconds the event loop should not lose) and cached by data version (the
content hash of the built database) and what they show, so each is drawn once per version.
"""

from __future__ import annotations

import asyncio
import collections
import logging
from collections.abc import Callable, Hashable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from ..briefing.records import DealView, EntityRef, EventView
from .pages import Pages, Payload

if TYPE_CHECKING:  # Pillow is imported when the first picture is drawn, not at start-up
    from .pictures import Picture

log = logging.getLogger(__name__)

CACHE_SIZE = 32  # pictures kept across data versions: a few MB at most


class Attachment(dict[str, Any]):
    """One file of a page: JSON {"filename", "description"}; the bytes in `.data`."""

    __slots__ = ("data",)

    def __init__(self, filename: str, data: bytes, description: str = "") -> None:
        super().__init__(filename=filename, description=description)
        self.data = data

    def __reduce__(self) -> tuple[Any, ...]:  # copy and pickle keep the bytes
        return (Attachment, (self["filename"], self.data, self["description"]))


def attachments(page: Payload) -> list[Attachment]:
    """The files a page carries (those whose bytes are at hand)."""
    return [a for a in page.get("attachments", ()) if isinstance(a, Attachment)]


def with_picture(pages: Sequence[Payload], picture: Picture) -> list[Payload]:
    """The pages, the first one carrying `picture` as its embed's image.

    New dicts for the first page and its embed: pages are shared between callers.
    """
    if not pages or not pages[0].get("embeds"):
        return pages if isinstance(pages, Pages) else list(pages)
    first = dict(pages[0])
    embeds = [dict(e) for e in first["embeds"]]
    embeds[0]["image"] = {"url": f"attachment://{picture.filename}"}
    first["embeds"] = embeds
    first["attachments"] = [*first.get("attachments", ()),
                            Attachment(picture.filename, picture.png, picture.description)]
    payloads = [first, *pages[1:]]
    # The answer's Sources and Notes stay with its pages.
    return pages.replaced(payloads) if isinstance(pages, Pages) else payloads


# ---------------------------------------------------------------------------- drawing, cached

_cache: collections.OrderedDict[Hashable, Picture] = collections.OrderedDict()
_pending: dict[Hashable, asyncio.Task[Picture]] = {}


async def drawn(key: Hashable, draw: Callable[[], Picture]) -> Picture:
    """The picture for `key`, drawn once in a worker thread; concurrent askers share the draw."""
    picture = _cache.get(key)
    if picture is not None:
        _cache.move_to_end(key)
        return picture
    loop = asyncio.get_running_loop()
    task = _pending.get(key)
    if task is None or task.get_loop() is not loop:
        task = loop.create_task(asyncio.to_thread(draw))
        _pending[key] = task
        task.add_done_callback(lambda done: _keep(key, done))
    return await asyncio.shield(task)


def _keep(key: Hashable, task: asyncio.Task[Picture]) -> None:
    if _pending.get(key) is task:
        del _pending[key]
    if task.cancelled() or task.exception() is not None:
        return  # a failed draw is tried again by the next asker
    _cache[key] = task.result()
    while len(_cache) > CACHE_SIZE:
        _cache.popitem(last=False)


def clear_cache() -> None:
    """Forget every drawn picture (tests and benchmarks measure a cold draw)."""
    _cache.clear()


def _version(meta: Mapping[str, str]) -> str:
    return meta.get("content_hash", "")


async def _illustrated(pages: list[Payload], key: Hashable,
                       draw: Callable[[], Picture]) -> list[Payload]:
    """`pages` with the picture on the first; a picture that fails is left out, never the
    answer (the text says everything the picture shows)."""
    try:
        picture = await drawn(key, draw)
    except Exception:
        log.exception("could not draw the picture %s; answering without it", key)
        return pages
    return with_picture(pages, picture)


async def deal_pages(meta: Mapping[str, str], pages: list[Payload], deal: DealView,
                     filename: str = "deal.png") -> list[Payload]:
    """A deal's answer with its diagram attached to the first page."""
    story = deal.parties[0].briefing_id if deal.parties else ""

    def draw() -> Picture:
        from .pictures import deal_card

        return deal_card(deal, filename)

    return await _illustrated(pages, (_version(meta), "deal", story, deal.id, filename), draw)


async def timeline_pages(meta: Mapping[str, str], pages: list[Payload],
                         events: Sequence[EventView], actor: EntityRef | None = None
                         ) -> list[Payload]:
    """A timeline's answer with its strip attached to the first page (none when empty)."""
    if not events:
        return pages
    who = (actor.briefing_id, actor.id) if actor else None

    def draw() -> Picture:
        from .pictures import timeline_strip

        return timeline_strip(events, actor)

    return await _illustrated(pages, (_version(meta), "timeline", who), draw)
