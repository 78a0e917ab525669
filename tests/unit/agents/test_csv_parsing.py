"""Parsing, typing and the statistics behind csv-analyst."""

from __future__ import annotations

import pytest

from bureau.agents._csv_goal import intents, mentioned, needs_question, plausible_measure
from bureau.agents._csv_stats import (
    anomalies,
    correlations,
    growth,
    measures,
    profile,
    time_series,
)
from bureau.agents._csv_table import parse_number, parse_period, parse_table
from tests.unit.agents.sample_data import OUTLIER, outlier_row, sales_csv


@pytest.mark.parametrize(
    ("cell", "value"),
    [
        ("12", 12.0),
        ("1,234.5", 1234.5),
        ("$12.50", 12.5),
        ("(3)", -3.0),
        ("-€4", -4.0),
        ("45%", 45.0),
        ("1e3", 1000.0),
        ("n/a", None),
        ("", None),
        ("abc", None),
        ("1,2", None),
    ],
)
def test_parse_number(cell: str, value: float | None) -> None:
    assert parse_number(cell) == value


def test_parse_period_orders_dates_quarters_and_month_names() -> None:
    keys = [parse_period(c) or () for c in ("2023-12", "Q1 2024", "2024-02-15", "Mar 2024")]
    assert all(keys) and keys == sorted(keys)
    assert parse_period("13/02/2024") is None and parse_period("13/02/2024", day_first=True)
    assert parse_period("hello") is None and parse_period("2024-13") is None


def test_columns_are_typed_and_the_delimiter_sniffed() -> None:
    table = parse_table(sales_csv(delimiter=";"))
    assert table.delimiter == ";" and table.rows == 24
    assert [(c.name, c.kind) for c in table.columns] == [
        ("region", "categorical"),
        ("month", "date"),
        ("revenue", "numeric"),
        ("units", "numeric"),
    ]


def test_year_columns_are_periods_and_blank_headers_get_names() -> None:
    table = parse_table("year,,score\n2021,a,1\n2022,b,\n2023,c,3\n")
    assert [(c.name, c.kind) for c in table.columns] == [
        ("year", "date"),
        ("column_2", "categorical"),
        ("score", "numeric"),
    ]
    assert profile(table.column("score"))["missing"] == 1


def test_a_csv_without_data_rows_is_refused() -> None:
    with pytest.raises(ValueError, match="at least one data row"):
        parse_table("a,b\n")


def test_profile_of_a_numeric_column() -> None:
    stats = profile(parse_table("x\n1\n2\n3\n4\n100\n").column("x"))
    assert stats | {"std": 0} == {
        "name": "x",
        "kind": "numeric",
        "count": 5,
        "missing": 0,
        "mean": 22.0,
        "median": 3.0,
        "std": 0,
        "min": 1.0,
        "q1": 2.0,
        "q3": 4.0,
        "max": 100.0,
        "sum": 110.0,
        "invalid": 0,
    }


def test_the_injected_outlier_is_found_within_its_region_and_nothing_else() -> None:
    table = parse_table(sales_csv())
    found = anomalies(table, group="region")
    assert {(a["column"], a["row"]) for a in found} == {
        ("revenue", outlier_row()),
        ("units", outlier_row()),
    }
    top = next(a for a in found if a["column"] == "revenue")
    assert top["value"] == OUTLIER["revenue"] and top["direction"] == "high"
    assert top["context"] == {"region": "East", "month": "2024-03"}


def test_correlations_and_growth_per_group() -> None:
    table = parse_table(sales_csv())
    pairs = correlations(table)
    assert pairs[0]["a"] == "revenue" and pairs[0]["b"] == "units" and pairs[0]["r"] > 0.99
    trend = time_series(table, "month", "revenue", "region")
    assert trend["periods"] == [f"2024-{m:02d}" for m in range(1, 7)]
    rows = growth(trend["periods"], trend["series"])
    assert [r["group"] for r in rows] == ["West", "East", "North", "South"]
    assert rows[0]["growth_pct"] == pytest.approx((1.15**5 - 1) * 100, rel=1e-4)
    assert rows[-1]["growth_pct"] < 0


def test_reading_the_goal() -> None:
    measures = ["revenue", "units"]
    assert mentioned("Which region grew fastest in revenue?", measures) == ["revenue"]
    assert mentioned("use units, not revenue", measures) == ["units"]
    assert mentioned("total unit price", ["unit_price", "units"]) == ["unit_price"]
    assert needs_question("Which region grew fastest?", measures)
    assert needs_question("", measures)
    assert not needs_question("Find outliers", measures)
    assert not needs_question("Which region sold the most units?", measures)
    assert not needs_question("Which region grew fastest?", ["revenue"])
    assert {"growth", "rank"} <= intents("Which region grew fastest?")
    assert plausible_measure(["units", "revenue"]) == "revenue"


def test_identifiers_are_not_measures() -> None:
    rows = "\n".join(f"{i * 3},{i},{i * 7 % 11},{1000 + i}" for i in range(1, 13))
    table = parse_table("order_id,line,score,visits\n" + rows)
    # order_id by its name, line because it numbers the rows 1..12; visits just happen to rise
    assert measures(table) == ["score", "visits"]
