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
from bot.discord_app.components import NOT_YOURS
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

BUTTON_ORDER = ["⏮️", "◀️", None, "▶️", "⏭️"]  # first, previous, position (a label), next, last


def asker(interaction_payload: dict[str, Any]) -> dict[str, Any]:
    """The user who sent an interaction payload (guild: member.user; DM: user)."""
    return (interaction_payload.get("member") or {}).get("user") or interaction_payload["user"]


def button(call: Call, emoji: str) -> dict[str, Any]:
    """The button of a page view with this emoji (first ⏮️, previous ◀️, next ▶️, last ⏭️)."""
    found = [b for b in call.buttons if (b.get("emoji") or {}).get("name") == emoji]
    assert len(found) == 1, call.buttons
    return found[0]


def position(call: Call) -> str:
    labels = [str(b.get("label")) for b in call.buttons if not b.get("emoji")]
    assert len(labels) == 1, call.buttons
    return labels[0]


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
        assert len(answer.buttons) == 5
        assert position(answer) == f"1/{pages.group(1)}"
    else:
        assert answer.buttons == []


@pytest.mark.parametrize("gateway", [False, True], ids=["tree-call", "gateway"])
async def test_who_bukele_shows_the_entity_and_a_sentence_of_the_article(
        harness: Harness, gateway: bool) -> None:
    calls = await harness.slash(P.slash_interaction("who", {"name": "Bukele"}), gateway=gateway)

    assert [c.type for c in calls] == [CHANNEL_MESSAGE]
    embed = calls[0].embeds[0]
    assert embed["title"] == "Nayib Bukele (person)"
    assert "President of El Salvador" in embed["description"]
    quoted = cited_sentences(calls[0].text())
    from_article = [s for s in quoted if collapse(s) in article()]
    assert from_article, quoted
    assert any("Bukele" in s for s in from_article)


async def test_who_lists_everyone_on_one_page_with_the_bundled_data(harness: Harness) -> None:
    calls = await harness.slash(P.slash_interaction("who"))

    answer = calls[0]
    assert answer.titles == ["Who is who"]
    for name in ("Nayib Bukele", "Marco Rubio", "Maiquetía", "Alien Enemies Act"):
        assert name in answer.text()
    assert answer.buttons == []  # 22 names fit on one page: no page buttons


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
    assert len(answer.buttons) == 5
    assert_user_visible(answer)


# ---------------------------------------------------------------------------- page buttons


@pytest.mark.parametrize("context", ["server", "dm", "group_dm", "user_install"])
async def test_timeline_has_five_page_buttons_in_order(harness: Harness, context: str) -> None:
    calls = await harness.slash(P.slash_interaction("timeline", **CONTEXTS[context]))

    answer = calls[0]
    total = re.fullmatch(r"Page 1/(\d+)", footer(answer))
    assert total and int(total.group(1)) >= 2
    assert [(b.get("emoji") or {}).get("name") for b in answer.buttons] == BUTTON_ORDER
    assert position(answer) == f"1/{total.group(1)}"
    disabled = {(b.get("emoji") or {}).get("name"): bool(b.get("disabled"))
                for b in answer.buttons}
    assert disabled == {"⏮️": True, "◀️": True, None: True, "▶️": False, "⏭️": False}
    assert len({b["custom_id"] for b in answer.buttons}) == 5


@pytest.mark.parametrize("context", ["server", "dm", "group_dm"])
async def test_next_by_the_asker_updates_the_message_to_page_two(harness: Harness,
                                                                 context: str) -> None:
    ask = P.slash_interaction("timeline", **CONTEXTS[context])
    first = (await harness.slash(ask))[0]
    total = footer(first).split("/")[1]

    press = harness.press(first, button(first, "▶️"), user=asker(ask), **CONTEXTS[context])
    calls = await harness.component(press)

    assert [c.type for c in calls] == [UPDATE_MESSAGE]
    page = calls[0]
    assert footer(page) == f"Page 2/{total}"
    assert page.embeds[0]["fields"] != first.embeds[0]["fields"]
    assert position(page) == f"2/{total}"
    assert not button(page, "◀️").get("disabled")
    assert_user_visible(page)


async def test_last_then_first_buttons_jump_to_the_ends(harness: Harness) -> None:
    ask = P.slash_interaction("timeline")
    first = (await harness.slash(ask))[0]
    total = footer(first).split("/")[1]

    last = (await harness.component(harness.press(first, button(first, "⏭️"), user=asker(ask))))
    assert footer(last[0]) == f"Page {total}/{total}"
    assert button(last[0], "▶️").get("disabled") and button(last[0], "⏭️").get("disabled")
    back = await harness.component(harness.press(first, button(first, "⏮️"), user=asker(ask)))
    assert footer(back[0]) == f"Page 1/{total}"


@pytest.mark.parametrize("context", ["server", "group_dm"])
async def test_another_user_cannot_turn_the_pages(harness: Harness, context: str) -> None:
    ask = P.slash_interaction("timeline", **CONTEXTS[context])
    first = (await harness.slash(ask))[0]
    stranger = P.user(name="stranger")

    refused = await harness.component(
        harness.press(first, button(first, "▶️"), user=stranger, **CONTEXTS[context]))

    assert [c.type for c in refused] == [CHANNEL_MESSAGE]
    assert refused[0].ephemeral
    assert refused[0].body["content"] == NOT_YOURS
    assert mention_problems(refused[0].body) == []
    # The page did not move: the asker's next press still goes from page 1 to page 2.
    moved = await harness.component(
        harness.press(first, button(first, "▶️"), user=asker(ask), **CONTEXTS[context]))
    assert [c.type for c in moved] == [UPDATE_MESSAGE]
    assert footer(moved[0]).startswith("Page 2/")


async def test_pages_of_a_dm_text_answer_turn_too(harness: Harness) -> None:
    author = P.user(name="reader")
    reply = messages(await harness.message(P.message_create("timeline", author=author)))[0]
    assert footer(reply).startswith("Page 1/")

    calls = await harness.component(
        harness.press(reply, button(reply, "▶️"), user=author, dm=True))

    assert [c.type for c in calls] == [UPDATE_MESSAGE]
    assert footer(calls[0]).startswith("Page 2/")


@pytest.fixture
def quick_page_timeout(monkeypatch: pytest.MonkeyPatch) -> float:
    """Page views time out after 0.05 s instead of 5 minutes (PageView's keyword default)."""
    page_view = send.PageView  # the class the send path uses
    defaults = page_view.__init__.__kwdefaults__
    assert defaults is not None and "timeout" in defaults
    monkeypatch.setitem(defaults, "timeout", 0.05)
    return 0.05


def removes_buttons(name: str) -> Any:
    """A wait_for predicate: an edit named `name` that leaves no components."""
    return lambda calls: any(c.name == name and c.payload.get("components") == []
                             for c in calls)


async def test_page_buttons_of_a_response_are_removed_when_they_time_out(
        harness: Harness, quick_page_timeout: float) -> None:
    first = (await harness.slash(P.slash_interaction("timeline")))[0]
    assert first.buttons

    await harness.wait_for(removes_buttons("edit_original_interaction_response"))
    edit = [c for c in harness.calls if c.name == "edit_original_interaction_response"][0]
    assert edit.ids["token"] == harness.sent_by_token[first.ids["token"]]["token"]


async def test_page_buttons_of_a_dm_reply_are_removed_when_they_time_out(
        harness: Harness, quick_page_timeout: float) -> None:
    reply = messages(await harness.message(P.message_create("timeline")))[0]
    assert reply.buttons

    name = "PATCH /channels/{channel_id}/messages/{message_id}"
    await harness.wait_for(removes_buttons(name))
    edit = [c for c in harness.calls if c.name == name][0]
    assert reply.message is not None
    assert edit.ids["url"].endswith(f"/messages/{reply.message['id']}")


async def test_page_buttons_of_a_followup_are_removed_when_they_time_out(
        harness: Harness, quick_page_timeout: float, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(send, "DEFER_AFTER", 0.0)
    calls = await harness.slash(P.slash_interaction("timeline"))
    followup = [c for c in calls if c.name == "execute_webhook"][0]
    assert followup.buttons

    await harness.wait_for(removes_buttons("edit_webhook_message"))
    edit = [c for c in harness.calls if c.name == "edit_webhook_message"][0]
    assert followup.message is not None
    assert edit.ids["message_id"] == int(followup.message["id"])


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

    monkeypatch.setattr(cog_module(harness, "Conversation"), "answer_text", broken)
    caplog.set_level(logging.ERROR)

    calls = await harness.message(P.message_create("who is bukele?"))

    assert [c.name for c in calls] == ["POST /channels/{channel_id}/messages"]
    assert is_error_notice(calls[0].body)
    assert "/srv/secret" not in dumps(calls)
    assert mention_problems(calls[0].body) == []
    assert any(r.exc_info and "index corrupted" in str(r.exc_info[1]) for r in caplog.records)


# ---------------------------------------------------------------------------- registration


async def test_every_command_is_offered_in_servers_dms_and_group_dms_for_both_installs(
        harness: Harness) -> None:
    commands = {c.name: c.to_dict(harness.bot.tree) for c in harness.bot.tree.get_commands()}

    assert set(commands) >= {"who", "timeline", "deal", "quote", "search", "sources", "about",
                             "admin"}
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

    monkeypatch.setattr(send, "answer_request", broken)
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

    monkeypatch.setattr(send, "answer_request", slow_then_broken)
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
    real = send.answer_request
    release = asyncio.Event()

    async def slow(*args: Any, **kwargs: Any) -> Any:
        await release.wait()  # held until the test has seen the defer
        return await real(*args, **kwargs)

    monkeypatch.setattr(send, "answer_request", slow)
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
    assert len(followup.buttons) == 5
    # The buttons of a followup work as well: they edit that message.
    calls = await harness.component(
        harness.press(followup, button(followup, "▶️"), user=asker(ask), **CONTEXTS[context]))
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
