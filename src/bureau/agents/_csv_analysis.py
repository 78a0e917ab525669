"""The csv-analyst's step functions: each takes the CSV text and returns compact JSON.

They re-read the table through the cached `parse_table`, so a step journals only its own
findings, never the data.
"""

from __future__ import annotations

import re
from typing import Any

from bureau.agents import _csv_execute as run
from bureau.agents import _csv_goal as goal_words
from bureau.agents._csv_answer import answer, scope_for
from bureau.agents._csv_query import Query
from bureau.agents._csv_stats import (
    anomalies,
    correlations,
    histogram_bins,
    measures,
    profile,
)
from bureau.agents._csv_table import parse_table

MAX_GROUPS = 30  # a categorical column with more values is not a useful grouping
MAX_VALUES = 200  # values of a categorical column a goal may name ("East")
MAX_SERIES = 8


def load(text: str) -> dict[str, Any]:
    """Parse and type the CSV (checked by `table_problem` first): columns, the values a goal
    may filter on, the last period."""
    table = parse_table(text)
    columns = []
    for column in table.columns:
        distinct = sorted(set(column.present()))
        entry: dict[str, Any] = {"name": column.name, "kind": column.kind, "unique": len(distinct)}
        if column.kind == "categorical" and len(distinct) <= MAX_VALUES:
            entry["values"] = distinct
        columns.append(entry)
    dates = table.of_kind("date")
    keys = [k for k in dates[0].periods if k is not None] if dates else []
    latest = max(keys) if keys else None
    return {
        "rows": table.rows,
        "delimiter": table.delimiter,
        "ragged_rows": table.ragged_rows,
        "columns": columns,
        "measures": measures(table),
        "latest": None if latest is None else [latest[0], latest[1] if len(latest) > 1 else 12],
    }


def profile_columns(text: str, top: int) -> list[dict[str, Any]]:
    """One profile per column (see `_csv_stats.profile`)."""
    return [profile(c, top) for c in parse_table(text).columns]


def find_anomalies(text: str, limit: int, group: str | None) -> dict[str, Any]:
    """Outliers (within each `group` when given), and correlations without them.

    `flagged` holds every outlier (the answer leaves them all out); `anomalies` the
    strongest `limit` of them, for the deliverable and the report.
    """
    table = parse_table(text)
    flagged = anomalies(table, None, group)
    rows: dict[str, set[int]] = {}
    for anomaly in flagged:
        rows.setdefault(anomaly["column"], set()).add(anomaly["row"] - 1)
    return {
        "anomalies": flagged[:limit],
        "flagged": [
            {k: a[k] for k in ("row", "column", "value", "score", "median", "method", "context")}
            for a in flagged
        ],
        "correlations": correlations(table, rows),
    }


def choose_focus(loaded: dict[str, Any], text: str, target: str | None) -> dict[str, Any]:
    """The grouping and time columns for `target`, from what `text` (the goal) names.

    Without a named grouping, the categorical column with the fewest (2..30) values is used.
    """
    groups = [
        c
        for c in loaded["columns"]
        if c["kind"] == "categorical" and 2 <= c["unique"] <= MAX_GROUPS
    ]
    times = [c["name"] for c in loaded["columns"] if c["kind"] == "date"]
    named = goal_words.mentioned(text, [c["name"] for c in groups])
    fewest = sorted(groups, key=lambda c: c["unique"])
    group = named[0] if named else (fewest[0]["name"] if fewest else None)
    named_time = goal_words.mentioned(text, times)
    time = named_time[0] if named_time else (times[0] if times else None)
    return {"target": target, "group": group, "time": time}


def selected_rows(text: str, query: Query, time: str | None) -> int:
    """How many rows the goal's values and periods select."""
    return len(run.select(parse_table(text), query, time)[0])


def answer_goal(
    text: str, query: Query, focus: dict[str, Any], found: dict[str, Any]
) -> dict[str, Any]:
    """The answer in words, its structured result, and the series the charts draw.

    `totals`, `trend` and `growth` are computed without the flagged outliers of the target,
    over the rows the goal selects; `excluded` lists those outliers.
    """
    table = parse_table(text)
    words, result = answer(table, query, focus, found)
    target, group, time = focus["target"], focus["group"], focus["time"]
    out: dict[str, Any] = {
        "answer": words,
        "result": result,
        "totals": [],
        "trend": None,
        "growth": [],
        "excluded": [],
    }
    if target is None:
        return out
    scope = scope_for(table, query, focus, found)
    out["excluded"] = scope.excluded(target)
    clean = scope.without_outliers(target)
    if group:
        out["totals"] = run.rank(run.groups(clean, target, "sum", group, None), "desc", False)
    if time:
        out["trend"] = _trend(clean, target, group)
        if result["kind"] == "growth":
            out["growth"] = result["rows"]
        else:
            grown = run.growth(clean, target, clean.natural, group)
            out["growth"] = sorted(grown["rows"], key=lambda r: -(r["growth_pct"] or 0.0))
    return out


def _trend(scope: run.Scope, target: str, group: str | None) -> dict[str, Any]:
    """Sums of `target` per period (and per group), `None` where a group has no value."""
    per_split = run.series(scope, target, scope.natural, group)
    keys = sorted({k for values in per_split.values() for k in values})
    return {
        "periods": [scope.label(k, scope.natural) for k in keys],
        "series": {label: [values.get(k) for k in keys] for label, values in per_split.items()},
    }


def _file_name(*parts: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", "-".join(parts).lower()).strip("-")
    return f"chart-{slug[:60] or 'data'}.png"


def chart_specs(
    text: str, focus: dict[str, Any], answered: dict[str, Any], limit: int
) -> list[dict[str, Any]]:
    """Up to `limit` chart specs (see `_charts`): a bar chart, a trend line, a histogram.

    They draw the same figures as the answer: without the flagged outliers, which the
    titles then say.
    """
    table = parse_table(text)
    target, group = focus["target"], focus["group"]
    result = answered["result"]
    left_out = len(answered["excluded"])
    note = f" (excl. {left_out} outlier{'s' if left_out != 1 else ''})" if left_out else ""
    specs = [spec] if (spec := _bar(table, focus, answered, note)) else []
    if trend := answered["trend"]:
        totals = {r["group"]: r["value"] for r in answered["totals"]}
        names = sorted(trend["series"], key=lambda k: -(totals.get(k) or 0))[:MAX_SERIES]
        lines = [{"name": k, "values": trend["series"][k]} for k in names]
        periods = list(trend["periods"])
        if result["kind"] == "forecast" and result["series"]:
            lines, periods = _with_forecast(result, lines, periods)
        title = f"{target} by {focus['time']}" + (f" and {group}" if group else "") + note
        specs.append(
            {
                "type": "line",
                "file": _file_name(target, "trend"),
                "title": title,
                "x": periods,
                "series": lines,
                "y_label": target,
                "x_label": focus["time"],
            }
        )
    if target:
        excluded = {a["row"] - 1 for a in answered["excluded"]}
        numbers = table.column(target).numbers
        values = [v for i, v in enumerate(numbers) if v is not None and i not in excluded]
        if len(values) >= 5:
            specs.append(
                {
                    "type": "histogram",
                    "file": _file_name(target, "distribution"),
                    "title": f"distribution of {target}{note}",
                    "x_label": target,
                    **histogram_bins(values),
                }
            )
    return specs[:limit]


def _bar(
    table: Any, focus: dict[str, Any], answered: dict[str, Any], note: str
) -> dict[str, Any] | None:
    """The bar chart of the answer: growth or ranked groups, else totals, means or counts."""
    target, group, result = focus["target"], focus["group"], answered["result"]
    growth_rows = [r for r in answered["growth"] if r["growth_pct"] is not None]
    if result["kind"] == "growth" and result["group"] and len(growth_rows) > 1:
        rows = growth_rows[:MAX_GROUPS]
        return {
            "type": "bar",
            "file": _file_name(target, "growth-by", result["group"]),
            "title": f"{target} growth by {result['group']}, {result['window']['from']} to "
            f"{result['window']['to']} (%)",
            "labels": [r["group"] for r in rows],
            "values": [r["growth_pct"] for r in rows],
            "suffix": "%",
            "x_label": result["group"],
            "y_label": "growth %",
        }
    if result["kind"] == "groups" and result["rows"] and result["by"] != [group]:
        rows = [r for r in result["rows"] if r["value"] is not None][:12]
        by = " and ".join(result["by"])
        what = f"{result['aggregate']} {result['measure'] or 'rows'}"
        return {
            "type": "bar",
            "file": _file_name(result["measure"] or "rows", "by", by),
            "title": f"{what} by {by}{note}",
            "labels": [r["group"] for r in rows],
            "values": [r["value"] for r in rows],
            "x_label": by,
            "y_label": result["measure"] or "rows",
        }
    if group and answered["totals"]:
        rows = answered["totals"][:12]
        return {
            "type": "bar",
            "file": _file_name(target, "by", group),
            "title": f"total {target} by {group}{note}",
            "labels": [r["group"] for r in rows],
            "values": [r["value"] for r in rows],
            "x_label": group,
            "y_label": target,
        }
    if names := measures(table):
        means = [profile(table.column(n))["mean"] for n in names[:12]]
        return {
            "type": "bar",
            "file": _file_name("means"),
            "title": "mean of each numeric column",
            "labels": names[:12],
            "values": means,
        }
    if counted := group or next(iter(c.name for c in table.of_kind("categorical")), None):
        top = profile(table.column(counted), top=12)["top"]
        return {
            "type": "bar",
            "file": _file_name(counted, "counts"),
            "title": f"most frequent {counted} values",
            "labels": [value for value, _ in top],
            "values": [count for _, count in top],
            "x_label": counted,
            "y_label": "rows",
            "integer": True,
        }
    return None


def _with_forecast(
    result: dict[str, Any], lines: list[dict[str, Any]], periods: list[str]
) -> tuple[list[dict[str, Any]], list[str]]:
    """The history lines and the projected ones, on one time axis extended to the horizon."""
    future = [p["period"] for p in result["series"][0]["forecast"]]
    padding = [None] * len(future)
    history = [{**line, "values": [*line["values"], *padding]} for line in lines]
    projected = [
        {
            "name": f"{'' if line['group'] == 'total' else line['group'] + ' '}projected",
            "values": [None] * len(periods) + [p["value"] for p in line["forecast"]],
        }
        for line in result["series"][:MAX_SERIES]
    ]
    return (history + projected)[:MAX_SERIES], periods + future
