"""End-to-end fixtures: the real bot, run as `python -m bot`, against a fake Discord.

The fake Discord (``tests.fakediscord``) runs inside the test process on 127.0.0.1. The bot is
a separate process started exactly as an operator starts it, configured only through its
environment: ``DISCORD_API_BASE`` and ``DISCORD_GATEWAY_URL`` point it at the fake, and nothing
in ``bot/`` or ``cogs/`` is patched.

Every e2e test module runs its tests and fixtures in one event loop per module
(``pytestmark = pytest.mark.asyncio(loop_scope="module")``), so a module-scoped fake and bot
can serve several tests; scenarios that change the bot's state get a process of their own.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import os
import re
import shutil
import signal
import sys
import time
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, ClassVar

import pytest
import pytest_asyncio

from bot.settings import ENV_NAMES
from tests import payloads as P
from tests.briefing_data import REPO
from tests.discord_limits import body_problems, buttons, mention_problems
from tests.fakediscord import FakeDiscord

Json = dict[str, Any]

#: A token shaped like a real one (three base64url parts), so a leak would also be recognisable.
TOKEN = "MTE4NzAwMDAwMDAwMDAwMDAwMQ.GfakeE.e2e-test-token-0123456789abcdefghijKLMN"

STEP = 10.0  # seconds any single wait may take before the test fails
START_TIMEOUT = 20.0  # from spawn to READY (Python start-up, imports, the database build)
STOP_TIMEOUT = 8.0  # from SIGTERM to exit, before the helper kills the process and fails

OWNER = P.owner()

#: Every application command the bot publishes on a global sync (names as users see them).
COMMANDS = {"who", "timeline", "deal", "quote", "search", "sources", "about", "admin", "ask",
            "Check against the briefing", "story", "follow", "unfollow"}


# =============================================================================================
# Small helpers shared by the test modules
# =============================================================================================


def in_guild(name: str, options: Mapping[str, Any] | None = None, *,
             user: Json | None = None, **kwargs: Any) -> Json:
    """A slash interaction in the default guild (by a fresh user unless given)."""
    return P.slash_interaction(name, options, guild=P.default_guild(), user=user, **kwargs)


def in_dm(name: str, options: Mapping[str, Any] | None = None, *,
          user: Json | None = None, **kwargs: Any) -> Json:
    """A slash interaction in the bot's DM with a user."""
    return P.slash_interaction(name, options, dm=True, user=user or P.user(), **kwargs)


def assert_message_within_limits(data: Mapping[str, Any]) -> None:
    """Discord's limits for a message body (:func:`tests.discord_limits.body_problems`)."""
    assert body_problems(data) == []


def assert_mentions_nobody(data: Mapping[str, Any]) -> None:
    """The message's allowed_mentions pings nobody (see tests.discord_limits.mention_problems)."""
    assert mention_problems(data) == [], data.get("allowed_mentions")


def button_by_label(data: Mapping[str, Any], label: str) -> Json:
    """The one button with this label (◀, ▶, Sources, Notes, ...)."""
    found = [b for b in buttons(data) if b.get("label") == label]
    assert len(found) == 1, f"no single {label} button in {buttons(data)}"
    return found[0]


async def wait_for_log(fake: FakeDiscord, bot: BotProcess, pattern: str,
                       timeout: float = STEP) -> str:  # noqa: ASYNC109
    """Wait until a line of the bot's LOG_FILE matches ``pattern``; return that line."""
    regex = re.compile(pattern)

    def found() -> str | None:
        return next((line for line in bot.log.splitlines() if regex.search(line)), None)

    try:
        await fake.wait_until(lambda: found() is not None or not bot.running, timeout,
                              f"log line /{pattern}/")
    except TimeoutError:
        raise AssertionError(
            f"no log line /{pattern}/ within {timeout}s\n{bot.output()}") from None
    line = found()
    assert line is not None, f"the bot exited without logging /{pattern}/\n{bot.output()}"
    return line


ACCEPTED = "accepted"  # a callback Discord took: 200 with ?with_response, else 204


def callback_requests(fake: FakeDiscord, interaction_id: str) -> list[int | str]:
    """HTTP statuses of every callback POST the bot made for an interaction, each accepted
    one (200 or 204: whether the bot asked for the created message back) as ACCEPTED."""
    return [ACCEPTED if r.status in (200, 204) else r.status for r in fake.requests
            if r.method == "POST" and r.path.startswith(f"/interactions/{interaction_id}/")]


# =============================================================================================
# Data, paths, the fake (``tmp_data``, a private copy of data/ for one test, is tests/conftest's)
# =============================================================================================


@pytest.fixture(scope="module")
def module_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A private copy of data/ for a module-scoped bot (read-only by convention)."""
    copy = tmp_path_factory.mktemp("data") / "data"
    shutil.copytree(REPO / "data", copy)
    return copy


def make_fake(guilds: Sequence[Json] | None = None, **options: Any) -> FakeDiscord:
    """A fake Discord with the default guild (and any others) and the e2e token."""
    return FakeDiscord(token=TOKEN, guilds=list(guilds or [P.default_guild()]), **options)


@pytest_asyncio.fixture(loop_scope="module")
async def fake() -> AsyncIterator[FakeDiscord]:
    """A started fake Discord with the default guild, for one test."""
    server = make_fake()
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def module_fake() -> AsyncIterator[FakeDiscord]:
    """A started fake Discord with two guilds (the default one first), for a whole module."""
    server = make_fake([P.default_guild(), P.guild(name="Second Guild", channels=2)])
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


# =============================================================================================
# The bot process
# =============================================================================================


@dataclass
class Exit:
    """How a bot process ended."""

    returncode: int
    killed: bool  # the helper had to SIGKILL it
    seconds: float  # from the stop signal (or from start, for a process that ended by itself)


def _die_with_the_test_run() -> None:
    """In the child before exec: SIGTERM it if the test process dies (Linux), so an aborted
    run cannot leave a bot behind reconnecting to a fake that is gone."""
    if sys.platform == "linux":
        PR_SET_PDEATHSIG = 1
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


class BotProcess:
    """`python -m bot` in a process of its own, configured like an operator would.

    stdout and stderr go to files (no pipe can fill up and stall the bot); ``stderr``,
    ``stdout`` and ``log`` read them at any time. The process leads its own process group, so
    teardown can check that nothing it started outlives it.
    """

    started: ClassVar[list[BotProcess]] = []  # every process of the run, for the final check

    def __init__(self, fake: FakeDiscord, workdir: Path, data_dir: Path, *,
                 token: str = TOKEN, api_base: str | None = None,
                 gateway_url: str | None = None) -> None:
        self.fake = fake
        self.workdir = workdir
        self.data_dir = data_dir
        self.db_path = workdir / "db" / "briefing.sqlite3"
        self.log_path = workdir / "bot.log"
        self.stdout_path = workdir / "stdout.txt"
        self.stderr_path = workdir / "stderr.txt"
        self.token = token
        self.env = self._environment(api_base or fake.rest_base,
                                     gateway_url or fake.gateway_url)
        self.proc: asyncio.subprocess.Process | None = None
        self.exit: Exit | None = None
        self._started_at = 0.0

    def _environment(self, api_base: str, gateway_url: str) -> dict[str, str]:
        # Nothing of the bot's own settings leaks in from the developer's shell; each of them
        # is set (empty means "unset" to the bot), so a .env in the checkout cannot fill gaps.
        env = {k: v for k, v in os.environ.items()
               if not k.startswith("DISCORD_") and k not in ENV_NAMES.values()}
        env.update({name: "" for name in ENV_NAMES.values()})
        env.update({
            "DISCORD_TOKEN": self.token,
            "OWNER_IDS": P.OWNER_ID,
            "SHARD_COUNT": "1",  # AutoShardedBot then skips its 5 s pause between shards
            "DATA_DIR": str(self.data_dir),
            "DB_PATH": str(self.db_path),
            "LOG_FILE": str(self.log_path),
            "LOG_LEVEL": "DEBUG",
            "DISCORD_API_BASE": api_base,
            "DISCORD_GATEWAY_URL": gateway_url,
            "PYTHONUNBUFFERED": "1",
        })
        return env

    # ------------------------------------------------------------------ output

    @staticmethod
    def _read(path: Path) -> str:
        return path.read_text(encoding="utf-8", errors="replace") if path.exists() else ""

    @property
    def stderr(self) -> str:
        return self._read(self.stderr_path)

    @property
    def stdout(self) -> str:
        return self._read(self.stdout_path)

    @property
    def log(self) -> str:
        return self._read(self.log_path)

    def output(self) -> str:
        """Everything the bot wrote, for assertion messages."""
        return (f"--- exit: {self.exit}\n--- stderr:\n{self.stderr[-6000:]}\n"
                f"--- stdout:\n{self.stdout[-2000:]}")

    # ------------------------------------------------------------------ lifecycle

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.returncode is None

    def _output_files(self) -> tuple[BinaryIO, BinaryIO]:
        self.workdir.mkdir(parents=True, exist_ok=True)
        return self.stdout_path.open("wb"), self.stderr_path.open("wb")

    async def spawn(self) -> None:
        """Start the process; return at once."""
        out, err = self._output_files()
        with out, err:
            self.proc = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "bot", cwd=REPO, env=self.env,
                stdin=asyncio.subprocess.DEVNULL, stdout=out, stderr=err,
                start_new_session=True, preexec_fn=_die_with_the_test_run)
        self._started_at = time.monotonic()
        BotProcess.started.append(self)

    async def start(self, timeout: float = START_TIMEOUT) -> None:  # noqa: ASYNC109
        """Start, and wait until the bot identified and got READY and its guilds."""
        readies = self.fake.readies
        await self.spawn()
        try:
            await self.fake.wait_until(
                lambda: self.fake.readies > readies or not self.running, timeout, "READY")
        except TimeoutError:
            raise AssertionError(
                f"the bot got no READY within {timeout}s\n{self.output()}") from None
        if not self.running:
            await self.wait_exit(1)
            raise AssertionError(f"the bot exited during start-up\n{self.output()}")

    async def serving(self, timeout: float = STEP) -> None:  # noqa: ASYNC109
        """Wait until an interaction is answered (the bot is serving), without sleeping."""
        await self.fake.interact(in_guild("about"), timeout)

    async def wait_exit(self, timeout: float) -> Exit:  # noqa: ASYNC109
        """Wait for the process to end by itself (no signal); AssertionError if it does not."""
        assert self.proc is not None
        try:
            code = await asyncio.wait_for(self.proc.wait(), timeout)
        except TimeoutError:
            raise AssertionError(
                f"the bot still runs after {timeout}s\n{self.output()}") from None
        if self.exit is None:
            self.exit = Exit(code, False, time.monotonic() - self._started_at)
        return self.exit

    async def stop(self, sig: int = signal.SIGTERM, timeout: float = STOP_TIMEOUT) -> Exit:  # noqa: ASYNC109
        """Send ``sig`` and wait for the exit; SIGKILL after ``timeout`` (recorded as killed)."""
        assert self.proc is not None
        if self.exit is not None:
            return self.exit
        if self.proc.returncode is not None:
            return await self.wait_exit(0)
        sent = time.monotonic()
        with contextlib.suppress(ProcessLookupError):
            self.proc.send_signal(sig)
        killed = False
        try:
            code = await asyncio.wait_for(self.proc.wait(), timeout)
        except TimeoutError:
            killed = True
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            code = await asyncio.wait_for(self.proc.wait(), STEP)
        self.exit = Exit(code, killed, time.monotonic() - sent)
        return self.exit

    def leftovers(self) -> bool:
        """Whether any process of the bot's process group is still alive (then kill them)."""
        if self.proc is None:
            return False
        try:
            os.killpg(self.proc.pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        return True

    async def close(self) -> None:
        """Teardown: stop the process; fail if it had to be killed or left processes behind."""
        if self.proc is None:
            return
        result = await self.stop()
        orphans = self.leftovers()
        assert not result.killed, (
            f"the bot did not exit within {STOP_TIMEOUT}s of SIGTERM and was killed\n"
            f"{self.output()}")
        assert not orphans, f"processes of the bot's group outlived it\n{self.output()}"


@contextlib.asynccontextmanager
async def bot_process(fake: FakeDiscord, workdir: Path, data_dir: Path, *,
                      start: bool = True, **options: Any) -> AsyncIterator[BotProcess]:
    """A BotProcess that is always stopped (and checked) on the way out."""
    bot = BotProcess(fake, workdir, data_dir, **options)
    try:
        if start:
            await bot.start()
        yield bot
    finally:
        await bot.close()


@pytest_asyncio.fixture(loop_scope="module")
async def bot(fake: FakeDiscord, tmp_path: Path, tmp_data: Path) -> AsyncIterator[BotProcess]:
    """A bot process of its own for one test, on ``tmp_data``, started and serving."""
    async with bot_process(fake, tmp_path / "bot", tmp_data) as process:
        await process.serving()
        yield process


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def module_bot(module_fake: FakeDiscord, module_data: Path,
                     tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[BotProcess]:
    """One bot process shared by the tests of a module (they must not change its state)."""
    async with bot_process(module_fake, tmp_path_factory.mktemp("bot"), module_data) as process:
        await process.serving()
        yield process


@pytest.fixture(scope="session", autouse=True)
def _no_stray_processes() -> Iterator[None]:
    """After the e2e run: every bot process has exited, and nothing else it started lives on."""
    yield
    running = [b.proc.pid for b in BotProcess.started if b.proc and b.proc.returncode is None]
    orphans = [b.proc.pid for b in BotProcess.started if b.leftovers() and b.proc]
    children = Path(f"/proc/{os.getpid()}/task/{os.getpid()}/children")
    left = children.read_text().split() if children.exists() else []
    assert not running and not orphans and not left, (
        f"still running: bots {running}, groups of bots {orphans}, children {left}")
