"""An operator's bad day, against the real `python -m bot`: malformed events and broken files.

Each test runs a bot process of its own: the process surviving (or exiting cleanly) is the
point. tests/test_faults.py has the in-process cases of the same families.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.briefing_data import BRIEFING_NAME
from tests.discord_limits import shown_text
from tests.fakediscord import FakeDiscord
from tests.payloads import CHANNEL_MESSAGE, EPHEMERAL

from .conftest import (
    OWNER,
    STEP,
    BotProcess,
    bot_process,
    in_guild,
    wait_for_log,
)

pytestmark = pytest.mark.asyncio(loop_scope="module")

# What discord.py 2.7.1 reads from every interaction before anything else.
INTERACTION_FIELDS = ["id", "type", "token", "version", "application_id",
                      "attachment_size_limit"]


async def test_interactions_missing_each_field_leave_the_process_serving(
        fake: FakeDiscord, bot: BotProcess) -> None:
    for missing in INTERACTION_FIELDS:
        broken = in_guild("who", {"name": "Bukele"})
        del broken[missing]
        assert await fake.dispatch("INTERACTION_CREATE", broken) == 1
        await wait_for_log(fake, bot, rf"dropped a malformed INTERACTION_CREATE event "
                           rf"\(KeyError: '{missing}'\)")
        # Without an id or token nobody can answer; without a type the fake cannot tell which
        # answers are allowed (tests/test_faults.py checks that one's answer in-process).
        if missing not in ("id", "token", "type"):
            # Answerable: the user is told, privately, rather than "This interaction failed".
            iid = str(broken["id"])
            await fake.wait_until(lambda: bool(fake.callbacks_for(iid)), STEP,  # noqa: B023
                                  f"an answer to the interaction without {missing}")
            [answer] = fake.callbacks_for(broken["id"])
            assert answer["type"] == CHANNEL_MESSAGE
            assert int(answer["data"]["flags"]) & EPHEMERAL
            assert "couldn't read that request" in answer["data"]["content"]
        # The same process answers the next member: no exit, no reconnect.
        body = await fake.interact(in_guild("who", {"name": "Bukele"}), STEP)
        assert "Nayib Bukele" in shown_text(body["data"])
        assert bot.running
    assert fake.identifies == 1


async def test_a_restart_with_a_broken_file_serves_the_last_good_data_and_tells_the_owner(
        fake: FakeDiscord, tmp_path: Path, tmp_data: Path) -> None:
    async with bot_process(fake, tmp_path / "first", tmp_data) as first:
        await first.serving()
        db = first.db_path
    briefing = tmp_data / "briefings" / BRIEFING_NAME
    text = briefing.read_text(encoding="utf-8")
    briefing.write_text(text.replace("  brokers: [bukele, el-salvador]",
                                     "  brokers: [bukele, nobody]"), encoding="utf-8")

    second = BotProcess(fake, tmp_path / "second", tmp_data)
    second.db_path.parent.mkdir(parents=True)
    shutil.copy(db, second.db_path)  # the database the first run left behind
    second.env["DB_PATH"] = str(second.db_path)
    try:
        await second.start()
        await second.serving()
        await wait_for_log(fake, second, r"serving the last good database")
        payload = in_guild("admin", subcommand="status", user=OWNER)
        body = await fake.interact(payload, STEP)
        shown = shown_text(body["data"])
        assert "Serving the last good database" in shown
        assert "unknown entity 'nobody'" in shown
    finally:
        await second.close()


async def test_a_start_with_a_broken_file_and_no_database_exits_with_one_line_and_no_login(
        fake: FakeDiscord, tmp_path: Path, tmp_data: Path) -> None:
    briefing = tmp_data / "briefings" / BRIEFING_NAME
    briefing.write_text(briefing.read_text(encoding="utf-8").replace(
        "  brokers: [bukele, el-salvador]", "  brokers: [bukele, nobody]"), encoding="utf-8")
    async with bot_process(fake, tmp_path / "bot", tmp_data, start=False) as bot:
        await bot.spawn()
        result = await bot.wait_exit(STEP * 2)
        assert result.returncode == 1
        assert "Traceback" not in bot.stderr
        assert any(line.startswith("error: the briefing data has 1 problem(s) and there is no "
                                   "earlier database") for line in bot.stderr.splitlines())
    assert fake.requests == []  # nothing was sent to Discord
