"""The pictures, layer 1: the deal card and the timeline strip as PNGs, and how pages carry them.

Each picture is decoded with Pillow and its pixels looked at: the size a phone shows well, not
blank, the discrepancy colour present exactly where the record differs, the same bytes for the
same data, no metadata that would change them, and far below Discord's attachment limit.
"""

from __future__ import annotations

import asyncio
import copy
import hashlib
import io
import json
import struct
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from PIL import Image, ImageDraw, ImageFont

from bot.briefing.records import DealView, EntityRef, EventView, Note, Quantity, TransferView
from bot.briefing.store import Store
from bot.render import attachments as att
from bot.render import pictures
from bot.router import Intent, respond
from bot.settings import SettingError, Settings
from tests.briefing_data import REPO, name_of, transfer_to
from tests.discord_limits import assert_pings_nobody, discord_problems

MAX_BYTES = 1024 * 1024  # Discord takes 10 MiB per file from any bot; we stay far inside
VERMILLION = pictures.VERMILLION


def decode(png: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(png))
    assert image.format == "PNG"
    image.load()
    return image.convert("RGB")


def near(colour: object, target: tuple[int, int, int], tolerance: int = 12) -> bool:
    assert isinstance(colour, tuple)
    return all(abs(int(a) - b) <= tolerance for a, b in zip(colour, target, strict=True))


def share_of(image: Image.Image, target: tuple[int, int, int]) -> float:
    """The share of pixels of (about) one colour."""
    colours = image.getcolors(maxcolors=1 << 16) or []
    return sum(n for n, c in colours if near(c, target)) / (image.width * image.height)


def png_chunks(png: bytes) -> Iterator[bytes]:
    pos = 8
    while pos < len(png):
        length, kind = struct.unpack(">I4s", png[pos:pos + 8])
        yield kind
        pos += 12 + length


@pytest.fixture
async def story(store: Store) -> tuple[DealView, list[EventView], list[EventView], EntityRef]:
    """The bundled deal, its whole timeline, and Bukele's events."""
    async with store.snapshot() as snap:
        deal = (await snap.deals())[0]
        events = await snap.timeline()
        found = await snap.lookup("Bukele")
        assert found.entity is not None
        ref = found.entity.ref
        return deal, events, await snap.timeline(ref), ref


# ---------------------------------------------------------------------------- the deal card


async def test_the_deal_card_is_a_phone_sized_png_that_is_not_blank(story) -> None:
    deal, *_ = story
    picture = pictures.deal_card(deal)
    image = decode(picture.png)
    assert (image.width, image.height) == (picture.width, picture.height)
    assert 800 <= image.width <= 1000, "Discord's phone preview shows 800-1000 px well"
    assert image.height <= 1.6 * image.width, "too tall: the preview would shrink it"
    assert len(picture.png) < MAX_BYTES
    assert share_of(image, pictures.BACKGROUND) < 0.95, "blank but for the border"
    assert share_of(image, pictures.INK) > 0.005, "no text drawn"
    assert share_of(image, pictures.BLUE) > 0.002, "no arrows or boxes drawn"


async def test_the_deal_description_names_parties_quantities_brokers_and_law(story) -> None:
    deal, *_ = story
    text = pictures.deal_card(deal).description
    for ident in ("el-salvador", "venezuela", "united-states", "bukele", "alien-enemies-act"):
        assert name_of(ident) in text
    returned = transfer_to("venezuela")["quantity"]  # the figures as the briefing gives them
    assert f"about {returned['value']} {returned['unit']} " \
           f"({returned['low']}–{returned['high']})" in text
    americans = transfer_to("united-states")["quantity"]
    assert f"{americans['value']} {americans['unit']}" in text
    assert "the record differs" in text
    assert len(text) <= pictures.DESCRIPTION_LIMIT


async def test_the_discrepancy_marker_is_drawn_only_where_the_record_differs(story) -> None:
    deal, *_ = story
    assert any(t.notes for t in deal.transfers)
    marked = decode(pictures.deal_card(deal).png)
    clean = replace(deal, notes=(), transfers=tuple(replace(t, notes=()) for t in deal.transfers))
    unmarked = decode(pictures.deal_card(clean).png)
    assert share_of(marked, VERMILLION) > 0.001
    assert share_of(unmarked, VERMILLION) == 0


async def test_the_same_deal_gives_the_same_bytes_with_no_metadata(story) -> None:
    deal, *_ = story
    first = pictures.deal_card(deal).png
    pictures.font.cache_clear()  # fonts loaded afresh change nothing either
    assert pictures.deal_card(copy.deepcopy(deal)).png == first
    assert set(png_chunks(first)) <= {b"IHDR", b"PLTE", b"tRNS", b"IDAT", b"IEND"}, (
        "a tIME or text chunk would make the bytes depend on when they were made")


def test_quantities_show_the_reported_range_only_when_there_is_one() -> None:
    assert pictures.quantity_label(Quantity(250, True, 238, 252, "people")) == (
        "about 250 people (238–252)")
    assert pictures.quantity_label(Quantity(10, False, None, None, "people")) == "10 people"
    assert pictures.quantity_label(Quantity(80, True, None, 95, "people")) == (
        "about 80 people (80–95)")
    assert pictures.quantity_label(Quantity(6_000_000, True, None, None, "dollars")) == (
        "about 6,000,000 dollars")


def _ref(name: str, kind: str = "country") -> EntityRef:
    return EntityRef(name.lower().replace(" ", "-"), name, kind, "b")


def test_a_crowded_deal_with_long_names_still_fits_and_decodes() -> None:
    parties = tuple(_ref(f"Ministerio de Relaciones Exteriores número {i} de Perú")
                    for i in range(6))
    note = Note("n", "Una cifra distinta " * 6, "wrong", "x", (), "y", ())
    transfers = tuple(
        TransferView(f"t{i}", parties[i], parties[(i + 3) % 6], "Prisioneros " * 20, None,
                     Quantity(10 ** i, bool(i % 2), None, 10 ** i + 7, "people"), (), (note,))
        for i in range(6))
    deal = DealView("d", "exchange", "Intercambio " * 20, "reported", parties, parties[:2],
                    transfers, (), (), ())
    picture = pictures.deal_card(deal)
    image = decode(picture.png)
    assert image.width == pictures.WIDTH and len(picture.png) < MAX_BYTES
    assert "Ministerio de Relaciones Exteriores número 0 de Perú" in picture.description


# ---------------------------------------------------------------------------- the timeline


async def test_the_timeline_strip_is_a_phone_sized_png_listing_every_event(story) -> None:
    _, events, *_ = story
    picture = pictures.timeline_strip(events)
    image = decode(picture.png)
    assert 800 <= image.width <= 1000
    assert image.height <= 1.6 * image.width
    assert len(picture.png) < MAX_BYTES
    assert share_of(image, pictures.BACKGROUND) < 0.95
    assert share_of(image, pictures.INK) > 0.005
    for event in events:
        assert event.title in picture.description
    assert "“later today”" in picture.description and "18 July 2025" in picture.description


async def test_one_actors_strip_shows_only_their_events(story) -> None:
    _, events, theirs, ref = story
    assert 0 < len(theirs) < len(events)
    picture = pictures.timeline_strip(theirs, ref)
    assert "Nayib Bukele" in picture.description
    assert f"Timeline of {len(theirs)} events" in picture.description
    left_out = [e for e in events if e not in theirs]
    assert not any(e.title in picture.description for e in left_out)
    assert decode(picture.png).height < decode(pictures.timeline_strip(events).png).height


def _event(n: int, date: str | None, precision: str, when_text: str | None = None) -> EventView:
    return EventView(f"e{n}", f"Event {n}", date, precision, when_text, n, (), (), None, ())


def test_each_kind_of_date_is_labelled_its_own_way() -> None:
    assert pictures.date_label(_event(1, "2025-07-18", "day")) == ("18 July 2025", "")
    assert pictures.date_label(_event(2, "2025-04-01", "month")) == ("April 2025", "")
    assert pictures.date_label(_event(3, "2025-07-18", "relative", "later today")) == (
        "“later today”", "(18 July 2025)")
    assert pictures.date_label(_event(4, None, "approximate", "previously")) == (
        "“previously”", "")
    assert pictures.date_label(_event(5, None, "approximate")) == ("no date given", "")
    kinds = [pictures.date_kind(e) for e in (
        _event(1, "2025-07-18", "day"), _event(2, "2025-04-01", "month"),
        _event(3, None, "relative", "later today"), _event(4, "2025-07-01", "approximate"),
        _event(5, None, "approximate"))]
    assert kinds == [pictures.EXACT, pictures.MONTH, pictures.RELATIVE, pictures.APPROXIMATE,
                     pictures.UNDATED]


def test_exact_and_approximate_dates_are_drawn_differently() -> None:
    """The same events, once exactly dated and once not: the markers are not the same pixels
    (filled against hollow, solid line against dashed), not merely another colour."""
    exact = [_event(i, f"2025-07-{10 + i}", "day") for i in range(4)]
    loose = [replace(e, precision="approximate") for e in exact]
    a, b = decode(pictures.timeline_strip(exact).png), decode(pictures.timeline_strip(loose).png)
    spine = a.crop((pictures.MARGIN + 200, 120, pictures.MARGIN + 270, a.height - 140))
    spine_b = b.crop((pictures.MARGIN + 200, 120, pictures.MARGIN + 270, b.height - 140))
    assert share_of(spine, pictures.BLUE) > 2 * share_of(spine_b, pictures.BLUE)
    # Grey with the dashed line's gaps: the loose strip's line has less ink.
    assert share_of(spine, pictures.MUTED) > share_of(spine_b, pictures.MUTED)


def test_a_long_timeline_is_cut_to_a_readable_shape_and_says_so() -> None:
    events = [_event(i, None, "approximate") for i in range(40)]
    picture = pictures.timeline_strip(events)
    image = decode(picture.png)
    assert image.height <= 1.6 * image.width
    assert len(picture.png) < MAX_BYTES


def test_every_character_of_the_briefing_has_a_glyph_in_the_bundled_font(
        briefing_text: str) -> None:
    """Accents and names are drawn as written, not as boxes: each character renders unlike
    the font's 'missing glyph' box."""
    for style in pictures.FONT_FILES:
        face = pictures.font(style, 40)

        def drawn(ch: str, face: ImageFont.FreeTypeFont = face) -> bytes:
            image = Image.new("L", (80, 80))
            ImageDraw.Draw(image).text((10, 10), ch, font=face, fill=255)
            return image.tobytes()

        missing = drawn("\ue000")  # a private-use code point: the missing-glyph box
        assert drawn("中") == missing, "the check must be able to see a missing glyph"
        # The briefing's own characters, and the punctuation the pictures add to them.
        used = {c for c in briefing_text if c.isprintable() and not c.isspace()} | set("“”’–…·")
        for ch in sorted(used):
            if ord(ch) > 0x2FFF:  # emoji in comments; pictures draw their marks as shapes
                continue
            assert drawn(ch) != missing, f"{ch!r} has no glyph in {style}"


# ---------------------------------------------------------------------------- pages and cache


async def test_deal_and_timeline_answers_carry_the_picture_as_their_embed_image(
        store: Store) -> None:
    async with store.snapshot() as snap:
        for intent, arg, name in [(Intent.deal, "", "deal.png"),
                                  (Intent.timeline, "", "timeline.png"),
                                  (Intent.timeline, "Bukele", "timeline.png"),
                                  (Intent.how_many, "prisoners were sent to Venezuela",
                                   "deal.png")]:
            pages = await respond(snap, intent, arg)
            first = pages[0]
            assert first["embeds"][0]["image"] == {"url": f"attachment://{name}"}
            files = att.attachments(first)
            assert [f["filename"] for f in files] == [name]
            assert decode(files[0].data).width == pictures.WIDTH
            assert files[0]["description"]
            # The rest of the answer's pages carry no picture; every page stays valid JSON.
            assert all("attachments" not in p for p in pages[1:])
            assert json.loads(json.dumps(first))["attachments"] == [
                {"filename": name, "description": files[0]["description"]}]
            assert discord_problems(first) == []
            assert_pings_nobody(pages)


async def test_answers_without_a_picture_carry_no_attachment(store: Store) -> None:
    async with store.snapshot() as snap:
        for intent, arg in [(Intent.who, "Bukele"), (Intent.quote, ""), (Intent.sources, "")]:
            for page in await respond(snap, intent, arg):
                assert "attachments" not in page and "image" not in page["embeds"][0]


async def test_a_picture_is_drawn_once_per_data_version(store: Store,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    att.clear_cache()
    draws: list[str] = []
    real = pictures.deal_card

    def counting(deal: DealView, filename: str = "deal.png") -> pictures.Picture:
        draws.append(deal.id)
        return real(deal, filename)

    monkeypatch.setattr(pictures, "deal_card", counting)
    async with store.snapshot() as snap:
        deal = (await snap.deals())[0]
        pages = [{"embeds": [{"title": "x"}]}]
        # Three askers at once share one draw; a later one takes it from the cache.
        await asyncio.gather(*(att.deal_pages(snap.meta, pages, deal) for _ in range(3)))
        await att.deal_pages(snap.meta, pages, deal)
        assert draws == [deal.id]
        await att.deal_pages({**snap.meta, "content_hash": "another version"}, pages, deal)
        assert draws == [deal.id, deal.id]


async def test_a_picture_that_fails_to_draw_leaves_the_answer_whole(
        store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    att.clear_cache()

    def broken(*_: object) -> pictures.Picture:
        raise OSError("font file unreadable")

    monkeypatch.setattr(pictures, "deal_card", broken)
    async with store.snapshot() as snap:
        deal = (await snap.deals())[0]
        pages = [{"embeds": [{"title": "x"}]}]
        assert await att.deal_pages(snap.meta, pages, deal) == pages
    att.clear_cache()


def test_an_attachment_keeps_its_bytes_when_the_page_is_copied() -> None:
    page = att.with_picture([{"embeds": [{"title": "t"}]}],
                            pictures.Picture("deal.png", b"\x89PNG", "d", 1, 1))[0]
    for copied in (copy.deepcopy(page), copy.copy(page)):
        assert [a.data for a in att.attachments(copied)] == [b"\x89PNG"]


# ---------------------------------------------------------------------------- command line


def test_ask_deal_with_files_writes_the_png_the_json_names(tmp_path: Path) -> None:
    out = tmp_path / "files"
    env = {"DB_PATH": str(tmp_path / "cli.sqlite3"), "PYTHONIOENCODING": "utf-8",
           "LOG_FILE": str(tmp_path / "bot.log"), "PATH": "/usr/bin:/bin"}
    done = subprocess.run([sys.executable, "-m", "bot", "ask", "deal", "--json", "--files",
                           str(out)], cwd=REPO, env=env, capture_output=True, text=True,
                          encoding="utf-8", timeout=120)
    assert done.returncode == 0, done.stderr
    pages = json.loads(done.stdout)
    named = [a["filename"] for p in pages for a in p.get("attachments", [])]
    assert named == ["deal.png"]
    assert pages[0]["embeds"][0]["image"]["url"] == "attachment://deal.png"
    assert sorted(p.name for p in out.iterdir()) == ["deal.png"]
    assert decode((out / "deal.png").read_bytes()).width == pictures.WIDTH


def test_ask_with_files_into_a_path_that_is_a_file_is_a_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    env = {"DB_PATH": str(tmp_path / "cli.sqlite3"), "PYTHONIOENCODING": "utf-8",
           "LOG_FILE": str(tmp_path / "bot.log"), "PATH": "/usr/bin:/bin"}
    done = subprocess.run([sys.executable, "-m", "bot", "ask", "deal", "--files",
                           str(blocker / "out")], cwd=REPO, env=env, capture_output=True,
                          text=True, encoding="utf-8", timeout=120)
    assert done.returncode == 1
    assert "cannot write the attached files" in done.stderr
    assert "Traceback" not in done.stderr


def test_the_terminal_card_says_where_the_picture_is(tmp_path: Path) -> None:
    """The terminal is the preview of Discord: it marks the picture the embed shows."""
    env = {"DB_PATH": str(tmp_path / "cli.sqlite3"), "PYTHONIOENCODING": "utf-8",
           "LOG_FILE": str(tmp_path / "bot.log"), "PATH": "/usr/bin:/bin"}
    done = subprocess.run([sys.executable, "-m", "bot", "ask", "deal"], cwd=REPO, env=env,
                          capture_output=True, text=True, encoding="utf-8", timeout=120)
    assert done.returncode == 0, done.stderr
    first_page = done.stdout.split("[Page 2/")[0]
    assert "[picture: deal.png]" in first_page


# ---------------------------------------------------------------------------- hosted pictures

BASE = "https://pictures.example.org/briefing"


async def test_a_hosted_picture_is_written_once_by_its_content_and_the_embed_shows_its_address(
        story, tmp_path: Path) -> None:
    _, events, _, _ = story
    pages = [{"embeds": [{"title": "Timeline"}]}]
    meta = {"content_hash": "v1"}
    [attached] = att.attachments((await att.timeline_pages(meta, pages, events))[0])
    folder = tmp_path / "pictures"
    with att.hosted_at(att.host_for(folder, BASE + "/")):
        first = (await att.timeline_pages(meta, pages, events))[0]
        again = (await att.timeline_pages(meta, pages, events))[0]
    [written] = folder.iterdir()  # one file, and no temporary file left beside it
    digest = hashlib.sha256(attached.data).hexdigest()[:16]
    assert written.name == f"timeline-{digest}.png"
    assert written.read_bytes() == attached.data  # the very picture an upload would carry
    assert first["embeds"][0]["image"] == {"url": f"{BASE}/{written.name}"} == \
        again["embeds"][0]["image"]
    assert "attachments" not in first and att.attachments(first) == []
    assert att.host() is None  # attached again after the block


async def test_a_hosted_picture_deleted_since_is_written_again(story, tmp_path: Path) -> None:
    _, events, _, _ = story
    pages = [{"embeds": [{"title": "Timeline"}]}]
    with att.hosted_at(att.host_for(tmp_path, BASE)):
        url = (await att.timeline_pages({"content_hash": "v1"}, pages, events))[0][
            "embeds"][0]["image"]["url"]
        written = tmp_path / url.rsplit("/", 1)[1]
        written.unlink()  # an operator cleaned the folder
        await att.timeline_pages({"content_hash": "v1"}, pages, events)
    assert decode(written.read_bytes()).width == pictures.WIDTH


async def test_a_picture_that_cannot_be_written_is_attached_instead(
        story, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    deal, _, _, _ = story
    pages = [{"embeds": [{"title": "The deal"}]}]

    def full(self: att.PictureHost, picture: pictures.Picture) -> Path:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(att.PictureHost, "write", full)
    with att.hosted_at(att.host_for(tmp_path, BASE)):
        first = (await att.deal_pages({"content_hash": "v1"}, pages, deal))[0]
    assert first["embeds"][0]["image"] == {"url": "attachment://deal.png"}
    assert decode(att.attachments(first)[0].data).width == pictures.WIDTH
    assert "attaching it to the answer instead" in caplog.text


def test_a_pictures_folder_that_cannot_be_written_is_refused_at_once(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    with pytest.raises(OSError):
        att.host_for(blocker / "pictures", BASE)
    assert att.host_for(None, None) is None


@pytest.mark.parametrize(("env", "says"), [
    ({"PICTURES_URL": BASE}, "PICTURES_URL needs PICTURES_DIR"),
    ({"PICTURES_DIR": "pictures"}, "PICTURES_DIR needs PICTURES_URL"),
    ({"PICTURES_DIR": "pictures", "PICTURES_URL": "ftp://example.org/p"}, "PICTURES_URL is not"),
    ({"PICTURES_DIR": "pictures", "PICTURES_URL": "https://example.org/p?x=1"},
     "PICTURES_URL is not"),
], ids=["url-alone", "folder-alone", "not-http", "query"])
def test_a_half_or_wrong_pictures_setting_is_one_clear_line(env: dict[str, str],
                                                            says: str) -> None:
    with pytest.raises(SettingError) as bad:
        Settings.from_env(env, dotenv=False)
    assert says in str(bad.value) and "\n" not in str(bad.value)


def test_the_pictures_address_loses_its_trailing_slash(tmp_path: Path) -> None:
    settings = Settings.from_env({"PICTURES_DIR": str(tmp_path), "PICTURES_URL": BASE + "/"},
                                 dotenv=False)
    assert (settings.pictures_dir, settings.pictures_url) == (tmp_path, BASE)


def test_ask_with_hosted_pictures_writes_the_picture_the_json_points_at(tmp_path: Path) -> None:
    folder = tmp_path / "pictures"
    env = {"DB_PATH": str(tmp_path / "cli.sqlite3"), "PYTHONIOENCODING": "utf-8",
           "LOG_FILE": str(tmp_path / "bot.log"), "PATH": "/usr/bin:/bin",
           "PICTURES_DIR": str(folder), "PICTURES_URL": BASE}
    done = subprocess.run([sys.executable, "-m", "bot", "ask", "timeline", "--json"], cwd=REPO,
                          env=env, capture_output=True, text=True, encoding="utf-8",
                          timeout=120)
    assert done.returncode == 0, done.stderr
    pages = json.loads(done.stdout)
    url = pages[0]["embeds"][0]["image"]["url"]
    assert url.startswith(BASE + "/timeline-") and "attachments" not in pages[0]
    assert decode((folder / url.rsplit("/", 1)[1]).read_bytes()).width == pictures.WIDTH
