"""Executing a `Query` on a parsed table: the numbers behind an answer, with and without outliers.

Every computation runs on a `Scope`: the rows the goal selects, and the rows the outlier
step flagged. A result is computed twice, on the selected rows without the flagged ones
(the figure the answer leads with) and on all of them (`..._with_outliers`), so the
answer can say when an outlier would change a conclusion. Values keep full precision;
`_csv_answer` rounds them for prose.
"""

from __future__ import annotations

import math
import statistics
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from bureau.agents import _csv_time as periods
from bureau.agents._csv_query import Query
from bureau.agents._csv_table import Table

FIT_PERIODS = 12  # a forecast fits the trend of the last 12 periods
Key = tuple[int, ...]


@dataclass(frozen=True)
class Scope:
    """The selected rows of a table, the outliers among them, and the columns that give time."""

    table: Table
    rows: tuple[int, ...]
    span: tuple[int, ...]  # every row inside the query's period windows, whatever its values
    time: str | None
    split: str | None  # the grouping column a total must be complete over (e.g. region)
    flagged: dict[str, dict[int, dict[str, Any]]]  # column -> row index -> anomaly
    natural: str  # the time column's own grain: month, quarter, year or period

    def without_outliers(self, *columns: str) -> Scope:
        """The same scope without the rows flagged in any of `columns`."""
        dropped = {i for c in columns for i in self.flagged.get(c, {})}
        return replace(self, rows=tuple(r for r in self.rows if r not in dropped))

    def excluded(self, *columns: str) -> list[dict[str, Any]]:
        """The flagged rows of `columns` that the selection holds, as the answer lists them."""
        selected = set(self.rows)
        return [
            {k: a[k] for k in ("row", "column", "value", "context")}
            for c in columns
            for i, a in sorted(self.flagged.get(c, {}).items())
            if i in selected
        ]

    def values(self, measure: str) -> list[tuple[int, float]]:
        """(row index, number) of the selected rows that have a `measure` value."""
        numbers = self.table.column(measure).numbers
        return [(r, v) for r in self.rows if (v := numbers[r]) is not None]

    def key(self, row: int, grain: str) -> Key | None:
        """The period of `row` at `grain`, or None when the row has no period."""
        if self.time is None:
            return None
        found = self.table.column(self.time).periods[row]
        return None if found is None else periods.grain_key(found, grain)

    def label(self, key: Key, grain: str) -> str:
        """How a period is written: "2023-Q1" for calendar grains, the file's spelling else."""
        if grain != "period":
            return periods.grain_label(key, grain)
        column = self.table.column(self.time or "")
        return next(c for k, c in zip(column.periods, column.cells, strict=True) if k == key)

    def calendar(self, grain: str) -> list[Key]:
        """The complete periods at `grain` the table has within the windows (any row counts).

        A year counts when the table has its 12 months (its 4 quarters), a quarter when it
        has its 3 months, so a partial first or last year is not compared with whole ones.
        """
        fine = {k for r in self.span if (k := self.key(r, self.natural)) is not None}
        if grain == self.natural:
            return sorted(fine)
        full = {"year": {"month": 12, "quarter": 4}, "quarter": {"month": 3}}
        needed = full.get(grain, {}).get(self.natural, 1)
        counts: dict[Key, int] = defaultdict(int)
        for key in fine:
            counts[periods.grain_key(key, grain)] += 1
        return sorted(k for k, n in counts.items() if n >= needed)

    def sub_periods(self, grain: str) -> dict[Key, int]:
        """How many of the table's own periods each complete period at `grain` holds."""
        fine = {k for r in self.span if (k := self.key(r, self.natural)) is not None}
        counts: dict[Key, int] = defaultdict(int)
        for key in fine:
            counts[periods.grain_key(key, grain)] += 1
        return {k: counts[k] for k in self.calendar(grain)}


def natural_grain(table: Table, time: str | None) -> str:
    """The grain the time column is written in: month for "2024-03", year for "2024"..."""
    if time is None:
        return "period"
    column = table.column(time)
    keys = [k for k in column.periods if k is not None]
    if all(len(k) == 1 for k in keys):
        return "year"
    if all(len(k) >= 3 and k[2] == 0 and not any(k[3:]) for k in keys):
        quarters = any("q" in c.lower() for c in column.cells)
        return "quarter" if quarters else "month"
    return "period"


def select(table: Table, query: Query, time: str | None) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """(selected, span): the rows the query keeps, and all rows inside its period windows."""
    span = tuple(range(table.rows))
    if query["windows"] and time is not None:
        keys = table.column(time).periods
        span = tuple(
            r
            for r in span
            if (k := keys[r]) is not None and any(periods.in_window(k, w) for w in query["windows"])
        )
    selected = tuple(
        r
        for r in span
        if all(table.column(c).cells[r] in v for c, v in query["filters"].items())
        and not any(table.column(c).cells[r] in v for c, v in query["exclude"].items())
    )
    return selected, span


def reduce(values: list[float], how: str) -> float | None:
    """One figure from values: sum, mean, median, min, max or count (None when empty)."""
    if how == "count":
        return float(len(values))
    if not values:
        return None
    functions: dict[str, Callable[[list[float]], float]] = {
        "sum": math.fsum,
        "mean": statistics.fmean,
        "median": statistics.median,
        "min": min,
        "max": max,
    }
    return float(functions[how](values))


def context(table: Table, row: int) -> dict[str, str]:
    """The categorical and date cells of a row, to say where a figure comes from."""
    return {c.name: c.cells[row] for c in table.columns if c.kind in ("categorical", "date")}


# -- aggregate ----------------------------------------------------------------------------


def aggregate(scope: Scope, measure: str | None, how: str) -> dict[str, Any]:
    """One figure over the selected rows (count without a measure counts rows)."""
    if measure is None:
        return {"value": float(len(scope.rows)), "rows": len(scope.rows)}
    pairs = scope.values(measure)
    out: dict[str, Any] = {"value": reduce([v for _, v in pairs], how), "rows": len(pairs)}
    if how in ("min", "max") and pairs:
        pick = min if how == "min" else max
        row = pick(pairs, key=lambda p: p[1])[0]
        out["at"] = {"row": row + 1, **context(scope.table, row)}
    out["missing"] = len(scope.rows) - len(pairs)
    return out


def coverage(scope: Scope, measure: str | None) -> dict[str, Any] | None:
    """How complete a figure's data is: the periods, and the (group, period) slots, with a value.

    Periods are the table's own (any row counts) within the query's windows; slots pair
    each `split` value the selection holds with each of those periods.
    """
    if scope.time is None:
        return None
    rows = [r for r, _ in scope.values(measure)] if measure else list(scope.rows)
    calendar = scope.calendar(scope.natural)
    present = {k for r in rows if (k := scope.key(r, scope.natural)) is not None}
    out: dict[str, Any] = {
        "grain": scope.natural,
        "periods_present": len(present),
        "periods": len(calendar),
    }
    if scope.split:
        cells = scope.table.column(scope.split).cells
        groups = {cells[r] for r in scope.rows if cells[r]}
        slots = {(cells[r], k) for r in rows if cells[r] and (k := scope.key(r, scope.natural))}
        out.update(split=scope.split, groups=len(groups), slots_present=len(slots))
        out["slots"] = len(groups) * len(calendar)
    return out


# -- groups -------------------------------------------------------------------------------


def groups(
    scope: Scope, measure: str | None, how: str, group: str | None, grain: str | None
) -> list[dict[str, Any]]:
    """One row per group value (or per period at `grain`, or both): value and row count.

    Unsorted; `rank` orders them.
    """
    members: dict[tuple[Any, ...], list[float]] = defaultdict(list)
    labels: dict[tuple[Any, ...], str] = {}
    counted = scope.values(measure) if measure else [(r, 1.0) for r in scope.rows]
    for row, value in counted:
        parts: list[Any] = []
        names: list[str] = []
        if group:
            cell = scope.table.column(group).cells[row]
            if not cell:
                continue
            parts.append(cell)
            names.append(cell)
        if grain:
            key = scope.key(row, grain)
            if key is None:
                continue
            parts.append(key)
            names.append(scope.label(key, grain))
        members[tuple(parts)].append(value)
        labels[tuple(parts)] = " ".join(names)
    return [
        {
            "group": labels[k],
            "value": reduce(v, "count" if measure is None else how),
            "rows": len(v),
            "sort": list(_flat(k)),
        }
        for k, v in members.items()
    ]


def _flat(parts: tuple[Any, ...]) -> list[Any]:
    flat: list[Any] = []
    for part in parts:
        flat.extend(part if isinstance(part, tuple) else (part,))
    return flat


def rank(
    rows: list[dict[str, Any]], order: str | None, chronological: bool
) -> list[dict[str, Any]]:
    """Rows by value (highest first unless `order` is asc), or in time order for a breakdown."""
    if order is None and chronological:
        ordered = sorted(rows, key=lambda r: r["sort"])
    else:
        sign = 1 if order == "asc" else -1
        ordered = sorted(
            rows, key=lambda r: (r["value"] is None, sign * (r["value"] or 0.0), r["sort"])
        )
    return [{k: r[k] for k in ("group", "value", "rows")} for r in ordered]


# -- time series, growth, forecast --------------------------------------------------------


def series(
    scope: Scope, measure: str, grain: str, split: str | None
) -> dict[str, dict[Key, float]]:
    """Sums of `measure` per period at `grain`, one series per `split` value ("total" without).

    A period counts for a series only when the series has a value in every one of the
    table's own periods inside it (a year needs its 12 months), so a gap never passes for
    a fall.
    """
    sums: dict[str, dict[Key, float]] = defaultdict(dict)
    seen: dict[str, dict[Key, set[Key]]] = defaultdict(lambda: defaultdict(set))
    splits = scope.table.column(split).cells if split else None
    for row, value in scope.values(measure):
        fine, coarse = scope.key(row, scope.natural), scope.key(row, grain)
        label = splits[row] if splits else "total"
        if fine is None or coarse is None or not label:
            continue
        sums[label][coarse] = sums[label].get(coarse, 0.0) + value
        seen[label][coarse].add(fine)
    needed = scope.sub_periods(grain)
    return {
        label: {k: v for k, v in per.items() if k in needed and len(seen[label][k]) >= needed[k]}
        for label, per in sums.items()
    }


def totals_where_complete(per_split: dict[str, dict[Key, float]]) -> dict[Key, float]:
    """The sum over all series, at the periods where every series has a value."""
    if not per_split:
        return {}
    common = set.intersection(*(set(s) for s in per_split.values()))
    return {k: math.fsum(s[k] for s in per_split.values()) for k in sorted(common)}


def growth(scope: Scope, measure: str, grain: str, split: str | None) -> dict[str, Any]:
    """Change of each series over the COMMON window: the first and last period all have."""
    per_split = series(scope, measure, grain, split)
    common = sorted(totals_where_complete(per_split))
    if len(common) < 2:
        return {"window": None, "rows": [], "total": None}
    first, last = common[0], common[-1]
    window = {"from": scope.label(first, grain), "to": scope.label(last, grain)}
    rows = [_change(label, s[first], s[last], window) for label, s in per_split.items()]
    total = None
    if len(rows) > 1:
        total = _change(
            "total",
            math.fsum(s[first] for s in per_split.values()),
            math.fsum(s[last] for s in per_split.values()),
            window,
        )
    return {"window": window, "rows": rows, "total": total}


def _change(label: str, first: float, last: float, window: dict[str, str]) -> dict[str, Any]:
    return {
        "group": label,
        "from": window["from"],
        "to": window["to"],
        "first": first,
        "last": last,
        "change": last - first,
        "growth_pct": None if first == 0 else (last - first) / abs(first) * 100,
    }


def forecast(
    scope: Scope, measure: str, grain: str, split: str | None, horizon: int
) -> dict[str, Any]:
    """A straight line fitted (least squares) to the last `FIT_PERIODS` periods, extended.

    Without a split the series is the total over the focus groups, at the periods where
    every group has a value. Each series gets its own line.
    """
    per_split = series(scope, measure, grain, split or scope.split)
    if not split:
        per_split = {"total": totals_where_complete(per_split)}
    calendar = scope.calendar(grain)
    window = calendar[-FIT_PERIODS:]
    out: dict[str, Any] = {"fitted": None, "series": []}
    if not window:
        return out
    position = _positions(calendar, grain)
    out["fitted"] = {
        "from": scope.label(window[0], grain),
        "to": scope.label(window[-1], grain),
        "periods": len(window),
    }
    for label, values in per_split.items():
        points = [(position(k), values[k]) for k in window if k in values]
        if len(points) < 3:
            continue
        slope, intercept = statistics.linear_regression(
            [float(x) for x, _ in points], [y for _, y in points]
        )
        last = position(calendar[-1])
        out["series"].append(
            {
                "group": label,
                "points": len(points),
                "slope": slope,
                "forecast": [
                    {
                        "period": _future_label(scope, calendar[-1], grain, step),
                        "value": intercept + slope * (last + step),
                    }
                    for step in range(1, horizon + 1)
                ],
            }
        )
    return out


def _positions(calendar: list[Key], grain: str) -> Callable[[Key], int]:
    if grain == "period":
        index = {k: i for i, k in enumerate(calendar)}
        return lambda key: index[key]
    return lambda key: periods.ordinal(key, grain)


def _future_label(scope: Scope, last: Key, grain: str, step: int) -> str:
    if grain == "period":
        return f"{scope.label(last, grain)} +{step}"
    key = periods.from_ordinal(periods.ordinal(last, grain) + step, grain, len(last) > 1)
    return periods.grain_label(key, grain)


# -- correlation ----------------------------------------------------------------------------


def correlation(scope: Scope, a: str, b: str) -> dict[str, Any] | None:
    """Pearson r of two measures over the rows that have both (None when undefined)."""
    first, second = scope.table.column(a).numbers, scope.table.column(b).numbers
    both = [
        (x, y) for r in scope.rows if (x := first[r]) is not None and (y := second[r]) is not None
    ]
    if len(both) < 3:
        return None
    try:
        r = statistics.correlation([x for x, _ in both], [y for _, y in both])
    except statistics.StatisticsError:
        return None  # a constant column has no correlation
    return {"r": r, "n": len(both)}


def both_ways(
    scope: Scope, columns: tuple[str, ...], compute: Callable[[Scope], Any]
) -> tuple[Any, Any, list[dict[str, Any]]]:
    """(without outliers, with outliers, excluded rows) of one computation."""
    excluded = scope.excluded(*columns)
    clean = compute(scope.without_outliers(*columns))
    return clean, (compute(scope) if excluded else clean), excluded
