"""Time in goals and tables: period windows named in words, and periods at a grain.

A table's period key is what `_csv_table.parse_period` returns: `(year,)`, or `(year, month,
day, ...)` with month and day 0 when unknown. A grain ("year", "quarter", "month", or
"period" for the column's own values) maps a key to a coarser one, labelled "2023",
"2023-Q1", "2023-03". Windows read from a goal ("in 2023", "Q1 2022", "March 2023", "from
2022 to 2024", "last 12 months") are inclusive (year, month) ranges, so they apply to any
of those keys.
"""

from __future__ import annotations

import re
from typing import NotRequired, TypedDict

from bureau.agents._csv_table import MONTHS

GRAINS = ("year", "quarter", "month")
GRAIN_WORDS = {
    "year": "year",
    "yearly": "year",
    "annual": "year",
    "annually": "year",
    "quarter": "quarter",
    "quarterly": "quarter",
    "month": "month",
    "monthly": "month",
}
NUMBER_WORDS = {
    word: n
    for n, word in enumerate(
        "zero one two three four five six seven eight nine ten eleven twelve".split()
    )
}
_MONTH = r"(jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\.?"
_COUNT = r"(\d+|" + "|".join(NUMBER_WORDS) + r")"
_EXPRESSIONS = (
    ("month", re.compile(r"\b(\d{4})[-/](\d{1,2})\b")),
    ("quarter", re.compile(r"\bq([1-4])[\s-]*(\d{4})\b")),
    ("year-quarter", re.compile(r"\b(\d{4})[\s-]*q([1-4])\b")),
    ("named-month", re.compile(rf"\b{_MONTH}\s+(\d{{4}})\b")),
    ("year", re.compile(r"\b((?:19|20)\d{2})\b")),
    (
        "last",
        re.compile(rf"\b(?:last|past|previous|trailing)\s+{_COUNT}?\s*(month|quarter|year)s?\b"),
    ),
)
_RANGE_OPEN = re.compile(r"\b(from|between|since)\s*$")
_RANGE_JOIN = re.compile(r"^\s*(to|and|until|through|till|-)\s*$")
_NEXT = re.compile(rf"\bnext\s+{_COUNT}?\s*(month|quarter|year|period)s?\b")


class Window(TypedDict):
    """Rows whose period falls between `start` and `end`, both (year, month) and inclusive."""

    label: str
    start: list[int]
    end: list[int]
    months: NotRequired[list[int]]  # only these months of each year ("in March", "Q1")


def count(word: str | None, default: int = 1) -> int:
    """An integer from digits or a number word ("3", "three"); `default` for None."""
    if word is None:
        return default
    return int(word) if word.isdigit() else NUMBER_WORDS[word]


def grain_key(key: tuple[int, ...], grain: str) -> tuple[int, ...]:
    """`key` at `grain`: (2023, 3, 14) -> (2023,) for "year", (2023, 1) for "quarter"."""
    has_month = len(key) > 1 and key[1] > 0
    if grain == "year" or (grain in GRAINS and not has_month):
        return key[:1]
    if grain == "quarter":
        return (key[0], (key[1] - 1) // 3 + 1)
    if grain == "month":
        return key[:2]
    return key


def grain_label(key: tuple[int, ...], grain: str) -> str:
    """ "2023", "2023-Q1" or "2023-03" for a key at a calendar grain."""
    if len(key) == 1:
        return str(key[0])
    return f"{key[0]}-Q{key[1]}" if grain == "quarter" else f"{key[0]}-{key[1]:02d}"


def ordinal(key: tuple[int, ...], grain: str) -> int:
    """Consecutive integers for consecutive periods of a calendar grain (for trends)."""
    if len(key) == 1:
        return key[0]
    return key[0] * (4 if grain == "quarter" else 12) + key[1] - 1


def from_ordinal(number: int, grain: str, months: bool) -> tuple[int, ...]:
    """The key at `grain` whose `ordinal` is `number` (`months`: the keys have a second part)."""
    if not months:
        return (number,)
    per_year = 4 if grain == "quarter" else 12
    return (number // per_year, number % per_year + 1)


def in_window(key: tuple[int, ...], window: Window) -> bool:
    """True when the period `key` lies in `window` (a year-only key: when its year does)."""
    start, end = window["start"], window["end"]
    if len(key) == 1 or key[1] == 0:
        return start[0] <= key[0] <= end[0] and "months" not in window
    months = window.get("months")
    return start <= [key[0], key[1]] <= end and (months is None or key[1] in months)


def _window(kind: str, match: re.Match[str], latest: tuple[int, int]) -> Window:
    text = match[0]
    if kind == "month":
        year, month = int(match[1]), int(match[2])
        return {"label": text, "start": [year, month], "end": [year, month]}
    if kind in ("quarter", "year-quarter"):
        quarter, year = (int(match[1]), int(match[2]))
        if kind == "year-quarter":
            year, quarter = quarter, year
        first = quarter * 3 - 2
        return {"label": f"Q{quarter} {year}", "start": [year, first], "end": [year, first + 2]}
    if kind == "named-month":
        month = next(i for i, m in enumerate(MONTHS, 1) if m.startswith(match[1]))
        year = int(match[2])
        return {
            "label": f"{MONTHS[month - 1].title()} {year}",
            "start": [year, month],
            "end": [year, month],
        }
    if kind == "year":
        year = int(match[1])
        return {"label": str(year), "start": [year, 1], "end": [year, 12]}
    size = count(match[1]) * {"month": 1, "quarter": 3, "year": 12}[match[2]]
    last = latest[0] * 12 + latest[1] - 1
    first = last - size + 1
    start = [first // 12, first % 12 + 1]
    return {"label": text, "start": start, "end": [latest[0], latest[1]]}


def windows(text: str, latest: tuple[int, int]) -> tuple[list[Window], list[tuple[int, int]]]:
    """The period windows `text` names, and the spans of text they cover.

    "from 2022 to 2024" and "between 2022-01 and 2022-06" become one window; "last 12
    months" ends at `latest`, the table's last (year, month).
    """
    found: list[tuple[int, int, Window]] = []
    taken: list[tuple[int, int]] = []
    for kind, pattern in _EXPRESSIONS:
        for match in pattern.finditer(text):
            span = match.span()
            if any(a < span[1] and span[0] < b for a, b in taken):
                continue
            taken.append(span)
            found.append((*span, _window(kind, match, latest)))
    found.sort(key=lambda f: f[0])
    merged: list[tuple[int, int, Window]] = []
    for start, end, window in found:
        if merged and _joined(text, merged[-1][0], merged[-1][1], start):
            first = merged.pop()
            label = f"{first[2]['label']} to {window['label']}"
            window = {"label": label, "start": first[2]["start"], "end": window["end"]}
            start = first[0]
        merged.append((start, end, window))
    return [w for _, _, w in merged], sorted(taken)


def _joined(text: str, first_start: int, first_end: int, second_start: int) -> bool:
    return bool(
        _RANGE_OPEN.search(text[:first_start]) and _RANGE_JOIN.match(text[first_end:second_start])
    )


def horizon(text: str) -> tuple[int, str | None] | None:
    """(periods, grain) of "next 6 months" in `text`, or None when it names no horizon."""
    match = _NEXT.search(text)
    if not match:
        return None
    return count(match[1]), None if match[2] == "period" else match[2]
