"""Throughput and latency through the whole stack, against `/baseline` in the same run.

Set-up: three processes on one machine. The fake Discord (`python -m tests.fakediscord`, one
guild) serves REST and the gateway on 127.0.0.1; the bot (`python -m bench.botproc`, the real
BriefingBot with the bundled briefing in a private DATA_DIR — carrying the two version markers
of `bench.reload`, which runs next on the same processes — plus `/baseline`) connects to it
as it would to Discord; this process drives the fake through its control API
(`POST /_fake/interact_many`: many interactions per round trip, and with `brief` only each
answer's callback type and first embed's title come back, so the driver costs the fake and
the machine little, and the same for every command: a whole /who card sent back to the driver
and parsed there cost more than a constant embed, which no real Discord does). Each
interaction is a gateway INTERACTION_CREATE built by `bench.interactions` (in the guild the
bot reported on READY), answered by the bot with an HTTP callback; the fake echoes the answer
as MESSAGE_CREATE, as Discord does.

Commands: `/who name:Bukele`, `/timeline`, `/search query:Alien Enemies`, and `/baseline` (a
constant embed, see `bench.ext`). `/timeline`'s 60 KB strip is uploaded by its first answer in
the guild; later answers show it from that upload's address, as they would on Discord
(bot/discord_app/uploads.py). Every answer is checked (callback type 4, the embed title
expected for the command), so an error page can never pass for a fast answer.

Throughput (unpaced): for each command in turn, N interactions are kept in flight
(`WORKERS` requests of `BATCH` interactions each: enough to keep the bot's single event loop
busy) and the rate is N / wall time. Phases are short and alternate between the commands in a
rotating order, so drift on the shared machine hits all of them alike; each command's rate is
its total count over its total time. The bot's CPU time per interaction (from /proc, immune to
the machine's load) is reported beside it.

Latency (paced): interactions are sent at a fixed rate (500/s, or 80% of the slowest command's
unpaced throughput if that is lower — the row says which) in ticks of 10 ms, again in
alternating phases per command. Latency is what the fake measures: from dispatching
INTERACTION_CREATE to receiving the bot's callback, i.e. what a user waits for.

Goal: each command's throughput at least 0.85 of `/baseline`'s.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from .common import (
    BotProcess,
    Control,
    FakeProcess,
    Json,
    Row,
    bot_env,
    control,
    copy_bundled_data,
    cpu_seconds,
    log,
    percentile,
    rss_kib,
)
from .interactions import Interactions

BATCH = 16
WORKERS = 8  # 128 interactions in flight
TICK = 0.010
TARGET_RATE = 500.0


@dataclass(frozen=True)
class Kind:
    key: str
    label: str
    name: str
    options: Json | None
    title: str  # the first embed's title must start with this

    def payload(self, make: Interactions) -> Json:
        return make.slash(self.name, self.options)


BASELINE = Kind("baseline", "/baseline", "baseline", None, "Baseline")
KINDS = [
    Kind("who", "/who name:Bukele", "who", {"name": "Bukele"}, "Nayib Bukele"),
    Kind("timeline", "/timeline", "timeline", None, "Timeline"),
    Kind("search", "/search query:Alien Enemies", "search", {"query": "Alien Enemies"},
         "Search: Alien Enemies"),
]
ALL = [BASELINE, *KINDS]


@dataclass
class Tally:
    count: int = 0
    seconds: float = 0.0
    cpu: float = 0.0
    fake_cpu: float = 0.0
    driver_cpu: float = 0.0
    failed: int = 0
    wrong: int = 0
    deferred: int = 0  # answered by a followup after a defer (slower than 1.5 s)
    latencies: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def add(self, kind: Kind, results: Sequence[Json]) -> None:
        for r in results:
            self.count += 1
            self.deferred += bool(r.get("deferred"))
            if "error" in r:
                self.failed += 1
                if len(self.errors) < 3:
                    self.errors.append(str(r["error"])[:200])
                continue
            body = r.get("body") or {}
            embeds = (body.get("data") or {}).get("embeds") or [{}]
            if body.get("type") != 4 or not str(embeds[0].get("title", "")).startswith(kind.title):
                self.wrong += 1
                if len(self.errors) < 3:
                    self.errors.append(f"unexpected answer: {str(body)[:200]}")
            if r.get("latency") is not None:
                self.latencies.append(float(r["latency"]))

    @property
    def rate(self) -> float:
        return self.count / self.seconds if self.seconds else 0.0


async def resolve_deferred(ctl: Control, payloads: Sequence[Json],
                           results: list[Json]) -> None:
    """Replace each deferred answer (callback type 5: the bot took over DEFER_AFTER, 1.5 s)
    by the followup that carried the actual answer, from the fake's request log; a deferred
    answer without a followup becomes an error ("deferred, never followed up")."""
    deferred = {p["token"]: i for i, (p, r) in enumerate(zip(payloads, results, strict=True))
                if (r.get("body") or {}).get("type") == 5}
    if not deferred:
        return
    followups: dict[str, Json] = {}
    seen = 0
    for _ in range(20):  # a followup may still be on its way when the stream ends
        new = await ctl.requests(seen)
        seen += len(new)
        for req in new:
            parts = req["path"].strip("/").split("/")
            if req["method"] == "POST" and len(parts) == 3 and parts[0] == "webhooks":
                followups.setdefault(parts[2], req.get("json") or {})
        if all(token in followups for token in deferred):
            break
        await asyncio.sleep(0.5)
    for token, i in deferred.items():
        body = followups.get(token)
        if body is None:
            results[i] = {"error": "deferred, never followed up", "deferred": True}
        else:
            results[i] = {**results[i], "body": {"type": 4, "data": body}, "deferred": True}


async def unpaced(ctl: Control, payloads: list[Json], *, brief: bool = False
                  ) -> tuple[float, list[Json]]:
    """Send `payloads` keeping WORKERS x BATCH in flight; (seconds, results in order).
    `brief`: each answer comes back as its callback type and first embed's title only."""
    batches = [payloads[i:i + BATCH] for i in range(0, len(payloads), BATCH)]
    results: list[list[Json]] = [[] for _ in batches]
    todo = iter(range(len(batches)))

    async def worker() -> None:
        for i in todo:
            results[i] = await ctl.interact_many(batches[i], brief=brief)

    start = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(WORKERS)))
    return time.perf_counter() - start, [r for batch in results for r in batch]


async def paced(ctl: Control, payloads: list[Json], rate: float, *, brief: bool = False
                ) -> tuple[float, list[Json]]:
    """Send `payloads` at `rate` per second in ticks of TICK; (seconds, results); `brief` as
    for `unpaced`."""
    per_tick = max(1, round(rate * TICK))
    batches = [payloads[i:i + per_tick] for i in range(0, len(payloads), per_tick)]
    interval = per_tick / rate
    loop = asyncio.get_running_loop()
    tasks = []
    start = loop.time()
    for i, batch in enumerate(batches):
        delay = start + i * interval - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(ctl.interact_many(batch, brief=brief)))
    results = await asyncio.gather(*tasks)
    return loop.time() - start, [r for batch in results for r in batch]


def rotations(kinds: Sequence[Kind], rounds: int) -> list[list[Kind]]:
    """A different order each round (each command goes first equally often)."""
    return [list(kinds[r % len(kinds):]) + list(kinds[:r % len(kinds)]) for r in range(rounds)]


async def _phases(env: Environment, per_kind: int, phase: int,
                  rate: float | None, kinds: Sequence[Kind] = ALL) -> dict[str, Tally]:
    ctl, bot_pid, fake_pid = env.ctl, env.bot.pid, env.fake.pid
    tallies = {k.key: Tally() for k in kinds}
    rounds = max(1, per_kind // phase)
    for order in rotations(kinds, rounds):
        for kind in order:
            payloads = [kind.payload(env.interactions) for _ in range(phase)]
            cpu0, fake0, own0 = cpu_seconds(bot_pid), cpu_seconds(fake_pid), time.process_time()
            if rate is None:
                seconds, results = await unpaced(ctl, payloads, brief=True)
            else:
                seconds, results = await paced(ctl, payloads, rate, brief=True)
            tally = tallies[kind.key]
            tally.cpu += cpu_seconds(bot_pid) - cpu0
            tally.fake_cpu += cpu_seconds(fake_pid) - fake0
            tally.driver_cpu += time.process_time() - own0
            await resolve_deferred(ctl, payloads, results)
            tally.seconds += seconds
            tally.add(kind, results)
            await ctl.clear()  # nothing in flight now: keep the fake's records small
    return tallies


@dataclass
class StackResult:
    throughput: dict[str, Tally]
    latency: dict[str, Tally]
    rate: float
    rate_note: str
    rss_start: int = 0  # KiB, the bot's RSS before and after the section
    rss_end: int = 0
    stats_end: Json = field(default_factory=dict)  # /benchstats after the section

    def note_short(self) -> str:
        if self.rate >= TARGET_RATE:
            return "paced at 500/s"
        return f"paced at {self.rate:.0f}/s (500/s not sustainable)"


@dataclass
class Environment:
    """A running fake Discord and bot, the control client driving them, and the factory of
    interactions addressed to them."""

    fake: FakeProcess
    bot: BotProcess
    ctl: Control
    data: Path
    interactions: Interactions


@contextlib.asynccontextmanager
async def environment(workdir: Path, data: Path | None = None, bot_args: Sequence[str] = (),
                      settings: Mapping[str, str] | None = None
                      ) -> AsyncIterator[Environment]:
    """Fake (one guild) and bot processes on a private copy of the bundled data; `settings`:
    more of the bot's environment."""
    data = data or copy_bundled_data(workdir / "data")
    async with FakeProcess(guilds=1, stderr_path=workdir / "fake.err") as fake:
        env = bot_env(fake.info, data, workdir / "briefing.sqlite3", workdir / "bot.log",
                      settings)
        async with BotProcess(env, args=bot_args, stderr_path=workdir / "bot.err") as bot, \
                control(fake) as ctl:
            ready = await bot.wait_event("ready", 120)
            make = Interactions(str(fake.info["application_id"]), str(ready["guild_id"]))
            yield Environment(fake, bot, ctl, data, make)


async def measure_in(env: Environment, *, per_kind: int, paced_per_kind: int,
                     phase: int = 250, warmup: int = 200) -> StackResult:
    rss_start = rss_kib(env.bot.pid)
    await benchstats(env)  # resets the GC pause record
    log("stack: warming up")
    await _phases(env, warmup, min(100, warmup), None)
    log(f"stack: throughput, {per_kind} interactions per command (unpaced)")
    thr = await _phases(env, per_kind, phase, None)
    slowest = min(t.rate for t in thr.values())
    rate = max(10.0, min(TARGET_RATE, 0.8 * slowest))
    note = ("paced at 500/s" if rate >= TARGET_RATE else
            f"paced at {rate:.0f}/s: 500/s is not sustainable (slowest command "
            f"{slowest:.0f}/s unpaced; 80% of that)")
    log(f"stack: latency, {paced_per_kind} per command, {note}")
    lat = await _phases(env, paced_per_kind, min(phase, paced_per_kind), rate)
    return StackResult(thr, lat, rate, note, rss_start, rss_kib(env.bot.pid),
                       await benchstats(env))


async def benchstats(env: Environment) -> Json:
    """The bot's own account (see `bench.ext`): RSS, live views, GC pauses since last asked."""
    answer = await env.ctl.interact(env.interactions.slash("benchstats"))
    return json.loads(answer["data"]["content"])  # type: ignore[no-any-return]


async def measure(workdir: Path, *, per_kind: int, paced_per_kind: int,
                  phase: int = 250, warmup: int = 200) -> StackResult:
    async with environment(workdir) as env:
        return await measure_in(env, per_kind=per_kind, paced_per_kind=paced_per_kind,
                                phase=phase, warmup=warmup)


# ------------------------------------------------------------------ pictures from PICTURES_URL

TIMELINE = next(k for k in KINDS if k.key == "timeline")
PICTURES_URL = "https://pictures.example.org/briefing"  # nothing fetches it here: Discord's
# media proxy would, once per picture and data version


async def measure_hosted(workdir: Path, *, per_kind: int, phase: int = 250,
                         warmup: int = 200) -> dict[str, Tally]:
    """`/timeline` against `/baseline` again, on a bot of its own that shows its pictures
    from the operator's web server (PICTURES_DIR and PICTURES_URL), so it never uploads the
    60 KB strip (by default it is uploaded once in the server, bot/discord_app/uploads.py).
    Checked first: the answer's image is that address, and the fake received no file."""
    folder = workdir / "hosted"
    folder.mkdir(parents=True, exist_ok=True)
    settings = {"PICTURES_DIR": str(folder / "pictures"), "PICTURES_URL": PICTURES_URL}
    async with environment(folder, settings=settings) as env:
        answer = await env.ctl.interact(TIMELINE.payload(env.interactions))
        image = answer["data"]["embeds"][0].get("image", {}).get("url", "")
        uploaded = [r for r in await env.ctl.requests(0) if r.get("files")]
        if not image.startswith(PICTURES_URL + "/") or uploaded:
            raise RuntimeError(f"hosted pictures are not in use: image {image!r}, "
                               f"{len(uploaded)} upload(s)")
        kinds = [BASELINE, TIMELINE]
        log("stack: /timeline with hosted pictures, warming up")
        await _phases(env, warmup, min(100, warmup), None, kinds)
        log(f"stack: /timeline with hosted pictures, {per_kind} interactions (unpaced)")
        return await _phases(env, per_kind, phase, None, kinds)


def hosted_rows(thr: Mapping[str, Tally]) -> list[Row]:
    base, t = thr["baseline"], thr["timeline"]
    return [_throughput_row(
        f"Throughput `/timeline` with pictures from PICTURES_URL (not uploaded), unpaced, "
        f"{t.count:,} interactions; a bot process of its own", t, base,
        f"`/baseline` on that process {base.rate:,.0f}/s "
        f"({base.cpu / base.count * 1000:.2f} ms CPU each)", judged=False)]


def _throughput_row(what: str, t: Tally, base: Tally, baseline: str, *, judged: bool) -> Row:
    """A throughput row against `base`; `judged`: against the goal of 0.85, else reported."""
    ratio = t.rate / base.rate if base.rate else 0.0
    problems = t.failed + t.wrong + base.failed + base.wrong
    row = Row(
        what=what,
        figure=f"{t.rate:,.0f}/s ({t.cpu / t.count * 1000:.2f} ms bot CPU each, "
               f"{t.fake_cpu / t.count * 1000:.2f} ms the fake's)",
        baseline=baseline, ratio=ratio,
        goal="≥ 0.85 of baseline" if judged else
        "— (reported: an operator's option, beside the row above)",
        met=ratio >= 0.85 and problems == 0 if judged else None)
    if problems:
        row.figure += f" — {t.failed} failed, {t.wrong} wrong answers"
        row.notes += t.errors + base.errors
    if t.deferred:
        row.figure += f" — {t.deferred} deferred (answered by a followup after 1.5 s)"
    return row


def rows(res: StackResult) -> list[Row]:
    base = res.throughput["baseline"]
    out = [_throughput_row(
        f"Throughput `{kind.label}`, unpaced ({WORKERS * BATCH} in flight), "
        f"{res.throughput[kind.key].count:,} interactions", res.throughput[kind.key], base,
        f"`/baseline` {base.rate:,.0f}/s ({base.cpu / base.count * 1000:.2f} ms CPU each, "
        f"{base.fake_cpu / base.count * 1000:.2f} ms the fake's)", judged=True)
        for kind in KINDS]
    lb = res.latency["baseline"]
    for kind in KINDS:
        t = res.latency[kind.key]
        p50, p99 = percentile(t.latencies, 50), percentile(t.latencies, 99)
        b50, b99 = percentile(lb.latencies, 50), percentile(lb.latencies, 99)
        row = Row(
            what=f"Latency `{kind.label}`, {res.note_short()}, {t.count:,} interactions",
            figure=f"p50 {p50 * 1000:.1f} ms · p99 {p99 * 1000:.1f} ms",
            baseline=f"`/baseline` p50 {b50 * 1000:.1f} ms · p99 {b99 * 1000:.1f} ms",
            ratio=p99 / b99 if b99 else None, goal="— (reported; ratio is p99 / p99)",
            met=None)
        if t.failed or t.wrong:
            row.figure += f" — {t.failed} failed, {t.wrong} wrong answers"
            row.notes += t.errors
        if t.deferred:
            row.figure += (f" — {t.deferred} deferred: their latency is to the defer, the "
                           f"answer came later")
        out.append(row)
    return out
