"""Derive the fact index from a briefing: atomic, citable statements, one answer each.

Every record yields the statements a member's question can be answered with: an entity's
description and each of its roles; an event's date, place and summary; each transfer with
giver, receiver and quantity; the deal's brokers, parties, status and legal basis; each quote,
claim and discrepancy; what each source is said to report. Editors add `facts:` for what these
miss. Each statement knows the kinds of question it answers, the entities it is about, its
words, its citations and the discrepancy notes that belong beside it.

Run at build time only (bot/briefing/build.py writes the rows); nothing here touches SQLite.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from .loader import LoadedBriefing
from .schema import Briefing, Discrepancy, Entity, Event, Evidence
from .text import fold

# Kinds of entity and the kind of answer their names give.
ENTITY_TYPE = {
    "person": "person", "organisation": "organisation", "government": "organisation",
    "group": "person", "platform": "organisation", "country": "place", "city": "place",
    "place": "place", "facility": "place", "law": "law",
}


@dataclass(frozen=True, slots=True)
class CiteRow:
    """A citation as shown: the source's whole sentence and who it comes from."""

    source_id: str
    origin: str
    sentence: str
    relation: str = "support"  # or "contradict"
    note: str | None = None  # the editor's note on this one citation


@dataclass(frozen=True, slots=True)
class NoteRow:
    """A discrepancy note that stands beside a fact, with the record's citation."""

    id: str
    topic: str
    severity: str
    source_says: str
    record_says: str
    record_cite: CiteRow | None


@dataclass(slots=True)
class FactRow:
    """One statement of the fact index, as built."""

    id: str
    kind: str  # the record it comes from: entity, role, event, transfer, deal, quote, ...
    types: tuple[str, ...]
    lead: str  # the answer sentence
    heading: str  # the record's own title, for the answer's detail section
    subject: str = ""  # the entity the statement is chiefly about
    entities: tuple[str, ...] = ()
    detail: tuple[str, ...] = ()
    words: str = ""  # more words to match on (names, aliases, the record's own words)
    questions: tuple[str, ...] = ()
    gap: bool = False
    citations: tuple[CiteRow, ...] = ()
    notes: tuple[NoteRow, ...] = ()
    sources: tuple[str, ...] = field(default=())  # ids of the sources it rests on


_COMMON_FIRST = frozenset("the a an many most some with this these his her their its all".split())


def _lower_first(text: str) -> str:
    """Lower-case the first word when it is a common word, never a name ('El Salvador')."""
    first = text.split(" ", 1)[0]
    return text[:1].lower() + text[1:] if first.casefold() in _COMMON_FIRST else text


def _strip_end(text: str) -> str:
    return text.strip().rstrip(".")


def _join(names: Sequence[str]) -> str:
    names = list(dict.fromkeys(names))
    if len(names) <= 1:
        return "".join(names)
    return ", ".join(names[:-1]) + " and " + names[-1]


def when_phrase(event: Event) -> str | None:
    """'on Friday 18 July 2025', 'in April 2025', or None when the event has no date."""
    w = event.when
    if w.date is None:
        return None
    d = w.date
    if w.precision.value == "day":
        return f"on {d:%A} {d.day} {d:%B %Y}"
    if w.precision.value == "month":
        return f"in {d:%B %Y}"
    if w.precision.value == "year":
        return f"in {d.year}"
    said = f" (the source says “{w.text}”)" if w.text else ""
    return f"on {d.day} {d:%B %Y}{said}"


def _is_word(ch: str) -> bool:
    """What `\\w` of a str pattern matches: a letter or digit of any script, or `_`."""
    return ch.isalnum() or ch == "_"


def _mentions(text: str, name: str) -> bool:
    """Whether `name` stands in `text` as whole words: what the search for
    `(?<!\\w)NAME(?!\\w)` finds, without compiling a pattern per alias of every briefing
    (beyond re's cache, compiling them was a tenth of deriving the facts)."""
    at = text.find(name)
    while at >= 0:
        end = at + len(name)
        if (at == 0 or not _is_word(text[at - 1])) and (
                end == len(text) or not _is_word(text[end])):
            return True
        at = text.find(name, at + 1)
    return False


class _Deriver:
    def __init__(self, item: LoadedBriefing) -> None:
        self.item = item
        self.b: Briefing = item.briefing
        self.entities = {e.id: e for e in self.b.entities}
        self.sources = {s.id: s for s in self.b.sources}
        self.notes: dict[str, list[Discrepancy]] = {}
        for d in self.b.discrepancies:
            for target in d.applies_to:
                self.notes.setdefault(target, []).append(d)
        # Alias -> entity, to find the entities a statement mentions by name.
        self.aliases: list[tuple[str, str]] = []
        for e in self.b.entities:
            for alias in {fold(a) for a in (e.name, *e.aliases)}:
                if len(alias) >= 2 and alias not in ("x", "the administration"):
                    self.aliases.append((alias, e.id))
        self.rows: list[FactRow] = []

    # ---------------------------------------------------------------- helpers

    def name(self, eid: str | None) -> str:
        return self.entities[eid].name if eid and eid in self.entities else ""

    def names_words(self, ids: Iterable[str]) -> str:
        out = []
        for eid in ids:
            e = self.entities.get(eid)
            if e:
                out.append(" ".join([e.name, *e.aliases]))
        return " ".join(out)

    def cites(self, evidence: Iterable[Evidence], relation: str = "support") -> list[CiteRow]:
        out = []
        for ev in evidence:
            src = self.sources[ev.source]
            origin = src.title if src.reliability.value == "primary" else src.publisher
            if ev.reported_by:
                origin += ", reporting " + ", ".join(self.sources[s].publisher
                                                    for s in ev.reported_by)
            out.append(CiteRow(ev.source, origin, self.item.sentence(ev), relation, ev.note))
        return out

    def note_rows(self, targets: Iterable[str]) -> tuple[NoteRow, ...]:
        seen: dict[str, NoteRow] = {}
        for target in targets:
            for d in self.notes.get(target, []):
                cite = self.cites(d.record_says.evidence[:1])
                seen.setdefault(d.id, NoteRow(d.id, d.topic, d.severity.value,
                                              d.source_says.text, d.record_says.text,
                                              cite[0] if cite else None))
        return tuple(seen.values())

    def mentioned(self, text: str) -> list[str]:
        folded = fold(text)
        # A plain substring test first: most aliases are absent from most statements, and
        # `in` is far cheaper than the word-boundary search it spares.
        return [eid for alias, eid in self.aliases
                if alias in folded and _mentions(folded, alias)]

    def add(self, row: FactRow, evidence: Iterable[Evidence] = (),
            contradicting: Iterable[Evidence] = (), note_targets: Iterable[str] = ()) -> None:
        evidence = list(evidence)
        contradicting = list(contradicting)
        if not row.citations:
            row.citations = tuple(self.cites(evidence) + self.cites(contradicting, "contradict"))
        if not row.notes:
            row.notes = self.note_rows(note_targets)
        row.sources = tuple(dict.fromkeys(ev.source for ev in (*evidence, *contradicting)))
        found = self.mentioned(" ".join([row.lead, row.heading, *row.detail]))
        row.entities = tuple(dict.fromkeys([*row.entities, *found]))
        if not row.words:
            row.words = self.names_words(row.entities)
        self.rows.append(row)

    # ---------------------------------------------------------------- records

    def entity(self, e: Entity) -> None:
        kind_type = ENTITY_TYPE.get(e.kind.value, "description")
        card = f"{e.name} ({e.kind.value})"  # as the entity card titles it
        roles = [r.title + (f" ({self.name(r.organisation)})"
                            if r.organisation and self.name(r.organisation) not in r.title
                            else "") for r in e.roles]
        detail = [f"Roles: {'; '.join(roles)}"] if roles else []
        if e.aliases:
            detail.append(f"Also called: {', '.join(e.aliases)}")
        self.add(FactRow(f"{e.id}#about", "entity", ("description", kind_type),
                         f"{e.name}: {_strip_end(e.description)}.", card, e.id, (e.id,),
                         tuple(detail)), e.evidence, note_targets=[e.id])
        for j, role in enumerate(e.roles):
            if set(fold(role.title).split()) <= set(fold(e.name).split()):
                continue  # "Senior official is Senior official" answers nothing
            org = self.name(role.organisation)
            title = role.title + (f" ({org})" if org and org not in role.title else "")
            self.add(FactRow(f"{e.id}#role{j}", "role", ("person", "role", "description"),
                             f"{e.name} is {title}.", card, e.id,
                             tuple(x for x in (e.id, role.organisation) if x)),
                     role.evidence, note_targets=[e.id])

    def event(self, ev: Event) -> None:
        ids = [*ev.where, *ev.participants]
        lines = [ev.details] if ev.details else []
        when = when_phrase(ev)
        said = f" (the source says “{ev.when.text}”)" if ev.when.text else ""
        lines.append(f"When: {when.removeprefix('on ').removeprefix('in ')}" if when
                     else f"When: not dated{said}")
        if ev.where:
            lines.append(f"Where: {', '.join(self.name(w) for w in ev.where)}")
        if ev.participants:
            lines.append(f"Who: {', '.join(self.name(p) for p in ev.participants)}")
        detail = tuple(lines)
        title = _strip_end(ev.title)
        common: dict[str, Any] = {"heading": ev.title, "entities": tuple(ids),
                                  "detail": detail}
        self.add(FactRow(f"{ev.id}#summary", "event", ("event", "actor"),
                         f"{title}." + (f" {ev.details}" if ev.details else ""),
                         subject=ev.participants[0] if ev.participants else "", **common),
                 ev.evidence, note_targets=[ev.id])
        if when:
            self.add(FactRow(f"{ev.id}#when", "event", ("date",),
                             f"{when[:1].upper()}{when[1:]}: {title}.",
                             subject=ev.participants[0] if ev.participants else "", **common),
                     ev.evidence, note_targets=[ev.id])
        elif ev.when.text or ev.when.precision.value in ("approximate", "relative"):
            said = f" (the source says only “{ev.when.text}”)" if ev.when.text else ""
            self.add(FactRow(f"{ev.id}#when", "event", ("date",),
                             f"Neither source dates this: {_lower_first(title)}{said}.",
                             subject=ev.participants[0] if ev.participants else "", gap=True,
                             **common), ev.evidence)
        if ev.where:
            places = ", ".join(self.name(w) for w in ev.where)
            self.add(FactRow(f"{ev.id}#where", "event", ("place",),
                             f"{title}: at {places}.",
                             subject=ev.where[0], **common),
                     ev.evidence, note_targets=[ev.id])

    def deal(self) -> None:
        d = self.b.deal
        if d is None:
            return
        kind = d.kind
        parts = []
        for t in d.transfers:
            giver, receiver = self.name(t.giver), self.name(t.receiver)
            # A release (no receiver, or the freed themselves) is not "sent to" anyone.
            released = t.receiver is None or t.receiver == t.subject
            verb = "released" if released else "sent"
            to = "" if released else f" to {receiver}"
            if t.quantity and t.quantity.value is None:
                # Only words: they are the answer to "how many", never made a number.
                lead = (f"{giver} {verb} {t.what[:1].lower()}{t.what[1:]}{to}: "
                        f"“{t.quantity.words}”, with no figure given.")
            elif t.quantity:
                q = t.quantity
                value = q.value
                assert value is not None
                lead = f"{giver} {verb} {'about ' if q.approximate else ''}{value:,} {q.unit}"
                if q.words:
                    lead += f" (in words: “{q.words}”)"
                lead += f"{to} ({t.what})"
                others = sorted({x for x in (q.low, q.high) if x is not None and x != value})
                if others:
                    lead += (f", by the article; other reports give "
                             f"{_join([f'{x:,}' for x in others])}")
                lead += "."
            elif t.receiver is None:
                lead = f"{giver} released {t.what[:1].lower()}{t.what[1:]}."
            else:
                lead = f"{giver} handed over {t.what} to {receiver}."
            arrow = f"{giver} → {receiver}" if t.receiver else f"{giver} (released)"
            parts.append(f"{arrow}: {t.what}")
            people = self.entities[t.subject].kind.value in ("group", "person") if (
                t.subject and t.subject in self.entities) else False
            types = ("quantity", "actor", "event", *(("person",) if people else ()))
            self.add(FactRow(t.id, "transfer", types, lead,
                             f"{arrow}: {t.what}", t.subject or "",
                             tuple(x for x in (t.giver, t.receiver, t.subject) if x),
                             words=f"{t.what} {self.names_words([t.subject] if t.subject else [])}"
                                   f" {giver} {receiver} released freed sent returned handed"
                                   + (f" {t.quantity.words}" if t.quantity and t.quantity.words
                                      else "")),
                     t.evidence, note_targets=[t.id, *( [t.subject] if t.subject else [])])
        if d.brokers:
            brokers = [self.name(x) for x in d.brokers]
            self.add(FactRow(f"{d.id}#brokers", "deal", ("person", "organisation", "actor"),
                             f"{_join(brokers)} brokered the {kind}.", d.title, d.brokers[0],
                             tuple(d.brokers), (),
                             words=f"brokered broker negotiated {self.names_words(d.brokers)}"),
                     d.evidence, note_targets=[d.id])
        self.add(FactRow(f"{d.id}#parties", "deal", ("organisation", "place", "actor"),
                         f"The parties to the {kind} were "
                         f"{_join([self.name(p) for p in d.parties])}.", d.title,
                         d.parties[0], tuple(d.parties), tuple(parts),
                         words=f"parties countries involved {self.names_words(d.parties)}"),
                 d.evidence, note_targets=[d.id])
        self.add(FactRow(f"{d.id}#status", "deal", ("event",),
                         f"The {kind} is {d.status.value.replace('-', ' ')}.", d.title,
                         "", tuple(d.parties), tuple(parts)), d.evidence)
        self.add(FactRow(f"{d.id}#summary", "deal", ("event", "summary"),
                         f"{d.title}: " + "; ".join(parts) + ".", d.title, "",
                         tuple(d.parties), ()), d.evidence, note_targets=[d.id])
        for j, basis in enumerate(d.legal_basis):
            law = self.entities[basis.law]
            self.add(FactRow(f"{d.id}#law{j}", "law", ("law", "reason"),
                             f"{law.name}: {_strip_end(basis.text)}.", law.name, law.id,
                             (law.id,), (law.description,)),
                     basis.evidence, note_targets=[law.id])
        for j, cond in enumerate(d.conditions):
            self.add(FactRow(f"{d.id}#condition{j}", "deal", ("reason", "event"),
                             f"A condition of the {kind}: {_strip_end(cond.text)}.", d.title),
                     cond.evidence)

    def quotes(self) -> None:
        for q in self.b.quotes:
            how = ", translated" if q.translation else ""
            how += ", paraphrased" if q.paraphrase else ""
            speaker = self.name(q.speaker)
            detail = [f"**{speaker}**, in {q.said_in}{how}:", f"“{q.text}”"]
            if q.note:
                detail.append(f"-# {q.note}")
            self.add(FactRow(q.id, "quote", ("quote", "speaker"),
                             f"{speaker} said, in {q.said_in}{how}: “{_strip_end(q.text)}”.",
                             f"{speaker}, in {q.said_in}", q.speaker, (q.speaker,),
                             tuple(detail), words=f"said say says stated {q.said_in} {q.note or ''}"
                             f" {self.names_words([q.speaker])}"),
                     q.evidence, note_targets=[q.id])

    def claims(self) -> None:
        for c in self.b.claims:
            # No claimant: the source names nobody, and neither does the statement.
            who = self.name(c.claimant)
            text = _strip_end(c.text)
            if not c.claimant:
                status = c.status.value
                # "named" is a synonym of "called": the index's words say "attributed to no
                # one", so "what did X call ..." does not match the absence of a name.
                lead = f"Reported, attributed to no one ({status}): {_lower_first(text)}."
                if c.contradicting:
                    lead = lead[:-1] + f"; against it: “{_strip_end(c.contradicting[0].quote)}”."
                self.add(FactRow(c.id, "claim", ("claim", "reason"), lead,
                                 f"Claim attributed to no one ({status})", "", tuple(c.about),
                                 (f"Attributed to no one: {c.text}",),
                                 # Nobody is named as saying it: no "said" to match.
                                 words="claim claims reported " + self.names_words(c.about)),
                         c.evidence, c.contradicting, note_targets=[c.id])
                continue
            if c.status.value == "disputed" and c.contradicting:
                against = c.contradicting[0]
                reporters = _join([self.sources[s].publisher.split(" (")[0]
                                   for s in against.reported_by]) or "the record"
                lead = (f"Disputed: {who} claims {_lower_first(text)}; {reporters} reported it "
                        f"as made without evidence" if "without evidence" in against.quote
                        else f"Disputed: {who} claims {_lower_first(text)}; against it, "
                             f"{reporters}: “{_strip_end(against.quote)}”") + "."
            elif c.status.value == "confirmed":
                lead = f"{text} ({who}; confirmed)."
            else:
                lead = f"According to {who}, {_lower_first(text)}."
            self.add(FactRow(c.id, "claim", ("claim", "speaker", "reason"), lead,
                             f"Claim by {who} ({c.status.value})", c.claimant,
                             (c.claimant, *c.about), (f"{who}: {c.text}",),
                             words="claim claims said says "
                                   + self.names_words([c.claimant, *c.about])),
                     c.evidence, c.contradicting, note_targets=[c.id])

    def discrepancies(self) -> None:
        for d in self.b.discrepancies:
            targets = [t for t in d.applies_to if t in self.entities]
            self.add(FactRow(d.id, "discrepancy", ("discrepancy", f"severity-{d.severity.value}"),
                             f"{d.topic}: {_strip_end(d.record_says.text)}.",
                             f"Where the record differs: {d.topic}", targets[0] if targets else "",
                             tuple(targets),
                             (f"The article: {d.source_says.text}",
                              f"The record: {d.record_says.text}"),
                             words=f"article wrong error mistake correct right {d.severity.value} "
                                   f"{d.source_says.text} {self.names_words(targets)}"),
                     [*d.record_says.evidence, *d.source_says.evidence])

    def source_facts(self) -> None:
        reported = [s for s in self.b.sources if s.id != self.b.primary_source and not s.text]
        if reported:
            names = [s.publisher for s in reported]
            self.add(FactRow("sources#list", "source", ("source", "organisation"),
                             f"Besides the article, the briefing's record cites {_join(names)}.",
                             "Sources", "", (), tuple(f"{s.publisher}: {s.title}"
                                                      for s in reported),
                             words="sources outlets reports reported news media"))
        for s in self.b.sources:
            if not s.notes:
                continue
            self.add(FactRow(f"{s.id}#source", "source", ("source", "organisation"),
                             f"{s.publisher} (reliability: {s.reliability.value}): "
                             f"{_strip_end(s.notes)}.", s.title, "", (),
                             (*((f"Address of the copy read: {s.url}",) if s.url else ()),
                              *(f"Also read at: {c.url}" + (f" ({c.note})" if c.note else "")
                                for c in s.copies),
                              *(f"Reliability for {r.what}: {r.reliability.value}"
                                for r in s.reliability_for)),
                             words=f"{s.publisher} {s.title} source reliable reliability "
                                   f"{s.reliability.value} reported said"))

    def summary(self) -> None:
        b = self.b
        evidence = b.deal.evidence if b.deal else []
        self.add(FactRow("briefing#summary", "briefing", ("summary", "event"),
                         _strip_end(b.summary) + ".", b.title, "",
                         tuple(b.deal.parties) if b.deal else (), (),
                         words="story about summary happened overview"), evidence)

    def editor_facts(self) -> None:
        for f in self.b.facts:
            self.add(FactRow(f.id, "fact", tuple(t.value for t in f.types) or ("any",),
                             _strip_end(f.statement) + ".", "From the briefing's editors",
                             f.about[0] if f.about else "", tuple(f.about),
                             questions=tuple(f.questions), gap=f.gap),
                     f.evidence)  # an editor's statement already says what the record says

    def run(self) -> list[FactRow]:
        self.summary()
        for e in self.b.entities:
            self.entity(e)
        for ev in self.b.events:
            self.event(ev)
        self.deal()
        self.quotes()
        self.claims()
        self.discrepancies()
        self.source_facts()
        self.editor_facts()
        return self.rows


def derive_facts(item: LoadedBriefing) -> list[FactRow]:
    """Every statement the briefing supports, in a stable order (records first, then editors')."""
    return _Deriver(item).run()
