"""The briefing store: read-only queries over the built database, swapped atomically on reload.

Readers take a `Snapshot` (one database connection and its name index) for a whole answer, so
an answer comes entirely from the old data or entirely from the new, never from a mix. A reload
builds a new database file beside the old one, in a child process (bot/briefing/isolated.py);
the old snapshot keeps serving until the build has succeeded, and is closed once the last
answer using it is done.

A snapshot's queries live in one reader per kind of record (bot/briefing/readers/) and the
name-resolution policy in bot/briefing/resolve.py; `Snapshot` puts them together over one
connection, and its readers' count lives in `Leased`.
"""

from __future__ import annotations

import asyncio
import copy
import logging
import sqlite3
import threading
import time
from collections.abc import Awaitable, Callable, Iterator, Mapping
from pathlib import Path
from typing import Any, TypeVar

import aiosqlite

from .build import (
    LAST_GOOD_ERRORS,
    STORE_VERSION,
    BuildReport,
    builder_version,
    current_build,
    last_good,
    remove_abandoned_builds,
)
from .facts import FactIndex
from .isolated import BuildWorker, build_in_child
from .lease import Lease, Leased
from .names import MAX_CHOICES, Name, NameIndex
from .readers.deals import DealReader
from .readers.search import fts_query
from .readers.sources import SourceReader
from .records import EntityRef, Story
from .resolve import Resolver
from .text import fold

__all__ = ["Snapshot", "Store", "fts_query"]

log = logging.getLogger(__name__)

V = TypeVar("V")


class _Keyed(Mapping[tuple[str, str], V]):
    """Rows of one table by (briefing id, id), each read when first asked for.

    Reading every entity and source at open was most of an unchanged restart on a large
    corpus; an answer needs a handful. A primary-key select on the snapshot's own read-only
    connection (opened with it, so it reads the same file) takes microseconds, which is why
    it is done synchronously where the readers look a key up.
    """

    def __init__(self, conn: sqlite3.Connection, lock: threading.Lock, sql: str,
                 make: Callable[[sqlite3.Row], V]) -> None:
        self._conn, self._lock, self._sql, self._make = conn, lock, sql, make
        self._cache: dict[tuple[str, str], V | None] = {}

    def __getitem__(self, key: tuple[str, str]) -> V:
        if key not in self._cache:
            with self._lock:
                row = self._conn.execute(self._sql, key).fetchone()
            self._cache[key] = self._make(row) if row is not None else None
        value = self._cache[key]
        if value is None:
            raise KeyError(key)
        return value

    def __iter__(self) -> Iterator[tuple[str, str]]:
        raise TypeError("rows are looked up by key, not listed")

    def __len__(self) -> int:
        raise TypeError("rows are looked up by key, not counted")


class _OneBriefing(Mapping[tuple[str, str], V]):
    """A keyed mapping seen through one briefing: other briefings' keys are not there."""

    def __init__(self, whole: Mapping[tuple[str, str], V], briefing_id: str) -> None:
        self._whole, self._briefing_id = whole, briefing_id

    def __getitem__(self, key: tuple[str, str]) -> V:
        if key[0] != self._briefing_id:
            raise KeyError(key)
        return self._whole[key]

    def __iter__(self) -> Iterator[tuple[str, str]]:
        raise TypeError("rows are looked up by key, not listed")

    def __len__(self) -> int:
        raise TypeError("rows are looked up by key, not counted")


class _Names:
    """The name index, built on first use; an exact name is found with the database's own
    index on folded aliases without it, so a restart's first `/who` does not wait for it.

    Same answers as NameIndex: `exact` returns the names in the index's order.
    """

    def __init__(self, conn: sqlite3.Connection, lock: threading.Lock) -> None:
        self._conn, self._lock = conn, lock
        self._index: NameIndex | None = None

    @property
    def index(self) -> NameIndex:
        """The full in-memory index (autocomplete, prefixes, close spellings)."""
        if self._index is None:
            with self._lock:
                if self._index is None:
                    rows = self._conn.execute(_NAMES_SQL.format(where="")).fetchall()
                    self._index = NameIndex([Name(*row) for row in rows])
        return self._index

    def exact(self, text: str) -> list[Name]:
        if self._index is not None:
            return self._index.exact(text)
        with self._lock:
            rows = self._conn.execute(_NAMES_SQL.format(where="WHERE a.folded = ?"),
                                      (fold(text),)).fetchall()
        return [Name(*row) for row in rows]

    def complete(self, text: str, limit: int = MAX_CHOICES) -> list[Name]:
        return self.index.complete(text, limit)

    def best_close(self, text: str, cutoff: float = 88.0) -> Name | None:
        return self.index.best_close(text, cutoff)

    def only(self, briefing_id: str) -> NameIndex:
        """The names of one briefing (a story's own index)."""
        return self.index.only(briefing_id)

    def briefings_named(self, text: str) -> set[str]:
        """The briefings that hold an entity named exactly `text`."""
        return {n.briefing_id for n in self.exact(text)}

    def __len__(self) -> int:
        return len(self.index)


_NAMES_SQL = (
    "SELECT a.folded, a.alias, e.name, a.briefing_id, a.entity_id FROM aliases a "
    "JOIN entities e ON e.briefing_id = a.briefing_id AND e.id = a.entity_id {where} "
    "ORDER BY e.briefing_id, e.position, a.is_name DESC")


class Snapshot(Resolver, DealReader, SourceReader, Leased):
    """One consistent view of the database: every query of one answer goes through one.

    Entities, events, quotes and claims, deals, search, sources and briefings each have their
    reader; `resolve` and `lookup` find an entity from typed text.
    """

    _keys: sqlite3.Connection | None = None

    @classmethod
    async def open(cls, path: Path) -> Snapshot:
        """Open the database at `path` read-only; what is kept in memory is read on demand."""
        conn = await aiosqlite.connect(f"file:{path}?mode=ro", uri=True)
        keys: sqlite3.Connection | None = None
        try:
            conn.row_factory = aiosqlite.Row
            # Opened now, beside `conn`: a reload renames a new file over `path`, and this
            # snapshot must go on reading the one it was opened on.
            keys = sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False)
            keys.row_factory = sqlite3.Row
            # Read here rather than through `conn`: a few rows, without a hop to its thread.
            # `inputs` (what each briefing was built from) is for the next build, not answers.
            meta = {r["key"]: r["value"] for r in keys.execute(
                "SELECT key, value FROM meta WHERE key <> 'inputs'")}
            lock = threading.Lock()
            sources: _Keyed[dict[str, Any]] = _Keyed(
                keys, lock, "SELECT * FROM sources WHERE briefing_id = ? AND id = ?", dict)
            entities: _Keyed[EntityRef] = _Keyed(
                keys, lock, "SELECT id, name, kind, briefing_id FROM entities "
                            "WHERE briefing_id = ? AND id = ?", lambda r: EntityRef(*r))
            names = _Names(keys, lock)
            stories = tuple(Story(*row) for row in keys.execute(
                "SELECT id, title, summary, version, updated FROM briefings ORDER BY position"))
        except BaseException:
            await conn.close()
            if keys is not None:
                keys.close()
            raise
        snap = cls(conn, names, meta, sources, entities)  # type: ignore[arg-type]
        snap._keys = keys
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
            view._entities = _OneBriefing(self._entities, briefing_id)
            view._facts = None
            view._views = None
            view.whole = self
            self._views[briefing_id] = view
        return view

    whole: Snapshot | None = None  # the snapshot a story's view was taken from

    def story_views(self) -> dict[str, Snapshot]:
        """The story views made so far (by `story`), by briefing id; none is made here."""
        return dict(self._views or {})

    def story_info(self, briefing_id: str | None) -> Story | None:
        """The story with this id, or None."""
        return next((s for s in self.stories if s.id == briefing_id), None)

    async def close(self) -> None:
        """Close the connection; the snapshot answers nothing after this."""
        await self.conn.close()
        if self._keys is not None:
            self._keys.close()

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

    #: Whether the files were compared with the served database: False after
    #: `open(check_files=False)` served the last database unchecked, until `check_files`.
    files_checked = True

    async def open(self, *, last_good: bool = False, check_files: bool = True) -> BuildReport:
        """Build (or reuse) the database and start serving it. With `last_good` (the bot's
        start), files that cannot be built leave the last good database serving, with the
        problems in `last_build.problems`.

        With `check_files=False` (the bot's start) an existing database that this code
        built is served at once, without looking at the files: call `check_files` next,
        which swaps in a build of them if they changed. Without one, this builds first.
        """
        if not check_files and await self._open_last():
            assert self.last_build is not None
            return self.last_build
        try:
            report = await self._build(force=False, last_good_on_error=last_good)
        except BaseException:  # nothing of a store that did not open is left running
            if self._builds is not None:
                await self._builds.close()
            raise
        self._closed = False
        self._current = await Snapshot.open(self.db_path)
        self.last_build = report
        self.files_checked = True
        return report

    async def _open_last(self) -> bool:
        """Serve the database at `db_path` as it is, if this code's build wrote it."""
        started = time.perf_counter()
        if not self.db_path.is_file():
            return False
        try:
            snap = await Snapshot.open(self.db_path)
        except sqlite3.Error:  # not a database, or no meta table: build one
            return False
        meta = snap.meta
        if (meta.get("store_version") != STORE_VERSION or "content_hash" not in meta
                or meta.get("builder") != builder_version()):
            # Another release's database: its tables may not be what this code reads.
            await snap.close()
            return False
        self._closed = False
        self._current = snap
        self.files_checked = False
        self.last_build = BuildReport(self.db_path, meta["content_hash"], False,
                                      time.perf_counter() - started,
                                      int(meta.get("briefings", 0)), int(meta.get("records", 0)))
        return True

    async def check_files(self) -> BuildReport:
        """Compare the files with the served database (their signature, then their
        contents) and, when they differ, rebuild and swap through `reload`.

        Never raises for the files or the disk: a build that fails leaves the served
        database serving, with the problems in `last_build.problems` (as a start on broken
        files does, so /admin status shows them). Returns the report; `rebuilt` when new
        data is now served.
        """
        try:
            current = await asyncio.to_thread(self._reuse_check, False)
            if current is None:  # changed while nobody looked: the reload path swaps
                return await self.reload(force=True)
            served = self._current.meta.get("content_hash") if self._current else None
            if served is not None and current.content_hash != served:
                # The file on disk is current but is not what is served: another process
                # sharing the database rebuilt it after this one opened it. Swap it in
                # (no build: it is already what the files say).
                return await self.reload(force=False)
            report = current
        except LAST_GOOD_ERRORS as exc:
            report = await asyncio.to_thread(last_good, exc, self.data_dir, self.db_path)
        finally:
            self.files_checked = True
        if not self._closed:
            self.last_build = report
        return report

    async def reload(self, *, force: bool = True,
                     warm: Callable[[Snapshot, Snapshot], Awaitable[object]] | None = None
                     ) -> BuildReport:
        """Rebuild from the files and swap; on any error the old snapshot keeps serving.

        `warm(old, fresh)` runs before the swap (e.g. renders what the old one was asked
        most), so that the first answers on the new data do not all start cold at once; a
        failure there is logged and the fresh snapshot serves cold."""
        async with self._reload_lock:
            report = await self._build(force=force)
            if self._closed:  # shut down while building: serve nothing new, open nothing
                log.info("store closed during a reload; the new database is not opened")
                return report
            fresh = await Snapshot.open(self.db_path)
            if warm is not None and self._current is not None:
                try:
                    await warm(self._current, fresh)
                except Exception:  # noqa: BLE001  (warming is an optimisation only)
                    log.exception("warming the reloaded data failed; it serves cold")
                except BaseException:  # cancelled: the fresh snapshot never served
                    await fresh.close()
                    raise
                if self._closed:
                    await fresh.close()
                    return report
            old, self._current = self._current, fresh
            self.last_build = report
            if old is not None:
                await old.retire()  # closes now, or when its last reader is done
            return report

    async def _build(self, *, force: bool, last_good_on_error: bool = False) -> BuildReport:
        """Reuse the database when it is current (a check of the files' signature, cheap
        enough for this process), else build it in a child process: parsing and validating
        hold the GIL for seconds, which in this process would stall every answer."""
        try:
            current = await asyncio.to_thread(self._reuse_check, force)
            if current is not None:
                return current
            return await build_in_child(self.data_dir, self.db_path, force=force,
                                        worker=self.builds)
        except LAST_GOOD_ERRORS as exc:
            if not last_good_on_error:
                raise
            return await asyncio.to_thread(last_good, exc, self.data_dir, self.db_path)

    _builds: BuildWorker | None = None

    @property
    def builds(self) -> BuildWorker:
        """The warm build process this store's builds run in (started on first use, or
        ahead of it by `prepare_reloads`; ended by `close`)."""
        if self._builds is None:
            self._builds = BuildWorker()
        return self._builds

    async def prepare_reloads(self) -> None:
        """Start the build worker now, so that the first reload finds it warm."""
        await self.builds.start()

    def _reuse_check(self, force: bool) -> BuildReport | None:
        """In a worker thread (one hop for both): clear a killed build's leftovers, which go
        also when nothing is rebuilt, then the report of reusing the database when current."""
        remove_abandoned_builds(self.db_path)
        return None if force else current_build(self.data_dir, self.db_path)

    def snapshot(self) -> Lease[Snapshot]:
        """The current snapshot, kept open until the caller is done with it (`async with`)."""
        return self.current.lease()

    async def close(self) -> None:
        """Stop serving: close the current snapshot at once (shutdown does not wait)."""
        self._closed = True
        if self._current is not None:
            snap, self._current = self._current, None
            await snap.close()
        if self._builds is not None:
            await self._builds.close()
