"""The settings on Redis: the backend of a bot run as many processes (REDIS_URL set).

Every process reads and writes the same keys, so a `/story set` made through one process is
what every other answers with, and a "what's new" post is claimed once across them all. The
keys start with the control plane's prefix (`Cluster.key`), so the bot can share a Redis with
other programs:

    settings:default:<scope>:<target>   hash  story, set_by, set_at
    settings:versions:<story>           list  newest first, JSON {version, digest, facts, at}
    settings:changes:<story>            list  newest first, "<id> <digest> <JSON>"
    settings:change-digests:<story>     hash  digest -> change id (a change is kept once)
    settings:change-id                  counter of change ids
    settings:follow:<story>:<channel>   hash  guild, channel, story, set_by, failures,
                                              last_error, stopped, at
    settings:follows                    set   "<channel> <story>" of every follow
    settings:follows:story:<story>      set   channel ids
    settings:follows:guild:<guild>      set   "<channel> <story>"
    settings:posted:<story>:<change>:<channel>   a claim (SET NX), expires after CLAIM_SECONDS

Every write is one transaction (MULTI/EXEC or a Lua script), so an outage never leaves half
of one behind. Discord ids are kept as decimal strings: Lua's numbers are doubles, which
would round a snowflake.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any

import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff
from redis.exceptions import RedisError, WatchError

from ..cluster import PREFIX
from .common import (
    CLAIM_SECONDS,
    FAILURES_BEFORE_STOP,
    HISTORY,
    READ_TIMEOUT,
    WRITE_TIMEOUT,
    Change,
    Default,
    DefaultsCache,
    Follow,
    Merged,
    Post,
    SettingsUnavailable,
    Version,
    Where,
    why,
)

log = logging.getLogger("bot.settings")

#: Makes a key from its parts (`Cluster.key`, or `prefixed` for a process without one).
Keys = Callable[..., str]
#: After a failed read on the answer path, answers skip Redis this long (seconds) rather
#: than each waiting for it to fail again.
PAUSE_AFTER_FAILURE = 5.0

_RECORD_CHANGE = """
-- KEYS: changes list, digests hash, id counter; ARGV: digest, body JSON, history
if redis.call('HEXISTS', KEYS[2], ARGV[1]) == 1 then return false end
local id = redis.call('INCR', KEYS[3])
redis.call('LPUSH', KEYS[1], id .. ' ' .. ARGV[1] .. ' ' .. ARGV[2])
redis.call('HSET', KEYS[2], ARGV[1], id)
local keep = tonumber(ARGV[3])
while redis.call('LLEN', KEYS[1]) > keep do
  local old = redis.call('RPOP', KEYS[1])
  local digest = string.match(old, '^%S+ (%S+) ')
  if digest then redis.call('HDEL', KEYS[2], digest) end
end
return id
"""

_POST_RESULT = """
-- KEYS: the follow's hash; ARGV: 'ok' or 'failed', the error, failures before it stops
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
if ARGV[1] == 'ok' then
  redis.call('HSET', KEYS[1], 'failures', 0, 'last_error', '')
  return 0
end
local n = redis.call('HINCRBY', KEYS[1], 'failures', 1)
redis.call('HSET', KEYS[1], 'last_error', ARGV[2])
if n >= tonumber(ARGV[3]) then redis.call('HSET', KEYS[1], 'stopped', 1) end
return n
"""


def prefixed(*parts: str) -> str:
    """A key of this bot, as `Cluster.key` makes them (for a process without a cluster)."""
    return ":".join((PREFIX, *parts))


def client_from_url(url: str, *, name: str = "briefing-bot") -> aioredis.Redis:
    """A client with the control plane's short timeouts (for `python -m bot misses` and a
    process that has no control plane of its own)."""
    return aioredis.Redis.from_url(
        url, decode_responses=True, socket_connect_timeout=2.0, socket_timeout=5.0,
        retry=Retry(ExponentialBackoff(cap=0.5, base=0.05), 2), client_name=name)


class Reach:
    """Bounds every call to Redis in time and turns its failures into `SettingsUnavailable`;
    after a failure, `paused` tells the answer path to skip Redis for a few seconds."""

    def __init__(self, pause: float = PAUSE_AFTER_FAILURE) -> None:
        self.pause = pause
        self._down_until = 0.0

    @property
    def paused(self) -> bool:
        return time.monotonic() < self._down_until

    @contextlib.asynccontextmanager
    async def __call__(self, timeout: float = WRITE_TIMEOUT) -> AsyncIterator[None]:  # noqa: ASYNC109
        try:
            async with asyncio.timeout(timeout):
                yield
        except (RedisError, OSError, TimeoutError) as exc:
            self._down_until = time.monotonic() + self.pause
            raise SettingsUnavailable(f"Redis is unreachable ({why(exc)})") from exc
        self._down_until = 0.0


class RedisSettings:
    """`SettingsStore` on Redis (see the module's docstring for the keys)."""

    def __init__(self, client: aioredis.Redis, key: Keys = prefixed, *,
                 owns_client: bool = False) -> None:
        self.redis = client
        self._key = key
        self._owns = owns_client  # the control plane's client is closed by the control plane
        self.reach = Reach()
        self.known_defaults = DefaultsCache()
        self._record_change = client.register_script(_RECORD_CHANGE)
        self._post_result = client.register_script(_POST_RESULT)

    def key(self, *parts: str | int) -> str:
        return self._key("settings", *map(str, parts))

    async def close(self) -> None:
        """Close the client if this store made it."""
        if self._owns:
            with contextlib.suppress(RedisError, OSError):
                await self.redis.aclose()

    # ------------------------------------------------------------------ story defaults

    async def defaults_for(self, *, channel: int | None, guild: int | None,
                           user: int | None) -> list[tuple[str, str]]:
        """(where, story id) in the order they count: channel, server, user; none while
        Redis is unreachable (the answer goes on with the fallback order)."""
        wanted = [(scope, target) for scope, target in
                  (("channel", channel), ("server", guild), ("user", user)) if target]
        return await self.known_defaults.read(wanted, self._read_defaults)

    async def _read_defaults(self, wanted: Sequence[Where]) -> dict[Where, str | None] | None:
        if self.reach.paused:
            return None
        try:
            async with self.reach(READ_TIMEOUT):
                async with self.redis.pipeline(transaction=False) as pipe:
                    for scope, target in wanted:
                        pipe.hget(self.key("default", scope, target), "story")
                    read = await pipe.execute()
        except SettingsUnavailable as exc:
            log.warning("story defaults unreadable, answering without them: %s", exc)
            return None
        return {where: str(story) if story else None
                for where, story in zip(wanted, read, strict=True)}

    async def set_default(self, scope: str, target: int, story: str, by: int) -> None:
        """Set the story of a channel, a server or (in DMs) a user."""
        try:
            async with self.reach():
                await self.redis.hset(self.key("default", scope, target), mapping={
                    "story": story, "set_by": str(by), "set_at": repr(time.time())})
        finally:  # after the write: a read while it ran may have kept the old story
            self.known_defaults.forget((scope, target))

    # ------------------------------------------------------------------ versions, changes

    async def last_version(self, story: str) -> tuple[str, str, dict[str, Any]] | None:
        """(version, digest, facts) of the story's last recorded version, or None."""
        async with self.reach():
            raw = await self.redis.lindex(self.key("versions", story), 0)  # type: ignore[misc]  # redis-py's union of sync and async
        if raw is None:
            return None
        data = json.loads(raw)
        return str(data["version"]), str(data["digest"]), dict(data["facts"])

    async def record_version(self, story: str, version: str, digest: str,
                             facts: dict[str, Any]) -> None:
        """Keep a version (its facts, to compare the next one with); the last HISTORY stay."""
        entry = json.dumps({"version": version, "digest": digest, "facts": facts,
                            "at": time.time()})
        async with self.reach():
            async with self.redis.pipeline(transaction=True) as pipe:
                pipe.lpush(self.key("versions", story), entry)
                pipe.ltrim(self.key("versions", story), 0, HISTORY - 1)
                await pipe.execute()

    async def record_change(self, story: str, old: str, new: str, digest: str,
                            body: dict[str, Any]) -> int | None:
        """Keep a change; None when this very change was recorded already (another process)."""
        entry = json.dumps({"old": old, "new": new, "body": body, "at": time.time()})
        async with self.reach():
            added = await self._record_change(
                keys=[self.key("changes", story), self.key("change-digests", story),
                      self.key("change-id")], args=[digest, entry, HISTORY])
        return int(added) if added else None

    async def changes(self, story: str, limit: int = 1) -> list[Change]:
        """The story's latest changes, newest first."""
        async with self.reach():
            rows = await self.redis.lrange(self.key("changes", story), 0, max(0, limit - 1))  # type: ignore[misc]  # redis-py's union of sync and async
        out = []
        for row in rows:
            change_id, digest, raw = str(row).split(" ", 2)
            data = json.loads(raw)
            out.append(Change(int(change_id), story, str(data["old"]), str(data["new"]),
                              dict(data["body"]), float(data["at"]), digest))
        return out

    # ------------------------------------------------------------------ follows

    def _follow_key(self, story: str, channel: int | str) -> str:
        return self.key("follow", story, channel)

    async def follow(self, guild: int, channel: int, story: str, by: int) -> None:
        """Follow (again): a stopped follow starts afresh."""
        member = f"{channel} {story}"
        async with self.reach():
            async with self.redis.pipeline(transaction=True) as pipe:
                pipe.delete(self._follow_key(story, channel))
                pipe.hset(self._follow_key(story, channel), mapping={
                    "guild": str(guild), "channel": str(channel), "story": story,
                    "set_by": str(by), "failures": 0, "last_error": "", "stopped": 0,
                    "at": repr(time.time())})
                pipe.sadd(self.key("follows"), member)
                pipe.sadd(self.key("follows", "story", story), str(channel))
                pipe.sadd(self.key("follows", "guild", guild), member)
                await pipe.execute()

    async def unfollow(self, channel: int, story: str) -> bool:
        """Stop following; False when the channel did not follow the story."""
        key = self._follow_key(story, channel)
        member = f"{channel} {story}"
        async with self.reach():
            async with self.redis.pipeline(transaction=True) as pipe:
                while True:  # WATCH: a follow made meanwhile is not left half-removed
                    try:
                        await pipe.watch(key)
                        guild = await pipe.hget(key, "guild")  # type: ignore[misc]  # immediate mode after WATCH
                        if guild is None:
                            await pipe.reset()
                            return False
                        pipe.multi()
                        pipe.delete(key)
                        pipe.srem(self.key("follows"), member)
                        pipe.srem(self.key("follows", "story", story), str(channel))
                        pipe.srem(self.key("follows", "guild", str(guild)), member)
                        await pipe.execute()
                        return True
                    except WatchError:
                        continue

    async def follows(self, *, guild: int | None = None,
                      story: str | None = None) -> list[Follow]:
        """The follows of a server, of a story, or all of them, oldest first."""
        async with self.reach():
            if story is not None:
                channels = await self.redis.smembers(self.key("follows", "story", story))  # type: ignore[misc]  # redis-py's union of sync and async
                pairs = [(str(c), story) for c in channels]
            else:
                index = (self.key("follows") if guild is None
                         else self.key("follows", "guild", guild))
                members = await self.redis.smembers(index)  # type: ignore[misc]  # redis-py's union of sync and async
                pairs = [tuple(str(m).split(" ", 1)) for m in members]  # type: ignore[misc]
            async with self.redis.pipeline(transaction=False) as pipe:
                for channel, of in pairs:
                    pipe.hgetall(self._follow_key(of, channel))
                rows: Sequence[dict[str, str]] = await pipe.execute()
        found = [_follow(row) for row in rows if row]  # an index entry left by a crash: skip
        if guild is not None:
            found = [f for f in found if f.guild == guild]
        return sorted(found, key=lambda f: (f.at, f.channel, f.story))

    async def claim_post(self, channel: int, story: str, change_id: int) -> bool:
        """True once per (channel, story, change) across every process: whoever claims it
        posts it. The claim expires after CLAIM_SECONDS, long after any process could still
        be about to post that change."""
        async with self.reach():
            return bool(await self.redis.set(self.key("posted", story, change_id, channel), "1",
                                              nx=True, ex=CLAIM_SECONDS))

    async def post_result(self, channel: int, story: str, error: str | None) -> None:
        """Count a failed post (stopping after FAILURES_BEFORE_STOP), or clear the count."""
        async with self.reach():
            await self._post_result(
                keys=[self._follow_key(story, channel)],
                args=["ok" if error is None else "failed", (error or "")[:200],
                      FAILURES_BEFORE_STOP])


def _follow(row: dict[str, str]) -> Follow:
    return Follow(int(row["guild"]), int(row["channel"]), row["story"],
                  int(row.get("failures") or 0), row.get("last_error") or "",
                  row.get("stopped") == "1", float(row.get("at") or 0.0))


# ---------------------------------------------------------------------- copying into Redis
# Used by `python -m bot settings copy-to-redis` (copy.py): each unit (a default, a follow, a
# story's history, a claim) is written in one script or transaction, and never over a value
# Redis holds unless asked, so an interrupted copy is completed by running it again.

_PUT_DEFAULT = """
-- KEYS: the default's hash; ARGV: overwrite, story, set_by, set_at
-- Returns 1 written, 2 held already (the same story), 0 held with another story (kept).
local held = redis.call('HGET', KEYS[1], 'story')
if held == ARGV[2] then return 2 end
if held and ARGV[1] ~= '1' then return 0 end
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'story', ARGV[2], 'set_by', ARGV[3], 'set_at', ARGV[4])
return 1
"""

_PUT_FOLLOW = """
-- KEYS: the follow's hash, the index of all follows, the story's, the guild's
-- ARGV: overwrite, index member, channel, guild, story, set_by, failures, last_error,
--       stopped, at
-- Returns 1 written, 2 held already (its failures since are Redis's own: kept).
if ARGV[1] ~= '1' and redis.call('EXISTS', KEYS[1]) == 1 then return 2 end
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'guild', ARGV[4], 'channel', ARGV[3], 'story', ARGV[5],
           'set_by', ARGV[6], 'failures', ARGV[7], 'last_error', ARGV[8], 'stopped', ARGV[9],
           'at', ARGV[10])
redis.call('SADD', KEYS[2], ARGV[2])
redis.call('SADD', KEYS[3], ARGV[3])
redis.call('SADD', KEYS[4], ARGV[2])
return 1
"""


def _newest_first(entries: list[tuple[float, str]]) -> list[tuple[float, str]]:
    return sorted(entries, key=lambda e: -e[0])  # stable: equal times keep their order


class RedisCopy:
    """Writes into the settings keys of a `RedisSettings` what another store held."""

    def __init__(self, store: RedisSettings) -> None:
        self.store = store
        self.redis = store.redis
        self._default = self.redis.register_script(_PUT_DEFAULT)
        self._follow = self.redis.register_script(_PUT_FOLLOW)

    async def absent(self, keys: Sequence[str]) -> list[bool]:
        """Whether each key is missing from Redis (one round trip)."""
        if not keys:
            return []
        async with self.store.reach():
            async with self.redis.pipeline(transaction=False) as pipe:
                for key in keys:
                    pipe.exists(key)
                found = await pipe.execute()
        return [not n for n in found]

    def default_key(self, d: Default) -> str:
        return self.store.key("default", d.scope, d.target)

    def follow_key(self, f: Follow) -> str:
        return self.store._follow_key(f.story, f.channel)

    def claim_key(self, story: str, change_id: int, channel: int) -> str:
        return self.store.key("posted", story, change_id, channel)

    async def put_default(self, d: Default, *, overwrite: bool = False) -> int:
        """Write a story default unless Redis has one there (or `overwrite`): 1 written,
        2 Redis has this very one, 0 Redis has another (kept)."""
        async with self.store.reach():
            return int(await self._default(keys=[self.default_key(d)], args=[
                int(overwrite), d.story, "" if d.set_by is None else str(d.set_by),
                repr(float(d.set_at))]))

    async def put_follow(self, f: Follow, set_by: int | None, *,
                         overwrite: bool = False) -> int:
        """Write a follow, its failures and whether it stopped, unless Redis has it (or
        `overwrite`): 1 written, 2 Redis has it (kept as it is)."""
        member = f"{f.channel} {f.story}"
        keys = [self.follow_key(f), self.store.key("follows"),
                self.store.key("follows", "story", f.story),
                self.store.key("follows", "guild", f.guild)]
        async with self.store.reach():
            return int(await self._follow(keys=keys, args=[
                int(overwrite), member, str(f.channel), str(f.guild), f.story,
                "" if set_by is None else str(set_by), f.failures, f.last_error,
                int(f.stopped), repr(float(f.at))]))

    async def put_claim(self, post: Post, change_id: int, *, now: float) -> bool | None:
        """Mark a "what's new" post as made (so no process posts it again) for the rest of
        its CLAIM_SECONDS; None when that time is over, False when Redis has the claim."""
        left = int(CLAIM_SECONDS - (now - post.at))
        if left <= 0:
            return None
        async with self.store.reach():
            return bool(await self.redis.set(self.claim_key(post.story, change_id, post.channel),
                                              "1", nx=True, ex=left))

    async def merge_versions(self, story: str, versions: Sequence[Version], *,
                             write: bool = True) -> Merged:
        """Add a story's versions to those Redis holds: the last HISTORY of both, newest
        first, as if every one had been recorded in Redis. A version Redis holds (the same
        version, digest and time) is not added twice. `write=False` only counts."""
        key = self.store.key("versions", story)
        async with self.store.reach():
            async with self.redis.pipeline(transaction=True) as pipe:
                while True:  # WATCH: a version recorded meanwhile is not lost
                    try:
                        await pipe.watch(key)
                        rows = [str(r) for r in await pipe.lrange(key, 0, -1)]  # type: ignore[misc]  # immediate mode after WATCH
                        have: list[tuple[float, str]] = []
                        seen = set()
                        for row in rows:
                            data = json.loads(row)
                            seen.add((str(data["version"]), str(data["digest"]),
                                      float(data["at"])))
                            have.append((float(data["at"]), row))
                        new = [v for v in versions if (v.version, v.digest, v.at) not in seen]
                        entries = [(v.at, json.dumps({"version": v.version, "digest": v.digest,
                                                      "facts": v.facts, "at": v.at}))
                                   for v in new]
                        kept = _newest_first(have + entries)[:HISTORY]
                        kept_rows = {row for _, row in kept}
                        added = sum(row in kept_rows for _, row in entries)
                        result = Merged(added, len(versions) - len(new), len(new) - added)
                        if not write or not added:
                            await pipe.reset()
                            return result
                        pipe.multi()
                        pipe.delete(key)
                        pipe.rpush(key, *[row for _, row in kept])
                        await pipe.execute()
                        return result
                    except WatchError:
                        continue

    async def merge_changes(self, story: str, changes: Sequence[Change], *,
                            write: bool = True) -> tuple[Merged, dict[str, int]]:
        """Add a story's changes to those Redis holds (the last HISTORY of both, newest
        first); a change Redis holds (by its digest) is not added twice. Each keeps its id
        unless the story's changes in Redis use it already; the id counter is raised past
        every id kept. Returns what was done and the Redis id of each change by digest.
        `write=False` only counts."""
        lkey = self.store.key("changes", story)
        dkey = self.store.key("change-digests", story)
        ckey = self.store.key("change-id")
        async with self.store.reach():
            async with self.redis.pipeline(transaction=True) as pipe:
                while True:  # WATCH: a change recorded meanwhile is not lost
                    try:
                        await pipe.watch(lkey, dkey, ckey)
                        rows = [str(r) for r in await pipe.lrange(lkey, 0, -1)]  # type: ignore[misc]  # immediate mode after WATCH
                        counter = int(await pipe.get(ckey) or 0)  # type: ignore[misc]
                        have: list[tuple[float, str]] = []
                        ids: dict[str, int] = {}
                        for row in rows:
                            change_id, digest, raw = row.split(" ", 2)
                            ids[digest] = int(change_id)
                            have.append((float(json.loads(raw)["at"]), row))
                        new = [c for c in changes if c.digest not in ids]
                        used = set(ids.values())
                        fresh = max([counter, *used, *(c.id for c in changes)])
                        entries: list[tuple[float, str]] = []
                        for c in new:
                            if c.id in used:
                                fresh += 1
                                new_id = fresh
                            else:
                                new_id = c.id
                            used.add(new_id)
                            entries.append((c.at, f"{new_id} {c.digest} " + json.dumps(
                                {"old": c.old_version, "new": c.new_version, "body": c.body,
                                 "at": c.at})))
                        kept = _newest_first(have + entries)[:HISTORY]
                        kept_rows = {row for _, row in kept}
                        added = sum(row in kept_rows for _, row in entries)
                        result = Merged(added, len(changes) - len(new), len(new) - added)
                        kept_ids = {row.split(" ", 2)[1]: int(row.split(" ", 1)[0])
                                    for _, row in kept}
                        if not write or not added:
                            await pipe.reset()
                            return result, {d: i for d, i in ids.items() if d in kept_ids}
                        pipe.multi()
                        pipe.delete(lkey)
                        pipe.rpush(lkey, *[row for _, row in kept])
                        pipe.delete(dkey)
                        pipe.hset(dkey, mapping={d: str(i) for d, i in kept_ids.items()})
                        pipe.set(ckey, max([counter, *kept_ids.values()]))
                        await pipe.execute()
                        return result, kept_ids
                    except WatchError:
                        continue
