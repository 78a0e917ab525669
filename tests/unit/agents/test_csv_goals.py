"""csv-analyst against a table of goals on a realistic CSV, each checked against plain Python.

The data (`csv_goals_data`) has gaps, empty cells and one 2.5 M revenue row. Expected
figures are computed here from `RECORDS` with loops and the `statistics` module, never with
the agent's helpers, and compared with the deliverable's structured `result`; the prose
answer must carry the key words. The outlier is found here independently (robust z-score
within each region), so a change to the agent's detection, to what it leaves out, or to
how it aggregates, makes these fail.
"""

from __future__ import annotations

import math
import statistics
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

from bureau.agents import csv_analyst
from bureau.testing import run_agent
from tests.unit.agents.csv_goals_data import (
    JSON_TEXT,
    MEMO_MD,
    PROSE,
    RECORDS,
    REGIONS,
    goals_csv,
    month_label,
)

Row = dict[str, Any]
MEASURES = ("revenue", "units", "returns")


# -- ground truth, in plain Python ---------------------------------------------------------


def robust_outliers() -> set[int]:
    """Row indexes whose value is more than 3.5 robust SDs from its region's median."""
    flagged = set()
    for column in MEASURES:
        for region in REGIONS:
            points = [
                (i, r[column])
                for i, r in enumerate(RECORDS)
                if r["region"] == region and r[column] is not None
            ]
            median = statistics.median(v for _, v in points)
            mad = statistics.median(abs(v - median) for _, v in points)
            flagged |= {i for i, v in points if abs(0.6745 * (v - median) / mad) > 3.5}
    return flagged


OUTLIERS = robust_outliers()
(OUTLIER,) = OUTLIERS  # exactly one: the 2.5 M revenue row


def rows(where: Callable[[Row], bool] = lambda r: True) -> list[tuple[int, Row]]:
    return [(i, r) for i, r in enumerate(RECORDS) if where(r)]


def values(column: str, selected: list[tuple[int, Row]], *, clean: bool = True) -> list[float]:
    return [
        r[column]
        for i, r in selected
        if r[column] is not None and not (clean and column == "revenue" and i in OUTLIERS)
    ]


def year(r: Row) -> int:
    return int(r["month"][:4])


def quarter(r: Row) -> str:
    return f"{r['month'][:4]}-Q{(int(r['month'][5:]) - 1) // 3 + 1}"


def excluded_rows(selected: list[tuple[int, Row]], column: str = "revenue") -> list[int]:
    return [i + 1 for i, _ in selected if i in OUTLIERS and column == "revenue"]


def aggregate(
    how: Callable[[list[float]], float], column: str, where: Callable[[Row], bool] = lambda r: True
) -> dict[str, Any]:
    selected = rows(where)
    clean, dirty = values(column, selected), values(column, selected, clean=False)
    return {
        "kind": "aggregate",
        "measure": column,
        "value": how(clean),
        "rows": len(clean),
        "value_with_outliers": how(dirty),
        "rows_with_outliers": len(dirty),
        "excluded": excluded_rows(selected, column),
    }


def grouped(
    column: str,
    key: Callable[[Row], str],
    how: Callable[[list[float]], float] = math.fsum,
    *,
    where: Callable[[Row], bool] = lambda r: True,
    order: str = "desc",
    limit: int | None = None,
) -> dict[str, Any]:
    def ranked(clean: bool) -> list[dict[str, Any]]:
        members: dict[str, list[float]] = defaultdict(list)
        for i, r in rows(where):
            if values(column, [(i, r)], clean=clean):
                members[key(r)].append(r[column])
        out = [{"group": k, "value": how(v), "rows": len(v)} for k, v in members.items()]
        if order == "time":
            out.sort(key=lambda g: g["group"])
        else:
            out.sort(key=lambda g: (g["value"] if order == "asc" else -g["value"], g["group"]))
        return out[:limit] if limit else out

    return {
        "kind": "groups",
        "measure": column,
        "rows": ranked(True),
        "rows_with_outliers": ranked(False),
        "excluded": excluded_rows(rows(where), column),
    }


def correlation(a: str, b: str) -> dict[str, Any]:
    both = [(r[a], r[b]) for _, r in rows() if r[a] is not None and r[b] is not None]
    clean = [
        (r[a], r[b])
        for i, r in rows()
        if r[a] is not None and r[b] is not None and i not in OUTLIERS
    ]
    uses_revenue = "revenue" in (a, b)
    if not uses_revenue:
        clean = both
    return {
        "kind": "correlation",
        "a": a,
        "b": b,
        "r": statistics.correlation(*zip(*clean, strict=True)),
        "n": len(clean),
        "r_with_outliers": statistics.correlation(*zip(*both, strict=True)),
        "n_with_outliers": len(both),
        "excluded": [OUTLIER + 1] if uses_revenue else [],
    }


def by_region_month(column: str, where: Callable[[Row], bool]) -> dict[str, dict[str, float]]:
    series: dict[str, dict[str, float]] = defaultdict(dict)
    for i, r in rows(where):
        if values(column, [(i, r)]):
            series[r["region"]][r["month"]] = r[column]
    return series


def growth_by_region(column: str, where: Callable[[Row], bool] = lambda r: True) -> dict[str, Any]:
    series = by_region_month(column, where)
    common = sorted(set.intersection(*(set(s) for s in series.values())))
    first, last = common[0], common[-1]
    changes = [
        {
            "group": g,
            "first": s[first],
            "last": s[last],
            "growth_pct": (s[last] / s[first] - 1) * 100,
        }
        for g, s in series.items()
    ]
    changes.sort(key=lambda c: -c["growth_pct"])
    total_first = math.fsum(s[first] for s in series.values())
    total_last = math.fsum(s[last] for s in series.values())
    return {
        "kind": "growth",
        "window": {"from": first, "to": last},
        "rows": changes,
        "total": {
            "first": total_first,
            "last": total_last,
            "growth_pct": (total_last / total_first - 1) * 100,
        },
    }


def projected(series: dict[str, float], horizon: int) -> list[dict[str, Any]]:
    """Least-squares line over the last 12 months of the table, extended `horizon` months."""
    calendar = sorted({r["month"] for r in RECORDS})[-12:]
    ordinal = {m: int(m[:4]) * 12 + int(m[5:]) - 1 for m in calendar}
    points = [(ordinal[m], series[m]) for m in calendar if m in series]
    slope, intercept = statistics.linear_regression(*zip(*points, strict=True))
    last = ordinal[calendar[-1]]
    return [
        {
            "period": month_label(last + step - (2021 * 12)),
            "value": intercept + slope * (last + step),
        }
        for step in range(1, horizon + 1)
    ]


def forecast_west_revenue() -> dict[str, Any]:
    series = by_region_month("revenue", lambda r: r["region"] == "West")["West"]
    return {
        "kind": "forecast",
        "fitted": {"from": "2024-03", "to": "2025-02", "periods": 12},
        "series": [{"group": "total", "forecast": projected(series, 3)}],
    }


def forecast_total_units() -> dict[str, Any]:
    per_region = by_region_month("units", lambda r: True)
    complete = set.intersection(*(set(s) for s in per_region.values()))
    totals = {m: math.fsum(s[m] for s in per_region.values()) for m in complete}
    return {
        "kind": "forecast",
        "fitted": {"from": "2024-03", "to": "2025-02", "periods": 12},
        "series": [{"group": "total", "points": 11, "forecast": projected(totals, 6)}],
    }


def overview(column: str) -> dict[str, Any]:
    clean, dirty = values(column, rows()), values(column, rows(), clean=False)
    return {
        "kind": "overview",
        "measure": column,
        "rows": len(clean),
        "sum": math.fsum(clean),
        "mean": statistics.fmean(clean),
        "median": statistics.median(clean),
        "max": max(clean),
        "with_outliers": {"rows": len(dirty), "sum": math.fsum(dirty), "max": max(dirty)},
        "excluded": [OUTLIER + 1],
        "groups": grouped(column, lambda r: r["region"])["rows"],
        "groups_with_outliers": grouped(column, lambda r: r["region"])["rows_with_outliers"],
    }


def in_year(y: int) -> Callable[[Row], bool]:
    return lambda r: year(r) == y


def region_is(name: str) -> Callable[[Row], bool]:
    return lambda r: r["region"] == name


def by_month_revenue(limit: int) -> dict[str, Any]:
    return grouped("revenue", lambda r: r["month"], limit=limit)


# -- the table of goals ---------------------------------------------------------------------


@dataclass
class Goal:
    """One goal, what the result must hold, and words the prose answer must carry."""

    goal: str
    expected: dict[str, Any] = field(default_factory=dict)
    words: tuple[str, ...] = ()
    status: str = "completed"
    input: dict[str, Any] | None = None
    replies: list[str | dict[str, Any]] = field(default_factory=list)


def fmt(value: float) -> str:
    """A figure as the answer writes it: whole with thousands separators."""
    return f"{value:,.0f}"


LAST_12 = sorted({r["month"] for r in RECORDS})[-12:]
TOTAL = aggregate(math.fsum, "revenue")
EAST_2023 = aggregate(
    statistics.fmean, "revenue", lambda r: r["region"] == "East" and year(r) == 2023
)
BY_REGION = grouped("revenue", lambda r: r["region"])
GROWTH = growth_by_region("revenue")

COMPLETED = {
    "overview-empty-goal": Goal("", overview("revenue"), ("revenue: total", "2,500,000")),
    "overview-summarize": Goal(
        "Summarize the data", overview("revenue"), ("North", "South would lead")
    ),
    "overview-analyse-this": Goal("analyse this", {"kind": "overview", "measure": "revenue"}),
    "total": Goal(
        "What is the total revenue?",
        TOTAL,
        (fmt(TOTAL["value"]), fmt(TOTAL["value_with_outliers"]), "row 116", "194 of the 200"),
    ),
    "average-filtered-by-value-and-year": Goal(
        "average revenue of East in 2023",
        {**EAST_2023, "coverage": {"periods_present": 11, "periods": 12}},
        (fmt(EAST_2023["value"]), "11 of the 12 months"),
    ),
    "median-of-a-region": Goal(
        "median units in the North region",
        aggregate(statistics.median, "units", region_is("North")),
        ("median units",),
    ),
    "maximum-leaves-out-the-outlier": Goal(
        "What was the maximum revenue?",
        {**aggregate(max, "revenue"), "at": {"row": 196, "region": "West", "month": "2025-02"}},
        ("74,550", "2,500,000"),
    ),
    "minimum-in-a-year": Goal(
        "minimum revenue in 2022", aggregate(min, "revenue", in_year(2022)), ("minimum revenue",)
    ),
    "count-rows-of-a-region": Goal(
        "How many rows are there for West?",
        {"kind": "aggregate", "value": len(rows(region_is("West")))},
        ("49 rows",),
    ),
    "sum-where-column-is-value": Goal(
        "sum of units where region is North", aggregate(math.fsum, "units", region_is("North"))
    ),
    "total-in-a-quarter": Goal(
        "total revenue in Q1 2022",
        aggregate(math.fsum, "revenue", lambda r: quarter(r) == "2022-Q1"),
        ("Q1 2022",),
    ),
    "average-in-a-month": Goal(
        "average returns in March 2023",
        aggregate(statistics.fmean, "returns", lambda r: r["month"] == "2023-03"),
        ("54.25",),
    ),
    "total-except-a-value": Goal(
        "total revenue except South",
        aggregate(math.fsum, "revenue", lambda r: r["region"] != "South"),
        ("not South",),
    ),
    "total-over-the-last-12-months": Goal(
        "total revenue in the last 12 months",
        aggregate(math.fsum, "revenue", lambda r: r["month"] in LAST_12),
        ("last 12 months",),
    ),
    "distinct-count": Goal(
        "how many regions are there", {"value": 4, "values": sorted(REGIONS)}, ("4 region values",)
    ),
    "missing-cells": Goal(
        "how many revenue values are missing",
        {"value": sum(r["revenue"] is None for r in RECORDS)},
        ("empty",),
    ),
    "group-by-region": Goal(
        "total revenue by region",
        {**BY_REGION, "changed": True},
        ("North", "South is", "instead of"),
    ),
    "group-per-year-in-time-order": Goal(
        "average units per year",
        grouped("units", lambda r: str(year(r)), statistics.fmean, order="time"),
        ("2025 7",),
    ),
    "group-by-quarter-within-a-year": Goal(
        "total revenue by quarter in 2023",
        grouped("revenue", quarter, where=in_year(2023), order="time"),
        ("2023-Q2", "2,500,000"),
    ),
    "top-3-months": Goal(
        "top 3 months by revenue",
        {**by_month_revenue(3), "changed": True},
        ("Top 3 months", "2023-06"),
    ),
    "which-region-highest-flips-with-the-outlier": Goal(
        "Which region had the highest total revenue?",
        {**grouped("revenue", lambda r: r["region"], limit=1), "changed": True},
        ("North has the highest total revenue", "South", "4th of 4"),
    ),
    "which-month-most-returns": Goal(
        "which month had the most returns",
        grouped("returns", lambda r: r["month"], limit=1),
        ("2024-12 has the highest total returns",),
    ),
    "bottom-2": Goal(
        "bottom 2 regions by units",
        grouped("units", lambda r: r["region"], order="asc", limit=2),
        ("Bottom 2 regions",),
    ),
    "lowest-average": Goal(
        "which region has the lowest average revenue?",
        grouped("revenue", lambda r: r["region"], statistics.fmean, order="asc", limit=1),
        ("South has the lowest average revenue",),
    ),
    "which-year-highest": Goal(
        "Which year had the highest revenue?",
        grouped("revenue", lambda r: str(year(r)), limit=1),
        ("2024", "2023"),
    ),
    "correlation-named-pair": Goal(
        "correlation between units and revenue",
        correlation("units", "revenue"),
        ("r = 0.98", "-0.016", "row 116"),
    ),
    "correlation-related": Goal(
        "How are returns and units related?",
        correlation("returns", "units"),
        ("returns and units",),
    ),
    "correlation-strongest-pair": Goal(
        "How are the columns correlated?",
        correlation("revenue", "units"),
        ("strongest correlation is between revenue and units",),
    ),
    "growth-by-region-common-window": Goal(
        "Which region grew fastest in revenue?",
        GROWTH,
        ("West grew fastest in revenue", "same window, 2021-02 to 2025-01"),
    ),
    "growth-of-the-total": Goal(
        "How did revenue change?",
        {"total": GROWTH["total"], "window": GROWTH["window"]},
        ("Total revenue changed", "2021-02", "2025-01"),
    ),
    "growth-in-a-range": Goal(
        "revenue growth from 2022 to 2024 by region",
        growth_by_region("revenue", lambda r: 2022 <= year(r) <= 2024),
        ("2022-01 to 2024-12",),
    ),
    "forecast-a-region": Goal(
        "forecast West revenue",
        forecast_west_revenue(),
        ("Naive projection", "least squares", "last 12 months", "2024-03 to 2025-02", "2025-03"),
    ),
    "forecast-the-total-with-a-horizon": Goal(
        "predict total units for the next 6 months",
        forecast_total_units(),
        ("6 months", "where every region has a value", "2025-08"),
    ),
    "outliers-of-a-column": Goal(
        "Find unusual revenue values",
        {"kind": "anomalies", "rows": [{"row": OUTLIER + 1, "value": 2_500_000.0}]},
        ("row 116", "2,500,000"),
    ),
    "outliers-anywhere": Goal(
        "Are there any outliers?",
        {"kind": "anomalies", "rows": [{"row": OUTLIER + 1, "column": "revenue"}]},
        ("1 outlier",),
    ),
}

DECLINED = {
    "creative-writing": Goal("write me a poem about sales", words=("creative writing",)),
    "translation": Goal("translate this file into French", words=("translate",)),
    "the-stock-market": Goal(
        "what will the stock market do next year", words=("not the world outside",)
    ),
    "causes": Goal("why did revenue drop in 2023", words=("not why",)),
    "a-column-that-does-not-exist": Goal(
        "what is the average profit by region", words=("'profit'",)
    ),
    "a-grouping-that-does-not-exist": Goal("total revenue per customer", words=("'customer'",)),
    "a-numeric-condition": Goal("total revenue where units > 2000", words=("numeric condition",)),
    "a-question-it-cannot-read": Goal("hello there", words=("could not read",)),
    "a-markdown-memo-as-csv": Goal(
        "Summarize the data", words=("markdown",), input={"csv": MEMO_MD}
    ),
    "a-markdown-memo-as-a-csv-file": Goal(
        "total revenue",
        words=("memo.csv is not a CSV table",),
        input={"files": [{"name": "memo.csv", "content": MEMO_MD}]},
    ),
    "prose-as-csv": Goal("analyse this", words=("prose",), input={"csv": PROSE}),
    "json-as-csv": Goal("analyse this", words=("JSON",), input={"csv": JSON_TEXT}),
    "a-period-the-data-does-not-cover": Goal(
        "average revenue of East in 2019", words=("No row of input.csv matches region East, 2019",)
    ),
    "a-share": Goal("what % of revenue is from North", words=("shares",)),
    "a-ratio-of-two-columns": Goal("revenue per unit", words=("ratios of two columns",)),
    "a-running-total": Goal("cumulative revenue by month", words=("running totals",)),
    "year-over-year": Goal("yoy revenue growth", words=("period-over-period",)),
    "a-spread": Goal("standard deviation of units", words=("standard deviation",)),
    "a-forecast-too-far": Goal("forecast revenue for the next 36 months", words=("at most 12",)),
    "the-top-zero": Goal("top 0 months by revenue", words=("top 0",)),
}


def _matches(actual: Any, expected: Any, where: str) -> None:
    """`expected` is a subset of `actual`; floats compared with a relative tolerance."""
    if isinstance(expected, dict):
        assert isinstance(actual, dict), f"{where}: {actual!r} is not a dict"
        for key, value in expected.items():
            assert key in actual, f"{where}: no {key!r} in {sorted(actual)}"
            _matches(actual[key], value, f"{where}.{key}")
    elif isinstance(expected, list):
        assert isinstance(actual, list) and len(actual) == len(expected), (
            f"{where}: {actual!r} != {expected!r}"
        )
        for index, (got, wanted) in enumerate(zip(actual, expected, strict=True)):
            _matches(got, wanted, f"{where}[{index}]")
    elif isinstance(expected, float):
        assert actual == pytest.approx(expected, rel=1e-9), f"{where}: {actual} != {expected}"
    else:
        assert actual == expected, f"{where}: {actual!r} != {expected!r}"


def _excluded_rows(result: dict[str, Any]) -> dict[str, Any]:
    """The result with `excluded` reduced to row numbers, as the expectations write it."""
    if "excluded" in result:
        return {**result, "excluded": [e["row"] for e in result["excluded"]]}
    return result


def test_the_data_has_exactly_the_one_outlier_the_tests_expect() -> None:
    record = RECORDS[OUTLIER]
    assert (record["region"], record["month"], record["revenue"]) == ("South", "2023-06", 2.5e6)
    clean_totals = {g["group"]: g["value"] for g in BY_REGION["rows"]}
    dirty_totals = {g["group"]: g["value"] for g in BY_REGION["rows_with_outliers"]}
    assert min(clean_totals, key=clean_totals.__getitem__) == "South"
    assert max(dirty_totals, key=dirty_totals.__getitem__) == "South"
    assert (
        correlation("revenue", "units")["r"]
        > 0.98
        > 0.1
        > correlation("revenue", "units")["r_with_outliers"]
    )


@pytest.mark.parametrize("case", list(COMPLETED.values()), ids=list(COMPLETED))
async def test_goal_is_answered(case: Goal) -> None:
    result = await run_agent(
        csv_analyst, case.goal, case.input or {"csv": goals_csv(), "interactive": False}
    )
    assert result.status == "completed", result.error
    deliverable = result.deliverable
    _matches(_excluded_rows(deliverable["result"]), case.expected, "result")
    for word in case.words:
        assert word in deliverable["answer"], f"{word!r} not in {deliverable['answer']!r}"
    assert [a["row"] for a in deliverable["anomalies"]] == [OUTLIER + 1]


@pytest.mark.parametrize("case", list(DECLINED.values()), ids=list(DECLINED))
async def test_goal_is_declined(case: Goal) -> None:
    result = await run_agent(
        csv_analyst, case.goal, case.input or {"csv": goals_csv(), "interactive": False}
    )
    assert result.status == "rejected", result.deliverable
    assert result.error is not None
    for word in (*case.words, "I answer questions about one CSV table"):
        assert word in result.error, f"{word!r} not in {result.error!r}"
    assert not any(kind == "step.started" and d["name"] == "answer" for kind, d in result.events)


async def test_a_question_without_a_measure_asks_then_answers_with_the_reply() -> None:
    waiting = await run_agent(csv_analyst, "top 3 months", {"csv": goals_csv()})
    assert waiting.status == "input-required"
    assert waiting.question is not None
    assert waiting.question["schema"] == {"type": "string", "enum": list(MEASURES)}

    done = await run_agent(csv_analyst, "top 3 months", {"csv": goals_csv()}, replies=["returns"])
    assert done.status == "completed", done.error
    expected = grouped("returns", lambda r: r["month"], limit=3)
    _matches(_excluded_rows(done.deliverable["result"]), expected, "result")
    assert "You chose returns." in done.deliverable["answer"]
