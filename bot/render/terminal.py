"""Show message payloads in a terminal: the same pages Discord would show, as plain text."""

from __future__ import annotations

import re
import textwrap
from collections.abc import Sequence
from typing import Any

from .buttons import button_line

# Only unescaped asterisks format: a query "2*3*4" arrives escaped as "2\*3\*4".
_BOLD = re.compile(r"(?<!\\)\*\*(.+?)(?<!\\)\*\*")
_ITALIC = re.compile(r"(?<![\\*])\*(?!\*)(.+?)(?<![\\*])\*(?!\*)")


_ESCAPED = re.compile(r"\\([\\*_~`|>#\[\]()-])")


def _plain(text: str) -> str:
    text = text.replace("\u200b", "")
    text = _BOLD.sub(r"\1", text)
    text = _ITALIC.sub(r"\1", text)
    text = re.sub(r"^-# ", "  ", text, flags=re.MULTILINE)
    return _ESCAPED.sub(r"\1", text)  # Markdown escapes are for Discord, not the terminal


def _wrap(text: str, indent: str, width: int) -> list[str]:
    out = []
    for line in _plain(text).split("\n"):
        quote = line.startswith("> ")
        body = line[2:] if quote else line
        prefix = indent + ("│ " if quote else "")
        out.extend(textwrap.wrap(body, width=width, initial_indent=prefix,
                                 subsequent_indent=prefix) or [prefix.rstrip()])
    return out


def to_text(pages: Sequence[dict[str, Any]], width: int = 88) -> str:
    """Render pages as readable text, page after page."""
    lines: list[str] = []
    for page in pages:
        if page.get("content"):
            lines.extend(_wrap(page["content"], "", width))
        for embed in page.get("embeds", []):
            if (embed.get("author") or {}).get("name"):
                lines.append(_plain(embed["author"]["name"]))  # the story the answer is from
            title = _plain(embed.get("title", ""))
            lines += [title, "═" * min(len(title), width)]
            if embed.get("description"):
                lines.extend(_wrap(embed["description"], "", width))
                lines.append("")
            for item in embed.get("fields", []):
                lines.append("▸ " + _plain(item["name"]))
                lines.extend(_wrap(item["value"], "  ", width))
                lines.append("")
            image = (embed.get("image") or {}).get("url", "")
            if image:
                # Where Discord shows the picture; `ask --files DIR` writes it out.
                lines.append(f"  [picture: {image.removeprefix('attachment://')}]")
            if embed.get("footer"):
                lines.append(f"  [{embed['footer']['text']}]")
        if page.get("components"):
            lines.append(button_line(page))
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"
