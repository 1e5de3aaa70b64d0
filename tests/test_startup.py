"""Start-up: the bot serves its last database at once and checks the files beside it.

`python -m bot run` opens the last database without looking at the files
(`Store.open(check_files=False)`), starts serving, and compares the files with it in the
background (`BriefingBot.check_data`): unchanged, nothing is built; changed while the bot was
down, the old data answers until the new is built and swapped in, as during `/admin reload`;
broken, the old data keeps serving and `/admin status` says why. Without a usable last
database the start builds first. The one-shot command line checks the files before answering.

No test here waits a fixed time: a build is held on an event where a test must see the old
data, and each test waits on the check's own task.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.briefing import store as store_module
from bot.briefing.build import BuildReport, build_database
from bot.briefing.store import Store
from bot.router import Intent
from bot.router import answer_request as answer
from tests import payloads as P
from tests.briefing_data import BRIEFING_NAME
from tests.discord_limits import shown_text
from tests.harness import Harness

OWNER = P.user(P.OWNER_ID, "owner")
ROLE = "title: President of El Salvador"
NEW_ROLE = "title: Head of State of El Salvador"


def edit(data: Path, old: str, new: str) -> None:
    path = data / "briefings" / BRIEFING_NAME
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


class Builds:
    """Counts the store's builds; with `hold`, each waits for `release` before building."""

    def __init__(self, real: Any, hold: bool) -> None:
        self.real, self.count = real, 0
        self.started = asyncio.Event()
        self.release = asyncio.Event()
        if not hold:
            self.release.set()

    async def __call__(self, data_dir: Path, db_path: Path, **kwargs: Any) -> BuildReport:
        self.count += 1
        self.started.set()
        await self.release.wait()
        result: BuildReport = await self.real(data_dir, db_path, **kwargs)
        return result


@contextlib.contextmanager
def counted_builds(monkeypatch: pytest.MonkeyPatch, *, hold: bool = False) -> Iterator[Builds]:
    builds = Builds(store_module.build_in_child, hold)
    monkeypatch.setattr(store_module, "build_in_child", builds)
    yield builds


async def who_text(store: Store, name: str = "Bukele") -> str:
    return " ".join(shown_text(page) for page in await answer(store, Intent.who, name))


@contextlib.asynccontextmanager
async def served(tmp_data: Path, db_path: Path) -> AsyncIterator[tuple[Store, BuildReport]]:
    """A store opened as `serve` opens it (the last database, unchecked), and its report;
    closed after the block."""
    store = Store(tmp_data, db_path)
    report = await store.open(last_good=True, check_files=False)
    try:
        yield store, report
    finally:
        await store.close()


# ---------------------------------------------------------------------------- the store


async def test_an_unchanged_restart_serves_the_last_database_and_builds_nothing(
        tmp_data: Path, db_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    build_database(tmp_data, db_path)
    with counted_builds(monkeypatch) as builds:
        async with served(tmp_data, db_path) as (store, report):
            assert not report.rebuilt and not store.files_checked
            assert "President of El Salvador" in await who_text(store)
            checked = await store.check_files()
            assert not checked.rebuilt and checked.problems == ()
            assert store.files_checked
            assert "President of El Salvador" in await who_text(store)
    assert builds.count == 0


async def test_a_database_another_process_rebuilt_after_the_open_is_swapped_in_by_the_check(
        tmp_data: Path, db_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Processes sharing one database: this one opened the old file unchecked, then another
    # (reloading) renamed a new build over it. The files match the file on disk, but not what
    # is served: the check swaps it in, without building again.
    build_database(tmp_data, db_path)
    with counted_builds(monkeypatch) as builds:
        async with served(tmp_data, db_path) as (store, _):
            edit(tmp_data, ROLE, NEW_ROLE)
            build_database(tmp_data, db_path)  # the other process's reload
            assert "President of El Salvador" in await who_text(store)
            checked = await store.check_files()
            assert checked.problems == ()
            assert "Head of State of El Salvador" in await who_text(store)
    assert builds.count == 0


async def test_without_a_last_database_the_start_builds_before_serving(
        tmp_data: Path, db_path: Path) -> None:
    async with served(tmp_data, db_path) as (store, report):
        assert report.rebuilt and store.files_checked
        assert "President of El Salvador" in await who_text(store)


async def test_a_database_written_by_other_code_is_not_served_unchecked(
        tmp_data: Path, db_path: Path) -> None:
    build_database(tmp_data, db_path)
    edit(tmp_data, ROLE, NEW_ROLE)
    with contextlib.closing(sqlite3.connect(db_path)) as conn, conn:
        conn.execute("UPDATE meta SET value = 'an older release' WHERE key = 'builder'")
    async with served(tmp_data, db_path) as (store, report):
        assert report.rebuilt and store.files_checked  # its rows may not be what we read
        assert "Head of State of El Salvador" in await who_text(store)


async def test_the_one_shot_open_answers_from_the_files_as_they_are_now(
        tmp_data: Path, db_path: Path) -> None:
    build_database(tmp_data, db_path)
    edit(tmp_data, ROLE, NEW_ROLE)
    store = Store(tmp_data, db_path)  # `python -m bot ask`: the default open
    await store.open()
    try:
        assert store.files_checked
        assert "Head of State of El Salvador" in await who_text(store)
    finally:
        await store.close()


# ---------------------------------------------------------------------------- the bot


async def unchecked_store(tmp_data: Path, db_path: Path) -> Store:
    """A store opened as `serve` opens it."""
    store = Store(tmp_data, db_path)
    await store.open(last_good=True, check_files=False)
    return store


async def test_files_changed_while_down_are_answered_from_the_last_data_until_the_swap(
        tmp_data: Path, db_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    build_database(tmp_data, db_path)
    edit(tmp_data, ROLE, NEW_ROLE)
    reloaded = asyncio.Event()
    with counted_builds(monkeypatch, hold=True) as builds:
        store = await unchecked_store(tmp_data, db_path)
        async with Harness.start(tmp_data, db_path, store=store, reuse_build=False) as h:

            async def on_reloaded() -> None:
                reloaded.set()

            h.bot.add_listener(on_reloaded, "on_briefing_reloaded")
            assert h.bot.data_check is not None
            await builds.started.wait()  # the check saw the change; the build is held
            [who] = await h.slash(P.slash_interaction("who", {"name": "Bukele"}))
            assert "President of El Salvador" in who.text()
            assert "Head of State" not in who.text()

            builds.release.set()
            report = await h.bot.data_check
            assert report is not None and report.rebuilt and report.problems == ()
            [who] = await h.slash(P.slash_interaction("who", {"name": "Bukele"}))
            assert "Head of State of El Salvador" in who.text()
            await asyncio.wait_for(reloaded.wait(), 5)  # what's new runs, as after a reload
    assert builds.count == 1


async def test_an_unchanged_start_checks_in_the_background_and_builds_nothing(
        tmp_data: Path, db_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    build_database(tmp_data, db_path)
    with counted_builds(monkeypatch) as builds:
        store = await unchecked_store(tmp_data, db_path)
        async with Harness.start(tmp_data, db_path, store=store, reuse_build=False) as h:
            assert h.bot.data_check is not None
            report = await h.bot.data_check
            assert report is not None and not report.rebuilt and report.problems == ()
            [who] = await h.slash(P.slash_interaction("who", {"name": "Bukele"}))
            assert "President of El Salvador" in who.text()
    assert builds.count == 0


async def test_a_file_broken_while_down_keeps_the_last_data_and_status_says_why(
        tmp_data: Path, db_path: Path) -> None:
    build_database(tmp_data, db_path)
    edit(tmp_data, "  brokers: [bukele, el-salvador]", "  brokers: [bukele, nobody]")
    store = await unchecked_store(tmp_data, db_path)
    async with Harness.start(tmp_data, db_path, store=store, reuse_build=False) as h:
        assert h.bot.data_check is not None
        report = await h.bot.data_check
        assert report is not None and not report.rebuilt
        assert any("unknown entity 'nobody'" in p for p in report.problems)
        [who] = await h.slash(P.slash_interaction("who", {"name": "Bukele"}))
        assert "President of El Salvador" in who.text()
        [status] = await h.slash(P.slash_interaction("admin", subcommand="status", user=OWNER))
        assert "Serving the last good database" in status.text()
        assert "unknown entity 'nobody'" in status.text()


async def test_a_store_opened_checked_starts_no_background_check(harness: Harness) -> None:
    assert harness.bot.data_check is None
