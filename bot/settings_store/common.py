"""What every settings backend shares: the protocol, its records, its limits, its one error."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

HISTORY = 10  # versions (and changes) kept per story
FAILURES_BEFORE_STOP = 3  # failed posts in a row before a follow stops being tried
#: How long a claimed "what's new" post stays claimed (Redis; SQLite keeps claims for good).
#: Far longer than a change is ever announced (see cogs/stories.py ANNOUNCE_WITHIN).
CLAIM_SECONDS = 30 * 86400
#: The longest a write may wait for its backend: the member who asked hears back within
#: Discord's three seconds, and nothing was half-written (every write is one transaction).
WRITE_TIMEOUT = 2.0
#: The longest the read on every answer's path (the story defaults) may wait before the
#: answer goes on without them.
READ_TIMEOUT = 0.5
#: How long a story default read by this process is trusted without reading it again, and
#: how many (scope, target) pairs are kept. See `DefaultsCache`.
DEFAULTS_TTL = 30.0
DEFAULTS_KEPT = 50_000


class SettingsUnavailable(Exception):
    """The settings backend could not be reached (or written); the message says why, in one
    line. Nothing of the write that raised it was kept."""


@dataclass(frozen=True, slots=True)
class Follow:
    guild: int
    channel: int
    story: str
    failures: int = 0
    last_error: str = ""
    stopped: bool = False
    at: float = 0.0  # when it was (last) followed


@dataclass(frozen=True, slots=True)
class Change:
    id: int
    story: str
    old_version: str
    new_version: str
    body: dict[str, Any]
    at: float
    digest: str = ""  # of the version changed to


@dataclass(frozen=True, slots=True)
class Default:
    """A story default as a settings file keeps it (for copying)."""

    scope: str
    target: int
    story: str
    set_by: int | None
    set_at: float


@dataclass(frozen=True, slots=True)
class Version:
    """One recorded version of a story (for copying)."""

    story: str
    version: str
    digest: str
    facts: dict[str, Any]
    at: float


@dataclass(frozen=True, slots=True)
class Post:
    """A "what's new" post made (its claim), as a settings file keeps it."""

    channel: int
    story: str
    change_id: int
    at: float


@dataclass(frozen=True, slots=True)
class Merged:
    """What merging a history (versions or changes) from elsewhere into a store did:
    entries added, entries it held already, entries too old to be among the last HISTORY."""

    added: int = 0
    already: int = 0
    too_old: int = 0


class SettingsStore(Protocol):
    """What the bot keeps between restarts and shares between its processes.

    Writes raise `SettingsUnavailable` when the backend cannot be reached, having changed
    nothing. `defaults_for` never does: it is on every answer's path, so an outage answers
    "no defaults" (the fallback order then applies) rather than no answer.
    """

    async def defaults_for(self, *, channel: int | None, guild: int | None,
                           user: int | None) -> list[tuple[str, str]]: ...
    async def set_default(self, scope: str, target: int, story: str, by: int) -> None: ...
    async def last_version(self, story: str) -> tuple[str, str, dict[str, Any]] | None: ...
    async def record_version(self, story: str, version: str, digest: str,
                             facts: dict[str, Any]) -> None: ...
    async def record_change(self, story: str, old: str, new: str, digest: str,
                            body: dict[str, Any]) -> int | None: ...
    async def changes(self, story: str, limit: int = 1) -> list[Change]: ...
    async def follow(self, guild: int, channel: int, story: str, by: int) -> None: ...
    async def unfollow(self, channel: int, story: str) -> bool: ...
    async def follows(self, *, guild: int | None = None,
                      story: str | None = None) -> list[Follow]: ...
    async def claim_post(self, channel: int, story: str, change_id: int) -> bool: ...
    async def post_result(self, channel: int, story: str, error: str | None) -> None: ...
    async def close(self) -> None: ...


Where = tuple[str, int]  # ("channel" | "server" | "user", its id)


class DefaultsCache:
    """The story defaults this process read lately, so most answers make no round trip.

    Every answer in a server asks for its channel's and server's defaults, and nearly all
    of them are "none": read from the backend each time, that was a tenth of a command's
    CPU on SQLite and a network round trip on Redis. A default is set through the process
    that serves the channel's server (Discord sends a guild's interactions to the shard that
    holds it, and DMs to shard 0), which forgets its copy at once; another process can only
    hold a stale copy after the guild moved to it, and then for at most `ttl` seconds.
    Reads that failed (an outage) are never kept, nor a read that a `forget` overtook.
    """

    def __init__(self, ttl: float = DEFAULTS_TTL, kept: int = DEFAULTS_KEPT,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl, self.kept, self.clock = ttl, kept, clock
        self._known: dict[Where, tuple[str | None, float]] = {}
        self._forgets = 0  # a read that began before a forget may hold the old story
        # The reads under way, by what they read: (forgets when begun, the read).
        self._reading: dict[tuple[Where, ...], tuple[int, asyncio.Task[list[tuple[str, str]]]]]
        self._reading = {}

    async def read(self, wanted: Sequence[Where],
                   fetch: Callable[[Sequence[Where]], Awaitable[Mapping[Where, str | None] | None]]
                   ) -> list[tuple[str, str]]:
        """(scope, story) for `wanted`, from memory or else from `fetch` (the backend's read,
        None when it failed: then no defaults, and nothing kept).

        Answers that miss together share one read: when a kept default expires under a stream
        of answers, every answer in flight missed it at once, and each queued its own read on
        the backend (one thread for SQLite), behind whatever it was writing; a reload's
        what's-new writes made that queue hundreds of answers long. A read begun before a
        `forget` is not shared with a caller that comes after it (it may hold the old story).
        """
        known = self.get(wanted)
        if known is not None:
            return known
        key = tuple(wanted)
        reading = self._reading.get(key)
        if reading is None or reading[0] != self._forgets:
            # The count now, not when the read's task first runs: a forget may come between.
            began = self._forgets
            reading = (began, asyncio.ensure_future(self._fetch(wanted, fetch, began)))
            self._reading[key] = reading
            reading[1].add_done_callback(lambda _: self._done_reading(key, reading))
        # Shielded: one caller cancelled (its interaction gone) leaves the read to the others.
        return await asyncio.shield(reading[1])

    def _done_reading(self, key: tuple[Where, ...],
                      reading: tuple[int, asyncio.Task[list[tuple[str, str]]]]) -> None:
        if self._reading.get(key) is reading:
            del self._reading[key]
        if not reading[1].cancelled():
            reading[1].exception()  # retrieved: each caller has it raised already

    async def _fetch(self, wanted: Sequence[Where],
                     fetch: Callable[[Sequence[Where]],
                                     Awaitable[Mapping[Where, str | None] | None]],
                     began: int) -> list[tuple[str, str]]:
        found = await fetch(wanted)
        if found is None:
            return []
        if self._forgets == began:
            self.put(found)
        return [(where[0], story) for where, story in found.items() if story is not None]

    def get(self, wanted: Sequence[Where]) -> list[tuple[str, str]] | None:
        """(scope, story) for `wanted` in order, or None when any of them must be read."""
        now = self.clock()
        out = []
        for where in wanted:
            known = self._known.get(where)
            if known is None or known[1] <= now:
                return None
            if known[0] is not None:
                out.append((where[0], known[0]))
        return out

    def put(self, found: Mapping[Where, str | None]) -> None:
        """Remember what was read (None: no default there)."""
        expires = self.clock() + self.ttl
        for where, story in found.items():
            self._known.pop(where, None)  # re-inserted last: the oldest go first
            self._known[where] = (story, expires)
        while len(self._known) > self.kept:
            del self._known[next(iter(self._known))]

    def forget(self, where: Where) -> None:
        self._forgets += 1
        self._known.pop(where, None)


def why(exc: BaseException) -> str:
    """An exception as one short line for an operator."""
    if isinstance(exc, TimeoutError) and not str(exc):
        return "no answer in time"
    return f"{type(exc).__name__}: {exc}"[:200] if str(exc) else type(exc).__name__
