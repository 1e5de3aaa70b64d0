"""The real `python -m bot` restarting: the last database serves at once, the files are checked
beside the gateway connection, and data changed while the bot was down is swapped in.

tests/test_startup.py holds the same cases in process, with the build held to show that the
old data answers until the swap; here the whole process shows the outcome an operator sees.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.briefing_data import BRIEFING_NAME
from tests.discord_limits import shown_text
from tests.fakediscord import FakeDiscord

from .conftest import STEP, BotProcess, bot_process, in_guild, wait_for_log

pytestmark = pytest.mark.asyncio(loop_scope="module")


def second_run(fake: FakeDiscord, tmp_path: Path, data: Path, db: Path) -> BotProcess:
    """A bot process on the database the first run left behind."""
    second = BotProcess(fake, tmp_path / "second", data)
    second.db_path.parent.mkdir(parents=True)
    shutil.copy(db, second.db_path)
    second.env["DB_PATH"] = str(second.db_path)
    return second


async def test_an_unchanged_restart_serves_the_last_database_and_builds_nothing(
        fake: FakeDiscord, tmp_path: Path, tmp_data: Path) -> None:
    async with bot_process(fake, tmp_path / "first", tmp_data) as first:
        await first.serving()
        db = first.db_path
    second = second_run(fake, tmp_path, tmp_data, db)
    try:
        await second.start()
        await second.serving()
        await wait_for_log(fake, second, r"briefing files unchanged since the last build")
        assert "briefing data served as last built" in second.log
        assert "rebuilt" not in second.log
        body = await fake.interact(in_guild("who", {"name": "Bukele"}), STEP)
        assert "President of El Salvador" in shown_text(body["data"])
    finally:
        await second.close()


async def test_files_changed_while_down_are_rebuilt_and_swapped_in(
        fake: FakeDiscord, tmp_path: Path, tmp_data: Path) -> None:
    async with bot_process(fake, tmp_path / "first", tmp_data) as first:
        await first.serving()
        db = first.db_path
    briefing = tmp_data / "briefings" / BRIEFING_NAME
    briefing.write_text(briefing.read_text(encoding="utf-8").replace(
        "title: President of El Salvador", "title: Head of State of El Salvador", 1),
        encoding="utf-8")
    second = second_run(fake, tmp_path, tmp_data, db)
    try:
        await second.start()
        await second.serving()  # answering, from whichever data is served now
        await wait_for_log(fake, second, r"rebuilt .* and swapped in")
        body = await fake.interact(in_guild("who", {"name": "Bukele"}), STEP)
        assert "Head of State of El Salvador" in shown_text(body["data"])
    finally:
        await second.close()
