"""What people type, end to end: the article's questions answered right, and nothing breaks it.

Every answer goes through `router.answer_text`, as a DM or `python -m bot ask` would. Expected
facts are read from the briefing YAML and the source texts; Discord's limits are checked here
from its documentation. Whatever was typed, the answer is one or more valid messages that ping
nobody, and the store keeps answering afterwards.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.briefing.store import Store
from bot.router import answer_text
from tests.briefing_data import (
    briefing,
    collapse,
    event,
    name_of,
    notes_for,
    source_text,
    transfer_to,
)
from tests.discord_limits import (
    APPROX,
    assert_pings_nobody,
    assert_valid,
    cited_sentences,
    date_shown,
    embeds,
    fields,
    plain,
    shows_figure,
    texts,
)
from tests.reachable import reach

# ------------------------------------------------------------------------------ helpers


def events_shown(pages: list[dict[str, Any]]) -> list[str]:
    """The ids of the events an answer's sections are about, in order, each once."""
    out: list[str] = []
    for item in fields(pages):
        titles = [e for e in briefing()["events"] if e["title"] in item["name"]]
        if titles:
            ident = max(titles, key=lambda e: len(e["title"]))["id"]
            if not out or out[-1] != ident:
                out.append(ident)
    return out


async def ask(store: Store, text: str) -> list[dict[str, Any]]:
    """The answer's pages, then what its Sources and Notes buttons show."""
    pages = (await reach(store, await answer_text(store, text))).all
    assert_valid(pages)
    assert_pings_nobody(pages)
    return pages


# ------------------------------------------------------------------------------ how many


async def test_how_many_prisoners_were_sent_to_venezuela(store: Store) -> None:
    t = transfer_to("venezuela")
    q = t["quantity"]
    assert q.get("approximate") and q.get("low") and q.get("high"), "the YAML this test reads"
    pages = await ask(store, "how many prisoners were sent to Venezuela?")
    description = plain(embeds(pages)[0].get("description", ""))
    # The answer leads with the briefing's figure, marked as approximate ...
    first = re.search(r"\d[\d,]*", description)
    assert first and int(first.group().replace(",", "")) == q["value"], description
    assert re.search(rf"\b{APPROX}\s+{q['value']:,}\b", description, re.I), description
    # ... with the other reported figures beside it ...
    text = texts(pages)
    for other in (q["low"], q["high"]):
        assert shows_figure(plain(text), other), f"the other reported figure {other}"
    # ... cited from the article, sentence for sentence ...
    article_quotes = [collapse(e["quote"]) for e in t["evidence"] if e["source"] == "article"]
    assert any(collapse(s) in source_text("article") and any(aq in s for aq in article_quotes)
               for s in cited_sentences(text))
    # ... and the record's count (252) noted where it differs.
    (note,) = notes_for(t["id"])
    record_says = collapse(note["record_says"]["text"])
    assert re.search(r"\b252\b", record_says), "the YAML note this test relies on"
    assert record_says in plain(text)
    assert note["topic"] in plain(text)
    # Only the transfer asked about: not the Americans going the other way.
    (us,) = [x for x in briefing()["deal"]["transfers"] if x.get("receiver") == "united-states"]
    assert us["what"] not in description


@pytest.mark.parametrize("typed", ["how many Americans were released?", "how many Americans?"])
async def test_how_many_americans_were_released(store: Store, typed: str) -> None:
    t = transfer_to("united-states")
    value = t["quantity"]["value"]
    pages = await ask(store, typed)
    description = plain(embeds(pages)[0].get("description", ""))
    first = re.search(r"\d[\d,]*", description)
    assert first and int(first.group().replace(",", "")) == value, description
    text = texts(pages)
    (note,) = notes_for(t["id"])
    record_says = collapse(note["record_says"]["text"])
    assert "five citizens and five" in record_says, "the YAML note this test relies on"
    assert record_says in plain(text)
    assert any(collapse(s) in source_text("article") and f"{value} US citizens" in s
               for s in cited_sentences(text))
    assert transfer_to("venezuela")["what"] not in description, "not the Venezuelans"


async def test_how_much_did_the_us_pay_finds_the_payment_not_a_head_count(store: Store) -> None:
    payment = event("us-payment")
    (quote,) = [collapse(e["quote"]) for e in payment["evidence"]]
    amount = re.search(r"\d+ million dollars", quote)
    assert amount, "the YAML evidence this test relies on"
    pages = await ask(store, "how much did the US pay El Salvador?")
    text = plain(texts(pages))
    assert amount.group() in plain(texts(pages[:1])), "the payment is on the first page"
    assert any(quote in collapse(s) for s in cited_sentences(texts(pages)))
    # A money question must not be answered with the number of prisoners.
    headcount = transfer_to("venezuela")["quantity"]["value"]
    assert not re.search(rf"(?<!\d){headcount}(?!\d)", text), text


# ------------------------------------------------------------------------------ the deal itself


@pytest.mark.parametrize("typed", ["what is the deal?", "whats the deal", "tell me about the deal",
                                   "tell me about the exchange", "the swap?"])
async def test_asking_about_the_deal_itself_gets_the_deal_card(store: Store, typed: str) -> None:
    (deal,) = [briefing()["deal"]]
    pages = await ask(store, typed)
    assert embeds(pages)[0]["title"] == deal["title"], (typed, embeds(pages)[0]["title"])


# ------------------------------------------------------------------------------ when, where, who


@pytest.mark.parametrize("typed", ["when was the exchange?", "when did the exchange happen?"])
async def test_when_was_the_exchange(store: Store, typed: str) -> None:
    exchange = event("exchange")
    date = exchange["when"]["date"]
    date = date if isinstance(date, dt.date) else dt.date.fromisoformat(date)
    pages = await ask(store, typed)
    shown = events_shown(pages)
    assert shown and shown[0] == exchange["id"], "the exchange itself comes first"
    first = fields(pages)[0]
    assert date_shown(first["name"] + "\n" + first["value"], date)
    assert date_shown(texts(pages[:1]), date)
    # The date rests on a cited sentence of the record that says it: a marker beside it
    # points to that sentence on the Sources page.
    reached = await reach(store, await answer_text(store, typed))
    assert any(collapse(s) in source_text("record") and date_shown(s, date)
               for s, _ in reached.resolve(first["value"]))


async def test_who_is_the_secretary_of_state(store: Store) -> None:
    (holder,) = [e for e in briefing()["entities"]
                 if any(r["title"] == "Secretary of State" for r in e.get("roles", []))]
    pages = await ask(store, "who is the secretary of state?")
    assert holder["name"] == "Marco Rubio"
    assert all(holder["name"] in embed["title"] for embed in embeds(pages))
    # The article's misspelling is shown as the article prints it, with the record beside it.
    assert any("Marc Rubio" in s and collapse(s) in source_text("article")
               for s in cited_sentences(texts(pages)))


async def test_where_did_the_plane_land(store: Store) -> None:
    landing = event("plane-arrival")
    places = [name_of(p) for p in landing["where"]]
    assert "Maiquetía" in places and "Simón Bolívar International Airport" in places
    pages = await ask(store, "where did the plane land?")
    assert events_shown(pages)[0] == landing["id"]
    text = plain(texts(pages))
    for place in places:
        assert place in text
    record_quotes = [collapse(e["quote"]) for e in landing["evidence"] if e["source"] == "record"]
    assert any(collapse(s) in source_text("record") and any(q in s for q in record_quotes)
               for s in cited_sentences(texts(pages)))


async def test_which_law_was_used(store: Store) -> None:
    (basis,) = briefing()["deal"]["legal_basis"]
    law = name_of(basis["law"])
    pages = await ask(store, "which law was used?")
    text = plain(texts(pages))
    assert law == "Alien Enemies Act" and law in text
    assert collapse(basis["text"]) in text
    quote = collapse(basis["evidence"][0]["quote"])
    assert any(quote in s and collapse(s) in source_text("article")
               for s in cited_sentences(texts(pages)))


async def test_what_did_bukele_say_is_his_quote_marked_as_a_translation(store: Store) -> None:
    mine = [q for q in briefing()["quotes"] if q["speaker"] == "bukele"]
    others = [q for q in briefing()["quotes"] if q["speaker"] != "bukele"]
    assert mine and any(q.get("translation") for q in mine)
    pages = await ask(store, "what did Bukele say?")
    text = plain(texts(pages))
    for q in mine:
        items = [i for i in fields(pages) if collapse(q["text"]) in plain(i["value"])]
        assert items, f"{q['id']} is shown word for word"
        if q.get("translation"):
            for item in items[:1]:  # where the quote is shown; notes may continue below it
                # Marked by the bot itself, not only by the briefing's notes that happen to
                # mention a translation.
                own = item["value"]
                for s in cited_sentences(own):
                    own = own.replace(s, "")
                own = plain(own)
                for note in [q.get("note") or "", *(t for d in notes_for(q["id"])
                                                    for t in (d["source_says"]["text"],
                                                              d["record_says"]["text"]))]:
                    own = own.replace(collapse(note), "")
                assert "translat" in own.casefold(), "the translation is marked"
        for note in notes_for(q["id"]):
            assert collapse(note["record_says"]["text"]) in text, "the record's wording is noted"
    for q in others:
        assert collapse(q["text"]) not in text, "only Bukele's words"


# ------------------------------------------------------------------------------ lists


async def test_the_timeline_is_in_chronological_order(store: Store) -> None:
    events = briefing()["events"]
    expected = [e["id"] for _, e in sorted(enumerate(events),
                                           key=lambda pair: (pair[1]["when"]["order"], pair[0]))]
    pages = await ask(store, "timeline")
    assert events_shown(pages) == expected
    orders = [event(i)["when"]["order"] for i in events_shown(pages)]
    assert orders == sorted(orders)


async def test_who_alone_lists_every_entity_across_its_pages(store: Store) -> None:
    entities = briefing()["entities"]
    pages = await ask(store, "who")
    listed = [plain(line) for item in fields(pages) for line in item["value"].split("\n")]
    for e in entities:
        assert any(line == e["name"] or line.startswith(e["name"] + " ") for line in listed), \
            e["name"]
    counts = re.findall(r"\d+", embeds(pages)[0].get("description", ""))
    assert str(len(entities)) in counts, "the count given is the briefing's"


# ------------------------------------------------------------------------------ hostile input


HOSTILE = {
    "double quotes": '"Bukele"',
    "fts operators": "NEAR(a b) OR * ^",
    "column filter": "name:foo",
    "unbalanced quote": '"unbalanced',
    "unbalanced quote after a command": 'who "Bukele',
    "quote in a question": 'how many "prisoners',
    "sql": "'; DROP TABLE entities; --",
    "sql in a command": "who '; DROP TABLE entities; --",
    "5,000 characters": ("who is " + "Bukele and " * 455)[:5000],
    "5,000 unbroken characters": "x" * 5000,
    "emoji": "🇻🇪🔥💀 who 👨‍👩‍👧 Bukele",
    "only emoji": "🇻🇪🔥",
    "control characters": "\x00\x01\x02who\x07 Bukele\x1b[31m\x7f",
    "zero-width characters": "\u200b\u200c\u200d\ufeff",
    "zero-width inside a word": "who Bu\u200bke\u200dle",
    "@everyone": "@everyone",
    "@here": "@here",
    "user mention": "<@123>",
    "all mentions": "<@!123> <@&5> <#7> @everyone @here",
    "mention in a command": "who @everyone",
    "mention in a question": "what did <@123> say?",
    "mention in a search": "search @here Bukele",
    "right-to-left text": "من هو بوكيلي؟",
    "right-to-left override": "\u202ewho Bukele\u202c",
    "hebrew": "מי זה בוקלה",
    "only whitespace": " \t\n\r ",
    "empty": "",
    "markdown": "**who** `Bukele` > _x_ ||spoiler|| -# small",
    "backslashes": "\\\\who \\Bukele\\",
    "only a prefix": "/",
    "combining marks": "who B\u0301u\u0301k\u0301e\u0301l\u0301e\u0301",
    "long how many": "how many " + "prisoners " * 500,
    "long when": "when " + "exchange " * 600,
}


@pytest.mark.parametrize("case", HOSTILE)
async def test_hostile_input_gets_a_valid_answer_and_the_store_survives(store: Store,
                                                                        case: str) -> None:
    await ask(store, HOSTILE[case])
    after = await ask(store, "who Bukele")
    assert name_of("bukele") in embeds(after)[0]["title"]
    everyone = plain(texts(await ask(store, "who")))
    assert all(e["name"] in everyone for e in briefing()["entities"]), "no table lost a row"


@settings(max_examples=200, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.text(max_size=600))
async def test_any_text_gets_valid_pages_that_ping_nobody(store: Store, typed: str) -> None:
    pages = await answer_text(store, typed)
    assert_valid(pages)
    assert_pings_nobody(pages)


# ------------------------------------------------------------------------------ fixed bugs


@pytest.mark.parametrize("typed", ["when was the exchange?", "when did the exchange happen?"])
async def test_an_answer_that_says_it_is_in_order_lists_events_in_order(store: Store,
                                                                        typed: str) -> None:
    pages = await ask(store, typed)
    shown = events_shown(pages)
    assert shown, "the matching events are shown"
    orders = [event(i)["when"]["order"] for i in shown]
    assert orders == sorted(orders), f"{shown} are not in the order they happened"


@pytest.mark.parametrize(("typed", "invisible"), [
    ("how many prisoners were sent to Venezuela?", "\u00ad"),
    ("how many prisoners were sent to Venezuela?", "\u200b"),
    ("Bukele", "\u200b"),
    ("Bukele", "\u00ad"),
])
async def test_an_invisible_character_inside_a_word_changes_nothing(store: Store, typed: str,
                                                                    invisible: str) -> None:
    word = max(typed.split(), key=len).strip("?")
    pasted = typed.replace(word, word[:4] + invisible + word[4:])
    assert pasted != typed
    expected = await ask(store, typed)
    pages = await ask(store, pasted)
    assert [e["title"] for e in embeds(pages)] == [e["title"] for e in embeds(expected)]
    assert [i["name"] for i in fields(pages)] == [i["name"] for i in fields(expected)]
