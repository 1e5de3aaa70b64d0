"""Renderers: pure functions from the store's views to answer-first cards.

Each answer leads with a direct answer in plain words, then a few short fields (see
`bot.render.cards`). Every fact carries numbered markers pointing to the answer's footnotes:
the whole sentence it rests on and its source, shown by the Sources button, each sentence once.
Attributed and disputed claims keep their badge inline; where the record disagrees with the
primary source, a one-line 📌 flag stands beside the fact and the Notes button shows it whole.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping, Sequence

from ..briefing.records import (
    BriefingInfo,
    ClaimView,
    DealView,
    EntityRef,
    EntitySummary,
    EntityView,
    EventView,
    Quantity,
    QuoteView,
    SearchHit,
    Sourced,
    SourceView,
    TransferView,
)
from .cards import Footnotes, card, fact
from .pages import Answer, Colour, Payload, Related, Section, clip, paginate

STATUS_MARK = {
    "disputed": "⚠️ **Disputed claim**",
    "attributed": "🗣️ **Attributed claim**",
    "reported": "📰 **Reported**",
    "confirmed": "✅ **Confirmed**",
}
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
    text = short_date(event)
    if event.when_text:
        text += f" (source: “{event.when_text}”)"
    return text


def short_date(event: EventView) -> str:
    """The date alone, as precisely as the briefing knows it."""
    date = dt.date.fromisoformat(event.date) if event.date else None
    if date and event.precision == "day":
        return f"{date.day} {date:%B %Y}"
    if date and event.precision == "month":
        return f"{date:%B %Y}"
    if date and event.precision == "year":
        return f"{date.year}"
    if date:
        return f"about {date.day} {date:%B %Y}"
    return "date not given"


def quantity(q: Quantity) -> str:
    """A figure as the briefing gives it: a number, the source's words, or both. Words
    ("a considerable number") are shown as written, never turned into a number."""
    if q.value is None:
        return f"“{q.words}” (no figure given)"
    text = f"{'about ' if q.approximate else ''}{q.value:,} {q.unit}"
    if q.words:
        text += f" (in words: “{q.words}”)"
    reported = sorted({x for x in (q.low, q.high) if x is not None and x != q.value})
    if reported:
        text += f" (other reports: {', '.join(f'{x:,}' for x in reported)})"
    return text


def names(refs: Iterable[EntityRef]) -> str:
    return ", ".join(r.name for r in refs) or "—"


#: How a claim whose source names nobody is shown: never attributed to anyone.
NO_CLAIMANT = "no claimant named"


def claimant_name(claim: ClaimView) -> str:
    """Who makes a claim, as a section heading names them."""
    return claim.claimant.name if claim.claimant else NO_CLAIMANT.capitalize()


def claim_lines(claim: ClaimView, foot: Footnotes, *, claimant: bool = True) -> list[str]:
    """A claim with its badge inline, its sources and what contradicts it."""
    mark = STATUS_MARK.get(claim.status, claim.status)
    if claim.claimant is None:
        who = f" ({NO_CLAIMANT})"  # inline even under a heading: it is the badge's meaning
    else:
        who = f" by {claim.claimant.name}" if claimant else ""
    marks = foot.mark(claim.citations)
    if claim.contradicting:
        marks += f" · against it: {foot.mark(claim.contradicting)}"
    return [fact(f"{mark}{who}: {claim.text}", marks), *foot.flags(claim.notes)]


def quote_lines(q: QuoteView, foot: Footnotes, *, speaker: bool = True) -> list[str]:
    kind = ", translated" if q.translation else ""
    kind += ", paraphrased" if q.paraphrase else ""
    who = f"{q.speaker.name}, " if speaker else ""
    lines = [fact(f"“{q.text}” — {who}in {q.said_in}{kind}", foot.mark(q.citations))]
    if q.note:
        lines.append(f"-# {q.note}")
    return lines + foot.flags(q.notes)


def event_lines(e: EventView, foot: Footnotes) -> list[str]:
    lines = []
    extra = []
    if e.where:
        extra.append(f"Where: {names(e.where)}")
    if e.participants:
        extra.append(f"Who: {names(e.participants)}")
    text = " · ".join([e.details or "", *extra]).strip(" ·") or e.title
    lines.append(fact(text, foot.mark(e.citations)))
    if e.when_text:
        lines.append(f"-# The source says “{e.when_text}”.")
    return lines + foot.flags(e.notes)


def transfer_line(t: TransferView, foot: Footnotes) -> list[str]:
    """Who gave what to whom, with its figure and sources."""
    what = f"{quantity(t.quantity)}: {t.what}" if t.quantity else t.what
    # A release has no receiver: nobody is shown as taking what was freed.
    who = (f"**{t.giver.name}** → **{t.receiver.name}**" if t.receiver
           else f"**{t.giver.name}** released")
    return [fact(f"{who}: {what}", foot.mark(t.citations)), *foot.flags(t.notes)]


def sourced_lines(items: Sequence[Sourced], foot: Footnotes) -> list[str]:
    return [fact(item.text, foot.mark(item.citations)) for item in items]


# ---------------------------------------------------------------------------- answers


def entity_answer(view: EntityView, asked: str | None = None) -> list[Payload]:
    """Who someone is; `asked` is what the person typed when it was not an exact name."""
    foot = Footnotes()
    lines = []
    if asked:
        lines.append(f"-# Showing {view.ref.name} for “{echo(asked)}”.")
    lines.append(fact(f"**{view.ref.name}**: {view.description}", foot.mark(view.citations)))
    lines.extend(foot.flags(view.notes))
    if view.aliases:
        lines.append(f"-# Also written: {', '.join(view.aliases)}")
    sections = []
    if view.roles:
        sections.append(Section("Role", [
            fact(f"{r.title}{f', {r.organisation}' if r.organisation else ''}",
                 foot.mark(r.citations)) for r in view.roles]))
    if view.quotes:
        sections.append(Section("Said", [line for q in view.quotes
                                         for line in quote_lines(q, foot, speaker=False)]))
    if view.claims:
        sections.append(Section("Claims", [line for c in view.claims
                                           for line in claim_lines(c, foot)]))
    if view.events:
        sections.append(Section("Events", [
            line for e in view.events
            for line in [fact(f"**{short_date(e)}** — {e.title}", foot.mark(e.citations)),
                         *foot.flags(e.notes)]]))
    related = []
    if view.events:
        related.append(Related("Timeline", "timeline", view.ref.name))
    if view.quotes or any(c.claimant == view.ref for c in view.claims):
        related.append(Related("Quotes", "quote", view.ref.name))
    return card(Answer(title=f"{view.ref.name} ({view.ref.kind})", colour=Colour.person,
                       intro="\n".join(lines), sections=sections, related=tuple(related)),
                foot)


KIND_GROUP = {"person": "People", "city": "Places", "country": "Places", "facility": "Places",
              "government": "Governments and groups", "group": "Governments and groups",
              "organisation": "Governments and groups", "law": "Laws"}


def entity_list_answer(items: Sequence[EntitySummary]) -> list[Payload]:
    by_group: dict[str, list[str]] = {}
    for item in items:
        roles = f" — {item.roles[0]}" if item.roles else ""
        group = KIND_GROUP.get(item.ref.kind, item.ref.kind.capitalize())
        by_group.setdefault(group, []).append(f"**{item.ref.name}**{roles}")
    sections = [Section(group, lines) for group, lines in by_group.items()]
    return card(Answer(
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
    foot = Footnotes()
    sections = [Section(f"{short_date(e)} — {e.title}", event_lines(e, foot)) for e in events]
    if intro and len(events) <= 3:
        # A question ("when was the exchange?"): the events themselves are the answer.
        intro = "\n".join(
            fact(f"**{short_date(e)}**: {e.title}"
                 + (f", in {names(e.where)}" if e.where else "") + ".", foot.mark(e.citations))
            for e in events) + f"\n-# {intro}"
    dated = [e for e in events if e.date]
    span = (f", from {short_date(dated[0])} to {short_date(dated[-1])}"
            if len(dated) > 1 and dated[0].date != dated[-1].date else "")
    lead = intro or f"{len(events)} event(s) in the order they happened{span}."
    if not intro and any(e.when_text for e in events):
        lead += " Where the source gives no date, its wording is kept beside the cited date."
    related = (Related("Who", "who", actor.name),) if actor else ()
    return card(Answer(title=title, colour=Colour.timeline, intro=lead, sections=sections,
                       related=related), foot)


def _deal_sections(deal: DealView, foot: Footnotes) -> list[Section]:
    sections = [Section("Who gave what to whom",
                        [line for t in deal.transfers for line in transfer_line(t, foot)])]
    if deal.legal_basis:
        sections.append(Section("Legal basis", sourced_lines(deal.legal_basis, foot)))
    if deal.conditions:
        sections.append(Section("Conditions", sourced_lines(deal.conditions, foot)))
    return sections


def _deal_events(deal: DealView, events: Sequence[EventView]) -> list[EventView]:
    ids = {r.id for r in (*deal.parties, *deal.brokers)}
    return [e for e in events if e.where and ids & {p.id for p in e.participants}] or [
        e for e in events if e.where]


def deal_answer(deal: DealView, events: Sequence[EventView] = ()) -> list[Payload]:
    """The deal's card: who gave what to whom, when and where, who brokered it."""
    foot = Footnotes()
    where = _deal_events(deal, events)
    main = next((e for e in where if e.date), None)
    held = (f", {short_date(main)}, in {names(main.where)}" if main else "")
    lead = [fact(f"**{deal.kind.capitalize()}** between {names(deal.parties)} "
                 f"({deal.status}){held}.",
                 foot.mark([*deal.citations, *(main.citations if main else ())]))]
    if deal.brokers:
        lead.append(f"Brokered by {names(deal.brokers)}.")
    lead.extend(foot.flags(deal.notes))
    sections = _deal_sections(deal, foot)
    if where:
        sections.insert(1, Section("When and where", [
            line for e in where
            for line in [fact(f"**{short_date(e)}** — {e.title} (where: {names(e.where)})",
                              foot.mark(e.citations)), *foot.flags(e.notes)]]))
    return card(Answer(title=deal.title, colour=Colour.deal, intro="\n".join(lead),
                       sections=sections,
                       related=(Related("Timeline", "timeline"),)), foot)


def deals_answer(deals: Sequence[DealView], events: Sequence[EventView] = ()) -> list[Payload]:
    """Every deal of the briefing: one card, or the cards one after another."""
    if len(deals) == 1:
        return deal_answer(deals[0], events)
    return [page for deal in deals for page in deal_answer(deal, events)]


def transfer_answer(transfers: Sequence[TransferView], question: str) -> list[Payload]:
    """A 'how many' answer: each figure first, with what the record says beside it.

    A question that fits several transfers ("how many prisoners were released?") gets all of
    them rather than a guess.
    """
    foot = Footnotes()
    lines = []
    for t in transfers:
        figure = quantity(t.quantity) if t.quantity else "no figure given"
        whence = (f"from {t.giver.name} to {t.receiver.name}" if t.receiver
                  else f"released by {t.giver.name}")
        lines.append(fact(f"**{figure}** — {t.what}, {whence}.", foot.mark(t.citations)))
        lines.extend(foot.flags(t.notes))
    return card(Answer(title=echo(question, 200) or "How many", colour=Colour.deal,
                       intro="\n".join(lines), related=(Related("Deal", "deal"),)), foot)


def legal_basis_answer(deal: DealView) -> list[Payload]:
    foot = Footnotes()
    laws = [item.subject.name for item in deal.legal_basis if item.subject]
    lead = (f"Under the {', '.join(laws)}." if laws else "The legal basis named in the briefing:")
    sections = [Section(item.subject.name if item.subject else "Law",
                        sourced_lines([item], foot)) for item in deal.legal_basis]
    return card(Answer(title="Which law", colour=Colour.deal, intro=lead, sections=sections,
                       related=(Related("Deal", "deal"),)), foot)


def quotes_answer(quotes: Sequence[QuoteView], speaker: EntityRef | None = None,
                  claims: Sequence[ClaimView] = ()) -> list[Payload]:
    """Who said what; for one speaker with no quote, what the briefing attributes to them."""
    title = f"What {speaker.name} said" if speaker else "Who said what"
    if not quotes and not claims:
        return paginate(Answer(title=title, colour=Colour.quote,
                               intro="The briefing holds no quotes from "
                                     f"{speaker.name if speaker else 'anyone'}."))
    foot = Footnotes()
    sections = [Section(q.speaker.name, quote_lines(q, foot, speaker=False)) for q in quotes]
    sections += [Section(f"Attributed to {claimant_name(c)} ({c.status})",
                         claim_lines(c, foot, claimant=False)) for c in claims]
    if quotes:
        intro = (f"{len(quotes)} quote(s), word for word as the source prints them; "
                 "translations are marked.")
    else:
        intro = (f"The briefing holds no direct quote from {speaker.name if speaker else 'them'}; "
                 "this is what sources attribute to them, not their own words.")
    related = (Related("Who", "who", speaker.name),) if speaker else ()
    return card(Answer(title=title, colour=Colour.quote, intro=intro, sections=sections,
                       related=related), foot)


def claims_answer(claims: Sequence[ClaimView]) -> list[Payload]:
    foot = Footnotes()
    sections = [Section(f"{claimant_name(c)} ({c.status})", claim_lines(c, foot, claimant=False))
                for c in claims]
    disputed = sum(c.status == "disputed" for c in claims)
    return card(Answer(title="Claims and who makes them", colour=Colour.quote,
                       intro=f"{len(claims)} claim(s), {disputed} of them disputed. A claim is "
                             "only as good as who makes it: attributed and disputed claims are "
                             "not facts.", sections=sections), foot)


KIND_LABEL = {"entity": "Who", "event": "Event", "quote": "Quote", "claim": "Claim",
              "transfer": "Deal", "deal": "Deal", "discrepancy": "Record differs",
              "source": "Source"}


def search_answer(query: str, hits: Sequence[SearchHit],
                  suggestions: Sequence[EntityRef] = (),
                  stories: Mapping[str, str] | None = None) -> list[Payload]:
    """Search hits, best first; with `stories` (id -> title), each hit names its story."""
    title = f"Search: {echo(query)}"
    if not hits:
        return not_found_answer(query, suggestions, what="results")
    foot = Footnotes()
    sections = [
        Section(f"{KIND_LABEL.get(h.kind, h.kind)}: {h.title}",
                ([f"-# 📰 {clip(stories.get(h.briefing_id, h.briefing_id), 100)}"]
                 if stories else []) + [fact(h.snippet, foot.mark(h.citations))])
        for h in hits
    ]
    return card(Answer(title=title, colour=Colour.search,
                       intro=f"{len(hits)} result(s), best first.", sections=sections), foot)


def sources_answer(sources: Sequence[SourceView]) -> list[Payload]:
    sections = []
    for s in sources:
        bits = [f"{s.publisher} · reliability: {s.reliability}"]
        if s.date:
            bits.append(f"dated {s.date}")
        lines = [" · ".join(bits)]
        if s.url:
            lines.append(f"Copy read at: {s.url}")
        for c in s.copies:
            said = " · ".join(x for x in (c.date, c.note) if x)
            lines.append(f"Also read at: {c.url}" + (f" ({said})" if said else ""))
        for r in s.reliability_for:
            lines.append(f"Reliability for {r.what}: {r.reliability}")
        lines.append(("Text held: every quote from it is checked. " if s.has_text else "")
                     + f"Cited {s.cited} time(s).")
        sections.append(Section(s.title, ["\n".join(lines)]))
    primary = [s.title for s in sources if s.reliability == "primary"]
    lead = (f"Everything the bot says rests on these {len(sources)} sources. The primary "
            f"source ({', '.join(primary) or 'none'}) is reported as it stands; the others show "
            "where it is imprecise or wrong.")
    return card(Answer(title="Sources", colour=Colour.sources, intro=lead, sections=sections))


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
        "[1], [2] point to the sources: press **Sources** for the exact sentences.",
        "🗣️ attributed and ⚠️ disputed claims are someone's words, not established facts.",
        "📌 marks where other reports disagree with the primary source; **Notes** explains.",
    ]))
    return card(Answer(title="Briefing Bot", colour=Colour.about,
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
