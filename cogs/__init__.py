"""Discord cogs, one per topic. Each is thin: read options, ask the router, send the pages."""

from __future__ import annotations

import pkgutil


def extensions() -> list[str]:
    """Every cog module in this package (its helpers in `cogs/utils` are not extensions).

    Passed to the bot by `python -m bot run`; called again on `/admin reload what:cogs`, so a
    cog file added since the start is loaded too.
    """
    return sorted(f"{__name__}.{m.name}" for m in pkgutil.iter_modules(__path__)
                  if not m.ispkg and not m.name.startswith("_"))
