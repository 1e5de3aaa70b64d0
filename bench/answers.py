"""`python -m bench answers`: how well plain questions are answered, and at what cost.

Runs every question of tests/questions/questions.yaml (written from the two source texts
only) through the router exactly as a DM is answered (a follow-up is asked right after its
`after` question, in the same conversation), and prints:

- accuracy: answerable questions whose answer (its first page) holds every expected group;
- first sentence: of those, the share whose first sentence alone holds every group;
- abstention on unanswerable questions (must be 100%) and false abstention on answerable ones;
- time per question, as a ratio against a plain FTS5 search of the same text (the bot's
  `search` answer: the FTS5 query, its citations, the rendered pages) in the same run.

It compares the means of matching paraphrases: plain FTS5 words (stems only), the curated
synonym table (what the bot uses), and the embedded static model `wordllama` when it is
installed (it is not a dependency; `pip install wordllama==0.4.0.post1` to include it), alone
and with the synonyms; then sweeps the abstention threshold for the chosen means.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
QUESTIONS = ROOT / "tests" / "questions" / "questions.yaml"
ABSTAINED = re.compile(r"^\**The briefing's sources don't")


@dataclass
class Result:
    item: dict[str, Any]
    abstained: bool
    right: bool
    first: bool
    lead: str


def load_questions(path: Path = QUESTIONS) -> list[dict[str, Any]]:
    """The question set: a list of {q, type, expect, unanswerable, after, tags}."""
    return list(yaml.safe_load(path.read_text(encoding="utf-8")))


def page_text(page: dict[str, Any]) -> str:
    parts = []
    for embed in page.get("embeds", []):
        parts += [embed.get("title", ""), embed.get("description", "")]
        for item in embed.get("fields", []):
            parts += [item["name"], item["value"]]
    return " ".join(" ".join(parts).replace("**", "").split())


def lead_of(page: dict[str, Any]) -> str:
    """The answer's first sentence: the description's first line, up to its first full stop
    followed by a capital (so "U.S. citizens" stays whole)."""
    description = page["embeds"][0].get("description", "")
    line = description.split("\n", 1)[0].replace("**", "")
    return re.split(r"(?<=[.!?])\s+(?=[A-Z“\"])", line, maxsplit=1)[0]


def holds(text: str, groups: Sequence[Sequence[str]]) -> bool:
    folded = text.casefold()
    return all(any(str(alt).casefold() in folded for alt in group) for group in groups)


async def run_set(store: Any, questions: list[dict[str, Any]], **options: Any) -> list[Result]:
    """Every question answered as a DM would be (a fresh conversation for each)."""
    from bot.answering.engine import ConversationMemory, ask
    from bot.render import answers
    from bot.render.question import question_answer
    from bot.router import answer_text, clean

    baseline = options.pop("baseline", False)
    results = []
    for n, item in enumerate(questions):
        memory = ConversationMemory()
        if baseline:  # what a plain question got before: the FTS5 search answer
            async with store.snapshot() as snap:
                text = clean(item["q"])
                hits = await snap.search(text)
                pages = answers.search_answer(text, hits)
            right = not item.get("unanswerable") and bool(hits) and holds(
                page_text(pages[0]), item.get("expect") or [])
            first = right and holds(lead_of(pages[0]), item.get("expect") or [])
            results.append(Result(item, not hits, right, first, lead_of(pages[0])))
            continue
        if options:  # a variant of the matcher: straight to the engine, same renderer
            async with store.snapshot() as snap:
                index = await snap.fact_index()
                if item.get("after"):
                    await ask(index, clean(item["after"]), memory=memory, user=n, **options)
                text = clean(item["q"])
                pages = question_answer(await ask(index, text, memory=memory, user=n,
                                                  **options), text)
        else:
            if item.get("after"):
                await answer_text(store, item["after"], memory=memory, user=n)
            pages = await answer_text(store, item["q"], memory=memory, user=n)
        lead = lead_of(pages[0])
        abstained = bool(ABSTAINED.match(lead))
        groups = item.get("expect") or []
        right = not item.get("unanswerable") and not abstained and holds(page_text(pages[0]),
                                                                         groups)
        first = right and holds(lead, groups)
        results.append(Result(item, abstained, right, first, lead))
    return results


def summary(results: list[Result]) -> dict[str, float]:
    answerable = [r for r in results if not r.item.get("unanswerable")]
    unanswerable = [r for r in results if r.item.get("unanswerable")]
    right = [r for r in answerable if r.right]
    return {
        "questions": len(results),
        "answerable": len(answerable),
        "accuracy": len(right) / max(len(answerable), 1),
        "first_sentence": sum(r.first for r in right) / max(len(right), 1),
        "abstain_unanswerable": sum(r.abstained for r in unanswerable) / max(len(unanswerable), 1),
        "false_abstention": sum(r.abstained for r in answerable) / max(len(answerable), 1),
    }


async def timing(store: Any, questions: list[dict[str, Any]], rounds: int) -> dict[str, float]:
    """Seconds per question: the bot's answer (no memo) against `search` of the same text."""
    from bot.answering.engine import ask
    from bot.render import answers
    from bot.render.question import question_answer
    from bot.router import clean

    texts = [clean(item["q"]) for item in questions]
    asked: list[float] = []
    searched: list[float] = []
    async with store.snapshot() as snap:
        index = await snap.fact_index()
        await ask(index, "warm up")  # the index and matcher are built once per snapshot
        for _ in range(rounds):  # alternate, so that drift on a shared machine hits both
            t0 = time.perf_counter()
            for text in texts:
                answers.search_answer(text, await snap.search(text))
            t1 = time.perf_counter()
            for text in texts:
                question_answer(await ask(index, text), text)
            t2 = time.perf_counter()
            searched.append((t1 - t0) / len(texts))
            asked.append((t2 - t1) / len(texts))
    return {"ask": statistics.median(asked), "search": statistics.median(searched)}


def _similarity() -> tuple[Any | None, str]:
    try:
        from bot.answering.similarity import WordLlamaSimilarity
    except ImportError as exc:  # pragma: no cover - depends on what is installed
        return None, f"wordllama not installed ({exc})"
    started = time.perf_counter()
    try:
        model = WordLlamaSimilarity()
    except ImportError as exc:
        return None, f"wordllama not installed ({exc})"
    return model, f"wordllama loaded in {time.perf_counter() - started:.2f}s"


def _row(name: str, s: dict[str, float]) -> str:
    return (f"| {name} | {s['accuracy']:.1%} | {s['first_sentence']:.1%} | "
            f"{s['abstain_unanswerable']:.1%} | {s['false_abstention']:.1%} |")


async def main_async(args: argparse.Namespace) -> int:
    from bot.answering.engine import THRESHOLD
    from bot.briefing.store import Store

    questions = load_questions(args.questions)
    with tempfile.TemporaryDirectory() as folder:
        store = Store(ROOT / "data", Path(folder) / "bench.sqlite3")
        await store.open()
        try:
            results = await run_set(store, questions)
            s = summary(results)
            print(f"# Answers: {s['questions']} questions ({s['answerable']} answerable), "
                  f"{args.questions.name}\n")
            print("| Matching | Accuracy | In the first sentence | Abstains when unanswerable "
                  "| False abstentions |")
            print("| --- | --- | --- | --- | --- |")
            print(_row("the bot (synonym table)", s))
            if not args.quick:
                print(_row("plain FTS5 search answer (before this engine)",
                           summary(await run_set(store, questions, baseline=True))))
                print(_row("plain FTS5 words (stems, no synonyms)",
                           summary(await run_set(store, questions, synonyms=False))))
                model, note = _similarity()
                if model is not None:
                    print(_row("wordllama, no synonyms", summary(await run_set(
                        store, questions, synonyms=False, similarity=model))))
                    print(_row("wordllama + synonyms", summary(await run_set(
                        store, questions, synonyms=True, similarity=model))))
                print(f"\n{note}")
                print("\nAbstention threshold sweep (the bot's matching):\n")
                print("| Threshold | Accuracy | Abstains when unanswerable | False abstentions |")
                print("| --- | --- | --- | --- |")
                for step in range(-6, 7):
                    t = round(THRESHOLD + step * 0.025, 3)
                    sw = summary(await run_set(store, questions, threshold=t))
                    mark = " (chosen)" if step == 0 else ""
                    print(f"| {t:.3f}{mark} | {sw['accuracy']:.1%} | "
                          f"{sw['abstain_unanswerable']:.1%} | {sw['false_abstention']:.1%} |")
            times = await timing(store, questions, rounds=1 if args.quick else 5)
            print(f"\nTime per question: {times['ask'] * 1e3:.2f} ms answering, "
                  f"{times['search'] * 1e3:.2f} ms for a plain FTS5 search of the same text; "
                  f"ratio {times['ask'] / times['search']:.2f}x (goal: at most about 2x)")
            misses = [r for r in results if (r.item.get("unanswerable") and not r.abstained)
                      or (not r.item.get("unanswerable") and not r.right)]
            if misses and args.verbose:
                print("\nNot right:")
                for r in misses:
                    after = f" (after {r.item['after']!r})" if r.item.get("after") else ""
                    print(f"- {r.item['q']!r}{after}: {r.lead[:160]}")
        finally:
            await store.close()
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench answers", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="the bot's matching only")
    parser.add_argument("--verbose", "-v", action="store_true",
                        help="list the questions not answered right")
    parser.add_argument("--questions", type=Path, default=QUESTIONS)
    return asyncio.run(main_async(parser.parse_args(argv)))


if __name__ == "__main__":
    sys.exit(main())
