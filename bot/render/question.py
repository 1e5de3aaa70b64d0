"""Answers to questions as people ask them, and checks of a posted message, as pages.

The answer comes first, in one plain sentence, with where it comes from and any correction
the record makes beside it; the evidence (each cited sentence in full) follows in a section of
its own, then the next-best facts, briefly. When the sources do not answer, the answer says
so first and then lists what the briefing does know that comes closest; never a search dump.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

from ..answering.engine import ABSTAIN, Check
from ..answering.misses import Miss
from ..answering.rank import Outcome
from ..briefing.facts import Fact, FactCite, FactNote
from .pages import Answer, Colour, Payload, Section, clip, paginate

MAX_CITES = 2
SEVERITY = {"typo": "misspells it", "imprecise": "is imprecise", "wrong": "is wrong",
            "omission": "leaves it out"}


def echo(text: str, limit: int = 200) -> str:
    """What the member typed, single-line, Markdown-neutral and unable to ping, for titles."""
    from .answers import echo as _echo  # the renderers' own escaping, one definition of it

    return _echo(text, limit)


def cite(c: FactCite) -> str:
    """One citation: the whole sentence, and where it comes from (as the other answers do)."""
    label = "Against it" if c.relation == "contradict" else ""
    head = f"{label}:\n" if label else ""
    return f"{head}> “{c.sentence}”\n> — *{c.origin}*"


def cites(items: Sequence[FactCite], limit: int = MAX_CITES) -> list[str]:
    # Two quotes from one sentence are one citation to a reader.
    items = list({(c.sentence, c.relation): c for c in items}.values())
    support = [c for c in items if c.relation != "contradict"]
    against = [c for c in items if c.relation == "contradict"]
    lines = [cite(c) for c in support[:limit]] + [cite(c) for c in against[:1]]
    hidden = len(support) - min(len(support), limit) + max(len(against) - 1, 0)
    if hidden:
        lines.append(f"-# +{hidden} more citation(s); `sources` lists them all")
    return lines


def note_line(n: FactNote) -> str:
    return f"📌 **The record differs — {n.topic}**: {n.record_says}"


def note_block(n: FactNote) -> str:
    lines = [f"📌 **The record differs — {n.topic}** (the source "
             f"{SEVERITY.get(n.severity, n.severity)})", f"Source: {n.source_says}",
             f"Record: {n.record_says}"]
    if n.record_cite:
        lines.append(cite(n.record_cite))
    return "\n".join(lines)


def origin(f: Fact) -> str:
    first = next((c for c in f.citations if c.relation == "support"), None)
    return f"-# Source: {first.origin}" if first else "-# From the briefing's list of sources"


def fact_section(f: Fact, *, notes: bool = True) -> Section:
    lines = [*f.detail, *cites(f.citations)]
    if notes:
        lines += [note_block(n) for n in f.notes]
    return Section(f.heading or "Details", lines or [f.lead])


def _brief(f: Fact) -> str:
    first = next((c for c in f.citations if c.relation == "support"), None)
    return f"• {f.lead}" + (f"\n-# {first.origin}" if first else "")


def question_answer(outcome: Outcome, asked: str) -> list[Payload]:
    """The pages answering one question: the answer first, or an honest 'not known'."""
    if outcome.abstained:
        closest = outcome.closest
        intro = [f"**{outcome.lead}**"]
        if closest:
            intro.append("Here is what the briefing does know that comes closest.")
        return paginate(Answer(
            title=clip(f"Not in the sources: {echo(asked, 150)}", 256),
            colour=Colour.missing, intro="\n".join(intro),
            sections=[Section("Closest in the briefing", [_brief(f) for f in closest])]
            if closest else [],
            footer="Try other words, or `who`, `timeline`, `deal`, `claims`, `sources`."))
    top = outcome.facts[0]
    named = top.kind in ("entity", "role") and top.heading
    title = top.heading if named else f"“{echo(asked)}”"
    intro = [f"**{outcome.lead}**"]
    if not outcome.listing:
        intro.append(origin(top))
        intro += [note_line(n) for n in outcome.notes[:2]]
    sections = [fact_section(f) for f in outcome.facts]
    if outcome.also:
        sections.append(Section("Also in the briefing", [_brief(f) for f in outcome.also]))
    return paginate(Answer(title=title, colour=Colour.person if named else Colour.search,
                           intro="\n".join(intro), sections=sections))


def check_answer(result: Check) -> list[Payload]:
    """The pages answering "Check against the briefing" on a posted message."""
    quoted = echo(result.text, 180) or "(no text)"
    if result.empty:
        return paginate(Answer(
            title="Checked against the briefing", colour=Colour.missing,
            intro=f"**The briefing has nothing on this message.**\n> {quoted}",
            footer="It checks messages about the briefing's story only."))
    lines = []
    if result.corrections:
        lines.append(f"**{result.corrections[0][0]}**")
    elif result.claims:
        lines.append(f"**{result.claims[0][0]}**")
    else:
        lines.append(f"**The briefing has {len(result.facts)} fact(s) that bear on it.**")
    lines.append(f"> {quoted}")
    sections = []
    for text, f in result.corrections:
        sections.append(Section("📌 Where the record differs", [text, *cites(f.citations, 1)]))
    for text, f in result.claims:
        sections.append(Section("🗣️ A claim, not a fact", [text, *cites(f.citations, 1)]))
    if result.facts:
        sections.append(Section("What the briefing says", [_brief(f) for f in result.facts]))
    return paginate(Answer(title="Checked against the briefing", colour=Colour.quote,
                           intro="\n".join(lines), sections=sections))


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
