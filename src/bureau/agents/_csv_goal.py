"""Naming columns in words: which of a table's columns a goal (or feedback) talks about.

Matching is deterministic: a column's full name beats one distinctive word of it, and a name
right after a negation ("not revenue") does not count. `_csv_query` builds on this.
"""

from __future__ import annotations

import re

from bureau.agents._csv_table import name_words

NEGATIONS = frozenset("not no instead than except without exclude excluding ignore nor".split())
GENERIC = frozenset(
    "total number num count value the of per avg sum column col field data row".split()
)
PREFERRED = tuple(
    "revenue sales sale amount total profit price value income cost spend quantity unit "
    "score".split()
)


def singular(word: str) -> str:
    """A crude singular: "regions" -> "region", "categories" -> "category"."""
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
        return word[:-1]
    return word


def _match_at(tokens: list[str], position: int, parts: list[str]) -> int:
    """2 when the column's full name starts at `position`, 1 for one distinctive word, else 0."""
    if parts and tokens[position : position + len(parts)] == parts:
        return 2
    distinctive = {singular(p) for p in parts if len(p) > 2 and p not in GENERIC}
    return 1 if singular(tokens[position]) in distinctive else 0


def mentioned(text: str, names: list[str]) -> list[str]:
    """The columns among `names` that `text` asks about, best matches first.

    A full name ("unit price" for `unit_price`) beats one distinctive word of it; only the
    best-scoring names are returned, in the order the text first names them. A name right
    after a negation ("use units, not revenue", "instead of revenue") does not count.
    """
    tokens = re.findall(r"[a-z0-9]+", text.lower())
    hits: dict[str, tuple[int, int]] = {}  # name -> (score, first position with that score)
    for name in names:
        parts = name_words(name)
        for position in range(len(tokens)):
            if NEGATIONS & set(tokens[max(0, position - 2) : position]):
                continue
            score = _match_at(tokens, position, parts)
            if score and score > hits.get(name, (0, 0))[0]:
                hits[name] = (score, position)
    best = max((score for score, _ in hits.values()), default=0)
    return sorted((n for n in hits if hits[n][0] == best), key=lambda n: hits[n][1])


def plausible_measure(candidates: list[str]) -> str:
    """The measure a reader most likely means when nobody said (revenue before units...)."""
    for preferred in PREFERRED:
        for name in candidates:
            if preferred in {singular(w) for w in name_words(name)}:
                return name
    return candidates[0]
