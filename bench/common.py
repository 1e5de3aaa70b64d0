"""Shared machinery: result rows, statistics, /proc readings, and the two child processes.

Processes
---------
`FakeProcess` runs `python -m tests.fakediscord` (the protocol-faithful fake Discord) and reads
the JSON line it prints (REST base, gateway URL, control URL, token, application id). The bench
uses the fake only through that command line and its HTTP control API, as another process
would, and imports nothing from tests/. `BotProcess` runs `python -m bench.botproc` with the
environment an operator would set (DISCORD_TOKEN, DISCORD_API_BASE and DISCORD_GATEWAY_URL
pointing at the fake, DATA_DIR, DB_PATH, LOG_FILE, OWNER_IDS), and reads the JSON lines that
`bench.ext` prints (one when setup is done, one on each READY).
Both are started with `--exit-with-parent` behaviour, so a crashed benchmark leaves no orphan.

Measurements from /proc
-----------------------
Memory is VmRSS from /proc/<pid>/status (what the kernel charges the process now); CPU time is
utime + stime from /proc/<pid>/stat, so a figure like "bot CPU per interaction" does not depend
on how busy the rest of the machine was.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import math
import os
import platform
import shutil
import signal
import sqlite3
import sys
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .interactions import OWNER_ID

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")

Json = dict[str, Any]


# --------------------------------------------------------------------------- results


@dataclass
class Row:
    """One line of the results table."""

    what: str
    figure: str
    baseline: str
    ratio: float | None
    goal: str
    met: bool | None  # None: no goal for this figure (reported for context)
    notes: list[str] = field(default_factory=list)

    def cells(self) -> list[str]:
        ratio = "—" if self.ratio is None else f"{self.ratio:.2f}"
        met = {True: "✅ yes", False: "❌ no", None: "n/a"}[self.met]
        return [self.what, self.figure, self.baseline, ratio, self.goal, met]


HEADER = ["What was measured", "Figure", "Baseline (same run)", "Ratio", "Goal", "Met"]


def markdown_table(rows: Sequence[Row]) -> str:
    lines = ["| " + " | ".join(HEADER) + " |", "|" + "|".join(" --- " for _ in HEADER) + "|"]
    for row in rows:
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in row.cells()) + " |")
    return "\n".join(lines)


def percentile(values: Sequence[float], p: float) -> float:
    """Nearest-rank percentile (p in 0..100) of a non-empty sequence."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


def ms(seconds: float, digits: int = 2) -> str:
    return f"{seconds * 1000:.{digits}f} ms"


def mb(kib: float) -> str:
    return f"{kib / 1024:.1f} MB"


def log(message: str) -> None:
    """Progress goes to stderr so stdout carries only the table."""
    print(f"[bench {dt.datetime.now():%H:%M:%S}] {message}", file=sys.stderr, flush=True)


# --------------------------------------------------------------------------- /proc


def rss_kib(pid: int) -> int:
    return _status_field(pid, "VmRSS")


def hwm_kib(pid: int) -> int:
    return _status_field(pid, "VmHWM")


def _status_field(pid: int, name: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(name + ":"):
            return int(line.split()[1])
    raise KeyError(name)


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat[stat.rindex(")") + 2:].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS  # utime, stime


def loadavg() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


# --------------------------------------------------------------------------- the machine


def machine() -> list[tuple[str, str]]:
    """What the figures were measured on."""
    model = "?"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    mem = "?"
    with contextlib.suppress(OSError, KeyError, ValueError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    import aiohttp
    import discord

    return [
        ("CPU", f"{os.cpu_count()} cores, {model}"),
        ("Memory", mem),
        ("OS", f"{platform.system()} {platform.release()}"),
        ("Python", platform.python_version()),
        ("discord.py", discord.__version__),
        ("aiohttp", aiohttp.__version__),
        ("SQLite", sqlite3.sqlite_version),
        ("Load average at start", loadavg()),
        ("Code measured", code_state()),
        ("Date", dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")),
    ]


def code_state() -> str:
    """The commit measured, and which of bot/ and cogs/ differed from it (others edit them)."""
    import subprocess

    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT,
                              capture_output=True, text=True, timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "bot", "cogs"], cwd=ROOT,
                               capture_output=True, text=True, timeout=10).stdout.split("\n")
    except (OSError, subprocess.SubprocessError):
        return "? (no git)"
    changed = sorted(line[3:] for line in dirty if line.strip())
    return f"commit {head or '?'}" + (f", with uncommitted changes to {', '.join(changed)}"
                                      if changed else ", bot/ and cogs/ as committed")


# --------------------------------------------------------------------------- data folders


def copy_bundled_data(target: Path) -> Path:
    """A private copy of data/ (briefings and sources) the benchmark may change freely."""
    shutil.copytree(ROOT / "data", target, dirs_exist_ok=True)
    for path in target.rglob("*"):
        if path.is_file():
            path.chmod(0o644)
    return target


def bot_env(fake: Json, data_dir: Path, db_path: Path, log_file: Path,
            extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment an operator would give the bot, pointed at the fake."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DISCORD_", "SHARD_"))}
    for name in ("OWNER_IDS", "DEV_GUILD_ID", "DATA_DIR", "DB_PATH", "LOG_FILE", "LOG_LEVEL"):
        env.pop(name, None)
    env.update({
        "PICTURES_DIR": "", "PICTURES_URL": "",  # attached, unless `extra` says otherwise
        "OWNER_IDS": OWNER_ID,  # who may send /admin (bench.reload does)
        "DISCORD_TOKEN": fake["token"],
        "DISCORD_API_BASE": fake["rest_base"],
        "DISCORD_GATEWAY_URL": fake["gateway_url"],
        "DATA_DIR": str(data_dir),
        "DB_PATH": str(db_path),
        "LOG_FILE": str(log_file),
        "LOG_LEVEL": "INFO",
        "PYTHONUNBUFFERED": "1",
    })
    env.update(extra or {})
    return env


# --------------------------------------------------------------------------- child processes


async def _stop(proc: asyncio.subprocess.Process, grace: float = 10.0) -> None:
    if proc.returncode is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        proc.send_signal(signal.SIGTERM)
    try:
        await asyncio.wait_for(proc.wait(), grace)
    except TimeoutError:
        with contextlib.suppress(ProcessLookupError):
            proc.kill()
        await proc.wait()


class FakeProcess:
    """`python -m tests.fakediscord` in its own process."""

    def __init__(self, guilds: int = 1, *, channels: int = 4, roles: int = 3,
                 deadline: bool = True, sharding_limit: bool = False, echo: bool = True,
                 stderr_path: Path | None = None) -> None:
        self.args = ["--port", "0", "--guilds", str(guilds), "--channels", str(channels),
                     "--roles", str(roles), "--exit-with-parent"]
        if not deadline:
            self.args.append("--no-deadline")
        if not sharding_limit:
            self.args.append("--no-sharding-limit")
        if not echo:
            self.args.append("--no-echo")
        self.stderr_path = stderr_path
        self.proc: asyncio.subprocess.Process | None = None
        self.info: Json = {}

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    async def __aenter__(self) -> FakeProcess:
        stderr = open(self.stderr_path, "ab") if self.stderr_path else asyncio.subprocess.DEVNULL  # noqa: ASYNC230, SIM115
        try:
            self.proc = await asyncio.create_subprocess_exec(
                PYTHON, "-m", "tests.fakediscord", *self.args, cwd=ROOT,
                stdout=asyncio.subprocess.PIPE, stderr=stderr, limit=1 << 20)
        finally:
            if self.stderr_path:
                stderr.close()  # type: ignore[union-attr]
        assert self.proc.stdout is not None
        line = await asyncio.wait_for(self.proc.stdout.readline(), 300)
        if not line:
            raise RuntimeError(f"the fake Discord did not start (exit {await self.proc.wait()})")
        self.info = json.loads(line)
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self.proc is not None:
            await _stop(self.proc)


class BotProcess:
    """`python -m bench.botproc` (the real bot) in its own process."""

    def __init__(self, env: Mapping[str, str], *, args: Sequence[str] = (),
                 stderr_path: Path | None = None) -> None:
        self.env = dict(env)
        self.args = list(args)
        self.stderr_path = stderr_path
        self.proc: asyncio.subprocess.Process | None = None
        self.events: list[Json] = []
        self._changed = asyncio.Event()
        self._reader: asyncio.Task[None] | None = None

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    async def __aenter__(self) -> BotProcess:
        stderr = open(self.stderr_path, "ab") if self.stderr_path else asyncio.subprocess.DEVNULL  # noqa: ASYNC230, SIM115
        try:
            self.proc = await asyncio.create_subprocess_exec(
                PYTHON, "-m", "bench.botproc", *self.args, cwd=ROOT, env=self.env,
                stdout=asyncio.subprocess.PIPE, stderr=stderr, limit=1 << 20)
        finally:
            if self.stderr_path:
                stderr.close()  # type: ignore[union-attr]
        self._reader = asyncio.create_task(self._read())
        return self

    async def _read(self) -> None:
        assert self.proc is not None and self.proc.stdout is not None
        while line := await self.proc.stdout.readline():
            with contextlib.suppress(ValueError):
                self.events.append(json.loads(line))
                self._changed.set()
        self._changed.set()

    async def wait_event(self, name: str, timeout: float, count: int = 1) -> Json:  # noqa: ASYNC109
        """The `count`-th event called `name` the bot reported (raises if it exited first)."""
        async def waiter() -> Json:
            while True:
                found = [e for e in self.events if e.get("event") == name]
                if len(found) >= count:
                    return found[count - 1]
                assert self.proc is not None
                if self.proc.returncode is not None or (self._reader and self._reader.done()):
                    raise RuntimeError(f"the bot exited ({self.proc.returncode}) before {name}; "
                                       f"see {self.stderr_path}")
                self._changed.clear()
                await self._changed.wait()
        return await asyncio.wait_for(waiter(), timeout)

    def signal(self, sig: int) -> None:
        assert self.proc is not None
        self.proc.send_signal(sig)

    async def __aexit__(self, *exc: object) -> None:
        if self.proc is not None:
            await _stop(self.proc, grace=20.0)
        if self._reader is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._reader, 5)


class Control:
    """The fake's control API (`/_fake/...`), as another process drives it."""

    def __init__(self, control_url: str) -> None:
        import aiohttp

        self.url = control_url.rstrip("/")
        self.session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=64),
            timeout=aiohttp.ClientTimeout(total=120))

    async def close(self) -> None:
        await self.session.close()

    async def interact_many(self, payloads: Sequence[Json], timeout: float = 10.0,  # noqa: ASYNC109
                            *, brief: bool = False) -> list[Json]:
        """Dispatch `payloads` at once; each answer's callback body (with `brief`, only its
        type and first embed's title) and latency, or an error."""
        async with self.session.post(f"{self.url}/interact_many",
                                     json={"payloads": list(payloads), "timeout": timeout,
                                           "brief": brief}) as r:
            return await r.json(content_type=None)  # type: ignore[no-any-return]

    async def interact(self, payload: Json, timeout: float = 30.0) -> Json:  # noqa: ASYNC109
        async with self.session.post(f"{self.url}/interact",
                                     json={"payload": payload, "timeout": timeout}) as r:
            return await r.json(content_type=None)  # type: ignore[no-any-return]

    async def requests(self, since: int = 0) -> list[Json]:
        async with self.session.get(f"{self.url}/requests", params={"since": since}) as r:
            return await r.json(content_type=None)  # type: ignore[no-any-return]

    async def stats(self) -> Json:
        async with self.session.get(f"{self.url}/stats") as r:
            return await r.json(content_type=None)  # type: ignore[no-any-return]

    async def clear(self) -> Json:
        async with self.session.post(f"{self.url}/clear", json={}) as r:
            return await r.json(content_type=None)  # type: ignore[no-any-return]


@contextlib.asynccontextmanager
async def control(fake: FakeProcess) -> AsyncIterator[Control]:
    ctl = Control(fake.info["control_url"])
    try:
        yield ctl
    finally:
        await ctl.close()
