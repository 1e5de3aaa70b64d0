"""What a member can reach from an answer: its card pages, then its Sources and Notes pages.

The Sources and Notes pages are what the card's buttons show (see bot.discord_app.components);
tests that check an answer's evidence read them through these helpers.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from bot.briefing.store import Store
from bot.render.cards import card_title, footnote_pages, note_pages
from bot.render.pages import Pages

Json = dict[str, Any]
_MARK = re.compile(r"\[(\d+)\]")


@dataclass
class Reached:
    card: list[Json]
    sources: list[Json]
    notes: list[Json]

    @property
    def all(self) -> list[Json]:
        return [*self.card, *self.sources, *self.notes]

    def footnote(self, number: int) -> tuple[str, str]:
        """(sentence, attribution) of footnote `number`, as the Sources pages show it."""
        for page in self.sources:
            for item in page["embeds"][0].get("fields", []):
                if item["name"].startswith(f"[{number}] "):
                    m = re.search(r"> “(.+)”\n> — \*(.+)\*", item["value"], re.S)
                    assert m, item["value"]
                    return m.group(1), m.group(2)
        raise AssertionError(f"footnote [{number}] is not on the Sources pages")

    def resolve(self, text: str) -> list[tuple[str, str]]:
        """The footnotes that the markers in `text` point to."""
        return [self.footnote(int(n)) for n in _MARK.findall(text)]


async def reach(store: Store, pages: list[Json]) -> Reached:
    """The card and what its Sources and Notes buttons show."""
    async with store.snapshot() as snap:
        sources = await snap.sources()
    if not isinstance(pages, Pages):
        return Reached(list(pages), [], [])
    title = card_title(pages)
    return Reached(list(pages), list(footnote_pages(pages, sources, title)),
                   list(note_pages(pages, title)))


def markers(text: str) -> list[int]:
    return [int(n) for n in _MARK.findall(text)]
