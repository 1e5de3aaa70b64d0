"""An embedded static model for similarity, measured against the synonym table (not used).

`python -m bench answers` compares it with the curated synonyms when `wordllama` is installed
(it is not a dependency: bot/answering/words.py gives the figures and why the synonyms won). It is
loaded from the weights inside its wheel: `cache_dir` must be the package's own folder and
downloads disabled, or it looks for its tokenizer elsewhere and tries the network.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..briefing.facts import Fact


class WordLlamaSimilarity:
    """Cosine similarity of a question to every fact's statement (and editors' questions)."""

    def __init__(self) -> None:
        import wordllama  # type: ignore[import-not-found]

        self.model = wordllama.WordLlama.load(cache_dir=Path(wordllama.__file__).parent,
                                              disable_download=True)
        self._facts: tuple[str, ...] = ()
        self._vectors: Any = None

    def scores(self, text: str, facts: Sequence[Fact]) -> Any:
        """One similarity in [0, 1] per fact, in the order given."""
        import numpy as np  # type: ignore[import-not-found]

        keys = tuple(f.key[1] for f in facts)
        if keys != self._facts:
            self._facts = keys
            self._vectors = self.model.embed([" ".join([f.lead, *f.questions]) for f in facts],
                                             norm=True)
        question = self.model.embed([text], norm=True)[0]
        return np.clip(self._vectors @ question, 0.0, 1.0)
