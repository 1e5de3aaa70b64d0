"""Moving to many processes: copy one process's settings files into Redis.

A bot run as one process keeps its settings in SETTINGS_PATH and its editors' misses in
MISSES_PATH (SQLite). Set REDIS_URL and every process reads Redis instead, which starts
empty. `python -m bot settings copy-to-redis` copies story defaults, follows (with their
failures), each story's versions and changes, the "what's new" posts already made, and the
misses. It only reads the files, and:

- never writes over a value Redis holds (a default set since, a follow made again, a miss
  counted since) unless `--overwrite`; a history (versions, changes) is merged: the last
  HISTORY of both, as if all had been recorded in Redis, each entry once;
- writes each unit (one default, one follow, one story's history, one question) in one
  script or transaction, so an interrupted copy leaves whole units, and running it again
  copies the rest and changes nothing else.

At start, a process on Redis looks (off the answer path, once) whether the files hold
settings Redis lacks and logs one warning naming the command. It never copies by itself:
several processes starting together would race.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from .common import Merged, SettingsUnavailable, why
from .redis import RedisCopy, RedisSettings
from .sqlite import Everything, read_everything

if TYPE_CHECKING:
    from ..answering.misses import Miss, RedisMisses
    from ..settings import Settings

log = logging.getLogger("bot.settings")
T = TypeVar("T")

COMMAND = "python -m bot settings copy-to-redis"
#: The names of each kind, as the summary says them (one, many).
NOUNS = {"defaults": ("story default", "story defaults"), "follows": ("follow", "follows"),
         "versions": ("version", "versions"), "changes": ("change", "changes"),
         "posts": ("record of a post made", "records of posts made"),
         "misses": ("missed question", "missed questions")}


@dataclass
class Tally:
    """What happened to one kind: copied; held in Redis already with the same value; held
    in Redis with another value (kept); too old to keep (a history's last HISTORY, a
    claim past its time)."""

    copied: int = 0
    same: int = 0
    kept: int = 0
    too_old: int = 0
    note: str = ""

    def add(self, merged: Merged) -> None:
        self.copied += merged.added
        self.same += merged.already
        self.too_old += merged.too_old


@dataclass
class Report:
    """What a copy did (or a look would do), kind by kind."""

    tallies: dict[str, Tally] = field(default_factory=lambda: {k: Tally() for k in NOUNS})

    def __getitem__(self, kind: str) -> Tally:
        return self.tallies[kind]

    @property
    def to_copy(self) -> int:
        return sum(t.copied for t in self.tallies.values())

    def counted(self, kinds: Iterable[str] | None = None) -> str:
        """ "3 story defaults, 2 follows" (the kinds with something copied)."""
        return ", ".join(f"{t.copied} {_noun(k, t.copied)}" for k, t in self.tallies.items()
                         if t.copied and (kinds is None or k in kinds))

    def lines(self, *, copied: str = "copied") -> list[str]:
        """One line per kind: what was copied, what Redis held already and kept."""
        out = []
        for kind, t in self.tallies.items():
            if kind == "posts" and not (t.copied or t.same):
                continue  # bookkeeping: worth a line only when there was some
            parts = [f"{t.copied} {_noun(kind, t.copied)} {copied}"]
            if t.same:
                parts.append(f"{t.same} already in Redis")
            if t.kept:
                parts.append(f"{t.kept} set otherwise in Redis, kept"
                             + ("" if copied != "copied" else " (--overwrite replaces them)"))
            if t.too_old:
                parts.append(f"{t.too_old} too old to keep")
            out.append("; ".join(parts) + (f" ({t.note})" if t.note else ""))
        return out


def _noun(kind: str, n: int) -> str:
    return NOUNS[kind][0 if n == 1 else 1]


@dataclass(frozen=True)
class Sources:
    """What the files hold; None for a file that is not there."""

    settings: Everything | None
    misses: list[tuple[str, Miss]] | None
    settings_file: Path
    misses_file: Path | None  # None: MISSES_ENABLED is off

    @property
    def empty(self) -> bool:
        return self.settings is None and self.misses is None


def read_sources(settings: Settings, *, light: bool = False) -> Sources:
    """Read the settings and misses files (read-only). SettingsUnavailable when one is not a
    settings file; a missing file reads as None."""
    from ..answering.misses import MissLog

    try:
        everything: Everything | None = read_everything(settings.settings_file, light=light)
    except FileNotFoundError:
        everything = None
    misses_file = settings.misses_file if settings.misses_enabled else None
    misses = None
    if misses_file is not None and misses_file.is_file():
        try:
            misses = MissLog(misses_file).everything()
        except Exception as exc:  # sqlite3.Error and a file that is not a database
            raise SettingsUnavailable(f"the misses file {misses_file} cannot be read "
                                      f"({why(exc)})") from exc
    return Sources(everything, misses, settings.settings_file, misses_file)


def _by_story(items: Iterable[T], story_of: str) -> dict[str, list[T]]:
    out: dict[str, list[T]] = {}
    for item in items:
        out.setdefault(getattr(item, story_of), []).append(item)
    return out


async def copy_to_redis(sources: Sources, store: RedisSettings, misses: RedisMisses | None, *,
                        overwrite: bool = False, now: float | None = None) -> Report:
    """Copy what `sources` holds into Redis (see the module's docstring); the report.

    Raises SettingsUnavailable if Redis fails part-way: what was written is whole, and
    running the copy again completes it. A complete copy marks Redis (`copied-at`), so the
    start-up warning stops.
    """
    now = time.time() if now is None else now
    report = Report()
    target = RedisCopy(store)
    found = sources.settings
    if found is not None:
        for d in found.defaults:
            done = await target.put_default(d, overwrite=overwrite)
            if done == 1:
                report["defaults"].copied += 1
            elif done == 2:
                report["defaults"].same += 1
            else:
                report["defaults"].kept += 1
        for follow, set_by in found.follows:
            done = await target.put_follow(follow, set_by, overwrite=overwrite)
            if done == 1:
                report["follows"].copied += 1
            elif done == 2:
                report["follows"].same += 1
            else:
                report["follows"].kept += 1
        posts = _by_story(found.posts, "story")
        for story, changes in _by_story(found.changes, "story").items():
            merged, ids = await target.merge_changes(story, changes)
            report["changes"].add(merged)
            digest_of = {c.id: c.digest for c in changes}
            for post in posts.get(story, []):
                change_id = ids.get(digest_of.get(post.change_id, ""))
                if change_id is None:
                    continue  # a change no longer kept: nothing would post it again
                claimed = await target.put_claim(post, change_id, now=now)
                if claimed is None:
                    report["posts"].too_old += 1
                elif claimed:
                    report["posts"].copied += 1
                else:
                    report["posts"].same += 1
        for story, versions in _by_story(found.versions, "story").items():
            report["versions"].add(await target.merge_versions(story, versions))
    await _copy_misses(sources, misses, report, overwrite=overwrite)
    _note_missing(sources, report)
    async with store.reach():
        await store.redis.set(store.key("copied-at"), repr(now))
    return report


async def _copy_misses(sources: Sources, misses: RedisMisses | None, report: Report, *,
                       overwrite: bool) -> None:
    if misses is None or not sources.misses:
        return
    for key, miss in sources.misses:
        done = await misses.put(key, miss, overwrite=overwrite)
        if done == 1:
            report["misses"].copied += 1
        elif done == 2:
            report["misses"].same += 1
        else:
            report["misses"].kept += 1


def _note_missing(sources: Sources, report: Report) -> None:
    if sources.settings is None:
        for kind in ("defaults", "follows", "versions", "changes"):
            report[kind].note = f"no file {sources.settings_file}"
    if sources.misses_file is None:
        report["misses"].note = "MISSES_ENABLED is off"
    elif sources.misses is None:
        report["misses"].note = f"no file {sources.misses_file}"


async def not_in_redis(sources: Sources, store: RedisSettings,
                       misses: RedisMisses | None) -> Report:
    """What a copy would add (`copied`), without writing: a few round trips, whatever the
    size of the files. The posts made are not looked at (bookkeeping that follows the
    changes)."""
    report = Report()
    target = RedisCopy(store)
    found = sources.settings
    if found is not None:
        for kind, keys in (("defaults", [target.default_key(d) for d in found.defaults]),
                           ("follows", [target.follow_key(f) for f, _ in found.follows])):
            absent = await target.absent(keys)
            report[kind].copied = sum(absent)
            report[kind].same = len(absent) - sum(absent)  # same or not: it is there
        for story, changes in _by_story(found.changes, "story").items():
            report["changes"].add((await target.merge_changes(story, changes, write=False))[0])
        for story, versions in _by_story(found.versions, "story").items():
            report["versions"].add(await target.merge_versions(story, versions, write=False))
    if misses is not None and sources.misses:
        absent = await misses.absent([key for key, _ in sources.misses])
        report["misses"].copied = sum(absent)
        report["misses"].same = len(absent) - sum(absent)
    _note_missing(sources, report)
    return report


async def warn_if_not_copied(settings: Settings, store: RedisSettings) -> Report | None:
    """At start on Redis: log one warning naming `COMMAND` when the settings or misses file
    holds settings Redis lacks and no copy was made into this Redis. Never raises, never
    copies; the files are read in a thread, without the facts and bodies. The report, or
    None when there was nothing to warn of (or no way to tell)."""
    try:
        if not settings.settings_file.is_file() and not (
                settings.misses_enabled and settings.misses_file.is_file()):
            return None  # the usual case for a bot started on Redis: one stat() or two
        async with store.reach():
            if await store.redis.exists(store.key("copied-at")):
                return None
        from ..answering.misses import RedisMisses

        sources = await asyncio.to_thread(read_sources, settings, light=True)
        misses = RedisMisses(store.redis, store._key) if settings.misses_enabled else None
        report = await not_in_redis(sources, store, misses)
    except SettingsUnavailable as exc:
        log.info("could not look for settings left in the files: %s", exc)
        return None
    if not report.to_copy:
        return None
    files = " and ".join(str(p) for p in (sources.settings_file, sources.misses_file)
                         if p is not None and p.is_file())
    log.warning("REDIS_URL is set, but %s in %s %s not in Redis; run `%s` once to copy "
                "them (nothing is copied at start: processes starting together would race)",
                report.counted(), files, "is" if report.to_copy == 1 else "are", COMMAND)
    return report
