"""What changed in a story between two versions, fact by fact, and the "what's new" message.

Each version is kept as its facts by stable key (the fact index's ids, e.g. `flood#when`),
its claims' statuses and its discrepancy notes; comparing two gives the facts added, changed
and removed, the claims whose status changed and the notes added or resolved, each fact with
the citation it rests on.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from .briefing.records import Story
from .briefing.store import Snapshot
from .render.pages import Answer, Colour, Payload, Section, clip, paginate

SHOWN = 8  # lines per kind of change in a message; the rest are counted


async def version_of(view: Snapshot) -> dict[str, Any]:
    """One story's version as comparable data (`view` is scoped to the story)."""
    facts = {}
    for f in (await view.fact_index()).facts:
        cite = next((c for c in f.citations if c.relation == "support"), None)
        facts[f.id] = {"text": f.lead, "cite": f"{cite.origin}: “{cite.sentence}”" if cite else ""}
    claims = {r["id"]: {"text": r["text"], "status": r["status"]} for r in await view._rows(
        "SELECT id, text, status FROM claims WHERE briefing_id = ?", (view.scope,))}
    notes = {r["id"]: r["topic"] for r in await view._rows(
        "SELECT id, topic FROM discrepancies WHERE briefing_id = ?", (view.scope,))}
    return {"facts": facts, "claims": claims, "notes": notes}


def digest(version: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(version, sort_keys=True).encode()).hexdigest()[:16]


def compare(old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    """The change from `old` to `new` (both from `version_of`)."""
    of, nf = old.get("facts", {}), new.get("facts", {})
    oc, nc = old.get("claims", {}), new.get("claims", {})
    on, nn = old.get("notes", {}), new.get("notes", {})
    return {
        "added": [{"id": k, **nf[k]} for k in nf if k not in of],
        "changed": [{"id": k, "before": of[k]["text"], **nf[k]} for k in nf
                    if k in of and of[k]["text"] != nf[k]["text"]],
        "removed": [{"id": k, **of[k]} for k in of if k not in nf],
        "claims": [{"id": k, "text": nc[k]["text"], "before": oc[k]["status"],
                    "after": nc[k]["status"]} for k in nc
                   if k in oc and oc[k]["status"] != nc[k]["status"]],
        "notes_added": [{"id": k, "topic": nn[k]} for k in nn if k not in on],
        "notes_resolved": [{"id": k, "topic": on[k]} for k in on if k not in nn],
    }


def is_empty(change: dict[str, Any]) -> bool:
    return not any(change.values())


def _lines(items: list[str]) -> list[str]:
    shown = items[:SHOWN]
    if len(items) > SHOWN:
        shown.append(f"-# and {len(items) - SHOWN} more")
    return shown


def change_answer(story: Story, old: str, new: str, change: dict[str, Any],
                  *, title: str = "What's new") -> list[Payload]:
    """A change as a message: short, cited, within Discord's limits, mentioning nobody."""
    def cited(item: dict[str, Any]) -> str:
        cite = f"\n-# {clip(item['cite'], 300)}" if item.get("cite") else ""
        return f"• {clip(item['text'], 300)}{cite}"

    sections = []
    if change.get("added"):
        sections.append(Section("New", _lines([cited(i) for i in change["added"]])))
    if change.get("changed"):
        sections.append(Section("Changed", _lines(
            [f"{cited(i)}\n-# was: {clip(i['before'], 200)}" for i in change["changed"]])))
    if change.get("claims"):
        sections.append(Section("Claims whose status changed", _lines(
            [f"• {clip(i['text'], 200)}: {i['before']} → **{i['after']}**"
             for i in change["claims"]])))
    if change.get("notes_added"):
        sections.append(Section("Discrepancies noted", _lines(
            [f"• {clip(i['topic'], 200)}" for i in change["notes_added"]])))
    if change.get("notes_resolved"):
        sections.append(Section("Discrepancies resolved", _lines(
            [f"• {clip(i['topic'], 200)}" for i in change["notes_resolved"]])))
    if change.get("removed"):
        sections.append(Section("No longer in the briefing", _lines(
            [f"• {clip(i['text'], 200)}" for i in change["removed"]])))
    versions = f"version {old} → {new}" if old != new else f"version {new} (revised)"
    return paginate(Answer(title=clip(f"{title}: {story.title}", 256), colour=Colour.about,
                           intro=f"The briefing was updated ({versions}).",
                           sections=sections or [Section("Nothing changed", ["—"])],
                           footer=f"/story changes story:{story.id}"))


async def record_changes(snap: Snapshot, settings: Any) -> list[tuple[Story, int, list[Payload]]]:
    """Compare every story of `snap` with its last recorded version; keep each change (and
    the new version) in `settings` (a SettingsStore). Returns the changes recorded now, as
    (story, change id, message). A story seen for the first time is recorded, not announced.
    """
    out = []
    for story in snap.stories:
        now = await version_of(snap.story(story.id))
        mark = digest(now)
        last = await settings.last_version(story.id)
        if last is not None and last[1] == mark:
            continue
        change = compare(last[2], now) if last is not None else {}
        change_id = None
        if last is not None and not is_empty(change):
            # The change before the version: a process that sees the new version already
            # recorded also finds its change (and posts it to its own servers' channels).
            change_id = await settings.record_change(story.id, last[0], story.version, mark,
                                                     change)
        await settings.record_version(story.id, story.version, mark, now)
        if last is not None and change_id is not None:
            out.append((story, change_id, change_answer(story, last[0], story.version, change)))
    return out
