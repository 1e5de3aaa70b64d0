"""Pictures of the story: the deal as a diagram and the timeline as a strip (PNG).

Pure functions from the store's records to PNG bytes and a text description for screen
readers; no discord import and no I/O besides reading the bundled DejaVu fonts (which cover
the accents and names of any Latin, Greek or Cyrillic briefing). Drawn with Pillow.

Made to be read on a phone: 960 px wide (Discord shows an embed image at the full width of a
phone screen), type no smaller than 20 px, an opaque light card with a border so it reads the
same on Discord's dark and light themes, Okabe–Ito colours (safe for colour-blind readers),
and every distinction that colour makes is also made by a shape or a line style: solid for
exact, dashed for approximate. The same records always give the same bytes: nothing in the
PNG depends on the time or the machine's fonts.
"""

from __future__ import annotations

import datetime as dt
import functools
import io
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from ..briefing.records import DealView, EntityRef, EventView, Note, Quantity, TransferView

WIDTH = 960  # px of the PNG; Discord's phone preview scales it to the screen's width
SCALE = 2  # drawn at twice the size and scaled down: smooth lines and arrowheads
MARGIN = 32
DESCRIPTION_LIMIT = 1024  # Discord's limit for an attachment's description (alt text)
FONTS = Path(__file__).with_name("fonts")
FONT_FILES = {"regular": "DejaVuSans.ttf", "bold": "DejaVuSans-Bold.ttf",
              "italic": "DejaVuSans-Oblique.ttf"}

# Okabe–Ito: distinguishable with every common colour-vision deficiency.
BLUE = (0, 114, 178)
VERMILLION = (213, 94, 0)
GREEN = (0, 158, 115)
PURPLE = (204, 121, 167)
SKY = (86, 180, 233)
INK = (24, 24, 24)
MUTED = (80, 80, 80)
BACKGROUND = (250, 250, 246)
PANEL = (236, 236, 229)
BOX = (222, 237, 248)  # a pale tint of SKY: the parties
RULE = (175, 175, 168)
Colour = tuple[int, int, int]


@dataclass(frozen=True, slots=True)
class Picture:
    """A rendered picture: the PNG, its file name and the description screen readers read."""

    filename: str
    png: bytes
    description: str
    width: int
    height: int


# ---------------------------------------------------------------------------- drawing kit


@functools.lru_cache(maxsize=64)
def font(style: str, size: int) -> ImageFont.FreeTypeFont:
    """A bundled font; the basic layout engine keeps output independent of libraqm."""
    return ImageFont.truetype(str(FONTS / FONT_FILES[style]), size,
                              layout_engine=ImageFont.Layout.BASIC)


class Canvas:
    """Coordinates in output pixels; drawn at SCALE. Without an image it only measures, so
    each picture is laid out once to learn its height and again to draw it."""

    def __init__(self, height: int | None = None) -> None:
        self.image = (Image.new("RGB", (WIDTH * SCALE, height * SCALE), BACKGROUND)
                      if height else None)
        self.draw = ImageDraw.Draw(self.image) if self.image else None

    @staticmethod
    def length(text: str, style: str, size: int) -> float:
        return font(style, size * SCALE).getlength(text) / SCALE

    def wrap(self, text: str, style: str, size: int, width: float,
             max_lines: int = 3) -> list[str]:
        """Greedy word wrap to `width` px; the last line ends with an ellipsis when cut."""
        lines: list[str] = []
        current = ""
        for word in text.split():
            while self.length(word, style, size) > width:  # a word longer than the line
                cut = max(1, int(len(word) * width / self.length(word, style, size)) - 1)
                if current:
                    lines.append(current)
                    current = ""
                lines.append(word[:cut])
                word = word[cut:]
            candidate = f"{current} {word}".strip()
            if current and self.length(candidate, style, size) > width:
                lines.append(current)
                current = word
            else:
                current = candidate
        if current:
            lines.append(current)
        if len(lines) > max_lines:
            last = lines[max_lines - 1]
            while last and self.length(last + "…", style, size) > width:
                last = last[:-1].rstrip()
            lines = [*lines[: max_lines - 1], last + "…"]
        return lines or [""]

    def text(self, x: float, y: float, text: str, style: str, size: int, fill: Colour,
             anchor: str = "la") -> None:
        if self.draw:
            self.draw.text((x * SCALE, y * SCALE), text, font=font(style, size * SCALE),
                           fill=fill, anchor=anchor)

    def rect(self, box: tuple[float, float, float, float], fill: Colour | None = None,
             outline: Colour | None = None, width: int = 0, radius: int = 0) -> None:
        if self.draw:
            scaled = tuple(v * SCALE for v in box)
            self.draw.rounded_rectangle(scaled, radius=radius * SCALE, fill=fill,
                                        outline=outline, width=width * SCALE)

    def line(self, points: Sequence[tuple[float, float]], fill: Colour, width: int,
             dash: tuple[int, int] | None = None) -> None:
        """A polyline; with `dash` (on, off in px) drawn dashed (Pillow has no dashes)."""
        if not self.draw:
            return
        for (x1, y1), (x2, y2) in zip(points, points[1:], strict=False):
            if dash is None:
                self.draw.line([(x1 * SCALE, y1 * SCALE), (x2 * SCALE, y2 * SCALE)],
                               fill=fill, width=width * SCALE)
                continue
            total = math.hypot(x2 - x1, y2 - y1)
            on, off = dash
            pos = 0.0
            while pos < total:
                end = min(pos + on, total)
                a, b = pos / total, end / total
                self.draw.line([((x1 + (x2 - x1) * a) * SCALE, (y1 + (y2 - y1) * a) * SCALE),
                                ((x1 + (x2 - x1) * b) * SCALE, (y1 + (y2 - y1) * b) * SCALE)],
                               fill=fill, width=width * SCALE)
                pos = end + off

    def dashed_rect(self, box: tuple[float, float, float, float], fill: Colour,
                    width: int) -> None:
        x1, y1, x2, y2 = box
        self.line([(x1, y1), (x2, y1), (x2, y2), (x1, y2), (x1, y1)], fill, width, (12, 8))

    def polygon(self, points: Sequence[tuple[float, float]], fill: Colour | None,
                outline: Colour | None = None, width: int = 0) -> None:
        if self.draw:
            self.draw.polygon([(x * SCALE, y * SCALE) for x, y in points], fill=fill,
                              outline=outline, width=width * SCALE)

    def ellipse(self, box: tuple[float, float, float, float], fill: Colour | None,
                outline: Colour | None = None, width: int = 0) -> None:
        if self.draw:
            self.draw.ellipse(tuple(v * SCALE for v in box), fill=fill, outline=outline,
                              width=width * SCALE)

    def arrow(self, x1: float, x2: float, y: float, dashed: bool) -> None:
        """A horizontal arrow from x1 to x2 (either way), its head at x2."""
        direction = 1 if x2 >= x1 else -1
        head = 24
        self.line([(x1, y), (x2 - direction * head, y)], BLUE, 6, (18, 10) if dashed else None)
        self.polygon([(x2, y), (x2 - direction * head, y - 13), (x2 - direction * head, y + 13)],
                     BLUE)

    def warning(self, x: float, y: float, size: int = 24) -> None:
        """The discrepancy marker: a vermillion triangle with an exclamation mark."""
        self.polygon([(x + size / 2, y), (x + size, y + size), (x, y + size)], VERMILLION)
        self.text(x + size / 2, y + size * 0.58, "!", "bold", int(size * 0.7), (255, 255, 255),
                  anchor="mm")

    def png(self) -> bytes:
        """The picture scaled to WIDTH, as PNG bytes with no metadata (so no timestamp)."""
        assert self.image is not None
        small = self.image.reduce(SCALE)  # a box filter: exact for an integer scale, and fast
        # 256 colours hold the flat fills and the anti-aliased edges; a third of the bytes.
        small = small.quantize(colors=256, method=Image.Quantize.FASTOCTREE,
                               dither=Image.Dither.NONE)
        out = io.BytesIO()
        small.save(out, format="PNG", compress_level=7)
        return out.getvalue()


def _finish(layout: Callable[[Canvas], float], filename: str, description: str) -> Picture:
    """Lay out once to measure (`layout` returns the bottom), then draw at that height."""
    height = int(math.ceil(layout(Canvas()))) + MARGIN
    canvas = Canvas(height)
    canvas.rect((1, 1, WIDTH - 2, height - 2), outline=RULE, width=2, radius=14)
    layout(canvas)
    return Picture(filename, canvas.png(), _clip(description), WIDTH, height)


def _clip(text: str, limit: int = DESCRIPTION_LIMIT) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _heading(canvas: Canvas, y: float, title: str, subtitle: str) -> float:
    for line in canvas.wrap(title, "bold", 34, WIDTH - 2 * MARGIN, 2):
        canvas.text(MARGIN, y, line, "bold", 34, INK)
        y += 44
    if subtitle:
        for line in canvas.wrap(subtitle, "regular", 24, WIDTH - 2 * MARGIN, 2):
            canvas.text(MARGIN, y + 2, line, "regular", 24, MUTED)
            y += 32
    return y + 16


# ---------------------------------------------------------------------------- the deal


def quantity_label(q: Quantity) -> str:
    """'about 250 people (238–252)': the figure, and the range other reports give."""
    if q.value is None:  # only words: shown as the source puts them, never as a number
        return f"“{q.words}”"
    text = f"{'about ' if q.approximate else ''}{q.value:,} {q.unit}".strip()
    low = q.low if q.low is not None else q.value
    high = q.high if q.high is not None else q.value
    if (low, high) != (q.value, q.value):
        text += f" ({low:,}–{high:,})"
    return text


def _key(ref: EntityRef) -> tuple[str, str]:
    return (ref.briefing_id, ref.id)


def _taker(t: TransferView) -> EntityRef | None:
    """Where a transfer's arrow ends: its receiver, or for a release (no receiver) the
    freed themselves, when the briefing names them."""
    return t.receiver or t.subject


def _columns(deal: DealView) -> list[EntityRef]:
    """Who gets a box: everyone in a transfer in order of appearance, then other parties."""
    seen: dict[tuple[str, str], EntityRef] = {}
    for t in deal.transfers:
        for ref in (t.giver, _taker(t)):
            if ref is not None:
                seen.setdefault(_key(ref), ref)
    for ref in deal.parties:
        seen.setdefault(_key(ref), ref)
    return list(seen.values())


def _note_lines(canvas: Canvas, x: float, y: float, notes: Sequence[Note], width: float,
                size: int = 22) -> float:
    for note in notes[:3]:
        lines = canvas.wrap(f"The record differs: {note.topic}", "bold", size, width - 36, 2)
        canvas.warning(x, y + 1, size + 2)
        for line in lines:
            canvas.text(x + 36, y, line, "bold", size, VERMILLION)
            y += size + 8
    return y


def _transfer_block(canvas: Canvas, t: TransferView, centre: float, y: float) -> float:
    """The label above a transfer's arrow, centred on it and kept inside the card."""
    width = WIDTH - 2 * MARGIN - 40
    rows: list[tuple[str, str, int, Colour]] = []
    if t.quantity:
        rows.append((quantity_label(t.quantity), "bold", 30, INK))
    rows += [(line, "regular", 25, INK) for line in canvas.wrap(t.what, "regular", 25, width, 2)]
    block_w = max(canvas.length(text, style, size) for text, style, size, _ in rows)
    notes = t.notes[:2]
    if notes:
        block_w = max(block_w, *(min(width, canvas.length(f"The record differs: {n.topic}",
                                                          "bold", 22) + 36) for n in notes))
    left = min(max(centre - block_w / 2, MARGIN + 20), WIDTH - MARGIN - 20 - block_w)
    height = sum(size + 10 for _, _, size, _ in rows) + sum(
        30 * len(canvas.wrap(f"The record differs: {n.topic}", "bold", 22, width - 36, 2))
        for n in notes)
    # The label sits on the card's colour, so the lifelines behind it do not cross the words.
    canvas.rect((left - 10, y - 6, left + block_w + 10, y + height), fill=BACKGROUND)
    for text, style, size, colour in rows:
        canvas.text(left + (block_w - canvas.length(text, style, size)) / 2, y, text, style,
                    size, colour)
        y += size + 10
    if notes:
        y = _note_lines(canvas, left, y, notes, block_w)
    return y


def deal_card(deal: DealView, filename: str = "deal.png") -> Picture:
    """The deal as a diagram: parties as boxes, each transfer an arrow from giver to receiver
    labelled with what moved and how many; brokers, legal basis and conditions apart below."""
    columns = _columns(deal)
    party_keys = {_key(p) for p in deal.parties}
    shown_notes = {n.id for t in deal.transfers for n in t.notes}
    deal_notes = [n for n in deal.notes if n.id not in shown_notes]
    approximate = any(t.quantity and t.quantity.approximate for t in deal.transfers)
    outsiders = any(_key(c) not in party_keys for c in columns)
    inner = WIDTH - 2 * MARGIN
    col_w = inner / max(1, len(columns))
    box_size = 26 if col_w >= 200 else 22 if col_w >= 160 else 20

    def centre(ref: EntityRef) -> float:
        index = next(i for i, c in enumerate(columns) if _key(c) == _key(ref))
        return MARGIN + col_w * (index + 0.5)

    def layout(canvas: Canvas) -> float:
        y = _heading(canvas, MARGIN, deal.title,
                     f"{deal.kind.capitalize()} · {deal.status} · who gave what to whom")
        # The boxes: one per party (and per other receiver, dashed).
        labels = [canvas.wrap(c.name, "bold", box_size, col_w - 34, 3) for c in columns]
        box_h = 24 + (box_size + 8) * max((len(lines) for lines in labels), default=1)
        for i, (ref, lines) in enumerate(zip(columns, labels, strict=True)):
            x1, x2 = MARGIN + col_w * i + 8, MARGIN + col_w * (i + 1) - 8
            if _key(ref) in party_keys:
                canvas.rect((x1, y, x2, y + box_h), fill=BOX, outline=BLUE, width=3, radius=12)
            else:
                canvas.dashed_rect((x1, y, x2, y + box_h), MUTED, 3)
            ty = y + (box_h - (box_size + 8) * len(lines)) / 2 + 2
            for line in lines:
                canvas.text((x1 + x2) / 2, ty, line, "bold", box_size, INK, anchor="ma")
                ty += box_size + 8
        top = y + box_h
        y = top + 26
        # The transfers: drawn after measuring, so the lifelines go behind the labels.
        rows: list[tuple[TransferView, float]] = []
        for t in deal.transfers:
            label_end = _transfer_block(Canvas(), t, 0, y)
            rows.append((t, y))
            y = label_end + 12 + 44
        bottom = y - 30 if deal.transfers else top
        for ref in columns:
            x = centre(ref)
            canvas.line([(x, top), (x, bottom)], RULE, 3, (10, 8))
        for t, ty in rows:
            taker = _taker(t)
            a = centre(t.giver)
            b = centre(taker) if taker is not None else a
            if a == b:  # a record of something moving within one party: a short arrow
                b = a + col_w * 0.4
            label_end = _transfer_block(canvas, t, (a + b) / 2, ty)
            canvas.arrow(a, b, label_end + 12, dashed=bool(t.quantity and t.quantity.approximate))
        y = bottom + 24
        # Apart from the arrows: who brokered it, under which law, on what conditions.
        panels: list[tuple[str, list[tuple[str, str]]]] = []
        if deal.brokers:
            panels.append(("BROKERED BY", [(", ".join(b.name for b in deal.brokers), "")]))
        if deal.legal_basis:
            panels.append(("LEGAL BASIS", [(s.subject.name if s.subject else "", s.text)
                                           for s in deal.legal_basis[:3]]))
        if deal.conditions:
            panels.append(("CONDITIONS", [("", s.text) for s in deal.conditions[:3]]))
        for heading, items in panels:
            y = _panel(canvas, y, heading, items)
        if deal_notes:
            y = _note_lines(canvas, MARGIN, y + 4, deal_notes, inner) + 8
        # The legend, for what the line styles and shapes mean.
        keys = [("solid", "exact figure")]
        if approximate:
            keys.append(("dashed", "approximate (range reported)"))
        if shown_notes or deal_notes:
            keys.append(("warning", "the record differs"))
        if outsiders:
            keys.append(("outsider", "not a party to the deal"))
        return _legend(canvas, y + 6, keys)

    return _finish(layout, filename, deal_description(deal))


def _panel(canvas: Canvas, y: float, heading: str, items: list[tuple[str, str]]) -> float:
    inner = WIDTH - 2 * MARGIN
    lines: list[tuple[str, str, int]] = []
    for name, text in items:
        if name:
            lines += [(ln, "bold", 26) for ln in canvas.wrap(name, "bold", 26, inner - 48, 2)]
        if text:
            lines += [(ln, "regular", 23) for ln in canvas.wrap(text, "regular", 23, inner - 48, 3)]
    height = 20 + 30 + sum(size + 9 for _, _, size in lines) + 12
    canvas.rect((MARGIN, y, WIDTH - MARGIN, y + height), fill=PANEL, radius=12)
    canvas.rect((MARGIN, y, MARGIN + 8, y + height), fill=GREEN, radius=4)
    canvas.text(MARGIN + 24, y + 16, heading, "bold", 20, MUTED)
    ty = y + 16 + 32
    for line, style, size in lines:
        canvas.text(MARGIN + 24, ty, line, style, size, INK)
        ty += size + 9
    return y + height + 14


def deal_description(deal: DealView) -> str:
    """What the deal card shows, in words, for screen readers (the image's alt text)."""
    parts = [f"Diagram of the {deal.kind}: {deal.title} ({deal.status}). "
             f"Parties: {', '.join(p.name for p in deal.parties) or 'none named'}."]
    for t in deal.transfers:
        how_many = f"{quantity_label(t.quantity)}, " if t.quantity else ""
        differs = "; the record differs: " + ", ".join(n.topic for n in t.notes) if t.notes else ""
        whom = f"to {t.receiver.name}" if t.receiver else "released"
        parts.append(f"{t.giver.name} {whom}: {how_many}{t.what}{differs}.")
    if deal.brokers:
        parts.append(f"Brokered by {', '.join(b.name for b in deal.brokers)}.")
    for s in deal.legal_basis:
        parts.append(f"Legal basis: {s.subject.name if s.subject else s.text}.")
    return " ".join(parts)


# ---------------------------------------------------------------------------- the timeline

MAX_EVENTS = 14  # rows drawn; the rest are counted, so the strip stays a readable shape
EXACT, MONTH, APPROXIMATE, RELATIVE, UNDATED = "exact", "month", "approximate", "relative", "none"
MARKER_LABELS = {
    EXACT: "exact day",
    MONTH: "month or year only",
    APPROXIMATE: "approximate",
    RELATIVE: "relative (the source’s words)",
    UNDATED: "no date given",
}


def date_kind(event: EventView) -> str:
    """How well the briefing knows when an event happened, for its marker."""
    if event.precision == "day" and event.date:
        return EXACT
    if event.precision in ("month", "year") and event.date:
        return MONTH
    if event.precision == "relative":
        return RELATIVE
    if event.date or event.when_text:
        return APPROXIMATE
    return UNDATED


def date_label(event: EventView) -> tuple[str, str]:
    """(first line, second line) of the date beside an event: the date as precisely as it is
    known, the source's own wording in quotes where the date is not exact."""
    date = dt.date.fromisoformat(event.date) if event.date else None
    kind = date_kind(event)
    spelled = ""
    if date:
        spelled = {EXACT: f"{date.day} {date:%B %Y}", MONTH: f"{date:%B %Y}"}.get(
            kind, f"{date.day} {date:%B %Y}")
        if event.precision == "year":
            spelled = str(date.year)
    words = f"“{event.when_text}”" if event.when_text else ""
    if kind in (EXACT, MONTH):
        return spelled, ""
    if kind == RELATIVE:
        return words, (spelled and f"({spelled})")
    if kind == APPROXIMATE:
        return (words, f"(about {spelled})" if spelled else "") if words else (
            f"about {spelled}", "")
    return "no date given", ""


def _marker(canvas: Canvas, kind: str, x: float, y: float, r: float = 13) -> None:
    """The shape on the line says how well the date is known; colour only repeats it."""
    if kind == EXACT:
        canvas.ellipse((x - r, y - r, x + r, y + r), fill=BLUE)
    elif kind == MONTH:
        canvas.rect((x - r, y - r, x + r, y + r), fill=BLUE)
    elif kind == APPROXIMATE:
        canvas.ellipse((x - r, y - r, x + r, y + r), fill=BACKGROUND, outline=BLUE, width=4)
    elif kind == RELATIVE:
        canvas.polygon([(x, y - r - 3), (x + r + 3, y), (x, y + r + 3), (x - r - 3, y)],
                       fill=BACKGROUND, outline=PURPLE, width=4)
    else:
        canvas.ellipse((x - r, y - r, x + r, y + r), fill=BACKGROUND, outline=MUTED, width=3)
        canvas.text(x, y + 1, "?", "bold", 18, MUTED, anchor="mm")


def timeline_strip(events: Sequence[EventView], actor: EntityRef | None = None,
                   filename: str = "timeline.png") -> Picture:
    """The events in order on a line: exact dates as filled markers on a solid line; the
    approximate, relative and undated ones hollow, on a dashed line, with the source's words."""
    date_x = MARGIN + 200  # right edge of the dates
    spine = date_x + 32
    text_x = spine + 34
    text_w = WIDTH - MARGIN - text_x
    shown = list(events[:MAX_EVENTS])
    hidden = len(events) - len(shown)
    kinds = [date_kind(e) for e in shown]
    title = f"Timeline: {actor.name}" if actor else "Timeline"
    subtitle = (f"{len(events)} event{'s' if len(events) != 1 else ''}, in the order they "
                "happened" + (f", involving {actor.name}" if actor else ""))

    def layout(canvas: Canvas) -> float:
        y = _heading(canvas, MARGIN, title, subtitle) + 8
        centres: list[float] = []
        rows = []
        for event, kind in zip(shown, kinds, strict=True):
            first, second = date_label(event)
            dates = [(ln, "bold" if kind in (EXACT, MONTH) else "italic", 23,
                      INK if kind != UNDATED else MUTED)
                     for ln in canvas.wrap(first, "bold", 23, date_x - MARGIN, 2)]
            if second:
                dates.append((second, "regular", 20, MUTED))
            titles = canvas.wrap(event.title, "regular", 27, text_w, 2)
            if event.notes and canvas.length(titles[-1], "regular", 27) + 40 > text_w:
                titles = canvas.wrap(event.title, "regular", 27, text_w - 40, 2)
            height = max(sum(size + 8 for _, _, size, _ in dates), 36 * len(titles))
            rows.append((event, kind, dates, titles, y))
            centres.append(y + 16)
            y += height + 22
        # The line first, so markers sit on it: solid between exactly dated events.
        for i in range(len(centres) - 1):
            exact = kinds[i] in (EXACT, MONTH) and kinds[i + 1] in (EXACT, MONTH)
            canvas.line([(spine, centres[i]), (spine, centres[i + 1])], MUTED, 4,
                        None if exact else (12, 9))
        for (event, kind, dates, titles, top), centre_y in zip(rows, centres, strict=True):
            _marker(canvas, kind, spine, centre_y)
            dy = top
            for text, style, size, colour in dates:
                canvas.text(date_x, dy + (0 if size > 20 else 2), text, style, size, colour,
                            anchor="ra")
                dy += size + 8
            ty = top - 2
            for line in titles:
                canvas.text(text_x, ty, line, "regular", 27, INK)
                ty += 36
            if event.notes:  # the marker ends the title; the legend says what it means
                canvas.warning(text_x + canvas.length(titles[-1], "regular", 27) + 12,
                               ty - 34, 24)
        if hidden:
            canvas.text(text_x, y - 6, f"… and {hidden} more in the text below", "italic", 23,
                        MUTED)
            y += 34
        keys = [(kind, MARKER_LABELS[kind]) for kind in MARKER_LABELS if kind in kinds]
        if any(e.notes for e in shown):
            keys.append(("warning", "the record differs"))
        return _legend(canvas, y + 4, keys)

    return _finish(layout, filename, timeline_description(events, actor))


def timeline_description(events: Sequence[EventView], actor: EntityRef | None = None) -> str:
    """What the strip shows, in words, for screen readers (the image's alt text)."""
    who = f" involving {actor.name}" if actor else ""
    items = []
    for e in events:
        first, second = date_label(e)
        items.append(f"{first}{' ' + second if second else ''}: {e.title}")
    return f"Timeline of {len(events)} events{who}, in order. " + "; ".join(items) + "."


# ---------------------------------------------------------------------------- legend


def _legend(canvas: Canvas, y: float, keys: Sequence[tuple[str, str]]) -> float:
    """Samples of each mark with what it means: two to a row when every label fits."""
    canvas.line([(MARGIN, y), (WIDTH - MARGIN, y)], RULE, 2)
    y += 18
    per_row = 2 if all(canvas.length(label, "regular", 21) <= (WIDTH - 2 * MARGIN) / 2 - 74
                       for _, label in keys) else 1
    column = (WIDTH - 2 * MARGIN) / per_row
    for i, (kind, label) in enumerate(keys):
        x = MARGIN + (i % per_row) * column
        row_y = y + (i // per_row) * 40
        mid = row_y + 13
        if kind in ("solid", "dashed"):
            canvas.line([(x, mid), (x + 38, mid)], BLUE, 5, (10, 6) if kind == "dashed" else None)
            canvas.polygon([(x + 52, mid), (x + 38, mid - 9), (x + 38, mid + 9)], BLUE)
        elif kind == "warning":
            canvas.warning(x + 12, mid - 12, 24)
        elif kind == "outsider":
            canvas.dashed_rect((x + 4, mid - 11, x + 48, mid + 11), MUTED, 3)
        else:
            _marker(canvas, kind, x + 24, mid, 11)
        for line in canvas.wrap(label, "regular", 21, column - 74, 1):
            canvas.text(x + 62, row_y, line, "regular", 21, MUTED)
    return y + -(-len(keys) // per_row) * 40
