"""Reading the briefing through Discord: slash commands, autocomplete, paging, typed questions.

One bot process serves the whole module (none of these change its state), on a fake Discord
with two guilds.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests import payloads as P
from tests.discord_limits import buttons, shown_text
from tests.fakediscord import FakeDiscord
from tests.payloads import AUTOCOMPLETE_RESULT, CHANNEL_MESSAGE, EPHEMERAL, UPDATE_MESSAGE

from .conftest import (
    ACCEPTED,
    STEP,
    BotProcess,
    Json,
    assert_mentions_nobody,
    assert_message_within_limits,
    button_by_label,
    callback_requests,
    in_dm,
    in_guild,
)

pytestmark = pytest.mark.asyncio(loop_scope="module")

NEXT, PREVIOUS = "▶", "◀"

# (command, options, a title the answer must carry)
READ_COMMANDS: list[tuple[str, dict[str, Any], str]] = [
    ("who", {"name": "Bukele"}, "Nayib Bukele"),
    ("who", {}, "Who is who"),
    ("timeline", {}, "Timeline"),
    ("timeline", {"actor": "Bukele"}, "Timeline: Nayib Bukele"),
    ("deal", {}, "prisoner exchange"),
    ("quote", {}, "Who said what"),
    ("quote", {"speaker": "Bukele"}, "What Nayib Bukele said"),
    ("search", {"query": "Alien Enemies"}, "Search: Alien Enemies"),
    ("sources", {}, "Sources"),
    ("about", {}, "Briefing Bot"),
]


def _id(case: tuple[str, dict[str, Any], str]) -> str:
    name, options, _ = case
    return " ".join([name, *(f"{k}:{v}" for k, v in options.items())])


def assert_public_answer(body: Json, title: str) -> None:
    assert body["type"] == CHANNEL_MESSAGE, body
    data = body["data"]
    assert data.get("embeds"), f"an answer without embeds: {data}"
    assert title in data["embeds"][0].get("title", ""), data["embeds"][0].get("title")
    assert not int(data.get("flags") or 0) & EPHEMERAL, "a read answer must be visible to all"
    assert_message_within_limits(data)
    assert_mentions_nobody(data)


@pytest.mark.parametrize("case", READ_COMMANDS, ids=_id)
async def test_read_command_in_a_server_is_answered_with_embeds_that_mention_nobody(
        module_fake: FakeDiscord, module_bot: BotProcess,
        case: tuple[str, dict[str, Any], str]) -> None:
    name, options, title = case
    payload = in_guild(name, options)
    body = await module_fake.interact(payload, STEP)
    assert_public_answer(body, title)
    assert callback_requests(module_fake, payload["id"]) == [ACCEPTED]


@pytest.mark.parametrize("case", READ_COMMANDS, ids=_id)
async def test_read_command_in_a_dm_is_answered_with_embeds_that_mention_nobody(
        module_fake: FakeDiscord, module_bot: BotProcess,
        case: tuple[str, dict[str, Any], str]) -> None:
    name, options, title = case
    payload = in_dm(name, options)
    body = await module_fake.interact(payload, STEP)
    assert_public_answer(body, title)
    message = module_fake.original_message(payload["id"])
    assert message is not None and message["channel_id"] == payload["channel_id"]


async def test_commands_answer_in_a_second_server_too(
        module_fake: FakeDiscord, module_bot: BotProcess) -> None:
    second = next(g for g in module_fake.guilds.values() if g["name"] == "Second Guild")
    payload = P.slash_interaction("who", {"name": "Bukele"}, guild=second)
    body = await module_fake.interact(payload, STEP)
    assert_public_answer(body, "Nayib Bukele")


@pytest.mark.parametrize(("command", "option"),
                         [("who", "name"), ("timeline", "actor"), ("quote", "speaker")])
async def test_autocomplete_offers_at_most_25_matching_names(
        module_fake: FakeDiscord, module_bot: BotProcess, command: str, option: str) -> None:
    payload = P.autocomplete_interaction(command, option, "Buk", guild=P.default_guild())
    body = await module_fake.interact(payload, STEP)
    assert body["type"] == AUTOCOMPLETE_RESULT, body
    choices = body["data"]["choices"]
    assert 1 <= len(choices) <= 25
    assert any(c["value"] == "Nayib Bukele" for c in choices), choices
    assert all(1 <= len(c["name"]) <= 100 and len(c["value"]) <= 100 for c in choices)


async def test_autocomplete_with_nothing_typed_is_capped_at_25(
        module_fake: FakeDiscord, module_bot: BotProcess) -> None:
    payload = P.autocomplete_interaction("who", "name", "", dm=True, user=P.user())
    body = await module_fake.interact(payload, STEP)
    assert body["type"] == AUTOCOMPLETE_RESULT
    assert 1 <= len(body["data"]["choices"]) <= 25


async def test_timeline_pages_turn_with_next_for_the_person_who_asked(
        module_fake: FakeDiscord, module_bot: BotProcess) -> None:
    asker = P.user()
    command = in_guild("timeline", user=asker)
    first = await module_fake.interact(command, STEP)
    assert first["type"] == CHANNEL_MESSAGE
    labels = [str(b.get("label")) for b in buttons(first["data"])]
    assert labels[:3] == [PREVIOUS, labels[1], NEXT] and labels[1].startswith("1/"), labels
    next_button = button_by_label(first["data"], NEXT)
    assert not next_button.get("disabled")
    assert button_by_label(first["data"], PREVIOUS).get("disabled")
    page_one = shown_text(first["data"])

    message = module_fake.original_message(command["id"])
    assert message is not None
    press = P.component_interaction(next_button["custom_id"], message, asker,
                                    guild=P.default_guild())
    update = await module_fake.interact(press, STEP)

    assert update["type"] == UPDATE_MESSAGE, update
    data = update["data"]
    assert data.get("embeds") and shown_text(data) != page_one
    labels = [str(b["label"]) for b in buttons(data) if "/" in str(b.get("label"))]
    assert labels and labels[0].startswith("2/"), labels
    assert not button_by_label(data, PREVIOUS).get("disabled")
    assert_message_within_limits(data)
    # The message on "Discord" now shows page 2.
    shown = module_fake.original_message(press["id"])
    assert shown is not None and shown_text(shown) == shown_text(data)


async def test_page_buttons_give_someone_else_a_private_copy(
        module_fake: FakeDiscord, module_bot: BotProcess) -> None:
    command = in_guild("timeline", user=P.user())
    first = await module_fake.interact(command, STEP)
    message = module_fake.original_message(command["id"])
    assert message is not None
    press = P.component_interaction(button_by_label(first["data"], NEXT)["custom_id"], message,
                                    P.user(), guild=P.default_guild())
    copy = await module_fake.interact(press, STEP)
    assert copy["type"] == CHANNEL_MESSAGE
    assert int(copy["data"].get("flags") or 0) & EPHEMERAL
    assert "Only the person who asked" in shown_text(copy["data"])
    still = module_fake.original_message(command["id"])
    assert still is not None and shown_text(still) == shown_text(first["data"])


def _reply_to(fake: FakeDiscord, channel_id: str, message_id: str) -> list[Json]:
    """Bodies of the messages the bot POSTed to a channel in reply to one message."""
    return [r.json for r in fake.requests
            if r.method == "POST" and r.path == f"/channels/{channel_id}/messages"
            and r.status == 200
            and str(((r.json or {}).get("message_reference") or {}).get("message_id"))
            == message_id]


async def test_plain_question_in_a_dm_gets_an_answer_posted_to_the_dm(
        module_fake: FakeDiscord, module_bot: BotProcess) -> None:
    author = P.user()
    question = P.message_create("who is Bukele?", author=author)
    channel_id = question["channel_id"]
    assert channel_id == P.dm_channel_id(author["id"])
    assert await module_fake.dispatch("MESSAGE_CREATE", question) == 1

    await module_fake.wait_until(lambda: bool(_reply_to(module_fake, channel_id, question["id"])),
                                 STEP, "the reply in the DM")
    [reply] = _reply_to(module_fake, channel_id, question["id"])
    assert reply.get("embeds") and "Nayib Bukele" in shown_text(reply)
    assert_message_within_limits(reply)
    assert_mentions_nobody(reply)


async def test_server_message_mentioning_the_bot_gets_a_reply_and_others_do_not(
        module_fake: FakeDiscord, module_bot: BotProcess) -> None:
    guild = P.default_guild()
    author = P.user()
    chatter = P.message_create("who is Bukele? just wondering", author=author, guild=guild)
    question = P.message_create(f"<@{module_fake.bot_user_id}> who is Bukele?", author=author,
                                guild=guild, mentions=[module_fake.bot_user])
    channel_id = question["channel_id"]
    # Dispatched in this order, the unaddressed message is handled before the question.
    await module_fake.dispatch("MESSAGE_CREATE", chatter)
    await module_fake.dispatch("MESSAGE_CREATE", question)

    await module_fake.wait_until(lambda: bool(_reply_to(module_fake, channel_id, question["id"])),
                                 STEP, "the reply to the mention")
    [reply] = _reply_to(module_fake, channel_id, question["id"])
    assert "Nayib Bukele" in shown_text(reply)
    assert_mentions_nobody(reply)
    assert _reply_to(module_fake, channel_id, chatter["id"]) == []


async def test_nothing_went_wrong_in_the_bot_while_serving(module_bot: BotProcess) -> None:
    """Runs last in the module: every answer above left no error in the bot's log."""
    assert module_bot.running, module_bot.output()
    problems = [line for line in module_bot.log.splitlines()
                if "[ERROR" in line or "[CRITICAL" in line or "Traceback" in line]
    assert problems == [], "\n".join(problems)
