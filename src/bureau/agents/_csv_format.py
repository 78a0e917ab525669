"""Numbers and phrases for prose, rounded the way a reader expects, never falsely exact.

Structured results keep full precision; only the words round. Large figures are whole numbers
with thousands separators ("1,234,567"), small ones keep two decimals at most, shares and
growth are percentages with one decimal ("+12.3%"). The phrases say which rows a figure is
over, which outliers it leaves out and what gaps the data has.
"""

from __future__ import annotations

from typing import Any

from bureau.agents._csv_query import Query

SHOWN = 12  # groups listed in words; the result holds all of them


def number(value: float) -> str:
    """A figure for prose: 1234567.4 -> "1,234,567", 12.345 -> "12.35", 0.01234 -> "0.0123"."""
    magnitude = abs(value)
    if magnitude >= 100 or value == int(value):
        return f"{value:,.0f}"
    if magnitude >= 1:
        return f"{value:,.2f}".rstrip("0").rstrip(".")
    return f"{value:.3g}"


def percent(value: float | None) -> str:
    """A signed percentage ("+12.3%"), or "n/a" when undefined (growth from zero)."""
    return "n/a" if value is None else f"{value:+.1f}%"


def share(part: float, whole: float) -> str:
    """`part` as a percentage of `whole` ("29%"), or "n/a" when `whole` is zero."""
    return "n/a" if whole == 0 else f"{part / whole:.0%}"


def plural(count: int, noun: str) -> str:
    """ "1 row", "3 rows"."""
    return f"{count:,} {noun}{'' if count == 1 else 's'}"


def listing(items: list[str]) -> str:
    """ "a", "a and b", "a, b and c"."""
    if len(items) < 2:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def where(query: Query) -> str:
    """The selection in words: " (region East; 2023)", or "" for all rows."""
    parts = [f"{c} {' or '.join(v)}" for c, v in query["filters"].items()]
    parts += [f"{c} not {' or '.join(v)}" for c, v in query["exclude"].items()]
    parts += [w["label"] for w in query["windows"]]
    return f" ({'; '.join(parts)})" if parts else ""


def excluded_words(excluded: list[dict[str, Any]]) -> str:
    """ "1 flagged outlier (revenue 2,500,000 in row 116: region South, month 2023-06)"."""
    shown = []
    for item in excluded[:3]:
        where_from = ", ".join(f"{k} {v}" for k, v in item["context"].items() if v)
        shown.append(f"{item['column']} {number(item['value'])} in row {item['row']}: {where_from}")
    more = f"; and {len(excluded) - 3} more" if len(excluded) > 3 else ""
    return f"{plural(len(excluded), 'flagged outlier')} ({'; '.join(shown)}{more})"


def outlier_note(excluded: list[dict[str, Any]], with_outliers: str) -> str:
    """ " This leaves out <the outliers>; with it included, <what changes>.", or ""."""
    if not excluded:
        return ""
    return f" This leaves out {excluded_words(excluded)}; with it included, {with_outliers}."


def coverage_words(covered: dict[str, Any]) -> str:
    """ "11 of the 12 months in range have a value", or "" when nothing is missing."""
    grain = covered["grain"]
    if covered.get("groups", 0) > 1 and covered["slots_present"] < covered["slots"]:
        return (
            f"{covered['slots_present']:,} of the {covered['slots']:,} {covered['split']}-{grain} "
            "combinations in range have a value"
        )
    if covered["periods_present"] < covered["periods"]:
        periods = plural(covered["periods"], grain)
        return f"{covered['periods_present']} of the {periods} in range have a value"
    return ""


def listed_groups(rows: list[dict[str, Any]]) -> str:
    """ "North 2,910,850, East 2,771,550", at most `SHOWN` of them, then how many more."""
    shown = ", ".join(
        f"{r['group']} {number(r['value'])}" for r in rows[:SHOWN] if r["value"] is not None
    )
    return shown + (f" and {len(rows) - SHOWN} more" if len(rows) > SHOWN else "")


def ordinal(place: int | None) -> str:
    """ "1st", "2nd", "11th"."""
    suffix = {1: "st", 2: "nd", 3: "rd"}.get(
        place or 0 if (place or 0) % 100 not in (11, 12, 13) else 0, "th"
    )
    return f"{place}{suffix}"
