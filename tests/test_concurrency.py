"""Reloading the data while people ask: every answer comes whole from one version.

Driven through the layer-2 harness (tests/harness.py): interactions are dispatched through the
gateway path (``ConnectionState.parse_interaction_create``), so each runs in its own task
exactly as under load, while ``/admin reload what:data`` rebuilds the database in a thread.
Where a test must be sure that something overlaps the rebuild, the build is gated (it waits
for the test to release it) rather than timed, so nothing here depends on the machine's speed.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import threading
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

import bot.briefing.store as store_module
from bot import router
from bot.briefing.build import BuildReport
from bot.briefing.store import Snapshot, Store
from tests import payloads as P
from tests.briefing_data import BRIEFING_NAME
from tests.harness import Call, Harness, errors_logged
from tests.payloads import DEFERRED_CHANNEL_MESSAGE

OWNER = P.owner()
WITHIN = 30.0  # seconds any wait may take before the test fails; not a speed check
READERS = 200

# Two facts of one /who answer, from two tables (entities.description and roles.title):
# a reader that mixed two versions would show one old and one new.
OLD_DESCRIPTION = "      President of El Salvador. He announced the handover on X"
NEW_DESCRIPTION = "      Second version of the description. He announced the handover on X"
OLD_ROLE = "      - title: President of El Salvador\n        organisation: government-of-el"
NEW_ROLE = "      - title: President of El Salvador (v2)\n        organisation: government-of-el"

pytestmark = pytest.mark.build_process  # the store builds in a child, as the bot does


def write_second_version(data: Path) -> None:
    path = data / "briefings" / BRIEFING_NAME
    text = path.read_text("utf-8")
    assert text.count(OLD_DESCRIPTION) == 1 and text.count(OLD_ROLE) == 1
    path.write_text(text.replace(OLD_DESCRIPTION, NEW_DESCRIPTION).replace(OLD_ROLE, NEW_ROLE),
                    "utf-8")


def version(answer: Call) -> tuple[str, str]:
    """(description version, role version) of a /who Bukele answer: 'old' or 'new' each."""
    embed = answer.embeds[0]
    description = embed.get("description", "")
    # The card lists each role as a line of its "Role" field.
    roles = [line for f in embed.get("fields", []) if f["name"] == "Role"
             for line in f["value"].split("\n")]
    desc = ("new" if "Second version of the description" in description else
            "old" if "President of El Salvador. He announced" in description else "?")
    role = ("new" if any("President of El Salvador (v2)" in r for r in roles) else
            "old" if any(r.startswith("President of El Salvador,") for r in roles) else "?")
    return desc, role


def who_bukele() -> dict[str, Any]:
    return P.slash_interaction("who", {"name": "Bukele"})


def answers_by_interaction(harness: Harness) -> dict[str, list[Call]]:
    """Every message call, keyed by the interaction it answers (response or followup)."""
    out: dict[str, list[Call]] = {}
    for call in harness.calls:
        if not call.is_message:
            continue
        if "interaction_id" in call.ids:
            key = str(call.ids["interaction_id"])
        else:
            key = str(harness.sent_by_token[call.ids["token"]]["id"])
        out.setdefault(key, []).append(call)
    return out


class BuildSpy:
    """Wraps the store's build in a child process: counts builds, the most running at once,
    and can hold each build until the test releases it."""

    def __init__(self, real: Callable[..., Awaitable[BuildReport]], *, gated: bool = False) -> None:
        self.real = real
        self.lock = threading.Lock()
        self.running = 0
        self.most = 0
        self.builds = 0
        self.started = threading.Event()
        self.release = threading.Event()
        if not gated:
            self.release.set()

    async def __call__(self, *args: Any, **kwargs: Any) -> BuildReport:
        with self.lock:
            self.running += 1
            self.builds += 1
            self.most = max(self.most, self.running)
        self.started.set()
        try:
            if not await asyncio.to_thread(self.release.wait, WITHIN):
                raise TimeoutError("the test never released the build")
            return await self.real(*args, **kwargs)
        finally:
            with self.lock:
                self.running -= 1

    async def wait_started(self) -> None:
        assert await asyncio.to_thread(self.started.wait, WITHIN), "no build started"


def spy_on_builds(monkeypatch: pytest.MonkeyPatch, *, gated: bool = False) -> BuildSpy:
    spy = BuildSpy(store_module.build_in_child, gated=gated)
    monkeypatch.setattr(store_module, "build_in_child", spy)
    return spy


class CloseSpy:
    """Records when a snapshot is closed and how many readers it had then."""

    def __init__(self, snapshot: Snapshot) -> None:
        self.snapshot = snapshot
        self.closes: list[tuple[int, bool]] = []  # (readers, retired) at each close
        self._close = snapshot.close

        async def close() -> None:
            self.closes.append((snapshot._users, snapshot.retired))
            await self._close()

        snapshot.close = close  # type: ignore[method-assign]


async def assert_closed(snapshot: Snapshot) -> None:
    with pytest.raises(ValueError, match="no active connection"):
        await snapshot.conn.execute("SELECT 1")


# ---------------------------------------------------------------------------- readers and reload


class MidAnswerPause:
    """Holds /who answers between their two facts: after the entity's description is read
    and before its roles are (Snapshot.entity reads aliases in between).

    Only interactions dispatched inside ``with pause.dispatching():`` stop: their tasks copy
    the context (and so the flag) when discord.py creates them.
    """

    _flag: contextvars.ContextVar[bool] = contextvars.ContextVar("pause_mid_answer",
                                                                 default=False)

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.paused = 0
        self.release = asyncio.Event()
        self._changed = asyncio.Event()
        real = Snapshot._rows

        async def rows(snap: Snapshot, sql: str, params: Any = ()) -> Any:
            if self._flag.get() and sql.startswith("SELECT alias FROM aliases"):
                self.paused += 1
                self._changed.set()
                await asyncio.wait_for(self.release.wait(), WITHIN)
            return await real(snap, sql, params)

        monkeypatch.setattr(Snapshot, "_rows", rows)

    @contextlib.contextmanager
    def dispatching(self) -> Iterator[None]:
        token = self._flag.set(True)
        try:
            yield
        finally:
            self._flag.reset(token)

    async def wait_paused(self, count: int) -> None:
        async def reached() -> None:
            while self.paused < count:
                self._changed.clear()
                await self._changed.wait()

        await asyncio.wait_for(reached(), WITHIN)


async def test_200_answers_during_a_reload_are_each_entirely_old_or_entirely_new(
        harness: Harness, tmp_data: Path, monkeypatch: pytest.MonkeyPatch,
        record_property: Callable[[str, object], None]) -> None:
    store = harness.bot.store
    old = store.current
    old_closed = CloseSpy(old)
    build = spy_on_builds(monkeypatch, gated=True)
    pause = MidAnswerPause(monkeypatch)
    # Every answer reads the database: a remembered answer (a reader that finished before the
    # straddling ones start, on a slow machine) would never reach the pause.
    monkeypatch.setattr(router._answers, "limit", 0)
    write_second_version(tmp_data)
    before, straddling, after = (
        [who_bukele() for _ in range(n)] for n in (80, 80, READERS - 160))
    reload = P.owner_reload()

    with errors_logged() as errors:
        for payload in before:  # already running when the reload starts
            harness.start_dispatch(payload)
        harness.start_dispatch(reload)
        await build.wait_started()
        with pause.dispatching():
            for payload in straddling:  # each stops half-way through its answer ...
                harness.start_dispatch(payload)
        await pause.wait_paused(len(straddling))
        build.release.set()  # ... while the rebuild finishes and the store swaps
        await harness.wait_for(lambda calls: any("Data reloaded" in c.titles for c in calls),
                               WITHIN)
        assert store.current is not old and old.retired
        assert old._users >= len(straddling) and old_closed.closes == [], "closed under readers"
        record_property("readers_on_the_old_snapshot_at_the_swap", old._users)
        for payload in after:  # new readers, while the straddling ones still hold the old data
            harness.start_dispatch(payload)
        await harness.wait_for(lambda calls: set(answers_by_interaction(harness)) >= {
            p["id"] for p in after}, WITHIN)
        pause.release.set()
        await harness.settle(within=WITHIN)

    assert [r.getMessage() for r in errors] == []
    answered = answers_by_interaction(harness)
    readers = [*before, *straddling, *after]
    # Each interaction answered exactly once (the reload: once, after its defer).
    assert sorted(len(answered.get(p["id"], [])) for p in [*readers, reload]) == [1] * (
        READERS + 1)
    assert answered[reload["id"]][0].titles == ["Data reloaded"]
    assert set(Counter(version(answered[p["id"]][0]) for p in readers)) <= {
        ("old", "old"), ("new", "new")}, "an answer mixed two versions"
    assert {version(answered[p["id"]][0]) for p in [*before, *straddling]} == {("old", "old")}
    assert {version(answered[p["id"]][0]) for p in after} == {("new", "new")}
    record_property("answers_old_new", f"{len(before) + len(straddling)}/{len(after)}")
    # The old snapshot was closed once, when its last reader was done.
    assert old_closed.closes == [(0, True)]
    await assert_closed(old)
    assert (await store.current.lookup("Bukele")).entity is not None


async def test_the_old_snapshot_closes_only_when_its_last_reader_is_done(
        tmp_data: Path, db_path: Path) -> None:
    store = Store(tmp_data, db_path)
    await store.open()
    try:
        old = store.current
        async with store.snapshot() as first, store.snapshot() as second:
            await store.reload()
            assert first is second is old and store.current is not old
            assert old.retired
            assert (await first.lookup("Bukele")).entity is not None
        await assert_closed(old)
        async with store.snapshot() as fresh:
            assert fresh is store.current and (await fresh.lookup("Bukele")).entity
    finally:
        await store.close()


# ---------------------------------------------------------------------------- reload and reload


@pytest.mark.parametrize("at_once", [2, 4])
async def test_reloads_at_once_run_one_after_another_without_error(
        harness: Harness, tmp_data: Path, monkeypatch: pytest.MonkeyPatch,
        at_once: int) -> None:
    store = harness.bot.store
    first = store.current
    spy = spy_on_builds(monkeypatch)
    write_second_version(tmp_data)
    reloads = [P.owner_reload() for _ in range(at_once)]

    with errors_logged() as errors:
        for payload in reloads:
            harness.start_dispatch(payload)
        await harness.settle(within=WITHIN)

    assert [r.getMessage() for r in errors] == []
    answered = answers_by_interaction(harness)
    assert [answered[p["id"]][0].titles for p in reloads] == [["Data reloaded"]] * at_once
    assert [c.type for c in harness.calls if c.kind == "callback"] == [
        DEFERRED_CHANNEL_MESSAGE] * at_once
    assert spy.builds == at_once and spy.most == 1, "builds overlapped"
    assert list(store.db_path.parent.glob("*.building")) == []
    await assert_closed(first)
    calls = await harness.slash(who_bukele())
    assert version(calls[0]) == ("new", "new")


# ---------------------------------------------------------------------------- reload and shutdown


async def test_a_reload_during_shutdown_does_not_crash(
        harness: Harness, monkeypatch: pytest.MonkeyPatch) -> None:
    spy = spy_on_builds(monkeypatch, gated=True)
    reload = P.owner_reload()

    with errors_logged() as errors:
        harness.start_dispatch(reload)
        await spy.wait_started()
        await harness.bot.close()  # SIGTERM arrives while the rebuild runs
        spy.release.set()
        await harness.settle(within=WITHIN)

    assert [r.getMessage() for r in errors] == []
    answered = answers_by_interaction(harness)
    assert len(answered[reload["id"]]) == 1
    assert harness.bot.is_closed()


async def test_a_reload_finishing_after_shutdown_leaves_no_database_connection_open(
        harness: Harness, monkeypatch: pytest.MonkeyPatch) -> None:
    store = harness.bot.store
    spy = spy_on_builds(monkeypatch, gated=True)

    harness.start_dispatch(P.owner_reload())
    await spy.wait_started()
    await harness.bot.close()
    spy.release.set()
    await harness.settle(within=WITHIN)

    try:
        assert store._current is None, "the closed store serves a snapshot again"
    finally:
        await store.close()  # or the leaked worker thread would keep pytest from exiting

