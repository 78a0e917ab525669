"""The csv-analyst's step functions: each takes the CSV text and returns compact JSON.

They re-read the table through the cached `parse_table`, so a step journals only its own
findings, never the data.
"""

from __future__ import annotations

import re
from typing import Any

from bureau import Fatal
from bureau.agents import _csv_goal as goal_words
from bureau.agents._csv_stats import (
    anomalies,
    correlations,
    group_totals,
    growth,
    histogram_bins,
    measures,
    profile,
    time_series,
)
from bureau.agents._csv_table import Table, parse_table

MAX_GROUPS = 30  # a categorical column with more values is not a useful grouping
MAX_SERIES = 8


def load(text: str) -> dict[str, Any]:
    """Parse and type the CSV; raises `Fatal` when it holds no data."""
    try:
        table = parse_table(text)
    except ValueError as exc:
        raise Fatal(f"{exc}; send a CSV with a header row (input.csv or a .csv file)") from exc
    return {
        "rows": table.rows,
        "delimiter": table.delimiter,
        "ragged_rows": table.ragged_rows,
        "columns": [
            {"name": c.name, "kind": c.kind, "unique": len(set(c.present()))} for c in table.columns
        ],
        "measures": measures(table),
    }


def profile_columns(text: str, top: int) -> list[dict[str, Any]]:
    """One profile per column (see `_csv_stats.profile`)."""
    return [profile(c, top) for c in parse_table(text).columns]


def find_anomalies(text: str, limit: int, group: str | None) -> dict[str, Any]:
    """Outliers (within each `group` when given) and correlations of the measure columns."""
    table = parse_table(text)
    return {"anomalies": anomalies(table, limit, group), "correlations": correlations(table)}


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
    return {
        "target": target,
        "group": group,
        "time": time,
        "intents": sorted(goal_words.intents(text)),
    }


def answer_goal(text: str, focus: dict[str, Any], found: dict[str, Any]) -> dict[str, Any]:
    """Answer the goal in words, with the group totals, trend and growth behind the answer."""
    table = parse_table(text)
    target, group, time = focus["target"], focus["group"], focus["time"]
    intents, low_first = set(focus["intents"]), "low-first" in focus["intents"]
    out: dict[str, Any] = {"totals": [], "trend": None, "growth": []}
    sentences: list[str] = []
    if target is None:
        return {**out, "answer": _no_measure(table, group)}
    if group:
        out["totals"] = group_totals(table, group, target)
    if time:
        out["trend"] = time_series(table, time, target, group)
        out["growth"] = growth(out["trend"]["periods"], out["trend"]["series"])
    growth_by_group = bool(group and out["growth"] and "growth" in intents)
    if growth_by_group:
        sentences.append(goal_words.describe_growth(out["growth"], target, low_first))
    elif "growth" in intents and out["growth"]:
        sentences.append(_overall_growth(out["growth"][0], target))
    elif "growth" in intents:
        sentences.append("There is no date or period column, so growth cannot be measured.")
    if group and out["totals"] and intents & {"rank", "growth"} and not growth_by_group:
        sentences.append(goal_words.describe_totals(out["totals"], target, group, low_first))
    if "anomaly" in intents:
        sentences.append(goal_words.describe_anomalies(found["anomalies"]))
    if "correlation" in intents:
        sentences.append(goal_words.describe_correlations(found["correlations"]))
    if not sentences:
        sentences.append(_overview(table, target))
        if out["totals"]:
            sentences.append(goal_words.describe_totals(out["totals"], target, group, False))
    return {**out, "answer": " ".join(sentences)}


def _overall_growth(row: dict[str, Any], target: str) -> str:
    return (
        f"Total {target} changed {goal_words.percent(row['growth_pct'])} from {row['from']} "
        f"({goal_words.number(row['first'])}) to {row['to']} ({goal_words.number(row['last'])})."
    )


def _overview(table: Table, target: str) -> str:
    stats = profile(table.column(target))
    if not stats["count"]:
        return f"{target} has no values."
    n = goal_words.number
    return (
        f"{target}: total {n(stats['sum'])}, mean {n(stats['mean'])} (median "
        f"{n(stats['median'])}) over {stats['count']} rows, from {n(stats['min'])} to "
        f"{n(stats['max'])}."
    )


def _no_measure(table: Table, group: str | None) -> str:
    categorical = [c.name for c in table.of_kind("categorical")]
    text = "The CSV has no numeric column to measure."
    if counted := group or next(iter(categorical), None):
        top = profile(table.column(counted))["top"]
        listing = ", ".join(f"{value} ({count})" for value, count in top[:3])
        text += f" The most frequent {counted} values are {listing}."
    return text


def _file_name(*parts: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", "-".join(parts).lower()).strip("-")
    return f"chart-{slug[:60] or 'data'}.png"


def chart_specs(
    text: str, focus: dict[str, Any], answered: dict[str, Any], limit: int
) -> list[dict[str, Any]]:
    """Up to `limit` chart specs (see `_charts`): a bar chart, a trend line, a histogram."""
    table = parse_table(text)
    target, group = focus["target"], focus["group"]
    specs: list[dict[str, Any]] = []
    growth_rows = [r for r in answered["growth"] if r["growth_pct"] is not None]
    if group and len(growth_rows) > 1 and "growth" in focus["intents"]:
        rows = growth_rows[:MAX_GROUPS]
        specs.append(
            {
                "type": "bar",
                "file": _file_name(target, "growth-by", group),
                "title": f"{target} growth by {group} (%)",
                "labels": [r["group"] for r in rows],
                "values": [r["growth_pct"] for r in rows],
                "suffix": "%",
                "x_label": group,
                "y_label": "growth %",
            }
        )
    elif group and answered["totals"]:
        rows = answered["totals"][:12]
        specs.append(
            {
                "type": "bar",
                "file": _file_name(target, "by", group),
                "title": f"total {target} by {group}",
                "labels": [r["group"] for r in rows],
                "values": [r["sum"] for r in rows],
                "x_label": group,
                "y_label": target,
            }
        )
    elif names := measures(table):
        means = [profile(table.column(n))["mean"] for n in names[:12]]
        specs.append(
            {
                "type": "bar",
                "file": _file_name("means"),
                "title": "mean of each numeric column",
                "labels": names[:12],
                "values": means,
            }
        )
    elif counted := group or next(iter(c.name for c in table.of_kind("categorical")), None):
        top = profile(table.column(counted), top=12)["top"]
        specs.append(
            {
                "type": "bar",
                "file": _file_name(counted, "counts"),
                "title": f"most frequent {counted} values",
                "labels": [value for value, _ in top],
                "values": [count for _, count in top],
                "x_label": counted,
                "y_label": "rows",
                "integer": True,
            }
        )
    if trend := answered["trend"]:
        totals = {r["group"]: r["sum"] for r in answered["totals"]}
        names = sorted(trend["series"], key=lambda k: -totals.get(k, 0))[:MAX_SERIES]
        title = f"{target} by {focus['time']}" + (f" and {group}" if group else "")
        specs.append(
            {
                "type": "line",
                "file": _file_name(target, "trend"),
                "title": title,
                "x": trend["periods"],
                "series": [{"name": k, "values": trend["series"][k]} for k in names],
                "y_label": target,
                "x_label": focus["time"],
            }
        )
    if target and len(values := table.column(target).values()) >= 5:
        specs.append(
            {
                "type": "histogram",
                "file": _file_name(target, "distribution"),
                "title": f"distribution of {target}",
                "x_label": target,
                **histogram_bins(values),
            }
        )
    return specs[:limit]
