"""Rendering: every page fits Discord's limits, nothing is lost, and answers carry their sources.

The limit checks here are written from Discord's documentation, independently of
`pages.limit_problems`; both must pass. Expectations about the bundled briefing are read from
its YAML and its source texts, never copied from the renderers' output.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from bot.render.pages import Answer, Section, paginate
from tests.discord_limits import assert_pings_nobody, assert_valid, embeds

# ------------------------------------------------------------------------------ helpers


def body_pieces(pages: list[dict[str, Any]]) -> list[str]:
    """Descriptions and field values, in reading order."""
    out = []
    for embed in embeds(pages):
        if embed.get("description"):
            out.append(embed["description"])
        out.extend(item["value"] for item in embed.get("fields", []))
    return out


def squash(text: str) -> str:
    return re.sub(r"\s+", "", text)


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
def test_every_page_fits_discords_limits_and_pings_nobody(case: str) -> None:
    pages = paginate(CASES[case])
    assert_valid(pages)
    assert_pings_nobody(pages)


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
