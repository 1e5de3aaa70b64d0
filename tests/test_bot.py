"""What users see from the Discord bot: the real command tree, recorded transport (layer 2).

Every interaction and message is built with tests.payloads and dispatched through discord.py's
own parsing (see tests/harness.py); assertions are on the payloads the bot sends back.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import bot.discord_app.send as send
from bot.discord_app.components import LOST, NOT_YOURS, STALE
from bot.render.buttons import decode, encode
from tests import payloads as P
from tests.briefing_data import BRIEFING_NAME, REPO, article, collapse
from tests.discord_limits import (
    body_problems,
    cited_sentences,
    is_error_notice,
    mention_problems,
)
from tests.harness import Call, Harness, dumps, messages
from tests.payloads import (
    AUTOCOMPLETE_RESULT,
    CHANNEL_MESSAGE,
    DEFERRED_CHANNEL_MESSAGE,
    UPDATE_MESSAGE,
)

CONTEXTS: dict[str, dict[str, Any]] = {
    "server": {},
    "dm": {"dm": True},
    "group_dm": {"group_dm": True},
    "user_install": {"user_install": True},
}

READ_COMMANDS = [
    pytest.param("who", {"name": "Bukele"}, "Nayib Bukele", id="who-name"),
    pytest.param("who", None, "Who is who", id="who"),
    pytest.param("timeline", None, "Timeline", id="timeline"),
    pytest.param("timeline", {"actor": "Rubio"}, "Timeline: Marco Rubio", id="timeline-actor"),
    pytest.param("deal", None, "prisoner exchange", id="deal"),
    pytest.param("quote", None, "Who said what", id="quote"),
    pytest.param("quote", {"speaker": "Bukele"}, "What Nayib Bukele said", id="quote-speaker"),
    pytest.param("search", {"query": "Alien Enemies"}, "Search: Alien Enemies", id="search"),
    pytest.param("sources", None, "Sources", id="sources"),
    pytest.param("about", None, "Briefing Bot", id="about"),
]

PAGE_BUTTONS = ["◀", None, "▶"]  # previous, position (a label like "1/3"), next


def asker(interaction_payload: dict[str, Any]) -> dict[str, Any]:
    """The user who sent an interaction payload (guild: member.user; DM: user)."""
    return (interaction_payload.get("member") or {}).get("user") or interaction_payload["user"]


def button(call: Call, label: str) -> dict[str, Any]:
    """The button with this label (◀ previous, ▶ next, Sources, Notes, Timeline, ...)."""
    found = [b for b in call.buttons if b.get("label") == label]
    assert len(found) == 1, call.buttons
    return found[0]


def position(call: Call) -> str:
    labels = [str(b.get("label")) for b in call.buttons
              if re.fullmatch(r"\d+/\d+", str(b.get("label")))]
    assert len(labels) == 1, call.buttons
    return labels[0]


def page_labels(call: Call) -> list[str | None]:
    """The page buttons' labels, the position shown as None."""
    return [None if re.fullmatch(r"\d+/\d+", str(b.get("label"))) else b.get("label")
            for b in call.buttons if b.get("label") in ("◀", "▶")
            or re.fullmatch(r"\d+/\d+", str(b.get("label")))]


def footer(call: Call) -> str:
    return (call.embeds[0].get("footer") or {}).get("text", "")


def cog_module(harness: Harness, cog: str) -> Any:
    """The module a loaded cog came from (a fresh module object per harness)."""
    return inspect.getmodule(type(harness.bot.get_cog(cog)))


def assert_user_visible(call: Call) -> None:
    assert mention_problems(call.body) == [], call.body.get("allowed_mentions")
    assert body_problems(call.body) == []


# ---------------------------------------------------------------------------- read commands


@pytest.mark.parametrize("context", list(CONTEXTS))
@pytest.mark.parametrize(("name", "options", "title"), READ_COMMANDS)
async def test_read_command_answers_publicly_in_every_context(
        harness: Harness, name: str, options: dict[str, str] | None, title: str,
        context: str) -> None:
    calls = await harness.slash(P.slash_interaction(name, options, **CONTEXTS[context]))

    assert [c.type for c in calls] == [CHANNEL_MESSAGE]
    answer = calls[0]
    assert not answer.ephemeral
    assert title in answer.titles[0]
    assert not is_error_notice(answer.body)
    assert_user_visible(answer)
    pages = re.fullmatch(r"Page 1/(\d+).*", footer(answer))
    if pages:  # a long answer comes with page buttons; a short one without
        assert page_labels(answer) == PAGE_BUTTONS
        assert position(answer) == f"1/{pages.group(1)}"
    else:
        assert page_labels(answer) == []
    ids = [b["custom_id"] for b in answer.buttons if "custom_id" in b]
    assert len(ids) == len(set(ids)) and all(len(i) <= 100 for i in ids)


@pytest.mark.parametrize("gateway", [False, True], ids=["tree-call", "gateway"])
async def test_who_bukele_shows_the_entity_and_a_sentence_of_the_article(
        harness: Harness, gateway: bool) -> None:
    calls = await harness.slash(P.slash_interaction("who", {"name": "Bukele"}), gateway=gateway)

    assert [c.type for c in calls] == [CHANNEL_MESSAGE]
    embed = calls[0].embeds[0]
    assert embed["title"] == "Nayib Bukele (person)"
    first_sentence = re.split(r"(?<=\.)\s", embed["description"])[0]
    assert "Nayib Bukele" in first_sentence and "President of El Salvador" in first_sentence
    assert re.search(r"\[1\]", embed["description"]), "the answer carries its footnote markers"
    # The sentences it rests on are one press away, privately, for anyone.
    sources = await harness.component(
        harness.press(calls[0], button(calls[0], "Sources"), user=P.user(name="reader")))
    assert [c.type for c in sources] == [CHANNEL_MESSAGE] and sources[0].ephemeral
    quoted = cited_sentences(sources[0].text())
    from_article = [s for s in quoted if collapse(s) in article()]
    assert from_article, quoted
    assert any("Bukele" in s for s in from_article)
    assert_user_visible(sources[0])


async def test_who_lists_everyone_on_one_page_with_the_bundled_data(harness: Harness) -> None:
    calls = await harness.slash(P.slash_interaction("who"))

    answer = calls[0]
    assert answer.titles == ["Who is who"]
    for name in ("Nayib Bukele", "Marco Rubio", "Maiquetía", "Alien Enemies Act"):
        assert name in answer.text()
    assert page_labels(answer) == []  # 22 names fit on one page: no page buttons


async def test_who_lists_a_long_cast_over_pages_with_buttons(tmp_data: Path,
                                                             db_path: Path) -> None:
    briefing = tmp_data / "briefings" / BRIEFING_NAME
    extra = "".join(
        f"  - id: witness-{i:03d}\n    kind: person\n    name: Witness number {i:03d}\n"
        f"    description: One of many witnesses.\n    evidence:\n      - source: article\n"
        f"        quote: El Salvador's President Nayib Bukele\n" for i in range(120))
    text = briefing.read_text("utf-8")
    assert "\nevents:\n" in text
    briefing.write_text(text.replace("\nevents:\n", f"\n{extra}events:\n", 1), "utf-8")

    async with Harness.start(tmp_data, db_path) as harness:
        calls = await harness.slash(P.slash_interaction("who", dm=True))

    answer = calls[0]
    assert footer(answer).startswith("Page 1/")
    assert page_labels(answer) == PAGE_BUTTONS
    assert_user_visible(answer)


# ---------------------------------------------------------------------------- page buttons


@pytest.mark.parametrize("context", ["server", "dm", "group_dm", "user_install"])
async def test_timeline_has_page_buttons_and_sources(harness: Harness, context: str) -> None:
    calls = await harness.slash(P.slash_interaction("timeline", **CONTEXTS[context]))

    answer = calls[0]
    total = re.fullmatch(r"Page 1/(\d+)", footer(answer))
    assert total and int(total.group(1)) >= 2
    assert page_labels(answer) == PAGE_BUTTONS
    assert position(answer) == f"1/{total.group(1)}"
    assert button(answer, "◀").get("disabled") and not button(answer, "▶").get("disabled")
    assert button(answer, "Sources") and button(answer, "Notes")
    ids = [b["custom_id"] for b in answer.buttons]
    assert len(set(ids)) == len(ids) and all(len(i) <= 100 for i in ids)


@pytest.mark.parametrize("context", ["server", "dm", "group_dm"])
async def test_next_by_the_asker_updates_the_message_to_page_two(harness: Harness,
                                                                 context: str) -> None:
    ask = P.slash_interaction("timeline", **CONTEXTS[context])
    first = (await harness.slash(ask))[0]
    total = footer(first).split("/")[1]

    press = harness.press(first, button(first, "▶"), user=asker(ask), **CONTEXTS[context])
    calls = await harness.component(press)

    assert [c.type for c in calls] == [UPDATE_MESSAGE]
    page = calls[0]
    assert footer(page) == f"Page 2/{total}"
    assert page.embeds[0]["fields"] != first.embeds[0]["fields"]
    assert position(page) == f"2/{total}"
    assert not button(page, "◀").get("disabled")
    assert_user_visible(page)
    back = await harness.component(
        harness.press(page, button(page, "◀"), user=asker(ask), **CONTEXTS[context]))
    assert footer(back[0]) == f"Page 1/{total}"
    assert back[0].embeds == first.embeds


async def test_the_last_page_disables_next(harness: Harness) -> None:
    ask = P.slash_interaction("timeline")
    page = (await harness.slash(ask))[0]
    total = int(footer(page).split("/")[1])
    for _ in range(total - 1):
        page = (await harness.component(harness.press(page, button(page, "▶"),
                                                      user=asker(ask))))[0]
    assert footer(page) == f"Page {total}/{total}"
    assert button(page, "▶").get("disabled") and not button(page, "◀").get("disabled")


@pytest.mark.parametrize("context", ["server", "group_dm"])
async def test_someone_else_gets_their_own_ephemeral_copy(harness: Harness,
                                                          context: str) -> None:
    ask = P.slash_interaction("timeline", **CONTEXTS[context])
    first = (await harness.slash(ask))[0]
    stranger = P.user(name="stranger")

    copy = await harness.component(
        harness.press(first, button(first, "▶"), user=stranger, **CONTEXTS[context]))

    assert [c.type for c in copy] == [CHANNEL_MESSAGE]
    assert copy[0].ephemeral
    assert NOT_YOURS in copy[0].body["content"]
    assert footer(copy[0]).startswith("Page 2/")
    assert mention_problems(copy[0].body) == []
    # The copy is the stranger's own: its buttons turn its pages for them.
    turned = await harness.component(
        harness.press(copy[0], button(copy[0], "◀"), user=stranger, **CONTEXTS[context]))
    assert [c.type for c in turned] == [UPDATE_MESSAGE]
    assert footer(turned[0]).startswith("Page 1/")
    # The asker's message did not move: their next press still goes from page 1 to page 2.
    moved = await harness.component(
        harness.press(first, button(first, "▶"), user=asker(ask), **CONTEXTS[context]))
    assert [c.type for c in moved] == [UPDATE_MESSAGE]
    assert footer(moved[0]).startswith("Page 2/")


async def test_pages_of_a_dm_text_answer_turn_too(harness: Harness) -> None:
    author = P.user(name="reader")
    reply = messages(await harness.message(P.message_create("timeline", author=author)))[0]
    assert footer(reply).startswith("Page 1/")

    calls = await harness.component(
        harness.press(reply, button(reply, "▶"), user=author, dm=True))

    assert [c.type for c in calls] == [UPDATE_MESSAGE]
    assert footer(calls[0]).startswith("Page 2/")


async def test_notes_show_the_discrepancy_in_full_privately(harness: Harness) -> None:
    card = (await harness.slash(P.slash_interaction("who", {"name": "Rubio"})))[0]
    flag = [line for line in card.text().splitlines() if line.startswith("📌")]
    assert flag and "Marc Rubio" in flag[0], "the correction stands beside the fact"

    notes = await harness.component(harness.press(card, button(card, "Notes"), user=P.user()))

    assert [c.type for c in notes] == [CHANNEL_MESSAGE] and notes[0].ephemeral
    text = notes[0].text()
    assert "Spelling of the Secretary of State's name" in text
    assert "Marc Rubio" in text and "Marco Rubio" in text
    assert_user_visible(notes[0])


async def test_sources_carry_a_link_button_where_an_address_is_known(harness: Harness) -> None:
    card = (await harness.slash(P.slash_interaction("deal")))[0]
    sources = (await harness.component(
        harness.press(card, button(card, "Sources"), user=P.user())))[0]
    links = [b for b in sources.buttons if b.get("style") == 5]
    assert links and all(b["url"].startswith("http") and "custom_id" not in b for b in links)


@pytest.mark.parametrize(("label", "title"), [("Timeline", "Timeline: Nayib Bukele"),
                                              ("Quotes", "What Nayib Bukele said")])
async def test_a_persons_related_buttons_answer_privately(harness: Harness, label: str,
                                                          title: str) -> None:
    card = (await harness.slash(P.slash_interaction("who", {"name": "Bukele"})))[0]
    calls = await harness.component(harness.press(card, button(card, label), user=P.user()))
    assert [c.type for c in calls] == [CHANNEL_MESSAGE] and calls[0].ephemeral
    assert calls[0].titles == [title]


async def test_a_transfer_answer_has_a_deal_button(harness: Harness) -> None:
    reply = messages(await harness.message(
        P.message_create("how many prisoners were sent to Venezuela?")))[0]
    deal = await harness.component(harness.press(reply, button(reply, "Deal"), user=P.user(),
                                                 dm=True))
    assert "prisoner exchange" in deal[0].titles[0]


async def test_a_press_from_an_older_data_version_says_so_and_shows_the_current_answer(
        harness: Harness) -> None:
    ask = P.slash_interaction("timeline")
    first = (await harness.slash(ask))[0]
    target = decode(button(first, "▶")["custom_id"])
    assert target is not None and target.ask is not None
    old = encode("c", "n", target.owner, "deadbeef", 2, target.ask)
    button(first, "▶")["custom_id"] = old  # the message as sent before the data changed

    calls = await harness.component(harness.press(first, old, user=asker(ask)))

    assert [c.type for c in calls] == [UPDATE_MESSAGE]
    assert STALE in calls[0].body["content"]
    assert footer(calls[0]).startswith("Page 1/")
    assert decode(button(calls[0], "▶")["custom_id"]).version == target.version  # type: ignore[union-attr]


async def test_a_long_question_rides_in_the_footer_and_still_turns(harness: Harness) -> None:
    query = ("Alien Enemies Act deportation Venezuela El Salvador prisoners Cecot exchange "
             "Bukele Rubio Trump Maiquetía Caracas political prisoners United States nationals")
    assert 100 < len(query) <= 200
    ask = P.slash_interaction("search", {"query": query})
    first = (await harness.slash(ask))[0]
    assert footer(first).endswith(f"Asked: {query}")
    assert all(len(b["custom_id"]) <= 100 for b in first.buttons if "custom_id" in b)

    sources = await harness.component(harness.press(first, button(first, "Sources"),
                                                    user=asker(ask)))
    assert sources[0].titles[0].startswith("Sources: Search:")
    assert sources[0].ephemeral and "> “" in sources[0].text()

    # A message whose footer no longer matches the digest gets a clear message, not an answer.
    first.body["embeds"][0]["footer"]["text"] = "Asked: something else"
    first.message["embeds"] = first.body["embeds"]  # type: ignore[index]
    lost = await harness.component(harness.press(first, button(first, "Sources"),
                                                 user=asker(ask)))
    assert lost[0].ephemeral and LOST in lost[0].text()


async def test_no_view_object_is_kept_per_message(harness: Harness) -> None:
    ask = P.slash_interaction("timeline")
    first = (await harness.slash(ask))[0]
    await harness.component(harness.press(first, button(first, "▶"), user=asker(ask)))
    await harness.message(P.message_create("timeline"))

    store = harness.state._view_store
    assert store._views == {} and store._synced_message_views == {}
    assert harness.state.persistent_views == []


@pytest.mark.parametrize(("name", "options", "title"), READ_COMMANDS)
async def test_read_command_answers_a_user_install_in_a_server_the_bot_is_not_in(
        harness: Harness, name: str, options: dict[str, str] | None, title: str) -> None:
    elsewhere = P.guild(name="Not joined")  # never given to the bot: not in its cache
    assert harness.bot.get_guild(int(elsewhere["id"])) is None

    calls = await harness.slash(P.slash_interaction(name, options, guild=elsewhere,
                                                    user_install=True))

    assert [c.type for c in calls] == [CHANNEL_MESSAGE]
    assert title in calls[0].titles[0]
    assert_user_visible(calls[0])


async def test_text_options_declare_their_length_limits_to_discord(harness: Harness) -> None:
    # Discord, not discord.py, enforces min/max length: the schema must carry them.
    for name, option in [("who", "name"), ("timeline", "actor"), ("quote", "speaker"),
                         ("search", "query")]:
        command = harness.bot.tree.get_command(name)
        assert command is not None
        [spec] = [o for o in command.to_dict(harness.bot.tree)["options"] if o["name"] == option]
        assert (spec.get("min_length"), spec.get("max_length")) == (1, 200), name


# ---------------------------------------------------------------------------- autocomplete

NAMED_OPTIONS = [("who", "name"), ("timeline", "actor"), ("quote", "speaker")]


def choices_of(calls: list[Call]) -> list[dict[str, Any]]:
    assert [c.type for c in calls] == [AUTOCOMPLETE_RESULT]
    assert body_problems(calls[0].body) == []
    return calls[0].body["choices"]


@pytest.mark.parametrize(("command", "option"), NAMED_OPTIONS)
async def test_autocomplete_ru_offers_marco_rubio(harness: Harness, command: str,
                                                  option: str) -> None:
    choices = choices_of(await harness.slash(P.autocomplete_interaction(command, option, "ru")))
    assert "Marco Rubio" in [c["value"] for c in choices]


@pytest.mark.parametrize(("command", "option"), NAMED_OPTIONS)
async def test_autocomplete_ignores_accents(harness: Harness, command: str, option: str) -> None:
    choices = choices_of(
        await harness.slash(P.autocomplete_interaction(command, option, "maiquetia")))
    assert "Maiquetía" in [c["value"] for c in choices]


@pytest.mark.parametrize(("command", "option"), NAMED_OPTIONS)
async def test_autocomplete_of_nothing_offers_some_names(harness: Harness, command: str,
                                                         option: str) -> None:
    choices = choices_of(await harness.slash(P.autocomplete_interaction(command, option, "")))
    assert 1 <= len(choices) <= 25


@pytest.mark.parametrize("context", ["dm", "group_dm"])
async def test_autocomplete_works_outside_servers(harness: Harness, context: str) -> None:
    choices = choices_of(await harness.slash(
        P.autocomplete_interaction("who", "name", "bukele", **CONTEXTS[context]), gateway=True))
    assert "Nayib Bukele" in [c["value"] for c in choices]


@pytest.mark.parametrize(("command", "option"), NAMED_OPTIONS)
async def test_autocomplete_of_a_huge_string_answers_without_error(
        harness: Harness, command: str, option: str, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING)
    huge = ("Rubio Bukele maiquetía " * 50)[:1000]

    choices_of(await harness.slash(P.autocomplete_interaction(command, option, huge)))

    assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []


# ---------------------------------------------------------------------------- typed messages


@pytest.mark.parametrize(("text", "title"), [("who is bukele?", "Nayib Bukele (person)"),
                                             ("timeline", "Timeline")])
async def test_dm_text_is_answered_through_the_router(harness: Harness, text: str,
                                                      title: str) -> None:
    sent = P.message_create(text)

    calls = await harness.message(sent)

    assert [c.name for c in calls] == ["POST /channels/{channel_id}/messages"]
    reply = calls[0]
    assert reply.ids["channel_id"] == int(sent["channel_id"])
    assert reply.body["message_reference"]["message_id"] == int(sent["id"])
    assert reply.titles == [title]
    assert_user_visible(reply)


async def test_dm_text_with_mentions_pings_nobody(harness: Harness) -> None:
    calls = await harness.message(P.message_create(f"@everyone <@{P.OWNER_ID}> who is bukele?"))

    reply = messages(calls)[0]
    assert reply.titles == ["Nayib Bukele (person)"]
    assert mention_problems(reply.body) == []
    assert "@everyone" not in reply.text()


async def test_server_message_that_mentions_the_bot_is_answered(harness: Harness) -> None:
    sent = P.message_create(f"<@{P.BOT_USER_ID}> who is bukele?", guild=harness.guild_payload,
                            mentions=[P.bot_user()])

    calls = await harness.message(sent)

    assert [c.name for c in calls] == ["POST /channels/{channel_id}/messages"]
    assert calls[0].titles == ["Nayib Bukele (person)"]
    assert calls[0].ids["channel_id"] == int(sent["channel_id"])
    assert_user_visible(calls[0])


async def test_server_message_that_does_not_mention_the_bot_is_ignored(
        harness: Harness) -> None:
    calls = await harness.message(P.message_create("who is bukele?",
                                                   guild=harness.guild_payload))
    assert calls == []


@pytest.mark.parametrize("where", ["dm", "server"])
async def test_messages_from_bots_are_ignored(harness: Harness, where: str) -> None:
    other_bot = P.user(name="otherbot", bot=True)
    if where == "dm":
        sent = P.message_create("who is bukele?", author=other_bot)
    else:
        sent = P.message_create(f"<@{P.BOT_USER_ID}> who is bukele?", author=other_bot,
                                guild=harness.guild_payload, mentions=[P.bot_user()])
    assert await harness.message(sent) == []


async def test_the_bots_own_messages_are_ignored(harness: Harness) -> None:
    assert await harness.message(P.message_create("who is bukele?", author=P.bot_user())) == []


async def test_a_failing_dm_answer_says_so_without_details_and_logs_it(
        harness: Harness, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    async def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("index corrupted at /srv/secret")

    monkeypatch.setattr(cog_module(harness, "Conversation"), "answer_ask", broken)
    caplog.set_level(logging.ERROR)

    calls = await harness.message(P.message_create("who is bukele?"))

    assert [c.name for c in calls] == ["POST /channels/{channel_id}/messages"]
    assert is_error_notice(calls[0].body)
    assert "/srv/secret" not in dumps(calls)
    assert mention_problems(calls[0].body) == []
    assert any(r.exc_info and "index corrupted" in str(r.exc_info[1]) for r in caplog.records)


# ---------------------------------------------------------------------------- registration


async def test_every_member_command_is_offered_in_servers_dms_and_group_dms_for_both_installs(
        harness: Harness) -> None:
    commands = {c.name: c.to_dict(harness.bot.tree) for c in harness.bot.tree.get_commands()}

    assert set(commands) >= {"who", "timeline", "deal", "quote", "search", "sources", "about",
                             "admin"}
    del commands["admin"]  # owners only: see tests/test_faults.py
    for name in ("follow", "unfollow"):  # a server's channels, for its managers
        assert commands.pop(name)["contexts"] == [0], name
    for name, data in commands.items():
        assert sorted(data["contexts"]) == [0, 1, 2], name
        assert sorted(data["integration_types"]) == [0, 1], name


# ---------------------------------------------------------------------------- failures


@pytest.mark.parametrize(("command", "cog", "options"), [
    ("who", "People", {"name": "Bukele"}),
    ("deal", "Deal", None),
    ("search", "Search", {"query": "Cecot"}),
])
async def test_a_failing_command_answers_politely_and_logs_the_traceback(
        harness: Harness, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture,
        command: str, cog: str, options: dict[str, str] | None) -> None:
    async def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("database exploded at /srv/secret/path")

    monkeypatch.setattr(send, "answer_ask", broken)
    caplog.set_level(logging.INFO)

    calls = await harness.slash(P.slash_interaction(command, options))

    assert [c.type for c in calls] == [CHANNEL_MESSAGE]
    assert calls[0].ephemeral
    assert calls[0].titles == ["Something went wrong"]
    sent = dumps(calls)
    for leak in ("database exploded", "/srv/secret", "Traceback", "RuntimeError"):
        assert leak not in sent
    logged = [r for r in caplog.records if r.levelno >= logging.ERROR and r.exc_info]
    assert logged, "the failure was not logged with its traceback"
    errors = [r.exc_info[1] for r in logged if r.exc_info]
    assert any("database exploded" in str(e.__cause__ or e) for e in errors if e is not None)


async def test_a_failure_after_deferring_is_reported_in_an_ephemeral_followup(
        harness: Harness, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setattr(send, "DEFER_AFTER", 0.01)
    release = asyncio.Event()

    async def slow_then_broken(*args: Any, **kwargs: Any) -> Any:
        await release.wait()
        raise RuntimeError("late failure")

    monkeypatch.setattr(send, "answer_ask", slow_then_broken)
    caplog.set_level(logging.ERROR)
    before = asyncio.all_tasks()
    harness.start_dispatch(P.slash_interaction("who", {"name": "Bukele"}))
    await harness.wait_for(lambda calls: any(c.type == DEFERRED_CHANNEL_MESSAGE for c in calls))
    release.set()
    await harness.settle(before)

    assert [c.type or c.name for c in harness.calls] == [DEFERRED_CHANNEL_MESSAGE,
                                                         "execute_webhook"]
    followup = harness.calls[1]
    assert followup.ephemeral and followup.titles == ["Something went wrong"]
    assert "late failure" not in dumps(harness.calls)
    assert any(r.exc_info for r in caplog.records)


@pytest.mark.parametrize("context", ["server", "dm"])
async def test_a_slow_answer_is_deferred_then_sent_as_a_followup(
        harness: Harness, monkeypatch: pytest.MonkeyPatch, context: str) -> None:
    monkeypatch.setattr(send, "DEFER_AFTER", 0.05)
    real = send.answer_ask
    release = asyncio.Event()

    async def slow(*args: Any, **kwargs: Any) -> Any:
        await release.wait()  # held until the test has seen the defer
        return await real(*args, **kwargs)

    monkeypatch.setattr(send, "answer_ask", slow)
    ask = P.slash_interaction("timeline", **CONTEXTS[context])
    before = asyncio.all_tasks()
    harness.start_dispatch(ask)

    await harness.wait_for(lambda calls: len(calls) >= 1)
    assert [c.type for c in harness.calls] == [DEFERRED_CHANNEL_MESSAGE]
    assert not harness.calls[0].ephemeral  # a public answer is deferred publicly
    release.set()
    await harness.settle(before)

    assert [c.name for c in harness.calls] == ["create_interaction_response", "execute_webhook"]
    followup = harness.calls[1]
    assert followup.ids["token"] == ask["token"] and followup.ids["wait"]
    assert followup.titles == ["Timeline"] and not followup.ephemeral
    assert_user_visible(followup)
    assert page_labels(followup) == PAGE_BUTTONS
    # The buttons of a followup work as well: they edit that message.
    calls = await harness.component(
        harness.press(followup, button(followup, "▶"), user=asker(ask), **CONTEXTS[context]))
    assert [c.type for c in calls] == [UPDATE_MESSAGE]
    assert footer(calls[0]).startswith("Page 2/")


async def test_a_fast_answer_is_not_deferred(harness: Harness) -> None:
    calls = await harness.slash(P.slash_interaction("about"), gateway=True)
    assert [c.type for c in calls] == [CHANNEL_MESSAGE]


# ---------------------------------------------------------------------------- the command line


def test_running_without_a_token_fails_with_one_line_naming_the_fix(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "DISCORD_TOKEN"}
    env.update({"LOG_FILE": str(tmp_path / "bot.log"), "DB_PATH": str(tmp_path / "db.sqlite3"),
                "PYTHONPATH": str(REPO)})
    if (REPO / ".env").exists():  # a developer's .env must not supply a token: an empty
        env["DISCORD_TOKEN"] = ""  # value blocks .env (override=False) and counts as unset

    done = subprocess.run([sys.executable, "-m", "bot"], cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=60)

    assert done.returncode != 0
    lines = done.stderr.splitlines()
    assert len(lines) == 1, done.stderr
    assert "DISCORD_TOKEN" in lines[0] and ".env.example" in lines[0]
    assert done.stdout == ""
