"""Text helpers shared by the loader, the store and the router: folding and sentences."""

from __future__ import annotations

import bisect
import re
import unicodedata
from dataclasses import dataclass

# A sentence ends at . ! or ? (optionally followed by a closing quote or bracket) when the next
# word starts with a capital, a digit or an opening quote. "U.S. citizens" stays one sentence.
_SENTENCE_END = re.compile(r"(?<=[.!?])[\"'”’)\]]*\s+(?=[\"“'‘(\[]?[A-Z0-9À-Ý])")
# Markdown structure that always starts a new sentence: headings, list items, blank lines.
# Markdown wraps paragraphs, so a lone line break is only a space there; in plain text every
# line is a paragraph of its own (headlines carry no full stop).
_MD_BLOCK = re.compile(r"\n\s*\n|\n(?=\s*(?:#+\s|[-*]\s|\d+\.\s))")
_TEXT_BLOCK = re.compile(r"\n")


def collapse(text: str) -> str:
    """Collapse every run of white space to one space and strip the ends."""
    # str.split() splits on exactly what `\s` matches in a str pattern (str.isspace), and is
    # several times faster than the substitution: a build collapses every quote and name.
    return " ".join(text.split())


def fold(text: str) -> str:
    """Case- and accent-insensitive key: 'Maiquetía' and 'MAIQUETIA' fold alike."""
    if text.isascii():  # nearly every call: nothing to decompose or strip
        return collapse(text.lower())
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    # Each distinct character is looked at once (a build folds every statement it derives).
    marks = {ord(ch): None for ch in set(decomposed) if unicodedata.combining(ch)}
    return collapse(decomposed.translate(marks) if marks else decomposed)


@dataclass(frozen=True, slots=True)
class SourceText:
    """A source's text, white space collapsed, with its sentence boundaries."""

    text: str
    starts: tuple[int, ...]  # offset of each sentence in `text`
    ends: tuple[int, ...]
    # Where each block (paragraph, heading, list item) ends in `text`: a quote may span
    # sentences of one block, never two blocks, whose words never stood together.
    block_ends: tuple[int, ...] = ()

    @classmethod
    def parse(cls, raw: str, *, markdown: bool = False) -> SourceText:
        starts: list[int] = []
        ends: list[int] = []
        block_ends: list[int] = []
        pieces: list[str] = []
        offset = 0
        for block in (_MD_BLOCK if markdown else _TEXT_BLOCK).split(raw):
            block = re.sub(r"^\s*(?:#+|[-*]|\d+\.)\s+", "", block.strip())
            block = collapse(block)
            if not block:
                continue
            for sentence in _SENTENCE_END.split(block):
                sentence = sentence.strip()
                if not sentence:
                    continue
                if pieces:
                    pieces.append(" ")
                    offset += 1
                starts.append(offset)
                pieces.append(sentence)
                offset += len(sentence)
                ends.append(offset)
            if ends and (not block_ends or block_ends[-1] != ends[-1]):
                block_ends.append(ends[-1])
        return cls("".join(pieces), tuple(starts), tuple(ends), tuple(block_ends))

    def find(self, quote: str) -> int:
        """Offset of `quote` (white space collapsed) within one block of the text, or -1."""
        needle = collapse(quote)
        at = self.text.find(needle)
        while at >= 0 and needle:
            # The block holding the quote's first character must also hold its last.
            block = bisect.bisect_right(self.block_ends, at)
            if block >= len(self.block_ends) or at + len(needle) <= self.block_ends[block]:
                return at
            at = self.text.find(needle, at + 1)
        return at

    def sentence_around(self, quote: str) -> str | None:
        """The whole sentence (or sentences) containing `quote`, or None when absent."""
        needle = collapse(quote)
        at = self.find(needle)
        if at < 0 or not needle:
            return None
        first = max(bisect.bisect_right(self.starts, at) - 1, 0)
        last = max(bisect.bisect_left(self.ends, at + len(needle)), first)
        last = min(last, len(self.ends) - 1)
        return self.text[self.starts[first] : self.ends[last]]
