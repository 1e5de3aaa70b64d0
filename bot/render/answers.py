"""Renderers: pure functions from the store's views to paged message payloads.

Every fact shown carries its citation (the source and the whole sentence it rests on);
attributed and disputed claims are marked as such; where the record disagrees with the
primary source, the note stands beside the fact. The source's own wording is shown as it is.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Sequence

from ..briefing.records import (
    BriefingInfo,
    Citation,
    ClaimView,
    DealView,
    EntityRef,
    EntitySummary,
    EntityView,
    EventView,
    Note,
    Quantity,
    QuoteView,
    SearchHit,
    Sourced,
    SourceView,
    TransferView,
)
from .pages import Answer, Colour, Payload, Section, clip, paginate

SEVERITY = {"typo": "misspells it", "imprecise": "is imprecise", "wrong": "is wrong",
            "omission": "leaves it out"}
STATUS_MARK = {
    "disputed": "⚠️ **Disputed claim**",
    "attributed": "🗣️ **Attributed claim**",
    "reported": "📰 **Reported**",
    "confirmed": "✅ **Confirmed**",
}
MAX_CITATIONS = 2  # per fact; the rest are counted, and /sources lists them all
_MARKDOWN = re.compile(r"([\\*_~`|>#\[\]()-])")


def escape(text: str) -> str:
    """Neutralise Markdown in user text that we echo back (queries), so it shows as typed."""
    return _MARKDOWN.sub(r"\\\1", text)


def echo(text: str, limit: int = 80) -> str:
    """A user's query, shortened, single-line and escaped, for titles and messages.

    A zero-width space after '@' keeps '@everyone' from reading as a mention even where a
    client ignores allowed_mentions (which every payload also sets).
    """
    flat = " ".join("".join(ch if ch.isprintable() else " " for ch in text).split())
    return escape(clip(flat, limit, fallback="")).replace("@", "@\u200b")


# ---------------------------------------------------------------------------- small pieces


def when(event: EventView) -> str:
    """The date as precisely as the briefing knows it, and how the source words it."""
    date = dt.date.fromisoformat(event.date) if event.date else None
    if date and event.precision == "day":
        text = f"{date.day} {date:%B %Y}"
    elif date and event.precision == "month":
        text = f"{date:%B %Y}"
    elif date and event.precision == "year":
        text = f"{date.year}"
    elif date:
        text = f"about {date.day} {date:%B %Y}"
    else:
        text = "date not given"
    if event.when_text:
        text += f" (source: “{event.when_text}”)"
    return text


def quantity(q: Quantity) -> str:
    text = f"{'about ' if q.approximate else ''}{q.value:,} {q.unit}"
    reported = sorted({x for x in (q.low, q.high) if x is not None and x != q.value})
    if reported:
        text += f" (other reports: {', '.join(f'{x:,}' for x in reported)})"
    return text


def cite(citation: Citation) -> str:
    """One citation: the whole sentence, and where it comes from."""
    origin = citation.source_title if citation.reliability == "primary" else citation.publisher
    if citation.reported_by:
        origin += ", reporting " + ", ".join(citation.reported_by)
    return f"> “{citation.sentence}”\n> — *{origin}*"


def citations(cites: Sequence[Citation], limit: int = MAX_CITATIONS) -> list[str]:
    lines = [cite(c) for c in cites[:limit]]
    if len(cites) > limit:
        lines.append(f"-# +{len(cites) - limit} more citation(s)")
    return lines


def note_lines(notes: Iterable[Note]) -> list[str]:
    """'Where the record differs' lines, each with both sides cited."""
    lines = []
    for n in notes:
        # One item per note, so paging keeps a note and its citation together.
        lines.append("\n".join([
            f"📌 **The record differs — {n.topic}** (the source "
            f"{SEVERITY.get(n.severity, n.severity)})",
            f"Source: {n.source_says}",
            f"Record: {n.record_says}",
            *citations(n.record_citations, 1),
        ]))
    return lines


def names(refs: Iterable[EntityRef]) -> str:
    return ", ".join(r.name for r in refs) or "—"


def claim_lines(claim: ClaimView) -> list[str]:
    mark = STATUS_MARK.get(claim.status, claim.status)
    lines = [f"{mark} by {claim.claimant.name}: {claim.text}", *citations(claim.citations, 1)]
    if claim.contradicting:
        lines.append("Against it:")
        lines.extend(citations(claim.contradicting, 1))
    return lines + note_lines(claim.notes)


def quote_lines(q: QuoteView) -> list[str]:
    kind = ", translated" if q.translation else ""
    kind += ", paraphrased" if q.paraphrase else ""
    lines = [f"**{q.speaker.name}**, in {q.said_in}{kind}:", f"“{q.text}”"]
    if q.note:
        lines.append(f"-# {q.note}")
    return lines + citations(q.citations, 1) + note_lines(q.notes)


def event_lines(e: EventView) -> list[str]:
    lines = []
    if e.details:
        lines.append(e.details)
    extra = []
    if e.where:
        extra.append(f"Where: {names(e.where)}")
    if e.participants:
        extra.append(f"Who: {names(e.participants)}")
    if extra:
        lines.append(" · ".join(extra))
    return lines + citations(e.citations) + note_lines(e.notes)


def transfer_lines(t: TransferView) -> list[str]:
    what = t.what
    if t.quantity:
        what = f"{quantity(t.quantity)}: {t.what}"
    return [f"{t.giver.name} → {t.receiver.name}: {what}", *citations(t.citations),
            *note_lines(t.notes)]


def sourced_lines(items: Sequence[Sourced]) -> list[str]:
    lines = []
    for item in items:
        lines.append(item.text)
        lines.extend(citations(item.citations, 1))
    return lines


# ---------------------------------------------------------------------------- answers


def entity_answer(view: EntityView, asked: str | None = None) -> list[Payload]:
    """Who someone is; `asked` is what the person typed when it was not an exact name."""
    intro = view.description
    if asked:
        intro = f"-# Showing {view.ref.name} for “{echo(asked)}”.\n{intro}"
    if view.aliases:
        intro += f"\n-# Also written: {', '.join(view.aliases)}"
    sections = [Section("Who this is", citations(view.citations))]
    for role in view.roles:
        org = f", {role.organisation}" if role.organisation else ""
        sections.append(Section(f"Role: {role.title}{org}", citations(role.citations, 1)))
    if view.notes:
        sections.append(Section("Where the record differs", note_lines(view.notes)))
    for claim in view.claims:
        sections.append(Section(f"Claim ({claim.status})", claim_lines(claim)))
    for q in view.quotes:
        sections.append(Section("Said", quote_lines(q)))
    for e in view.events:
        sections.append(Section(f"{when(e)} — {e.title}", event_lines(e)))
    answer = Answer(title=f"{view.ref.name} ({view.ref.kind})", colour=Colour.person,
                    intro=intro, sections=sections, footer="/timeline · /sources")
    return paginate(answer)


def entity_list_answer(items: Sequence[EntitySummary]) -> list[Payload]:
    by_kind: dict[str, list[str]] = {}
    for item in items:
        roles = f" — {item.roles[0]}" if item.roles else ""
        by_kind.setdefault(item.ref.kind, []).append(f"**{item.ref.name}**{roles}")
    sections = [Section(kind.capitalize(), lines) for kind, lines in by_kind.items()]
    return paginate(Answer(
        title="Who is who", colour=Colour.person,
        intro=f"{len(items)} people, places, groups and laws in this briefing. "
              "Ask `/who name:` for one of them.",
        sections=sections))


def timeline_answer(events: Sequence[EventView], actor: EntityRef | None = None,
                    title: str = "", intro: str = "") -> list[Payload]:
    title = title or (f"Timeline: {actor.name}" if actor else "Timeline")
    if not events:
        return paginate(Answer(title=title, colour=Colour.timeline,
                               intro="No events in the briefing involve "
                                     f"{actor.name if actor else 'anyone'}."))
    sections = [Section(f"{when(e)} — {e.title}", event_lines(e)) for e in events]
    intro = intro or ("In the order they happened. Where the source gives no date, its own "
                      "wording is kept and the date comes from other reports, cited.")
    return paginate(Answer(title=title, colour=Colour.timeline, intro=intro, sections=sections))


def deal_answer(deal: DealView) -> list[Payload]:
    intro = (f"**{deal.kind.capitalize()}** between {names(deal.parties)} · status: "
             f"{deal.status}")
    if deal.brokers:
        intro += f"\nBrokered by: {names(deal.brokers)}"
    sections = [Section(f"{t.giver.name} → {t.receiver.name}", transfer_lines(t))
                for t in deal.transfers]
    if deal.legal_basis:
        sections.append(Section("Legal basis", sourced_lines(deal.legal_basis)))
    if deal.conditions:
        sections.append(Section("Conditions", sourced_lines(deal.conditions)))
    if deal.citations:
        sections.append(Section("Sources for the deal", citations(deal.citations)))
    if deal.notes:
        sections.append(Section("Where the record differs", note_lines(deal.notes)))
    return paginate(Answer(title=deal.title, colour=Colour.deal, intro=intro, sections=sections))


def transfer_answer(transfers: Sequence[TransferView], question: str) -> list[Payload]:
    """A 'how many' answer: each figure first, with what the record says beside it.

    A question that fits several transfers ("how many prisoners were released?") gets all of
    them rather than a guess.
    """
    intro = "\n".join(
        f"**{quantity(t.quantity) if t.quantity else 'no figure given'}** — {t.what}, from "
        f"{t.giver.name} to {t.receiver.name}." for t in transfers)
    sections = []
    for t in transfers:
        label = f"{t.giver.name} → {t.receiver.name}" if len(transfers) > 1 else ""
        sections.append(Section(f"Where this comes from {label}".strip(),
                                citations(t.citations, 4)))
        if t.notes:
            sections.append(Section(f"Where the record differs {label}".strip(),
                                    note_lines(t.notes)))
    return paginate(Answer(title=echo(question, 200) or "How many", colour=Colour.deal,
                           intro=intro, sections=sections))


def legal_basis_answer(deal: DealView) -> list[Payload]:
    sections = [Section(item.subject.name if item.subject else "Law", sourced_lines([item]))
                for item in deal.legal_basis]
    return paginate(Answer(title="Which law", colour=Colour.deal,
                           intro="The legal basis named in the briefing:", sections=sections))


def quotes_answer(quotes: Sequence[QuoteView], speaker: EntityRef | None = None,
                  claims: Sequence[ClaimView] = ()) -> list[Payload]:
    """Who said what; for one speaker with no quote, what the briefing attributes to them."""
    title = f"What {speaker.name} said" if speaker else "Who said what"
    if not quotes and not claims:
        return paginate(Answer(title=title, colour=Colour.quote,
                               intro="The briefing holds no quotes from "
                                     f"{speaker.name if speaker else 'anyone'}."))
    sections = [Section(q.speaker.name, quote_lines(q)) for q in quotes]
    sections += [Section(f"Attributed to {c.claimant.name} ({c.status})", claim_lines(c))
                 for c in claims]
    if quotes:
        intro = "Words as the source prints them; translations are marked."
    else:
        intro = (f"The briefing holds no direct quote from {speaker.name if speaker else 'them'}; "
                 "this is what sources attribute to them, not their own words.")
    return paginate(Answer(title=title, colour=Colour.quote, intro=intro, sections=sections))


def claims_answer(claims: Sequence[ClaimView]) -> list[Payload]:
    sections = [Section(f"{c.claimant.name} ({c.status})", claim_lines(c)) for c in claims]
    return paginate(Answer(title="Claims and who makes them", colour=Colour.quote,
                           intro="A claim is only as good as who makes it: attributed and "
                                 "disputed claims are not facts.", sections=sections))


KIND_LABEL = {"entity": "Who", "event": "Event", "quote": "Quote", "claim": "Claim",
              "transfer": "Deal", "deal": "Deal", "discrepancy": "Record differs",
              "source": "Source"}


def search_answer(query: str, hits: Sequence[SearchHit],
                  suggestions: Sequence[EntityRef] = ()) -> list[Payload]:
    title = f"Search: {echo(query)}"
    if not hits:
        return not_found_answer(query, suggestions, what="results")
    sections = [
        Section(f"{KIND_LABEL.get(h.kind, h.kind)}: {h.title}",
                [h.snippet, *citations(h.citations, 1)])
        for h in hits
    ]
    return paginate(Answer(title=title, colour=Colour.search,
                           intro=f"{len(hits)} result(s), best first.", sections=sections))


def sources_answer(sources: Sequence[SourceView]) -> list[Payload]:
    sections = []
    for s in sources:
        bits = [f"{s.publisher} · reliability: {s.reliability}"]
        if s.date:
            bits.append(f"dated {s.date}")
        lines = [" · ".join(bits)]
        if s.url:
            lines.append(f"Copy read at: {s.url}")
        lines.append(("Text held: every quote from it is checked. " if s.has_text else "")
                     + f"Cited {s.cited} time(s).")
        sections.append(Section(s.title, lines))
    return paginate(Answer(
        title="Sources", colour=Colour.sources,
        intro="Everything the bot says rests on these. The primary source is reported as it "
              "stands; the others show where it is imprecise or wrong.",
        sections=sections))


COMMANDS_HELP = [
    ("/who name:", "who someone is, with their role, quotes, claims and events"),
    ("/timeline actor:", "what happened when (optionally for one person or place)"),
    ("/deal", "who gave what to whom"),
    ("/quote speaker:", "who said what, word for word"),
    ("/search query:", "search everything"),
    ("/sources", "where each fact comes from"),
    ("/about", "this help"),
]


def about_answer(briefings: Sequence[BriefingInfo], version: str) -> list[Payload]:
    sections = []
    for b in briefings:
        counts = ", ".join(f"{n} {k}" for k, n in b.counts.items())
        sections.append(Section(f"Briefing: {b.title}",
                                [b.summary, f"-# Version {b.version}, updated {b.updated} · "
                                            f"{counts}"]))
    sections.append(Section("Commands", [f"`{c}` — {d}" for c, d in COMMANDS_HELP]))
    sections.append(Section("In a DM", [
        "Type a command word (`who Bukele`, `timeline`, `deal`) or just ask: "
        "“how many prisoners were sent to Venezuela?”"]))
    sections.append(Section("How to read an answer", [
        "> quoted lines are the exact sentence of the source a fact rests on.",
        "🗣️ attributed and ⚠️ disputed claims are someone's words, not established facts.",
        "📌 marks where other reports disagree with the primary source.",
    ]))
    return paginate(Answer(title="Briefing Bot", colour=Colour.about,
                           intro="Answers about a news story from a sourced briefing. "
                                 "It never answers beyond its sources.",
                           sections=sections, footer=f"Briefing Bot {version}"))


def not_found_answer(query: str, suggestions: Sequence[EntityRef] = (),
                     what: str = "one") -> list[Payload]:
    shown = echo(query) if query.strip() else "that"
    lines = []
    if suggestions:
        lines.append("Did you mean " + ", ".join(f"**{s.name}**" for s in suggestions[:5]) + "?")
    lines.append("Try `/who` for everyone in the briefing, `/search` for any word, or `/about`.")
    return paginate(Answer(title=f"Nothing found for “{shown}”", colour=Colour.missing,
                           intro="\n".join(lines)))


def message_answer(title: str, text: str, *, ephemeral: bool = True,
                   colour: int = Colour.admin) -> list[Payload]:
    """A short notice (refusals, errors, admin results)."""
    return paginate(Answer(title=title, colour=colour, intro=text, ephemeral=ephemeral))
