"""Shared fixtures. Add new fixtures in a section of their own below the briefing-core one."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from bot.briefing.store import Store

REPO = Path(__file__).resolve().parents[1]

# =============================================================================================
# Briefing core: the bundled data, a breakable copy of it, and an opened store.
# =============================================================================================

BRIEFING_NAME = "prisoner-exchange-2025.yaml"


@pytest.fixture
def data_dir() -> Path:
    """The repository's own data/ folder. Read it, never write to it."""
    return REPO / "data"


@pytest.fixture
def tmp_data(tmp_path: Path, data_dir: Path) -> Path:
    """A private copy of data/ (briefings/ and sources/) that a test may break."""
    copy = tmp_path / "data"
    shutil.copytree(data_dir, copy)
    return copy


@pytest.fixture
def briefing_text(data_dir: Path) -> str:
    """The text of the bundled briefing file, for tests to edit."""
    return (data_dir / "briefings" / BRIEFING_NAME).read_text(encoding="utf-8")


WriteBriefing = Callable[..., Path]


@pytest.fixture
def write_briefing(tmp_data: Path) -> WriteBriefing:
    """`write_briefing(text_or_bytes, name=BRIEFING_NAME)` writes a briefing into tmp_data."""

    def write(content: str | bytes, name: str = BRIEFING_NAME) -> Path:
        path = tmp_data / "briefings" / name
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
        return path

    return write


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    """Where the store keeps its database: a folder of its own, so leftovers are visible."""
    return tmp_path / "db" / "briefings.sqlite3"


@pytest.fixture
async def store(tmp_data: Path, db_path: Path) -> AsyncIterator[Store]:
    """A Store opened on tmp_data (built into db_path), closed after the test."""
    opened = Store(tmp_data, db_path)
    await opened.open()
    try:
        yield opened
    finally:
        await opened.close()
