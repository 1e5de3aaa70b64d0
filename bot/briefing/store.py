"""The briefing store: read-only queries over the built database, swapped atomically on reload.

Readers take a `Snapshot` (one database connection and its name index) for a whole answer, so
an answer comes entirely from the old data or entirely from the new, never from a mix. A reload
builds a new database file beside the old one; the old snapshot keeps serving until the build
has succeeded, and is closed once the last answer using it is done.

A snapshot's queries live in one reader per kind of record (bot/briefing/readers/) and the
name-resolution policy in bot/briefing/resolve.py; `Snapshot` puts them together over one
connection, and its readers' count lives in `Leased`.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import logging
from collections.abc import AsyncIterator
from pathlib import Path

import aiosqlite

from .build import BuildReport, build_database, build_or_last_good
from .facts import FactIndex
from .lease import Leased
from .names import Name, NameIndex
from .readers.deals import DealReader
from .readers.search import fts_query
from .readers.sources import SourceReader
from .records import EntityRef, Story
from .resolve import Resolver

__all__ = ["Snapshot", "Store", "fts_query"]

log = logging.getLogger(__name__)


class Snapshot(Resolver, DealReader, SourceReader, Leased):
    """One consistent view of the database: every query of one answer goes through one.

    Entities, events, quotes and claims, deals, search, sources and briefings each have their
    reader; `resolve` and `lookup` find an entity from typed text.
    """

    @classmethod
    async def open(cls, path: Path) -> Snapshot:
        """Open the database at `path` read-only and load what is kept in memory."""
        conn = await aiosqlite.connect(f"file:{path}?mode=ro", uri=True)
        try:
            conn.row_factory = aiosqlite.Row
            meta = {r["key"]: r["value"] for r in await conn.execute_fetchall(
                "SELECT key, value FROM meta")}
            sources = {(r["briefing_id"], r["id"]): dict(r) for r in await conn.execute_fetchall(
                "SELECT * FROM sources")}
            # The two bulk loads read plain tuples: Row lookups by name were a third of the
            # time a restart on a large corpus spent here.
            conn.row_factory = None
            entities = {
                (bid, eid): EntityRef(eid, name, kind, bid)
                for bid, eid, name, kind in await conn.execute_fetchall(
                    "SELECT briefing_id, id, name, kind FROM entities")
            }
            rows = await conn.execute_fetchall(
                "SELECT a.folded, a.alias, e.name, a.briefing_id, a.entity_id FROM aliases a "
                "JOIN entities e ON e.briefing_id = a.briefing_id AND e.id = a.entity_id "
                "ORDER BY e.briefing_id, e.position, a.is_name DESC")
            names = NameIndex([Name(*row) for row in rows])
            stories = tuple(Story(*row) for row in await conn.execute_fetchall(
                "SELECT id, title, summary, version, updated FROM briefings ORDER BY position"))
            conn.row_factory = aiosqlite.Row
        except BaseException:
            await conn.close()
            raise
        snap = cls(conn, names, meta, sources, entities)
        snap.stories = stories
        return snap

    #: Every story (briefing) of the snapshot, in file order, whatever the view's scope.
    stories: tuple[Story, ...] = ()
    _views: dict[str, Snapshot] | None = None

    def story(self, briefing_id: str | None) -> Snapshot:
        """This snapshot seen through one story: every reader, the names and the fact index
        keep that briefing's records only. None (or an unknown id) is the whole snapshot.

        A view shares the connection and lives as long as the snapshot (answers are cached
        per view, like per snapshot); it is never leased or closed on its own.
        """
        if briefing_id is None or self.scope is not None:
            return self
        if self._views is None:
            self._views = {}
        view = self._views.get(briefing_id)
        if view is None:
            if not any(s.id == briefing_id for s in self.stories):
                return self
            view = copy.copy(self)
            view.scope = briefing_id
            view.names = self.names.only(briefing_id)
            view._entities = {k: v for k, v in self._entities.items() if k[0] == briefing_id}
            view._facts = None
            view._views = None
            view.whole = self
            self._views[briefing_id] = view
        return view

    whole: Snapshot | None = None  # the snapshot a story's view was taken from

    def story_info(self, briefing_id: str | None) -> Story | None:
        """The story with this id, or None."""
        return next((s for s in self.stories if s.id == briefing_id), None)

    async def close(self) -> None:
        """Close the connection; the snapshot answers nothing after this."""
        await self.conn.close()

    _facts: FactIndex | None = None

    async def fact_index(self) -> FactIndex:
        """The snapshot's fact index (bot/briefing/facts.py), read on first use."""
        if self._facts is None:
            if self.whole is not None and self.scope is not None:
                self._facts = (await self.whole.fact_index()).only(self.scope)
            else:
                self._facts = await FactIndex.load(self.conn)
        return self._facts


class Store:
    """Owns the current snapshot; builds, reloads and closes."""

    def __init__(self, data_dir: Path, db_path: Path) -> None:
        self.data_dir = Path(data_dir)
        self.db_path = Path(db_path)
        self._current: Snapshot | None = None
        self._reload_lock = asyncio.Lock()
        self.last_build: BuildReport | None = None
        self._closed = False

    @property
    def current(self) -> Snapshot:
        """The snapshot new answers read from."""
        if self._current is None:
            raise RuntimeError("the store is not open")
        return self._current

    async def open(self, *, last_good: bool = False) -> BuildReport:
        """Build (or reuse) the database and start serving it. With `last_good` (the bot's
        start), files that cannot be built leave the last good database serving, with the
        problems in `last_build.problems`."""
        build = build_or_last_good if last_good else build_database
        report = await asyncio.to_thread(build, self.data_dir, self.db_path)
        self._closed = False
        self._current = await Snapshot.open(self.db_path)
        self.last_build = report
        return report

    async def reload(self, *, force: bool = True) -> BuildReport:
        """Rebuild from the files and swap; on any error the old snapshot keeps serving."""
        async with self._reload_lock:
            report = await asyncio.to_thread(build_database, self.data_dir, self.db_path,
                                             force=force)
            if self._closed:  # shut down while building: serve nothing new, open nothing
                log.info("store closed during a reload; the new database is not opened")
                return report
            fresh = await Snapshot.open(self.db_path)
            old, self._current = self._current, fresh
            self.last_build = report
            if old is not None:
                await old.retire()  # closes now, or when its last reader is done
            return report

    @contextlib.asynccontextmanager
    async def snapshot(self) -> AsyncIterator[Snapshot]:
        """The current snapshot, kept open until the caller is done with it."""
        async with self.current.lease() as snap:
            yield snap

    async def close(self) -> None:
        """Stop serving: close the current snapshot at once (shutdown does not wait)."""
        self._closed = True
        if self._current is not None:
            snap, self._current = self._current, None
            await snap.close()
