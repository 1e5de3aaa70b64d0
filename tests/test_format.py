"""The briefing format's optional fields, end to end from a file to what a member reads.

A claim with no claimant, a quantity in words, a note on one citation, a release with no
receiver, and a source's other copies and differing reliabilities: each is loaded, built,
read back and shown. The story is a small one of the test's own, with its own source text,
so that every quote is checked as in a real briefing; what the bundled story shows is pinned
in test_answers.py.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import yaml

from bot.briefing.loader import BriefingError, load_briefing
from bot.briefing.store import Store
from bot.render import answers
from bot.render.pictures import deal_description
from bot.router import answer_text
from tests.discord_limits import (
    assert_pings_nobody,
    assert_valid,
    embeds,
    fields,
    plain,
    texts,
)
from tests.reachable import reach

SOURCE = (
    "Rivertown evacuated a considerable number of residents on Monday as the river rose. "
    "It was reported that the dam operator had warned the town a week earlier. "
    "The county freed the detained protesters the same evening. "
    "Mayor Ana Ruiz said the shelters would stay open."
)
REPORT = "The wire copy says the town warned residents only on Sunday."
WORDS = "a considerable number"

STORY = f"""
id: rivertown-flood
title: Rivertown evacuates as the river rises
summary: Rivertown evacuated residents as the river rose.
version: "1.0"
updated: 2026-03-02
primary_source: report
sources:
  - id: report
    title: Rivertown evacuates as the river rises
    publisher: Test desk
    reliability: primary
    text: flood.txt
  - id: wire
    title: Wire copy of the flood report
    publisher: Test wire
    url: example.org/wire
    copies:
      - url: archive.example.org/wire
        note: archive copy
    reliability: high
    reliability_for:
      - what: its dates
        reliability: low
    text: wire.txt
entities:
  - id: rivertown
    kind: city
    name: Rivertown
    description: The town that was evacuated.
    evidence:
      - source: report
        quote: Rivertown evacuated
  - id: residents
    kind: group
    name: Rivertown residents
    description: The people evacuated.
    evidence:
      - source: report
        quote: residents on Monday
  - id: county
    kind: government
    name: The county
    description: The county government.
    evidence:
      - source: report
        quote: The county freed the detained protesters
  - id: protesters
    kind: group
    name: Detained protesters
    description: Protesters the county had detained.
    evidence:
      - source: report
        quote: the detained protesters
  - id: ruiz
    kind: person
    name: Ana Ruiz
    description: Mayor of Rivertown.
    evidence:
      - source: report
        quote: Mayor Ana Ruiz said the shelters would stay open.
deal:
  id: flood-response
  kind: emergency response
  title: Rivertown's flood response
  parties: [rivertown, county]
  status: completed
  evidence:
    - source: report
      quote: Rivertown evacuated a considerable number of residents
  transfers:
    - id: evacuation
      giver: rivertown
      what: Residents evacuated from Rivertown
      subject: residents
      quantity:
        words: {WORDS}
      evidence:
        - source: report
          quote: evacuated a considerable number of residents
          note: the report's wording; it gives no figure
    - id: protesters-freed
      giver: county
      what: Detained protesters
      subject: protesters
      evidence:
        - source: report
          quote: The county freed the detained protesters the same evening.
claims:
  - id: warning
    text: The dam operator had warned the town a week earlier.
    status: reported
    about: [rivertown]
    evidence:
      - source: report
        quote: It was reported that the dam operator had warned the town a week earlier.
    contradicting:
      - source: wire
        quote: the town warned residents only on Sunday
  - id: shelters
    text: The shelters would stay open.
    claimant: ruiz
    status: attributed
    evidence:
      - source: report
        quote: Mayor Ana Ruiz said the shelters would stay open.
"""


def write_story(root: Path, text: str = STORY) -> Path:
    (root / "briefings").mkdir(parents=True, exist_ok=True)
    (root / "sources").mkdir(exist_ok=True)
    (root / "sources" / "flood.txt").write_text(SOURCE, encoding="utf-8")
    (root / "sources" / "wire.txt").write_text(REPORT, encoding="utf-8")
    path = root / "briefings" / "rivertown.yaml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
async def flood(tmp_path: Path) -> AsyncIterator[Store]:
    """A store holding only the test's flood story."""
    write_story(tmp_path / "data")
    opened = Store(tmp_path / "data", tmp_path / "db" / "flood.sqlite3")
    await opened.open()
    try:
        yield opened
    finally:
        await opened.close()


def problems(tmp_path: Path, text: str) -> list[str]:
    path = write_story(tmp_path / "data", text)
    with pytest.raises(BriefingError) as caught:
        load_briefing(path, tmp_path / "data" / "sources")
    return [f"{p.path}: {p.message}" for p in caught.value.problems]


# ------------------------------------------------------------------------------ the loader


def test_the_story_loads_with_every_optional_field(tmp_path: Path) -> None:
    path = write_story(tmp_path / "data")
    b = load_briefing(path, tmp_path / "data" / "sources").briefing
    assert b.claims[0].claimant is None
    assert b.deal is not None and b.deal.transfers[0].receiver is None
    q = b.deal.transfers[0].quantity
    assert q is not None and q.value is None and q.words == WORDS
    assert b.sources[1].copies[0].url == "archive.example.org/wire"


@pytest.mark.parametrize(("old", "new", "expected"), [
    (f"        words: {WORDS}\n", "        unit: people\n", "needs a 'value', its 'words'"),
    (f"        words: {WORDS}\n", f"        words: {WORDS}\n        low: 3\n",
     "qualify a 'value'"),
])
def test_a_quantity_needs_a_figure_or_words_and_bounds_need_a_figure(
        tmp_path: Path, old: str, new: str, expected: str) -> None:
    assert STORY.count(old) == 1
    found = problems(tmp_path, STORY.replace(old, new))
    assert len(found) == 1 and expected in found[0], found


def test_an_attributed_claim_needs_its_claimant(tmp_path: Path) -> None:
    text = STORY.replace("    claimant: ruiz\n", "")
    found = problems(tmp_path, text)
    assert len(found) == 1 and "attributed claim needs a 'claimant'" in found[0], found


def test_a_note_on_evidence_is_checked_like_the_rest_of_it(tmp_path: Path) -> None:
    text = STORY.replace("          note: the report's wording; it gives no figure\n",
                         f"          note: {'x' * 201}\n")
    (found,) = problems(tmp_path, text)
    assert found.startswith("deal.transfers[0].evidence[0].note:"), found


# ------------------------------------------------------------------------------ what is shown


def page_lines(pages: list[dict[str, object]]) -> list[str]:
    """Every line of the pages' descriptions and fields."""
    out: list[str] = []
    for embed in embeds(pages):
        out.extend(str(embed.get("description", "")).split("\n"))
        for item in embed.get("fields", []):
            out.extend(item["value"].split("\n"))
    return out


async def test_a_claim_without_claimant_is_shown_as_reported_and_attributed_to_nobody(
        flood: Store) -> None:
    async with flood.snapshot() as snap:
        claims = await snap.claims()
    unnamed = next(c for c in claims if c.id == "warning")
    assert unnamed.claimant is None
    pages = answers.claims_answer(claims)
    assert_valid(pages)
    assert_pings_nobody(pages)
    (line,) = [plain(ln) for item in fields(pages) for ln in item["value"].split("\n")
               if "dam operator" in ln]
    assert "Reported" in line and "no claimant named" in line
    # Nobody is named as making it, not even the person whose claim stands beside it.
    assert "Ana Ruiz" not in line and " by " not in line, line
    assert "against it" in line, "what contradicts it still stands on its line"


async def test_a_quantity_in_words_is_shown_as_the_words_never_as_a_number(
        flood: Store) -> None:
    async with flood.snapshot() as snap:
        (deal,) = await snap.deals()
    evacuation = next(t for t in deal.transfers if t.id == "evacuation")
    assert evacuation.quantity is not None and evacuation.quantity.value is None
    for pages in (answers.deals_answer([deal]),
                  answers.transfer_answer([evacuation], "how many were evacuated?")):
        assert_valid(pages)
        (line,) = [plain(ln) for ln in page_lines(pages) if "evacuated from" in ln]
        assert f"“{WORDS}”" in line, line
        assert not re.search(r"\d", line.split("[")[0]), f"a figure was made up: {line}"


async def test_a_how_many_question_is_answered_with_the_words(flood: Store) -> None:
    (page, *_) = await answer_text(flood, "how many residents were evacuated?")
    lead = plain(embeds([page])[0].get("description", ""))
    assert WORDS in lead, lead
    assert not re.search(r"\d", lead.split("[")[0]), lead


async def test_a_release_has_no_receiver_anywhere_it_is_shown(flood: Store) -> None:
    async with flood.snapshot() as snap:
        (deal,) = await snap.deals()
    freed = next(t for t in deal.transfers if t.id == "protesters-freed")
    assert freed.receiver is None
    pages = answers.deals_answer([deal])
    assert_valid(pages)
    assert any("The county released: Detained protesters" in plain(ln)
               for ln in page_lines(pages))
    assert "The county released: Detained protesters." in deal_description(deal)


async def test_a_note_on_a_citation_is_shown_with_it_under_sources(flood: Store) -> None:
    async with flood.snapshot() as snap:
        (deal,) = await snap.deals()
    reached = await reach(flood, answers.deals_answer([deal]))
    notes = [item["value"] for page in reached.sources
             for item in page["embeds"][0].get("fields", [])
             if "evacuated a considerable number" in item["value"]]
    assert len(notes) == 1 and "Note: the report's wording; it gives no figure" in notes[0]
    # The other citations carry no note.
    assert sum("Note:" in texts([page]) for page in reached.sources) == 1


async def test_a_sources_copies_and_differing_reliabilities_are_listed(flood: Store) -> None:
    async with flood.snapshot() as snap:
        sources = await snap.sources()
    pages = answers.sources_answer(sources)
    assert_valid(pages)
    shown = plain(texts(pages))
    assert "Also read at: archive.example.org/wire (archive copy)" in shown
    assert "Reliability for its dates: low" in shown


def test_the_json_schema_describes_the_new_fields() -> None:
    from bot.briefing.schema import json_schema

    defs = yaml.safe_load(yaml.safe_dump(json_schema()))["$defs"]
    assert {"words", "value"} <= defs["Quantity"]["properties"].keys()
    assert "note" in defs["Evidence"]["properties"]
    assert {"copies", "reliability_for"} <= defs["Source"]["properties"].keys()
    assert "claimant" not in defs["Claim"]["required"]
    assert "receiver" not in defs["Transfer"]["required"]
