"""Answer-first cards: each command's first page within the budget, and nothing checkable lost.

For every command, the set of citations and notes in the store's records behind today's answer
(the view objects the renderer receives) is compared with what a member can reach: the card
and the pages its Sources and Notes buttons open. The buttons' custom ids are checked too.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

import pytest

from bot.answering.engine import ABSTAIN, check
from bot.briefing.records import Citation, Note
from bot.briefing.store import Snapshot, Store
from bot.render.buttons import CARD, TYPED, Ask, decode, encode, recover, stamp
from bot.render.cards import CARD_BUDGET, MAX_FIELDS
from bot.render.pages import Answer, Pages, Section, embed_size, paginate
from bot.render.terminal import to_text
from bot.requests import respond_to
from bot.router import CHECK_INPUT, check_text, clean
from tests.briefing_data import collapse
from tests.discord_limits import assert_valid, plain, texts
from tests.reachable import Reached, markers, reach

Views = Callable[[Snapshot], Awaitable[Any]]


def records(*objects: Any) -> tuple[set[tuple[str, str]], set[str]]:
    """Every citation (source, sentence) and note id inside the store's records."""
    cites: set[tuple[str, str]] = set()
    notes: set[str] = set()

    def walk(value: Any) -> None:
        if isinstance(value, Citation):
            cites.add((value.source_title, collapse(value.sentence)))
        elif isinstance(value, Note):
            notes.add(value.id)
            walk(value.source_citations)
            walk(value.record_citations)
        elif dataclasses.is_dataclass(value) and not isinstance(value, type):
            for f in dataclasses.fields(value):
                walk(getattr(value, f.name))
        elif isinstance(value, list | tuple):
            for item in value:
                walk(item)

    for obj in objects:
        walk(obj)
    return cites, notes


async def _entity(snap: Snapshot, name: str) -> Any:
    found = await snap.lookup(name)
    assert found.entity is not None
    return found.entity


async def _speaker(snap: Snapshot, name: str) -> Any:
    entity = await _entity(snap, name)
    return (await snap.quotes(entity.ref),
            [c for c in entity.claims if c.claimant == entity.ref])


# (what the member asks, the records behind today's answer)
COMMANDS: dict[str, tuple[Ask, Views]] = {
    "who Bukele": (Ask("who", "Bukele"), lambda s: _entity(s, "Bukele")),
    "who Rubio": (Ask("who", "Rubio"), lambda s: _entity(s, "Rubio")),
    "who Trump": (Ask("who", "Trump"), lambda s: _entity(s, "Trump")),
    "who": (Ask("who"), lambda s: s.entities()),
    "timeline": (Ask("timeline"), lambda s: s.timeline()),
    "timeline Rubio": (Ask("timeline", "Rubio"), lambda s: _timeline_of(s, "Rubio")),
    "deal": (Ask("deal"), lambda s: s.deals()),
    "quote": (Ask("quote"), lambda s: s.quotes()),
    "quote Bukele": (Ask("quote", "Bukele"), lambda s: _speaker(s, "Bukele")),
    "claims": (Ask("claims"), lambda s: s.claims()),
    "search": (Ask("search", "Alien Enemies"), lambda s: s.search("Alien Enemies")),
    "sources": (Ask("sources"), lambda s: s.sources()),
    "about": (Ask("about"), lambda s: s.briefings()),
}


async def _timeline_of(snap: Snapshot, name: str) -> Any:
    entity = await _entity(snap, name)
    return await snap.timeline(entity.ref)


async def answer(store: Store, ask: Ask) -> tuple[Pages, Any]:
    async with store.snapshot() as snap:
        return (await respond_to(snap, ask))[0], await COMMANDS_BY_ASK[ask](snap)


COMMANDS_BY_ASK = {ask: views for ask, views in COMMANDS.values()}


@pytest.mark.parametrize("command", COMMANDS)
async def test_the_first_page_is_a_short_card(store: Store, command: str) -> None:
    pages, _ = await answer(store, COMMANDS[command][0])
    first = stamp(pages, 0, ask=COMMANDS[command][0], owner=2**63, version=pages.version)
    assert_valid([first])
    embed = first["embeds"][0]
    story = len((embed.get("author") or {}).get("name", ""))  # the line naming the story
    assert embed_size(embed) - story + len(first.get("content") or "") <= CARD_BUDGET, \
        embed_size(embed)
    assert len(embed.get("fields", [])) <= MAX_FIELDS
    assert embed.get("description"), "a direct answer leads the card"
    assert "> “" not in texts([first]), "no source sentence is quoted on the card"


async def assert_reachable(store: Store, pages: Pages, cites: Iterable[tuple[str, str]],
                           note_ids: set[str]) -> Reached:
    """Every (source title, sentence) of `cites` is a footnote on the Sources pages, each
    sentence once; every note of `note_ids` is on the Notes pages. Returns what was reached."""
    reached = await reach(store, pages)
    shown: set[tuple[str, str]] = set()
    for page in reached.sources:
        for item in page["embeds"][0].get("fields", []):
            title = item["name"].split("] ", 1)[1]
            sentence, _ = reached.footnote(int(item["name"][1:].split("]")[0]))
            shown.add((plain(title), collapse(sentence)))
    assert {(plain(t), s) for t, s in cites} <= shown
    assert len(shown) == len(pages.citations), "each sentence once"
    assert {n.id for n in pages.notes} >= note_ids, "every note is in Notes"
    noted = plain(texts(reached.notes))
    for note in pages.notes:
        assert note.topic in noted and collapse(note.record_says) in noted
    return reached


@pytest.mark.parametrize("command", COMMANDS)
async def test_every_citation_and_note_of_todays_answer_is_reachable(store: Store,
                                                                     command: str) -> None:
    pages, views = await answer(store, COMMANDS[command][0])
    today_cites, today_notes = records(views)
    reached = await assert_reachable(store, pages, today_cites, today_notes)
    noted = plain(texts(reached.notes))
    for note in pages.notes:  # both sides of each note, the source's too
        assert collapse(note.source_says) in noted


# ------------------------------------------------------------------ questions and checks

# Plain questions (answered, abstained, listed) and posted messages checked against the
# briefing: what each is about, and the text.
QUESTIONS = {
    "how many": "how many prisoners were sent to Venezuela?",
    "which law": "which law was used?",
    "when": "when was the exchange?",
    "who brokered": "who brokered it",
    "a figure and its correction": "is the 250 figure right",
    "a disputed claim": "did bukelle say they were tren de aragua",
    "the article's mistakes": "what did the article get wrong",
    "what it leaves out": "what does the article leave out",
    "abstains": "how old is maduro",
    "abstains, closest": "which airline flew the plane?",
}
CHECKS = {
    "a count the record corrects": "El Salvador sent 250 Venezuelans back home",
    "a claim presented as fact": "they were all tren de aragua gang members",
    "a misspelt name": "Marc Rubio praised Bukele",
}


def engine_records(facts: list[Any], sources: list[Any]) -> tuple[set[tuple[str, str]],
                                                                   set[str]]:
    """Every citation (source title, sentence) and note id of the engine's facts: their
    citations, their notes (and the record's citation of each), a discrepancy itself."""
    titles = {src.id: src.title for src in sources}
    cites: set[tuple[str, str]] = set()
    notes: set[str] = set()
    for f in facts:
        for c in f.citations:
            cites.add((titles[c.source_id], collapse(c.sentence)))
        for n in f.notes:
            notes.add(n.id)
            if n.record_cite is not None:
                cites.add((titles[n.record_cite.source_id], collapse(n.record_cite.sentence)))
        if f.kind == "discrepancy":
            notes.add(f.id)
    return cites, notes


async def question_card(store: Store, case: str) -> tuple[Pages, list[Any], Ask | None]:
    """The card of a question or a check, and the engine's facts behind it."""
    if case in QUESTIONS:
        ask = Ask(TYPED, QUESTIONS[case])
        async with store.snapshot() as snap:
            pages, outcome = await respond_to(snap, ask)
        assert outcome is not None, "a plain question, answered by the engine"
        return pages, [*outcome.facts, *outcome.also, *outcome.closest], ask
    async with store.snapshot() as snap:
        result = await check(await snap.fact_index(), clean(CHECKS[case], limit=CHECK_INPUT))
    checked = await check_text(store, CHECKS[case])
    assert isinstance(checked, Pages), "a check is a card, with what its buttons open"
    facts = [f for _, f in result.corrections] + [f for _, f in result.claims] + result.facts
    assert facts, "the check finds something"
    return checked, facts, None


CASES = [*QUESTIONS, *CHECKS]
LISTS = {"the article's mistakes", "what it leaves out"}  # answers that list several points


@pytest.mark.parametrize("case", CASES)
async def test_a_question_or_checks_first_page_is_a_short_card(store: Store, case: str) -> None:
    pages, _, ask = await question_card(store, case)
    first = stamp(pages, 0, ask=ask, owner=2**63, version=pages.version) if ask else pages[0]
    assert_valid([first])
    embed = first["embeds"][0]
    assert embed_size(embed) + len(first.get("content") or "") <= CARD_BUDGET, embed_size(embed)
    assert len(embed.get("fields", [])) <= MAX_FIELDS
    assert embed.get("description"), "a direct answer leads the card"
    assert "> “" not in texts(list(pages)), "no source sentence is quoted on the card"
    if case.startswith("abstains"):
        assert embed["description"].replace("**", "").startswith(ABSTAIN)
    elif case in LISTS:
        assert markers(texts([first])), "each point listed carries its markers"
    elif pages.citations:
        head = embed["description"].split("\n", 1)[0]
        assert markers(head), "the direct answer carries its markers"


@pytest.mark.parametrize("case", CASES)
async def test_every_citation_and_note_of_the_engines_answer_is_reachable(store: Store,
                                                                          case: str) -> None:
    pages, facts, _ = await question_card(store, case)
    async with store.snapshot() as snap:
        expected_cites, expected_notes = engine_records(facts, await snap.sources())
    reached = await assert_reachable(store, pages, expected_cites, expected_notes)
    # Every marker on the card points to a footnote the Sources pages show.
    numbers = {n for page in reached.card for n in markers(texts([page]))}
    assert numbers <= set(range(1, len(pages.citations) + 1))


async def test_a_discrepancy_is_a_one_line_flag_and_whole_in_notes(store: Store) -> None:
    """'who brokered it': the deal's note on political prisoners is flagged in one line."""
    pages, facts, _ = await question_card(store, "who brokered")
    (note,) = {n.id: n for f in facts for n in f.notes}.values()
    flags = [line for line in texts(list(pages)).split("\n") if line.startswith("📌")]
    assert len(flags) == 1 and len(flags[0]) <= 200, flags
    assert collapse(note.record_says) not in collapse(texts(list(pages))), "the note is in Notes"
    reached = await reach(store, pages)
    assert collapse(note.source_says) in plain(texts(reached.notes))


@pytest.mark.parametrize("command", ["who Bukele", "timeline", "search"])
async def test_the_buttons_hold_the_request_page_asker_and_version(store: Store,
                                                                   command: str) -> None:
    ask = COMMANDS[command][0]
    pages, _ = await answer(store, ask)
    owner = 1187000000000000123
    first = stamp(pages, 0, ask=ask, owner=owner, version=pages.version)
    ids = [b["custom_id"] for row in first["components"] for b in row["components"]
           if "custom_id" in b]
    assert ids and all(len(i) <= 100 for i in ids) and len(set(ids)) == len(ids)
    for custom_id in ids:
        press = decode(custom_id)
        assert press is not None and press.owner == owner and press.version == pages.version
    sources = next(decode(i) for i in ids if i.startswith("bb1:so:"))
    assert sources is not None and sources.ask == ask


@pytest.mark.parametrize("command", ["who Bukele", "timeline"])
async def test_each_asker_of_one_answer_gets_buttons_of_their_own(store: Store,
                                                                 command: str) -> None:
    # A stamped page is kept per answer: each later asker must still get their own id in
    # every button, ids of any length, and no asker's message may change another's.
    ask = COMMANDS[command][0]
    pages, _ = await answer(store, ask)
    owners = [1187000000000000123, 99, 1187000000000000456, 2**64 - 1, 0, 99]
    stamped = [stamp(pages, 0, ask=ask, owner=o, version=pages.version) for o in owners]
    before = repr(stamped)
    for owner, page in zip(owners, stamped, strict=True):
        presses = [decode(b["custom_id"]) for row in page["components"]
                   for b in row["components"] if "custom_id" in b]
        assert presses and all(p is not None and p.owner == owner for p in presses)
        assert "\ue000" not in repr(page)
    stamp(pages, 0, ask=ask, owner=5, version=pages.version)
    assert repr(stamped) == before
    assert stamped[1] == stamped[5] and stamped[1] is not stamped[5]


def test_a_long_argument_is_a_digest_recovered_from_the_footer() -> None:
    ask = Ask("search", "x" * 200)
    custom_id = encode(CARD, "n", 2**64 - 1, "abcdef12", 12, ask)
    press = decode(custom_id)
    assert len(custom_id) <= 100 and press is not None and press.arg is None
    assert recover(f"Page 1/2 · Asked: {ask.arg}", press) == ask.arg
    assert recover("Page 1/2 · Asked: something else", press) is None
    assert recover(None, press) is None
    # An argument that starts with '#' cannot be mistaken for a digest.
    hashed = decode(encode(CARD, "n", 1, "abc", 1, Ask("search", "#1")))
    assert hashed is not None and hashed.arg is None


def test_a_custom_id_that_is_not_ours_is_refused() -> None:
    for custom_id in ["", "page:1", "bb1:zz:1:ab:1:who:x", "bb1:cn:x:ab:1:who:x",
                      "bb1:cn:1:ZZ:1:who:x"]:
        assert decode(custom_id) is None, custom_id


async def test_the_terminal_shows_the_card_with_its_buttons(store: Store) -> None:
    ask = COMMANDS["timeline"][0]
    pages, _ = await answer(store, ask)
    shown = to_text([stamp(pages, 0, ask=ask, owner=0, version=pages.version)])
    assert f"[◀] [1/{len(pages)}] [▶] [Sources] [Notes]" in shown


def test_the_page_model_still_pages_a_plain_answer() -> None:
    """The page model other renderers use: an Answer without footnotes pages as before."""
    long = [Section("S", ["a" * 900] * 9)]
    pages = paginate(Answer(title="T", colour=1, intro="x", sections=long))
    assert isinstance(pages, Pages) and len(pages) >= 2 and pages.citations == ()
    assert_valid(pages)


def test_related_buttons_that_cannot_fit_leave_no_empty_action_row() -> None:
    # A name too long for a custom id (100 characters) gets no related button; an action row
    # with nothing in it would make Discord refuse the whole answer (a 400: no answer at all).
    from bot.render.pages import Related

    long_name = "Someone With A Very Long Name " * 4
    pages = paginate(Answer(title="Who", colour=0, intro="An answer.",
                            related=(Related("Timeline", "timeline", long_name),
                                     Related("Quotes", "quote", long_name))))
    pages.version = "a" * 16
    first = stamp(pages, 0, ask=Ask("who", long_name), owner=2**63, version=pages.version)
    assert all(row.get("components") for row in first.get("components") or [])
    assert_valid([first])
