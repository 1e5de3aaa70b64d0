"""One bot over two processes: `python -m bot` twice (SHARD_COUNT=2, SHARD_IDS=0 and 1), one
fake Discord serving both shards, one real Redis between them.

A reload sent through shard 0's server changes what shard 1's server is answered with;
/admin status lists both processes and flags one that was killed, while the other goes on
answering; a Redis outage stops no answer, only control actions, and both processes come
back when Redis does.
"""

from __future__ import annotations

import os
import re
import signal
from collections.abc import AsyncIterator, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
import pytest_asyncio

from tests import payloads as P
from tests.briefing_data import BRIEFING_NAME
from tests.discord_limits import assert_pings_nobody, assert_valid, shown_text
from tests.fakediscord import FakeDiscord
from tests.payloads import CHANNEL_MESSAGE, DEFERRED_CHANNEL_MESSAGE, EPHEMERAL
from tests.polling import until
from tests.redis_server import RedisServer

from .conftest import (
    COMMANDS,
    OWNER,
    START_TIMEOUT,
    STEP,
    BotProcess,
    Json,
    bot_process,
    make_fake,
    wait_for_log,
)

pytestmark = pytest.mark.asyncio(loop_scope="module")

SHARDS = 2
HEARTBEAT = 0.3  # seconds; a process is missing after 3 beats (0.9 s) unheard
OLD_WORDS = "President of El Salvador. He announced"
NEW_WORDS = "Edited for two processes. He announced"


@dataclass
class Deployment:
    """The fake Discord, its two servers (one per shard), and a bot process per shard."""

    fake: FakeDiscord
    guilds: list[Json]  # guilds[i] is routed to shard i
    bots: list[BotProcess]  # bots[i] runs shard i
    redis: RedisServer
    data: Path

    async def ask(self, shard: int, name: str, options: dict[str, str] | None = None,
                  user: Json | None = None) -> Json:
        """A slash command in shard `shard`'s server; the first callback body."""
        payload = P.slash_interaction(name, options, guild=self.guilds[shard], user=user)
        body = await self.fake.interact(payload, STEP)
        if body.get("data"):
            assert_valid([body["data"]])
            assert_pings_nobody([body["data"]])
        return body

    async def who_bukele(self, shard: int) -> str:
        body = await self.ask(shard, "who", {"name": "Bukele"})
        assert body["type"] == CHANNEL_MESSAGE, body
        return shown_text(body["data"])

    async def admin(self, shard: int, subcommand: str, options: dict[str, str] | None = None,
                    *, until: str | None = None) -> str:
        """/admin <subcommand> by the owner in shard `shard`'s server: the text shown.

        An answer of several messages comes as several followups: with `until`, wait until
        the text shown holds it (else until the first message came).
        """
        payload = P.slash_interaction("admin", options, subcommand=subcommand,
                                      guild=self.guilds[shard], user=OWNER)
        first = await self.fake.interact(payload, STEP)
        bodies: list[Json] = []

        def shown() -> bool:
            bodies[:] = ([first["data"]] if first["type"] != DEFERRED_CHANNEL_MESSAGE else [])
            bodies.extend(self.fake.followups_for(payload["id"]))
            text = "\n".join(shown_text(body) for body in bodies)
            return bool(bodies) and (until is None or until in text)

        try:
            await self.fake.wait_until(shown, STEP * 2, f"the /admin {subcommand} answer")
        except TimeoutError:
            raise AssertionError(f"{until!r} not in {[shown_text(b) for b in bodies]}\n"
                                 + "\n".join(b.log[-3000:] for b in self.bots)) from None
        for body in bodies:
            assert int(body.get("flags") or 0) & EPHEMERAL, "owner tools answer privately"
        assert_valid(bodies)
        assert_pings_nobody(bodies)
        return "\n".join(shown_text(body) for body in bodies)


def process_lines(status: str, section: str) -> list[str]:
    """The lines of /admin status's "Live" or "Missing" section that name a process."""
    match = re.search(rf"{section}\n(.*?)(?:\n(?:Live|Missing|Briefing|Status)\b|\Z)", status,
                      re.S)
    return [line for line in (match.group(1).splitlines() if match else [])
            if "shards" in line]


def edit_briefing(data_dir: Path, old: str, new: str) -> None:
    path = data_dir / "briefings" / BRIEFING_NAME
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, f"{old!r} is not unique in the briefing"
    path.write_text(text.replace(old, new), encoding="utf-8")


def configure(bot: BotProcess, shard: int, redis: RedisServer) -> None:
    """Make `bot` the process of shard `shard` (of SHARDS) on `redis`."""
    bot.env.update({"SHARD_COUNT": str(SHARDS), "SHARD_IDS": str(shard),
                    "REDIS_URL": redis.url, "REDIS_HEARTBEAT_SECONDS": str(HEARTBEAT)})


@asynccontextmanager
async def two_processes(tmp_path: Path, data: Path, *,
                        ready: Sequence[str] = ()) -> AsyncIterator[Deployment]:
    """Two bot processes, one per shard (SHARD_COUNT=2), on one loopback Discord and one
    Redis of their own, each with a work folder of its own and `data`. Both start at once,
    as an operator's supervisor starts them; each is waited for until READY, listening for
    control actions, and then every log line of `ready`."""
    redis = RedisServer(tmp_path / "redis")
    redis.start()
    guilds = [P.guild_on_shard(i, SHARDS, name=f"Shard {i} Guild") for i in range(SHARDS)]
    fake = make_fake(guilds, shard_count=SHARDS)
    await fake.start()
    async with AsyncExitStack() as stack:
        stack.callback(redis.stop)
        stack.push_async_callback(fake.stop)
        bots = [await stack.enter_async_context(
                    bot_process(fake, tmp_path / f"bot{shard}", data, start=False))
                for shard in range(SHARDS)]
        for shard, bot in enumerate(bots):
            configure(bot, shard, redis)
            await bot.spawn()
        for bot in bots:
            await wait_for_log(fake, bot, r"ready as ", START_TIMEOUT)
            await wait_for_log(fake, bot, r"listening for control actions")
            for line in ready:
                await wait_for_log(fake, bot, line)
        yield Deployment(fake, guilds, bots, redis, data)


@pytest_asyncio.fixture(loop_scope="module")
async def deployment(tmp_path: Path, tmp_data: Path) -> AsyncIterator[Deployment]:
    """Two bot processes sharing the data folder and a Redis."""
    async with two_processes(tmp_path, tmp_data, ready=[r"joined the control plane as "]) as d:
        yield d


async def test_a_reload_through_shard_0_changes_what_shard_1_answers(
        deployment: Deployment) -> None:
    for shard, bot in enumerate(deployment.bots):  # each process runs only its own shard
        line = await wait_for_log(deployment.fake, bot, r"ready as .* shards ")
        assert line.endswith(f"in 1 guild(s), shards [{shard}]"), line
        assert OLD_WORDS in await deployment.who_bukele(shard)
    edit_briefing(deployment.data, OLD_WORDS, NEW_WORDS)

    text = await deployment.admin(0, "reload", {"what": "data"})

    assert re.search(r"2 processes, 2 shards: 2 reloaded to data [0-9a-f]{8}… in \d+(–\d+)? ms, "
                     r"0 failed\.", text), text
    after = await deployment.who_bukele(1)
    assert NEW_WORDS in after and OLD_WORDS not in after
    assert NEW_WORDS in await deployment.who_bukele(0)
    for bot in deployment.bots:
        await wait_for_log(deployment.fake, bot, r"control action reload from ")


async def test_a_reload_of_broken_data_is_refused_by_every_process_which_keep_serving(
        deployment: Deployment) -> None:
    edit_briefing(deployment.data, "    name: Nayib Bukele\n", "    name: [Nayib Bukele\n")

    text = await deployment.admin(1, "reload", {"what": "data"})

    assert "2 processes, 2 shards: 0 reloaded" in text and "2 failed" in text, text
    assert text.count("refused: the data files have") == 2, text
    assert re.search(rf"{re.escape(BRIEFING_NAME)}:\d+", text), "the problems name file:line"
    for shard in range(SHARDS):
        assert OLD_WORDS in await deployment.who_bukele(shard), "the old data keeps serving"


async def test_a_sync_through_one_process_is_done_once_and_cools_down_every_process(
        deployment: Deployment) -> None:
    told = "2 processes, 2 shards: 2 serve the commands just published, 0 differ."
    text = await deployment.admin(0, "sync", {"scope": "global"}, until=told)

    assert f"{len(COMMANDS)} command(s) synced to every server and DM (global)" in text, text
    puts = [r for r in deployment.fake.requests if r.method == "PUT"]
    assert len(puts) == 1, "commands belong to the application: published once, not per process"
    again = await deployment.admin(1, "sync", {"scope": "global"})
    assert "cooling down" in again.lower(), again
    assert len([r for r in deployment.fake.requests if r.method == "PUT"]) == 1


async def test_status_lists_both_and_flags_a_killed_process_while_the_other_answers(
        deployment: Deployment) -> None:
    status = await deployment.admin(1, "status")
    live = process_lines(status, "Live")
    assert len(live) == 2, status
    assert [re.search(r"shards (\d) of 2", line).group(1) for line in live] == ["0", "1"], live  # type: ignore[union-attr]
    assert sum("(this one)" in line for line in live) == 1
    for bot in deployment.bots:
        assert bot.proc is not None
        assert any(f":{bot.proc.pid}`" in line for line in live), (bot.proc.pid, live)

    killed = deployment.bots[1]
    assert killed.proc is not None
    os.killpg(killed.proc.pid, signal.SIGKILL)  # no goodbye: a crash, not a shutdown
    await killed.wait_exit(STEP)

    seen: list[str] = []

    async def shown_missing() -> bool:
        seen.append(await deployment.admin(0, "status"))
        return bool(process_lines(seen[-1], "Missing"))

    await until(shown_missing, "the killed process shown as missing", within=STEP, every=0.05)
    [missing] = process_lines(seen[-1], "Missing")
    assert f":{killed.proc.pid}`" in missing and "shards 1 of 2" in missing, missing
    assert "heartbeat stopped" in missing
    assert "1 live process, 1 shard; 1 missing" in seen[-1], seen[-1]
    assert OLD_WORDS in await deployment.who_bukele(0), "the other process keeps answering"


async def test_a_redis_outage_stops_no_answer_and_both_processes_come_back(
        deployment: Deployment) -> None:
    deployment.redis.stop()

    for shard in range(SHARDS):  # commands go on from local data
        assert OLD_WORDS in await deployment.who_bukele(shard)
    edit_briefing(deployment.data, OLD_WORDS, NEW_WORDS)
    text = await deployment.admin(0, "reload", {"what": "data"})
    assert "Redis is unreachable" in text and "No process was reloaded" in text, text
    assert OLD_WORDS in await deployment.who_bukele(1), "nothing was reloaded anywhere"
    status = await deployment.admin(1, "status")
    assert "Redis is unreachable" in status and "Only this process is shown" in status, status
    for bot in deployment.bots:
        await wait_for_log(deployment.fake, bot, r"Redis is unreachable")

    deployment.redis.start()  # the same port, empty
    for bot in deployment.bots:
        await wait_for_log(deployment.fake, bot, r"Redis is reachable again: rejoined")
        await wait_for_log(deployment.fake, bot, r"listening for control actions again")

    text = await deployment.admin(1, "reload", {"what": "data"})
    assert "2 processes, 2 shards: 2 reloaded" in text, text
    assert NEW_WORDS in await deployment.who_bukele(0)
