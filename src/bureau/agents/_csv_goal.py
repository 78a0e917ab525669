"""Reading a goal against a table's columns, and answering it in words.

The analyst asks a clarifying question only when `needs_question` says the goal could mean
several measures and names none of them; everything else is decided here, deterministically.
"""

from __future__ import annotations

import re
from typing import Any

from bureau.agents._csv_table import name_words

GROWTH = frozenset(
    "grow grew growth growing increase increased rise rose trend fastest slowest change "
    "changed decline declined drop dropped fall fell improve improved shrink shrank".split()
)
RANK = frozenset(
    "highest lowest most least top best worst largest biggest smallest maximum minimum rank "
    "ranking compare comparison lead leader bottom which".split()
)
LOW_FIRST = frozenset(
    "lowest least worst smallest minimum slowest bottom decline declined drop dropped fall "
    "fell shrink shrank".split()
)
ANOMALY = frozenset(
    "anomaly anomalie outlier unusual odd weird spike strange suspicious error abnormal".split()
)
CORRELATION = frozenset("correlation correlate correlated relationship related relate".split())
WHOLE = frozenset(
    "all every each overview profile describe summary summarize summarise dataset statistic "
    "stat".split()
)
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


def words(text: str) -> set[str]:
    """Lowercase words of `text`, each also in its singular form."""
    found = re.findall(r"[a-z0-9]+", text.lower())
    return set(found) | {singular(w) for w in found}


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


def intents(text: str) -> set[str]:
    """What the goal asks for: growth, rank, anomaly, correlation, whole (all columns)."""
    vocabulary = words(text)
    found = {
        label
        for label, keys in (
            ("growth", GROWTH),
            ("rank", RANK),
            ("anomaly", ANOMALY),
            ("correlation", CORRELATION),
            ("whole", WHOLE),
        )
        if vocabulary & keys
    }
    if vocabulary & LOW_FIRST:
        found.add("low-first")
    return found


def needs_question(goal: str, candidates: list[str]) -> bool:
    """True when several measures could be meant and the goal is about none in particular."""
    if len(candidates) < 2 or mentioned(goal, candidates):
        return False
    return not intents(goal) & {"anomaly", "correlation", "whole"}


def plausible_measure(candidates: list[str]) -> str:
    """The measure a reader most likely means when nobody said (revenue before units...)."""
    for preferred in PREFERRED:
        for name in candidates:
            if preferred in {singular(w) for w in name_words(name)}:
                return name
    return candidates[0]


def number(value: float) -> str:
    """A number for prose: 12345.0 -> "12,345", 0.1234 -> "0.12"."""
    return f"{value:,.0f}" if value == int(value) or abs(value) >= 1000 else f"{value:,.2f}"


def percent(value: float | None) -> str:
    """A signed percentage for prose, or "n/a" when undefined (growth from zero)."""
    return "n/a" if value is None else f"{value:+.1f}%"


def describe_growth(rows: list[dict[str, Any]], target: str, low_first: bool) -> str:
    """One or two sentences naming the fastest (or slowest) growing group."""
    ranked = list(reversed(rows)) if low_first else rows
    lead = ranked[0]
    verb = "grew slowest" if low_first else "grew fastest"
    if lead["growth_pct"] is not None and lead["growth_pct"] < 0:
        verb = "fell the most" if low_first else "fell least"
    text = (
        f"{lead['group']} {verb} in {target}: {percent(lead['growth_pct'])} from "
        f"{lead['from']} ({number(lead['first'])}) to {lead['to']} ({number(lead['last'])})."
    )
    others = [f"{r['group']} {percent(r['growth_pct'])}" for r in ranked[1:4]]
    if others:
        text += " Then " + ", ".join(others) + "."
    return text


def describe_totals(rows: list[dict[str, Any]], target: str, group: str, low_first: bool) -> str:
    """Which group has the highest (or lowest) total, and its share."""
    grand = sum(r["sum"] for r in rows) or 1.0
    ranked = list(reversed(rows)) if low_first else rows
    lead = ranked[0]
    word = "lowest" if low_first else "highest"
    text = (
        f"{lead['group']} has the {word} total {target} among {group} values: "
        f"{number(lead['sum'])} ({lead['sum'] / grand:.0%} of all)."
    )
    if len(ranked) > 1:
        text += " Next: " + ", ".join(f"{r['group']} {number(r['sum'])}" for r in ranked[1:4])
        text += "."
    return text


def describe_anomalies(found: list[dict[str, Any]]) -> str:
    """The number of outliers and the strongest one, with its row and context."""
    if not found:
        return "I found no outliers (no value is more than 3.5 robust SDs from its median)."
    top = found[0]
    where = ", ".join(f"{k} {v}" for k, v in top["context"].items() if v)
    return (
        f"I found {len(found)} outlier{'s' if len(found) != 1 else ''}; the strongest is "
        f"{top['column']} = {number(top['value'])} in row {top['row']}"
        + (f" ({where})" if where else "")
        + f", against a median of {number(top['median'])}."
    )


def describe_correlations(pairs: list[dict[str, Any]]) -> str:
    """The strongest correlation between two measures."""
    if not pairs:
        return "There are not enough numeric columns to correlate."
    top = pairs[0]
    return (
        f"The strongest correlation is between {top['a']} and {top['b']} "
        f"(r = {top['r']:.2f}, {top['strength']})."
    )
