"""The router: what people type is routed to the right answer, and the answers are right.

Expected facts come from the briefing YAML and the source texts, not from the bot's output.
Every answer, whatever was typed, must be one or more valid Discord messages that ping nobody.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest

from bot.briefing.store import Store
from bot.router import Intent, answer_text, clean, parse
from tests.briefing_data import article, briefing, collapse, name_of, record
from tests.discord_limits import (
    MENTION,
    assert_valid,
    cited_sentences,
    plain,
    texts,
)
from tests.reachable import reach

# ------------------------------------------------------------------------------ helpers


def first_figure(pages: list[dict[str, Any]]) -> int:
    description = pages[0]["embeds"][0].get("description", "")
    match = re.search(r"\d[\d,]*", description)
    assert match, f"no figure in {description!r}"
    return int(match.group().replace(",", ""))


def shows_figure(text: str, figure: int) -> bool:
    return re.search(rf"(?<![\d,]){figure:,}(?![\d,])", text) is not None


def date_shown(text: str, date: dt.date) -> bool:
    forms = {date.isoformat(), f"{date.day} {date:%B %Y}", f"{date:%B} {date.day}, {date.year}"}
    return any(form in text for form in forms)


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


def test_clean_bounds_and_flattens_what_was_typed() -> None:
    cleaned = clean("who\n\tBukele\x00\u202e" + " pad" * 2000)
    assert cleaned.startswith("who Bukele pad")
    assert len(cleaned) <= 500
    assert all(ch.isprintable() for ch in cleaned)


# ------------------------------------------------------------------- the article's questions


async def whole(store: Store, text: str) -> list[dict[str, Any]]:
    """The answer's pages, then what its Sources and Notes buttons show."""
    return (await reach(store, await answer_text(store, text))).all


async def test_how_many_were_sent_to_venezuela(store: Store) -> None:
    t = next(t for t in briefing()["deal"]["transfers"] if t["receiver"] == "venezuela")
    q = t["quantity"]
    pages = await whole(store, "how many prisoners were sent to Venezuela?")
    assert_valid(pages)
    text = plain(texts(pages))
    assert first_figure(pages) == q["value"], "the answer leads with the briefing's figure"
    assert q.get("approximate")
    description = pages[0]["embeds"][0]["description"].replace("**", "")
    assert re.search(rf"\b(about|approximately|around|roughly)\s+{q['value']}\b", description)
    for other in (q.get("low"), q.get("high")):
        assert shows_figure(text, other), f"the other reported figure {other} is shown"
    # Cited from the article itself, sentence for sentence.
    article_quotes = [collapse(e["quote"]) for e in t["evidence"] if e["source"] == "article"]
    assert any(s in article() and any(aq in s for aq in article_quotes)
               for s in cited_sentences(texts(pages)))
    # The note that the record counts 252 stands beside the figure.
    (note,) = [d for d in briefing()["discrepancies"] if t["id"] in d["applies_to"]]
    assert collapse(note["record_says"]["text"]) in text
    assert note["topic"] in text


async def test_how_many_americans(store: Store) -> None:
    t = next(t for t in briefing()["deal"]["transfers"] if t["receiver"] == "united-states")
    pages = await whole(store, "how many Americans?")
    assert_valid(pages)
    assert first_figure(pages) == t["quantity"]["value"]
    text = plain(texts(pages))
    (note,) = [d for d in briefing()["discrepancies"] if t["id"] in d["applies_to"]]
    record_says = collapse(note["record_says"]["text"])
    assert "five citizens and five" in record_says, "the YAML note this test relies on"
    assert record_says in text
    assert any(s in article() for s in cited_sentences(texts(pages)))


async def test_who_is_the_secretary_of_state(store: Store) -> None:
    (holder,) = [e for e in briefing()["entities"]
                 if any(r["title"] == "Secretary of State" for r in e.get("roles", []))]
    pages = await whole(store, "who is the secretary of state?")
    assert_valid(pages)
    assert holder["name"] in pages[0]["embeds"][0]["title"]
    # The article's misspelling is shown as the article prints it, with the record beside it.
    assert any("Marc Rubio" in s and s in article() for s in cited_sentences(texts(pages)))


async def test_where_did_the_plane_land(store: Store) -> None:
    (landing,) = [e for e in briefing()["events"] if "plane" in e["title"].casefold()]
    places = [name_of(p) for p in landing["where"]]
    pages = await whole(store, "where did the plane land?")
    assert_valid(pages)
    text = plain(texts(pages))
    for place in places:
        assert place in text
    assert "Maiquetía" in places and any("Airport" in p for p in places)
    record_quotes = [collapse(e["quote"]) for e in landing["evidence"] if e["source"] == "record"]
    assert any(s in record() and any(rq in s for rq in record_quotes)
               for s in cited_sentences(texts(pages)))


async def test_which_law(store: Store) -> None:
    (basis,) = briefing()["deal"]["legal_basis"]
    pages = await whole(store, "which law was used?")
    assert_valid(pages)
    text = plain(texts(pages))
    assert name_of(basis["law"]) in text
    quote = collapse(basis["evidence"][0]["quote"])
    assert any(quote in s and s in article() for s in cited_sentences(texts(pages)))


async def test_what_did_bukele_say(store: Store) -> None:
    pages = await whole(store, "what did Bukele say?")
    assert_valid(pages)
    text = plain(texts(pages))
    mine = [q for q in briefing()["quotes"] if q["speaker"] == "bukele"]
    others = [q for q in briefing()["quotes"] if q["speaker"] != "bukele"]
    assert mine
    for q in mine:
        assert collapse(q["text"]) in text
        if q.get("translation"):
            assert "translat" in text.casefold(), "a translated quote is marked as such"
    for q in others:
        assert collapse(q["text"]) not in text, "only Bukele's words"
