"""Broken briefing data never reaches users: a reload is refused, and a killed build is harmless.

* ``/admin reload what:data`` by the owner, through the layer-2 harness, for every broken
  variant of tests/test_loader.py (one small edit of the real briefing each, reused here, not
  copied) plus whole-file and multi-file faults the loader tests check only in-process
  (bytes that are not UTF-8, an empty file, a file over 5 MiB, a deleted or undecodable
  source text, YAML aliases, an impossible date, an unclosed quote, a second file with the
  same id). Each answer must name the file and the line (and the field), the previous data
  must keep serving (the /who answer before equals the one after), and the database file must
  be byte-identical.
* ``python -m bot validate`` in a subprocess names file, line and field for each variant and
  exits non-zero.
* SIGKILL in the middle of a rebuild leaves the previous database intact, and the next build
  removes the abandoned temporary file.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from bot.briefing.build import build_database, read_meta
from bot.briefing.loader import MAX_FILE_BYTES, content_hash
from bot.briefing.store import Snapshot, Store
from tests import payloads as P
from tests.briefing_data import BRIEFING_NAME, REPO
from tests.harness import Harness, errors_logged, messages
from tests.payloads import DEFERRED_CHANNEL_MESSAGE
from tests.test_loader import BROKEN, ORIGINAL, Broken, line_of, replace_once

OWNER = P.owner()
REFUSED = "Reload refused: the data files have problems"
SUBPROCESS_TIMEOUT = 120  # a hung child fails the test rather than the run; not a speed check

# Applied alongside each edit where it fits: if the refused data leaked, /who would show it.
OLD_DESCRIPTION = "      President of El Salvador. He announced the handover on X"
POISON = "      POISONED description that must never be shown. He announced the handover on X"


# ---------------------------------------------------------------------------- the variants


@dataclass(frozen=True)
class Expected:
    """Where the refusal must point: file, line(s) and field path, and a message fragment."""

    file: Path
    lines: range | None  # None: a whole-file problem with no line (the file over 5 MiB)
    path: str  # "" for a whole-file problem (shown as "(file)")
    message: str

    def found_in(self, text: str) -> bool:
        """Whether one line of `text` shows this problem as `file:line: path: ...message...`."""
        field = self.path or "(file)"
        heads = ([f"{self.file}: {field}: "] if self.lines is None else
                 [f"{self.file}:{n}: {field}: " for n in self.lines])
        return any(any(head in line for head in heads) and self.message.lower() in line.lower()
                   for line in text.splitlines())


@dataclass(frozen=True)
class Variant:
    id: str
    apply: Callable[[Path], Expected]  # breaks a data folder; says where the problem is
    single_file: str | bytes | None = None  # the whole broken briefing, when that is all it is


def _briefing(data: Path) -> Path:
    return data / "briefings" / BRIEFING_NAME


def _write(path: Path, content: str | bytes) -> None:
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")


def _poisoned(text: str) -> str:
    return text.replace(OLD_DESCRIPTION, POISON) if text.count(OLD_DESCRIPTION) == 1 else text


def from_loader(broken: Broken) -> Variant:
    text = _poisoned(replace_once(ORIGINAL, broken.old, broken.new))
    line = line_of(text, broken.line, broken.after)

    def apply(data: Path) -> Expected:
        _write(_briefing(data), text)
        return Expected(_briefing(data), range(line, line + 1), broken.path, broken.message)

    return Variant(f"loader-{broken.id}", apply, text)


def single(name: str, content: str | bytes, lines: range | None, path: str,
           message: str) -> Variant:
    def apply(data: Path) -> Expected:
        _write(_briefing(data), content)
        return Expected(_briefing(data), lines, path, message)

    return Variant(name, apply, content)


def _line(text: str, needle: str) -> range:
    n = line_of(text, needle)
    return range(n, n + 1)


X_DESCRIPTION = ("    description: Social media platform on which Bukele posted about the "
                 "handover.\n")
assert ORIGINAL.count(X_DESCRIPTION) == 1
NOT_UTF8 = _poisoned(ORIGINAL).encode("utf-8").replace(  # a Latin-1 'ö'
    X_DESCRIPTION.encode(), X_DESCRIPTION.replace("Social", "S\xf6cial").encode("latin-1"))
HUGE = _poisoned(ORIGINAL) + ("# " + "x" * 97 + "\n") * (MAX_FILE_BYTES // 100 + 1)
ALIAS = replace_once(_poisoned(ORIGINAL), "language: en\n",
                     "language: en\nloop: &loop [*loop]\n")
BOMB = _poisoned(ORIGINAL) + "lol0: &lol0 [" + ", ".join(["lol"] * 9) + "]\n" + "".join(
    f"lol{i}: &lol{i} [" + ", ".join([f"*lol{i - 1}"] * 9) + "]\n" for i in range(1, 9))
BOMB_FIRST = BOMB.splitlines()[-9]  # "lol0: &lol0 [lol, ...]"
IMPOSSIBLE_DATE = replace_once(_poisoned(ORIGINAL), "      date: 2025-04-01\n",
                               "      date: 2025-02-30\n")
UNCLOSED = replace_once(_poisoned(ORIGINAL), "    aliases: [Bukele, President Bukele]\n",
                        "    aliases: [Bukele, President Bukele\n")
UNKNOWN_TOP = replace_once(_poisoned(ORIGINAL), "language: en\n",
                           "language: en\nlanguage_name: English\n")


def _unclosed_lines() -> range:
    opened = line_of(UNCLOSED, "aliases: [Bukele, President Bukele")
    lines = UNCLOSED.splitlines()
    closer = next(n for n in range(opened + 1, len(lines) + 1) if any(
        c in lines[n - 1] for c in "]:"))
    return range(opened, closer + 1)


def _deleted_source_text(data: Path) -> Expected:
    _write(_briefing(data), _poisoned(ORIGINAL))
    (data / "sources" / "record.md").unlink()
    return Expected(_briefing(data), _line(ORIGINAL, "text: record.md"), "sources[1].text",
                    "text file not found")


def _source_text_not_utf8(data: Path) -> Expected:
    _write(_briefing(data), _poisoned(ORIGINAL))
    record = data / "sources" / "record.md"
    record.write_bytes(record.read_bytes().replace("Simón".encode(), "Simón".encode("latin-1")))
    return Expected(_briefing(data), _line(ORIGINAL, "text: record.md"), "sources[1].text",
                    "not UTF-8")


def _second_file_same_id(data: Path) -> Expected:
    copy = data / "briefings" / "zz-copy.yaml"
    _write(copy, _poisoned(ORIGINAL))
    return Expected(copy, _line(ORIGINAL, "id: prisoner-exchange-2025"), "id",
                    "is also used by")


# Loading the real briefing takes ~0.25 s here (two pure-Python YAML passes), so the suite
# reloads (and validates) one or two of test_loader's edits per kind of mistake, plus every
# whole-file and multi-file fault; test_loader itself checks all of its edits in-process.
FROM_LOADER = [
    "tab-indentation", "version-as-number", "aliases-not-a-list", "unknown-entity-kind",
    "misspelt-aliases", "entity-without-kind", "briefing-without-primary-source",
    "entity-without-evidence", "event-reuses-an-entity-id", "id-with-capitals",
    "duplicate-key-in-entity", "unknown-event-participant", "unknown-discrepancy-target",
    "unknown-primary-source", "quote-not-in-the-source", "quoted-words-not-in-the-source",
    "source-text-escapes-the-folder", "date-before-1700", "quantity-low-above-value",
    "disputed-claim-without-contradiction", "oversize-description", "oversize-title",
]

VARIANTS: list[Variant] = [
    *(from_loader(b) for b in BROKEN if b.id in FROM_LOADER),
    single("not-utf8-bytes", NOT_UTF8, _line(ORIGINAL, X_DESCRIPTION.strip()), "",
           "not UTF-8"),
    single("empty-file", "", range(1, 2), "", "the file is empty"),
    single("blank-file", "\n \n", range(1, 2), "", "the file is empty"),
    single("binary-garbage", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\xff\xfe", range(1, 2), "",
           "not UTF-8"),
    single("top-level-list", "- id: a\n- id: b\n", range(1, 2), "", "mapping"),
    single("over-5-mib", HUGE, None, "", "the limit is 5 MiB"),
    single("yaml-self-alias", ALIAS, _line(ALIAS, "loop: &loop [*loop]"), "loop[0]",
           "anchors and aliases"),
    # Reported at the anchor's line or the alias's (see the xfail test at the end).
    single("yaml-alias-bomb", BOMB, range(line_of(BOMB, BOMB_FIRST), line_of(BOMB, BOMB_FIRST) + 2),
           "lol1[0]", "anchors and aliases"),
    single("impossible-date", IMPOSSIBLE_DATE, _line(IMPOSSIBLE_DATE, "date: 2025-02-30"), "",
           "invalid date '2025-02-30'"),
    single("unclosed-bracket", UNCLOSED, _unclosed_lines(), "", "invalid YAML"),
    single("unknown-top-level-key", UNKNOWN_TOP, _line(UNKNOWN_TOP, "language_name: English"),
           "language_name", "extra inputs are not permitted"),
    Variant("deleted-source-text", _deleted_source_text),
    Variant("source-text-not-utf8", _source_text_not_utf8),
    Variant("second-file-with-the-same-id", _second_file_same_id),
]


def test_there_are_at_least_30_distinct_broken_variants() -> None:
    assert {b.id for b in BROKEN} >= set(FROM_LOADER), "test_loader renamed an edit"
    assert len({v.id for v in VARIANTS}) == len(VARIANTS) >= 30


# ---------------------------------------------------------------------------- helpers


async def who_bukele(harness: Harness) -> list[dict[str, Any]]:
    calls = await harness.slash(P.slash_interaction("who", {"name": "Bukele"}))
    [answer] = messages(calls)
    assert answer.titles == ["Nayib Bukele (person)"]
    return answer.embeds


def leftovers(db_path: Path) -> list[Path]:
    return sorted(db_path.parent.glob(f".{db_path.name}.*.building"))


# ---------------------------------------------------------------------------- reload refused


@pytest.mark.parametrize("variant", VARIANTS, ids=[v.id for v in VARIANTS])
async def test_a_broken_reload_is_refused_at_its_file_and_line_and_the_old_data_keeps_serving(
        harness: Harness, tmp_data: Path, variant: Variant) -> None:
    store = harness.bot.store
    before = await who_bukele(harness)
    db_before = store.db_path.read_bytes()
    snapshot_before = store.current
    expected = variant.apply(tmp_data)

    with errors_logged() as errors:
        calls = await harness.slash(P.owner_reload())

    assert calls[0].type == DEFERRED_CHANNEL_MESSAGE and calls[0].ephemeral
    shown = messages(calls)
    assert shown and all(c.ephemeral for c in shown)
    assert [c.titles for c in shown][0] == [REFUSED]
    text = "\n".join(c.text() for c in shown)
    assert expected.found_in(text), text
    assert "POISONED" not in text
    assert [r.getMessage() for r in errors] == []  # refused data is a warning, not an error
    # The previous data keeps serving, from the very same database file.
    assert store.current is snapshot_before
    assert await who_bukele(harness) == before
    assert store.db_path.read_bytes() == db_before
    assert leftovers(store.db_path) == []


# ---------------------------------------------------------------------------- validate, for real


def _cli_env(data: Path, tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if k not in ("DATA_DIR", "DB_PATH", "LOG_FILE", "DISCORD_TOKEN")}
    env.update(DATA_DIR=str(data), DB_PATH=str(tmp_path / "db" / "cli.sqlite3"),
               LOG_FILE="", PYTHONIOENCODING="utf-8")
    return env


def _validate(data: Path, tmp_path: Path, *files: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "bot", "validate", *map(str, files)],
                          cwd=REPO, env=_cli_env(data, tmp_path), capture_output=True,
                          text=True, encoding="utf-8", errors="replace",
                          timeout=SUBPROCESS_TIMEOUT)


def test_validate_names_file_line_and_field_of_every_broken_briefing_file(
        tmp_data: Path, tmp_path: Path) -> None:
    # One subprocess for all of them: each variant is its own briefing file, named after it.
    files: list[Path] = []
    expected: list[tuple[str, Expected]] = []
    for variant in VARIANTS:
        if variant.single_file is None:
            continue
        scratch = tmp_path / "scratch" / variant.id
        (scratch / "briefings").mkdir(parents=True)
        located = variant.apply(scratch)
        path = tmp_data / "briefings" / f"{variant.id}.yaml"
        _write(path, variant.single_file)
        files.append(path)
        expected.append((variant.id, dataclasses.replace(located, file=path)))

    # Two children at once (a YAML parse of each file dominates); each must fail.
    halves = [files[0::2], files[1::2]]
    children = [subprocess.Popen([sys.executable, "-m", "bot", "validate", *map(str, half)],
                                 cwd=REPO, env=_cli_env(tmp_data, tmp_path),
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE)
                for half in halves]
    outputs = [child.communicate(timeout=SUBPROCESS_TIMEOUT) for child in children]

    assert [child.returncode for child in children] == [1, 1], outputs
    stderr = "\n".join(err.decode("utf-8", "replace") for _, err in outputs)
    missing = [vid for vid, where in expected if not where.found_in(stderr)]
    assert missing == [], stderr[-3000:]
    assert all(err.decode().rstrip().endswith("problem(s) found.") for _, err in outputs)


@pytest.mark.parametrize("variant", [v for v in VARIANTS if v.single_file is None],
                         ids=lambda v: v.id)
def test_validate_names_file_line_and_field_of_a_broken_source_or_second_file(
        variant: Variant, tmp_data: Path, tmp_path: Path) -> None:
    expected = variant.apply(tmp_data)

    result = _validate(tmp_data, tmp_path)

    assert result.returncode == 1, result.stdout
    assert expected.found_in(result.stderr), result.stderr


def test_validate_exits_zero_on_the_bundled_data(data_dir: Path, tmp_path: Path) -> None:
    """The check above is not vacuous: good data passes."""
    result = _validate(data_dir, tmp_path)
    assert result.returncode == 0, result.stderr
    assert f"{BRIEFING_NAME}: ok" in result.stdout


# ---------------------------------------------------------------------------- SIGKILL mid-build

SYNTHETIC_BRIEFINGS = 300
FILLER = " ".join(["lorem ipsum dolor"] * 2800)  # ~50 KB per source: a long write phase


def synthetic_corpus(data: Path, count: int = SYNTHETIC_BRIEFINGS) -> None:
    """`count` small valid briefings, each citing a source text of its own."""
    shutil.rmtree(data, ignore_errors=True)
    (data / "briefings").mkdir(parents=True)
    (data / "sources").mkdir()
    for i in range(count):
        (data / "briefings" / f"synth-{i:03d}.yaml").write_text(
            f"id: synth-{i:03d}\n"
            f"title: Synthetic briefing {i}\n"
            "summary: A generated briefing that makes a rebuild slow.\n"
            'version: "1.0"\n'
            "updated: 2025-01-01\n"
            "primary_source: text\n"
            "sources:\n"
            "  - id: text\n"
            f"    title: Synthetic source {i}\n"
            "    publisher: Generator\n"
            "    reliability: primary\n"
            f"    text: synth-{i:03d}.txt\n"
            "entities:\n"
            "  - id: person\n"
            "    kind: person\n"
            f"    name: Synthetic Person {i}\n"
            f"    description: Someone named in synthetic source {i}.\n"
            "    evidence:\n"
            "      - source: text\n"
            f"        quote: Synthetic Person {i} was named\n"
            "      - source: text\n"
            "        quote: named in this report\n",
            encoding="utf-8")
        (data / "sources" / f"synth-{i:03d}.txt").write_text(
            f"Synthetic Person {i} was named in this report {FILLER}.", encoding="utf-8")


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _kill_mid_build(data: Path, db_path: Path) -> tuple[Path, int]:
    """Start a forced rebuild in a child, SIGKILL it once its temp file holds pages."""
    code = ("import sys; from pathlib import Path; "
            "from bot.briefing.build import build_database; "
            "build_database(Path(sys.argv[1]), Path(sys.argv[2]), force=True)")
    child = subprocess.Popen([sys.executable, "-c", code, str(data), str(db_path)], cwd=REPO,
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + SUBPROCESS_TIMEOUT
    try:
        while True:
            temp = [p for p in leftovers(db_path) if f".{child.pid}." in p.name]
            with contextlib.suppress(FileNotFoundError):  # renamed away: caught below
                if temp and temp[0].stat().st_size >= 4096:
                    os.kill(child.pid, signal.SIGKILL)
                    break
            if child.poll() is not None:
                pytest.fail(f"the build ended (exit {child.returncode}) before it could be "
                            f"killed mid-write: {child.stderr.read()!r}")  # type: ignore[union-attr]
            if time.monotonic() > deadline:
                pytest.fail("the build never started writing")
            time.sleep(0.001)
        child.wait(timeout=SUBPROCESS_TIMEOUT)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
        if child.stderr is not None:
            child.stderr.close()
    return temp[0], child.returncode


def _integrity(db_path: Path) -> str:
    with contextlib.closing(sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)) as conn:
        return str(conn.execute("PRAGMA integrity_check").fetchone()[0])


async def test_sigkill_mid_rebuild_keeps_the_previous_database_and_the_next_build_cleans_up(
        tmp_path: Path, record_property: Callable[[str, object], None]) -> None:
    data, db_path = tmp_path / "data", tmp_path / "db" / "briefings.sqlite3"
    shutil.copytree(REPO / "data", data)
    build_database(data, db_path)
    before_meta, before_digest = read_meta(db_path), _digest(db_path)
    synthetic_corpus(data)  # the operator replaces the data; the reload is killed mid-build
    new_hash = content_hash(data)
    assert new_hash != before_meta["content_hash"]

    temp, returncode = _kill_mid_build(data, db_path)

    assert returncode == -signal.SIGKILL
    assert temp.exists() and temp.stat().st_size > 0, "killed while writing its temp file"
    record_property("abandoned_temp_bytes", temp.stat().st_size)
    # The previous database is intact: same bytes, consistent, same data, still answers.
    assert _digest(db_path) == before_digest
    assert _integrity(db_path) == "ok"
    assert read_meta(db_path) == before_meta
    snap = await Snapshot.open(db_path)
    try:
        found = await snap.lookup("Bukele")
        assert found.entity is not None and found.entity.ref.name == "Nayib Bukele"
    finally:
        await snap.close()

    # The next start rebuilds (the data changed) and removes what the killed build left.
    store = Store(data, db_path)
    report = await store.open()
    try:
        assert report.rebuilt and report.briefings == SYNTHETIC_BRIEFINGS
        record_property("synthetic_rebuild_seconds", round(report.seconds, 2))
        assert leftovers(db_path) == []
        assert read_meta(db_path)["content_hash"] == new_hash
        async with store.snapshot() as snap:
            found = await snap.lookup("Synthetic Person 7")
            assert found.entity is not None and found.entity.ref.name == "Synthetic Person 7"
    finally:
        await store.close()
    assert _integrity(db_path) == "ok"


def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait(timeout=SUBPROCESS_TIMEOUT)
    return child.pid


async def test_a_forced_rebuild_removes_a_dead_builders_temp_file(
        tmp_data: Path, db_path: Path) -> None:
    build_database(tmp_data, db_path)
    abandoned = db_path.parent / f".{db_path.name}.{_dead_pid()}.abc123.building"
    abandoned.write_bytes(b"SQLite format 3\x00" + b"\x00" * 4080)
    alive = db_path.parent / f".{db_path.name}.{os.getppid()}.def456.building"
    alive.write_bytes(b"")  # a build still running in another (live) process: left alone

    build_database(tmp_data, db_path, force=True)

    assert leftovers(db_path) == [alive]


async def test_a_restart_on_unchanged_data_removes_a_killed_builds_temp_file(
        tmp_data: Path, db_path: Path) -> None:
    build_database(tmp_data, db_path)
    abandoned = db_path.parent / f".{db_path.name}.{_dead_pid()}.abc123.building"
    abandoned.write_bytes(b"SQLite format 3\x00" + b"\x00" * 4080)

    store = Store(tmp_data, db_path)
    report = await store.open()
    await store.close()

    assert not report.rebuilt
    assert leftovers(db_path) == []


def test_an_alias_is_reported_at_the_line_where_it_is_used(tmp_data: Path) -> None:
    text = replace_once(ORIGINAL, "language: en\n", "language: &lang en\n") + "extra: *lang\n"
    path = _briefing(tmp_data)
    _write(path, text)
    result_problems = _problems(path, tmp_data)
    [problem] = [p for p in result_problems if "aliases" in p.message]
    assert problem.path == "extra"
    assert problem.line == len(text.splitlines())  # the last line, where *lang is


def _problems(path: Path, data: Path) -> list[Any]:
    from bot.briefing.loader import BriefingError, load_briefing

    with pytest.raises(BriefingError) as caught:
        load_briefing(path, data / "sources")
    return caught.value.problems
