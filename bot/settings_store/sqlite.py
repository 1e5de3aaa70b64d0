"""The settings on an SQLite file: the backend of a bot run as one process (no REDIS_URL).

A file of its own (SETTINGS_PATH, by default var/settings.sqlite3 beside DB_PATH), never
rebuilt, so settings survive restarts and data reloads. Its schema is a list of numbered
migrations applied in order at start (`PRAGMA user_version` says how far a file has got).
"""

from __future__ import annotations

import contextlib
import json
import logging
import sqlite3
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiosqlite

from .common import (
    FAILURES_BEFORE_STOP,
    HISTORY,
    Change,
    Default,
    DefaultsCache,
    Follow,
    Post,
    SettingsUnavailable,
    Version,
    Where,
    why,
)

log = logging.getLogger("bot.settings")

MIGRATIONS: Sequence[str] = (
    # 1: story defaults per channel, server and (in DMs) user
    """CREATE TABLE defaults(scope TEXT NOT NULL, target INTEGER NOT NULL, story TEXT NOT NULL,
           set_by INTEGER, set_at REAL NOT NULL, PRIMARY KEY(scope, target));""",
    # 2: each story's last versions (their facts, to compare the next one with) and changes
    """CREATE TABLE versions(story TEXT NOT NULL, seq INTEGER NOT NULL, version TEXT NOT NULL,
           digest TEXT NOT NULL, facts TEXT NOT NULL, at REAL NOT NULL,
           PRIMARY KEY(story, seq));
       CREATE TABLE changes(id INTEGER PRIMARY KEY AUTOINCREMENT, story TEXT NOT NULL,
           old_version TEXT NOT NULL, new_version TEXT NOT NULL, digest TEXT NOT NULL,
           body TEXT NOT NULL, at REAL NOT NULL, UNIQUE(story, digest));""",
    # 3: follows (a channel told of a story's changes) and what was posted, once per change
    """CREATE TABLE follows(guild INTEGER NOT NULL, channel INTEGER NOT NULL,
           story TEXT NOT NULL, set_by INTEGER, failures INTEGER NOT NULL DEFAULT 0,
           last_error TEXT, stopped INTEGER NOT NULL DEFAULT 0, at REAL NOT NULL,
           PRIMARY KEY(channel, story));
       CREATE TABLE posts(channel INTEGER NOT NULL, story TEXT NOT NULL,
           change_id INTEGER NOT NULL, at REAL NOT NULL,
           PRIMARY KEY(channel, story, change_id));""",
)


class SQLiteSettings:
    """`SettingsStore` on an SQLite file (aiosqlite), migrated on `open`."""

    def __init__(self, conn: aiosqlite.Connection) -> None:
        self.conn = conn
        self.known_defaults = DefaultsCache()

    @classmethod
    async def open(cls, path: Path) -> SQLiteSettings:
        """Open (creating it and its folder if needed) and migrate the settings file."""
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        conn = await aiosqlite.connect(path)
        try:
            await conn.execute("PRAGMA journal_mode=WAL")
            await conn.execute("PRAGMA busy_timeout=5000")  # several processes may share it
            (done,) = await (await conn.execute("PRAGMA user_version")).fetchone() or (0,)
            for number, sql in enumerate(MIGRATIONS[done:], start=done + 1):
                await conn.executescript(f"BEGIN; {sql} PRAGMA user_version = {number}; COMMIT;")
        except BaseException:
            await conn.close()
            raise
        return cls(conn)

    async def close(self) -> None:
        await self.conn.close()

    async def _all(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        try:
            return list(await self.conn.execute_fetchall(sql, params))
        except sqlite3.Error as exc:
            raise SettingsUnavailable(f"the settings file cannot be read ({why(exc)})") from exc

    async def _do(self, sql: str, params: Sequence[Any] = ()) -> int:
        return await self._write([(sql, params)])

    @contextlib.asynccontextmanager
    async def _transaction(self) -> AsyncIterator[aiosqlite.Connection]:
        """One transaction: committed when the block ends, rolled back (and reported as
        SettingsUnavailable) when SQLite fails, so nothing is half-written."""
        try:
            yield self.conn
            await self.conn.commit()
        except sqlite3.Error as exc:
            await self.conn.rollback()
            raise SettingsUnavailable(f"the settings file cannot be written ({why(exc)})"
                                      ) from exc

    async def _write(self, statements: Sequence[tuple[str, Sequence[Any]]]) -> int:
        """Run `statements` as one transaction (all or nothing); the last one's row count."""
        count = 0
        async with self._transaction() as conn:
            for sql, params in statements:
                count = (await conn.execute(sql, params)).rowcount
        return count

    async def defaults_for(self, *, channel: int | None, guild: int | None,
                           user: int | None) -> list[tuple[str, str]]:
        """(where, story id) in the order they count: channel, server, user."""
        wanted = [(scope, target) for scope, target in
                  (("channel", channel), ("server", guild), ("user", user)) if target]
        return await self.known_defaults.read(wanted, self._read_defaults)

    async def _read_defaults(self, wanted: Sequence[Where]) -> dict[Where, str | None] | None:
        found: dict[Where, str | None] = {}
        try:
            for where in wanted:
                rows = await self._all("SELECT story FROM defaults WHERE scope = ? AND "
                                       "target = ?", where)
                found[where] = rows[0][0] if rows else None
        except SettingsUnavailable as exc:  # on every answer's path: answer without them
            log.warning("story defaults unreadable, answering without them: %s", exc)
            return None
        return found

    async def set_default(self, scope: str, target: int, story: str, by: int) -> None:
        try:
            await self._do("INSERT OR REPLACE INTO defaults VALUES (?, ?, ?, ?, ?)",
                           (scope, target, story, by, time.time()))
        finally:  # after the write: a read while it ran may have kept the old story
            self.known_defaults.forget((scope, target))

    async def last_version(self, story: str) -> tuple[str, str, dict[str, Any]] | None:
        """(version, digest, facts) of the story's last recorded version, or None."""
        rows = await self._all("SELECT version, digest, facts FROM versions WHERE story = ? "
                               "ORDER BY seq DESC LIMIT 1", (story,))
        return (rows[0][0], rows[0][1], json.loads(rows[0][2])) if rows else None

    async def record_version(self, story: str, version: str, digest: str,
                             facts: dict[str, Any]) -> None:
        await self._write([
            ("INSERT INTO versions SELECT ?, coalesce(max(seq), 0) + 1, ?, ?, ?, ? FROM versions "
             "WHERE story = ?", (story, version, digest, json.dumps(facts), time.time(), story)),
            ("DELETE FROM versions WHERE story = ? AND seq <= (SELECT max(seq) FROM versions "
             "WHERE story = ?) - ?", (story, story, HISTORY))])

    async def record_change(self, story: str, old: str, new: str, digest: str,
                            body: dict[str, Any]) -> int | None:
        """Keep a change; None when this very change was recorded already (another process)."""
        async with self._transaction() as conn:
            cursor = await conn.execute(
                "INSERT OR IGNORE INTO changes(story, old_version, new_version, digest, body, "
                "at) VALUES (?, ?, ?, ?, ?, ?)",
                (story, old, new, digest, json.dumps(body), time.time()))
            added = cursor.lastrowid if cursor.rowcount else None
            await conn.execute(
                "DELETE FROM changes WHERE story = ? AND id NOT IN (SELECT id FROM changes "
                "WHERE story = ? ORDER BY id DESC LIMIT ?)", (story, story, HISTORY))
        return added

    async def changes(self, story: str, limit: int = 1) -> list[Change]:
        """The story's latest changes, newest first."""
        return [Change(r[0], r[1], r[2], r[3], json.loads(r[4]), r[5], r[6])
                for r in await self._all(
                    "SELECT id, story, old_version, new_version, body, at, digest FROM changes "
                    "WHERE story = ? ORDER BY id DESC LIMIT ?", (story, limit))]

    async def follow(self, guild: int, channel: int, story: str, by: int) -> None:
        """Follow (again): a stopped follow starts afresh."""
        await self._do("INSERT OR REPLACE INTO follows(guild, channel, story, set_by, at) "
                       "VALUES (?, ?, ?, ?, ?)", (guild, channel, story, by, time.time()))

    async def unfollow(self, channel: int, story: str) -> bool:
        return await self._do("DELETE FROM follows WHERE channel = ? AND story = ?",
                              (channel, story)) > 0

    async def follows(self, *, guild: int | None = None,
                      story: str | None = None) -> list[Follow]:
        rows = await self._all(
            "SELECT guild, channel, story, failures, coalesce(last_error, ''), stopped, at "
            "FROM follows WHERE (? IS NULL OR guild = ?) AND (? IS NULL OR story = ?) "
            "ORDER BY at", (guild, guild, story, story))
        return [Follow(r[0], r[1], r[2], r[3], r[4], bool(r[5]), r[6]) for r in rows]

    async def claim_post(self, channel: int, story: str, change_id: int) -> bool:
        """True once per (channel, story, change): whoever claims it posts it."""
        return await self._do("INSERT OR IGNORE INTO posts VALUES (?, ?, ?, ?)",
                              (channel, story, change_id, time.time())) > 0

    async def post_result(self, channel: int, story: str, error: str | None) -> None:
        """Count a failed post (stopping after FAILURES_BEFORE_STOP), or clear the count."""
        if error is None:
            await self._do("UPDATE follows SET failures = 0, last_error = NULL "
                           "WHERE channel = ? AND story = ?", (channel, story))
            return
        await self._do(
            "UPDATE follows SET failures = failures + 1, last_error = ?, "
            "stopped = (failures + 1 >= ?) WHERE channel = ? AND story = ?",
            (error[:200], FAILURES_BEFORE_STOP, channel, story))


@dataclass(frozen=True, slots=True)
class Everything:
    """All a settings file holds, for copying it elsewhere (`read_everything`)."""

    defaults: list[Default]
    versions: list[Version]  # each story's oldest first
    changes: list[Change]
    follows: list[tuple[Follow, int | None]]  # with who set it
    posts: list[Post]


def read_everything(path: Path, *, light: bool = False) -> Everything:
    """Read a settings file without changing it (read-only: no migration, no file made).

    `light` leaves out the versions' facts and the changes' bodies (a cheap look at what the
    file holds). A file from an older release lacks the later tables: they read as empty.
    Raises FileNotFoundError when there is no file, SettingsUnavailable when it is not one.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(path)
    try:
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=5.0)
        try:
            tables = {r[0] for r in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table'")}

            def rows(table: str, sql: str) -> list[Any]:
                return conn.execute(sql).fetchall() if table in tables else []

            facts = "'{}'" if light else "facts"
            body = "'{}'" if light else "body"
            return Everything(
                defaults=[Default(*r) for r in rows(
                    "defaults", "SELECT scope, target, story, set_by, set_at FROM defaults")],
                versions=[Version(r[0], r[1], r[2], json.loads(r[3]), r[4]) for r in rows(
                    "versions", f"SELECT story, version, digest, {facts}, at FROM versions "
                    "ORDER BY story, seq")],
                changes=[Change(r[0], r[1], r[2], r[3], json.loads(r[4]), r[5], r[6])
                         for r in rows("changes", "SELECT id, story, old_version, new_version, "
                                       f"{body}, at, digest FROM changes ORDER BY id")],
                follows=[(Follow(r[0], r[1], r[2], r[3], r[4], bool(r[5]), r[6]), r[7])
                         for r in rows("follows", "SELECT guild, channel, story, failures, "
                                       "coalesce(last_error, ''), stopped, at, set_by "
                                       "FROM follows ORDER BY at")],
                posts=[Post(*r) for r in rows(
                    "posts", "SELECT channel, story, change_id, at FROM posts")])
        finally:
            conn.close()
    except (sqlite3.Error, ValueError) as exc:  # ValueError: a row's JSON is not JSON
        raise SettingsUnavailable(f"the settings file {path} cannot be read ({why(exc)})"
                                  ) from exc
