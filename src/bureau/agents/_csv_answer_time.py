"""Answers over time: growth over a common window, and a naive linear-trend forecast.

Like `_csv_answer`, each function returns `(words, result)` and computes its figures with and
without the flagged outliers.
"""

from __future__ import annotations

from typing import Any

from bureau.agents import _csv_execute as run
from bureau.agents._csv_format import SHOWN, number, outlier_note, percent, plural, where
from bureau.agents._csv_query import Query

Answer = tuple[str, dict[str, Any]]


def growth(scope: run.Scope, query: Query, target: str | None) -> Answer:
    """Growth of each series over the common window (same first and last period for all)."""
    assert target is not None
    grain = query["grain"] or scope.natural
    split = query["group"] or scope.split
    low_first = query["order"] == "asc"

    def grown(s: run.Scope) -> dict[str, Any]:
        found = run.growth(s, target, grain, split)
        found["rows"] = sorted(
            found["rows"],
            key=lambda r: (
                r["growth_pct"] is None,
                (1 if low_first else -1) * (r["growth_pct"] or 0.0),
            ),
        )
        return found

    clean, dirty, excluded = run.both_ways(scope, (target,), grown)
    result = {
        "kind": "growth",
        "measure": target,
        "grain": grain,
        "group": split,
        "where": where(query).strip(" ()"),
        "window": clean["window"],
        "rows": clean["rows"],
        "total": clean["total"],
        "window_with_outliers": dirty["window"],
        "rows_with_outliers": dirty["rows"],
        "total_with_outliers": dirty["total"],
        "excluded": excluded,
    }
    if clean["window"] is None:
        return (
            f"There are not two {grain}s that every series has, so growth can't be compared.",
            result,
        )
    by_group = bool(query["group"]) and len(clean["rows"]) > 1
    text = _growth_words(clean, target, split, by_group, low_first, where(query))
    if excluded:
        text += outlier_note(excluded, _growth_effect(clean, dirty, by_group))
    return text, result


def _growth_effect(clean: dict[str, Any], dirty: dict[str, Any], by_group: bool) -> str:
    """What including the outliers does to a growth answer."""
    if clean == dirty:
        return "the growth figures are the same"
    if dirty["window"] != clean["window"]:
        return f"the common window is {dirty['window']['from']} to {dirty['window']['to']}"
    rows = dirty["rows"] if by_group or not dirty["total"] else [dirty["total"]]
    return "growth is " + ", ".join(f"{r['group']} {percent(r['growth_pct'])}" for r in rows)


def _growth_words(
    found: dict[str, Any],
    target: str,
    split: str | None,
    by_group: bool,
    low_first: bool,
    where_text: str,
) -> str:
    window, rows = found["window"], found["rows"]
    if by_group:
        lead = rows[0]
        verb = "grew slowest" if low_first else "grew fastest"
        if lead["growth_pct"] is not None and lead["growth_pct"] < 0:
            verb = "fell the most" if low_first else "fell least"
        text = (
            f"{lead['group']} {verb} in {target}: {percent(lead['growth_pct'])} from "
            f"{lead['from']} ({number(lead['first'])}) to {lead['to']} ({number(lead['last'])})."
        )
        if others := [f"{r['group']} {percent(r['growth_pct'])}" for r in rows[1:]]:
            text += " Then " + ", ".join(others[:SHOWN]) + "."
    else:
        lead = found["total"] or rows[0]
        name = (
            f"Total {target}" if found["total"] else f"{target[0].upper()}{target[1:]}{where_text}"
        )
        text = (
            f"{name} changed {percent(lead['growth_pct'])} from {lead['from']} "
            f"({number(lead['first'])}) to {lead['to']} ({number(lead['last'])})."
        )
        if found["total"]:
            text += (
                " By "
                + (split or "group")
                + ": "
                + ", ".join(f"{r['group']} {percent(r['growth_pct'])}" for r in rows[:SHOWN])
                + "."
            )
    if len(rows) > 1:
        text += (
            f" All {len(rows)} {split or 'series'} values are compared over the same window, "
            f"{window['from']} to {window['to']} (the first and last periods every one has)."
        )
    return text


# -- forecast -----------------------------------------------------------------------------


def forecast(scope: run.Scope, query: Query, target: str | None) -> Answer:
    """A naive linear-trend projection, saying the method and the fitted window."""
    assert target is not None
    grain = query["grain"] or scope.natural
    split = query["group"]

    def projected(s: run.Scope) -> dict[str, Any]:
        return run.forecast(s, target, grain, split, query["horizon"])

    clean, dirty, excluded = run.both_ways(scope, (target,), projected)
    method = (
        f"linear trend (least squares) fitted to the last {run.FIT_PERIODS} {grain}s, extended "
        f"{query['horizon']} {grain}s: a naive projection"
    )
    result = {
        "kind": "forecast",
        "measure": target,
        "grain": grain,
        "where": where(query).strip(" ()"),
        "method": method,
        "fitted": clean["fitted"],
        "horizon": query["horizon"],
        "series": clean["series"],
        "series_with_outliers": dirty["series"],
        "excluded": excluded,
    }
    fitted = clean["fitted"]
    if not clean["series"] or fitted is None:
        return (
            f"There are fewer than 3 {grain}s with {target} values in the last "
            f"{run.FIT_PERIODS}, too few to fit a trend.",
            result,
        )
    text = (
        f"Naive projection of {target}{where(query)}: a straight line fitted by least squares "
        f"to the last {fitted['periods']} {grain}s ({fitted['from']} to {fitted['to']}), extended "
        f"{plural(query['horizon'], grain)}."
    )
    complete = "with a value"
    if not query["group"] and scope.split and len(_values_of(scope, scope.split)) > 1:
        complete = f"where every {scope.split} has a value"
    for line in clean["series"][:SHOWN]:
        name = "" if line["group"] == "total" else f"{line['group']}: "
        points = ", ".join(f"{p['period']} about {number(p['value'])}" for p in line["forecast"])
        slope = ("+" if line["slope"] >= 0 else "") + number(line["slope"])
        text += (
            f" {name}{'T' if not name else 't'}he fitted trend is {slope} per {grain} (over "
            f"{line['points']} {grain}s {complete}); projected: {points}."
        )
    text += (
        " It assumes the recent straight-line trend simply continues: no seasonality, no "
        "uncertainty range, nothing the data does not show."
    )
    if excluded:
        effect = "the projection is the same"
        if dirty["series"] and dirty != clean:
            first = dirty["series"][0]["forecast"][0]
            effect = f"the first projected value is {number(first['value'])}"
        text += outlier_note(excluded, effect)
    return text, result


def _values_of(scope: run.Scope, column: str) -> set[str]:
    cells = scope.table.column(column).cells
    return {cells[r] for r in scope.rows if cells[r]}
