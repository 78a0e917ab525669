"""Answering a `Query`: the structured result and the words, robust to the flagged outliers.

Each kind of question has one function returning `(words, result)`. The result is the
deliverable's `result` field: full-precision numbers, the rows excluded as outliers, and
the same figures with them (`..._with_outliers`). The words lead with the figure without
outliers and, when outliers were left out, say which and give the other figure too.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bureau.agents import _csv_execute as run
from bureau.agents._csv_answer_time import forecast, growth
from bureau.agents._csv_format import (
    SHOWN,
    coverage_words,
    listed_groups,
    listing,
    number,
    ordinal,
    outlier_note,
    plural,
    share,
    where,
)
from bureau.agents._csv_query import Query
from bureau.agents._csv_stats import ROBUST_Z_LIMIT, strength
from bureau.agents._csv_stats import measures as measure_columns
from bureau.agents._csv_table import Table

AGGREGATE_NAMES = {
    "sum": "total",
    "mean": "average",
    "median": "median",
    "min": "minimum",
    "max": "maximum",
    "count": "count",
}
Answer = tuple[str, dict[str, Any]]


def scope_for(
    table: Table, query: Query, focus: dict[str, Any], found: dict[str, Any]
) -> run.Scope:
    """The rows the query selects, with the outliers the outlier step flagged."""
    rows, span = run.select(table, query, focus["time"])
    flagged: dict[str, dict[int, dict[str, Any]]] = {}
    for anomaly in found["flagged"]:
        flagged.setdefault(anomaly["column"], {})[anomaly["row"] - 1] = anomaly
    return run.Scope(
        table=table,
        rows=rows,
        span=span,
        time=focus["time"],
        split=focus["group"],
        flagged=flagged,
        natural=run.natural_grain(table, focus["time"]),
    )


# -- aggregate ----------------------------------------------------------------------------


def aggregate(scope: run.Scope, query: Query, target: str | None) -> Answer:
    """One figure: total, average, median, minimum, maximum or count of a measure."""
    if query["aggregate"] == "distinct":
        return _distinct(scope, query)
    if query["aggregate"] == "missing":
        return _missing(scope, query, target)
    how = query["aggregate"] or {"asc": "min", "desc": "max"}.get(query["order"] or "", "sum")
    measure = target if how != "count" else next(iter(query["measures"]), None)
    name = AGGREGATE_NAMES[how]
    clean, dirty, excluded = run.both_ways(
        scope, (measure,) if measure else (), lambda s: run.aggregate(s, measure, how)
    )
    kept = scope.without_outliers(measure) if measure else scope
    covered = run.coverage(kept, measure)
    result = {
        "kind": "aggregate",
        "measure": measure,
        "aggregate": how,
        "where": where(query).strip(" ()"),
        "value": clean["value"],
        "rows": clean["rows"],
        "value_with_outliers": dirty["value"],
        "rows_with_outliers": dirty["rows"],
        "excluded": excluded,
        "coverage": covered,
        "at": clean.get("at"),
    }
    if measure is None:
        return f"There are {plural(int(clean['value']), 'row')}{where(query)}.", result
    if clean["value"] is None:
        return f"No row{where(query)} has a {measure} value.", result
    text = f"The {name} {measure}{where(query)} is {number(clean['value'])}"
    if at := clean.get("at"):
        origin = ", ".join(f"{k} {v}" for k, v in at.items() if k != "row" and v)
        text += f", in row {at['row']} ({origin})"
    text += f", over {plural(clean['rows'], 'row')} with a value"
    if covered and (gaps := coverage_words(covered)):
        text += f" ({gaps})"
    if clean.get("missing"):
        text += f"; {plural(clean['missing'], 'selected row')} without a {measure} value"
    with_text = f"the {name} is {number(dirty['value'])} over {plural(dirty['rows'], 'row')}"
    return text + "." + outlier_note(excluded, with_text), result


def _distinct(scope: run.Scope, query: Query) -> Answer:
    counted = query["count_of"] or ""
    if counted in ("year", "quarter", "month", "period"):
        keys = sorted({k for r in scope.rows if (k := scope.key(r, counted)) is not None})
        labels = [scope.label(k, counted) for k in keys]
        noun = counted
    else:
        cells = scope.table.column(counted).cells
        labels = sorted({cells[r] for r in scope.rows if cells[r]})
        noun = f"{counted} value"
    result = {
        "kind": "aggregate",
        "aggregate": "distinct",
        "of": counted,
        "value": float(len(labels)),
        "values": labels,
    }
    shown = listing(labels) if len(labels) <= SHOWN else f"{labels[0]} to {labels[-1]}"
    return f"There are {plural(len(labels), noun)}{where(query)}: {shown}.", result


def _missing(scope: run.Scope, query: Query, target: str | None) -> Answer:
    measure = next(iter(query["measures"]), target)
    columns = [measure] if measure else [c.name for c in scope.table.columns]
    counts = {c: sum(1 for r in scope.rows if not scope.table.column(c).cells[r]) for c in columns}
    total = sum(counts.values())
    result = {
        "kind": "aggregate",
        "aggregate": "missing",
        "value": float(total),
        "by_column": counts,
        "rows": len(scope.rows),
    }
    detail = ", ".join(f"{c} {n}" for c, n in counts.items() if n) or "none"
    return (
        f"{plural(total, 'empty cell')} in {', '.join(columns)} among the "
        f"{plural(len(scope.rows), 'selected row')}{where(query)} ({detail}). Rows absent "
        "from the file are not counted here.",
        result,
    )


# -- groups -------------------------------------------------------------------------------


def groups(scope: run.Scope, query: Query, target: str | None) -> Answer:
    """A breakdown by a column and/or a period, ranked and cut to the top N when asked."""
    how = query["aggregate"] if query["aggregate"] in AGGREGATE_NAMES else "sum"
    measure = None if how == "count" and not query["measures"] else target
    group, grain = query["group"], query["grain"]
    chronological = bool(grain) and not group

    def ranked(s: run.Scope) -> list[dict[str, Any]]:
        return run.rank(run.groups(s, measure, how, group, grain), query["order"], chronological)

    full, full_dirty, excluded = run.both_ways(scope, (measure,) if measure else (), ranked)
    clean, dirty = full[: query["limit"] or None], full_dirty[: query["limit"] or None]
    changed = [r["group"] for r in clean] != [r["group"] for r in dirty]
    by = [b for b in (group, grain) if b]
    result = {
        "kind": "groups",
        "measure": measure,
        "aggregate": how,
        "by": by,
        "order": query["order"],
        "limit": query["limit"],
        "where": where(query).strip(" ()"),
        "rows": clean,
        "rows_with_outliers": dirty,
        "excluded": excluded,
        "changed": changed,
    }
    if not clean:
        return f"No row{where(query)} has a {measure} value to group.", result
    what = (
        f"number of {measure or 'row'}s" if how == "count" else f"{AGGREGATE_NAMES[how]} {measure}"
    )
    among = f"{group} values" if group and not grain else " and ".join(by) + "s"
    text = _ranking_words(clean, query, what, among) + where(query) + "."
    text += "" if how == "count" else _gaps(clean, max(r["rows"] for r in full))
    if excluded:
        text += outlier_note(excluded, _ranking_effect(full, dirty, query, changed))
    return text, result


def _ranking_effect(
    full: list[dict[str, Any]], dirty: list[dict[str, Any]], query: Query, changed: bool
) -> str:
    """What including the outliers does to a breakdown: the new order, or the new values."""
    if query["order"] and changed:
        lead = dirty[0]["group"]
        place = next((i for i, r in enumerate(full, 1) if r["group"] == lead), None)
        was = f"; without them {lead} is {ordinal(place)} of {len(full)}" if place else ""
        return f"the ranking changes: {listed_groups(dirty[:4])}{was}"
    before = {r["group"]: r["value"] for r in full}
    moved = [r for r in dirty if before.get(r["group"]) != r["value"]]
    if not moved:
        return "the figures are the same"
    return ", ".join(
        f"{r['group']} is {number(r['value'])} instead of {number(before[r['group']] or 0)}"
        for r in moved[:3]
        if r["group"] in before and r["value"] is not None
    )


def _ranking_words(rows: list[dict[str, Any]], query: Query, what: str, among: str) -> str:
    lead = rows[0]
    word = "lowest" if query["order"] == "asc" else "highest"
    if query["order"] and query["limit"] == 1:
        return f"{lead['group']} has the {word} {what} among {among}: {number(lead['value'])}"
    if query["order"]:
        side = "Bottom" if query["order"] == "asc" else "Top"
        plural_by = among.removesuffix(" values") + ("s" if among.endswith(" values") else "")
        return f"{side} {len(rows)} {plural_by} by {what}, {word} first: {listed_groups(rows)}"
    by = among.removesuffix(" values").removesuffix("s")
    return f"{what.capitalize()} by {by}: {listed_groups(rows)}"


def _gaps(shown: list[dict[str, Any]], most: int) -> str:
    """Which of the `shown` groups have fewer rows than the fullest group (gaps in the data)."""
    fewer = [f"{r['group']} {r['rows']}" for r in shown if r["rows"] < most]
    if not fewer:
        return ""
    return f" Not every group has {most} rows with a value: {', '.join(fewer[:SHOWN])}."


# -- correlation --------------------------------------------------------------------------


def correlation(scope: run.Scope, query: Query, target: str | None) -> Answer:
    """Pearson r of the named pair (or the strongest pair), without and with outliers."""
    measures = query["measures"]
    available = measure_columns(scope.table)
    if len(measures) >= 2:
        pairs = [(measures[0], measures[1])]
    else:
        pairs = [
            (a, b)
            for i, a in enumerate(available)
            for b in available[i + 1 :]
            if not measures or measures[0] in (a, b)
        ]
    found = [pair for a, b in pairs if (pair := _pair(scope, a, b))]
    found.sort(key=lambda p: -abs(p["r"]))
    if not found:
        return "There are not two numeric columns with enough values to correlate.", {
            "kind": "correlation",
            "pairs": [],
        }
    top = found[0]
    result = {"kind": "correlation", **top, "where": where(query).strip(" ()"), "pairs": found}
    lead = (
        "The correlation between" if len(measures) >= 2 else "The strongest correlation is between"
    )
    text = f"{lead} {top['a']} and {top['b']}{where(query)}: {_r_words(top['r'], top['n'])}."
    if top["excluded"] and top["r_with_outliers"] is not None:
        effect = _r_words(top["r_with_outliers"], top["n_with_outliers"])
        text += outlier_note(top["excluded"], effect)
    return text, result


def _pair(scope: run.Scope, a: str, b: str) -> dict[str, Any] | None:
    """The correlation of `a` and `b` without the outliers of either, and with them."""

    def pearson(s: run.Scope) -> dict[str, Any] | None:
        return run.correlation(s, a, b)

    clean, dirty, excluded = run.both_ways(scope, (a, b), pearson)
    if clean is None:
        return None
    return {
        "a": a,
        "b": b,
        "r": clean["r"],
        "n": clean["n"],
        "strength": strength(clean["r"]),
        "r_with_outliers": dirty["r"] if dirty else None,
        "n_with_outliers": dirty["n"] if dirty else None,
        "excluded": excluded,
    }


def _r_words(r: float, n: int) -> str:
    return f"r = {r:.3f} ({strength(r)}, {plural(n, 'row')})"


# -- anomalies and overview ------------------------------------------------------------


def anomalies(scope: run.Scope, query: Query, target: str | None) -> Answer:
    """The flagged outliers among the selected rows (of the named measure, if any)."""
    measure = next(iter(query["measures"]), None)
    selected = set(scope.rows)
    rows = [
        a
        for column, flagged in scope.flagged.items()
        if measure in (None, column)
        for i, a in flagged.items()
        if i in selected
    ]
    rows.sort(key=lambda a: -abs(a["score"]))
    result = {
        "kind": "anomalies",
        "measure": measure,
        "method": f"robust z-score above {ROBUST_Z_LIMIT} (IQR fences when the MAD is zero)"
        + (f", within each {scope.split}" if scope.split else ""),
        "rows": rows,
    }
    if not rows:
        return (
            f"I found no outliers{where(query)} (no value is more than {ROBUST_Z_LIMIT} robust "
            "SDs from its median).",
            result,
        )
    top = rows[0]
    context = ", ".join(f"{k} {v}" for k, v in top["context"].items() if v)
    text = (
        f"I found {plural(len(rows), 'outlier')}{where(query)}; the strongest is {top['column']} = "
        f"{number(top['value'])} in row {top['row']}"
        + (f" ({context})" if context else "")
        + f", against a median of {number(top['median'])} ({top['method']})."
    )
    return text, result


def overview(scope: run.Scope, query: Query, target: str | None) -> Answer:
    """Total, average, median and range of the measure, the leading group, and the outliers."""
    if target is None:
        return _no_measure(scope), {"kind": "overview", "measure": None}
    stats = {how: None for how in ("sum", "mean", "median", "min", "max")}

    def summary(s: run.Scope) -> dict[str, Any]:
        values = [v for _, v in s.values(target)]
        return {"rows": len(values), **{how: run.reduce(values, how) for how in stats}}

    clean, dirty, excluded = run.both_ways(scope, (target,), summary)
    result: dict[str, Any] = {
        "kind": "overview",
        "measure": target,
        "where": where(query).strip(" ()"),
        **clean,
        "with_outliers": dirty,
        "excluded": excluded,
    }
    if not clean["rows"]:
        return f"{target} has no values{where(query)}.", result
    text = (
        f"{target}{where(query)}: total {number(clean['sum'])}, mean {number(clean['mean'])} "
        f"(median {number(clean['median'])}) over {plural(clean['rows'], 'row')}, from "
        f"{number(clean['min'])} to {number(clean['max'])}."
    )
    if excluded:
        text += outlier_note(
            excluded,
            f"the total is {number(dirty['sum'])}, the mean {number(dirty['mean'])} and the "
            f"maximum {number(dirty['max'])}",
        )
    if scope.split and scope.split not in query["filters"]:
        ranking: Query = {
            **query,
            "group": scope.split,
            "grain": None,
            "order": "desc",
            "limit": None,
            "aggregate": "sum",
        }
        _, grouped = groups(scope, ranking, target)
        result["groups"] = grouped["rows"]
        result["groups_with_outliers"] = grouped["rows_with_outliers"]
        lead = grouped["rows"][0]
        text += (
            f" {lead['group']} has the highest total {target} among {scope.split} values: "
            f"{number(lead['value'])} ({share(lead['value'], clean['sum'])} of all)."
        )
        if grouped["changed"]:
            first = grouped["rows_with_outliers"][0]
            text += (
                f" With the outliers included, {first['group']} would lead "
                f"({number(first['value'])})."
            )
    return text, result


def _no_measure(scope: run.Scope) -> str:
    categorical = [c.name for c in scope.table.of_kind("categorical")]
    text = "The CSV has no numeric column to measure."
    if counted := scope.split or next(iter(categorical), None):
        cells = [scope.table.column(counted).cells[r] for r in scope.rows]
        counts: dict[str, int] = {}
        for cell in cells:
            if cell:
                counts[cell] = counts.get(cell, 0) + 1
        top = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:3]
        text += (
            f" The most frequent {counted} values are "
            + ", ".join(f"{v} ({n})" for v, n in top)
            + "."
        )
    return text


HANDLERS: dict[str, Callable[[run.Scope, Query, str | None], Answer]] = {
    "overview": overview,
    "aggregate": aggregate,
    "groups": groups,
    "growth": growth,
    "forecast": forecast,
    "correlation": correlation,
    "anomalies": anomalies,
}


def answer(table: Table, query: Query, focus: dict[str, Any], found: dict[str, Any]) -> Answer:
    """The words and the structured result for `query`."""
    scope = scope_for(table, query, focus, found)
    return HANDLERS[query["kind"]](scope, query, focus["target"])
