"""How the owner reads the results of a control action gathered from many processes, and the
process list of /admin status (bot/discord_app/control.py), on hand-made results.

Redis itself and the processes are tests/test_cluster.py and tests/e2e/test_many_processes.py.
"""

from __future__ import annotations

from bot.cluster import Gathered, Member, Reply
from bot.discord_app.control import processes_answer, reload_answer
from tests.discord_limits import assert_pings_nobody, assert_valid, shown_text

DATA = "4f2a9c1b77e0d3aa"
OTHER = "9d0e11aa00ff2233"


def reply(process: str, shards: list[int], ms: float, ok: bool = True, **result: object) -> Reply:
    summary = str(result.pop("summary", "reloaded"))
    return Reply(process, shards, ok, summary, ms, {"ok": ok, "summary": summary, **result})


def member(process: str, shards: list[int], alive: bool, silent_for: float) -> Member:
    info = {"shards": shards, "shard_count": 12, "version": "0.1.0", "data_version": DATA,
            "guilds": 40}
    return Member(process, info, alive, silent_for)


def text_of(pages: list[dict[str, object]]) -> str:
    assert_valid(pages)
    assert_pings_nobody(pages)
    return "\n".join(shown_text(page) for page in pages)


def test_a_reload_everywhere_reads_as_one_line_with_counts_data_and_times() -> None:
    gathered = Gathered("reload", [reply("a:1", [0, 1, 2, 3], 210.4, data_version=DATA),
                                   reply("b:2", [4, 5, 6, 7], 235.0, data_version=DATA),
                                   reply("c:3", [8, 9, 10, 11], 259.6, data_version=DATA)])

    text = text_of(reload_answer(gathered, "data"))

    assert "Reloaded everywhere" in text
    assert "3 processes, 12 shards: 3 reloaded to data 4f2a9c1b… in 210–260 ms, 0 failed." in text


def test_a_partial_reload_names_who_failed_why_and_who_did_not_answer() -> None:
    problems = ["briefings/x.yaml:12: people.0.name: expected a string"]
    gathered = Gathered("reload", [
        reply("a:1", [0], 200, data_version=DATA),
        reply("b:2", [1], 90, ok=False, problems=problems,
              summary="refused: the data files have 1 problem(s)"),
    ], silent=[member("c:3", [2], True, 1.0)], timeout=30)

    text = text_of(reload_answer(gathered, "data"))

    assert "Reload not done everywhere" in text
    assert "3 processes, 3 shards: 1 reloaded to data 4f2a9c1b… in 200 ms, 1 failed, " \
           "1 did not answer." in text, text
    assert "b:2` (shards 1): refused: the data files have 1 problem(s)" in text
    assert problems[0] in text, "the problems are shown, located"
    assert "No answer within 30s" in text and "c:3` (shards 2)" in text


def test_processes_reloaded_to_different_data_are_told_apart() -> None:
    gathered = Gathered("reload", [reply("a:1", [0], 10, data_version=DATA),
                                   reply("b:2", [1], 12, data_version=OTHER)])

    text = text_of(reload_answer(gathered, "data"))

    assert "2 reloaded to data 4f2a9c1b… (1), 9d0e11aa… (1)" in text, text


def test_status_lists_live_processes_and_flags_the_silent_ones() -> None:
    members = [member("a:1", [0, 1], True, 2.0), member("b:2", [2, 3], False, 47.0)]

    text = text_of(processes_answer(members, me="a:1"))

    assert "1 live process, 2 shards; 1 missing (heartbeat stopped)." in text, text
    assert "`a:1` (this one) · shards 0,1 of 12 · v0.1.0 · data 4f2a9c1b… · 40 guilds · " \
           "heartbeat 2s ago" in text, text
    assert "`b:2` · shards 2,3 of 12" in text and "heartbeat stopped 47s ago" in text
