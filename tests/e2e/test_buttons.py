"""Stateless buttons end to end: pressed after the bot process restarted, by someone else,
and after the data changed. The real `python -m bot` against the loopback fake.
"""

from __future__ import annotations

import copy
from pathlib import Path

import pytest

from tests import payloads as P
from tests.discord_limits import buttons, shown_text
from tests.fakediscord import FakeDiscord
from tests.payloads import CHANNEL_MESSAGE, EPHEMERAL, UPDATE_MESSAGE

from .conftest import (
    STEP,
    Json,
    assert_mentions_nobody,
    assert_message_within_limits,
    bot_process,
    in_guild,
)

pytestmark = pytest.mark.asyncio(loop_scope="module")


def labelled(data: Json, label: str) -> Json:
    found = [b for b in buttons(data) if b.get("label") == label]
    assert len(found) == 1, buttons(data)
    return found[0]


def footer(data: Json) -> str:
    return ((data.get("embeds") or [{}])[0].get("footer") or {}).get("text", "")


async def test_a_page_button_works_after_a_restart_and_after_the_data_changed(
        fake: FakeDiscord, tmp_path: Path, tmp_data: Path) -> None:
    asker, stranger = P.user(), P.user()
    command = in_guild("timeline", user=asker)
    async with bot_process(fake, tmp_path / "first", tmp_data):
        first = await fake.interact(command, STEP)
    assert first["type"] == CHANNEL_MESSAGE
    assert footer(first["data"]).startswith("Page 1/")
    message = fake.original_message(command["id"])
    assert message is not None

    async with bot_process(fake, tmp_path / "second", tmp_data) as bot:
        # A new process, no view kept anywhere: the custom_id alone turns the page.
        press = P.component_interaction(labelled(first["data"], "▶")["custom_id"], message,
                                        asker, guild=P.default_guild())
        update = await fake.interact(press, STEP)
        assert update["type"] == UPDATE_MESSAGE, update
        assert footer(update["data"]).startswith("Page 2/")
        assert labelled(update["data"], "◀").get("disabled") is not True
        assert_message_within_limits(update["data"])
        current = fake.original_message(command["id"])
        assert current is not None and shown_text(current) == shown_text(update["data"])
        shown = copy.deepcopy(current)  # the message as it now stands, page 2

        # Someone else pressing a button of the message gets their own copy, privately.
        other = P.component_interaction(labelled(shown, "▶")["custom_id"], shown,
                                        stranger, guild=P.default_guild())
        mine = await fake.interact(other, STEP)
        assert mine["type"] == CHANNEL_MESSAGE
        assert int(mine["data"].get("flags") or 0) & EPHEMERAL
        assert "Only the person who asked" in shown_text(mine["data"])
        assert footer(mine["data"]).startswith("Page 3/")
        assert_mentions_nobody(mine["data"])
        still = fake.original_message(command["id"])
        assert still is not None and shown_text(still) == shown_text(update["data"])

        # Sources, for anyone, privately, with the sentences themselves.
        sources = await fake.interact(P.component_interaction(
            labelled(shown, "Sources")["custom_id"], shown, stranger,
            guild=P.default_guild()), STEP)
        assert int(sources["data"].get("flags") or 0) & EPHEMERAL
        assert "> “" in shown_text(sources["data"])
        assert "[ERROR" not in bot.log and "Traceback" not in bot.log, bot.log[-3000:]

    # The data changes while the bot is down: the old button says so and shows the new answer.
    briefing = next((tmp_data / "briefings").glob("*.yaml"))
    text = briefing.read_text("utf-8")
    assert "\nsummary: >-\n" in text
    briefing.write_text(text.replace("\nsummary: >-\n", "\nsummary: >-\n  Updated.\n", 1),
                        "utf-8")
    async with bot_process(fake, tmp_path / "third", tmp_data):
        press = P.component_interaction(labelled(shown, "◀")["custom_id"], shown,
                                        asker, guild=P.default_guild())
        stale = await fake.interact(press, STEP)
    assert stale["type"] == UPDATE_MESSAGE, stale
    assert "updated since this answer" in (stale["data"].get("content") or "")
    assert footer(stale["data"]).startswith("Page 1/")
    assert labelled(stale["data"], "▶")["custom_id"] != labelled(first["data"], "▶")["custom_id"], \
        "the new buttons carry the new data version"
