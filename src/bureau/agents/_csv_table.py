"""Parsing CSV text into typed columns: numeric, date (any orderable period), categorical, text.

Everything here is pure and deterministic; `parse_table` is cached on the text so that
several steps of one run can re-read the same CSV without re-parsing it. Tables are
immutable; do not modify what it returns.
"""

from __future__ import annotations

import csv
import io
import math
import re
from dataclasses import dataclass
from functools import lru_cache

MISSING = frozenset({"", "na", "n/a", "nan", "null", "none", "-", "--", "?", "#n/a", "missing"})
TIME_WORDS = frozenset(
    {"date", "time", "day", "week", "month", "year", "quarter", "period", "timestamp", "datetime"}
)
MONTHS = tuple(
    "january february march april may june july august september october november december".split()
)

_NUMBER = re.compile(r"^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$")
_THOUSANDS = re.compile(r"^[+-]?\d{1,3}(?:,\d{3})+(?:\.\d+)?$")
_ISO = re.compile(
    r"^(\d{4})[-/.](\d{1,2})(?:[-/.](\d{1,2}))?(?:[T ](\d{1,2}):(\d{2})(?::(\d{2}))?\S*)?$"
)
_QUARTER = re.compile(r"^(?:(\d{4})\s*[-/ ]?\s*q([1-4])|q([1-4])\s*[-/ ]?\s*(\d{4}))$")
_MONTH_NAME = re.compile(r"^(?:(\d{4})[-/ ])?([a-z]{3,9})\.?(?:[-/ ,]+(\d{2}|\d{4}))?$")
_DAY_MONTH_YEAR = re.compile(r"^(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})$")


@dataclass(frozen=True)
class Column:
    """One column: its raw cells, and numbers or period keys when the kind has them."""

    name: str
    kind: str  # "numeric" | "date" | "categorical" | "text"
    cells: tuple[str, ...]
    numbers: tuple[float | None, ...]
    periods: tuple[tuple[int, ...] | None, ...]

    def present(self) -> list[str]:
        """The non-missing cells."""
        return [c for c in self.cells if c.lower() not in MISSING]

    def values(self) -> list[float]:
        """The numbers of a numeric column, missing ones dropped."""
        return [v for v in self.numbers if v is not None]


@dataclass(frozen=True)
class Table:
    """A parsed CSV: columns of equal length, and what the parser had to fix."""

    columns: tuple[Column, ...]
    rows: int
    delimiter: str
    ragged_rows: int

    def column(self, name: str) -> Column:
        """The column called `name` (exact name); raises `KeyError` if absent."""
        for column in self.columns:
            if column.name == name:
                return column
        raise KeyError(name)

    def of_kind(self, kind: str) -> list[Column]:
        """The columns of one kind, in file order."""
        return [c for c in self.columns if c.kind == kind]


def parse_number(cell: str) -> float | None:
    """A number from `cell` ("1,234", "$12.50", "(3)", "45%") or None."""
    text = cell.strip()
    if text.lower() in MISSING:
        return None
    negative = text.startswith("(") and text.endswith(")")
    text = text.strip("()").strip()
    sign = "-" if text.startswith("-") or negative else ""
    text = text.lstrip("+-").lstrip("$€£¥").rstrip("%").strip()
    if _THOUSANDS.match(text):
        text = text.replace(",", "")
    if not _NUMBER.match(text):
        return None
    value = float(sign + text)
    return value if math.isfinite(value) else None


def parse_period(cell: str, *, day_first: bool = False) -> tuple[int, ...] | None:
    """A sortable key for a date or period cell ("2024-03", "Q1 2024", "Mar 2024"), or None."""
    text = cell.strip().lower()
    if match := _ISO.match(text):
        parts = [int(p) if p else 0 for p in match.groups()]
        return tuple(parts) if 1 <= parts[1] <= 12 and parts[2] <= 31 else None
    if match := _QUARTER.match(text):
        year_quarter = (match[1], match[2]) if match[1] else (match[4], match[3])
        return (int(year_quarter[0]), int(year_quarter[1]) * 3 - 2, 0)
    if match := _DAY_MONTH_YEAR.match(text):
        first, second, year = int(match[1]), int(match[2]), int(match[3])
        day, month = (first, second) if day_first else (second, first)
        return (year, month, day) if 1 <= month <= 12 and 1 <= day <= 31 else None
    if (match := _MONTH_NAME.match(text)) and (named := _month(match[2])):
        year_text = match[1] or match[3] or "0"
        return (int(year_text) + (2000 if len(year_text) == 2 else 0), named, 0)
    return None


def _month(word: str) -> int | None:
    """1-12 for a month's name or its abbreviation of at least three letters."""
    return next((i for i, m in enumerate(MONTHS, 1) if m.startswith(word)), None)


def name_words(name: str) -> list[str]:
    """The words of a column name: "unitPrice_usd" -> ["unit", "price", "usd"]."""
    spaced = re.sub(r"([a-z])([A-Z])", r"\1 \2", name)
    return [w for w in re.split(r"[^a-z0-9]+", spaced.lower()) if w]


def _periods(cells: list[str], name: str) -> list[tuple[int, ...] | None] | None:
    present = [c for c in cells if c.strip().lower() not in MISSING]
    if not present:
        return None
    time_named = bool(TIME_WORDS & set(name_words(name)))
    if time_named and all(re.fullmatch(r"\d{1,4}", c.strip()) for c in present):
        return [(int(c),) if c.strip().lower() not in MISSING else None for c in cells]
    for day_first in (False, True):
        keys = [parse_period(c, day_first=day_first) for c in cells]
        if sum(k is not None for k in keys) >= 0.9 * len(present):
            return keys
    return None


def _column(name: str, cells: list[str]) -> Column:
    missing_count = sum(c.lower() in MISSING for c in cells)
    present = len(cells) - missing_count
    no_numbers: tuple[float | None, ...] = (None,) * len(cells)
    no_periods: tuple[tuple[int, ...] | None, ...] = (None,) * len(cells)
    periods = _periods(cells, name)
    if periods is not None:
        return Column(name, "date", tuple(cells), no_numbers, tuple(periods))
    numbers = [parse_number(c) for c in cells]
    if present and sum(n is not None for n in numbers) >= 0.9 * present:
        return Column(name, "numeric", tuple(cells), tuple(numbers), no_periods)
    distinct = {c for c in cells if c.lower() not in MISSING}
    lengths = [len(c) for c in distinct]
    wordy = bool(lengths) and sum(lengths) / len(lengths) > 40
    kind = "text" if wordy and len(distinct) > 0.8 * max(1, present) else "categorical"
    return Column(name, kind, tuple(cells), no_numbers, no_periods)


def _delimiter(text: str) -> str:
    sample = "\n".join(text.splitlines()[:20])
    try:
        return csv.Sniffer().sniff(sample, delimiters=",;\t|").delimiter
    except csv.Error:
        return ","


@lru_cache(maxsize=4)
def parse_table(text: str) -> Table:
    """Parse CSV text (header row first); raises `ValueError` when it holds no data rows."""
    text = text.lstrip("\ufeff")
    delimiter = _delimiter(text)
    rows = [
        r for r in csv.reader(io.StringIO(text), delimiter=delimiter) if any(c.strip() for c in r)
    ]
    if len(rows) < 2:
        raise ValueError("the CSV needs a header row and at least one data row")
    header, body = rows[0], rows[1:]
    width = max(len(header), *(len(r) for r in body))
    ragged = sum(len(r) != len(header) for r in body)
    names: list[str] = []
    for index in range(width):
        raw = header[index].strip() if index < len(header) else ""
        name = raw or f"column_{index + 1}"
        names.append(name if name not in names else f"{name}_{index + 1}")
    columns = tuple(
        _column(name, [(r[i].strip() if i < len(r) else "") for r in body])
        for i, name in enumerate(names)
    )
    return Table(columns, len(body), delimiter, ragged)


_PROSE_HEADER_WORDS = 8


def table_problem(text: str) -> str | None:
    """Why `text` is not a CSV table the analyst can read (JSON, markdown, prose...), or None.

    Cheap enough to run before any work: it looks at the first characters, then at the
    parsed header and how regular the rows are.
    """
    head = text.lstrip("\ufeff \t\r\n")[:1]
    if head in ("{", "["):
        return "the input looks like JSON, not a CSV table"
    if head == "<":
        return "the input looks like HTML or XML, not a CSV table"
    if head == "#":
        return "the input looks like a markdown document, not a CSV table"
    try:
        table = parse_table(text)
    except ValueError as exc:
        return str(exc)
    header = [c.name for c in table.columns]
    if any(len(name.split()) > _PROSE_HEADER_WORDS or len(name) > 60 for name in header):
        return "the first line reads like prose, not a header row of column names"
    if table.ragged_rows > 0.2 * table.rows:
        return (
            f"{table.ragged_rows} of {table.rows} rows have a different number of fields than "
            "the header, so this is not a regular table"
        )
    return None
