"""Many stories at once: choosing a story, defaults, search across stories, what changed.

The bundled story plus the small test stories of tests/stories/ (each with its own source
text, so every evidence quote is checked when they are built).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

from bot.briefing.store import Store
from bot.changes import record_changes
from bot.render.buttons import TYPED, Ask, decode, stamp
from bot.requests import answer_ask, command_ask, remembered, typed_ask
from bot.router import Intent
from bot.settings_store import MIGRATIONS, SQLiteSettings
from tests.briefing_data import REPO
from tests.discord_limits import assert_pings_nobody, assert_valid, texts

STORIES = REPO / "tests" / "stories"
BUNDLED = "prisoner-exchange-2025"
FLOOD, BRIDGE = "flood-evacuation-2026", "bridge-closure-2026"
TITLES = {BUNDLED: "El Salvador and US Finalize Historic Prisoner Exchange with Venezuela",
          FLOOD: "Millbrook Evacuates Lower Town as Alder River Floods",
          BRIDGE: "Eastport Shuts Harbor Bridge After Inspectors Find Cracks"}


def add_stories(data: Path, *ids: str) -> None:
    """Copy test stories (and every test source text) into a data folder."""
    for sid in ids:
        shutil.copy(STORIES / "briefings" / f"{sid}.yaml", data / "briefings")
    for source in (STORIES / "sources").iterdir():
        shutil.copy(source, data / "sources")


@pytest.fixture
def three(tmp_data: Path) -> Path:
    add_stories(tmp_data, FLOOD, BRIDGE)
    return tmp_data


@pytest_asyncio.fixture
async def many(three: Path, db_path: Path) -> AsyncIterator[Store]:
    store = Store(three, db_path)
    await store.open()
    yield store
    await store.close()


def story_of(pages: list[dict]) -> str:
    """The story a message names on its author line."""
    names = {e["author"]["name"] for p in pages for e in p.get("embeds", []) if e.get("author")}
    assert len(names) == 1, names
    return names.pop().removeprefix("📰 ")


async def test_every_test_story_builds_with_its_evidence_checked(many: Store) -> None:
    assert {s.id for s in many.current.stories} == {BUNDLED, FLOOD, BRIDGE}


@pytest.mark.parametrize(("question", "story"), [
    ("who is Priya Nand?", BRIDGE),  # named only in the bridge story
    ("what did Okafor say?", FLOOD),
    ("who is Bukele", BUNDLED),
])
async def test_an_entity_only_in_one_story_is_answered_from_it(
        many: Store, question: str, story: str) -> None:
    # Even where the channel's default is another story.
    other = FLOOD if story != FLOOD else BUNDLED
    pages = await answer_ask(many, typed_ask(question), defaults=[("channel", other)])
    assert story_of(pages) == TITLES[story]
    assert_valid(pages)
    assert_pings_nobody(pages)


async def test_the_fallback_order(many: Store) -> None:
    question = typed_ask("what happened?")
    # channel before server before user; with none, the most recently updated (the flood).
    assert story_of(await answer_ask(many, question, defaults=[
        ("channel", BRIDGE), ("server", BUNDLED)])) == TITLES[BRIDGE]
    assert story_of(await answer_ask(many, question, defaults=[
        ("server", BUNDLED), ("user", BRIDGE)])) == TITLES[BUNDLED]
    assert story_of(await answer_ask(many, question)) == TITLES[FLOOD]
    # An explicit story wins over every default.
    assert story_of(await answer_ask(many, typed_ask("what happened?", BRIDGE), defaults=[
        ("channel", BUNDLED)])) == TITLES[BRIDGE]


async def test_a_command_asked_again_elsewhere_answers_from_that_places_story(
        many: Store) -> None:
    # A repeated command is handed its earlier answer: only where the same stories are
    # chosen, never another channel's.
    timeline = command_ask(Intent.timeline)
    for _ in range(2):
        for story in (BRIDGE, BUNDLED, FLOOD):
            pages = await answer_ask(many, timeline, defaults=[("channel", story)])
            assert story_of(pages) == TITLES[story]
    here = [("channel", BRIDGE)]
    assert await answer_ask(many, timeline, defaults=here) is \
        await answer_ask(many, timeline, defaults=list(here))  # no copy made per answer
    assert story_of(await answer_ask(many, command_ask(Intent.timeline, story=BUNDLED),
                                     defaults=here)) == TITLES[BUNDLED]


async def test_a_command_given_before_is_found_at_once_only_where_and_when_given(
        many: Store) -> None:
    # What the send path answers with no lease and no await: only the same command, where
    # the same stories are chosen, on the data it was given from.
    timeline, here = command_ask(Intent.timeline), [("channel", BRIDGE)]
    assert remembered(many, timeline, here) is None
    pages = await answer_ask(many, timeline, defaults=here)
    assert remembered(many, timeline, here) is pages
    assert remembered(many, timeline, [("channel", BUNDLED)]) is None
    assert remembered(many, command_ask(Intent.timeline, story=BUNDLED), here) is None
    await answer_ask(many, typed_ask("what happened?"), defaults=here)
    assert remembered(many, typed_ask("what happened?"), here) is None  # questions: never
    await many.reload(force=True)
    assert remembered(many, timeline, here) is None  # new data: answered afresh


async def test_a_removed_default_falls_back_and_says_so(many: Store) -> None:
    pages = await answer_ask(many, command_ask(Intent.who), defaults=[("channel", "gone-story")])
    assert story_of(pages) == TITLES[FLOOD]
    assert "gone-story" in pages[0]["content"] and "no longer" in pages[0]["content"]


async def test_a_story_sees_only_its_own_records(many: Store) -> None:
    flood = texts(await answer_ask(many, command_ask(Intent.who, story=FLOOD)))
    assert "Dana Okafor" in flood and "Bukele" not in flood and "Priya Nand" not in flood
    bridge = texts(await answer_ask(many, command_ask(Intent.timeline, story=BRIDGE)))
    assert "Harbor Bridge" in bridge and "Millbrook" not in bridge
    evacuated = await answer_ask(many, typed_ask("how many people were evacuated?"))
    assert story_of(evacuated) == TITLES[FLOOD] and "1,200" in texts(evacuated)


async def test_search_without_a_story_searches_them_all_naming_each(many: Store) -> None:
    pages = await answer_ask(many, command_ask(Intent.search, "town"),
                             defaults=[("channel", BUNDLED)])
    shown = texts(pages)
    assert "All stories" in story_of(pages)
    assert TITLES[FLOOD] in shown  # the hits of the flood story name it
    within = await answer_ask(many, command_ask(Intent.search, "Millbrook", story=BRIDGE))
    assert story_of(within) == TITLES[BRIDGE] and "Nothing found" in texts(within)


async def test_buttons_re_ask_within_the_same_story(many: Store) -> None:
    ask = command_ask(Intent.who, "Dana Okafor")
    pages = await answer_ask(many, ask)
    first = stamp(pages, 0, ask=ask, owner=2**63, version=pages.version)
    ids = [b["custom_id"] for row in first["components"] for b in row["components"]]
    assert ids and all(len(i) <= 100 for i in ids)
    press = decode(ids[0])
    assert press is not None and press.ask is not None
    again = await answer_ask(many, press.ask)
    assert story_of(again) == TITLES[FLOOD]


async def test_with_one_story_buttons_carry_no_story(store: Store) -> None:
    ask = Ask(TYPED, "who is Bukele")
    pages = await answer_ask(store, ask)
    assert story_of(pages) == TITLES[BUNDLED]
    first = stamp(pages, 0, ask=ask, owner=1, version=pages.version)
    for row in first["components"]:
        for b in row["components"]:
            assert f":{TYPED}:" in b["custom_id"] or ":typed" not in b["custom_id"]


def test_ask_story_on_the_command_line(three: Path, tmp_path: Path) -> None:
    env = {**os.environ, "DATA_DIR": str(three), "DB_PATH": str(tmp_path / "cli.sqlite3"),
           "DISCORD_TOKEN": ""}

    def ask(*args: str) -> list[dict]:
        done = subprocess.run([sys.executable, "-m", "bot", "ask", "--json", *args],
                              capture_output=True, text=True, env=env, cwd=REPO, timeout=120)
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout)

    assert story_of(ask("--story", BRIDGE, "who")) == TITLES[BRIDGE]
    assert story_of(ask("who")) == TITLES[FLOOD]  # no channel on the command line: the latest
    assert story_of(ask("who is Bukele")) == TITLES[BUNDLED]


# ------------------------------------------------------------------- the settings database


async def test_settings_are_migrated_and_survive_reopening(tmp_path: Path) -> None:
    path = tmp_path / "var" / "settings.sqlite3"
    settings = await SQLiteSettings.open(path)
    await settings.set_default("server", 7, BRIDGE, 1)
    await settings.set_default("channel", 8, FLOOD, 1)
    await settings.close()
    again = await SQLiteSettings.open(path)  # migrations are not applied twice
    try:
        row = await (await again.conn.execute("PRAGMA user_version")).fetchone()
        assert row is not None
        (version,) = row
        assert version == len(MIGRATIONS)
        assert await again.defaults_for(channel=8, guild=7, user=None) == [
            ("channel", FLOOD), ("server", BRIDGE)]
    finally:
        await again.close()


# ------------------------------------------------------------------------- what changed


def change_the_flood(data: Path) -> None:
    """A new version of the flood story: a second source, a new fact, a claim confirmed, a
    discrepancy noted."""
    path = data / "briefings" / f"{FLOOD}.yaml"
    text = path.read_text(encoding="utf-8")
    text = text.replace('version: "1.0"', 'version: "1.1"').replace(
        "    status: attributed\n", "    status: confirmed\n")
    text = text.replace("    text: flood.txt\n", """    text: flood.txt
  - id: report
    title: Millbrook Council flood report
    publisher: Millbrook Council
    reliability: high
    text: flood-report.txt
""")
    text += """  - id: fact-shelter-closed
    statement: The shelter at Millbrook High School closed on 7 November 2026.
    types: [date]
    about: [millbrook-high-school]
    evidence:
      - source: report
        quote: The shelter at Millbrook High School closed on 7 November 2026
discrepancies:
  - id: disc-evacuated-count
    topic: How many residents were evacuated
    severity: imprecise
    applies_to: [fact-evacuated]
    source_says:
      text: The article says about 1,200 residents were evacuated.
      evidence:
        - source: flood
          quote: About 1,200 residents were evacuated
    record_says:
      text: The council report counts 1,350.
      evidence:
        - source: report
          quote: The council report counts 1,350 residents evacuated from the lower town
"""
    path.write_text(text, encoding="utf-8")


async def test_a_reload_records_what_changed_fact_by_fact(many: Store, three: Path,
                                                         tmp_path: Path) -> None:
    settings = await SQLiteSettings.open(tmp_path / "settings.sqlite3")
    try:
        async with many.snapshot() as snap:
            assert await record_changes(snap, settings) == []  # first sight: a baseline
        await many.reload()
        async with many.snapshot() as snap:
            assert await record_changes(snap, settings) == []  # nothing changed
        change_the_flood(three)
        await many.reload()
        async with many.snapshot() as snap:
            recorded = await record_changes(snap, settings)
        assert [(s.id, s.version) for s, _, _ in recorded] == [(FLOOD, "1.1")]
        (change,) = await settings.changes(FLOOD)
        assert change.old_version == "1.0" and change.new_version == "1.1"
        added = [i["text"] for i in change.body["added"]]
        assert any("shelter at Millbrook High School closed" in t for t in added)
        assert [(c["before"], c["after"]) for c in change.body["claims"]] == [
            ("attributed", "confirmed")]
        assert [n["topic"] for n in change.body["notes_added"]] == [
            "How many residents were evacuated"]
        message = recorded[0][2]
        assert_valid(message)
        assert_pings_nobody(message)
        shown = texts(message)
        assert "7 November 2026" in shown and "confirmed" in shown
        assert "Millbrook Council" in shown  # the new fact is cited
    finally:
        await settings.close()
