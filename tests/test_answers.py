"""Renderers on the real briefing: every answer fits Discord, cites its sources, marks doubt.

The answers are built from the store's views of the bundled briefing. Expectations come from
the briefing YAML and the two source texts, never from the renderers' own output, and the
Discord limits are checked here from Discord's documentation, independently of
`pages.limit_problems`.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from bot import __version__
from bot.briefing.records import EntityView, TransferView
from bot.briefing.store import Snapshot, Store
from bot.render import answers
from bot.render.terminal import to_text
from tests.briefing_data import (
    briefing,
    by_id,
    collapse,
    entity,
    name_of,
    notes_for,
    source_text,
)
from tests.discord_limits import (
    APPROX,
    MENTION,
    assert_pings_nobody,
    assert_valid,
    embeds,
    fields,
    plain,
    shows_figure,
    texts,
)
from tests.reachable import Reached, markers, reach

MARKDOWN_CHARS = set("\\*_~`|>#[]()-")
ZERO_WIDTH = "\u200b"


# ------------------------------------------------------------------------------ the briefing


def source_names(source: dict[str, Any]) -> set[str]:
    """How a citation may name a source: its title or its publisher."""
    return {source["title"], source["publisher"]}


ENTITY_IDS = [e["id"] for e in briefing()["entities"]]


# ------------------------------------------------------------------------------ payload helpers


def cited(text: str) -> list[tuple[str, str]]:
    """(sentence, attribution) for each citation shown: a quoted line, then who it is from."""
    lines = text.split("\n")
    out = []
    for i, line in enumerate(lines):
        m = re.fullmatch(r"> “(.+)”", line.strip())
        if m:
            o = re.fullmatch(r"> — \*(.+)\*", lines[i + 1].strip()) if i + 1 < len(lines) else None
            out.append((m.group(1), o.group(1) if o else ""))
    return out


def quoted_lines(text: str) -> int:
    return sum(1 for line in text.split("\n") if line.strip().startswith("> “"))


def origin_source(attribution: str) -> dict[str, Any]:
    """The briefing source an attribution names (before any ', reporting ...')."""
    head = attribution.split(", reporting ")[0]
    matches = [s for s in briefing()["sources"] if head in source_names(s)]
    assert len(matches) == 1, f"attribution {attribution!r} names no single source"
    return matches[0]


def field_with(pages: list[dict[str, Any]], needle: str) -> list[dict[str, Any]]:
    return [item for item in fields(pages) if needle in plain(item["value"])]


def unescape(text: str) -> str:
    """What Discord shows for text with Markdown escapes and zero-width spaces."""
    return re.sub(r"\\(.)", r"\1", text).replace(ZERO_WIDTH, "")


# ------------------------------------------------------------------------------ store access


async def entity_view(snap: Snapshot, ident: str) -> EntityView:
    found = await snap.lookup(name_of(ident))
    assert found.entity is not None, f"the store finds {name_of(ident)!r} by its name"
    assert found.entity.ref.id == ident
    return found.entity


async def entity_pages(store: Store, ident: str) -> list[dict[str, Any]]:
    async with store.snapshot() as snap:
        return answers.entity_answer(await entity_view(snap, ident))


async def all_transfers(snap: Snapshot) -> list[TransferView]:
    return [t for deal in await snap.deals() for t in deal.transfers]


# ------------------------------------------------------------------------------ every renderer


Build = Callable[[Snapshot], Awaitable[list[dict[str, Any]]]]


async def _entity_for_role(snap: Snapshot) -> list[dict[str, Any]]:
    found = await snap.lookup("the secretary of state")
    assert found.entity is not None
    return answers.entity_answer(found.entity, found.query if found.matched else None)


async def _timelines_per_actor(snap: Snapshot) -> list[dict[str, Any]]:
    out = []
    for summary in await snap.entities():
        out += answers.timeline_answer(await snap.timeline(summary.ref), summary.ref)
    return out


async def _quotes_per_speaker(snap: Snapshot) -> list[dict[str, Any]]:
    out = []
    for summary in await snap.entities():
        out += answers.quotes_answer(await snap.quotes(summary.ref), summary.ref)
    return out


async def _single_transfers(snap: Snapshot) -> list[dict[str, Any]]:
    out = []
    for t in await all_transfers(snap):
        out += answers.transfer_answer([t], f"how many {t.what}?")
    return out


async def _searches(snap: Snapshot) -> list[dict[str, Any]]:
    out = []
    for query in ["Alien Enemies", "Bukele", "Venezuela", "prisoners", "the", "zzzz"]:
        hits = await snap.search(query)
        suggestions = () if hits else snap.resolve(query).suggestions
        out += answers.search_answer(query, hits, suggestions)
    return out


async def _not_found(snap: Snapshot) -> list[dict[str, Any]]:
    found = await snap.lookup("President")
    return answers.not_found_answer("President", found.suggestions)


HOSTILE_QUESTION = ("how many **@everyone** <@123> <@&9> @here `code` > quote # head -# x "
                    + "ñ😀\u202e" * 1500)

RENDERERS: dict[str, Build] = {
    "entity list": lambda snap: _awaited(answers.entity_list_answer, snap.entities()),
    "entity found by role": _entity_for_role,
    "timeline": lambda snap: _awaited(answers.timeline_answer, snap.timeline()),
    "timeline per actor": _timelines_per_actor,
    "deal": lambda snap: _awaited(lambda deals: [p for d in deals
                                                 for p in answers.deal_answer(d)], snap.deals()),
    "transfer, all at once": lambda snap: _awaited(
        lambda ts: answers.transfer_answer(ts, "how many people were exchanged?"),
        all_transfers(snap)),
    "transfer, one by one": _single_transfers,
    "transfer, hostile question": lambda snap: _awaited(
        lambda ts: answers.transfer_answer(ts, HOSTILE_QUESTION), all_transfers(snap)),
    "transfer, question all Markdown": lambda snap: _awaited(
        lambda ts: answers.transfer_answer(ts, "how many " + "*_`|" * 400), all_transfers(snap)),
    "transfer, none": lambda snap: _ready(answers.transfer_answer([], "how many unicorns?")),
    "legal basis": lambda snap: _awaited(
        lambda deals: [p for d in deals for p in answers.legal_basis_answer(d)], snap.deals()),
    "quotes": lambda snap: _awaited(answers.quotes_answer, snap.quotes()),
    "quotes per speaker": _quotes_per_speaker,
    "claims": lambda snap: _awaited(answers.claims_answer, snap.claims()),
    "search": _searches,
    "search, hostile query": lambda snap: _ready(answers.search_answer(HOSTILE_QUESTION, [])),
    "sources": lambda snap: _awaited(answers.sources_answer, snap.sources()),
    "about": lambda snap: _awaited(lambda b: answers.about_answer(b, __version__),
                                   snap.briefings()),
    "not found, with suggestions": _not_found,
    "not found, hostile query": lambda snap: _ready(answers.not_found_answer(HOSTILE_QUESTION)),
    "not found, query all Markdown": lambda snap: _ready(answers.not_found_answer("\\*" * 300)),
    "not found, empty query": lambda snap: _ready(answers.not_found_answer("")),
    "message": lambda snap: _ready(answers.message_answer("Reloaded", "Done.")),
}


async def _awaited(render: Callable[[Any], list[dict[str, Any]]],
                   view: Awaitable[Any]) -> list[dict[str, Any]]:
    return render(await view)


async def _ready(pages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return pages


@pytest.mark.parametrize("renderer", RENDERERS)
async def test_every_page_of_every_renderer_fits_discord(store: Store, renderer: str) -> None:
    async with store.snapshot() as snap:
        pages = await RENDERERS[renderer](snap)
    assert_valid(pages)
    assert_pings_nobody(pages)


@pytest.mark.parametrize("ident", ENTITY_IDS)
async def test_every_entity_answer_fits_discord(store: Store, ident: str) -> None:
    pages = await entity_pages(store, ident)
    assert_valid(pages)
    assert_pings_nobody(pages)
    assert all(name_of(ident) in embed["title"] for embed in embeds(pages)), \
        "every page names who it is about"


# ------------------------------------------------------------------------------ citations


@pytest.mark.parametrize("ident", ENTITY_IDS)
async def test_entity_answers_cite_whole_sentences_of_their_sources(store: Store,
                                                                    ident: str) -> None:
    reached = await reach(store, await entity_pages(store, ident))
    text = texts(reached.sources)
    citations = cited(text)
    assert citations, "an entity answer cites its sources"
    assert len(citations) == quoted_lines(text), "every quoted line is one whole citation"
    assert len({s for s, _ in citations}) == len(citations), "each sentence once per answer"
    assert quoted_lines(texts(reached.card)) == 0, "the card quotes no source sentence"
    assert set(markers(texts(reached.card))) == set(range(1, len(citations) + 1)), \
        "every marker on the card points to a footnote, and every footnote is used"
    for sentence, attribution in citations:
        source = origin_source(attribution)
        assert source["id"] in ("article", "record"), "only a source whose text is held is quoted"
        assert collapse(sentence) in source_text(source["id"]), \
            f"{sentence!r} is not word for word in {source['id']}"
        # "reporting X" names only reports the briefing knows.
        if ", reporting " in attribution:
            publishers = {s["publisher"] for s in briefing()["sources"]}
            reported = attribution.split(", reporting ", 1)[1]
            assert reported.startswith(tuple(publishers)), reported


@pytest.mark.parametrize("ident", ENTITY_IDS)
async def test_who_this_is_rests_on_the_entitys_own_evidence(store: Store, ident: str) -> None:
    evidence = entity(ident)["evidence"]
    reached = await reach(store, await entity_pages(store, ident))
    description = embeds(reached.card)[0]["description"]
    (answer_line,) = [line for line in description.split("\n")
                      if line.startswith(f"**{name_of(ident)}**")]
    shown = reached.resolve(answer_line)
    assert shown, "the direct answer carries the markers of who this is"
    # Every piece of the entity's own evidence is behind a marker of the answer's first line.
    for item in evidence:
        assert any(collapse(item["quote"]) in collapse(sentence)
                   and origin_source(attribution)["id"] == item["source"]
                   for sentence, attribution in shown), item["quote"]


# ------------------------------------------------------------------------------ doubt is marked


CLAIM_CASES = [(c["id"], e) for c in briefing()["claims"]
               for e in dict.fromkeys([c.get("claimant"), *c.get("about", [])])
               if e in ENTITY_IDS]


@pytest.mark.parametrize(("claim_id", "ident"), CLAIM_CASES)
async def test_claims_are_shown_as_claims_with_their_status(store: Store, claim_id: str,
                                                            ident: str) -> None:
    claim = by_id("claims", claim_id)
    reached = await reach(store, await entity_pages(store, ident))
    (item,) = field_with(reached.card, collapse(claim["text"]))
    claim_line = next(line for line in item["value"].split("\n")
                      if collapse(claim["text"]) in plain(line))
    # On the claim's own line: how sure it is, and whose claim it is.
    assert claim["status"] in claim_line.casefold()
    if "claimant" in claim:
        assert name_of(claim["claimant"]) in claim_line
    else:  # the source names nobody: the line says so and attributes it to no one
        assert "no claimant named" in claim_line
        assert not re.search(r"\bby \*{0,2}[A-Z]", claim_line), claim_line
    support = [collapse(e["quote"]) for e in claim["evidence"]]
    own = claim_line.split(" · against it:")[0]
    assert any(any(q in collapse(s) for q in support) for s, _ in reached.resolve(own))


async def test_the_tren_de_aragua_claim_is_disputed_and_cites_the_contrary(store: Store) -> None:
    (claim,) = [c for c in briefing()["claims"]
                if "tren-de-aragua" in c.get("about", []) and c.get("claimant") == "bukele"]
    assert claim["status"] == "disputed" and claim["contradicting"]
    for ident in ("tren-de-aragua", "bukele"):
        reached = await reach(store, await entity_pages(store, ident))
        (item,) = field_with(reached.card, collapse(claim["text"]))
        (line,) = [ln for ln in item["value"].split("\n") if collapse(claim["text"]) in plain(ln)]
        assert "disputed" in line.casefold()
        # The claim's own source first, then what contradicts it, on the claim's line.
        own, against_marks = line.split(" · against it:")
        support = collapse(claim["evidence"][0]["quote"])
        assert any(support in collapse(s) for s, _ in reached.resolve(own))
        contrary = reached.resolve(against_marks)
        for against in claim["contradicting"]:
            quote = collapse(against["quote"])
            hits = [(s, a) for s, a in contrary if quote in collapse(s)]
            assert hits, f"the contrary citation {quote!r} stands beside the claim"
            sentence, attribution = hits[0]
            assert collapse(sentence) in source_text(against["source"])
            reporters = [by_id("sources", r)["publisher"] for r in against.get("reported_by", [])]
            assert all(r in attribution for r in reporters), "who reported it is named"


def note_field(reached: Reached, topic: str) -> dict[str, Any]:
    (item,) = [i for i in fields(reached.notes) if topic in i["name"]]
    return item


async def test_rubios_answer_shows_the_articles_spelling_and_the_records_correction(
        store: Store) -> None:
    rubio = entity("rubio")
    (note,) = notes_for("rubio")
    article_quote = collapse(note["source_says"]["evidence"][0]["quote"])
    assert "Marc Rubio" in article_quote and rubio["name"] == "Marco Rubio"
    reached = await reach(store, await entity_pages(store, "rubio"))
    assert rubio["name"] in embeds(reached.card)[0]["title"]
    # The correction is one line beside the fact, on the first page ...
    description = embeds(reached.card)[0]["description"]
    (flag,) = [line for line in description.split("\n") if line.startswith("📌")]
    assert "Marc Rubio" in flag and "Marco Rubio" in flag
    # ... the article's own sentence, misspelling and all, is quoted from the article ...
    from_article = [s for s, a in cited(texts(reached.sources))
                    if origin_source(a)["id"] == "article"]
    assert any(article_quote in s and "Marco Rubio" not in s for s in from_article)
    # ... and the note shows both sides together, the record cited.
    item = note_field(reached, note["topic"])
    value = plain(item["value"])
    assert collapse(note["source_says"]["text"]) in value
    assert collapse(note["record_says"]["text"]) in value
    record_quote = collapse(note["record_says"]["evidence"][0]["quote"])
    record_line = next(ln for ln in item["value"].split("\n") if ln.startswith("Record:"))
    assert any(record_quote in collapse(s) and origin_source(a)["id"] == "record"
               for s, a in reached.resolve(record_line))


async def test_trumps_answer_carries_the_former_president_discrepancy(store: Store) -> None:
    (note,) = notes_for("trump")
    assert "former US President" in note["source_says"]["text"]
    reached = await reach(store, await entity_pages(store, "trump"))
    # The article's wrong title is quoted as the article prints it ...
    assert any("former US President" in s and origin_source(a)["id"] == "article"
               for s, a in cited(texts(reached.sources)))
    assert any(line.startswith("📌") for line in texts(reached.card).split("\n"))
    # ... and the note, one press away, has both sides and the record's citation.
    item = note_field(reached, note["topic"])
    value = plain(item["value"])
    assert collapse(note["source_says"]["text"]) in value
    record_quotes = [collapse(e["quote"]).rstrip(".") for e in note["record_says"]["evidence"]]
    record_line = next(ln for ln in item["value"].split("\n") if ln.startswith("Record:"))
    assert any(any(q in collapse(s) for q in record_quotes) and origin_source(a)["id"] == "record"
               for s, a in reached.resolve(record_line))


# ------------------------------------------------------------------------------ the deal


async def test_the_deal_answer_shows_every_transfer_with_its_figures(store: Store) -> None:
    deal = briefing()["deal"]
    async with store.snapshot() as snap:
        pages = answers.deals_answer(await snap.deals(), await snap.timeline())
    assert_valid(pages)
    lines = [plain(line) for line in texts(pages).split("\n")]
    assert any(deal["title"] in embed["title"] for embed in embeds(pages))
    for t in deal["transfers"]:
        giver, q = name_of(t["giver"]), t["quantity"]
        # A release has no receiver: the line says it was released, to nobody.
        receiver = name_of(t["receiver"]) if "receiver" in t else "released"
        # Who gave, who received and how many, on one line, so the figure cannot be misread.
        (line,) = [ln for ln in lines if giver in ln and receiver in ln
                   and shows_figure(ln, q["value"]) and t["what"] in ln]
        if "words" in q:  # the source's words stand beside the figure, as written
            assert f"“{q['words']}”" in line, line
        for other in (q.get("low"), q.get("high")):
            if other is not None:
                assert shows_figure(line, other), f"{t['id']}: other figure {other}"
        if q.get("approximate"):
            assert re.search(rf"{APPROX}\s+{q['value']:,}\b", line, re.I), line
        else:
            assert not re.search(rf"{APPROX}\s+{q['value']:,}\b", line, re.I), line


async def test_the_deal_answer_names_the_alien_enemies_act_as_legal_basis(store: Store) -> None:
    (basis,) = briefing()["deal"]["legal_basis"]
    law = name_of(basis["law"])
    assert law == "Alien Enemies Act"
    async with store.snapshot() as snap:
        pages = answers.deals_answer(await snap.deals(), await snap.timeline())
    reached = await reach(store, pages)
    (item,) = field_with(reached.card, collapse(basis["text"]))
    assert "legal basis" in item["name"].casefold()
    assert law in plain(item["value"])
    quote = collapse(basis["evidence"][0]["quote"])
    assert any(quote in collapse(s) and collapse(s) in source_text("article")
               for s, _ in reached.resolve(item["value"]))


async def test_the_deal_card_says_who_gave_what_to_whom_when_and_where(store: Store) -> None:
    async with store.snapshot() as snap:
        pages = answers.deals_answer(await snap.deals(), await snap.timeline())
    first = embeds(pages)[0]
    lead = plain(first["description"]).split("\n")[0]
    assert "18 July 2025" in lead and "El Salvador" in lead and "Venezuela" in lead
    gave = plain(first["fields"][0]["value"])
    for t in briefing()["deal"]["transfers"]:
        if "receiver" in t:
            assert f"{name_of(t['giver'])} → {name_of(t['receiver'])}" in gave, t["id"]
        else:
            assert f"{name_of(t['giver'])} released: " in gave, t["id"]


async def test_transfer_answer_shows_each_figure_of_every_transfer_it_is_given(
        store: Store) -> None:
    async with store.snapshot() as snap:
        transfers = await all_transfers(snap)
    question = "how many people changed hands?"
    pages = answers.transfer_answer(transfers, question)
    assert_valid(pages)
    assert unescape(embeds(pages)[0]["title"]) == question, "the question is the title"
    description = embeds(pages)[0].get("description", "")
    assert description, "the figures lead the answer"
    for t in briefing()["deal"]["transfers"]:
        q = t["quantity"]
        (line,) = [plain(ln) for ln in description.split("\n") if t["what"] in ln]
        assert shows_figure(line, q["value"]), line
        if "receiver" in t:
            assert name_of(t["giver"]) in line and name_of(t["receiver"]) in line
        else:
            assert f"released by {name_of(t['giver'])}" in line, line
        for other in (q.get("low"), q.get("high")):
            if other is not None:
                assert shows_figure(line, other), line
        if q.get("approximate"):
            assert re.search(rf"{APPROX}\s+{q['value']:,}\b", line, re.I), line


async def test_a_single_transfer_answer_carries_its_record_note(store: Store) -> None:
    async with store.snapshot() as snap:
        transfers = {t.id: t for t in await all_transfers(snap)}
    for t in briefing()["deal"]["transfers"]:
        pages = answers.transfer_answer([transfers[t["id"]]], f"how many {t['what']}?")
        assert_valid(pages)
        reached = await reach(store, pages)
        description = embeds(pages)[0].get("description", "")
        assert shows_figure(description, t["quantity"]["value"])
        for note in notes_for(t["id"]):
            assert "📌" in description, "the note is flagged beside the figure"
            assert collapse(note["record_says"]["text"]) in plain(texts(reached.notes))
        # The figure's markers point to the transfer's own evidence, each from its source.
        shown = reached.resolve(description.split("\n")[0])
        for item in t["evidence"]:
            assert any(collapse(item["quote"]) in collapse(sentence)
                       and collapse(sentence) in source_text(item["source"])
                       and origin_source(attribution)["id"] == item["source"]
                       for sentence, attribution in shown), item["quote"]


# ------------------------------------------------------------------------------ sources


async def test_the_sources_answer_lists_every_source_of_the_briefing(store: Store) -> None:
    async with store.snapshot() as snap:
        pages = answers.sources_answer(await snap.sources())
    assert_valid(pages)
    names = [item["name"] for item in fields(pages)]
    for source in briefing()["sources"]:
        assert source["title"] in names, source["id"]
        (item,) = [i for i in fields(pages) if i["name"] == source["title"]]
        assert source["publisher"] in item["value"]
        assert source["reliability"] in item["value"]
        if source.get("url"):
            assert source["url"] in item["value"]
    assert len(names) == len(briefing()["sources"]), "each source once"


# ------------------------------------------------------------------------------ echoing users


def unescaped_markdown(text: str) -> list[str]:
    """Markdown characters in `text` that no backslash escapes."""
    out, i = [], 0
    while i < len(text):
        if text[i] == "\\":
            i += 2
            continue
        if text[i] in MARKDOWN_CHARS:
            out.append(text[i])
        i += 1
    return out


@pytest.mark.parametrize("typed", [
    "**bold** __under__ *it* _it_ ~~gone~~ `code` ||spoiler||",
    "> a quote", "# a heading", "-# small print", "- a list item", "[link](http://x.y)",
    "back\\slash", "a*b*c",
])
def test_echo_shows_markdown_as_typed(typed: str) -> None:
    shown = answers.echo(typed)
    assert unescaped_markdown(shown) == [], f"{shown!r} would be formatted by Discord"
    assert unescape(shown) == typed, "what Discord shows is what was typed"


@pytest.mark.parametrize("typed", ["@everyone", "@here", "<@123>", "<@!123>", "<@&123>",
                                   "hi @everyone and @here, <@123>!"])
def test_echo_cannot_ping(typed: str) -> None:
    shown = answers.echo(typed)
    assert not MENTION.search(shown), shown
    assert unescape(shown) == typed, "the text still reads as typed"
    pages = answers.not_found_answer(typed)
    assert_valid(pages)
    assert_pings_nobody(pages)


def test_echo_is_one_short_line() -> None:
    shown = answers.echo("line one\nline two\t\x00" + "x" * 500, limit=80)
    assert "\n" not in shown and "\x00" not in shown
    assert len(unescape(shown)) <= 80
    assert unescape(shown).startswith("line one line two")


# ------------------------------------------------------------------------------ not found


async def test_not_found_suggests_the_names_the_store_offers(store: Store) -> None:
    async with store.snapshot() as snap:
        found = await snap.lookup("President")
    assert found.entity is None and found.suggestions, "an ambiguous word gets suggestions"
    presidents = {e["name"] for e in briefing()["entities"]
                  if any(r["title"].startswith("President") for r in e.get("roles", []))}
    assert presidents <= {s.name for s in found.suggestions}
    pages = answers.not_found_answer("President", found.suggestions)
    assert_valid(pages)
    text = plain(texts(pages))
    for suggestion in found.suggestions[:5]:
        assert suggestion.name in text
    assert "President" in unescape(embeds(pages)[0]["title"]), "what was asked is repeated"


def test_not_found_without_suggestions_still_answers() -> None:
    pages = answers.not_found_answer("zzzz")
    assert_valid(pages)
    assert "zzzz" in embeds(pages)[0]["title"]


# ------------------------------------------------------------------------------ the terminal


def terminal_lines(pages: list[dict[str, Any]]) -> list[str]:
    return [line.strip() for line in to_text(pages, width=10_000).split("\n")]


@pytest.mark.parametrize("renderer", ["timeline", "deal", "sources", "claims", "quotes",
                                      "about", "entity found by role",
                                      "not found, with suggestions"])
async def test_the_terminal_shows_the_payloads_titles_and_field_names(store: Store,
                                                                      renderer: str) -> None:
    async with store.snapshot() as snap:
        pages = await RENDERERS[renderer](snap)
    shown = to_text(pages, width=10_000)
    lines = terminal_lines(pages)
    for embed in embeds(pages):
        assert unescape(embed["title"]) in lines, embed["title"]
        for item in embed.get("fields", []):
            assert any(line.endswith(unescape(item["name"])) for line in lines), item["name"]
    assert ZERO_WIDTH not in shown
    assert not re.search(r"\\[\\*_~`|>#\[\]()-]", shown), "no Markdown escapes in a terminal"


@pytest.mark.parametrize("typed", ["@everyone", "<@123>", "_under_ score", "x_y_z",
                                   "> quoted", "-# small", "a*b*c", "2*3*4", "**bold**",
                                   "*one* and *two*", "back\\slash *star*"])
def test_the_terminal_shows_an_echoed_query_as_typed(typed: str) -> None:
    pages = answers.not_found_answer(typed)
    title = embeds(pages)[0]["title"]
    assert unescape(title) in terminal_lines(pages)
    assert typed in to_text(pages)
    assert ZERO_WIDTH not in to_text(pages)
