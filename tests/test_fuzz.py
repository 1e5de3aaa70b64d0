"""Property tests: whatever a user types, the bot answers once, within Discord's limits.

Every free-text slash option (/who name, /timeline actor, /quote speaker, /search query), every
autocompleted option and the DM text router are driven through the layer-2 harness (the real
CommandTree and discord.py parsing, see tests/harness.py) with hostile text: arbitrary Unicode
including control and invisible characters (lone surrogates excluded: they cannot occur in
JSON from Discord), very long strings, FTS5 operators and quotes, SQL fragments, Markdown and
mention syntax.

The limits are checked by tests/discord_limits.py (written from Discord's documentation,
independently of the bot's renderer, bot/render/pages.py): content, embeds, components,
autocomplete choices and allowed_mentions. No answer may be the error notice, and nothing may
be logged at ERROR.

Bounded by default: each property runs HYPOTHESIS_MAX_EXAMPLES examples (default 60). A long
run: ``HYPOTHESIS_MAX_EXAMPLES=2000 .venv/bin/python -m pytest tests/test_fuzz.py``.
"""

from __future__ import annotations

import logging
import os
from typing import Any

import pytest
from discord import AppCommandOptionType, app_commands
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests import payloads as P
from tests.discord_limits import (
    PING,
    choice_problems,
    discord_problems,
    is_error_notice,
    shown_text,
)
from tests.harness import Call, Harness, errors_logged
from tests.payloads import AUTOCOMPLETE_RESULT, CHANNEL_MESSAGE, DEFERRED_CHANNEL_MESSAGE

MAX_EXAMPLES = int(os.environ.get("HYPOTHESIS_MAX_EXAMPLES", "60"))

FUZZ = settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,  # one slow example (a GC pause, a cold cache) is not a failure
    # One harness serves every example of a property: its commands are read-only.
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                           HealthCheck.data_too_large],
)

# (command, option) for every free-text option; checked against the tree below.
SLASH_OPTIONS = [("who", "name"), ("timeline", "actor"), ("quote", "speaker"),
                 ("search", "query"), ("ask", "question")]
AUTOCOMPLETED = [("who", "name"), ("timeline", "actor"), ("quote", "speaker")]
# The `story:` options (autocompleted from the snapshot's stories): not fuzzed here, since any
# text is an unknown story that answers with a note (tests/test_stories.py), but kept in the
# coverage check so a new free-text option cannot slip past it.
STORY_OPTIONS = [(c, "story") for c in ("ask", "deal", "quote", "search", "sources",
                                        "timeline", "who", "story show", "story set",
                                        "story changes", "follow add", "unfollow")]
SLASH_IDS = [f"{c}.{o}" for c, o in SLASH_OPTIONS]
AUTOCOMPLETE_IDS = [f"{c}.{o}" for c, o in AUTOCOMPLETED]

CONTEXTS: dict[str, dict[str, Any]] = {
    "server": {},
    "dm": {"dm": True},
    "group_dm": {"group_dm": True},
    "user_install": {"user_install": True},
}

# ------------------------------------------------------------------------- hostile text

CONTROL_AND_INVISIBLE = (
    [chr(c) for c in range(0x00, 0x20)] + ["\x7f", "\x85", "\xa0", "\xad"]
    + [chr(c) for c in range(0x200B, 0x2010)]  # zero-width and direction marks
    + [chr(c) for c in range(0x202A, 0x202F)]  # bidi embeddings and overrides
    + [chr(c) for c in range(0x2066, 0x206A)]  # bidi isolates
    + ["\u2028", "\u2029", "\ufeff", "\ufffc", "\ufffd", "\U000e0001", "\U0010fffd"]
)

SYNTAX = [
    # FTS5 query syntax and quoting
    '"', '""', "'", "*", "^", ":", "(", ")", "{", "}", "+", "-", "NEAR(", "NEAR(a b, 2)",
    "OR", "AND", "NOT", "name:", "body:", "kind:entity", '"unterminated', "a* OR b*",
    "\\", "%", "_", "\x00",
    # SQL
    "'; DROP TABLE entities; --", "' OR '1'='1", "1=1", "UNION SELECT * FROM meta", "/*", "*/",
    "`", ";", "%'", "?", ":name", "@p", "$1", "char(0)",
    # Markdown
    "**", "__", "~~", "||", "```", "`x`", "> ", "# ", "-# ", "[x](https://example.com)",
    "<https://example.com>", "\\*", "*_*", "\n", "\n\n",
    # mentions and other Discord markup
    "@everyone", "@here", "<@123>", "<@!123>", "<@&1>", "<#1>", "</who:1>", "<:e:1>",
    "<a:e:1>", "<t:0:R>", "<id:home>", "@@everyone", "<@<@1>1>", f"<@{P.BOT_USER_ID}>",
    f"<@{P.OWNER_ID}>",
    # command words of the DM router, and the owners' text commands
    "who", "timeline", "quote", "search", "deal", "sources", "help", "how many", "when",
    "what did", "say", "!reload", "!status", "!sync", "/who", "!",
]
NAMES = ["Bukele", "Rubio", "Maduro", "Trump", "Cecot", "Venezuela", "El Salvador",
         "Alien Enemies", "Tren de Aragua", "Maiquetía", "Simón Bolívar", "prisoners"]
SEPARATORS = ["", " ", "  ", "\t", "\n", "?", ".", ",", "\u200b", "\u00a0"]

any_character = st.one_of(st.characters(exclude_categories=["Cs"]),
                          st.sampled_from(CONTROL_AND_INVISIBLE))
unicode_text = st.text(any_character, max_size=120)
syntax_text = st.lists(
    st.tuples(st.one_of(st.sampled_from(SYNTAX), st.sampled_from(NAMES),
                        st.text(any_character, max_size=6)),
              st.sampled_from(SEPARATORS)),
    max_size=14,
).map(lambda parts: "".join(word + sep for word, sep in parts))


def _repeat(unit: str, length: int) -> str:
    return (unit * (length // max(len(unit), 1) + 1))[:length]


long_text = st.builds(
    _repeat,
    st.one_of(st.text(any_character, min_size=1, max_size=8),
              st.sampled_from([f"{n} " for n in NAMES] + ["Bukele", "@everyone ", '"', "*"])),
    st.integers(min_value=150, max_value=6000),
)

FLAVOURS: dict[str, st.SearchStrategy[str]] = {
    "unicode": unicode_text,
    "syntax": syntax_text,
    "long": long_text,
}

# Typed questions reach intents the slash options do not (how many, which law, when, what did
# X say), some of which echo the whole question in a title: a question form, then hostile text.
QUESTION_FORMS = [
    "how many ", "how many prisoners were sent to ", "how much ", "which law ",
    "under what law ", "when was ", "where did ", "what happened ", "what did Bukele say ",
    "who said ", "what is the deal ", "tell me about ", "who is ", "who's ", "what's ",
    "where do facts come from ", "who ", "timeline ", "quote ", "search ", "deal ", "sources ",
    "claims ", "help ", "/", "!",
]
question_text = st.builds(lambda form, tail: form + tail, st.sampled_from(QUESTION_FORMS),
                          st.one_of(unicode_text, syntax_text, long_text))
TYPED_FLAVOURS = {**FLAVOURS, "question": question_text}

# Explicit inputs every run tries on every surface, whatever Hypothesis draws.
CORPUS = [
    "", " ", "\x00", "\n\n", "\u202e", "\ufeff", "@everyone", "@here", "<@123>", "<@&1>", "<#1>",
    '"', '"Bukele', "Bukele\"", "NEAR(a b)", "a* OR b", "name:Bukele", "'; DROP TABLE entities;--",
    "' OR '1'='1", "**bold** __u__ ||spoiler||", "```code```", "[link](https://example.com)",
    "x" * 6000, "🙂" * 3000, "ß" * 200, "ﷺ" * 200, "Bukele " * 400, "é" * 4097,
    "Bu\u200bkele", "BUKELE", "bukele?", "who is @everyone", "how many @here were sent to <@1>",
    # answers whose title echoes the question: every character escaped doubles it
    "how many prisoners were sent to Venezuela " + "*_" * 150,
    "how many Americans were released " + "@" * 300,
    "when was the exchange " + "\\" * 300, "where did the plane land " + "`|" * 200,
    # the error notice's own words, which an answer echoes (Hypothesis found this one)
    "Something went wrong", "Something went wrong on our side; it has been logged.",
]

# ------------------------------------------------------------------------- no ERROR logs


def _describe(records: list[logging.LogRecord]) -> list[str]:
    return [f"{r.name}: {r.getMessage()} {r.exc_info[1]!r}" if r.exc_info else
            f"{r.name}: {r.getMessage()}" for r in records]


# ------------------------------------------------------------------------- checks


def check_message(body: dict[str, Any], *, reply: bool = False) -> None:
    """A valid message that pings nobody, and an answer: not the error notice.

    Whether the error path was taken is told by the notice itself (and, in the callers, by the
    errors logged), never by a phrase in the text: the answer may echo what was typed, and
    Hypothesis types string constants it finds in the bot, "Something went wrong" among them.
    """
    assert discord_problems(body, reply=reply) == []
    assert not is_error_notice(body), body
    text = shown_text(body)
    assert PING.search(text) is None, PING.search(text)


def check_one_answer(calls: list[Call]) -> Call:
    """Exactly one message, sent as the response or after a defer, valid and ping-free."""
    shape = [(c.kind, c.type if c.kind == "callback" else c.name) for c in calls]
    assert shape in ([("callback", CHANNEL_MESSAGE)],
                     [("callback", DEFERRED_CHANNEL_MESSAGE), ("webhook", "execute_webhook")]
                     ), shape
    answer = calls[-1]
    check_message(answer.body)
    return answer


def check_one_reply(calls: list[Call]) -> Call:
    """Exactly one reply to a typed message, valid and ping-free."""
    assert [c.name for c in calls] == ["POST /channels/{channel_id}/messages"], [
        c.name for c in calls]
    reply = calls[0]
    assert reply.body.get("message_reference"), "an answer replies to the question"
    check_message(reply.body, reply=True)
    return reply


def check_choices(calls: list[Call]) -> list[dict[str, Any]]:
    assert [(c.kind, c.type) for c in calls] == [("callback", AUTOCOMPLETE_RESULT)]
    choices = calls[0].body.get("choices")
    assert choice_problems(choices) == []
    # Every autocompleted option is a string option: a string value, or Discord rejects it.
    assert all(isinstance(c["value"], str) for c in choices or []), choices
    return list(choices or [])


async def ask(harness: Harness, command: str, option: str, text: str,
              context: str = "server") -> Call:
    with errors_logged() as errors:
        calls = await harness.slash(P.slash_interaction(command, {option: text},
                                                        **CONTEXTS[context]))
    assert _describe(errors) == []
    return check_one_answer(calls)


async def complete(harness: Harness, command: str, option: str, text: str,
                   context: str = "server") -> list[dict[str, Any]]:
    with errors_logged() as errors:
        calls = await harness.slash(P.autocomplete_interaction(command, option, text,
                                                               **CONTEXTS[context]))
    assert _describe(errors) == []
    return check_choices(calls)


async def type_message(harness: Harness, text: str, *, mention: bool = False) -> Call:
    if mention:
        bot_user = P.bot_user()
        payload = P.message_create(f"<@{bot_user['id']}> {text}", guild=harness.guild_payload,
                                   mentions=[bot_user])
    else:
        payload = P.message_create(text)
    with errors_logged() as errors:
        calls = await harness.message(payload)
    assert _describe(errors) == []
    return check_one_reply(calls)


# ------------------------------------------------------------------------- coverage of the tree


def _string_options(harness: Harness) -> list[tuple[str, app_commands.Parameter]]:
    out = []
    for command in harness.bot.tree.walk_commands():
        if isinstance(command, app_commands.Command):
            out += [(command.qualified_name, p) for p in command.parameters
                    if p.type is AppCommandOptionType.string and not p.choices]
    return out


async def test_the_fuzzed_options_are_every_free_text_option_of_every_command(
        harness: Harness) -> None:
    found = sorted((name, p.name) for name, p in _string_options(harness))
    assert found == sorted(SLASH_OPTIONS + STORY_OPTIONS)


async def test_the_fuzzed_autocompletes_are_every_autocompleted_option(harness: Harness) -> None:
    found = sorted((name, p.name) for name, p in _string_options(harness) if p.autocomplete)
    assert found == sorted(AUTOCOMPLETED + STORY_OPTIONS)


# ------------------------------------------------------------------------- explicit corpus


@pytest.mark.parametrize(("command", "option"), SLASH_OPTIONS, ids=SLASH_IDS)
async def test_every_corpus_input_in_a_slash_option_gets_one_valid_answer(
        harness: Harness, command: str, option: str) -> None:
    for text in CORPUS:
        for context in CONTEXTS:
            await ask(harness, command, option, text, context)


@pytest.mark.parametrize(("command", "option"), AUTOCOMPLETED, ids=AUTOCOMPLETE_IDS)
async def test_every_corpus_input_autocompletes_within_discords_limits(
        harness: Harness, command: str, option: str) -> None:
    for text in CORPUS:
        await complete(harness, command, option, text)


async def test_every_corpus_input_typed_in_a_dm_or_a_mention_gets_one_valid_reply(
        harness: Harness) -> None:
    for text in CORPUS:
        await type_message(harness, text)
        await type_message(harness, text, mention=True)


async def test_a_real_name_still_finds_its_entity_among_the_checks(harness: Harness) -> None:
    """The checks above are not vacuous: a plain name reaches the entity page."""
    answer = await ask(harness, "who", "name", "Bukele")
    assert answer.titles == ["Nayib Bukele (person)"]
    assert any(c["value"] == "Nayib Bukele" for c in await complete(harness, "who", "name", "Buk"))
    reply = await type_message(harness, "who is Bukele?")
    assert reply.titles == ["Nayib Bukele (person)"]


@pytest.mark.parametrize("where", ["dm", "mention"])
async def test_typing_the_error_notices_words_gets_an_answer_not_the_error(
        harness: Harness, where: str) -> None:
    """Hypothesis typed "Something went wrong"; the answer echoed it and a check that looked
    for the phrase in the text failed. The answer is an answer to the question, not the
    error notice, and no error was logged."""
    reply = await type_message(harness, "Something went wrong", mention=where == "mention")
    assert reply.titles and reply.titles[0] != "Something went wrong", reply.titles
    assert "it has been logged" not in reply.text(), "not the error notice"
    assert "Something went wrong" in reply.text(), "the answer echoes what was typed"


async def test_the_checks_catch_an_answer_that_failed(harness: Harness,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """The error path is visible to the checks above: the notice, and the error logged."""
    def broken_snapshot() -> Any:
        raise RuntimeError("the store is gone")

    monkeypatch.setattr(harness.bot.store, "snapshot", broken_snapshot)
    with errors_logged() as errors:
        calls = await harness.message(P.message_create("who is Bukele?"))
    assert errors, "the failure was logged"
    assert is_error_notice(calls[-1].body), calls[-1].text()
    with pytest.raises(AssertionError):
        check_one_reply(calls)
    with pytest.raises(AssertionError):
        await type_message(harness, "who is Bukele?")


# ------------------------------------------------------------------------- properties


@pytest.mark.parametrize("flavour", list(FLAVOURS))
@pytest.mark.parametrize(("command", "option"), SLASH_OPTIONS, ids=SLASH_IDS)
@FUZZ
@given(data=st.data())
async def test_any_text_in_a_slash_option_gets_exactly_one_valid_answer(
        harness: Harness, command: str, option: str, flavour: str, data: st.DataObject) -> None:
    text = data.draw(FLAVOURS[flavour], label="text")
    context = data.draw(st.sampled_from(list(CONTEXTS)), label="context")
    await ask(harness, command, option, text, context)


@pytest.mark.parametrize("flavour", list(FLAVOURS))
@pytest.mark.parametrize(("command", "option"), AUTOCOMPLETED, ids=AUTOCOMPLETE_IDS)
@FUZZ
@given(data=st.data())
async def test_any_text_autocompletes_to_at_most_25_valid_choices(
        harness: Harness, command: str, option: str, flavour: str, data: st.DataObject) -> None:
    text = data.draw(FLAVOURS[flavour], label="text")
    await complete(harness, command, option, text)


@pytest.mark.parametrize("flavour", list(TYPED_FLAVOURS))
@pytest.mark.parametrize("where", ["dm", "mention"])
@FUZZ
@given(data=st.data())
async def test_any_typed_message_gets_exactly_one_valid_reply(
        harness: Harness, where: str, flavour: str, data: st.DataObject) -> None:
    text = data.draw(TYPED_FLAVOURS[flavour], label="text")
    await type_message(harness, text, mention=where == "mention")
