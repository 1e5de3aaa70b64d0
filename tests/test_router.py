"""The router's parsing: what people type becomes the right request (intent and argument).

Pure functions, no store. Whether the answers to those requests are right is
tests/test_questions.py's (through ``router.answer_text``, as a DM or ``ask`` answers).
"""

from __future__ import annotations

import pytest

from bot.router import Intent, clean, parse
from tests.discord_limits import (
    MENTION,
)

# ------------------------------------------------------------------------------ parse


@pytest.mark.parametrize(("typed", "intent", "arg"), [
    ("who Bukele", Intent.who, "Bukele"),
    ("/who Bukele", Intent.who, "Bukele"),
    ("!who Bukele", Intent.who, "Bukele"),
    ("WHO Bukele", Intent.who, "Bukele"),
    ("/who", Intent.who, ""),
    ("who", Intent.who, ""),
    ("timeline", Intent.timeline, ""),
    ("/timeline", Intent.timeline, ""),
    ("timeline Bukele", Intent.timeline, "Bukele"),
    ("deal", Intent.deal, ""),
    ("!deal", Intent.deal, ""),
    ("quote", Intent.quote, ""),
    ("quote Bukele", Intent.quote, "Bukele"),
    ("search Alien Enemies", Intent.search, "Alien Enemies"),
    ("/search Alien Enemies", Intent.search, "Alien Enemies"),
    ("sources", Intent.sources, ""),
    ("help", Intent.about, ""),
    ("/help", Intent.about, ""),
    ("claims", Intent.claims, ""),
])
def test_command_words_route_with_or_without_a_prefix(typed: str, intent: Intent,
                                                       arg: str) -> None:
    request = parse(typed)
    assert (request.intent, request.arg) == (intent, arg)


@pytest.mark.parametrize(("typed", "intent", "about"), [
    ("how many prisoners were sent to Venezuela?", Intent.how_many,
     "prisoners were sent to Venezuela"),
    ("How many Americans were released?", Intent.how_many, "Americans were released"),
    ("who is the secretary of state?", Intent.who, "secretary of state"),
    ("Who is Bukele?", Intent.who, "Bukele"),
    ("where did the plane land?", Intent.event, "plane land"),
    ("when was the exchange?", Intent.event, "exchange"),
    ("which law was used?", Intent.law, ""),
    ("what did Bukele say?", Intent.quote, "Bukele"),
    ("what happened?", Intent.timeline, ""),
])
def test_plain_questions_route_by_their_question_word(typed: str, intent: Intent,
                                                      about: str) -> None:
    request = parse(typed)
    assert request.intent == intent
    assert about in request.arg
    assert not request.arg.endswith("?")


def test_anything_else_is_a_search() -> None:
    request = parse("Tren de Aragua")
    assert (request.intent, request.arg) == (Intent.search, "Tren de Aragua")


@pytest.mark.parametrize("typed", ["", "   ", "/", "!", "\u200b", "\x00\x01"])
def test_nothing_typed_gets_the_help(typed: str) -> None:
    assert parse(typed).intent == Intent.about


@pytest.mark.parametrize("typed", ["who <@123> Bukele", "who @everyone Bukele",
                                   "who <@!42> <@&7> <#9> Bukele", "@here who Bukele"])
def test_mentions_are_dropped_before_routing(typed: str) -> None:
    request = parse(typed)
    assert (request.intent, request.arg) == (Intent.who, "Bukele")
    assert not MENTION.search(request.question)


@pytest.mark.parametrize("typed, cleaned", [
    ("  who   Bukele ", "who Bukele"),  # plain ASCII
    ("ask <@123456789> about @everyone", "ask about"),  # mentions, in plain ASCII
    ("who\tBukele\r\n", "who Bukele"),  # ASCII, but not all printable
    ("Vene\u00adzuela", "Venezuela"),  # a soft hyphen vanishes
    ("Cafe\u0301 <@&42>", "Caf\u00e9"),  # composed; a role mention dropped
    ("x" * 600, "x" * 500),  # bounded
])
def test_clean_gives_one_printable_spaced_line(typed: str, cleaned: str) -> None:
    assert clean(typed) == cleaned


def test_clean_bounds_and_flattens_what_was_typed() -> None:
    cleaned = clean("who\n\tBukele\x00\u202e" + " pad" * 2000)
    assert cleaned.startswith("who Bukele pad")
    assert len(cleaned) <= 500
    assert all(ch.isprintable() for ch in cleaned)
