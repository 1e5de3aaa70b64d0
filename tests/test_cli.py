"""The command line, run for real: `python -m bot ask | validate | schema`.

Each test runs the CLI in a subprocess with its own database (DB_PATH in tmp_path), so tests
never share a build; broken data lives in a private copy of data/ (DATA_DIR in tmp_path).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.briefing_data import BRIEFING_NAME, REPO, briefing, name_of

TIMEOUT = 120  # a hung CLI fails the test rather than the whole run; not a speed check


@pytest.fixture
def cli_env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if k not in ("DATA_DIR", "DB_PATH", "LOG_FILE", "DISCORD_TOKEN")}
    env.update(DB_PATH=str(tmp_path / "db" / "cli.sqlite3"), PYTHONIOENCODING="utf-8",
               LOG_FILE=str(tmp_path / "bot.log"))
    return env


def run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "bot", *args], cwd=REPO, env=env,
                          capture_output=True, text=True, encoding="utf-8",
                          errors="replace", timeout=TIMEOUT)


def break_briefing(data_dir: Path, *replacements: tuple[str, str]) -> Path:
    path = data_dir / "briefings" / BRIEFING_NAME
    text = path.read_text(encoding="utf-8")
    for old, new in replacements:
        assert text.count(old) >= 1, f"the bundled briefing no longer contains {old!r}"
        text = text.replace(old, new, 1)
    path.write_text(text, encoding="utf-8")
    return path


def line_of(path: Path, needle: str) -> int:
    lines = path.read_text(encoding="utf-8").splitlines()
    (number,) = [i for i, line in enumerate(lines, start=1) if needle in line]
    return number


PROBLEM = re.compile(r"^(?P<file>.+?):(?P<line>\d+): (?P<path>\S+): (?P<message>.+)$")


def problems(stderr: str) -> list[re.Match[str]]:
    return [m for m in map(PROBLEM.match, stderr.splitlines()) if m]


# ------------------------------------------------------------------------------ ask


def test_ask_json_prints_the_discord_payloads(cli_env: dict[str, str]) -> None:
    result = run(cli_env, "ask", "who Bukele", "--json")
    assert result.returncode == 0, result.stderr
    pages = json.loads(result.stdout)
    assert isinstance(pages, list) and pages
    for page in pages:
        assert {"content", "embeds", "allowed_mentions", "components"} <= page.keys()
        assert page["allowed_mentions"]["parse"] == []
        assert page["embeds"] and all(e.get("title") for e in page["embeds"])
    assert name_of("bukele") in pages[0]["embeds"][0]["title"]


def test_ask_words_may_come_unquoted(cli_env: dict[str, str]) -> None:
    quoted = run(cli_env, "ask", "who Bukele", "--json")
    unquoted = run(cli_env, "ask", "who", "Bukele", "--json")
    assert unquoted.returncode == 0, unquoted.stderr
    assert json.loads(unquoted.stdout) == json.loads(quoted.stdout)


def test_ask_prints_readable_text(cli_env: dict[str, str]) -> None:
    result = run(cli_env, "ask", "who Bukele")
    assert result.returncode == 0, result.stderr
    bukele = next(e for e in briefing()["entities"] if e["id"] == "bukele")
    assert name_of("bukele") in result.stdout
    assert not result.stdout.lstrip().startswith(("[", "{")), "text, not JSON"
    assert "**" not in result.stdout, "Markdown emphasis is rendered, not printed"
    # The description, re-wrapped for the terminal, is all there.
    assert " ".join(bukele["description"].split()) in " ".join(result.stdout.split())


def test_ask_text_and_json_show_the_same_answer(cli_env: dict[str, str]) -> None:
    pages = json.loads(run(cli_env, "ask", "deal", "--json").stdout)
    text = " ".join(run(cli_env, "ask", "deal").stdout.split())
    for page in pages:
        for embed in page["embeds"]:
            assert embed["title"] in text
            for item in embed.get("fields", []):
                assert item["name"].replace("**", "") in text


HOSTILE = {
    "empty": "",
    "whitespace": "   ",
    "@everyone": "@everyone",
    "mention": "<@123> who <@&456>",
    "SQL": "'; DROP TABLE entities; --",
    "FTS": 'NEAR("a" "b") OR * ^',
    "quotes": '"""',
    "5,000 characters": "who " + "x" * 5000,
    "emoji": "who 🤖🔥",
    "RTL": "מי זה בוקלה",
    "control": "who \x1b[31m\x07Bukele",
    "zero-width": "who \u200bBukele\u200d",
}


@pytest.mark.parametrize("typed", HOSTILE.values(), ids=HOSTILE.keys())
def test_hostile_input_gets_a_calm_answer(cli_env: dict[str, str], typed: str) -> None:
    result = run(cli_env, "ask", typed, "--json")
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    pages = json.loads(result.stdout)
    assert pages and all(p["allowed_mentions"]["parse"] == [] for p in pages)
    assert not re.search(r"@(everyone|here)\b|<@[!&]?\d+>", result.stdout)
    text = run(cli_env, "ask", typed)
    assert text.returncode == 0 and "Traceback" not in text.stderr
    assert text.stdout.strip()


def test_ask_survives_bytes_that_are_not_utf8(cli_env: dict[str, str]) -> None:
    result = subprocess.run([sys.executable, "-m", "bot", "ask", b"who \xff\xfe Bukele"],
                            cwd=REPO, env=cli_env, capture_output=True, timeout=TIMEOUT)
    assert result.returncode == 0, result.stderr
    assert b"Traceback" not in result.stderr
    assert name_of("bukele").encode() in result.stdout


def test_ask_on_an_ascii_terminal_does_not_crash(cli_env: dict[str, str]) -> None:
    env = dict(cli_env, PYTHONIOENCODING="ascii")
    result = subprocess.run([sys.executable, "-m", "bot", "ask", "who Maiquetía"], cwd=REPO,
                            env=env, capture_output=True, timeout=TIMEOUT)
    assert result.returncode == 0, result.stderr
    assert b"Traceback" not in result.stderr
    assert b"Maiquet" in result.stdout


def test_ask_builds_its_database_where_db_path_says(cli_env: dict[str, str]) -> None:
    db = Path(cli_env["DB_PATH"])
    assert not db.exists()
    assert run(cli_env, "ask", "deal").returncode == 0
    assert db.is_file()


# ------------------------------------------------------------------------------ validate


def test_validate_accepts_the_bundled_data(cli_env: dict[str, str]) -> None:
    result = run(cli_env, "validate")
    assert result.returncode == 0, result.stderr
    counts = briefing()
    assert BRIEFING_NAME in result.stdout
    for kind in ("entities", "events", "quotes", "claims", "discrepancies"):
        assert f"{len(counts[kind])} {kind}" in result.stdout


def test_validate_reports_every_problem_with_file_line_and_path(
        cli_env: dict[str, str], tmp_data: Path) -> None:
    path = break_briefing(
        tmp_data,
        ("  brokers: [bukele, el-salvador]", "  brokers: [bukele, nobody-here]"),
        ("quote: Secretary of State Marc Rubio\n", "quote: Secretary of State Marcus Rubio\n"),
    )
    env = dict(cli_env, DATA_DIR=str(tmp_data))
    result = run(env, "validate")
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    found = problems(result.stderr)
    assert len(found) == 2, result.stderr
    expected = {line_of(path, "nobody-here"): "nobody-here",
                line_of(path, "Marcus Rubio"): "Marcus Rubio"}
    for match in found:
        assert Path(match["file"]).resolve() == path.resolve()
        line = int(match["line"])
        assert line in expected, f"line {line} is not a broken line"
        assert expected.pop(line) in match["message"]
        assert re.fullmatch(r"[a-z_]+(\[\d+\]|\.[a-z_]+)*", match["path"]), match["path"]
    assert not expected


def test_validate_reports_schema_reference_and_evidence_problems_in_one_pass(
        cli_env: dict[str, str], tmp_data: Path) -> None:
    # A misspelt key fails the schema; the file's other records are still checked, so the
    # dangling reference and the misquote show in the same run, each at its own line. The
    # misspelt entity is Bukele, whom many records name: those references are not reported
    # again as dangling, since the entity is there, only broken.
    path = break_briefing(
        tmp_data,
        ("    name: Nayib Bukele\n", "    nmae: Nayib Bukele\n"),
        ("  brokers: [bukele, el-salvador]", "  brokers: [bukele, nobody-here]"),
        ("quote: Secretary of State Marc Rubio\n", "quote: Secretary of State Marcus Rubio\n"),
    )
    result = run(dict(cli_env, DATA_DIR=str(tmp_data)), "validate")
    assert result.returncode != 0 and "Traceback" not in result.stderr
    found = {int(m["line"]): m for m in problems(result.stderr)}
    assert len(found) == 3, result.stderr
    misspelt = found[line_of(path, "nmae:")]
    assert misspelt["path"].endswith(".nmae") and "'name'" in misspelt["message"]
    dangling = found[line_of(path, "nobody-here")]
    assert dangling["path"] == "deal.brokers[1]" and "nobody-here" in dangling["message"]
    misquote = found[line_of(path, "Marcus Rubio")]
    assert misquote["path"].endswith(".quote") and "not found" in misquote["message"]


def test_validate_locates_an_unknown_key(cli_env: dict[str, str], tmp_data: Path) -> None:
    path = break_briefing(tmp_data,
                          ("    name: Nayib Bukele\n", "    name: Nayib Bukele\n    nickname: B\n"))
    result = run(dict(cli_env, DATA_DIR=str(tmp_data)), "validate")
    assert result.returncode != 0 and "Traceback" not in result.stderr
    (match,) = problems(result.stderr)
    assert int(match["line"]) == line_of(path, "nickname:")
    assert match["path"].endswith(".nickname")


def test_validate_locates_a_yaml_syntax_error(cli_env: dict[str, str],
                                              tmp_data: Path) -> None:
    path = break_briefing(tmp_data, ("  brokers: [bukele, el-salvador]",
                                        "  brokers: [bukele, el-salvador"))
    result = run(dict(cli_env, DATA_DIR=str(tmp_data)), "validate")
    assert result.returncode != 0 and "Traceback" not in result.stderr
    located = re.findall(rf"{re.escape(str(path))}:(\d+): ", result.stderr)
    assert located, result.stderr
    # The parser notices the unclosed bracket at the brokers line or on the line after it.
    assert int(located[0]) - line_of(path, "brokers:") in (0, 1)


def test_validate_a_named_file(cli_env: dict[str, str], tmp_data: Path) -> None:
    path = break_briefing(tmp_data, ("  brokers: [bukele, el-salvador]",
                                        "  brokers: [bukele, nobody-here]"))
    result = run(dict(cli_env, DATA_DIR=str(tmp_data)), "validate", str(path))
    assert result.returncode != 0
    (match,) = problems(result.stderr)
    assert int(match["line"]) == line_of(path, "nobody-here")


def test_ask_with_tmp_data_fails_with_located_errors(cli_env: dict[str, str],
                                                        tmp_data: Path) -> None:
    path = break_briefing(tmp_data, ("  brokers: [bukele, el-salvador]",
                                        "  brokers: [bukele, nobody-here]"))
    result = run(dict(cli_env, DATA_DIR=str(tmp_data)), "ask", "who Bukele")
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    assert not result.stdout.strip(), "no answer from data that failed to load"
    (match,) = problems(result.stderr)
    assert Path(match["file"]).resolve() == path.resolve()
    assert int(match["line"]) == line_of(path, "nobody-here")


def test_ask_does_not_serve_a_stale_database_when_the_data_breaks(
        cli_env: dict[str, str], tmp_data: Path) -> None:
    env = dict(cli_env, DATA_DIR=str(tmp_data))
    assert run(env, "ask", "who Bukele").returncode == 0  # builds the database
    break_briefing(tmp_data, ("  brokers: [bukele, el-salvador]",
                                 "  brokers: [bukele, nobody-here]"))
    result = run(env, "ask", "who Bukele")
    assert result.returncode != 0
    assert "nobody-here" in result.stderr and "Traceback" not in result.stderr


# ------------------------------------------------------------------------------ schema


def test_schema_is_a_json_schema_of_the_briefing_file(cli_env: dict[str, str]) -> None:
    result = run(cli_env, "schema")
    assert result.returncode == 0, result.stderr
    schema = json.loads(result.stdout)
    assert "json-schema.org" in schema["$schema"]
    assert schema["type"] == "object"
    assert {"sources", "entities", "events", "deal", "quotes", "claims",
            "discrepancies"} <= schema["properties"].keys()
    assert schema.get("additionalProperties") is False
    # Every top-level key of the bundled briefing is described by the schema.
    assert set(briefing()) <= schema["properties"].keys()
    assert set(schema.get("required", [])) <= set(briefing())


def test_schema_forbids_unknown_keys_on_an_entity(cli_env: dict[str, str]) -> None:
    schema = json.loads(run(cli_env, "schema").stdout)
    entity = schema["$defs"]["Entity"]
    assert entity["additionalProperties"] is False
    # ... and describes every key the bundled entities use.
    used = {key for e in briefing()["entities"] for key in e}
    assert used <= entity["properties"].keys()
    assert re.search(r"#/\$defs/Entity\b", json.dumps(schema["properties"]["entities"]))


def test_schema_can_be_written_to_a_file(cli_env: dict[str, str], tmp_path: Path) -> None:
    out = tmp_path / "briefing.schema.json"
    result = run(cli_env, "schema", "-o", str(out))
    assert result.returncode == 0, result.stderr
    assert json.loads(out.read_text(encoding="utf-8")) == json.loads(run(cli_env, "schema").stdout)
