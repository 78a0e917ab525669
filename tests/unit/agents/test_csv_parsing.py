"""Parsing, typing and the statistics behind csv-analyst."""

from __future__ import annotations

import pytest

from bureau import Decline
from bureau.agents._csv_analysis import load
from bureau.agents._csv_execute import Scope, growth
from bureau.agents._csv_goal import mentioned, plausible_measure
from bureau.agents._csv_query import read_goal
from bureau.agents._csv_stats import anomalies, correlations, measures, profile
from bureau.agents._csv_table import parse_number, parse_period, parse_table, table_problem
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


def test_correlations_leave_the_outlier_rows_out_and_keep_the_figure_with_them() -> None:
    table = parse_table(sales_csv())
    row = outlier_row() - 1
    pairs = correlations(table, {"revenue": {row}, "units": {row}})
    assert (pairs[0]["a"], pairs[0]["b"], pairs[0]["n"], pairs[0]["n_with_outliers"]) == (
        "revenue",
        "units",
        23,
        24,
    )
    assert pairs[0]["r"] > 0.99 and pairs[0]["r_with_outliers"] > 0.99


def test_growth_compares_every_group_over_the_same_window() -> None:
    # North lacks the first month and South the last: the common window is 2024-02..2024-05
    lines = sales_csv().splitlines()
    kept = [line for line in lines if not line.startswith(("North,2024-01", "South,2024-06"))]
    table = parse_table("\n".join(kept) + "\n")
    rows = tuple(range(table.rows))
    scope = Scope(table, rows, rows, "month", "region", {}, "month")
    found = growth(scope, "revenue", "month", "region")
    assert found["window"] == {"from": "2024-02", "to": "2024-05"}
    west = next(r for r in found["rows"] if r["group"] == "West")
    assert west["growth_pct"] == pytest.approx((1.15**3 - 1) * 100, rel=1e-4)
    assert {r["from"] for r in found["rows"]} == {"2024-02"}


def test_reading_the_goal() -> None:
    measures = ["revenue", "units"]
    assert mentioned("Which region grew fastest in revenue?", measures) == ["revenue"]
    assert mentioned("use units, not revenue", measures) == ["units"]
    assert mentioned("total unit price", ["unit_price", "units"]) == ["unit_price"]
    assert plausible_measure(["units", "revenue"]) == "revenue"
    loaded = load(sales_csv())
    query = read_goal("top 2 months by units for East in 2024", loaded)
    assert query["kind"] == "groups" and query["grain"] == "month" and query["group"] is None
    assert (query["measures"], query["order"], query["limit"]) == (["units"], "desc", 2)
    assert query["filters"] == {"region": ["East"]}
    assert [w["label"] for w in query["windows"]] == ["2024"]
    which = read_goal("Which region grew fastest?", loaded)
    assert (which["kind"], which["group"], which["measures"]) == ("growth", "region", [])
    assert read_goal("", loaded)["kind"] == "overview"
    with pytest.raises(Decline, match="no column or value called 'profit'"):
        read_goal("average profit by region", loaded)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ('{"a": 1}', "JSON"),
        ("# Memo\n\nSome, text\n", "markdown"),
        ("<html><body>x</body></html>", "HTML"),
        ("a,b\n", "at least one data row"),
        ("We sold more this year than in any year before it, mostly in the West\nyes\n", "prose"),
        ("a,b\n1,2\n1,2,3,4\n1\n5,6,7\n", "different number of fields"),
        ("region,revenue\nNorth,1\n", None),
    ],
)
def test_what_is_not_a_table(text: str, problem: str | None) -> None:
    found = table_problem(text)
    assert found is None if problem is None else problem in (found or "")


def test_identifiers_are_not_measures() -> None:
    rows = "\n".join(f"{i * 3},{i},{i * 7 % 11},{1000 + i}" for i in range(1, 13))
    table = parse_table("order_id,line,score,visits\n" + rows)
    # order_id by its name, line because it numbers the rows 1..12; visits just happen to rise
    assert measures(table) == ["score", "visits"]
