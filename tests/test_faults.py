"""Faults an operator will meet: malformed events, broken files at start, full disks, bad paths.

One section per family of issue 15, each on the real bot (the layer-2 harness, or the real
`python -m bot` in a subprocess); tests/e2e/test_operator_faults.py runs the ones about the
process itself against the fake Discord.

1. A gateway event discord.py cannot parse is logged and dropped (an interaction is still
   answered), and the bot carries on.
2. A start with broken files serves the last good database and tells the owners what is broken;
   without one it exits with one clear line.
3. Filesystem faults (DB_PATH a folder or under a file, no space left, LOG_FILE not writable)
   give one line naming the path and the fix, never a traceback; nothing half-written is left.
4. `validate` refuses what the build cannot serve: integers past SQLite's range, YAML merge
   keys, broken symbolic links, quotes across Markdown list items, NUL bytes (by line).
5. A name shared by two entities is refused; a press on a button nobody handles is answered.
6. `/admin` is shown only to server administrators, never in DMs or user installs.
"""

from __future__ import annotations

import contextlib
import copy
import errno
import logging
import os
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.briefing import build
from bot.briefing.build import build_database
from bot.briefing.loader import BriefingError, load_all
from bot.briefing.store import Store
from tests import payloads as P
from tests.discord_limits import assert_pings_nobody, assert_valid
from tests.harness import (
    CHANNEL_MESSAGE,
    UPDATE_MESSAGE,
    Call,
    Harness,
)

REPO = Path(__file__).resolve().parents[1]
BRIEFING = "prisoner-exchange-2025.yaml"
OWNER = P.user(P.OWNER_ID, "owner")
TIMEOUT = 120  # a hung CLI fails the test rather than the run; not a speed check
BUKELE = "      President of El Salvador. He announced the handover on X"


def briefing_path(data: Path) -> Path:
    return data / "briefings" / BRIEFING


def edit(data: Path, old: str, new: str) -> Path:
    """Replace one occurrence of `old` in the bundled briefing of `data`."""
    path = briefing_path(data)
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, old
    path.write_text(text.replace(old, new), encoding="utf-8")
    return path


def line_of(path: Path, needle: str) -> int:
    lines = path.read_text(encoding="utf-8").splitlines()
    return next(i for i, line in enumerate(lines, 1) if needle in line)


def contents(path: Path) -> bytes:
    return path.read_bytes()


def problems_of(data: Path) -> list[str]:
    with pytest.raises(BriefingError) as caught:
        load_all(data)
    return [str(p) for p in caught.value.problems]


def cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "bot", *args], cwd=REPO, env=env,
                          capture_output=True, text=True, encoding="utf-8", errors="replace",
                          timeout=TIMEOUT)


@pytest.fixture
def cli_env(tmp_path: Path, tmp_data: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if k not in ("DATA_DIR", "DB_PATH", "LOG_FILE", "DISCORD_TOKEN")}
    env.update(DATA_DIR=str(tmp_data), DB_PATH=str(tmp_path / "db" / "cli.sqlite3"),
               LOG_FILE=str(tmp_path / "bot.log"), PYTHONIOENCODING="utf-8")
    return env


def one_line_error(result: subprocess.CompletedProcess[str]) -> str:
    """The single `error: ...` line a failed command printed, checking there is nothing else."""
    assert result.returncode != 0, result.stdout
    assert "Traceback" not in result.stderr, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    return lines[0]


# ============================================================================ 1. gateway events

# What discord.py 2.7.1 reads from every interaction before anything else (interactions.py).
INTERACTION_FIELDS = ["id", "type", "token", "version", "application_id",
                      "attachment_size_limit"]


def run_parser(harness: Harness, event: str, data: Any) -> None:
    """Call the parser as the gateway does: `DiscordWebSocket` looks it up in `state.parsers`."""
    harness.state.parsers[event](data)


async def gateway_event(harness: Harness, event: str, data: Any) -> list[Call]:
    mark = len(harness.calls)
    if isinstance(data, dict) and "token" in data and "id" in data:
        harness._remember(data)
    else:
        harness.install_transport()
    async with harness._settled(5.0):
        run_parser(harness, event, copy.deepcopy(data))
    return harness.since(mark)


async def still_serving(harness: Harness) -> None:
    calls = await harness.slash(P.slash_interaction("who", {"name": "Bukele"}))
    assert [c.type for c in calls] == [CHANNEL_MESSAGE]
    assert "Nayib Bukele" in calls[0].text()


@pytest.mark.parametrize("missing", INTERACTION_FIELDS)
async def test_an_interaction_missing_a_field_is_logged_dropped_and_answered_if_it_can_be(
        harness: Harness, missing: str, caplog: pytest.LogCaptureFixture) -> None:
    payload = P.slash_interaction("who", {"name": "Bukele"})
    del payload[missing]

    with caplog.at_level(logging.ERROR, "bot.discord_app.state"):
        calls = await gateway_event(harness, "INTERACTION_CREATE", payload)

    assert any("malformed INTERACTION_CREATE" in r.getMessage() for r in caplog.records)
    if missing in ("id", "token"):
        assert calls == []  # nothing to answer it with
    else:
        [answer] = calls
        assert answer.type == CHANNEL_MESSAGE and answer.ephemeral
        assert "couldn't read that request" in answer.body["content"]
        assert_valid([answer.body])
        assert_pings_nobody([answer.body])
        assert answer.body["allowed_mentions"]["parse"] == []
        assert answer.ids["interaction_id"] == int(payload["id"])
    await still_serving(harness)


@pytest.mark.parametrize(("event", "make", "missing"), [
    ("INTERACTION_CREATE", lambda: P.component_interaction("page:x:1"), ("data", "custom_id")),
    ("INTERACTION_CREATE", lambda: P.component_interaction("page:x:1"),
     ("data", "component_type")),
    ("MESSAGE_CREATE", lambda: P.message_create("who Bukele"), ("channel_id",)),
    ("GUILD_CREATE", lambda: P.guild(name="Another"), ("id",)),
    ("INTERACTION_CREATE", lambda: ["not", "an", "object"], ()),
], ids=["component-custom_id", "component-component_type",
        "message-channel_id", "guild-id", "interaction-not-an-object"])
async def test_other_malformed_events_are_logged_and_dropped(
        harness: Harness, event: str, make: Any, missing: tuple[str, ...],
        caplog: pytest.LogCaptureFixture) -> None:
    data = make()
    if missing:
        holder = data
        for key in missing[:-1]:
            holder = holder[key]
        del holder[missing[-1]]

    with caplog.at_level(logging.ERROR, "bot.discord_app.state"):
        await gateway_event(harness, event, data)

    assert any(f"malformed {event}" in r.getMessage() for r in caplog.records)
    await still_serving(harness)


# ============================================================================ 2. start fallback

async def test_a_start_with_a_broken_file_serves_the_last_good_database_and_status_says_why(
        tmp_data: Path, db_path: Path) -> None:
    async with Harness.start(tmp_data, db_path) as first:  # builds the last good database
        await still_serving(first)
    broken = edit(tmp_data, "  brokers: [bukele, el-salvador]", "  brokers: [bukele, nobody]")
    line = line_of(broken, "brokers: [bukele, nobody]")

    async with Harness.start(tmp_data, db_path, reuse_build=False) as h:
        await still_serving(h)  # the restart serves, not a crash loop
        [status] = await h.slash(P.slash_interaction("admin", subcommand="status", user=OWNER))
        text = status.text()
        assert status.ephemeral
        assert "Serving the last good database" in text
        assert f"{broken}:{line}: deal.brokers[1]: unknown entity 'nobody'" in text

        # Fixed and reloaded: the new data is served and status has nothing to report.
        edit(tmp_data, "  brokers: [bukele, nobody]", "  brokers: [bukele, el-salvador]")
        edit(tmp_data, BUKELE, BUKELE.replace("President of", "The president of"))
        calls = await h.slash(P.slash_interaction("admin", {"what": "data"},
                                                  subcommand="reload", user=OWNER))
        assert any("Data reloaded" in c.text() for c in calls)
        [status] = await h.slash(P.slash_interaction("admin", subcommand="status", user=OWNER))
        assert "last good" not in status.text() and "problem" not in status.text()
        [who] = await h.slash(P.slash_interaction("who", {"name": "Bukele"}))
        assert "The president of El Salvador" in who.text()


@pytest.mark.parametrize("fault", ["unreadable", "nested-too-deep", "broken-symlink"])
async def test_a_start_falls_back_for_files_that_cannot_be_read_or_parsed(
        tmp_data: Path, db_path: Path, fault: str) -> None:
    build_database(tmp_data, db_path)
    path = briefing_path(tmp_data)
    if fault == "unreadable":
        # Root reads any file whatever its mode: a folder where the file was is unreadable as a
        # file for everyone.
        path.unlink()
        path.mkdir()
        (tmp_data / "briefings" / "second.yaml").write_bytes(b"\xff\xfe not text")
        expected = "second.yaml:1: (file): not UTF-8 text"
    elif fault == "nested-too-deep":
        path.write_text(path.read_text(encoding="utf-8") + "extra: " + "[" * 900 + "]" * 900
                        + "\n", encoding="utf-8")
        expected = "nested more than 64 levels deep"
    else:
        path.unlink()
        path.symlink_to(tmp_data / "gone.yaml")
        expected = "a symbolic link to"

    async with Harness.start(tmp_data, db_path, reuse_build=False) as h:
        await still_serving(h)
        [status] = await h.slash(P.slash_interaction("admin", subcommand="status", user=OWNER))
        assert "Serving the last good database" in status.text()
        assert expected in status.text()


def test_a_start_without_any_good_database_exits_with_one_clear_line(
        cli_env: dict[str, str], tmp_data: Path) -> None:
    edit(tmp_data, "  brokers: [bukele, el-salvador]", "  brokers: [bukele, nobody]")
    env = dict(cli_env, DISCORD_TOKEN="not-a-real-token-but-long-enough",
               DISCORD_API_BASE="http://127.0.0.1:9/api/v10",  # never reached: fails before
               DISCORD_GATEWAY_URL="ws://127.0.0.1:9/")
    result = cli(env, "run")
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    first = result.stderr.splitlines()[0]
    assert first.startswith("error: the briefing data has 1 problem(s) and there is no "
                            "earlier database"), result.stderr
    assert "unknown entity 'nobody'" in result.stderr
    assert "could not reach Discord" not in result.stderr


# ============================================================================ 3. filesystem faults

def test_ask_with_db_path_naming_a_folder_says_so_in_one_line(
        cli_env: dict[str, str], tmp_path: Path) -> None:
    folder = tmp_path / "a-folder"
    folder.mkdir()
    line = one_line_error(cli(dict(cli_env, DB_PATH=str(folder)), "ask", "who Bukele"))
    assert f"DB_PATH {folder} is a folder; set DB_PATH to a file path" in line
    assert list(folder.iterdir()) == []


def test_ask_with_db_path_under_a_file_says_so_in_one_line(
        cli_env: dict[str, str], tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x", encoding="utf-8")
    line = one_line_error(cli(dict(cli_env, DB_PATH=str(blocker / "db.sqlite3")), "ask", "who"))
    assert str(blocker / "db.sqlite3") in line and "set DB_PATH" in line


@contextlib.contextmanager
def mounted_tmpfs(where: Path, options: str) -> Iterator[Path]:
    """A small tmpfs at `where` (needs the right to mount: root in a container); else skip."""
    where.mkdir()
    result = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(where)],
                            capture_output=True, text=True)
    if result.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {result.stderr.strip()}")
    try:
        yield where
    finally:
        subprocess.run(["umount", str(where)], check=True)


@pytest.fixture
def read_only_folder(tmp_path: Path) -> Iterator[Path]:
    """A folder this process cannot write in: mode 555, or for root a read-only mount."""
    if os.geteuid() != 0:
        folder = tmp_path / "read-only"
        folder.mkdir()
        folder.chmod(0o555)
        try:
            yield folder
        finally:
            folder.chmod(0o755)
        return
    with mounted_tmpfs(tmp_path / "read-only", "ro,size=64k") as folder:
        yield folder


def test_ask_with_a_folder_it_cannot_write_says_so_in_one_line(
        cli_env: dict[str, str], read_only_folder: Path) -> None:
    db = read_only_folder / "db.sqlite3"
    line = one_line_error(cli(dict(cli_env, DB_PATH=str(db)), "ask", "who Bukele"))
    assert f"cannot write {db}:" in line and "set DB_PATH to a file elsewhere" in line


def test_ask_on_a_full_disk_says_so_in_one_line_and_leaves_nothing(
        cli_env: dict[str, str], tmp_path: Path) -> None:
    with mounted_tmpfs(tmp_path / "small", "size=160k") as small:
        db = small / "db.sqlite3"
        line = one_line_error(cli(dict(cli_env, DB_PATH=str(db)), "ask", "who Bukele"))
        assert f"no space left on the device holding {db}" in line
        assert list(small.iterdir()) == []  # the half-built temporary file is gone


@pytest.mark.parametrize("where", ["write", "fsync", "sqlite"])
async def test_a_full_disk_during_a_build_keeps_the_old_database_and_says_so(
        store: Store, tmp_data: Path, db_path: Path, monkeypatch: pytest.MonkeyPatch,
        where: str) -> None:
    before = contents(db_path)
    edit(tmp_data, BUKELE, BUKELE.replace("President of", "The president of"))
    if where == "write":
        def full(path: Path, *args: Any) -> int:
            path.write_bytes(b"half a database")
            raise OSError(errno.ENOSPC, "No space left on device")
        monkeypatch.setattr(build, "_write", full)
    elif where == "fsync":
        def no_room(fd: int) -> None:
            raise OSError(errno.ENOSPC, "No space left on device")
        monkeypatch.setattr(build.os, "fsync", no_room)
    else:
        real = build._write

        def sqlite_full(path: Path, *args: Any) -> int:
            real(path, *args)
            raise sqlite3.OperationalError("database or disk is full")
        monkeypatch.setattr(build, "_write", sqlite_full)

    # One line naming the database and the fix (StorageError), not the raw OSError.
    with pytest.raises(Exception, match=f"no space left on the device holding {db_path}"):
        await store.reload()
    assert contents(db_path) == before
    assert sorted(p.name for p in db_path.parent.iterdir()) == [db_path.name]


async def test_an_owners_reload_on_a_full_disk_names_the_file_and_the_cause(
        harness: Harness, tmp_data: Path, db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def full(path: Path, *args: Any) -> int:
        raise sqlite3.OperationalError("database or disk is full")
    monkeypatch.setattr(build, "_write", full)

    calls = await harness.slash(P.slash_interaction("admin", {"what": "data"},
                                                    subcommand="reload", user=OWNER))
    text = "\n".join(c.text() for c in calls)
    assert "Reload failed" in text
    assert f"no space left on the device holding {db_path}" in text
    assert "unexpectedly" not in text
    await still_serving(harness)


@pytest.mark.parametrize("kind", ["a-folder", "read-only-folder"])
def test_the_bot_with_a_log_file_it_cannot_write_says_so_in_one_line(
        cli_env: dict[str, str], tmp_path: Path, kind: str, request: pytest.FixtureRequest
) -> None:
    if kind == "a-folder":
        log_file = tmp_path / "logs-folder"
        log_file.mkdir()
    else:
        log_file = request.getfixturevalue("read_only_folder") / "bot.log"
    env = dict(cli_env, LOG_FILE=str(log_file), DISCORD_TOKEN="not-a-real-token-but-long",
               DISCORD_API_BASE="http://127.0.0.1:9/api/v10",
               DISCORD_GATEWAY_URL="ws://127.0.0.1:9/")
    line = one_line_error(cli(env, "run"))
    assert f"cannot write the log file LOG_FILE={log_file}" in line
    assert "could not reach Discord" not in line


def test_the_bot_with_db_path_naming_a_folder_does_not_blame_the_network(
        cli_env: dict[str, str], tmp_path: Path) -> None:
    folder = tmp_path / "db-folder"
    folder.mkdir()
    env = dict(cli_env, DB_PATH=str(folder), DISCORD_TOKEN="not-a-real-token-but-long",
               DISCORD_API_BASE="http://127.0.0.1:9/api/v10",
               DISCORD_GATEWAY_URL="ws://127.0.0.1:9/")
    line = one_line_error(cli(env, "run"))
    assert f"DB_PATH {folder} is a folder" in line


# ============================================================================ 4. validate = build

def test_an_event_order_beyond_sqlites_integers_is_refused_by_validate(tmp_data: Path) -> None:
    path = edit(tmp_data, "    order: 1\n", f"    order: {2**63}\n")
    line = line_of(path, f"order: {2**63}")
    [problem] = problems_of(tmp_data)
    assert problem.startswith(f"{path}:{line}: events[")
    assert ".when.order: " in problem and "less than or equal to 9223372036854775807" in problem
    # The largest value SQLite stores is accepted, and the build serves it.
    edit(tmp_data, f"    order: {2**63}\n", f"    order: {2**63 - 1}\n")
    build_database(tmp_data, tmp_data / "ok.sqlite3")


def test_a_yaml_merge_key_is_refused_at_its_line(tmp_data: Path) -> None:
    path = edit(tmp_data, "  - id: bukele\n", "  - <<: {description: merged in}\n    id: bukele\n")
    line = line_of(path, "<<: {description: merged in}")
    problems = problems_of(tmp_data)
    assert f"{path}:{line}: entities[0].<<: YAML merge keys (<<) are not allowed" in \
        "\n".join(problems), problems


def test_a_broken_symlink_briefing_is_reported_not_skipped(tmp_data: Path) -> None:
    link = tmp_data / "briefings" / "later.yaml"
    link.symlink_to(tmp_data / "briefings" / "not-written-yet.yaml")
    [problem] = problems_of(tmp_data)
    assert problem.startswith(f"{link}: (file): a symbolic link to ")
    assert "which does not exist" in problem


def add_entity_evidence(data: Path, quote: str) -> Path:
    """Give the first entity one more evidence quote from the record, returning the file."""
    path = briefing_path(data)
    text = path.read_text(encoding="utf-8")
    at = text.index("\n    evidence:\n") + len("\n    evidence:\n")
    path.write_text(text[:at] + f"      - source: record\n        quote: \"{quote}\"\n"
                    + text[at:], encoding="utf-8")
    return path


def test_a_quote_across_a_markdown_list_item_boundary_is_refused(tmp_data: Path) -> None:
    # record.md: "- The Secretary of State is Marco Rubio (AP, NPR). The article's "Marc
    # Rubio" is a misspelling." and the next item "- Donald Trump was the sitting US President
    # ...": the joined words were never written together.
    quote = "is a misspelling. Donald Trump was the sitting US President"
    path = add_entity_evidence(tmp_data, quote)
    line = line_of(path, quote)
    problems = problems_of(tmp_data)
    assert any(p.startswith(f"{path}:{line}: entities[0].evidence[0].quote: ")
               and "quote not found in source 'record'" in p for p in problems), problems


def test_a_quote_across_sentences_of_one_list_item_is_still_accepted(tmp_data: Path) -> None:
    add_entity_evidence(tmp_data, "Caracas. AP, AFP")
    load_all(tmp_data)


def test_a_nul_byte_is_reported_by_line_and_column(tmp_data: Path) -> None:
    path = briefing_path(tmp_data)
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    lines[9] = lines[9][:4] + "\x00" + lines[9][4:]
    path.write_text("".join(lines), encoding="utf-8")
    [problem] = problems_of(tmp_data)
    assert problem == (f"{path}:10: (file): invalid YAML: control character U+0000 at column 5 "
                       "is not allowed (delete it)")


# ============================================================================ 5. ambiguity

def test_a_name_shared_by_two_entities_is_refused_with_both_ids_and_lines(tmp_data: Path
                                                                         ) -> None:
    path = edit(tmp_data, "    aliases: [Marc Rubio, Rubio, Secretary of State Rubio]\n",
                "    aliases: [Marc Rubio, Rubio, Secretary of State Rubio, president bukele]\n")
    first = line_of(path, "aliases: [Bukele, President Bukele]")
    second = line_of(path, "Secretary of State Rubio, president bukele]")
    problems = problems_of(tmp_data)
    assert problems == [
        f"{path}:{second}: entities[{entity_index(path, 'rubio')}].aliases[3]: 'president "
        f"bukele' names both 'bukele' (line {first}) and 'rubio': a name or alias must belong "
        "to one entity"]


def entity_index(path: Path, entity_id: str) -> int:
    import yaml

    entities = yaml.safe_load(path.read_text(encoding="utf-8"))["entities"]
    return next(i for i, e in enumerate(entities) if e["id"] == entity_id)


def test_the_bundled_briefing_has_no_shared_names(data_dir: Path) -> None:
    load_all(data_dir)


def assert_expired_notice(answer: Call) -> None:
    """A press no button answers: a private "expired, ask again" notice, valid, pinging
    nobody."""
    assert answer.type == CHANNEL_MESSAGE and answer.ephemeral
    assert "This answer has expired" in answer.body["content"]
    assert "ask again" in answer.body["content"].lower()
    assert_valid([answer.body])
    assert_pings_nobody([answer.body])


async def test_a_press_on_a_button_nobody_handles_is_answered_once(harness: Harness) -> None:
    press = P.component_interaction("page:from-an-older-version:3")
    calls = await harness.component(press)
    [answer] = calls
    assert_expired_notice(answer)


async def test_a_press_on_an_expired_button_is_answered_and_a_live_one_only_once(
        harness: Harness) -> None:
    ask = P.slash_interaction("timeline")
    first = (await harness.slash(ask))[0]
    user = ask["member"]["user"]
    nxt = next(b for b in first.buttons if b.get("label") == "▶")

    live = await harness.component(harness.press(first, nxt, user=user))
    assert [c.type for c in live] == [UPDATE_MESSAGE]  # the button answered; nothing else did

    # A button no stateless template claims (say, an in-memory page view's, from before the
    # buttons became stateless) still gets an answer.
    nxt["custom_id"] = "6d1f0c2a5b0e4f7c9a8b3e2d1c0f9a8b"
    gone = await harness.component(harness.press(first, nxt, user=user))
    [answer] = gone
    assert_expired_notice(answer)


# ============================================================================ 6. /admin shown

async def test_admin_is_offered_only_to_server_administrators_in_servers(
        harness: Harness) -> None:
    synced: list[Any] = []

    def record(route: Any, kwargs: dict[str, Any]) -> Any:
        if route.method == "PUT" and route.path.endswith("/commands"):
            synced.extend(kwargs.get("json") or [])
        return None

    harness.rest_handler = record
    await harness.slash(P.slash_interaction("admin", {"scope": "global"}, subcommand="sync",
                                            user=OWNER))
    commands = {c["name"]: c for c in synced}
    admin = commands["admin"]
    assert int(admin["default_member_permissions"]) == 8  # Administrator
    assert admin["contexts"] == [0] and admin["integration_types"] == [0]
    # Following a story is for members who may manage the server, in servers only.
    for name in ("follow", "unfollow"):
        assert int(commands[name]["default_member_permissions"]) == 1 << 5  # Manage Server
        assert commands[name]["contexts"] == [0], name
    # Every other command stays open to everyone, everywhere.
    for name, command in commands.items():
        if name not in ("admin", "follow", "unfollow"):
            assert command.get("default_member_permissions") is None, name
            assert sorted(command["contexts"]) == [0, 1, 2], name


async def test_admin_still_checks_the_owner_at_run_time(harness: Harness) -> None:
    admin = P.admin_member()
    [refusal] = await harness.slash(P.slash_interaction("admin", subcommand="status",
                                                        member=admin))
    assert refusal.ephemeral and "Only the bot's owners" in refusal.text()


async def test_the_owners_dm_commands_still_work(harness: Harness) -> None:
    calls = await harness.message(P.message_create("!status", author=OWNER))
    assert any("Status" in c.text() for c in calls)

