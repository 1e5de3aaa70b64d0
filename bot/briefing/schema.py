"""The briefing format: pydantic models for one YAML file per news story.

Every model forbids unknown keys, so a misspelt field is an error rather than a silently
ignored value. Cross-references and evidence quotes are checked by the loader, which knows
where the source texts live; the models check only what a single record can know.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

SCHEMA_VERSION = 1

Id = Annotated[
    str,
    StringConstraints(pattern=r"^[a-z0-9][a-z0-9-]{0,63}$"),
    Field(description="Lower-case id: letters, digits and hyphens, unique within the briefing."),
]
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]
ShortText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
#: The largest integer SQLite stores (a signed 64-bit integer); a larger one cannot be built.
SQLITE_MAX_INT = 2**63 - 1
Count = Annotated[int, Field(ge=0, le=SQLITE_MAX_INT)]


class Model(BaseModel):
    """Base for every briefing record: unknown keys are errors, values are immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class Reliability(StrEnum):
    # The briefing's own source: reported as it stands, checked against the rest.
    primary = "primary"
    high = "high"
    medium = "medium"
    low = "low"


class Evidence(Model):
    """An exact quote from a source we hold the text of; the loader finds its sentence."""

    source: Id = Field(description="Id of a source that has a text file.")
    quote: Annotated[str, StringConstraints(min_length=3, max_length=1000)] = Field(
        description="Exact words from the source text (white space may differ)."
    )
    reported_by: list[Id] = Field(
        default_factory=list,
        description="Sources the quoted passage attributes the fact to (e.g. AP, via the record).",
    )
    note: ShortText | None = Field(
        default=None,
        description="A note on this one citation, shown with it under Sources (e.g. "
                    "'translated', 'the article's wording; AP differs').")


class Evidenced(Model):
    evidence: list[Evidence] = Field(min_length=1, description="Where this comes from.")


class Copy(Model):
    """Another place the same source was read (a reprint, an archive copy)."""

    url: ShortText = Field(description="Address where this copy was read.")
    date: dt.date | None = None
    note: ShortText | None = Field(default=None, description="What this copy is, or what was "
                                   "read in it, e.g. 'archive copy'.")


class ReliabilityFor(Model):
    """A reliability that differs from the source's own for one kind of statement."""

    what: ShortText = Field(description="What this rating covers, e.g. 'its figure of 80'.")
    reliability: Reliability


class Source(Model):
    id: Id
    title: ShortText
    publisher: ShortText
    date: dt.date | None = None
    url: ShortText | None = Field(default=None, description="Address where the copy was read.")
    copies: list[Copy] = Field(
        default_factory=list, description="Other addresses where the same source was read.")
    reliability: Reliability
    reliability_for: list[ReliabilityFor] = Field(
        default_factory=list,
        description="Where the source is trusted more or less than `reliability` says.")
    text: ShortText | None = Field(
        default=None, description="File under data/sources/ holding the text, when we hold it."
    )
    notes: Text | None = None


class EntityKind(StrEnum):
    person = "person"
    organisation = "organisation"
    government = "government"
    country = "country"
    city = "city"
    place = "place"
    facility = "facility"
    law = "law"
    group = "group"
    platform = "platform"


class Role(Model):
    title: ShortText
    organisation: Id | None = Field(default=None, description="Entity id of the organisation.")
    evidence: list[Evidence] = Field(min_length=1)


class Entity(Evidenced):
    id: Id
    kind: EntityKind
    name: ShortText
    aliases: list[ShortText] = Field(default_factory=list)
    roles: list[Role] = Field(default_factory=list)
    description: Text


class Precision(StrEnum):
    day = "day"
    month = "month"
    year = "year"
    approximate = "approximate"
    relative = "relative"


class When(Model):
    date: dt.date | None = Field(default=None, description="The date, as precise as `precision`.")
    precision: Precision
    text: ShortText | None = Field(
        default=None, description="How the source words it, e.g. 'later today'."
    )
    order: int = Field(ge=0, le=SQLITE_MAX_INT,
                       description="Position in the timeline; ties keep file order.")

    @model_validator(mode="after")
    def _date_fits_precision(self) -> When:
        if self.precision in (Precision.day, Precision.month, Precision.year) and not self.date:
            raise ValueError(f"precision '{self.precision}' needs a date")
        if self.precision is Precision.relative and not self.text:
            raise ValueError("precision 'relative' needs the source's wording in 'text'")
        if self.date and not (dt.date(1700, 1, 1) <= self.date <= dt.date(2100, 12, 31)):
            raise ValueError(f"date {self.date} is outside 1700-2100")
        return self


class Event(Evidenced):
    id: Id
    title: ShortText = Field(description="What happened, in one line.")
    when: When
    where: list[Id] = Field(default_factory=list, description="Entity ids of places.")
    participants: list[Id] = Field(default_factory=list)
    details: Text | None = None


class Quantity(Model):
    value: Count | None = Field(default=None, description="The figure; leave out when the "
                                "sources give only words ('a considerable number').")
    words: ShortText | None = Field(
        default=None, description="How the source puts it in words, e.g. 'a considerable "
                                  "number': shown as written, never turned into a figure.")
    approximate: bool = False
    low: Count | None = Field(default=None, description="Lowest figure reported elsewhere.")
    high: Count | None = Field(default=None, description="Highest figure reported elsewhere.")
    unit: ShortText = "people"

    @model_validator(mode="after")
    def _bounds(self) -> Quantity:
        if self.value is None:
            if self.words is None:
                raise ValueError("a quantity needs a 'value', its 'words', or both")
            if self.low is not None or self.high is not None or self.approximate:
                raise ValueError("'low', 'high' and 'approximate' qualify a 'value'; "
                                 "a quantity in words only has none")
            return self
        if self.low is not None and self.low > self.value:
            raise ValueError(f"low ({self.low}) is above value ({self.value})")
        if self.high is not None and self.high < self.value:
            raise ValueError(f"high ({self.high}) is below value ({self.value})")
        return self


class Transfer(Evidenced):
    id: Id
    giver: Id
    receiver: Id | None = Field(
        default=None, description="Entity id of who received it; leave out for a release "
                                  "(freed, not handed to anyone).")
    what: ShortText
    subject: Id | None = Field(default=None, description="Entity id of who or what is handed over.")
    quantity: Quantity | None = None


class Condition(Evidenced):
    text: Text


class LegalBasis(Evidenced):
    law: Id
    text: Text


class DealStatus(StrEnum):
    proposed = "proposed"
    announced = "announced"
    in_progress = "in-progress"
    completed = "completed"


class Deal(Evidenced):
    id: Id
    kind: ShortText
    title: ShortText
    parties: list[Id] = Field(min_length=2)
    transfers: list[Transfer] = Field(min_length=1)
    brokers: list[Id] = Field(default_factory=list)
    legal_basis: list[LegalBasis] = Field(default_factory=list)
    status: DealStatus
    conditions: list[Condition] = Field(default_factory=list)


class Quote(Evidenced):
    id: Id
    speaker: Id
    text: Text = Field(description="Exact words as the source prints them.")
    said_in: ShortText = Field(description="Where it was said, e.g. 'a post on X'.")
    translation: bool = False
    paraphrase: bool = False
    note: Text | None = None


class ClaimStatus(StrEnum):
    reported = "reported"
    attributed = "attributed"
    disputed = "disputed"
    confirmed = "confirmed"


class Claim(Evidenced):
    id: Id
    text: Text
    claimant: Id | None = Field(
        default=None, description="Entity id of who makes the claim; leave out when the "
                                  "source names nobody ('It was reported that ...').")
    status: ClaimStatus
    about: list[Id] = Field(default_factory=list, description="Ids of records it is about.")
    contradicting: list[Evidence] = Field(default_factory=list)

    @model_validator(mode="after")
    def _disputed_needs_contradiction(self) -> Claim:
        if self.status is ClaimStatus.disputed and not self.contradicting:
            raise ValueError("a disputed claim needs 'contradicting' evidence")
        if self.status is ClaimStatus.attributed and self.claimant is None:
            raise ValueError("an attributed claim needs a 'claimant'; a claim the source "
                             "attributes to nobody is 'reported'")
        return self


class Severity(StrEnum):
    typo = "typo"
    imprecise = "imprecise"
    wrong = "wrong"
    omission = "omission"


class Statement(Evidenced):
    text: Text


class Discrepancy(Model):
    id: Id
    topic: ShortText
    severity: Severity
    applies_to: list[Id] = Field(min_length=1, description="Records this note belongs beside.")
    source_says: Statement = Field(description="The primary source's own words, kept as they are.")
    record_says: Statement = Field(description="What other reports say, with their citations.")


class AnswerType(StrEnum):
    """What kind of answer a fact gives: matched against the kind of answer a question wants."""

    person = "person"
    organisation = "organisation"
    place = "place"
    date = "date"
    quantity = "quantity"
    money = "money"
    law = "law"
    reason = "reason"
    quote = "quote"
    claim = "claim"
    discrepancy = "discrepancy"
    description = "description"
    event = "event"
    source = "source"


class Fact(Evidenced):
    """A citable statement the derived facts miss, written by an editor.

    Every record already yields facts (an entity's roles, an event's date and place, each
    transfer, quote, claim and discrepancy); add one here only for what those miss, e.g. what
    a source says about another source, or a plain statement of what the sources do not say.
    """

    id: Id
    statement: Text = Field(description="The answer, as the first sentence a member reads.")
    types: list[AnswerType] = Field(
        default_factory=list,
        description="Kinds of question it answers (who, when, how many ...); empty: any.")
    about: list[Id] = Field(default_factory=list, description="Entity ids it is about.")
    questions: list[ShortText] = Field(
        default_factory=list, description="Questions it answers, in members' own words.")
    gap: bool = Field(
        default=False,
        description="True when the statement says what the sources do NOT say (e.g. that an "
                    "official is unnamed): questions it matches get an honest 'not known'.")


class Briefing(Model):
    """One news story: its sources and every sourced fact about it."""

    id: Id
    title: ShortText
    summary: Text
    language: Annotated[str, StringConstraints(pattern=r"^[a-z]{2}(-[A-Z]{2})?$")] = "en"
    version: Annotated[str, StringConstraints(pattern=r"^\d+(\.\d+){0,2}$")]
    updated: dt.date
    primary_source: Id
    sources: list[Source] = Field(min_length=1)
    entities: list[Entity] = Field(default_factory=list)
    events: list[Event] = Field(default_factory=list)
    deal: Deal | None = None
    quotes: list[Quote] = Field(default_factory=list)
    claims: list[Claim] = Field(default_factory=list)
    discrepancies: list[Discrepancy] = Field(default_factory=list)
    facts: list[Fact] = Field(default_factory=list)


def json_schema() -> dict[str, object]:
    """The JSON Schema of a briefing file, for editors' completion and validation."""
    schema = Briefing.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "Briefing Bot briefing file"
    return schema
