"""The bundled briefing and its two source texts, read straight from data/ for the tests.

Tests take their expectations from here (the YAML as ``yaml.safe_load`` reads it, and the
sources' own words), never from the renderers' output. Everything is read once and cached, and
the same objects are shared by every test module: read them, never change them.

``tests/`` is not a package; import as ``from tests.briefing_data import ...``.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[1]
DATA = REPO / "data"
BRIEFING_NAME = "prisoner-exchange-2025.yaml"
BRIEFING = DATA / "briefings" / BRIEFING_NAME
ARTICLE = DATA / "sources" / "article.txt"
RECORD = DATA / "sources" / "record.md"
SOURCES = {"article": ARTICLE, "record": RECORD}


@functools.cache
def briefing() -> dict[str, Any]:
    """The bundled briefing, as ``yaml.safe_load`` reads it (cached; do not modify)."""
    return yaml.safe_load(BRIEFING.read_text(encoding="utf-8"))


def collapse(text: str) -> str:
    """``text`` with every run of white space made one space, and none at either end."""
    return " ".join(text.split())


@functools.cache
def source_text(source_id: str) -> str:
    """The text of the source ``"article"`` or ``"record"``, white space collapsed (cached)."""
    return collapse(SOURCES[source_id].read_text(encoding="utf-8"))


def article() -> str:
    """The article's text, white space collapsed (cached)."""
    return source_text("article")


def record() -> str:
    """The record's text, white space collapsed (cached)."""
    return source_text("record")


def by_id(kind: str, ident: str) -> dict[str, Any]:
    """The first item with id ``ident`` in the briefing's top-level list ``kind``."""
    found = next((x for x in briefing()[kind] if x["id"] == ident), None)
    if found is None:
        raise LookupError(f"the briefing has no {kind} with id {ident!r}")
    return found


def entity(ident: str) -> dict[str, Any]:
    """The entity with id ``ident``."""
    return by_id("entities", ident)


def name_of(ident: str) -> str:
    """The name of the entity with id ``ident``."""
    return entity(ident)["name"]


def event(ident: str) -> dict[str, Any]:
    """The event with id ``ident``."""
    return by_id("events", ident)


def notes_for(target: str) -> list[dict[str, Any]]:
    """The discrepancies whose ``applies_to`` names ``target`` (an id), in briefing order."""
    return [d for d in briefing()["discrepancies"] if target in d["applies_to"]]


def transfer_to(receiver: str) -> dict[str, Any]:
    """The deal's one transfer to ``receiver`` (an entity id); fails unless there is exactly one."""
    (t,) = [t for t in briefing()["deal"]["transfers"] if t.get("receiver") == receiver]
    return t
