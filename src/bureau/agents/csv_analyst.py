"""`csv-analyst`: answers questions about one CSV, robust to its outliers, with charts and a report.

Standard library only, deterministic. The goal is read into a structured query
(`_csv_query`) and executed on the table (`_csv_execute`, `_csv_answer`); a goal it cannot
answer, or input that is not a CSV table, is declined before any analysis. It asks which
column to analyse when the question needs one and names none, unless `interactive` is
false. When the deployment configures the model `default`, the model reads free-form goals
onto the same query (`_csv_mapping`), checked against the table; it never computes a figure.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from bureau import SLA, Context, Decline, agent
from bureau.agents import _csv_analysis as analysis
from bureau.agents._charts import render
from bureau.agents._csv_goal import mentioned, plausible_measure
from bureau.agents._csv_mapping import read_goal_with_model
from bureau.agents._csv_query import CAN_DO, Query
from bureau.agents._csv_report import summarize, write_report
from bureau.agents._csv_table import table_problem
from bureau.agents._inputs import InputFile, kind_of, looks_tabular

PLAN = [
    "load the CSV and detect column types",
    "select the rows the goal asks about",
    "profile every column",
    "find outliers and correlations",
    "answer the goal",
    "draw charts",
    "write the report",
]
# per profile: top values listed per column, outliers kept, charts drawn
LIMITS = {"fast": (3, 10, 2), "balanced": (5, 20, 3), "thorough": (10, 50, 3)}
DESCRIPTION = (
    "Answers questions about one CSV: overview; total/average/median/min/max/count of a "
    "column, filtered by value or period; breakdowns by column or month/quarter/year; top/"
    "bottom N; growth over a common window; correlation of two columns; a naive linear-trend "
    "forecast; outliers, which it leaves out of its conclusions and reports. PNG charts and a "
    "markdown report. Declines anything else (causes, advice, writing, non-CSV input)."
)


class CsvAnalystInput(BaseModel):
    """One CSV (a file or inline) and a goal: a question about that table.

    Questions it answers: an overview ("summarize the data"); total, average, median,
    minimum, maximum or count of a numeric column ("average revenue of East in 2023");
    filters by value ("East", "where region is North") or period ("in 2023", "Q1 2022",
    "March 2023", "from 2022 to 2024", "last 12 months"); breakdowns ("by region", "per
    month", "by quarter"); top or bottom N ("top 3 months by revenue", "which month had the
    most returns"); growth compared over a common window; the correlation between two named
    columns; a naive linear-trend forecast ("forecast West revenue for the next 6 months");
    outliers. Outliers (robust z-score) are left out of conclusions and reported with the
    figure they would give. Anything else is declined, with the questions it can answer.
    """

    csv: str | None = Field(default=None, description="the CSV text, header row first")
    files: list[InputFile] = Field(
        default_factory=list, description="files; the first .csv (or CSV-like) one is analysed"
    )
    column: str | None = Field(
        default=None, description="the numeric column to focus on (no question is asked)"
    )
    interactive: bool = Field(
        default=True,
        description="false: never ask which column; pick the most plausible one and say so",
    )


def pick_csv(params: CsvAnalystInput, goal: str) -> tuple[str, str]:
    """The (name, text) of the CSV to analyse; raises `Decline` when the input holds none."""
    data = [f for f in params.files if kind_of(f) == "data" and f.content.strip()]
    data = data or [f for f in params.files if looks_tabular(f.content)]  # e.g. a .txt export
    if data:
        named = [f for f in data if f.name.lower() in goal.lower()]
        chosen = (named or data)[0]
        return chosen.name, chosen.content
    if params.csv and params.csv.strip():
        return "input.csv", params.csv
    sent = ", ".join(f.name for f in params.files) or "no file"
    raise Decline(
        f"no CSV to analyse (received {sent}); send the data as a .csv file in input.files "
        '([{"name": "sales.csv", "content": "<csv text>"}]) or inline as input.csv. ' + CAN_DO
    )


def _match(wanted: str, names: list[str]) -> str | None:
    exact = [n for n in names if n == wanted]
    folded = [n for n in names if n.lower() == wanted.strip().lower()]
    return next(iter(exact or folded), None)


def focus_column(params: CsvAnalystInput, loaded: dict[str, Any]) -> str | None:
    """The numeric column `params.column` names; raises `Decline` when there is no such column."""
    if not params.column:
        return None
    numeric = [c["name"] for c in loaded["columns"] if c["kind"] == "numeric"]
    found = _match(params.column, numeric)
    if found is None:
        raise Decline(f"column {params.column!r} is not a numeric column; use one of {numeric}")
    return found


def needs_measure(query: Query) -> bool:
    """Whether the answer is about one measure (outliers, correlations, counts are not)."""
    if query["kind"] in ("anomalies", "correlation"):
        return False
    counting = query["aggregate"] in ("count", "distinct", "missing")
    return not (counting and not query["measures"])


def resolve_target(
    params: CsvAnalystInput, query: Query, goal: str, feedback: str | None, loaded: dict[str, Any]
) -> tuple[str | None, str]:
    """The measure to focus on without asking, and a note saying how it was chosen.

    Returns (None, "") when the consumer should be asked: the question needs a measure, the
    goal names none of several, and the run is interactive (a broad overview asks only for
    an empty goal).
    """
    candidates: list[str] = loaded["measures"]
    if chosen := focus_column(params, loaded):
        return chosen, ""
    if feedback and (named := mentioned(feedback, candidates)):
        return named[0], f"Following the reviewer's feedback, I analysed {named[0]}."
    if query["measures"]:
        return query["measures"][0], ""
    if len(candidates) == 1:
        return candidates[0], ""
    if not candidates:
        return None, ""  # the answer says there is nothing to measure
    chosen = plausible_measure(candidates)
    if not needs_measure(query):
        return chosen, ""
    broad = query["kind"] == "overview" and goal.strip()
    if params.interactive and not broad:
        return None, ""
    others = ", ".join(c for c in candidates if c != chosen)
    note = f"The goal named no column, so I analysed {chosen}, the most plausible measure"
    return chosen, f"{note} (others: {others})."


def selection(query: Query) -> str:
    """The goal's filters and periods in words: "region East, 2023"."""
    parts = [f"{column} {' or '.join(values)}" for column, values in query["filters"].items()]
    parts += [f"{column} not {' or '.join(values)}" for column, values in query["exclude"].items()]
    parts += [window["label"] for window in query["windows"]]
    return ", ".join(parts)


@agent(
    "csv-analyst",
    version="1.2.0",
    description=DESCRIPTION,
    capabilities=["data-analysis", "csv", "statistics", "charts"],
    input_schema=CsvAnalystInput,
    price="0.02",
    sla=SLA(expected_seconds=5, max_seconds=120),
    models=["default"],
    models_required=False,
)
async def csv_analyst(ctx: Context) -> dict[str, Any]:
    """Answer the goal about one CSV; deliver the answer, its result, outliers and charts."""
    params: CsvAnalystInput = ctx.input
    source, text = pick_csv(params, ctx.goal)
    if problem := table_problem(text):
        raise Decline(
            f"{source} is not a CSV table I can analyse: {problem}. Send a CSV with a header "
            f"row of column names and one record per line. {CAN_DO}"
        )
    top, outlier_limit, chart_limit = LIMITS.get(ctx.profile, LIMITS["balanced"])
    await ctx.plan(PLAN)
    loaded = await ctx.step("load", analysis.load, text)
    focus_column(params, loaded)
    query, reading = await read_goal_with_model(ctx, loaded)
    target, note = resolve_target(params, query, ctx.goal, ctx.feedback, loaded)
    if target is None and loaded["measures"]:
        options = loaded["measures"]
        reply = await ctx.ask(
            f"Which column should I analyse? The goal names none of the numeric columns: "
            f"{', '.join(options)}.",
            schema={"type": "string", "enum": options},
        )
        target = _match(str(reply), options)
        if target is None:
            raise Decline(f"the answer {reply!r} is not one of the columns {options}")
        note = f"You chose {target}."
    focus = analysis.choose_focus(loaded, f"{ctx.goal} {ctx.feedback or ''}", target)
    if reading["by"] == "model" and query["group"]:
        focus["group"] = query["group"]  # the rules find it in the goal's words; the model named it
    if not await ctx.step("select", analysis.selected_rows, text, query, focus["time"]):
        raise Decline(
            f"No row of {source} matches {selection(query)}: ask about values and periods "
            f"the file holds. {CAN_DO}"
        )
    columns = len(loaded["columns"])
    await ctx.progress(0.15, f"loaded {loaded['rows']} rows x {columns} columns")
    profiles = await ctx.step("profile", analysis.profile_columns, text, top)
    await ctx.progress(0.35, f"profiled {columns} columns")
    found = await ctx.step("outliers", analysis.find_anomalies, text, outlier_limit, focus["group"])
    await ctx.progress(0.5, f"found {len(found['flagged'])} outliers")
    answer = await ctx.step("answer", analysis.answer_goal, text, query, focus, found)
    await ctx.progress(0.65, "answered the goal")
    specs = await ctx.step("charts", analysis.chart_specs, text, focus, answer, chart_limit)
    for spec in specs:
        await ctx.artifact(spec["file"], render(spec), media_type="image/png")
    charts = [spec["file"] for spec in specs]
    await ctx.progress(0.85, f"drew {len(charts)} charts")
    summary = summarize(source, loaded, found)
    report = await ctx.step(
        "report",
        write_report,
        source=source,
        goal=ctx.goal,
        feedback=ctx.feedback,
        summary=summary,
        answer=answer,
        note=note,
        profiles=profiles,
        found=found,
        charts=charts,
    )
    await ctx.artifact("report.md", report, media_type="text/markdown")
    await ctx.progress(1.0, "report written")
    return {
        "answer": f"{answer['answer']} {note}".strip(),
        "result": answer["result"],
        "query": query,
        "goal_reading": reading,
        "summary": summary,
        "source": source,
        "target": target,
        "focus": {k: focus[k] for k in ("group", "time")},
        "columns": profiles,
        "anomalies": found["anomalies"],
        "correlations": found["correlations"],
        "growth": answer["growth"],
        "charts": charts,
        "report": "report.md",
    }
