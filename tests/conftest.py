"""Shared fixtures, for every layer. Add new fixtures in a section of their own below.

Helpers that are not fixtures live in their own modules (see tests/README.md): the bundled
data in tests/briefing_data.py, Discord's limits and what a message shows in
tests/discord_limits.py, payloads in tests/payloads.py, the layer-2 bot in tests/harness.py.
"""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import pytest
import pytest_asyncio

from bot.briefing.store import Store
from tests.briefing_data import BRIEFING_NAME, REPO
from tests.harness import Harness
from tests.redis_server import RedisServer

# =============================================================================================
# Briefing core: the bundled data, a breakable copy of it, and an opened store.
# =============================================================================================


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


# =============================================================================================
# Layer 2: the real bot and command tree on a recording transport (tests/harness.py).
# =============================================================================================


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "build_process: the store builds in a child process, as the bot does")


@pytest.fixture(autouse=True)
def builds_in_process(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """Store builds run in a thread of the test process, not in a child process as in the bot.

    The same `build_database` runs either way; a child costs a quarter of a second to start,
    which over the suite's hundreds of builds is minutes. The child itself (a killed build,
    what crosses back, that serving does not run the build) is tested by the tests marked
    `build_process` (tests/test_builds.py, tests/test_concurrency.py) and by every e2e test.
    It also lets a test patch the build's own functions (to fake a full disk, say).
    """
    if request.node.get_closest_marker("build_process") is not None:
        return
    from bot.briefing import isolated
    from bot.briefing import store as store_module
    monkeypatch.setattr(store_module, "build_in_child", isolated.build_in_thread)


@pytest.fixture
def harness_env() -> dict[str, str]:
    """Extra settings for the ``harness`` fixture; a test module may override this fixture."""
    return {}


@pytest_asyncio.fixture
async def harness(tmp_data: Path, db_path: Path,
                  harness_env: dict[str, str]) -> AsyncIterator[Harness]:
    """A started :class:`tests.harness.Harness` on tmp_data; closed (store too) afterwards."""
    async with Harness.start(tmp_data, db_path, env=harness_env) as started:
        yield started
        # A call the fake could not answer raised inside the bot, where a handler may have
        # swallowed it; fail the test rather than let it pass on a half-run command.
        assert started.unexpected == [], [c.name for c in started.unexpected]


# =============================================================================================
# Many processes: a real Redis server of its own (tests/redis_server.py).
# =============================================================================================


@pytest.fixture(scope="module")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    """A redis-server on 127.0.0.1 and a free port, for a module; stopped afterwards.

    Fails in CI and skips elsewhere when redis-server is not installed.
    """
    server = RedisServer(tmp_path_factory.mktemp("redis"))
    server.start()
    try:
        yield server
    finally:
        server.stop()
