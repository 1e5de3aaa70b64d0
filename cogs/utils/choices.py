"""Autocomplete choices from the store's in-memory name index (never the database)."""

from __future__ import annotations

from discord import app_commands

from bot.briefing.store import Store
from bot.render.pages import clip

CHOICE_LIMIT = 100  # characters in a choice's name and value


def name_choices(store: Store, current: str) -> list[app_commands.Choice[str]]:
    """Up to 25 names for what was typed: exact, prefix, substring, then close spellings."""
    try:
        names = store.current.names
    except RuntimeError:  # the store is closed (shutting down): offer nothing
        return []
    out: dict[str, app_commands.Choice[str]] = {}
    for name in names.complete(current):
        label = name.display if name.alias == name.display else f"{name.display} ({name.alias})"
        value = clip(name.display, CHOICE_LIMIT)
        out.setdefault(value, app_commands.Choice(name=clip(label, CHOICE_LIMIT), value=value))
    return list(out.values())
