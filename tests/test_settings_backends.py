"""The shared state on both backends: one suite, run on an SQLite file and on a real Redis.

Story defaults, the version history and its changes, follows and their failures, the claim
that makes a "what's new" post once only, and the editors' misses (bot/settings_store/,
bot/answering/misses.py). Two store objects on the same file or the same Redis stand for two
processes, and a new store object after closing the first for a restart. The last tests show
what a member sees when Redis is unreachable (layer 2).
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from bot.answering.misses import MissStore, RedisMisses, SQLiteMisses
from bot.briefing.store import Store
from bot.changes import record_changes
from bot.settings_store import (
    CLAIM_SECONDS,
    FAILURES_BEFORE_STOP,
    HISTORY,
    RedisSettings,
    SettingsStore,
    SettingsUnavailable,
    SQLiteSettings,
    client_from_url,
)
from bot.settings_store.common import DEFAULTS_TTL, DefaultsCache
from bot.settings_store.redis import Reach
from tests import payloads as P
from tests.briefing_data import REPO
from tests.discord_limits import assert_pings_nobody, assert_valid, texts
from tests.harness import Harness
from tests.redis_server import RedisServer, free_port
from tests.test_stories import BRIDGE, BUNDLED, FLOOD, TITLES, add_stories, change_the_flood

MANAGE_GUILD = 1 << 5  # https://discord.com/developers/docs/topics/permissions
# Discord ids are 64-bit: big enough that a double (Lua's number) would round them.
GUILD, CHANNEL, OTHER_CHANNEL, USER = (1234567890123456789, 1234567890123456791,
                                       1234567890123456793, 1234567890123456797)


class Backend:
    """Opens stores on one backend's shared place (a file, or a Redis key prefix); each
    `open` is another process, or the same one after a restart. Closes them all at the end."""

    def __init__(self, kind: str, tmp: Path, redis: RedisServer | None) -> None:
        self.kind, self.tmp, self.redis = kind, tmp, redis
        self.prefix = f"test-{uuid.uuid4().hex[:8]}"
        self.opened: list[SettingsStore | MissStore] = []

    def _key(self, *parts: str) -> str:
        return ":".join((self.prefix, *parts))

    async def settings(self) -> SettingsStore:
        store: SettingsStore
        if self.redis is None:
            store = await SQLiteSettings.open(self.tmp / "var" / "settings.sqlite3")
        else:
            store = RedisSettings(client_from_url(self.redis.url), self._key, owns_client=True)
        self.opened.append(store)
        return store

    def misses(self, **caps: Any) -> MissStore:
        store: MissStore
        if self.redis is None:
            store = SQLiteMisses(self.tmp / "var" / "misses.sqlite3", **caps)
        else:
            store = RedisMisses(client_from_url(self.redis.url), self._key, owns_client=True,
                                **caps)
        self.opened.append(store)
        return store

    async def stored_misses(self) -> dict[str, Any]:
        """Everything the misses log holds, as raw as the backend keeps it."""
        if self.redis is None:
            with sqlite3.connect(self.tmp / "var" / "misses.sqlite3") as conn:
                columns = [r[1] for r in conn.execute("PRAGMA table_info(misses)")]
                return {"columns": columns, "rows": conn.execute("SELECT * FROM misses")
                        .fetchall()}
        client = client_from_url(self.redis.url)
        try:
            keys = sorted([k async for k in client.scan_iter(f"{self.prefix}:*")])
            return {k: await client.type(k) for k in keys}
        finally:
            await client.aclose()

    async def close(self) -> None:
        for store in self.opened:
            await store.close()


@pytest.fixture(scope="module", params=["sqlite", "redis"])
def backend_kind(request: pytest.FixtureRequest) -> Iterator[str]:
    yield request.param


@pytest_asyncio.fixture
async def backend(backend_kind: str, tmp_path: Path,
                  request: pytest.FixtureRequest) -> AsyncIterator[Backend]:
    redis = request.getfixturevalue("redis_server") if backend_kind == "redis" else None
    made = Backend(backend_kind, tmp_path, redis)
    try:
        yield made
    finally:
        await made.close()


# ------------------------------------------------------------------- story defaults


async def test_defaults_count_channel_then_server_then_user_and_survive_a_restart(
        backend: Backend) -> None:
    first = await backend.settings()
    assert await first.defaults_for(channel=CHANNEL, guild=GUILD, user=None) == []
    await first.set_default("server", GUILD, BRIDGE, USER)
    await first.set_default("channel", CHANNEL, FLOOD, USER)
    await first.set_default("user", USER, BUNDLED, USER)
    assert await first.defaults_for(channel=CHANNEL, guild=GUILD, user=None) == [
        ("channel", FLOOD), ("server", BRIDGE)]
    assert await first.defaults_for(channel=OTHER_CHANNEL, guild=GUILD, user=None) == [
        ("server", BRIDGE)], "a channel without its own falls back to the server's"
    assert await first.defaults_for(channel=None, guild=None, user=USER) == [("user", BUNDLED)]
    await first.set_default("server", GUILD, BUNDLED, USER)  # set again: replaced
    await first.close()

    again = await backend.settings()  # a restart
    assert await again.defaults_for(channel=CHANNEL, guild=GUILD, user=USER) == [
        ("channel", FLOOD), ("server", BUNDLED), ("user", BUNDLED)]
    other = await backend.settings()  # another process sees the same
    assert await other.defaults_for(channel=OTHER_CHANNEL, guild=GUILD, user=None) == [
        ("server", BUNDLED)]


async def test_a_default_counts_at_once_where_it_was_set_and_within_a_while_elsewhere(
        backend: Backend) -> None:
    # Defaults are read on every answer, so each process keeps what it read for a while.
    # A channel's default is set through the process serving its server, which sees it at
    # once; any other process sees it within DEFAULTS_TTL.
    now = [1000.0]
    here, there = await backend.settings(), await backend.settings()
    for store in (here, there):
        store.known_defaults = DefaultsCache(clock=lambda: now[0])  # type: ignore[attr-defined]
    asked = {"channel": CHANNEL, "guild": GUILD, "user": None}
    assert await here.defaults_for(**asked) == [] and await there.defaults_for(**asked) == []

    await here.set_default("channel", CHANNEL, FLOOD, USER)
    assert await here.defaults_for(**asked) == [("channel", FLOOD)]
    assert await there.defaults_for(**asked) == [], "read again only after a while"
    now[0] += DEFAULTS_TTL + 1
    assert await there.defaults_for(**asked) == [("channel", FLOOD)]


def test_the_defaults_kept_in_memory_are_bounded() -> None:
    kept = DefaultsCache(kept=100)
    for channel in range(1000):
        kept.put({("channel", channel): None})
    assert len(kept._known) == 100
    assert kept.get([("channel", 999)]) == [] and kept.get([("channel", 0)]) is None


async def test_answers_that_miss_the_defaults_together_share_one_read() -> None:
    # A kept default expiring under a stream of answers: one read for all of them, not one
    # each queued on the backend's thread.
    kept, reads, release = DefaultsCache(), [], asyncio.Event()

    async def fetch(wanted: Sequence[tuple[str, int]]) -> dict[tuple[str, int], str | None]:
        reads.append(list(wanted))
        await release.wait()
        return {("channel", CHANNEL): FLOOD, ("server", GUILD): None}

    wanted = [("channel", CHANNEL), ("server", GUILD)]
    answers = [asyncio.create_task(kept.read(wanted, fetch)) for _ in range(50)]
    await asyncio.sleep(0)
    answers[0].cancel()  # one interaction gone: the others still get the read
    release.set()
    got = await asyncio.gather(*answers[1:])
    assert len(reads) == 1
    assert all(g == [("channel", FLOOD)] for g in got)
    assert await kept.read(wanted, fetch) == [("channel", FLOOD)] and len(reads) == 1


async def test_a_read_begun_before_a_default_changed_is_not_shared_after() -> None:
    kept, stories, gates = DefaultsCache(), iter([FLOOD, BRIDGE]), [asyncio.Event()]

    async def fetch(wanted: Sequence[tuple[str, int]]) -> dict[tuple[str, int], str | None]:
        story = next(stories)
        if story == FLOOD:
            await gates[0].wait()  # the old story, read just before it was changed
        return {("channel", CHANNEL): story}

    wanted = [("channel", CHANNEL)]
    before = asyncio.create_task(kept.read(wanted, fetch))
    await asyncio.sleep(0)
    kept.forget(("channel", CHANNEL))  # /story default set here meanwhile
    # Not joined to the read under way (that would wait for it and give the old story).
    assert await asyncio.wait_for(kept.read(wanted, fetch), 2) == [("channel", BRIDGE)]
    gates[0].set()
    assert await before == [("channel", FLOOD)]
    assert await kept.read(wanted, fetch) == [("channel", BRIDGE)], "the old read was kept"


async def test_a_default_unreadable_in_an_outage_is_not_remembered_as_none(
        redis_server: RedisServer) -> None:
    writer = RedisSettings(client_from_url(redis_server.url), owns_client=True)
    reader = RedisSettings(client_from_url(redis_server.url), owns_client=True)
    reader.reach = Reach(pause=0)  # no pause after the failure: the next read tries again
    try:
        redis_server.stop()
        try:
            assert await reader.defaults_for(channel=CHANNEL, guild=GUILD, user=None) == []
        finally:
            redis_server.start()  # empty: the test server keeps nothing across a restart
        await writer.set_default("server", GUILD, BRIDGE, USER)
        assert await reader.defaults_for(channel=CHANNEL, guild=GUILD, user=None) == [
            ("server", BRIDGE)], "the outage's empty answer was kept as the server's default"
    finally:
        await writer.close()
        await reader.close()


# ------------------------------------------------------------------- versions and changes


async def test_history_keeps_the_last_versions_and_changes_newest_first(
        backend: Backend) -> None:
    settings = await backend.settings()
    assert await settings.last_version(FLOOD) is None
    for n in range(HISTORY + 3):
        await settings.record_version(FLOOD, f"1.{n}", f"digest{n}", {"facts": {"n": n}})
        await settings.record_change(FLOOD, f"1.{n - 1}", f"1.{n}", f"digest{n}",
                                     {"added": [{"id": f"fact-{n}"}]})
    assert await settings.last_version(FLOOD) == (f"1.{HISTORY + 2}", f"digest{HISTORY + 2}",
                                                  {"facts": {"n": HISTORY + 2}})
    assert await settings.last_version(BRIDGE) is None, "each story has its own history"
    kept = await settings.changes(FLOOD, limit=100)
    assert [c.new_version for c in kept] == [f"1.{n}" for n in range(HISTORY + 2, 2, -1)]
    assert [c.body["added"][0]["id"] for c in kept][:1] == [f"fact-{HISTORY + 2}"]
    assert kept[0].digest == f"digest{HISTORY + 2}" and kept[0].old_version == f"1.{HISTORY + 1}"
    assert [c.id for c in kept] == sorted((c.id for c in kept), reverse=True)
    assert [c.id for c in await settings.changes(FLOOD)] == [kept[0].id], "limit=1: the latest"
    await settings.close()
    again = await backend.settings()
    assert [c.id for c in await again.changes(FLOOD, limit=100)] == [c.id for c in kept]


async def test_a_change_is_recorded_once_whichever_process_records_it(backend: Backend) -> None:
    one, two = await backend.settings(), await backend.settings()
    first = await one.record_change(FLOOD, "1.0", "1.1", "abc", {"added": []})
    assert first is not None
    assert await two.record_change(FLOOD, "1.0", "1.1", "abc", {"added": []}) is None
    assert await one.record_change(FLOOD, "1.0", "1.1", "abc", {"added": []}) is None
    assert [c.id for c in await two.changes(FLOOD, limit=10)] == [first]
    other = await two.record_change(BRIDGE, "1.0", "1.1", "abc", {"added": []})
    assert other is not None and other != first, "the same digest in another story is new"


async def test_two_processes_reloading_the_same_data_record_one_change(
        backend: Backend, tmp_data: Path, tmp_path: Path) -> None:
    add_stories(tmp_data, FLOOD)
    stores = [Store(tmp_data, tmp_path / f"db{n}" / "briefing.sqlite3") for n in range(2)]
    one, two = await backend.settings(), await backend.settings()
    try:
        for store in stores:
            await store.open()
        async with stores[0].snapshot() as snap:
            assert await record_changes(snap, one) == []  # first sight: the baseline
        change_the_flood(tmp_data)
        for store in stores:
            await store.reload()
        async with stores[0].snapshot() as a, stores[1].snapshot() as b:
            found = await asyncio.gather(record_changes(a, one), record_changes(b, two))
        recorded = [(s.id, s.version) for r in found for s, _, _ in r]
        assert recorded == [(FLOOD, "1.1")], "exactly one process recorded the change"
        (change,) = await two.changes(FLOOD, limit=10)
        assert (change.old_version, change.new_version) == ("1.0", "1.1")
    finally:
        for store in stores:
            await store.close()


# ------------------------------------------------------------------- follows


async def test_follow_list_unfollow_by_server_and_story(backend: Backend) -> None:
    settings = await backend.settings()
    await settings.follow(GUILD, CHANNEL, FLOOD, USER)
    await settings.follow(GUILD, OTHER_CHANNEL, BRIDGE, USER)
    await settings.follow(GUILD + 2, CHANNEL + 4, FLOOD, USER)
    assert [(f.guild, f.channel, f.story) for f in await settings.follows(guild=GUILD)] == [
        (GUILD, CHANNEL, FLOOD), (GUILD, OTHER_CHANNEL, BRIDGE)]  # oldest first
    assert [f.channel for f in await settings.follows(story=FLOOD)] == [CHANNEL, CHANNEL + 4]
    assert [f.channel for f in await settings.follows(guild=GUILD, story=FLOOD)] == [CHANNEL]
    assert len(await settings.follows()) == 3
    assert await settings.unfollow(CHANNEL, FLOOD) is True
    assert await settings.unfollow(CHANNEL, FLOOD) is False, "not followed any more"
    assert await settings.unfollow(OTHER_CHANNEL, FLOOD) is False, "follows another story"
    await settings.close()
    again = await backend.settings()
    assert [(f.channel, f.story) for f in await again.follows()] == [
        (OTHER_CHANNEL, BRIDGE), (CHANNEL + 4, FLOOD)]


async def test_failed_posts_stop_a_follow_until_it_is_followed_again(backend: Backend) -> None:
    settings = await backend.settings()
    await settings.follow(GUILD, CHANNEL, FLOOD, USER)
    await settings.post_result(CHANNEL, FLOOD, "403 Missing Access")
    await settings.post_result(CHANNEL, FLOOD, None)  # a post that worked clears the count
    (follow,) = await settings.follows(story=FLOOD)
    assert (follow.failures, follow.last_error, follow.stopped) == (0, "", False)
    for n in range(FAILURES_BEFORE_STOP):
        (follow,) = await settings.follows(story=FLOOD)
        assert not follow.stopped and follow.failures == n
        await settings.post_result(CHANNEL, FLOOD, "403 Missing Access")
    (follow,) = await settings.follows(guild=GUILD)
    assert follow.stopped and follow.failures == FAILURES_BEFORE_STOP
    assert follow.last_error == "403 Missing Access"
    await settings.follow(GUILD, CHANNEL, FLOOD, USER)  # followed again: afresh
    (follow,) = await settings.follows(guild=GUILD)
    assert (follow.failures, follow.stopped) == (0, False)
    assert await settings.unfollow(CHANNEL, FLOOD)
    await settings.post_result(CHANNEL, FLOOD, "403 Missing Access")  # a post in flight
    assert await settings.follows() == [], "a result after unfollowing brings nothing back"


async def test_a_post_is_claimed_once_across_processes_and_restarts(backend: Backend) -> None:
    stores = [await backend.settings() for _ in range(4)]
    claims = await asyncio.gather(*(s.claim_post(CHANNEL, FLOOD, 7) for s in stores * 3))
    assert sorted(claims) == [False] * 11 + [True], "exactly one process wins the claim"
    assert await stores[0].claim_post(OTHER_CHANNEL, FLOOD, 7), "each channel is claimed"
    assert await stores[0].claim_post(CHANNEL, FLOOD, 8), "each change is claimed"
    assert await stores[0].claim_post(CHANNEL, BRIDGE, 7), "each story is claimed"
    for store in stores:
        await store.close()
    again = await backend.settings()
    assert not await again.claim_post(CHANNEL, FLOOD, 7), "a restart posts nothing twice"


async def test_a_claim_on_redis_expires_long_after_it_matters(redis_server: RedisServer) -> None:
    client = client_from_url(redis_server.url)
    prefix = f"test-{uuid.uuid4().hex[:8]}"
    settings = RedisSettings(client, lambda *parts: ":".join((prefix, *parts)))
    try:
        assert await settings.claim_post(CHANNEL, FLOOD, 7)
        (key,) = [k async for k in client.scan_iter(f"{prefix}:*posted*")]
        ttl = await client.ttl(key)
        assert CLAIM_SECONDS - 60 < ttl <= CLAIM_SECONDS, "the claim lasts, then goes"
    finally:
        await client.aclose()


# ------------------------------------------------------------------- misses


async def test_misses_are_capped_in_size_and_age_and_counted_across_processes(
        backend: Backend) -> None:
    log = backend.misses(max_rows=3, max_age_days=1)
    for n in range(5):
        await log.record(f"question number {n}?", now=1000.0 + n)
    await log.record("Question number 4", now=1010.0)  # the same question, folded
    top = await log.top(now=1010.0)
    assert [m.question for m in top] == ["question number 4?", "question number 3?",
                                         "question number 2?"], "at most max_rows, most asked"
    assert (top[0].count, top[0].first_asked, top[0].last_asked) == (2, 1004.0, 1010.0)
    assert await log.top(limit=1, now=1010.0) == top[:1]
    other = backend.misses(max_rows=3, max_age_days=1)  # another process adds to the same log
    await other.record("QUESTION number 3?", now=1011.0)
    assert [(m.question, m.count) for m in await log.top(now=1011.0)][:2] == [
        ("question number 3?", 2), ("question number 4?", 2)], "ties: the latest first"
    assert await log.top(now=1011.0 + 2 * 86400) == [], "none older than max_age_days"
    await other.record("a new one", now=1011.0 + 2 * 86400)  # a write prunes the old ones
    restarted = backend.misses(max_rows=3, max_age_days=1)
    assert [m.question for m in await restarted.top(now=1011.0)] == ["a new one"]


async def test_misses_keep_text_time_and_count_only(backend: Backend) -> None:
    log = backend.misses()
    await log.record("which airline flew the plane?", now=1000.0)
    stored = await backend.stored_misses()
    if backend.kind == "sqlite":
        assert stored["columns"] == ["key", "question", "count", "first_asked", "last_asked"]
    else:  # two sorted sets (count, last asked) and two hashes (first asked, text)
        assert {k.rsplit(":", 1)[1]: t for k, t in stored.items()} == {
            "count": "zset", "last": "zset", "first": "hash", "text": "hash"}
    assert (await log.top(now=1000.0))[0].count == 1


# ------------------------------------------------------------------- a Redis outage


@pytest.fixture
def dead_redis_url() -> str:
    return f"redis://127.0.0.1:{free_port()}/0"  # nothing listens there


async def test_with_redis_unreachable_reads_answer_empty_and_writes_say_so(
        dead_redis_url: str) -> None:
    settings = RedisSettings(client_from_url(dead_redis_url), owns_client=True)
    misses = RedisMisses(client_from_url(dead_redis_url), owns_client=True)
    try:
        started = time.monotonic()
        assert await settings.defaults_for(channel=CHANNEL, guild=GUILD, user=None) == []
        assert settings.reach.paused, "answers skip Redis for a while after a failure"
        assert await settings.defaults_for(channel=CHANNEL, guild=GUILD, user=None) == []
        await misses.record("which airline flew the plane?")  # lost, but never raises
        for write in (settings.set_default("server", GUILD, FLOOD, USER),
                      settings.follow(GUILD, CHANNEL, FLOOD, USER),
                      settings.claim_post(CHANNEL, FLOOD, 1)):
            with pytest.raises(SettingsUnavailable, match="Redis is unreachable"):
                await write
        with pytest.raises(SettingsUnavailable, match="Redis is unreachable"):
            await misses.top()
        assert time.monotonic() - started < 60, "a hang, not a slow machine"
    finally:
        await settings.close()
        await misses.close()


async def test_members_hear_that_settings_are_unreachable_and_answers_go_on(
        tmp_data: Path, db_path: Path, dead_redis_url: str) -> None:
    add_stories(tmp_data, FLOOD)
    env = {"REDIS_URL": dead_redis_url}
    async with Harness.start(tmp_data, db_path, env=env) as harness:
        manager = P.member(P.user(), permissions=str(MANAGE_GUILD))
        calls = await harness.slash(P.slash_interaction(
            "story", {"story": BUNDLED, "scope": "server"}, subcommand="set", member=manager))
        bodies = [c.body for c in calls]
        assert_valid(bodies)
        assert_pings_nobody(bodies)
        shown = texts(bodies)
        assert "Settings unreachable" in shown and "nothing was changed" in shown, shown
        port = dead_redis_url.rsplit(":", 1)[1].split("/")[0]
        assert port not in shown and "127.0.0.1" not in shown, "the address is the log's"
        calls = await harness.slash(P.slash_interaction(
            "follow", {"story": FLOOD}, subcommand="add", member=manager))
        assert "Settings unreachable" in texts([c.body for c in calls])
        who = await harness.slash(P.slash_interaction("who", member=P.member(P.user())))
        authors = {e["author"]["name"] for c in who for e in c.embeds if e.get("author")}
        assert authors == {f"📰 {TITLES[FLOOD]}"}, "answered, with the fallback story"
        assert await harness.bot.get_cog("Stories").announce_changes() == 0  # type: ignore[union-attr]


def test_python_m_bot_misses_reads_the_shared_log_when_redis_url_is_set(
        redis_server: RedisServer, tmp_path: Path) -> None:
    async def record() -> None:  # two processes, under the bot's own key prefix
        for _ in range(2):
            log = RedisMisses(client_from_url(redis_server.url), owns_client=True)
            await log.record("which airline flew the plane?")
            await log.close()
    asyncio.run(record())
    env = {k: v for k, v in os.environ.items() if k not in ("DATA_DIR", "MISSES_PATH")}
    env.update(DB_PATH=str(tmp_path / "db" / "cli.sqlite3"), LOG_FILE="",
               REDIS_URL=redis_server.url, PYTHONIOENCODING="utf-8")
    out = subprocess.run([sys.executable, "-m", "bot", "misses"], cwd=REPO, env=env,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines()[0].startswith("2") and "airline" in out.stdout
    assert not (tmp_path / "db" / "misses.sqlite3").exists(), "Redis, not the file"

    env["REDIS_URL"] = f"redis://127.0.0.1:{free_port()}/0"  # nothing listens there
    down = subprocess.run([sys.executable, "-m", "bot", "misses"], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=120)
    assert down.returncode == 1 and "Redis is unreachable" in down.stderr, down
    assert "Traceback" not in down.stderr
