"""Who may do what: owner-only admin tools, over slash commands and DM text (layer 2).

Only the ids in OWNER_IDS (payloads.OWNER_ID here) may reload, sync or see the status; server
permissions (Administrator) grant nothing. A refusal is ephemeral, says owners only, is logged
by 'bot.security' with the user's id, and changes nothing.
"""

from __future__ import annotations

import logging
import sys
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

import cogs
from tests import payloads as P
from tests.briefing_data import BRIEFING_NAME
from tests.discord_limits import is_error_notice, mention_problems
from tests.harness import Call, Harness, messages
from tests.payloads import CHANNEL_MESSAGE, DEFERRED_CHANNEL_MESSAGE

OLD_DESCRIPTION = "President of El Salvador. He announced the handover on X"
SYNC_ROUTE = "PUT /applications/{application_id}/guilds/{guild_id}/commands"


@pytest.fixture
def harness_env() -> dict[str, str]:
    """DEV_GUILD_ID lets `/admin sync scope:guild` work from a DM too."""
    return {"DEV_GUILD_ID": P.DEFAULT_GUILD_ID}


OWNER = P.owner()


@dataclass(frozen=True)
class Actor:
    """Who sends the command, and from where (keyword arguments of payloads.slash_interaction)."""

    name: str
    context: dict[str, Any]
    owner: bool

    def kwargs(self) -> dict[str, Any]:
        return dict(self.context)


ACTORS = [
    Actor("owner-in-server", {"user": OWNER}, True),
    Actor("owner-in-dm", {"user": OWNER, "dm": True}, True),
    Actor("owner-user-install-elsewhere", {"user": OWNER, "user_install": True,
                                           "guild": P.guild(name="Not joined")}, True),
    Actor("server-administrator", {"admin": True}, False),
    Actor("ordinary-member", {}, False),
    Actor("non-owner-in-dm", {"dm": True}, False),
    Actor("non-owner-user-install", {"user_install": True}, False),
    Actor("non-owner-group-dm", {"group_dm": True}, False),
]

ADMIN_COMMANDS = {
    "reload-data": ("reload", {"what": "data"}),
    "reload-cogs": ("reload", {"what": "cogs"}),
    "sync-guild": ("sync", {"scope": "guild"}),
    "status": ("status", None),
}


def admin(command: str, **context: Any) -> dict[str, Any]:
    sub, options = ADMIN_COMMANDS[command]
    return P.slash_interaction("admin", options, subcommand=sub, **context)


def user_id_of(payload: dict[str, Any]) -> str:
    return ((payload.get("member") or {}).get("user") or payload["user"])["id"]


@dataclass
class World:
    """What an admin command could change, captured before it runs."""

    snapshot: object
    db_mtime: int
    cogs: dict[str, object]
    tree_commands: list[str]

    @classmethod
    def of(cls, harness: Harness) -> World:
        return cls(harness.bot.store.current, harness.bot.store.db_path.stat().st_mtime_ns,
                   dict(harness.bot.cogs), sorted(c.qualified_name for c in
                                                  harness.bot.tree.walk_commands()))


def security_warnings(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "bot.security" and r.levelno == logging.WARNING]


# ---------------------------------------------------------------------------- the matrix


def check_success(command: str, harness: Harness, before: World, calls: list[Call]) -> None:
    shown = messages(calls)
    assert shown and all(c.ephemeral for c in shown), [c.titles for c in shown]
    assert all(mention_problems(c.body) == [] for c in shown)
    titles = [t for c in shown for t in c.titles]
    if command == "reload-data":
        assert titles == ["Data reloaded"]
        assert calls[0].type == DEFERRED_CHANNEL_MESSAGE and calls[0].ephemeral
        assert harness.bot.store.current is not before.snapshot
    elif command == "reload-cogs":
        assert titles == ["Cogs reloaded"]
        assert all(harness.bot.cogs[n] is not cog for n, cog in before.cogs.items())
    elif command == "sync-guild":
        assert titles == ["Commands synced"]
        synced = [c for c in calls if c.name == SYNC_ROUTE]
        assert len(synced) == 1 and synced[0].ids["guild_id"] == int(P.DEFAULT_GUILD_ID)
        assert {c["name"] for c in synced[0].payload} >= {"who", "admin"}
    else:
        assert titles == ["Status"]
        assert "Version" in shown[0].text()


@pytest.mark.parametrize("actor", ACTORS, ids=[a.name for a in ACTORS])
@pytest.mark.parametrize("command", list(ADMIN_COMMANDS))
async def test_only_owners_may_run_admin_commands(
        harness: Harness, caplog: pytest.LogCaptureFixture, command: str, actor: Actor) -> None:
    caplog.set_level(logging.INFO)
    payload = admin(command, **actor.kwargs())
    if actor.name == "server-administrator":  # really holds Administrator in that channel
        assert int(payload["member"]["permissions"]) & P.ADMINISTRATOR
    before = World.of(harness)

    calls = await harness.slash(payload)

    if actor.owner:
        check_success(command, harness, before, calls)
        assert security_warnings(caplog) == []
        return
    # Refused: one ephemeral answer saying owners only, nothing else sent, nothing changed.
    assert [c.type for c in calls] == [CHANNEL_MESSAGE]
    refusal = calls[0]
    assert refusal.ephemeral
    assert refusal.titles == ["Owners only"]
    assert "owners" in refusal.text()
    assert mention_problems(refusal.body) == []
    warnings = security_warnings(caplog)
    assert len(warnings) == 1
    assert user_id_of(payload) in warnings[0].getMessage()
    after = World.of(harness)
    assert after.snapshot is before.snapshot
    assert after.db_mtime == before.db_mtime
    assert all(after.cogs[n] is cog for n, cog in before.cogs.items())
    assert after.tree_commands == before.tree_commands
    assert harness.bot.last_sync is None


# ---------------------------------------------------------------------------- DM text commands


TEXT_COMMANDS = {
    "!reload data": "Data reloaded",
    "!sync": "Commands synced",
    "!status": "Status",
}


@pytest.mark.parametrize("text", list(TEXT_COMMANDS))
async def test_owner_runs_text_admin_commands_in_a_dm(harness: Harness, text: str,
                                                      caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    before = World.of(harness)

    calls = await harness.message(P.message_create(text, author=OWNER))

    shown = messages(calls)
    assert [t for c in shown for t in c.titles] == [TEXT_COMMANDS[text]]
    assert all(mention_problems(c.body) == [] for c in shown)
    assert security_warnings(caplog) == []
    if text == "!reload data":
        assert harness.bot.store.current is not before.snapshot
    if text == "!sync":
        assert [c.name for c in calls].count(SYNC_ROUTE) == 1


@pytest.mark.parametrize("text", list(TEXT_COMMANDS))
async def test_non_owner_text_admin_commands_are_refused_and_logged(
        harness: Harness, text: str, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    stranger = P.user(name="stranger")
    before = World.of(harness)

    calls = await harness.message(P.message_create(text, author=stranger))

    assert [c.name for c in calls] == ["POST /channels/{channel_id}/messages"]
    reply = calls[0]
    assert reply.titles == ["Not done"]
    assert "Only the bot's owners" in reply.text()
    assert mention_problems(reply.body) == []
    warnings = security_warnings(caplog)
    assert len(warnings) == 1 and stranger["id"] in warnings[0].getMessage()
    after = World.of(harness)
    assert (after.snapshot, after.db_mtime) == (before.snapshot, before.db_mtime)
    assert harness.bot.last_sync is None


@pytest.mark.parametrize("content", [
    pytest.param(f"!status <@{P.BOT_USER_ID}>", id="command-first"),
    pytest.param(f"<@{P.BOT_USER_ID}> !status", id="mention-first"),
    pytest.param("!status", id="no-mention"),
])
async def test_status_text_command_does_not_run_in_a_server(harness: Harness,
                                                            content: str) -> None:
    mentions = [P.bot_user()] if "<@" in content else []
    calls = await harness.message(P.message_create(content, author=OWNER,
                                                   guild=harness.guild_payload,
                                                   mentions=mentions))

    titles = [t for c in messages(calls) for t in c.titles]
    assert "Status" not in titles
    assert "Version" not in "".join(c.text() for c in calls)
    if content.startswith("!status <@"):  # parsed as the command: told where it works
        assert titles == ["Not done"]
        assert "direct message" in calls[0].text()


# ---------------------------------------------------------------------------- reloading data


def owner_admin(command: str, **context: Any) -> dict[str, Any]:
    return admin(command, user=OWNER, dm=True, **context)


def who_bukele_text(calls: list[Call]) -> str:
    assert [c.type for c in calls] == [CHANNEL_MESSAGE]
    return calls[0].embeds[0]["description"]


async def test_reloaded_data_is_what_the_next_who_shows(harness: Harness,
                                                        tmp_data: Path) -> None:
    path = tmp_data / "briefings" / BRIEFING_NAME
    text = path.read_text("utf-8")
    assert OLD_DESCRIPTION in text
    path.write_text(text.replace(OLD_DESCRIPTION, "Freshly edited: president of El Salvador. "
                                 "He announced the handover on X"), "utf-8")
    assert OLD_DESCRIPTION in who_bukele_text(
        await harness.slash(P.slash_interaction("who", {"name": "Bukele"})))

    calls = await harness.slash(owner_admin("reload-data"))

    assert [t for c in messages(calls) for t in c.titles] == ["Data reloaded"]
    shown = who_bukele_text(await harness.slash(P.slash_interaction("who", {"name": "Bukele"})))
    assert "Freshly edited: president of El Salvador." in shown
    assert OLD_DESCRIPTION not in shown


async def test_broken_yaml_is_refused_with_located_errors_and_old_data_keeps_serving(
        harness: Harness, tmp_data: Path) -> None:
    path = tmp_data / "briefings" / BRIEFING_NAME
    lines = path.read_text("utf-8").splitlines(keepends=True)
    # Change the description and break the YAML a few lines further down.
    text = "".join(lines).replace(OLD_DESCRIPTION, "This must never be shown")
    broken_at = next(i for i, line in enumerate(text.splitlines()) if "id: trump" in line)
    broken = text.splitlines(keepends=True)
    broken.insert(broken_at, "    name: [unclosed, flow\n  - : :\n")
    path.write_text("".join(broken), "utf-8")
    db_mtime = harness.bot.store.db_path.stat().st_mtime_ns

    calls = await harness.slash(owner_admin("reload-data"))

    shown = messages(calls)
    assert [t for c in shown for t in c.titles] == [
        "Reload refused: the data files have problems"]
    assert shown[0].ephemeral
    located = [line for line in shown[0].text().splitlines()
               if f"{BRIEFING_NAME}:" in line and any(ch.isdigit() for ch in line)]
    assert located, shown[0].text()
    for line in located:
        number = int(line.split(f"{BRIEFING_NAME}:")[1].split(":")[0])
        assert 1 <= number <= len(broken) + 2
    assert harness.bot.store.db_path.stat().st_mtime_ns == db_mtime
    shown_after = who_bukele_text(
        await harness.slash(P.slash_interaction("who", {"name": "Bukele"})))
    assert OLD_DESCRIPTION in shown_after
    assert "This must never be shown" not in shown_after


async def test_invalid_but_parsable_data_is_refused_with_its_line(harness: Harness,
                                                                  tmp_data: Path) -> None:
    path = tmp_data / "briefings" / BRIEFING_NAME
    text = path.read_text("utf-8")
    line_no = text[: text.index("    kind: person")].count("\n") + 1
    path.write_text(text.replace("    kind: person", "    kind: wizard", 1), "utf-8")

    calls = await harness.slash(owner_admin("reload-data"))

    shown = messages(calls)
    assert shown[0].titles == ["Reload refused: the data files have problems"]
    assert f"{BRIEFING_NAME}:{line_no}" in shown[0].text()
    assert OLD_DESCRIPTION in who_bukele_text(
        await harness.slash(P.slash_interaction("who", {"name": "Bukele"})))


# ---------------------------------------------------------------------------- reloading cogs


async def test_reloading_cogs_reimports_every_cog(harness: Harness) -> None:
    before_modules = {name: module for name, module in harness.bot.extensions.items()}

    calls = await harness.slash(owner_admin("reload-cogs"))

    shown = messages(calls)
    assert [t for c in shown for t in c.titles] == ["Cogs reloaded"]
    reloaded = shown[0].text()
    for name in cogs.extensions():
        assert name in reloaded
        assert harness.bot.extensions[name] is not before_modules[name]
    # The reloaded cogs answer.
    after = await harness.slash(P.slash_interaction("who", {"name": "Bukele"}))
    assert after[0].titles == ["Nayib Bukele (person)"]


class ExtraCogs:
    """A package on sys.path (in tmp_path) whose modules are added to the cogs the bot reloads."""

    def __init__(self, root: Path, package: str, monkeypatch: pytest.MonkeyPatch) -> None:
        self.folder = root / package
        self.package = package
        self.monkeypatch = monkeypatch
        self.folder.mkdir(parents=True)
        (self.folder / "__init__.py").write_text("", "utf-8")
        self._real = cogs.extensions

    def write(self, module: str, source: str) -> str:
        """Write (or overwrite) a module and make it a cog; return its extension name."""
        (self.folder / f"{module}.py").write_text(textwrap.dedent(source), "utf-8")
        name = f"{self.package}.{module}"
        real = self._real
        extra = sorted({*self._extra(), name})
        self.monkeypatch.setattr(cogs, "extensions", lambda: real() + extra)
        return name

    def _extra(self) -> list[str]:
        return [n for n in cogs.extensions() if n.startswith(f"{self.package}.")]


@pytest.fixture
def extra_cogs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[ExtraCogs]:
    """Extra cog modules in a package made for this test; removed from sys.modules after."""
    package = f"extracogs_{abs(hash(tmp_path))}"
    monkeypatch.syspath_prepend(str(tmp_path / "extra"))
    yield ExtraCogs(tmp_path / "extra", package, monkeypatch)
    for name in [m for m in sys.modules if m == package or m.startswith(f"{package}.")]:
        del sys.modules[name]


async def test_a_cog_with_a_syntax_error_is_reported_and_the_others_keep_working(
        harness: Harness, extra_cogs: ExtraCogs) -> None:
    broken = extra_cogs.write("broken", "def setup(bot:\n    pass\n")

    calls = await harness.slash(owner_admin("reload-cogs"))

    shown = messages(calls)
    assert [t for c in shown for t in c.titles] == ["Cogs partly reloaded"]
    text = shown[0].text()
    failed_part = text.split("Kept the previous version")[1]
    assert broken in failed_part and "SyntaxError" in failed_part
    reloaded_part = text.split("Kept the previous version")[0]
    for name in cogs.extensions()[:-1]:
        assert name in reloaded_part
    assert broken not in harness.bot.extensions
    after = await harness.slash(P.slash_interaction("who", {"name": "Bukele"}))
    assert after[0].titles == ["Nayib Bukele (person)"]


async def test_a_cog_that_breaks_on_reload_keeps_its_previous_version(
        harness: Harness, extra_cogs: ExtraCogs) -> None:
    working = """
        from discord import app_commands
        from discord.ext import commands


        class Ping(commands.Cog):
            @app_commands.command(name="ping", description="Ping")
            async def ping(self, interaction):
                await interaction.response.send_message("pong v1")


        async def setup(bot):
            await bot.add_cog(Ping())
        """
    name = extra_cogs.write("ping", working)
    first = await harness.slash(owner_admin("reload-cogs"))
    assert [t for c in messages(first) for t in c.titles] == ["Cogs reloaded"]
    assert (await harness.slash(P.slash_interaction("ping")))[0].body["content"] == "pong v1"
    extra_cogs.write("ping", "raise RuntimeError('broken on purpose')\n")

    calls = await harness.slash(owner_admin("reload-cogs"))

    text = messages(calls)[0].text()
    assert messages(calls)[0].titles == ["Cogs partly reloaded"]
    assert name in text.split("Kept the previous version")[1]
    assert "broken on purpose" in text
    assert (await harness.slash(P.slash_interaction("ping")))[0].body["content"] == "pong v1"


async def test_refusals_still_say_owners_only_after_the_cogs_are_reloaded(
        harness: Harness, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING)
    reloaded = await harness.slash(owner_admin("reload-cogs"))
    assert [t for c in messages(reloaded) for t in c.titles] == ["Cogs reloaded"]

    calls = await harness.slash(admin("status", admin=True))

    assert [c.type for c in calls] == [CHANNEL_MESSAGE]
    assert calls[0].ephemeral and calls[0].titles == ["Owners only"]
    assert len(security_warnings(caplog)) == 1


async def test_reloading_cogs_keeps_every_command_registered_once(harness: Harness) -> None:
    before = sorted(c.qualified_name for c in harness.bot.tree.walk_commands())

    await harness.slash(owner_admin("reload-cogs"))

    assert sorted(c.qualified_name for c in harness.bot.tree.walk_commands()) == before
    choices = await harness.slash(P.autocomplete_interaction("who", "name", "ru"))
    assert "Marco Rubio" in [c["value"] for c in choices[0].body["choices"]]


async def test_reload_all_reloads_data_and_cogs_on_two_pages(harness: Harness) -> None:
    before = World.of(harness)
    ask = P.slash_interaction("admin", {"what": "all"}, subcommand="reload", user=OWNER, dm=True)

    calls = await harness.slash(ask)

    [shown] = messages(calls)
    assert shown.titles == ["Data reloaded"] and shown.ephemeral
    assert harness.bot.store.current is not before.snapshot
    assert all(harness.bot.cogs[n] is not cog for n, cog in before.cogs.items())
    [next_button] = [b for b in shown.buttons if (b.get("emoji") or {}).get("name") == "▶️"]
    page = await harness.component(harness.press(shown, next_button, user=OWNER, dm=True))
    assert [c.titles for c in page] == [["Cogs reloaded"]]


@pytest.mark.parametrize("text", ["!reload everything", "!sync nowhere"])
async def test_owner_text_command_with_a_wrong_argument_gets_the_usage(
        harness: Harness, text: str, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    before = World.of(harness)

    calls = await harness.message(P.message_create(text, author=OWNER))

    assert harness.bot.store.current is before.snapshot
    assert [c.name for c in calls if c.name == SYNC_ROUTE] == []
    assert [c.titles for c in messages(calls)] == [["Not done"]]
    assert not is_error_notice(calls[0].body)
    assert "Usage" in calls[0].text()
    assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []


async def test_owner_text_reload_without_an_argument_reloads_the_data(harness: Harness) -> None:
    before = World.of(harness)

    calls = await harness.message(P.message_create("!reload", author=OWNER))

    assert [c.titles for c in messages(calls)] == [["Data reloaded"]]
    assert harness.bot.store.current is not before.snapshot


# ---------------------------------------------------------------------------- syncing


async def test_a_second_sync_within_the_cooldown_is_refused(harness: Harness) -> None:
    first = await harness.slash(admin("sync-guild", user=OWNER))
    second = await harness.slash(admin("sync-guild", user=OWNER))

    assert [t for c in messages(first) for t in c.titles] == ["Commands synced"]
    assert [t for c in messages(second) for t in c.titles] == ["Sync is cooling down"]
    assert "Try again in" in messages(second)[0].text()
    assert [c.name for c in first + second].count(SYNC_ROUTE) == 1


async def test_sync_reports_the_commands_it_added(harness: Harness) -> None:
    calls = await harness.slash(admin("sync-guild", user=OWNER))

    text = messages(calls)[0].text()
    assert "Added:" in text and "who" in text
    assert [c.name for c in calls if c.kind == "rest"] == [
        "GET /applications/{application_id}/guilds/{guild_id}/commands", SYNC_ROUTE]


@pytest.mark.parametrize("harness_env", [{}])
async def test_owner_sync_in_a_dm_without_a_dev_guild_asks_which_server(
        harness: Harness) -> None:
    calls = await harness.slash(owner_admin("sync-guild"))

    assert [t for c in messages(calls) for t in c.titles] == ["Which server?"]
    assert [c for c in calls if c.kind == "rest"] == []
