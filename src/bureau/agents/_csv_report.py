"""The csv-analyst's markdown report and one-line summary."""

from __future__ import annotations

from collections import Counter
from typing import Any

from bureau.agents._csv_format import number, percent
from bureau.agents._report import head


def summarize(source: str, loaded: dict[str, Any], found: dict[str, Any]) -> str:
    """One paragraph: size, column kinds, outliers, strongest correlation."""
    kinds = Counter(c["kind"] for c in loaded["columns"])
    listing = ", ".join(f"{n} {kind}" for kind, n in sorted(kinds.items()))
    text = f"{source}: {loaded['rows']} rows x {len(loaded['columns'])} columns ({listing})."
    count = len(found["flagged"])
    text += f" {count} outlier{'s' if count != 1 else ''} found."
    if found["correlations"]:
        top = found["correlations"][0]
        text += f" Strongest correlation: {top['a']} ~ {top['b']} (r = {top['r']:.2f}"
        if top["n"] != top["n_with_outliers"] and top["r_with_outliers"] is not None:
            text += f" without outliers, {top['r_with_outliers']:.2f} with them"
        text += ")."
    return text


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return number(value)
    return str(value).replace("|", "\\|")


def _column_table(profiles: list[dict[str, Any]]) -> list[str]:
    lines = [
        "| column | kind | count | missing | mean | median | std | min | q1 | q3 | max |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for p in profiles:
        stats = [p.get(k) for k in ("mean", "median", "std", "min", "q1", "q3", "max")]
        cells = [p["name"], p["kind"], p["count"], p["missing"], *stats]
        lines.append("| " + " | ".join(_cell(c) for c in cells) + " |")
    others = [p for p in profiles if p.get("top") or p["kind"] == "date"]
    if others:
        lines += ["", "Non-numeric columns:", ""]
    for p in others:
        if p["kind"] == "date":
            lines.append(
                f"- **{p['name']}** (date): {p['unique']} periods, {p['first']} to {p['last']}"
            )
        else:
            top = ", ".join(f"{v} ({n})" for v, n in p["top"])
            lines.append(f"- **{p['name']}** ({p['kind']}, {p['unique']} distinct): {top}")
    return lines


def _correlation_line(pair: dict[str, Any]) -> str:
    line = f"- {pair['a']} ~ {pair['b']}: r = {pair['r']:.2f} ({pair['strength']}, n = {pair['n']})"
    if pair["n"] != pair["n_with_outliers"] and pair["r_with_outliers"] is not None:
        line += (
            f"; with the {pair['n_with_outliers'] - pair['n']} outlier row(s): "
            f"r = {pair['r_with_outliers']:.2f}"
        )
    return line


def write_report(
    *,
    source: str,
    goal: str,
    feedback: str | None,
    summary: str,
    answer: dict[str, Any],
    note: str,
    profiles: list[dict[str, Any]],
    found: dict[str, Any],
    charts: list[str],
) -> str:
    """The full markdown report (sections: goal, answer, summary, columns, outliers...)."""
    redo = "This is a redo; the analysis below takes that feedback into account."
    lines = head(f"Analysis of {source}", goal, feedback, redo)
    lines += ["## Answer", "", answer["answer"], ""]
    if note:
        lines += [f"_{note}_", ""]
    lines += ["## Summary", "", summary, "", "## Columns", "", *_column_table(profiles), ""]
    lines += ["## Outliers", ""]
    if found["anomalies"]:
        lines += [
            "Rows count data rows from 1 (the header is not counted). The answer leaves these "
            "rows out of its figures and says what they would be with them.",
            "",
            "| column | row | value | median | score | method | context |",
            "|---|---:|---:|---:|---:|---|---|",
        ]
        for a in found["anomalies"]:
            context = ", ".join(f"{k}={v}" for k, v in a["context"].items())
            cells = [
                a["column"],
                a["row"],
                a["value"],
                a["median"],
                a["score"],
                a["method"],
                context,
            ]
            lines.append("| " + " | ".join(_cell(c) for c in cells) + " |")
    else:
        lines.append("None found.")
    lines += ["", "## Correlations", ""]
    lines += [_correlation_line(p) for p in found["correlations"]] or [
        "Fewer than two numeric columns to compare."
    ]
    if answer["growth"]:
        first = answer["growth"][0]
        lines += [
            "",
            "## Growth by group",
            "",
            f"Every group is compared over the same window, {first['from']} to {first['to']}"
            + (", without the flagged outliers." if answer["excluded"] else "."),
            "",
            "| group | from | to | first | last | growth |",
            "|---|---|---|---:|---:|---:|",
        ]
        for g in answer["growth"]:
            cells = [
                g["group"],
                g["from"],
                g["to"],
                g["first"],
                g["last"],
                percent(g["growth_pct"]),
            ]
            lines.append("| " + " | ".join(_cell(c) for c in cells) + " |")
    lines += ["", "## Charts", ""]
    lines += [f"![{name}]({name})" for name in charts] or ["No chart could be drawn."]
    return "\n".join(lines) + "\n"
