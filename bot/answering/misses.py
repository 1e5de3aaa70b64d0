"""Questions the briefing could not answer, kept for its editors.

Only the question's text, when it was first and last asked and how often: never who asked or
where. The log is small and bounded (at most `MAX_ROWS` distinct questions, none older than
`MAX_AGE_DAYS`) and is never part of the rebuilt briefing database. One setting
(`MISSES_ENABLED`) turns it off.

Two backends behind one async interface (`MissStore`), picked by `open_misses`: Redis when
REDIS_URL is set (every process adds to one log), else a small SQLite file under var/ beside
the bot's other writable files. Recording never raises and never holds an answer up for long.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import redis.asyncio as aioredis

from ..briefing.text import fold
from ..settings_store.common import READ_TIMEOUT, SettingsUnavailable
from ..settings_store.redis import Keys, Reach, client_from_url, prefixed

if TYPE_CHECKING:
    from ..cluster import Cluster
    from ..settings import Settings

log = logging.getLogger("bot.misses")

MAX_ROWS = 2000
MAX_AGE_DAYS = 90
MAX_TEXT = 300  # characters of a question kept


@dataclass(frozen=True, slots=True)
class Miss:
    question: str
    count: int
    first_asked: float
    last_asked: float


class MissLog:
    """A small SQLite file of unanswered questions; thread-safe, never raises on write."""

    def __init__(self, path: Path, *, max_rows: int = MAX_ROWS,
                 max_age_days: float = MAX_AGE_DAYS) -> None:
        self.path = Path(path)
        self.max_rows = max_rows
        self.max_age = max_age_days * 86400
        self._lock = threading.Lock()

    @contextlib.contextmanager
    def _conn(self) -> Iterator[sqlite3.Connection]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(self.path, timeout=2.0)
        try:
            conn.execute("CREATE TABLE IF NOT EXISTS misses(key TEXT PRIMARY KEY, question TEXT "
                         "NOT NULL, count INTEGER NOT NULL, first_asked REAL, last_asked REAL)")
            yield conn
            conn.commit()
        finally:
            conn.close()

    def record(self, question: str, *, now: float | None = None) -> None:
        """Count one more asking of `question` (its folded text is the key)."""
        text, key = keyed(question)
        if not key:
            return
        now = time.time() if now is None else now
        with self._lock:
            try:
                with self._conn() as conn:
                    conn.execute(
                        "INSERT INTO misses VALUES (?, ?, 1, ?, ?) ON CONFLICT(key) DO UPDATE "
                        "SET count = count + 1, last_asked = excluded.last_asked",
                        (key, text, now, now))
                    self._prune(conn, now)
            except sqlite3.Error:
                pass  # a full disk must not stop the bot answering; editors lose one line

    def _prune(self, conn: sqlite3.Connection, now: float) -> None:
        conn.execute("DELETE FROM misses WHERE last_asked < ?", (now - self.max_age,))
        conn.execute("DELETE FROM misses WHERE key NOT IN (SELECT key FROM misses ORDER BY "
                     "last_asked DESC LIMIT ?)", (self.max_rows,))

    def top(self, limit: int = 50, *, now: float | None = None) -> list[Miss]:
        """The questions asked most often (then most recently), within the age limit."""
        if not self.path.is_file():
            return []
        now = time.time() if now is None else now
        with self._lock, self._conn() as conn:
            rows = conn.execute(
                "SELECT question, count, first_asked, last_asked FROM misses WHERE "
                "last_asked >= ? ORDER BY count DESC, last_asked DESC LIMIT ?",
                (now - self.max_age, limit)).fetchall()
        return [Miss(*row) for row in rows]

    def everything(self, *, now: float | None = None) -> list[tuple[str, Miss]]:
        """Every question kept (with the key it is counted under) within the age limit, read
        without changing the file; empty when there is no file."""
        if not self.path.is_file():
            return []
        now = time.time() if now is None else now
        conn = sqlite3.connect(f"{self.path.resolve().as_uri()}?mode=ro", uri=True, timeout=5.0)
        try:
            if not conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'misses'").fetchone():
                return []
            rows = conn.execute("SELECT key, question, count, first_asked, last_asked FROM "
                                "misses WHERE last_asked >= ? ORDER BY last_asked",
                                (now - self.max_age,)).fetchall()
        finally:
            conn.close()
        return [(row[0], Miss(*row[1:])) for row in rows]


def keyed(question: str) -> tuple[str, str]:
    """(the text kept, the key it is counted under): "Why?" and "why" count as one."""
    text = " ".join(question.split())[:MAX_TEXT]
    return text, fold(text).strip(" ?!.")


class MissStore(Protocol):
    """The editors' log of unanswered questions, whichever backend holds it."""

    async def record(self, question: str, *, now: float | None = None) -> None: ...
    async def top(self, limit: int = 50, *, now: float | None = None) -> list[Miss]: ...
    async def close(self) -> None: ...


class SQLiteMisses:
    """`MissStore` on a `MissLog` file; the file work runs off the event loop."""

    def __init__(self, path: Path, *, max_rows: int = MAX_ROWS,
                 max_age_days: float = MAX_AGE_DAYS) -> None:
        self.log = MissLog(path, max_rows=max_rows, max_age_days=max_age_days)

    async def record(self, question: str, *, now: float | None = None) -> None:
        """Count one more asking of `question`; a failing disk loses the line, silently."""
        await asyncio.to_thread(self.log.record, question, now=now)

    async def top(self, limit: int = 50, *, now: float | None = None) -> list[Miss]:
        """The questions asked most often (then most recently), within the age limit."""
        try:
            return await asyncio.to_thread(self.log.top, limit, now=now)
        except sqlite3.Error as exc:
            raise SettingsUnavailable(f"the misses file cannot be read ({exc})") from exc

    async def close(self) -> None:
        """Nothing to close: each call opens the file and closes it."""


_RECORD_MISS = """
-- KEYS: count zset, last-asked zset, first-asked hash, text hash
-- ARGV: key, text, now, age cutoff, max rows
redis.call('ZINCRBY', KEYS[1], 1, ARGV[1])
redis.call('ZADD', KEYS[2], ARGV[3], ARGV[1])
redis.call('HSETNX', KEYS[3], ARGV[1], ARGV[3])
redis.call('HSETNX', KEYS[4], ARGV[1], ARGV[2])
local gone = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', '(' .. ARGV[4])
local extra = redis.call('ZCARD', KEYS[2]) - #gone - tonumber(ARGV[5])
if extra > 0 then
  local oldest = redis.call('ZRANGE', KEYS[2], #gone, #gone + extra - 1)
  for _, k in ipairs(oldest) do table.insert(gone, k) end
end
for _, k in ipairs(gone) do
  redis.call('ZREM', KEYS[1], k)
  redis.call('ZREM', KEYS[2], k)
  redis.call('HDEL', KEYS[3], k)
  redis.call('HDEL', KEYS[4], k)
end
return #gone
"""


_PUT_MISS = """
-- KEYS: count zset, last-asked zset, first-asked hash, text hash
-- ARGV: key, overwrite, count, last asked, first asked, text
-- Returns 1 written, 2 held already (the same count), 0 held with another count (kept).
local held = redis.call('ZSCORE', KEYS[1], ARGV[1])
if held and tonumber(held) == tonumber(ARGV[3]) then return 2 end
if held and ARGV[2] ~= '1' then return 0 end
redis.call('ZADD', KEYS[1], ARGV[3], ARGV[1])
redis.call('ZADD', KEYS[2], ARGV[4], ARGV[1])
redis.call('HSET', KEYS[3], ARGV[1], ARGV[5])
redis.call('HSET', KEYS[4], ARGV[1], ARGV[6])
return 1
"""


class RedisMisses:
    """`MissStore` on Redis, shared by every process: a sorted set of counts and one of
    last-asked times (by folded text), and hashes of the text kept and when it was first
    asked. Pruned by age and size on every write, in the same script."""

    def __init__(self, client: aioredis.Redis, key: Keys = prefixed, *,
                 max_rows: int = MAX_ROWS, max_age_days: float = MAX_AGE_DAYS,
                 owns_client: bool = False) -> None:
        self.redis = client
        self.max_rows = max_rows
        self.max_age = max_age_days * 86400
        self._owns = owns_client
        self.keys = [key("misses", part) for part in ("count", "last", "first", "text")]
        self.reach = Reach()
        self._record = client.register_script(_RECORD_MISS)
        self._put = client.register_script(_PUT_MISS)

    async def record(self, question: str, *, now: float | None = None) -> None:
        """Count one more asking of `question`; while Redis is unreachable the line is lost
        (an answer never waits on the editors' log for more than READ_TIMEOUT)."""
        text, key = keyed(question)
        if not key or self.reach.paused:
            return
        now = time.time() if now is None else now
        try:
            async with self.reach(READ_TIMEOUT):
                await self._record(keys=self.keys, args=[key, text, repr(now),
                                                         repr(now - self.max_age),
                                                         self.max_rows])
        except SettingsUnavailable as exc:
            log.warning("an unanswered question was not kept: %s", exc)

    async def top(self, limit: int = 50, *, now: float | None = None) -> list[Miss]:
        """The questions asked most often (then most recently), within the age limit;
        SettingsUnavailable while Redis is unreachable."""
        now = time.time() if now is None else now
        count, last, first, text = self.keys
        async with self.reach():
            recent: list[tuple[str, float]] = await self.redis.zrangebyscore(  # type: ignore[assignment]  # decode_responses
                last, now - self.max_age, "+inf", withscores=True)
            if not recent:
                return []
            names = [str(k) for k, _ in recent]
            async with self.redis.pipeline(transaction=False) as pipe:
                pipe.zmscore(count, names)
                pipe.hmget(first, names)
                pipe.hmget(text, names)
                counts, firsts, texts = await pipe.execute()
        found = [Miss(str(t or k), int(c or 0), float(f or at), float(at))
                 for (k, at), c, f, t in zip(recent, counts, firsts, texts, strict=True)]
        found.sort(key=lambda m: (-m.count, -m.last_asked))
        return found[:limit]

    async def put(self, key: str, miss: Miss, *, overwrite: bool = False) -> int:
        """Keep a question as another log counted it (`python -m bot settings copy-to-redis`),
        unless Redis counts it already (or `overwrite`): 1 written, 2 Redis has the same
        count, 0 Redis has another (kept). One script: all of the question or none. Raises
        SettingsUnavailable while Redis is unreachable."""
        async with self.reach():
            return int(await self._put(keys=self.keys, args=[
                key, int(overwrite), miss.count, repr(float(miss.last_asked)),
                repr(float(miss.first_asked)), miss.question]))

    async def absent(self, keys: list[str]) -> list[bool]:
        """Whether Redis lacks each question key (one round trip)."""
        if not keys:
            return []
        async with self.reach():
            scores = await self.redis.zmscore(self.keys[0], keys)
        return [s is None for s in scores]

    async def close(self) -> None:
        """Close the client if this log made it."""
        if self._owns:
            with contextlib.suppress(Exception):
                await self.redis.aclose()


def open_misses(settings: Settings, cluster: Cluster | None = None) -> MissStore | None:
    """The editors' log of unanswered questions: None when MISSES_ENABLED is off; on the
    control plane's Redis when there is one, on Redis of its own when only REDIS_URL is set
    (the command line), else the SQLite file. Opening sends nothing."""
    if not settings.misses_enabled:
        return None
    if cluster is not None:
        return RedisMisses(cluster.redis, cluster.key)
    if settings.redis_url is not None:
        return RedisMisses(client_from_url(settings.redis_url.get_secret_value()),
                           owns_client=True)
    return SQLiteMisses(settings.misses_file)
