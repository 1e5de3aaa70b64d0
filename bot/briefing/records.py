"""What the store's queries return: plain, immutable records for the renderers.

They carry names rather than ids wherever a person reads them, and every fact carries its
citations and the discrepancy notes that belong beside it.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Citation:
    source_id: str
    source_title: str
    publisher: str
    reliability: str
    quote: str
    sentence: str
    reported_by: tuple[str, ...] = ()  # publishers the cited passage attributes the fact to
    note: str | None = None  # the editor's note on this one citation ("translated", ...)


@dataclass(frozen=True, slots=True)
class Note:
    """A discrepancy between the primary source and the record, shown beside the fact."""

    id: str
    topic: str
    severity: str
    source_says: str
    source_citations: tuple[Citation, ...]
    record_says: str
    record_citations: tuple[Citation, ...]


@dataclass(frozen=True, slots=True)
class EntityRef:
    id: str
    name: str
    kind: str
    briefing_id: str = ""


@dataclass(frozen=True, slots=True)
class RoleView:
    title: str
    organisation: str | None
    citations: tuple[Citation, ...]


@dataclass(frozen=True, slots=True)
class QuoteView:
    id: str
    speaker: EntityRef
    text: str
    said_in: str
    translation: bool
    paraphrase: bool
    note: str | None
    citations: tuple[Citation, ...]
    notes: tuple[Note, ...] = ()


@dataclass(frozen=True, slots=True)
class ClaimView:
    id: str
    text: str
    claimant: EntityRef | None  # None: the source names nobody ("It was reported that ...")
    status: str
    citations: tuple[Citation, ...]
    contradicting: tuple[Citation, ...]
    notes: tuple[Note, ...] = ()


@dataclass(frozen=True, slots=True)
class EventView:
    id: str
    title: str
    date: str | None
    precision: str
    when_text: str | None
    order: int
    where: tuple[EntityRef, ...]
    participants: tuple[EntityRef, ...]
    details: str | None
    citations: tuple[Citation, ...]
    notes: tuple[Note, ...] = ()


@dataclass(frozen=True, slots=True)
class Quantity:
    value: int | None  # None: the sources give only words
    approximate: bool
    low: int | None
    high: int | None
    unit: str
    words: str | None = None  # as the source puts it ("a considerable number"), never a figure


@dataclass(frozen=True, slots=True)
class TransferView:
    id: str
    giver: EntityRef
    receiver: EntityRef | None  # None: a release, not handed to anyone
    what: str
    subject: EntityRef | None
    quantity: Quantity | None
    citations: tuple[Citation, ...]
    notes: tuple[Note, ...] = ()


@dataclass(frozen=True, slots=True)
class Sourced:
    """A line of text with its citations (legal basis, conditions)."""

    text: str
    citations: tuple[Citation, ...]
    subject: EntityRef | None = None


@dataclass(frozen=True, slots=True)
class DealView:
    id: str
    kind: str
    title: str
    status: str
    parties: tuple[EntityRef, ...]
    brokers: tuple[EntityRef, ...]
    transfers: tuple[TransferView, ...]
    legal_basis: tuple[Sourced, ...]
    conditions: tuple[Sourced, ...]
    citations: tuple[Citation, ...]
    notes: tuple[Note, ...] = ()


@dataclass(frozen=True, slots=True)
class EntityView:
    ref: EntityRef
    description: str
    aliases: tuple[str, ...]
    roles: tuple[RoleView, ...]
    citations: tuple[Citation, ...]
    quotes: tuple[QuoteView, ...] = ()
    claims: tuple[ClaimView, ...] = ()
    events: tuple[EventView, ...] = ()
    notes: tuple[Note, ...] = ()


@dataclass(frozen=True, slots=True)
class EntitySummary:
    ref: EntityRef
    description: str
    roles: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Lookup:
    """The outcome of finding an entity from what a person typed."""

    query: str
    entity: EntityView | None = None
    matched: str | None = None  # the alias or role that matched, when it was not exact
    suggestions: tuple[EntityRef, ...] = ()


@dataclass(frozen=True, slots=True)
class SearchHit:
    kind: str  # entity, event, quote, claim, transfer, discrepancy, source
    ref_id: str
    title: str
    snippet: str
    citations: tuple[Citation, ...] = ()
    briefing_id: str = ""  # the story the hit comes from


@dataclass(frozen=True, slots=True)
class SourceCopy:
    """Another address where the same source was read."""

    url: str
    date: str | None
    note: str | None


@dataclass(frozen=True, slots=True)
class ReliabilityFor:
    """A reliability that differs from the source's own, for what `what` says."""

    what: str
    reliability: str


@dataclass(frozen=True, slots=True)
class SourceView:
    id: str
    title: str
    publisher: str
    date: str | None
    url: str | None
    reliability: str
    has_text: bool
    cited: int  # how many citations rest on it, directly or as a reporter
    copies: tuple[SourceCopy, ...] = ()
    reliability_for: tuple[ReliabilityFor, ...] = ()


@dataclass(frozen=True, slots=True)
class Story:
    """One briefing as a story people choose: kept in memory by every snapshot."""

    id: str
    title: str
    summary: str
    version: str
    updated: str


@dataclass(frozen=True, slots=True)
class BriefingInfo:
    id: str
    title: str
    summary: str
    version: str
    updated: str
    primary_source: str
    counts: dict[str, int] = field(default_factory=dict)
