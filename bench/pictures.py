"""What the pictures cost: `python -m bench.pictures`.

Every figure is a ratio against a baseline measured in the same run, on the bundled briefing:

- drawing the deal card (once per data version: pictures are cached by content hash) against
  rendering the deal's text card, and the same for the timeline strip;
- a cached picture (every later answer of the same data version) against the text card;
- the resident memory of a process that imports the bot (router, Discord client, cogs) and
  then draws both pictures, against one that imports the bot and draws nothing; and the time
  Pillow takes to import against the time the bot takes;
- the PNG sizes against Discord's 10 MiB per file.

Options: `--repeat N` (draws per figure, default 15).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DISCORD_FILE_LIMIT = 10 * 1024 * 1024

# Run in a fresh interpreter: import the bot, optionally draw both pictures, report memory.
_CHILD = r"""
import asyncio, json, sys, time
def rss():
    for line in open("/proc/self/status"):
        if line.startswith("VmRSS"):
            return int(line.split()[1]) * 1024
t0 = time.perf_counter()
import bot.router, bot.discord_app.client, cogs  # noqa: F401 (what a running bot imports)
from bot.briefing.store import Store
t1 = time.perf_counter()
draw = sys.argv[1] == "draw"
async def main():
    store = Store(__import__("pathlib").Path(sys.argv[2]), __import__("pathlib").Path(sys.argv[3]))
    await store.open()
    async with store.snapshot() as snap:
        deal, events, meta = (await snap.deals())[0], await snap.timeline(), snap.meta
    await store.close()
    t = time.perf_counter()
    if draw:
        from bot.render import pictures
        t_import = time.perf_counter() - t
        # As the bot draws them: in a worker thread, through the picture cache.
        from bot.render import attachments
        page = [{"embeds": [{"title": "x"}]}]
        await attachments.deal_pages(meta, page, deal)
        await attachments.timeline_pages(meta, page, events)
    else:
        t_import = 0.0
    return t_import
t_pil = asyncio.run(main())
print(json.dumps({"rss": rss(), "bot_import": t1 - t0, "pillow_import": t_pil,
                  "pil": "PIL" in sys.modules}))
"""


def _median_time(fn: Callable[[], Any], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


async def _records(data_dir: Path, db: Path) -> tuple[Any, Any, dict[str, str]]:
    from bot.briefing.store import Store

    store = Store(data_dir, db)
    await store.open()
    async with store.snapshot() as snap:
        deal, events, meta = (await snap.deals())[0], await snap.timeline(), dict(snap.meta)
    await store.close()
    return deal, events, meta


def _child(mode: str, data_dir: Path, db: Path) -> dict[str, Any]:
    done = subprocess.run([sys.executable, "-c", _CHILD, mode, str(data_dir), str(db)],
                          cwd=ROOT, capture_output=True, text=True, check=True, timeout=300)
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.pictures", description=__doc__)
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args(argv)
    sys.path.insert(0, str(ROOT))
    from bot.render import answers, attachments, pictures

    with tempfile.TemporaryDirectory() as tmp:
        data_dir, db = ROOT / "data", Path(tmp) / "bench.sqlite3"
        deal, events, meta = asyncio.run(_records(data_dir, db))

        rows: list[tuple[str, str, str, float]] = []
        pictures.deal_card(deal)  # fonts loaded once, as in a running bot
        text_deal = _median_time(lambda: answers.deal_answer(deal), args.repeat * 20)
        text_timeline = _median_time(lambda: answers.timeline_answer(events), args.repeat * 20)
        draw_deal = _median_time(lambda: pictures.deal_card(deal), args.repeat)
        draw_timeline = _median_time(lambda: pictures.timeline_strip(events), args.repeat)
        rows.append(("deal card drawn (once per data version)", f"{draw_deal * 1e3:.1f} ms",
                     f"text card {text_deal * 1e3:.2f} ms", draw_deal / text_deal))
        rows.append(("timeline strip drawn (once per data version)",
                     f"{draw_timeline * 1e3:.1f} ms",
                     f"text card {text_timeline * 1e3:.2f} ms", draw_timeline / text_timeline))

        async def cached() -> float:
            pages = answers.deal_answer(deal)
            await attachments.deal_pages(meta, pages, deal)  # draws once
            start = time.perf_counter()
            n = args.repeat * 20
            for _ in range(n):
                await attachments.deal_pages(meta, pages, deal)
            return (time.perf_counter() - start) / n

        attachments.clear_cache()
        hit = asyncio.run(cached())
        rows.append(("deal picture from the cache (every later answer)", f"{hit * 1e6:.1f} µs",
                     f"text card {text_deal * 1e3:.2f} ms", hit / text_deal))

        for name, png in (("deal.png", pictures.deal_card(deal).png),
                          ("timeline.png", pictures.timeline_strip(events).png)):
            rows.append((f"{name} size", f"{len(png) / 1024:.0f} KiB", "Discord's 10 MiB per file",
                         len(png) / DISCORD_FILE_LIMIT))

        plain = min((_child("plain", data_dir, db) for _ in range(3)), key=lambda r: r["rss"])
        drawn = min((_child("draw", data_dir, db) for _ in range(3)), key=lambda r: r["rss"])
        assert not plain["pil"], "the bot imported Pillow before drawing a picture"
        rows.append(("RSS: bot + Pillow, both pictures drawn", f"{drawn['rss'] / 2**20:.1f} MiB",
                     f"bot alone {plain['rss'] / 2**20:.1f} MiB", drawn["rss"] / plain["rss"]))
        rows.append(("Pillow + pictures import", f"{drawn['pillow_import'] * 1e3:.0f} ms",
                     f"bot import {plain['bot_import'] * 1e3:.0f} ms",
                     drawn["pillow_import"] / plain["bot_import"]))

    width = max(len(r[0]) for r in rows)
    print(f"{'what':<{width}}  {'figure':>12}  {'baseline (same run)':<28}  ratio")
    for what, figure, baseline, ratio in rows:
        print(f"{what:<{width}}  {figure:>12}  {baseline:<28}  {ratio:.4g}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
