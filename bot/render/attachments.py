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

Hosted pictures (`PictureHost`, the operator's PICTURES_DIR and PICTURES_URL): instead of
uploading the same PNG with every answer, the picture is written once into a folder that the
operator's web server serves, named by its content (so a name never changes what it shows and
can be cached forever), and the embed's image is its address. Discord fetches it once through
its media proxy. An upload per answer is what Discord's embeds need out of the box; hosting is
for bots that answer thousands of times a version. A picture that cannot be written is
attached as before: the answer is never lost to a full disk.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import ctypes
import functools
import hashlib
import logging
import os
import tempfile
from collections.abc import Callable, Hashable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..briefing.records import DealView, EntityRef, EventView
from .pages import Pages, Payload

if TYPE_CHECKING:  # Pillow is imported when the first picture is drawn, not at start-up
    from .pictures import Picture

log = logging.getLogger(__name__)

CACHE_SIZE = 32  # pictures kept across data versions: a few MB at most


class Attachment(dict[str, Any]):
    """One file of a page: JSON {"filename", "description"}; the bytes in `.data`, and in
    `.content` a name made from them (`PictureHost.name_of`; "" if none was given), by which
    the send path knows a picture it uploaded before."""

    __slots__ = ("data", "content")

    def __init__(self, filename: str, data: bytes, description: str = "",
                 content: str = "") -> None:
        super().__init__(filename=filename, description=description)
        self.data = data
        self.content = content

    def __reduce__(self) -> tuple[Any, ...]:  # copy and pickle keep the bytes
        return (Attachment, (self["filename"], self.data, self["description"], self.content))


def attachments(page: Payload) -> list[Attachment]:
    """The files a page carries (those whose bytes are at hand)."""
    return [a for a in page.get("attachments", ()) if isinstance(a, Attachment)]


def with_picture(pages: Sequence[Payload], picture: Picture,
                 url: str | None = None) -> list[Payload]:
    """The pages, the first one carrying `picture` as its embed's image: attached, or at
    `url` where it is hosted (then nothing is uploaded).

    New dicts for the first page and its embed: pages are shared between callers.
    """
    if not pages or not pages[0].get("embeds"):
        return pages if isinstance(pages, Pages) else list(pages)
    first = dict(pages[0])
    embeds = [dict(e) for e in first["embeds"]]
    embeds[0]["image"] = {"url": url or f"attachment://{picture.filename}"}
    first["embeds"] = embeds
    if url is None:
        first["attachments"] = [*first.get("attachments", ()),
                                Attachment(picture.filename, picture.png, picture.description,
                                           PictureHost.name_of(picture))]
    payloads = [first, *pages[1:]]
    # The answer's Sources and Notes stay with its pages.
    return pages.replaced(payloads) if isinstance(pages, Pages) else payloads


def shown_at(pages: Sequence[Payload], url: str) -> list[Payload]:
    """The pages with the first page's picture shown from `url` instead of attached (its
    Sources and Notes kept); the pages as they are if their first page attaches nothing."""
    if not pages or not attachments(pages[0]):
        return pages if isinstance(pages, Pages) else list(pages)
    first = dict(pages[0])
    embeds = [dict(e) for e in first.get("embeds", ())]
    if embeds:
        embeds[0]["image"] = {"url": url}
        first["embeds"] = embeds
    kept = [a for a in first["attachments"] if not isinstance(a, Attachment)]
    if kept:
        first["attachments"] = kept
    else:
        del first["attachments"]
    payloads = [first, *pages[1:]]
    return pages.replaced(payloads) if isinstance(pages, Pages) else payloads


# ---------------------------------------------------------------------------- hosted pictures


@dataclass(frozen=True, slots=True)
class PictureHost:
    """Where hosted pictures go: `directory`, served by the operator's web server at
    `base_url` (no trailing slash)."""

    directory: Path
    base_url: str

    @staticmethod
    def name_of(picture: Picture) -> str:
        """`timeline-<hash>.png`: the drawn file's stem and 16 hex digits of its bytes' SHA-256,
        so another picture never takes an address a reader's client or a cache has seen."""
        stem, dot, ext = picture.filename.rpartition(".")
        digest = hashlib.sha256(picture.png).hexdigest()[:16]
        return f"{stem or ext}-{digest}.{ext if dot else 'png'}"

    def url_of(self, picture: Picture) -> str:
        return f"{self.base_url}/{self.name_of(picture)}"

    def write(self, picture: Picture) -> Path:
        """Write the picture under its name unless it is there; whole or not at all (a temp
        file renamed into place), so a web server never serves half a PNG. Blocking I/O."""
        path = self.directory / self.name_of(picture)
        if path.is_file() and path.stat().st_size == len(picture.png):
            return path  # the same name is the same bytes: written by an earlier start
        # Not its parents: a folder on a mount that went away is an error (the picture is
        # then attached), not a new folder on the local disk that no web server serves.
        self.directory.mkdir(exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".picture-", suffix=".tmp", dir=self.directory)
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(picture.png)
            os.chmod(tmp, 0o644)  # read by the web server's user
            os.replace(tmp, path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
        return path


def host_for(directory: Path | None, base_url: str | None) -> PictureHost | None:
    """PICTURES_DIR and PICTURES_URL as a host, its folder made and found writable (OSError if
    not: the operator is told at start, not at the first /timeline); None when either is
    unset (the settings refuse one without the other): pictures are then attached."""
    if directory is None or base_url is None:
        return None
    directory.mkdir(parents=True, exist_ok=True)
    # A probe of its own (processes sharing the folder may start together).
    fd, probe = tempfile.mkstemp(prefix=".write-test-", dir=directory)
    os.close(fd)
    os.unlink(probe)
    return PictureHost(directory, base_url.rstrip("/"))


_host: PictureHost | None = None


def host() -> PictureHost | None:
    """Where pictures are hosted, or None: they are attached to the answers."""
    return _host


@contextlib.contextmanager
def hosted_at(where: PictureHost | None) -> Iterator[None]:
    """Within the block, pictures are written to `where` and shown from its address (None:
    attached). Set for the life of the bot by serve() from PICTURES_DIR and PICTURES_URL;
    answers kept from before keep what they had (a reload renders them anew)."""
    global _host
    before, _host = _host, where
    try:
        yield
    finally:
        _host = before


async def _hosted_url(where: PictureHost, picture: Picture) -> str | None:
    """The picture's address once it is in the folder (checked in a worker thread each time
    an answer is rendered: once per answer and data version, so a file deleted since is
    written again at the next data version or start), or None if it could not be written:
    the caller attaches it instead."""
    try:
        await asyncio.to_thread(where.write, picture)
    except OSError as exc:
        log.warning("could not write the picture %s into PICTURES_DIR (%s); attaching it to "
                    "the answer instead", where.name_of(picture), exc)
        return None
    return where.url_of(picture)


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
        task = loop.create_task(asyncio.to_thread(_draw_and_release, draw))
        _pending[key] = task
        task.add_done_callback(lambda done: _keep(key, done))
    return await asyncio.shield(task)


def _draw_and_release(draw: Callable[[], Picture]) -> Picture:
    """Draw, then give the memory the draw freed back to the system (glibc keeps a worker
    thread's freed memory: the first /timeline left the bot's RSS 14 MB higher for good)."""
    try:
        return draw()
    finally:
        trim = _malloc_trim()
        if trim is not None:
            trim(0)


@functools.cache
def _malloc_trim() -> Callable[[int], int] | None:
    """glibc's malloc_trim, or None where there is none (musl, macOS, Windows)."""
    try:
        return ctypes.CDLL(None).malloc_trim  # type: ignore[no-any-return]
    except (OSError, AttributeError, TypeError):
        return None


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
    where = _host
    url = await _hosted_url(where, picture) if where is not None else None
    return with_picture(pages, picture, url)


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
