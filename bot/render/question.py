"""Answers to questions as people ask them, and checks of a posted message, as cards.

Like every other answer, the card leads with the answer itself, one to three sentences with
their numbered markers; then at most a few short fields: the fact in full, where the record
differs (a one-line 📌 flag beside the fact it corrects), the next-best facts, briefly. Each
quoted sentence is a footnote the Sources button shows once; each note is shown whole by the
Notes button. When the sources do not answer, the card says so first and then lists, briefly
and with their markers, what the briefing does know that comes closest; never a search dump.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterable, Sequence

from ..answering.engine import ABSTAIN, Check
from ..answering.misses import Miss
from ..answering.rank import Outcome
from ..briefing.facts import Fact, FactCite
from ..briefing.records import Note
from .cards import Footnotes, card, fact, from_fact, from_fact_note
from .pages import Answer, Colour, Pages, Payload, Section, clip, paginate

BADGE = {"disputed": "⚠️ **Disputed claim**", "attributed": "🗣️ **Attributed claim**"}
SEVERITY_TYPE = "severity-"
_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z“\"])")


def echo(text: str, limit: int = 200) -> str:
    """What the member typed, single-line, Markdown-neutral and unable to ping, for titles."""
    from .answers import echo as _echo  # the renderers' own escaping, one definition of it

    return _echo(text, limit)


def _flat(text: str) -> str:
    return " ".join(text.replace("**", "").split())


def _support(f: Fact) -> list[FactCite]:
    return [c for c in f.citations if c.relation != "contradict"]


def _against(f: Fact) -> list[FactCite]:
    return [c for c in f.citations if c.relation == "contradict"]


def marks(f: Fact, foot: Footnotes) -> str:
    """The markers of a fact's citations; what contradicts it is marked apart."""
    out = foot.mark(from_fact(c) for c in _support(f))
    against = _against(f)
    if against:
        out += f" · against it: {foot.mark(from_fact(c) for c in against)}"
    return out.strip()


def _first_sentence(text: str) -> str:
    return _SENTENCE.split(text.strip(), maxsplit=1)[0]


def _badge(f: Fact) -> str:
    """The inline badge of an attributed or disputed claim, as the claims card shows it."""
    if f.kind != "claim":
        return ""
    status = f.heading.rsplit("(", 1)[-1].rstrip(")") if "(" in f.heading else ""
    return BADGE.get(status, "")


def discrepancy_note(f: Fact) -> Note | None:
    """A discrepancy fact as the note the Notes button shows (it is the note itself)."""
    if f.kind != "discrepancy":
        return None
    severity = next((t.removeprefix(SEVERITY_TYPE) for t in f.types
                     if t.startswith(SEVERITY_TYPE)), "")
    said = next((d.removeprefix("The article: ") for d in f.detail
                 if d.startswith("The article: ")), "")
    record = next((d.removeprefix("The record: ") for d in f.detail
                   if d.startswith("The record: ")), f.lead.split(": ", 1)[-1])
    topic = f.heading.removeprefix("Where the record differs: ") or f.lead.split(": ", 1)[0]
    # Which side each sentence supports is not kept in the index: the record's side is
    # marked with all of them, and the Sources button shows each whole.
    return Note(id=f.id, topic=topic, severity=severity, source_says=said, source_citations=(),
                record_says=record,
                record_citations=tuple(from_fact(c) for c in f.citations))


def flags(facts: Iterable[Fact], foot: Footnotes, *, shown: str = "") -> list[str]:
    """One-line 📌 flags for the notes of these facts (each note once per answer); a note
    whose record the answer already gives in `shown` joins the Notes without a flag."""
    lines = []
    for f in facts:
        for n in f.notes:
            line = foot.flag(from_fact_note(n))
            if line and _flat(n.record_says) not in _flat(shown):
                lines.append(line)
    return lines


def statement(f: Fact, foot: Footnotes, *, lead: str = "") -> list[str]:
    """A fact in full, with its markers: its statement (unless the answer above says it),
    the details it adds, and any claim badge inline. A quote is shown word for word, with
    who said it and how (translated, in a post ...)."""
    badge = _badge(f)
    said = _flat(lead).casefold()
    fact_marks = marks(f, foot)
    if f.kind == "quote":
        words = " ".join(d for d in f.detail if not d.startswith("-# "))
        return [fact(words or f.lead, fact_marks)]
    text = f.lead.removeprefix("Disputed: ")
    if badge:
        text = f"{badge}: {text}"
    own = _flat(f.lead.split(": ", 1)[-1] if f.kind == "discrepancy" else f.lead)
    lines = []
    if own.rstrip(". ").casefold() not in said or badge:
        lines.append(fact(text, fact_marks))
    known = (_flat(f.lead) + " " + said).casefold()
    for d in f.detail:
        # A discrepancy's two sides ("The article: ...", "The record: ...") are in Notes.
        bare = _flat(d.removeprefix("The article: ").removeprefix("The record: "))
        if bare.rstrip(". ").casefold() not in known and not d.startswith("-# "):
            lines.append(d)
    if lines and not lines[0].endswith(fact_marks):
        lines[0] = fact(lines[0], fact_marks)  # the fact's markers stay beside it
    return lines


def brief(f: Fact, foot: Footnotes) -> str:
    """A fact in a line: its first sentence (badge inline) and its markers."""
    badge = _badge(f)
    text = _first_sentence(f.lead.removeprefix("Disputed: "))
    return fact(f"• {badge + ': ' if badge else ''}{text}", marks(f, foot))


def _note_of(f: Fact, foot: Footnotes) -> None:
    note = discrepancy_note(f)
    if note is not None:
        foot.flag(note)  # the note joins the answer's Notes; the line shows it already


def question_answer(outcome: Outcome, asked: str) -> Pages:
    """The card answering one question: the answer first, or an honest 'not known'."""
    foot = Footnotes()
    if outcome.abstained:
        closest = outcome.closest
        intro = [f"**{outcome.lead}**"]
        if closest:
            intro.append("The closest the briefing comes:")
        lines: list[str] = []
        for f in closest:
            lines.append(brief(f, foot))
            _note_of(f, foot)
            lines += flags([f], foot)
        return card(Answer(
            title=clip(f"Not in the sources: {echo(asked, 150)}", 256),
            colour=Colour.missing, intro="\n".join(intro),
            sections=[Section("Closest in the briefing", lines)] if lines else [],
            footer="Try other words, or `who`, `timeline`, `deal`, `claims`, `sources`."), foot)
    top = outcome.facts[0]
    named = top.kind in ("entity", "role") and top.heading
    title = top.heading if named else f"“{echo(asked)}”"
    sections: list[Section] = []
    if outcome.listing:
        intro = [f"**{outcome.lead}**"]
        lines = []
        for f in outcome.facts:
            note = discrepancy_note(f)
            if note is not None:
                said = clip(note.source_says, 100, fallback="")
                said = f": {said[:1].lower() + said[1:]}" if said.startswith("The ") else (
                    f": {said}" if said else "")
                lines.append(fact(f"📌 **{note.topic}**{said}", marks(f, foot)))
                foot.flag(note)
            else:
                lines.append(brief(f, foot))
            lines += flags([f], foot)
        name = "Where the record differs" if outcome.listing == "discrepancies" else \
            "What other reports add"
        sections.append(Section(name, lines))
    else:
        answer_marks = foot.mark(from_fact(c) for c in _support(top))
        intro = [fact(f"**{outcome.lead}**", answer_marks)]
        intro += flags([top], foot, shown=outcome.lead)
        _note_of(top, foot)
        for f in outcome.facts:
            lines = statement(f, foot, lead=outcome.lead if f is top else "")
            if f is not top:
                lines += flags([f], foot)
            if lines:
                sections.append(Section(f.heading or "Details", lines))
    if outcome.also:
        lines = []
        for f in outcome.also:
            lines.append(brief(f, foot))
            _note_of(f, foot)
            lines += flags([f], foot)
        sections.append(Section("Also in the briefing", lines))
    # The Deal button of an answer about a transfer is added by the router, with the picture.
    return card(Answer(title=title, colour=Colour.person if named else Colour.search,
                       intro="\n".join(intro), sections=sections), foot)


def check_answer(result: Check) -> Pages:
    """The card answering "Check against the briefing" on a posted message."""
    quoted = echo(result.text, 180) or "(no text)"
    if result.empty:
        return paginate(Answer(
            title="Checked against the briefing", colour=Colour.missing,
            intro=f"**The briefing has nothing on this message.**\n> {quoted}",
            footer="It checks messages about the briefing's story only."))
    foot = Footnotes()
    found: list[tuple[str, str, Fact]] = (
        [("📌", text, f) for text, f in result.corrections]
        + [(_badge(f) or "🗣️", text, f) for text, f in result.claims])
    if found:
        _, text, top = found[0]
        lead = fact(f"**{text}**", marks(top, foot))
        _note_of(top, foot)
        rest = found[1:]
    else:
        lead = f"**The briefing has {len(result.facts)} fact(s) that bear on it.**"
        rest = []
    sections = []
    corrections = [(t, f) for mark, t, f in rest if mark == "📌"]
    claims = [(mark, t, f) for mark, t, f in rest if mark != "📌"]
    if corrections:
        lines = []
        for text, f in corrections:
            lines.append(fact(f"📌 {text}", marks(f, foot)))
            _note_of(f, foot)
        sections.append(Section("Where the record differs", lines))
    if claims:
        sections.append(Section("A claim, not a fact", [
            fact(f"{mark} {text}", marks(f, foot)) for mark, text, f in claims]))
    if result.facts:
        lines = []
        for f in result.facts:
            lines.append(brief(f, foot))
            lines += flags([f], foot)
        sections.append(Section("What the briefing says", lines))
    return card(Answer(title="Checked against the briefing", colour=Colour.quote,
                       intro=f"{lead}\n> {quoted}", sections=sections), foot)


def misses_answer(misses: Sequence[Miss], *, enabled: bool = True) -> list[Payload]:
    """For editors: the questions that ended in "the sources don't answer that", most asked
    first (their text, how often and when last; nothing about who asked)."""
    if not enabled:
        return paginate(Answer(title="Unanswered questions", colour=Colour.admin,
                               intro="Keeping unanswered questions is off (MISSES_ENABLED).",
                               ephemeral=True))
    if not misses:
        return paginate(Answer(title="Unanswered questions", colour=Colour.admin,
                               intro="No unanswered questions are kept yet.", ephemeral=True))
    lines = [f"**{m.count}×** {echo(m.question, 200)} "
             f"-# last {time.strftime('%Y-%m-%d', time.gmtime(m.last_asked))}" for m in misses]
    return paginate(Answer(
        title="Unanswered questions", colour=Colour.admin,
        intro=f"{len(misses)} question(s) the briefing's sources did not answer, most asked "
              "first. Add `facts:` to the briefing for what it should know.",
        sections=[Section("Most asked", lines)], ephemeral=True))


__all__ = ["ABSTAIN", "check_answer", "misses_answer", "question_answer"]
