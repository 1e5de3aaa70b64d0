"""Moving to many processes loses no setting: `python -m bot settings copy-to-redis`.

A bot that ran as one process kept its story defaults, follows, version history and misses
in SQLite files; the copy puts them into a real Redis (tests/redis_server.py), where every
process then reads them. Also: copying twice, a Redis that already holds some settings, an
interrupted copy, the error messages, and the one warning a process on Redis logs at start
while the files hold settings Redis lacks (bot/settings_store/copy.py).
"""

from __future__ import annotations

import asyncio
import logging
import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from bot.answering.misses import RedisMisses, SQLiteMisses
from bot.settings import Settings
from bot.settings_store import (
    HISTORY,
    RedisSettings,
    SettingsUnavailable,
    SQLiteSettings,
    client_from_url,
)
from bot.settings_store.copy import COMMAND, copy_to_redis, read_sources, warn_if_not_copied
from bot.settings_store.redis import RedisCopy
from tests.briefing_data import REPO
from tests.harness import Harness
from tests.redis_server import RedisServer, free_port

GUILD, CHANNEL, OTHER_CHANNEL, USER, EDITOR = (1234567890123456789, 1234567890123456791,
                                               1234567890123456793, 1234567890123456797,
                                               1234567890123456799)
FLOOD, BRIDGE = "flood-evacuation-2026", "bridge-closure-2026"
TIMEOUT = 120  # a hung CLI fails the test rather than the whole run; not a speed check


@pytest.fixture
def var(tmp_path: Path) -> Path:
    """The bot's writable folder (beside DB_PATH): settings.sqlite3 and misses.sqlite3."""
    return tmp_path / "db"


async def run_one_process(var: Path) -> None:
    """What months as one process leave in the files, written through the bot's own stores:
    three defaults, two follows (one stopped after failed posts), three versions and two
    changes of the flood, the latest change posted to CHANNEL, three missed questions."""
    store = await SQLiteSettings.open(var / "settings.sqlite3")
    try:
        await store.set_default("channel", CHANNEL, FLOOD, EDITOR)
        await store.set_default("server", GUILD, BRIDGE, EDITOR)
        await store.set_default("user", USER, FLOOD, USER)
        await store.follow(GUILD, CHANNEL, FLOOD, EDITOR)
        await store.follow(GUILD, OTHER_CHANNEL, FLOOD, EDITOR)
        for _ in range(3):  # a channel the bot may no longer post in
            await store.post_result(OTHER_CHANNEL, FLOOD, "403 Missing Access")
        for n in (1, 2, 3):
            await store.record_version(FLOOD, f"v{n}", f"digest{n}", {"facts": {"n": n}})
            if n > 1:
                await store.record_change(FLOOD, f"v{n - 1}", f"v{n}", f"digest{n}",
                                          {"added": [{"id": f"fact{n}", "text": f"Fact {n}"}]})
        (latest,) = await store.changes(FLOOD, limit=1)
        assert await store.claim_post(CHANNEL, FLOOD, latest.id)
    finally:
        await store.close()
    misses = SQLiteMisses(var / "misses.sqlite3")
    for question in ("Which airline flew the plane?", "which airline flew the plane",
                     "Who paid for the flights?", "How many were released?"):
        await misses.record(question)


@pytest.fixture
def redis_url(redis_server: RedisServer) -> Iterator[str]:
    """The module's Redis, emptied first: each test starts as a fresh move."""
    import redis as sync_redis

    client = sync_redis.Redis.from_url(redis_server.url)
    client.flushdb()
    client.close()
    yield redis_server.url


def env_for(var: Path, redis_url: str | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if k not in ("DATA_DIR", "DB_PATH", "SETTINGS_PATH", "MISSES_PATH", "REDIS_URL",
                        "MISSES_ENABLED", "DISCORD_TOKEN")}
    env.update(DB_PATH=str(var / "briefings.sqlite3"), LOG_FILE="", PYTHONIOENCODING="utf-8")
    if redis_url is not None:
        env["REDIS_URL"] = redis_url
    return env


def copy_cli(var: Path, redis_url: str | None, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "bot", "settings", "copy-to-redis", *args],
                          cwd=REPO, env=env_for(var, redis_url), capture_output=True,
                          text=True, encoding="utf-8", errors="replace", timeout=TIMEOUT)


@pytest_asyncio.fixture
async def redis_store(redis_url: str) -> AsyncIterator[RedisSettings]:
    """The settings as every process on this Redis reads them (the bot's own key prefix)."""
    store = RedisSettings(client_from_url(redis_url), owns_client=True)
    try:
        yield store
    finally:
        await store.close()


async def everything_in(redis_url: str) -> dict[str, Any]:
    """Every key of the bot in Redis with its value (but when the copy ran)."""
    client = client_from_url(redis_url)
    try:
        out: dict[str, Any] = {}
        async for key in client.scan_iter("briefing:*"):
            kind = await client.type(key)
            if key.endswith(":copied-at"):
                continue
            if kind == "string":
                out[key] = await client.get(key)
            elif kind == "hash":
                out[key] = await client.hgetall(key)  # type: ignore[misc]
            elif kind == "list":
                out[key] = await client.lrange(key, 0, -1)  # type: ignore[misc]
            elif kind == "set":
                out[key] = sorted(await client.smembers(key))  # type: ignore[misc]
            elif kind == "zset":
                out[key] = await client.zrange(key, 0, -1, withscores=True)
        return out
    finally:
        await client.aclose()


def lines_of(result: subprocess.CompletedProcess[str]) -> list[str]:
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    return result.stdout.splitlines()


# ------------------------------------------------------------------- the copy


async def test_every_setting_of_one_process_is_read_from_redis_after_the_copy(
        var: Path, redis_url: str, redis_store: RedisSettings) -> None:
    await run_one_process(var)
    out = lines_of(copy_cli(var, redis_url))
    assert out[:4] == ["3 story defaults copied", "2 follows copied", "3 versions copied",
                       "2 changes copied"], out
    assert "1 record of a post made copied" in out
    assert "3 missed questions copied" in out

    # What a process on Redis now answers with, as the one process did.
    assert await redis_store.defaults_for(channel=CHANNEL, guild=GUILD, user=USER) == [
        ("channel", FLOOD), ("server", BRIDGE), ("user", FLOOD)]
    follows = {f.channel: f for f in await redis_store.follows(guild=GUILD)}
    assert set(follows) == {CHANNEL, OTHER_CHANNEL}
    assert not follows[CHANNEL].stopped and follows[CHANNEL].failures == 0
    stopped = follows[OTHER_CHANNEL]
    assert (stopped.stopped, stopped.failures, stopped.last_error) == (
        True, 3, "403 Missing Access"), "a stopped follow stays stopped"
    assert [f.channel for f in await redis_store.follows(story=FLOOD)] == [CHANNEL,
                                                                          OTHER_CHANNEL]
    assert await redis_store.last_version(FLOOD) == ("v3", "digest3", {"facts": {"n": 3}})
    changes = await redis_store.changes(FLOOD, limit=5)
    assert [(c.old_version, c.new_version, c.digest) for c in changes] == [
        ("v2", "v3", "digest3"), ("v1", "v2", "digest2")]
    assert changes[0].body == {"added": [{"id": "fact3", "text": "Fact 3"}]}
    # The latest change was posted to CHANNEL already: no process posts it there again.
    assert not await redis_store.claim_post(CHANNEL, FLOOD, changes[0].id)
    assert await redis_store.claim_post(OTHER_CHANNEL, FLOOD, changes[0].id)
    # A change recorded on Redis afterwards does not reuse a copied change's id.
    later = await redis_store.record_change(FLOOD, "v3", "v4", "digest4", {})
    assert later is not None and later > max(c.id for c in changes)

    top = await RedisMisses(redis_store.redis).top()
    assert [(m.question, m.count) for m in top][0] == ("Which airline flew the plane?", 2)
    assert {m.question for m in top} == {"Which airline flew the plane?",
                                         "Who paid for the flights?", "How many were released?"}
    assert (var / "settings.sqlite3").exists(), "the files are left as they were"


async def test_copying_twice_changes_nothing_and_says_so(var: Path, redis_url: str) -> None:
    await run_one_process(var)
    lines_of(copy_cli(var, redis_url))
    before = await everything_in(redis_url)
    again = lines_of(copy_cli(var, redis_url))
    assert await everything_in(redis_url) == before
    assert again[:4] == ["0 story defaults copied; 3 already in Redis",
                         "0 follows copied; 2 already in Redis",
                         "0 versions copied; 3 already in Redis",
                         "0 changes copied; 2 already in Redis"], again
    assert "0 missed questions copied; 3 already in Redis" in again


async def test_what_redis_holds_already_is_kept_and_histories_are_merged(
        var: Path, redis_url: str, redis_store: RedisSettings) -> None:
    await run_one_process(var)
    # A process started on Redis before the copy: a member chose another story for the
    # channel, the flood's current version was recorded afresh, a question was counted.
    await redis_store.set_default("channel", CHANNEL, BRIDGE, USER)
    await redis_store.record_version(FLOOD, "v3", "digest3", {"facts": {"n": 3}})
    for _ in range(2):
        await RedisMisses(redis_store.redis).record("Who paid for the flights?")

    out = lines_of(copy_cli(var, redis_url))
    assert out[0] == ("2 story defaults copied; 1 set otherwise in Redis, kept "
                      "(--overwrite replaces them)"), out
    assert "2 missed questions copied; 1 set otherwise in Redis, kept " \
           "(--overwrite replaces them)" in out
    assert await redis_store.defaults_for(channel=CHANNEL, guild=None, user=None) == [
        ("channel", BRIDGE)], "the member's newer choice stands"
    # Redis's own version stays the latest; the file's go behind it, as history.
    versions = await redis_store.redis.lrange(redis_store.key("versions", FLOOD), 0, -1)  # type: ignore[misc]
    assert len(versions) == 4 and await redis_store.last_version(FLOOD) == (
        "v3", "digest3", {"facts": {"n": 3}})
    paid = {m.question: m.count for m in await RedisMisses(redis_store.redis).top()}
    assert paid["Who paid for the flights?"] == 2, "Redis's count stands"

    forced = lines_of(copy_cli(var, redis_url, "--overwrite"))
    assert forced[0] == "1 story default copied; 2 already in Redis", forced
    fresh = RedisSettings(client_from_url(redis_url), owns_client=True)  # a process started
    try:                                         # now (a running one keeps what it read 30 s)
        assert await fresh.defaults_for(channel=CHANNEL, guild=None, user=None) == [
            ("channel", FLOOD)], "--overwrite: the file's"
    finally:
        await fresh.close()
    assert {m.question: m.count for m in await RedisMisses(redis_store.redis).top()}[
        "Who paid for the flights?"] == 1, "--overwrite: the file's count"


async def test_a_copied_change_whose_id_redis_uses_gets_a_new_one_and_keeps_its_post(
        var: Path, redis_url: str, redis_store: RedisSettings) -> None:
    await run_one_process(var)  # the file's flood changes have ids 1 and 2
    for n in (1, 2):  # a process on Redis recorded two other changes: ids 1 and 2 there too
        assert await redis_store.record_change(FLOOD, "v3", f"r{n}", f"redis{n}", {}) == n
    lines_of(copy_cli(var, redis_url))
    changes = await redis_store.changes(FLOOD, limit=10)
    assert [c.digest for c in changes] == ["redis2", "redis1", "digest3", "digest2"]
    assert sorted(c.id for c in changes) == [1, 2, 3, 4], "no id twice in one story"
    copied = {c.digest: c.id for c in changes}
    assert copied["redis1"] == 1 and copied["redis2"] == 2, "Redis's own ids stay"
    # The file's latest change was posted to CHANNEL: under its new id too.
    assert not await redis_store.claim_post(CHANNEL, FLOOD, copied["digest3"])
    assert (await redis_store.record_change(FLOOD, "r2", "v4", "digest4", {}) or 0) > 4


async def test_a_history_keeps_only_the_last_versions_of_both(
        var: Path, redis_url: str, redis_store: RedisSettings) -> None:
    store = await SQLiteSettings.open(var / "settings.sqlite3")
    for n in range(HISTORY):
        await store.record_version(FLOOD, f"old{n}", f"old{n}", {})
    await store.close()
    for n in range(3):  # newer, recorded on Redis
        await redis_store.record_version(FLOOD, f"new{n}", f"new{n}", {})
    out = lines_of(copy_cli(var, redis_url))
    assert f"{HISTORY - 3} versions copied; 3 too old to keep" in out, out
    kept = await redis_store.redis.lrange(redis_store.key("versions", FLOOD), 0, -1)  # type: ignore[misc]
    assert len(kept) == HISTORY
    assert await redis_store.last_version(FLOOD) == ("new2", "new2", {})


async def test_an_interrupted_copy_is_completed_by_running_it_again(
        var: Path, redis_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    await run_one_process(var)
    settings = Settings.from_env({"DB_PATH": str(var / "briefings.sqlite3"),
                                  "REDIS_URL": redis_url}, dotenv=False)
    sources = read_sources(settings)
    real = RedisCopy.put_follow
    calls = 0

    async def fails_on_the_second(self: RedisCopy, *args: Any, **kw: Any) -> int:
        nonlocal calls
        calls += 1
        if calls == 2:
            raise SettingsUnavailable("Redis is unreachable (the test cut it)")
        return await real(self, *args, **kw)

    store = RedisSettings(client_from_url(redis_url), owns_client=True)
    try:
        monkeypatch.setattr(RedisCopy, "put_follow", fails_on_the_second)
        with pytest.raises(SettingsUnavailable):
            await copy_to_redis(sources, store, RedisMisses(store.redis))
        half = await everything_in(redis_url)
        assert len([k for k in half if ":follow:" in k]) == 1, "one whole follow, no part"
        assert not await store.redis.exists(store.key("copied-at")), "not marked as done"
        monkeypatch.setattr(RedisCopy, "put_follow", real)
        report = await copy_to_redis(sources, store, RedisMisses(store.redis))
        assert (report["follows"].copied, report["follows"].same) == (1, 1)
        completed = await everything_in(redis_url)
    finally:
        await store.close()
    # The same as one uninterrupted copy into an empty Redis.
    import redis as sync_redis

    sync_redis.Redis.from_url(redis_url).flushdb()
    lines_of(copy_cli(var, redis_url))
    assert await everything_in(redis_url) == completed


async def test_dry_run_says_what_would_be_copied_and_writes_nothing(
        var: Path, redis_url: str) -> None:
    await run_one_process(var)
    out = lines_of(copy_cli(var, redis_url, "--dry-run"))
    assert out[0] == "3 story defaults to copy" and out[-1].startswith("Nothing was written")
    assert await everything_in(redis_url) == {}


# ------------------------------------------------------------------- clear errors


async def test_errors_are_one_clear_line_and_nothing_is_written(
        var: Path, redis_url: str) -> None:
    await run_one_process(var)
    unset = copy_cli(var, None)
    assert unset.returncode == 2 and "REDIS_URL is not set" in unset.stderr, unset
    down = copy_cli(var, f"redis://127.0.0.1:{free_port()}/0")  # nothing listens there
    assert down.returncode == 1 and "Redis is unreachable" in down.stderr, down
    assert "nothing was copied" in down.stderr
    nowhere = var.parent / "nowhere"
    missing = copy_cli(nowhere, redis_url)
    assert missing.returncode == 1 and "nothing to copy" in missing.stderr, missing
    assert str(nowhere / "settings.sqlite3") in missing.stderr
    assert not nowhere.exists(), "looking made no file"
    broken = var.parent / "broken"
    broken.mkdir()
    (broken / "settings.sqlite3").write_text("not a database", encoding="utf-8")
    bad = copy_cli(broken, redis_url)
    assert bad.returncode == 1 and "cannot be read" in bad.stderr, bad
    for result in (unset, down, missing, bad):
        assert "Traceback" not in result.stderr and result.stdout == ""
    assert await everything_in(redis_url) == {}


# ------------------------------------------------------------------- the warning at start


def settings_for(var: Path, redis_url: str) -> Settings:
    return Settings.from_env({"DB_PATH": str(var / "briefings.sqlite3"),
                              "REDIS_URL": redis_url}, dotenv=False)


async def test_a_process_on_redis_warns_once_until_the_copy_is_made(
        var: Path, redis_url: str, redis_store: RedisSettings,
        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="bot.settings")
    settings = settings_for(var, redis_url)
    assert await warn_if_not_copied(settings, redis_store) is None, "no files: nothing to say"
    await run_one_process(var)
    await redis_store.set_default("channel", CHANNEL, FLOOD, USER)  # one is there already
    report = await warn_if_not_copied(settings, redis_store)
    assert report is not None
    (warning,) = [r.getMessage() for r in caplog.records]
    assert COMMAND in warning and "2 story defaults, 2 follows, 3 versions, 2 changes, " \
        "3 missed questions" in warning, warning
    assert await everything_in(redis_url) == {
        redis_store.key("default", "channel", CHANNEL): {
            "story": FLOOD, "set_by": str(USER),
            "set_at": (await redis_store.redis.hget(  # type: ignore[misc]
                redis_store.key("default", "channel", CHANNEL), "set_at"))}}, \
        "warning copies nothing"
    caplog.clear()
    lines_of(copy_cli(var, redis_url))
    assert await warn_if_not_copied(settings, redis_store) is None
    # Moved: a channel that unfollows on Redis is not "missing" because the old file has it.
    assert await redis_store.unfollow(CHANNEL, FLOOD)
    assert await warn_if_not_copied(settings, redis_store) is None
    assert caplog.records == []


async def test_the_warning_comes_at_start_without_holding_it_up(
        tmp_data: Path, var: Path, redis_url: str, caplog: pytest.LogCaptureFixture) -> None:
    await run_one_process(var)
    caplog.set_level(logging.WARNING, logger="bot.settings")
    started = time.monotonic()
    async with Harness.start(tmp_data, var / "briefings.sqlite3",
                             env={"REDIS_URL": redis_url}) as harness:
        cog = harness.bot.get_cog("Stories")
        look = cog._look  # type: ignore[union-attr]
        assert look is not None
        await asyncio.wait_for(look, 30)
        assert time.monotonic() - started < 60, "a hang, not a slow machine"
    warnings = [r.getMessage() for r in caplog.records if COMMAND in r.getMessage()]
    assert len(warnings) == 1, warnings
    assert str(var / "settings.sqlite3") in warnings[0]
