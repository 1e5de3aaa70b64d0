"""/ask and "Check against the briefing" end to end: the real `python -m bot` on the fake.

Both in a server, in a DM and as a user-installed app; a hostile posted message (10 KB,
mentions, Markdown, control characters) gets a calm answer within Discord's limits. One bot
process serves the module; none of these change its data.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests import payloads as P
from tests.briefing_data import briefing, name_of
from tests.discord_limits import shown_text
from tests.fakediscord import FakeDiscord
from tests.payloads import CHANNEL_MESSAGE, EPHEMERAL

from .conftest import STEP, BotProcess, Json, assert_mentions_nobody, assert_message_within_limits

pytestmark = pytest.mark.asyncio(loop_scope="module")

CONTEXTS: dict[str, dict[str, Any]] = {
    "server": {"guild": None},
    "dm": {"dm": True},
    "user_install": {"user_install": True},
}
HOSTILE = ("<@1> @everyone @here **bold** `code` ||spoiler|| > quote\n# heading\x00\x07\x1b[31m"
           + "Marc Rubio " * 40 + "\u202e" + "x" * 10_000)


def context(name: str) -> dict[str, Any]:
    options = dict(CONTEXTS[name])
    if "guild" in options:
        options["guild"] = P.default_guild()
    return options


def lead(body: Json) -> str:
    return body["data"]["embeds"][0].get("description", "").split("\n", 1)[0].replace("**", "")


def answered(body: Json) -> Json:
    assert body["type"] == CHANNEL_MESSAGE, body
    data = body["data"]
    assert data.get("embeds"), data
    assert_message_within_limits(data)
    assert_mentions_nobody(data)
    return data


@pytest.mark.parametrize("where", CONTEXTS)
async def test_ask_answers_in_its_first_sentence(module_fake: FakeDiscord,
                                                 module_bot: BotProcess, where: str) -> None:
    brokers = [name_of(b) for b in briefing()["deal"]["brokers"]]
    payload = P.slash_interaction("ask", {"question": "who negotiated the swap?"},
                                  **context(where))
    body = await module_fake.interact(payload, STEP)
    data = answered(body)
    assert not int(data.get("flags") or 0) & EPHEMERAL
    assert all(b in lead(body) for b in brokers), lead(body)


@pytest.mark.parametrize("where", CONTEXTS)
async def test_ask_says_so_when_the_sources_do_not_answer(module_fake: FakeDiscord,
                                                          module_bot: BotProcess,
                                                          where: str) -> None:
    payload = P.slash_interaction("ask", {"question": "how old is maduro?"}, **context(where))
    body = await module_fake.interact(payload, STEP)
    answered(body)
    assert lead(body).startswith("The briefing's sources don't answer that."), lead(body)


@pytest.mark.parametrize("where", CONTEXTS)
async def test_the_menu_corrects_a_posted_message_with_the_record(
        module_fake: FakeDiscord, module_bot: BotProcess, where: str) -> None:
    message = (P.message_create("Marc Rubio praised Bukele", guild=P.default_guild())
               if where == "server" else P.message_create("Marc Rubio praised Bukele"))
    body = await module_fake.interact(P.message_context_interaction(message, **context(where)),
                                      STEP)
    data = answered(body)
    assert int(data.get("flags") or 0) & EPHEMERAL, "a check is shown to the one who asked"
    assert "Marco Rubio" in lead(body), lead(body)


@pytest.mark.parametrize("where", CONTEXTS)
async def test_a_hostile_message_gets_a_calm_answer_within_the_limits(
        module_fake: FakeDiscord, module_bot: BotProcess, where: str) -> None:
    message = (P.message_create(HOSTILE, guild=P.default_guild()) if where == "server"
               else P.message_create(HOSTILE))
    body = await module_fake.interact(P.message_context_interaction(message, **context(where)),
                                      STEP)
    answered(body)
    assert "Marco Rubio" in lead(body)
    nothing = P.message_create("my cat had kittens") if where != "server" else P.message_create(
        "my cat had kittens", guild=P.default_guild())
    body = await module_fake.interact(P.message_context_interaction(nothing, **context(where)),
                                      STEP)
    answered(body)
    assert lead(body) == "The briefing has nothing on this message."


@pytest.mark.parametrize("where", CONTEXTS)
async def test_sources_on_a_check_reply_shows_the_sentences_it_rests_on(
        module_fake: FakeDiscord, module_bot: BotProcess, where: str) -> None:
    text = "Marc Rubio praised Bukele. " * 60  # far more than a custom id could hold
    message = (P.message_create(text, guild=P.default_guild()) if where == "server"
               else P.message_create(text))
    checker = P.user()
    menu = P.message_context_interaction(message, user=checker, **context(where))
    body = await module_fake.interact(menu, STEP)
    answered(body)
    shown = module_fake.original_message(menu["id"])
    assert shown is not None, "the check reply is a message the fake keeps"
    (sources,) = [b for row in shown.get("components") or [] for b in row["components"]
                  if b.get("label") == "Sources"]
    assert len(sources["custom_id"]) <= 100 and "Rubio" not in sources["custom_id"]
    press = P.component_interaction(sources["custom_id"], shown, checker, **context(where))
    opened = await module_fake.interact(press, STEP)
    data = answered(opened)
    assert int(data.get("flags") or 0) & EPHEMERAL
    quoted = re.findall(r"^> “(.+)”$", shown_text(data), flags=re.MULTILINE)
    assert any("Marc Rubio" in q for q in quoted), quoted  # the article's own sentence
    assert "[ERROR" not in module_bot.log and "Traceback" not in module_bot.log
