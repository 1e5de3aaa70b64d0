"""The floors of the code: the core knows nothing of Discord, and imports point one way.

The core (the briefing format, loader, build and store; the renderers; the router; settings;
the control plane's Redis side, bot.cluster)
must run where discord.py is not even installed: the command line's `ask` and `validate`, and
the tests of layer 1, depend on it. The Discord surface (bot.discord_app) sits on the core; the
cogs sit on both; only the entry point (bot.__main__) knows the cogs, to pass them in.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PACKAGES = ("bot", "cogs")
CORE = ("bot.briefing", "bot.render", "bot.router", "bot.settings", "bot.cluster")
SURFACE = "bot.discord_app"
ENTRY = "bot.__main__"


def module_name(path: Path) -> str:
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def project_modules() -> dict[str, Path]:
    return {module_name(p): p for package in PACKAGES for p in (REPO / package).rglob("*.py")}


def imported(name: str, path: Path) -> Iterator[str]:
    """Every module `name` imports, at any depth of its code (lazy imports count too)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text("utf-8"))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            yield base
            # `from . import x` and `from bot.discord_app import logs` import submodules.
            yield from (f"{base}.{alias.name}" for alias in node.names)


def graph() -> dict[str, set[str]]:
    modules = project_modules()
    return {name: {m for m in imported(name, path) if m in modules and m != name}
            for name, path in modules.items()}


def within(name: str, prefixes: tuple[str, ...] | str) -> bool:
    prefixes = (prefixes,) if isinstance(prefixes, str) else prefixes
    return any(name == p or name.startswith(f"{p}.") for p in prefixes)


def test_the_core_imports_neither_discord_nor_the_surface_nor_the_cogs() -> None:
    modules = project_modules()
    offending = {
        name: sorted(m for m in imported(name, path)
                     if within(m, ("discord", "cogs", SURFACE)))
        for name, path in modules.items() if within(name, CORE)
    }
    assert {k: v for k, v in offending.items() if v} == {}


def test_importing_the_core_loads_no_discord() -> None:
    """Checked in a fresh interpreter: what is loaded, not only what is written."""
    core = [name for name in project_modules() if within(name, CORE)]
    code = ("import sys\n" + "".join(f"import {name}\n" for name in sorted(core))
            + "print(sorted(m for m in sys.modules if m == 'discord' "
              "or m.startswith(('discord.', 'cogs', 'bot.discord_app'))))")
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True,
                         text=True, timeout=60, check=True)
    assert out.stdout.strip() == "[]"


def test_only_the_entry_point_knows_the_cogs() -> None:
    edges = graph()
    knows_cogs = sorted(name for name, deps in edges.items()
                        if within(name, "bot") and any(within(d, "cogs") for d in deps))
    assert knows_cogs == [ENTRY]


def test_there_is_no_import_cycle() -> None:
    edges = graph()
    cycles: list[list[str]] = []
    state: dict[str, int] = {}  # 1: on the current path, 2: done

    def visit(node: str, path: list[str]) -> None:
        state[node] = 1
        for dep in sorted(edges[node]):
            if state.get(dep) == 1:
                cycles.append([*path[path.index(dep):], dep])
            elif dep not in state:
                visit(dep, [*path, dep])
        state[node] = 2

    for name in sorted(edges):
        if name not in state:
            visit(name, [name])
    # A package's __init__ importing its own submodule is not a cycle anyone can trip on.
    real = [c for c in cycles if not all(within(m, c[0]) or within(c[0], m) for m in c)]
    assert real == []
