"""Rendering: every page fits Discord's limits, nothing is lost, and answers carry their sources.

The limit checks here are written from Discord's documentation, independently of
`pages.limit_problems`; both must pass. Expectations about the bundled briefing are read from
its YAML and its source texts, never copied from the renderers' output.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.briefing.store import Store
from bot.render import answers
from bot.render.pages import Answer, Section, limit_problems, paginate, split_text
from bot.render.terminal import to_text

REPO = Path(__file__).resolve().parents[1]
BRIEFING = REPO / "data" / "briefings" / "prisoner-exchange-2025.yaml"
ARTICLE = REPO / "data" / "sources" / "article.txt"
RECORD = REPO / "data" / "sources" / "record.md"


# ------------------------------------------------------------------------------ helpers


def discord_problems(payload: dict[str, Any]) -> list[str]:
    """Discord's message limits, checked from its documentation (not from bot.render.pages)."""
    problems = []
    content = payload.get("content")
    embeds = payload.get("embeds") or []
    if content is not None and len(content) > 2000:
        problems.append(f"content has {len(content)} characters")
    if not (content and content.strip()) and not embeds:
        problems.append("message has neither content nor embeds")
    if len(embeds) > 10:
        problems.append(f"{len(embeds)} embeds")
    for n, embed in enumerate(embeds):
        title = embed.get("title") or ""
        description = embed.get("description") or ""
        footer = (embed.get("footer") or {}).get("text") or ""
        author = (embed.get("author") or {}).get("name") or ""
        fields = embed.get("fields") or []
        if len(title) > 256:
            problems.append(f"embed {n}: title has {len(title)} characters")
        if len(description) > 4096:
            problems.append(f"embed {n}: description has {len(description)} characters")
        if len(footer) > 2048:
            problems.append(f"embed {n}: footer has {len(footer)} characters")
        if len(author) > 256:
            problems.append(f"embed {n}: author has {len(author)} characters")
        if len(fields) > 25:
            problems.append(f"embed {n}: {len(fields)} fields")
        total = len(title) + len(description) + len(footer) + len(author)
        for item in fields:
            name, value = item.get("name") or "", item.get("value") or ""
            total += len(name) + len(value)
            if not name.strip():
                problems.append(f"embed {n}: a field has an empty name")
            if not value.strip():
                problems.append(f"embed {n}: field {name[:40]!r} has an empty value")
            if len(name) > 256:
                problems.append(f"embed {n}: field name has {len(name)} characters")
            if len(value) > 1024:
                problems.append(f"embed {n}: field value has {len(value)} characters")
        if total > 6000:
            problems.append(f"embed {n}: {total} characters in all")
        if not (title.strip() or description.strip() or fields):
            problems.append(f"embed {n} shows nothing")
    mentions = payload.get("allowed_mentions")
    if mentions is None:
        problems.append("no allowed_mentions: Discord would parse every mention")
    else:
        if mentions.get("parse") != []:
            problems.append(f"allowed_mentions.parse is {mentions.get('parse')!r}")
        if mentions.get("users") or mentions.get("roles"):
            problems.append("allowed_mentions lets some users or roles be pinged")
        if mentions.get("replied_user"):
            problems.append("allowed_mentions pings the replied-to user")
    return problems


def assert_valid(pages: list[dict[str, Any]]) -> None:
    assert pages, "an answer is at least one message"
    for number, page in enumerate(pages, start=1):
        assert discord_problems(page) == [], f"page {number}"
        assert limit_problems(page) == [], f"page {number}"


def embeds(pages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [embed for page in pages for embed in page["embeds"]]


def body_pieces(pages: list[dict[str, Any]]) -> list[str]:
    """Descriptions and field values, in reading order."""
    out = []
    for embed in embeds(pages):
        if embed.get("description"):
            out.append(embed["description"])
        out.extend(item["value"] for item in embed.get("fields", []))
    return out


def all_text(pages: list[dict[str, Any]]) -> str:
    out = []
    for page in pages:
        if page.get("content"):
            out.append(page["content"])
        for embed in page["embeds"]:
            out.append(embed.get("title", ""))
            out.append(embed.get("description", ""))
            for item in embed.get("fields", []):
                out += [item["name"], item["value"]]
            out.append(embed.get("footer", {}).get("text", ""))
    return "\n".join(out)


def squash(text: str) -> str:
    return re.sub(r"\s+", "", text)


def collapse(text: str) -> str:
    return " ".join(text.split())


def cited(pages: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """(sentence, origin) for every citation shown: a quoted line and the attribution under it."""
    lines = "\n".join(body_pieces(pages)).split("\n")
    out = []
    for i, line in enumerate(lines):
        m = re.fullmatch(r"> “(.+)”", line.strip())
        if m:
            origin = ""
            if i + 1 < len(lines):
                o = re.fullmatch(r"> — \*(.+)\*", lines[i + 1].strip())
                origin = o.group(1) if o else ""
            out.append((m.group(1), origin))
    return out


@functools.cache
def briefing() -> dict[str, Any]:
    return yaml.safe_load(BRIEFING.read_text(encoding="utf-8"))


@functools.cache
def source_text(source_id: str) -> str:
    path = {"article": ARTICLE, "record": RECORD}[source_id]
    return collapse(path.read_text(encoding="utf-8"))


def source(source_id: str) -> dict[str, Any]:
    return next(s for s in briefing()["sources"] if s["id"] == source_id)


def entity(entity_id: str) -> dict[str, Any]:
    return next(e for e in briefing()["entities"] if e["id"] == entity_id)


def words(n: int, prefix: str = "w") -> list[str]:
    return [f"{prefix}{i:05d}" for i in range(n)]


# ------------------------------------------------------------------------------ synthetic answers


LONG_TITLE = "T" * 150 + " " + "t" * 149  # 300 characters
LONG_INTRO = " ".join(words(1667, "i"))  # 10,001 characters
NO_SPACES = "x" * 5000
LONG_NAME = "Name " + "n" * 995  # 1,000 characters


def _cases() -> dict[str, Answer]:
    many_sections = [Section(f"Section {i}", [f"s{i:03d}a s{i:03d}b", f"s{i:03d}c"])
                     for i in range(200)]
    thirty_fields = Section("Thirty fields",
                            [" ".join(words(166, f"f{i:02d}x")) for i in range(30)])
    everything = Answer(
        title=LONG_TITLE, colour=1, intro=LONG_INTRO + "\n" + NO_SPACES,
        sections=[Section(LONG_NAME, ["lead " + NO_SPACES + " tail"]), Section("empty"),
                  Section("blank", ["", "   "]), thirty_fields, *many_sections],
        footer="an answer's own footer")
    return {
        "300-char title": Answer(title=LONG_TITLE, colour=1, intro="short"),
        "10,000-char intro": Answer(title="Intro", colour=1, intro=LONG_INTRO),
        "5,000-char line without spaces": Answer(
            title="Unbroken", colour=1, sections=[Section("Line", [NO_SPACES])]),
        "5,000-char intro without spaces": Answer(title="Unbroken", colour=1, intro=NO_SPACES),
        "200 sections": Answer(title="Many", colour=1, sections=many_sections),
        "30 fields' worth in one section": Answer(title="Fields", colour=1,
                                                  sections=[thirty_fields]),
        "1,000-char section name": Answer(title="Name", colour=1,
                                          sections=[Section(LONG_NAME, ["a line"])]),
        "empty sections": Answer(title="Empty", colour=1,
                                 sections=[Section("none"), Section("blank lines", ["", " "]),
                                           Section("", ["an unnamed section's line"])]),
        "everything at once": everything,
    }


CASES = _cases()


def input_text(answer: Answer) -> str:
    return "\n".join([answer.intro, *(line for s in answer.sections for line in s.lines)])


@pytest.mark.parametrize("case", CASES)
def test_every_page_fits_discords_limits(case: str) -> None:
    assert_valid(paginate(CASES[case]))


@pytest.mark.parametrize("case", CASES)
def test_no_text_is_lost_or_reordered(case: str) -> None:
    answer = CASES[case]
    pages = paginate(answer)
    # White space may move (a line is split at a word), but every character of the intro and
    # of every line is shown, in order.
    assert squash("".join(body_pieces(pages))) == squash(input_text(answer))
    shown = set(re.findall(r"\S+", "\n".join(body_pieces(pages))))
    assert set(re.findall(r"\S+", input_text(answer))) - {NO_SPACES} <= shown


@pytest.mark.parametrize("case", CASES)
def test_every_page_repeats_the_title_within_256(case: str) -> None:
    answer = CASES[case]
    titles = {embed["title"] for embed in embeds(paginate(answer))}
    assert len(titles) == 1, "every page of one answer has the same title"
    (title,) = titles
    assert 0 < len(title) <= 256
    assert answer.title.startswith(title.rstrip("…")), "a long title is shortened, not changed"


def test_a_long_section_name_is_shortened_but_recognisable() -> None:
    pages = paginate(CASES["1,000-char section name"])
    (item,) = embeds(pages)[0]["fields"]
    assert len(item["name"]) <= 256
    assert LONG_NAME.startswith(item["name"].rstrip("…"))


def test_a_section_that_continues_says_so_in_its_name() -> None:
    pages = paginate(CASES["30 fields' worth in one section"])
    names = [item["name"] for embed in embeds(pages) for item in embed.get("fields", [])]
    assert len(names) > 25, "the section needs more fields than one embed may hold"
    assert names[0] == "Thirty fields"
    assert all(name.startswith("Thirty fields") and name != names[0] for name in names[1:])


@pytest.mark.parametrize("case", [c for c in CASES if len(paginate(CASES[c])) > 1])
def test_pages_are_numbered_in_their_footers(case: str) -> None:
    answer = CASES[case]
    pages = paginate(answer)
    footers = [embed.get("footer", {}).get("text", "") for embed in embeds(pages)]
    total = len(pages)
    for number, footer in enumerate(footers, start=1):
        assert footer.startswith(f"Page {number}/{total}"), footer
        if answer.footer:
            assert answer.footer in footer, "the answer's own footer stays beside the number"


def test_a_single_page_is_not_numbered_and_keeps_its_footer() -> None:
    (page,) = paginate(Answer(title="One", colour=1, intro="short", footer="/timeline"))
    assert page["embeds"][0]["footer"]["text"] == "/timeline"


def test_an_empty_answer_is_still_one_valid_message() -> None:
    pages = paginate(Answer(title="", colour=1))
    assert len(pages) == 1
    assert_valid(pages)


@pytest.mark.parametrize("case", CASES)
def test_no_page_can_ping_anyone(case: str) -> None:
    for page in paginate(CASES[case]):
        mentions = page["allowed_mentions"]
        assert mentions["parse"] == []
        assert not mentions.get("users") and not mentions.get("roles")
        assert not mentions.get("replied_user")


