"""Autocomplete's close spellings (NameIndex): what a member sees after a typo in a name that
shares a common word ("Minister ...") with many others, and that the order never changes from
one restart to the next. Expected lists are written out by hand from the ranking rule: the sum
of the words' closeness, then the shorter name, then the index's order.

Exact, prefix and substring matches, accents and the 25-choice limit are pinned on the bundled
briefing in test_store.py (test_completion_*).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.briefing.names import MAX_CHOICES, Name, NameIndex
from bot.briefing.text import fold

REPO = Path(__file__).resolve().parents[1]

NUMBERED = [f"Minister Number {i:02}" for i in range(10)]
CABINET = ["Minister Ortega", "Minister Sato", "Senator Sato", "Minister Li", "Minister Santos",
           *NUMBERED]


def index_of(displays: list[str], aliases: dict[str, list[str]] | None = None) -> NameIndex:
    """One entity per display name (in this order), each with its own name and `aliases`."""
    names = []
    for i, display in enumerate(displays):
        for alias in [display, *(aliases or {}).get(display, [])]:
            names.append(Name(fold(alias), alias, display, "b", f"e{i}"))
    return NameIndex(names)


def offered(index: NameIndex, typed: str, limit: int = MAX_CHOICES) -> list[str]:
    return [n.display for n in index.complete(typed, limit)]


@pytest.mark.parametrize("typed", ["Minister Satoo", "MINISTÉR SATOO", "  minister   satoo "])
def test_a_typo_in_a_surname_offers_that_person_before_everyone_sharing_the_title(
        typed: str) -> None:
    # "minister" is typed right and held by 14 names, "satoo" is close to "sato": the one name
    # with both comes first, then the other ministers (shortest first, ties in the index's
    # order), then the senator, who has only the close surname.
    assert offered(index_of(CABINET), typed) == [
        "Minister Sato", "Minister Li", "Minister Ortega", "Minister Santos", *NUMBERED,
        "Senator Sato"]


def test_close_spellings_stop_at_the_limit_with_the_best_first() -> None:
    many = index_of(CABINET + [f"Minister Extra {i:02}" for i in range(30)])
    choices = offered(many, "Minister Satoo")
    assert len(choices) == MAX_CHOICES
    assert choices[:4] == ["Minister Sato", "Minister Li", "Minister Ortega", "Minister Santos"]
    assert "Senator Sato" not in choices  # every minister scored higher
    assert offered(many, "Minister Satoo", limit=2) == ["Minister Sato", "Minister Li"]


def test_an_entity_found_through_several_aliases_is_offered_once() -> None:
    index = index_of(CABINET, aliases={"Minister Sato": ["Sato", "Kenji Sato"]})
    choices = offered(index, "Minister Satoo")
    assert choices.count("Minister Sato") == 1
    assert choices[0] == "Minister Sato"


# The same ranks for two names, and the same length: the index's order decides, whatever order
# Python happens to iterate the typed words in (it hashes strings differently at each start).
TIES = """
import json, sys
from bot.briefing.names import Name, NameIndex
from bot.briefing.text import fold
out = []
for displays in (["Southern Borders Agency", "Southern Prisons League"],
                 ["Southern Prisons League", "Southern Borders Agency"]):
    index = NameIndex([Name(fold(d), d, d, "b", d) for d in displays])
    out.append([n.display for n in index.complete("Soutern Prisons Agency")])
print(json.dumps(out))
"""


def test_names_tied_for_a_typo_come_in_the_same_order_after_every_restart() -> None:
    for seed in ("0", "1", "2", "3"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        result = subprocess.run([sys.executable, "-c", TIES], cwd=REPO, env=env,
                                capture_output=True, text=True, check=True, timeout=60)
        assert json.loads(result.stdout) == [
            ["Southern Borders Agency", "Southern Prisons League"],
            ["Southern Prisons League", "Southern Borders Agency"]], f"PYTHONHASHSEED={seed}"
