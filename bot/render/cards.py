"""Answer-first cards: the answer in plain words, numbered footnotes one press away.

A card's first page is a direct answer of one to three sentences and at most `MAX_FIELDS`
short fields, within `CARD_BUDGET` characters; what does not fit continues on the next pages,
in order, nothing cut. Facts carry numbered markers ([1], [2]) pointing to the answer's
footnotes, which the Sources button shows (each sentence once per answer); a discrepancy is a
one-line 📌 flag beside the fact it corrects, and the Notes button shows the note in full.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace
from typing import Any

from ..briefing.facts import FactCite, FactNote
from ..briefing.records import Citation, Note, SourceView
from .pages import (
    FIELD_NAME,
    FIELD_VALUE,
    FIELDS_PER_PAGE,
    Answer,
    Pages,
    Payload,
    Section,
    clip,
    paginate,
)

CARD_BUDGET = 1200  # characters of the first page's embed: title, answer, fields, footer
LATER_BUDGET = 2400  # characters per later page: still short enough to read on a phone
MAX_FIELDS = 5
FLAG_WIDTH = 160  # characters of a discrepancy's one-line flag; the full note is in Notes
FOOTER_RESERVE = 16  # "Page 10/12 · " added by paging

SEVERITY = {"typo": "misspells it", "imprecise": "is imprecise", "wrong": "is wrong",
            "omission": "leaves it out"}


def _key(c: Citation) -> tuple[str, str]:
    return (c.source_id, " ".join(c.sentence.split()))


class Footnotes:
    """Numbers an answer's citations in the order they are first used, each sentence once."""

    def __init__(self) -> None:
        self._numbers: dict[tuple[str, str], int] = {}
        self.citations: list[Citation] = []
        self.notes: list[Note] = []
        self._note_ids: set[str] = set()

    def number(self, citation: Citation) -> int:
        key = _key(citation)
        if key not in self._numbers:
            self.citations.append(citation)
            self._numbers[key] = len(self.citations)
        elif citation.note and not self.citations[self._numbers[key] - 1].note:
            # The same sentence cited again, this time with the editor's note: keep the note.
            self.citations[self._numbers[key] - 1] = citation
        return self._numbers[key]

    def mark(self, cites: Iterable[Citation]) -> str:
        """Markers for these citations, e.g. "[1][3]"; empty when there are none."""
        numbers = sorted({self.number(c) for c in cites})
        return "".join(f"[{n}]" for n in numbers)

    def flag(self, note: Note) -> str:
        """A discrepancy as one line beside its fact, both sides marked; empty when the note
        was flagged earlier in the answer (each note once). It joins the answer's notes."""
        if note.id in self._note_ids:
            return ""
        self._note_ids.add(note.id)
        self.notes.append(note)
        says = fact(clip(note.source_says, FLAG_WIDTH // 2), self.mark(note.source_citations))
        record = fact(clip(note.record_says, FLAG_WIDTH // 2), self.mark(note.record_citations))
        return f"📌 {says} Record: {record}"

    def flags(self, notes: Iterable[Note]) -> list[str]:
        return [line for line in (self.flag(n) for n in notes) if line]


def fact(text: str, marks: str) -> str:
    """A line of the card: the fact and its markers."""
    return f"{text} {marks}".rstrip() if marks else text


def card(answer: Answer, foot: Footnotes | None = None, *, budget: int = CARD_BUDGET,
         max_fields: int = MAX_FIELDS) -> Pages:
    """Lay an answer out answer-first: page 1 within `budget`, the rest on later pages.

    Sections fill the first page in order, line by line, up to `max_fields` fields; a section
    that does not fit continues on page 2 under its name with "(cont.)", so nothing is cut or
    repeated. `foot` supplies the footnotes and notes the buttons open.
    """
    if foot is not None:
        answer = replace(answer, citations=tuple(foot.citations), notes=tuple(foot.notes))
    footer = len(clip(answer.footer, 2000, fallback="")) if answer.footer.strip() else 0
    used = len(clip(answer.title, 256)) + len(answer.intro) + footer + FOOTER_RESERVE
    first: list[dict[str, Any]] = []
    rest: list[Section] = []
    for section in answer.sections:
        lines = [line for line in section.lines if line.strip()]
        if not lines:
            continue
        if rest or len(first) >= max_fields:
            rest.append(section)
            continue
        name = clip(section.name, FIELD_NAME - 10, fallback="Details")
        taken: list[str] = []
        size = len(name)
        for line in lines:
            grow = len(line) + (1 if taken else 0)
            if used + size + grow > budget or size + grow - len(name) > FIELD_VALUE:
                break
            taken.append(line)
            size += grow
        if taken:
            first.append({"name": name, "value": "\n".join(taken), "inline": False})
            used += size
        left = lines[len(taken):]
        if left:
            rest.append(Section(f"{section.name} (cont.)" if taken else section.name, left))
    return paginate(replace(answer, sections=rest), budget=LATER_BUDGET, first=first)


# ---------------------------------------------------------------------------- on demand


def origin(c: Citation) -> str:
    """Where a citation comes from, as a reader names it."""
    text = c.source_title if c.reliability == "primary" else c.publisher
    if c.reported_by:
        text += ", reporting " + ", ".join(c.reported_by)
    return text


def _source_of(c: Citation, sources: Sequence[SourceView]) -> SourceView | None:
    return next((s for s in sources if s.id == c.source_id and s.title == c.source_title),
                next((s for s in sources if s.id == c.source_id), None))


def footnote_pages(pages: Pages, sources: Sequence[SourceView], title: str) -> Pages:
    """The Sources pages of an answer: every numbered citation, whole, with its source.

    Each footnote gives the sentence, the source's title, publisher, date and reliability; a
    page carries a link button for each cited source whose address is known.
    """
    sections = []
    for number, c in enumerate(pages.citations, start=1):
        c = complete(c, sources)
        source = _source_of(c, sources)
        bits = [c.publisher]
        if source is not None and source.date:
            bits.append(source.date)
        bits.append(f"reliability: {c.reliability}")
        note = f"\n-# Note: {c.note}" if c.note else ""  # the editor's, on this citation
        sections.append(Section(f"[{number}] {c.source_title}", [
            f"> “{c.sentence}”\n> — *{origin(c)}*{note}\n-# {' · '.join(bits)}"]))
    intro = (f"The {len(pages.citations)} citation(s) behind this answer, numbered as in it."
             if pages.citations else "This answer rests on no quoted sentence.")
    out = paginate(Answer(title=f"Sources: {title}", colour=0x0EA5E9, intro=intro,
                          sections=sections, ephemeral=True), budget=LATER_BUDGET)
    for payload in out:
        _add_links(payload, pages.citations, sources)
    return Pages.of(list(out), Answer(title="", colour=0, citations=pages.citations,
                                      notes=pages.notes))


def link(url: str | None) -> str | None:
    """A source's address as a link button can open it (the data may omit the scheme)."""
    if not url or " " in url:
        return None
    if url.startswith(("https://", "http://")):
        return url
    host = url.split("/", 1)[0]
    return f"https://{url}" if "." in host else None


def _add_links(payload: Payload, cites: Sequence[Citation],
               sources: Sequence[SourceView]) -> None:
    """Link buttons for the sources cited on this page, and those they report."""
    urls: dict[str, str] = {}
    for item in payload["embeds"][0].get("fields", []):
        head = item["name"].split("]", 1)[0].lstrip("[")
        if not head.isdigit() or not 0 < int(head) <= len(cites):
            continue
        c = complete(cites[int(head) - 1], sources)
        cited = [_source_of(c, sources)] + [s for s in sources if s.publisher in c.reported_by]
        for source in cited:
            address = link(source.url) if source is not None else None
            if source is not None and address:
                urls.setdefault(address, source.publisher)
    if urls:
        payload["components"] = [{"type": 1, "components": [
            {"type": 2, "style": 5, "label": clip(name, 80), "url": url}
            for url, name in list(urls.items())[:5]]}]


# ---------------------------------------------------------------------------- the fact index


def from_fact(c: FactCite) -> Citation:
    """A citation of the fact index (the answers to questions) as the cards number it.

    The index keeps the sentence and its attribution as shown ("AP, reporting NPR"); the
    source's title, publisher and reliability are filled in from the source list when the
    Sources pages are built (`complete`), so the footnote reads like every other answer's.
    """
    head, _, reporters = c.origin.partition(", reporting ")
    return Citation(source_id=c.source_id, source_title=head, publisher=head, reliability="",
                    quote=c.sentence, sentence=c.sentence,
                    reported_by=tuple(r for r in reporters.split(", ") if r), note=c.note)


def from_fact_note(n: FactNote, source_side: Sequence[FactCite] = ()) -> Note:
    """A note of the fact index as the cards flag it: the record's side carries its citation,
    the article's side those given (the sentences of the fact it corrects)."""
    return Note(id=n.id, topic=n.topic, severity=n.severity, source_says=n.source_says,
                source_citations=tuple(from_fact(c) for c in source_side),
                record_says=n.record_says,
                record_citations=(from_fact(n.record_cite),) if n.record_cite else ())


def complete(c: Citation, sources: Sequence[SourceView]) -> Citation:
    """A citation with its source's title, publisher and reliability from the source list,
    when it came from the fact index without them; any other citation is returned as is."""
    if c.reliability:
        return c
    source = next((s for s in sources if s.id == c.source_id), None)
    if source is None:
        return c
    return replace(c, source_title=source.title, publisher=source.publisher,
                   reliability=source.reliability)


def note_pages(pages: Pages, title: str) -> Pages:
    """The Notes pages of an answer: each discrepancy in full, its sides marked like the card."""
    numbers = {_key(c): n for n, c in enumerate(pages.citations, start=1)}

    def marks(cites: Iterable[Citation]) -> str:
        found = sorted({numbers[_key(c)] for c in cites if _key(c) in numbers})
        return "".join(f"[{n}]" for n in found)

    sections = [Section(f"📌 {n.topic}", [
        f"The primary source {SEVERITY.get(n.severity, n.severity)}.",
        fact(f"Source: {n.source_says}", marks(n.source_citations)),
        fact(f"Record: {n.record_says}", marks(n.record_citations)),
    ]) for n in pages.notes]
    intro = ("Where the record differs from the primary source; the numbers are the answer's "
             "sources." if pages.notes else "Nothing in this answer is disputed by the record.")
    out = paginate(Answer(title=f"Notes: {title}", colour=0xF97316, intro=intro,
                          sections=sections, ephemeral=True), budget=LATER_BUDGET)
    return Pages.of(list(out), Answer(title="", colour=0, citations=pages.citations,
                                      notes=pages.notes))


def card_title(pages: Sequence[Payload]) -> str:
    """The title of an answer's card, for the Sources and Notes pages that belong to it."""
    embeds = pages[0].get("embeds") if pages else None
    return str(embeds[0].get("title", "Answer")) if embeds else "Answer"


__all__ = ["CARD_BUDGET", "FIELDS_PER_PAGE", "Footnotes", "card", "card_title", "complete",
           "fact", "footnote_pages", "from_fact", "from_fact_note", "note_pages", "origin"]
