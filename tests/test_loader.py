"""The loader is the gate for briefing data: every mistake an editor can make in a briefing
file must come back as a Problem that names the file, the line and the field, so the editor
can go straight to it. Each broken variant below is one small edit of the real briefing, so
the rest of the file stays valid and the edit is the only thing wrong.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from bot.briefing.loader import (
    MAX_FILE_BYTES,
    BriefingError,
    Problem,
    load_all,
    load_briefing,
)
from bot.briefing.text import SourceText, collapse, fold
from tests.briefing_data import ARTICLE, RECORD
from tests.briefing_data import BRIEFING as BRIEFING_FILE

ORIGINAL = BRIEFING_FILE.read_text(encoding="utf-8")
DOC = yaml.safe_load(ORIGINAL)


def at(kind: str, record_id: str) -> str:
    """'entities[3]': where the record with this id sits in the bundled briefing."""
    ids = [record["id"] for record in DOC[kind]]
    return f"{kind}[{ids.index(record_id)}]"


def transfer(record_id: str) -> str:
    ids = [t["id"] for t in DOC["deal"]["transfers"]]
    return f"deal.transfers[{ids.index(record_id)}]"


def replace_once(text: str, old: str, new: str) -> str:
    assert text.count(old) == 1, f"the edit must match exactly once: {old!r}"
    return text.replace(old, new)


def line_of(text: str, line: str, after: str | None = None) -> int:
    """1-based number of the line equal (stripped) to `line`, the first after `after`."""
    lines = [ln.strip() for ln in text.splitlines()]
    start = lines.index(after) + 1 if after is not None else 0
    if after is None:
        assert lines.count(line) == 1, f"ambiguous or missing line: {line!r}"
    return lines.index(line, start) + 1


def problems_of(path: Path, sources: Path) -> list[Problem]:
    with pytest.raises(BriefingError) as caught:
        load_briefing(path, sources)
    assert caught.value.problems, "a BriefingError must carry its problems"
    return caught.value.problems


# ------------------------------------------------------------------------------- the real data


def test_the_bundled_briefing_loads_without_problems(data_dir: Path) -> None:
    loaded = load_briefing(data_dir / "briefings" / BRIEFING_FILE.name, data_dir / "sources")
    assert loaded.briefing.id == DOC["id"]
    assert [e.id for e in loaded.briefing.entities] == [e["id"] for e in DOC["entities"]]
    # Both text sources were read, so every quote can be cited with its whole sentence.
    assert set(loaded.texts) == {s["id"] for s in DOC["sources"] if s.get("text")}


def test_load_all_finds_the_bundled_briefing(data_dir: Path) -> None:
    loaded = load_all(data_dir)
    assert [item.briefing.id for item in loaded] == [DOC["id"]]


def test_load_all_reports_a_data_folder_without_briefings(tmp_path: Path) -> None:
    (tmp_path / "briefings").mkdir()
    with pytest.raises(BriefingError) as caught:
        load_all(tmp_path)
    assert "no briefing files" in str(caught.value)


# ------------------------------------------------------------------------------- broken variants


@dataclass(frozen=True)
class Broken:
    id: str
    old: str  # exact text of the bundled briefing to replace (occurs once)
    new: str
    path: str  # the field path the problem must name
    message: str  # a fragment the message must contain (case-insensitive)
    line: str  # the (stripped) line of the edited file where the problem is
    after: str | None = None  # when `line` occurs more than once: the first after this line


BUKELE = at("entities", "bukele")
BUKELE_ORG = "        organisation: government-of-el-salvador\n"
BUKELE_KIND = "    kind: person\n    name: Nayib Bukele\n"
BUKELE_ALIASES = "    aliases: [Bukele, President Bukele]\n"
BUKELE_X_EVIDENCE = (
    "      - source: article\n        quote: Bukele stated in a post on social media platform X\n"
)
MADURO_EVIDENCE = (
    "    evidence:\n"
    "      - source: article\n"
    "        quote: US nationals held captive by the Maduro government\n"
    "      - source: article\n"
    "        quote: political prisoners under Maduro's control\n"
)
TREN_CONTRADICTING = (
    "    contradicting:\n"
    "      - source: record\n"
    '        quote: was reported by AP as made "without evidence" and by AFP as '
    '"accused without evidence".\n'
    "        reported_by: [ap, afp]\n"
)
LONG_DESCRIPTION = " ".join(["handover"] * 300)  # 2,699 characters; the limit is 2,000

BROKEN = [
    # --- YAML that does not parse
    Broken("tab-indentation", "    name: Nayib Bukele\n", "\tname: Nayib Bukele\n",
           "", "invalid YAML", "name: Nayib Bukele"),
    Broken("over-indented-key", "    name: Nayib Bukele\n", "      name: Nayib Bukele\n",
           "", "invalid YAML", "name: Nayib Bukele"),
    # --- wrong types
    Broken("version-as-number", 'version: "1.0"\n', "version: 1.0\n",
           "version", "valid string", "version: 1.0"),
    Broken("aliases-not-a-list", BUKELE_ALIASES, "    aliases: Bukele\n",
           f"{BUKELE}.aliases", "valid list", "aliases: Bukele"),
    Broken("order-not-a-number", "      order: 1\n", "      order: soon\n",
           f"{at('events', 'bukele-first-offer')}.when.order", "valid integer", "order: soon"),
    Broken("quantity-not-a-number", "        value: 250\n", "        value: lots\n",
           f"{transfer('transfer-venezuelans')}.quantity.value", "valid integer", "value: lots"),
    Broken("flag-not-a-boolean", "    translation: true\n", "    translation: maybe\n",
           f"{at('quotes', 'quote-bukele-post')}.translation", "valid boolean",
           "translation: maybe"),
    Broken("unknown-entity-kind", BUKELE_KIND, "    kind: human\n    name: Nayib Bukele\n",
           f"{BUKELE}.kind", "input should be", "kind: human"),
    Broken("unknown-reliability", "    reliability: primary\n", "    reliability: very high\n",
           f"{at('sources', 'article')}.reliability", "input should be",
           "reliability: very high"),
    Broken("unknown-deal-status", "  status: completed\n", "  status: done\n",
           "deal.status", "input should be", "status: done"),
    Broken("date-not-a-date", "updated: 2026-11-27\n", "updated: yesterday\n",
           "updated", "valid date", "updated: yesterday"),
    Broken("language-not-a-code", "language: en\n", "language: English\n",
           "language", "pattern", "language: English"),
    # --- misspelt (unknown) keys
    Broken("misspelt-aliases", BUKELE_ALIASES, "    aliasses: [Bukele, President Bukele]\n",
           f"{BUKELE}.aliasses", "extra inputs are not permitted",
           "aliasses: [Bukele, President Bukele]"),
    Broken("misspelt-participants",
           "    participants: [venezuelan-prisoners, united-states, trump-administration]\n",
           "    participant: [venezuelan-prisoners, united-states, trump-administration]\n",
           f"{at('events', 'deportation')}.participant", "extra inputs are not permitted",
           "participant: [venezuelan-prisoners, united-states, trump-administration]"),
    # --- missing required fields (located at the record that lacks them)
    Broken("entity-without-kind", BUKELE_KIND, "    name: Nayib Bukele\n",
           f"{BUKELE}.kind", "field required", "- id: bukele"),
    Broken("quote-without-speaker", "    speaker: bukele\n", "",
           f"{at('quotes', 'quote-bukele-post')}.speaker", "field required",
           "- id: quote-bukele-post"),
    Broken("briefing-without-primary-source", "primary_source: article\n", "",
           "primary_source", "field required", f"id: {DOC['id']}"),
    Broken("entity-without-evidence", MADURO_EVIDENCE, "    evidence: []\n",
           f"{at('entities', 'maduro')}.evidence", "at least 1", "evidence: []"),
    Broken("deal-with-one-party", "  parties: [el-salvador, united-states, venezuela]\n",
           "  parties: [el-salvador]\n", "deal.parties", "at least 2", "parties: [el-salvador]"),
    Broken("evidence-quote-too-short", "            quote: El Salvador's President Nayib Bukele\n",
           "            quote: El\n", f"{BUKELE}.roles[0].evidence[0].quote", "at least 3",
           "quote: El"),
    # --- ids
    Broken("event-reuses-an-entity-id", "  - id: deportation\n", "  - id: trump\n",
           f"{at('events', 'deportation')}.id",
           f"duplicate id 'trump' (first at {at('entities', 'trump')}.id)",
           "- id: trump", after="events:"),
    Broken("claim-reuses-a-quote-id", "  - id: claim-deal-needed-bukele\n",
           "  - id: quote-official-deal\n", f"{at('claims', 'claim-deal-needed-bukele')}.id",
           "duplicate id 'quote-official-deal'", "- id: quote-official-deal", after="claims:"),
    Broken("id-with-capitals", "  - id: caracas\n", "  - id: Caracas\n",
           f"{at('entities', 'caracas')}.id", "pattern", "- id: Caracas"),
    Broken("id-with-a-space", "  - id: maiquetia\n", "  - id: mai quetia\n",
           f"{at('entities', 'maiquetia')}.id", "pattern", "- id: mai quetia"),
    Broken("briefing-id-with-capitals", f"id: {DOC['id']}\n", "id: Prisoner-Exchange-2025\n",
           "id", "pattern", "id: Prisoner-Exchange-2025"),
    # --- duplicate YAML keys (YAML itself would silently keep the last one)
    Broken("duplicate-key-in-entity", "    name: Nayib Bukele\n",
           "    name: Nayib Bukele\n    name: Nayib Bukele again\n",
           f"{BUKELE}.name", "duplicate key 'name'", "name: Nayib Bukele again"),
    Broken("duplicate-top-level-key", "language: en\n", "language: en\nlanguage: en\n",
           "language", "duplicate key 'language'", "language: en", after="language: en"),
    # --- dangling references
    Broken("unknown-event-participant", "    participants: [rubio, united-states, el-salvador]\n",
           "    participants: [rubbio, united-states, el-salvador]\n",
           f"{at('events', 'rubio-acknowledges')}.participants[0]", "unknown entity 'rubbio'",
           "participants: [rubbio, united-states, el-salvador]"),
    Broken("unknown-quote-speaker", "    speaker: senior-official\n",
           "    speaker: senior-oficial\n", f"{at('quotes', 'quote-official-deal')}.speaker",
           "unknown entity 'senior-oficial'", "speaker: senior-oficial"),
    Broken("unknown-discrepancy-target", "    applies_to: [rubio, rubio-acknowledges]\n",
           "    applies_to: [rubio, rubio-acknowledged]\n",
           f"{at('discrepancies', 'disc-rubio-name')}.applies_to[1]",
           "unknown record 'rubio-acknowledged'", "applies_to: [rubio, rubio-acknowledged]"),
    Broken("unknown-claim-subject", "    about: [venezuelan-prisoners, tren-de-aragua]\n",
           "    about: [venezuelan-prisoners, tren-de-aragwa]\n",
           f"{at('claims', 'claim-tren-de-aragua')}.about[1]", "unknown record 'tren-de-aragwa'",
           "about: [venezuelan-prisoners, tren-de-aragwa]"),
    Broken("unknown-role-organisation", BUKELE_ORG, "        organisation: salvadoran-govt\n",
           f"{BUKELE}.roles[0].organisation", "unknown entity 'salvadoran-govt'",
           "organisation: salvadoran-govt"),
    Broken("unknown-law", "    - law: alien-enemies-act\n", "    - law: alien-enemy-act\n",
           "deal.legal_basis[0].law", "unknown entity 'alien-enemy-act'",
           "- law: alien-enemy-act"),
    Broken("unknown-transfer-giver", "      giver: el-salvador\n", "      giver: salvador\n",
           f"{transfer('transfer-venezuelans')}.giver", "unknown entity 'salvador'",
           "giver: salvador"),
    Broken("unknown-primary-source", "primary_source: article\n", "primary_source: artikel\n",
           "primary_source", "unknown source 'artikel'", "primary_source: artikel"),
    Broken("unknown-evidence-source", BUKELE_X_EVIDENCE,
           BUKELE_X_EVIDENCE.replace("source: article", "source: articel"),
           f"{BUKELE}.evidence[1].source", "unknown source 'articel'", "- source: articel"),
    Broken("unknown-reporter", "            reported_by: [ap, npr]\n",
           "            reported_by: [ap, nrp]\n",
           f"{at('entities', 'rubio')}.roles[0].evidence[1].reported_by[1]",
           "unknown source 'nrp'", "reported_by: [ap, nrp]"),
    # --- evidence that cannot be checked against a source text
    Broken("quote-not-in-the-source", BUKELE_X_EVIDENCE,
           BUKELE_X_EVIDENCE.replace("social media platform X", "Facebook"),
           f"{BUKELE}.evidence[1].quote", "quote not found in source 'article'",
           "quote: Bukele stated in a post on Facebook"),
    Broken("evidence-from-a-source-without-text", BUKELE_X_EVIDENCE,
           BUKELE_X_EVIDENCE.replace("source: article", "source: ap"),
           f"{BUKELE}.evidence[1].source", "source 'ap' has no text", "- source: ap"),
    Broken("quoted-words-not-in-the-source",
           "    text: In exchange, we have transferred all the Venezuelan nationals detained in "
           "our territory\n",
           "    text: In exchange, we have sent back all the Venezuelan nationals\n",
           f"{at('quotes', 'quote-bukele-post')}.text", "not in the cited source",
           "text: In exchange, we have sent back all the Venezuelan nationals"),
    Broken("source-text-file-missing", "    text: article.txt\n", "    text: artikel.txt\n",
           f"{at('sources', 'article')}.text", "text file not found", "text: artikel.txt"),
    Broken("source-text-escapes-the-folder", "    text: article.txt\n",
           "    text: ../../etc/passwd\n", f"{at('sources', 'article')}.text",
           "inside the sources folder", "text: ../../etc/passwd"),
    Broken("source-text-absolute-path", "    text: article.txt\n", "    text: /etc/passwd\n",
           f"{at('sources', 'article')}.text", "inside the sources folder", "text: /etc/passwd"),
    # --- dates and times (model checks are located at the `when:` that holds them)
    Broken("day-precision-without-date", "      date: 2025-07-18\n      precision: day\n",
           "      precision: day\n", f"{at('events', 'exchange')}.when",
           "precision 'day' needs a date", "when:", after="- id: exchange"),
    Broken("date-before-1700", "      date: 2025-04-01\n", "      date: 1500-04-01\n",
           f"{at('events', 'bukele-first-offer')}.when", "outside 1700-2100", "when:",
           after="- id: bukele-first-offer"),
    Broken("relative-time-without-wording", "      precision: relative\n      text: recently\n",
           "      precision: relative\n", f"{at('events', 'agreement-announced')}.when",
           "needs the source's wording", "when:", after="- id: agreement-announced"),
    # --- quantities
    Broken("quantity-low-above-value", "        low: 238\n", "        low: 260\n",
           f"{transfer('transfer-venezuelans')}.quantity", "low (260) is above value (250)",
           "quantity:", after="- id: transfer-venezuelans"),
    Broken("quantity-high-below-value", "        high: 252\n", "        high: 240\n",
           f"{transfer('transfer-venezuelans')}.quantity", "high (240) is below value (250)",
           "quantity:", after="- id: transfer-venezuelans"),
    Broken("negative-quantity", "        value: 10\n", "        value: -10\n",
           f"{transfer('transfer-us-nationals')}.quantity.value", "greater than or equal to 0",
           "value: -10"),
    # --- claims
    Broken("disputed-claim-without-contradiction", TREN_CONTRADICTING, "",
           at("claims", "claim-tren-de-aragua"), "needs 'contradicting' evidence",
           "- id: claim-tren-de-aragua"),
    # --- sizes
    Broken("oversize-description",
           "    description: Social media platform on which Bukele posted about the handover.\n",
           f"    description: {LONG_DESCRIPTION}\n", f"{at('entities', 'x')}.description",
           "at most 2000 characters", f"description: {LONG_DESCRIPTION}"),
    Broken("oversize-title", f"title: {DOC['title']}\nsummary:", f"title: {'T' * 201}\nsummary:",
           "title", "at most 200 characters", f"title: {'T' * 201}"),
]


@pytest.mark.parametrize("broken", BROKEN, ids=[b.id for b in BROKEN])
def test_a_broken_briefing_is_reported_at_its_file_line_and_field(
    broken: Broken, write_briefing, tmp_data: Path
) -> None:
    text = replace_once(ORIGINAL, broken.old, broken.new)
    path = write_briefing(text)
    problems = problems_of(path, tmp_data / "sources")

    expected_line = line_of(text, broken.line, broken.after)
    located = [(p.file, p.line, p.path) for p in problems]
    assert (str(path), expected_line, broken.path) in located, problems
    problem = next(p for p in problems if (p.line, p.path) == (expected_line, broken.path))
    assert broken.message.lower() in problem.message.lower()
    # One mistake, one problem: no cascade of follow-on reports to wade through.
    assert len(problems) == 1, problems


def test_every_variant_is_a_distinct_edit() -> None:
    assert len({b.id for b in BROKEN}) == len(BROKEN) >= 30
    assert len({(b.old, b.new) for b in BROKEN}) == len(BROKEN)


def test_a_problem_reads_as_file_line_field_and_message(write_briefing, tmp_data: Path) -> None:
    text = replace_once(ORIGINAL, BUKELE_ALIASES, "    aliasses: [Bukele]\n")
    path = write_briefing(text)
    with pytest.raises(BriefingError) as caught:
        load_briefing(path, tmp_data / "sources")
    line = line_of(text, "aliasses: [Bukele]")
    assert str(caught.value).startswith(f"{path}:{line}: {BUKELE}.aliasses: ")


# --------------------------------------------------------------------- YAML that does not parse


@pytest.mark.parametrize(
    ("old", "new", "opening", "closers"),
    [
        (f"title: {DOC['title']}\nsummary:", 'title: "El Salvador and US Finalize\nsummary:',
         'title: "El Salvador and US Finalize', '"'),
        (BUKELE_ALIASES, "    aliases: [Bukele, President Bukele\n",
         "aliases: [Bukele, President Bukele", "]:"),
    ],
    ids=["unclosed-quote", "unclosed-bracket"],
)
def test_an_unclosed_quote_or_bracket_is_reported_near_where_it_opens(
    old: str, new: str, opening: str, closers: str, write_briefing, tmp_data: Path
) -> None:
    # What follows is swallowed into the open quote or list until YAML can tell something is
    # wrong: the report must not point before the opening, nor past the first line after it
    # that closes the quote (the next double quote) or shows the mistake (the next key).
    text = replace_once(ORIGINAL, old, new)
    path = write_briefing(text)
    [problem] = problems_of(path, tmp_data / "sources")
    lines = text.splitlines()
    opened = line_of(text, opening)
    closer = next(n for n in range(opened + 1, len(lines) + 1)
                  if any(c in lines[n - 1] for c in closers))
    assert problem.file == str(path)
    assert problem.message.startswith("invalid YAML")
    assert problem.line is not None and opened <= problem.line <= closer


def test_an_unclosed_quote_near_the_end_is_reported_at_the_opening_quote(
    write_briefing, tmp_data: Path
) -> None:
    old = (
        "          quote: >-\n"
        "            The article's \"we have transferred all the Venezuelan nationals detained"
        " in our\n"
        "            territory\" is a translation or paraphrase of that post.\n"
    )
    text = replace_once(ORIGINAL, old, "          quote: \"The article's\n")
    path = write_briefing(text)
    [problem] = problems_of(path, tmp_data / "sources")
    assert problem.message.startswith("invalid YAML")
    assert problem.line == line_of(text, "quote: \"The article's")


IMPOSSIBLE_DATE = ("      date: 2025-04-01\n", "      date: 2025-02-30\n")


def test_an_impossible_calendar_date_is_reported_at_its_line(
    write_briefing, tmp_data: Path
) -> None:
    text = replace_once(ORIGINAL, *IMPOSSIBLE_DATE)
    path = write_briefing(text)
    [problem] = problems_of(path, tmp_data / "sources")
    assert problem.file == str(path)
    assert problem.line == line_of(text, "date: 2025-02-30")
    assert "2025-02-30" in problem.message and "out of range" in problem.message


def test_an_impossible_date_does_not_hide_a_duplicate_key(
    write_briefing, tmp_data: Path
) -> None:
    text = replace_once(ORIGINAL, *IMPOSSIBLE_DATE)
    text = replace_once(text, "    name: Nayib Bukele\n", "    name: Nayib Bukele\n    name: B\n")
    path = write_briefing(text)
    problems = problems_of(path, tmp_data / "sources")
    assert any("day is out of range" in p.message for p in problems)
    assert any(p.path == f"{BUKELE}.name" and "duplicate key" in p.message for p in problems)


def test_a_self_referencing_alias_is_reported(write_briefing, tmp_data: Path) -> None:
    text = replace_once(ORIGINAL, "language: en\n", "language: en\nloop: &loop [*loop]\n")
    path = write_briefing(text)
    problems = problems_of(path, tmp_data / "sources")
    assert any(p.line == line_of(text, "loop: &loop [*loop]") for p in problems)


def test_an_alias_bomb_is_refused_at_the_first_alias(write_briefing, tmp_data: Path) -> None:
    # "Billion laughs": each level repeats the one before ten times. A 5 MiB cap on the file
    # does not bound that, so aliases must be refused before anything is expanded.
    bomb = "lol0: &lol0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n" + "".join(
        f"lol{i}: &lol{i} [" + ", ".join([f"*lol{i - 1}"] * 10) + "]\n" for i in range(1, 5))
    text = ORIGINAL + bomb
    path = write_briefing(text)
    problems = problems_of(path, tmp_data / "sources")
    bomb_lines = range(line_of(text, bomb.splitlines()[0]), len(text.splitlines()) + 1)
    assert problems and all(p.line in bomb_lines for p in problems)
    assert all(p.file == str(path) for p in problems)
    assert any("alias" in p.message for p in problems)


# ----------------------------------------------------------------------- whole-file problems


def _whole_file_problem(path: Path, sources: Path, fragment: str) -> Problem:
    [problem] = problems_of(path, sources)
    assert problem.file == str(path)
    assert problem.path == ""
    assert fragment in problem.message
    return problem


def test_bytes_that_are_not_utf8_are_reported_at_their_line(
    write_briefing, tmp_data: Path
) -> None:
    old = "    description: Social media platform on which Bukele posted about the handover.\n"
    text = replace_once(ORIGINAL, old, old.replace("Social", "\x00SOCIAL"))
    raw = text.encode("utf-8").replace(b"\x00SOCIAL", b"S\xf6cial")  # Latin-1 'ö'
    path = write_briefing(raw)
    problem = _whole_file_problem(path, tmp_data / "sources", "not UTF-8")
    assert problem.line == line_of(text, old.strip().replace("Social", "\x00SOCIAL"))


@pytest.mark.parametrize("content", ["", "\n\n", "# only a comment\n"], ids=["empty", "blank",
                                                                             "comment-only"])
def test_an_empty_file_is_reported(content: str, write_briefing, tmp_data: Path) -> None:
    problem = _whole_file_problem(write_briefing(content), tmp_data / "sources", "empty")
    assert problem.line in (None, 1)


@pytest.mark.parametrize(
    "content", ["- id: a\n- id: b\n", "just a sentence\n", "42\n"],
    ids=["top-level-list", "top-level-string", "top-level-number"],
)
def test_a_top_level_that_is_not_a_mapping_is_reported(
    content: str, write_briefing, tmp_data: Path
) -> None:
    problem = _whole_file_problem(write_briefing(content), tmp_data / "sources", "mapping")
    assert problem.line == 1


def test_a_file_over_5_mib_is_refused_without_parsing(write_briefing, tmp_data: Path) -> None:
    padding = ("# " + "x" * 97 + "\n") * (MAX_FILE_BYTES // 100 + 1)
    path = write_briefing(ORIGINAL + padding)
    assert path.stat().st_size > 5 * 1024 * 1024
    problem = _whole_file_problem(path, tmp_data / "sources", "5 MiB")
    assert problem.line is None


# ------------------------------------------------------------------------- source text files


def test_a_deleted_source_text_is_reported_once_at_the_source(
    write_briefing, tmp_data: Path
) -> None:
    path = write_briefing(ORIGINAL)
    (tmp_data / "sources" / "record.md").unlink()
    [problem] = problems_of(path, tmp_data / "sources")  # not once per quote citing it
    assert (problem.file, problem.path) == (str(path), f"{at('sources', 'record')}.text")
    assert problem.line == line_of(ORIGINAL, "text: record.md")
    assert "not found" in problem.message


def test_a_source_text_that_is_not_utf8_is_reported_at_the_source(
    write_briefing, tmp_data: Path
) -> None:
    path = write_briefing(ORIGINAL)
    record = tmp_data / "sources" / "record.md"
    record.write_bytes(record.read_bytes().replace("Simón".encode(), "Simón".encode("latin-1")))
    [problem] = problems_of(path, tmp_data / "sources")
    assert (problem.file, problem.path) == (str(path), f"{at('sources', 'record')}.text")
    assert problem.line == line_of(ORIGINAL, "text: record.md")
    assert "not UTF-8" in problem.message


# ------------------------------------------------------------------- every problem, not the first


def test_two_schema_mistakes_in_different_records_are_both_reported(
    write_briefing, tmp_data: Path
) -> None:
    text = replace_once(ORIGINAL, BUKELE_ALIASES, "    aliasses: [Bukele, President Bukele]\n")
    text = replace_once(text, "        low: 238\n", "        low: 260\n")
    path = write_briefing(text)
    located = {(p.path, p.line) for p in problems_of(path, tmp_data / "sources")}
    assert located == {
        (f"{BUKELE}.aliasses", line_of(text, "aliasses: [Bukele, President Bukele]")),
        (f"{transfer('transfer-venezuelans')}.quantity",
         line_of(text, "quantity:", after="- id: transfer-venezuelans")),
    }


def test_a_bad_reference_and_a_bad_quote_are_both_reported(
    write_briefing, tmp_data: Path
) -> None:
    text = replace_once(ORIGINAL, "    speaker: senior-official\n", "    speaker: nobody\n")
    text = replace_once(text, BUKELE_X_EVIDENCE,
                        BUKELE_X_EVIDENCE.replace("social media platform X", "Facebook"))
    text = replace_once(text, "    applies_to: [trump]\n", "    applies_to: [trumpp]\n")
    path = write_briefing(text)
    paths = {p.path for p in problems_of(path, tmp_data / "sources")}
    assert paths == {
        f"{at('quotes', 'quote-official-deal')}.speaker",
        f"{BUKELE}.evidence[1].quote",
        f"{at('discrepancies', 'disc-trump-title')}.applies_to[0]",
    }


def test_a_duplicate_key_and_a_schema_mistake_are_both_reported(
    write_briefing, tmp_data: Path
) -> None:
    text = replace_once(ORIGINAL, "language: en\n", "language: en\nlanguage: en\n")
    text = replace_once(text, "  status: completed\n", "  status: done\n")
    path = write_briefing(text)
    paths = {p.path for p in problems_of(path, tmp_data / "sources")}
    assert paths == {"language", "deal.status"}


def test_load_all_reports_the_problems_of_every_file(write_briefing, tmp_data: Path) -> None:
    first = write_briefing(replace_once(ORIGINAL, "  status: completed\n", "  status: done\n"))
    second = write_briefing(
        replace_once(ORIGINAL, f"id: {DOC['id']}\n", "id: second-briefing\n").replace(
            "    speaker: bukele\n", "    speaker: nobody\n"),
        name="second.yaml",
    )
    with pytest.raises(BriefingError) as caught:
        load_all(tmp_data)
    assert {(p.file, p.path) for p in caught.value.problems} == {
        (str(first), "deal.status"),
        (str(second), f"{at('quotes', 'quote-bukele-post')}.speaker"),
    }


def test_two_briefing_files_with_the_same_id_are_refused(write_briefing, tmp_data: Path) -> None:
    original = tmp_data / "briefings" / BRIEFING_FILE.name
    copy = write_briefing(ORIGINAL, name="zz-copy.yaml")
    with pytest.raises(BriefingError) as caught:
        load_all(tmp_data)
    [problem] = caught.value.problems
    assert (problem.file, problem.path) == (str(copy), "id")
    assert f"'{DOC['id']}'" in problem.message and str(original) in problem.message


def test_a_shared_briefing_id_is_reported_at_its_line(write_briefing, tmp_data: Path) -> None:
    write_briefing(ORIGINAL, name="zz-copy.yaml")
    with pytest.raises(BriefingError) as caught:
        load_all(tmp_data)
    [problem] = caught.value.problems
    assert problem.line == line_of(ORIGINAL, f"id: {DOC['id']}")


# ------------------------------------------------------------------------- text helpers


def _naive_sentence(line: str, quote: str) -> str:
    """The sentence of a one-paragraph line holding `quote`: from the previous '. ' to the
    next '. ' (the article has no abbreviations, so this is enough to check against)."""
    start = line.index(quote)
    begin = max(line.rfind(". ", 0, start), line.rfind('." ', 0, start))
    begin = 0 if begin < 0 else line.index(" ", begin) + 1
    end = line.find(". ", start + len(quote) - 1)
    return line[begin:] if end < 0 else line[begin:end + 1]


ARTICLE_RAW = ARTICLE.read_text(encoding="utf-8")
RECORD_RAW = RECORD.read_text(encoding="utf-8")


def _evidence(value: object) -> list[dict]:
    """Every evidence entry (a mapping with `source` and `quote`) in the bundled briefing."""
    if isinstance(value, dict):
        if "source" in value and "quote" in value:
            return [value]
        return [ev for item in value.values() for ev in _evidence(item)]
    if isinstance(value, list):
        return [ev for item in value for ev in _evidence(item)]
    return []


ARTICLE_QUOTES = sorted({collapse(ev["quote"]) for ev in _evidence(DOC)
                         if ev["source"] == "article"})


def test_article_quotes_are_found_with_their_whole_sentence() -> None:
    text = SourceText.parse(ARTICLE_RAW)
    assert len(ARTICLE_QUOTES) > 20
    for quote in ARTICLE_QUOTES:
        [line] = [ln for ln in ARTICLE_RAW.splitlines() if quote in ln]
        assert text.sentence_around(quote) == _naive_sentence(line, quote), quote


def test_the_sentence_around_a_quote_is_the_article_sentence() -> None:
    text = SourceText.parse(ARTICLE_RAW)
    # Copied from article.txt: the whole sentence the quoted words sit in.
    expected = (
        "Approximately 250 inmates currently held in the Cecot (Centre for the Confinement of "
        "Terrorism), notorious for its harsh conditions, will be returned to Venezuela in "
        "exchange for 10 US citizens."
    )
    assert expected in ARTICLE_RAW
    assert text.sentence_around("Approximately 250 inmates") == expected
    assert text.sentence_around("in exchange for 10 US citizens") == expected


def test_a_headline_without_a_full_stop_is_not_glued_to_the_next_sentence() -> None:
    text = SourceText.parse(ARTICLE_RAW)
    sentence = text.sentence_around("El Salvador has negotiated a notable prisoner swap")
    assert sentence is not None
    assert not sentence.startswith("El Salvador and US Finalize")
    assert sentence.endswith("held captive by the Maduro government.")


def test_a_quoted_speech_sentence_keeps_its_speaker() -> None:
    text = SourceText.parse(ARTICLE_RAW)
    sentence = text.sentence_around("This deal would not have been achievable")
    expected = ("\"This deal would not have been achievable without President Bukele's "
                "involvement,\" emphasized the senior official.")
    assert expected in ARTICLE_RAW
    assert sentence == expected


@pytest.mark.parametrize(
    ("quote", "sentence"),
    [
        # the sentence runs on over a wrapped line of the record
        ("An early Reuters report said about 238",
         "An early Reuters report said about 238 (summary copy: preview.deepnewz.com)."),
        # the quote itself crosses the wrap, and "U.S." does not end the sentence
        ('described by AP as "U.S. citizens and permanent residents"',
         '10 Americans were released by Venezuela, described by AP as "U.S. citizens and '
         'permanent residents": about five citizens and five lawful permanent residents '
         "(Reuters, via summary copy; Foro Penal also counted five US nationals)."),
        # a list item starts a sentence of its own: no bullet, nothing from the item before
        ("Bukele had first offered such a swap",
         "Bukele had first offered such a swap in April 2025 (AP)."),
        # a heading is not glued to the first item under it
        ("The exchange took place on", "The exchange took place on Friday 18 July 2025."),
    ],
    ids=["runs-over-a-wrap", "quote-crosses-a-wrap", "list-item", "after-a-heading"],
)
def test_record_sentences_are_found_across_wrapped_lines(quote: str, sentence: str) -> None:
    # `sentence` is copied from record.md with its line breaks undone; check that it is so.
    in_record = re.search(r"\s+".join(map(re.escape, sentence.split())), RECORD_RAW)
    assert in_record is not None
    found = SourceText.parse(RECORD_RAW, markdown=True).sentence_around(quote)
    assert found == sentence


def test_a_wrapped_quote_really_crosses_a_line_break_in_the_record() -> None:
    assert 'as "U.S. citizens and permanent\n' in RECORD_RAW
    assert "said about 238 (summary copy:\n" in RECORD_RAW


def test_a_quote_matches_whatever_the_white_space() -> None:
    text = SourceText.parse(RECORD_RAW, markdown=True)
    assert text.find("Simón Bolívar   International\n  Airport") >= 0
    assert text.sentence_around("Simón Bolívar\tInternational Airport") is not None


def test_words_not_in_a_source_have_no_sentence() -> None:
    text = SourceText.parse(ARTICLE_RAW)
    assert text.find("Marco Rubio") < 0  # the article prints "Marc Rubio"
    assert text.sentence_around("Marco Rubio") is None
    assert text.sentence_around("   ") is None


def test_fold_ignores_case_accents_and_spacing() -> None:
    assert fold("Maiquetía") == fold("MAIQUETIA") == fold("maiquetia")
    assert fold("  Simón   Bolívar ") == fold("SIMON BOLIVAR")
    assert fold("Maiquetía") != fold("Maiquetas")
