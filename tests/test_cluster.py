"""The control plane against a real Redis server: who is there, broadcasts and their answers,
a process that stops beating, a Redis outage and the way back (bot/cluster.py).

Several `Cluster`s in one test process stand for several bot processes; the end-to-end
version with real bot processes is tests/e2e/test_many_processes.py.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from bot.cluster import Cluster, Json, RedisUnavailable
from tests.polling import until
from tests.redis_server import RedisServer

BEAT = 0.2  # seconds: a process counts as missing after 3 beats unheard
WAIT = 10.0  # the bound on any condition awaited here (a hang becomes a failure)

Handler = Callable[[str, Json], Awaitable[Json]]


def echo(name: str) -> Handler:
    async def handle(action: str, args: Json) -> Json:
        return {"ok": True, "summary": f"{name} did {action}", "args": args}
    return handle


class Processes:
    """Clusters standing for processes, all on one Redis under a key prefix of their own."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.prefix = f"test-{uuid.uuid4().hex[:8]}"
        self.started: list[Cluster] = []

    async def start(self, name: str, shards: list[int], handle: Handler | None = None,
                    **options: Any) -> Cluster:
        cluster = Cluster(self.url, heartbeat=BEAT, prefix=self.prefix, name=name,
                          describe=lambda: {"shards": shards, "version": "9.9", "guilds": 3},
                          handle=handle or echo(name), **options)
        await cluster.start()
        self.started.append(cluster)
        await until(lambda: _ready(cluster), f"{name} beating and listening", within=WAIT)
        return cluster

    async def close(self) -> None:
        for cluster in self.started:
            await cluster.stop()


async def _ready(cluster: Cluster) -> bool:
    return cluster.reachable and cluster.listening


async def crash(cluster: Cluster) -> None:
    """Stop a cluster the way a killed process stops: no goodbye, its entry left behind."""
    for task in cluster._tasks:
        task.cancel()
    await asyncio.gather(*cluster._tasks, return_exceptions=True)
    cluster._tasks = []
    await cluster.redis.aclose()
    cluster._stopping = True  # stop() must not say goodbye for it later


@pytest.fixture
async def processes(redis_server: RedisServer) -> AsyncIterator[Processes]:
    group = Processes(redis_server.url)
    try:
        yield group
    finally:
        await group.close()


async def test_a_broadcast_reaches_every_process_and_each_answers(processes: Processes) -> None:
    a = await processes.start("a", [0])
    await processes.start("b", [1])
    await processes.start("c", [2, 3])

    gathered = await a.broadcast("reload", {"what": "data"}, timeout=WAIT)

    assert [(r.process, r.shards, r.ok) for r in gathered.replies] == [
        ("a", [0], True), ("b", [1], True), ("c", [2, 3], True)]
    assert {r.summary for r in gathered.replies} == {"a did reload", "b did reload",
                                                     "c did reload"}
    assert all(r.result["args"] == {"what": "data"} for r in gathered.replies)
    assert gathered.silent == [] and gathered.received_by == 3


async def test_members_are_listed_with_what_each_announced(processes: Processes) -> None:
    a = await processes.start("a", [0])
    await processes.start("b", [1])

    members = {m.id: m for m in await a.members()}

    assert set(members) == {"a", "b"}
    assert members["b"].alive and members["b"].shards == [1]
    assert members["b"].info["version"] == "9.9" and members["b"].info["guilds"] == 3
    assert members["b"].silent_for < 3 * BEAT


async def test_a_process_that_stops_beating_is_flagged_missing_and_not_waited_for(
        processes: Processes) -> None:
    a = await processes.start("a", [0])
    b = await processes.start("b", [1])

    await crash(b)

    async def b_missing() -> bool:
        return {m.id: m.alive for m in await a.members()} == {"a": True, "b": False}

    await until(b_missing, "b shown as missing after its heartbeat TTL", within=WAIT)
    gone = next(m for m in await a.members() if m.id == "b")
    assert gone.shards == [1], "a missing process is still shown with its shards"
    gathered = await a.broadcast("reload", {}, timeout=WAIT)
    assert [r.process for r in gathered.replies] == ["a"] and gathered.silent == []


async def test_a_live_process_that_does_not_answer_is_named_when_the_time_is_up(
        processes: Processes) -> None:
    async def hang(action: str, args: Json) -> Json:
        await asyncio.Event().wait()
        raise AssertionError("unreachable")

    a = await processes.start("a", [0])
    await processes.start("b", [1], hang)

    gathered = await a.broadcast("reload", {}, timeout=0.5)

    assert [r.process for r in gathered.replies] == ["a"]
    assert [m.id for m in gathered.silent] == ["b"]


async def test_a_failing_handler_is_answered_as_a_failure(processes: Processes) -> None:
    async def broken(action: str, args: Json) -> Json:
        raise RuntimeError("disk full")

    a = await processes.start("a", [0])
    await processes.start("b", [1], broken)

    gathered = await a.broadcast("reload", {}, timeout=WAIT)

    [failed] = gathered.failed
    assert failed.process == "b" and "RuntimeError: disk full" in failed.summary
    assert [r.process for r in gathered.replies if r.ok] == ["a"]


async def test_a_clean_stop_leaves_the_member_list(processes: Processes) -> None:
    a = await processes.start("a", [0])
    b = await processes.start("b", [1])

    await b.stop()

    assert [m.id for m in await a.members()] == ["a"]


async def test_during_a_redis_outage_control_actions_fail_fast_and_the_process_rejoins_after(
        tmp_path: Path) -> None:
    server = RedisServer(tmp_path / "redis")
    server.start()
    group = Processes(server.url)
    try:
        a = await group.start("a", [0])
        await group.start("b", [1])

        server.stop()
        started = time.monotonic()
        with pytest.raises(RedisUnavailable):
            await a.broadcast("reload", {}, timeout=WAIT)
        with pytest.raises(RedisUnavailable):
            await a.members()
        # Told at once, not after the reply timeout: the owner hears "unreachable" promptly.
        assert time.monotonic() - started < WAIT
        await until(lambda: _not_reachable(a), "a noticing that Redis is gone", within=WAIT)

        server.start()  # same port, empty: nothing of the old state survives
        for cluster in group.started:
            await until(lambda c=cluster: _ready(c), f"{cluster.id} rejoining", within=WAIT)  # type: ignore[misc]

        gathered = await a.broadcast("reload", {}, timeout=WAIT)
        assert [r.process for r in gathered.replies] == ["a", "b"]
        assert {m.id for m in await a.members() if m.alive} == {"a", "b"}
    finally:
        await group.close()
        with contextlib.suppress(Exception):
            server.stop()


async def _not_reachable(cluster: Cluster) -> bool:
    return not cluster.reachable
