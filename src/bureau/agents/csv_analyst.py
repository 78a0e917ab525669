"""`csv-analyst`: statistics, outliers, group growth, PNG charts and a report from one CSV.

Uses the standard library only (no LLM, no network). It asks which column to analyse when
the goal could mean several numeric columns and names none, unless `interactive` is false.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from bureau import SLA, Context, Fatal, agent
from bureau.agents import _csv_analysis as analysis
from bureau.agents._charts import render
from bureau.agents._csv_goal import mentioned, needs_question, plausible_measure
from bureau.agents._csv_report import summarize, write_report
from bureau.agents._inputs import InputFile, kind_of, looks_tabular

PLAN = [
    "load the CSV and detect column types",
    "profile every column",
    "find outliers and correlations",
    "answer the goal",
    "draw charts",
    "write the report",
]
# per profile: top values listed per column, outliers kept, charts drawn
LIMITS = {"fast": (3, 10, 2), "balanced": (5, 20, 3), "thorough": (10, 50, 3)}


class CsvAnalystInput(BaseModel):
    """Send the CSV as a file or inline; optionally name the column to analyse."""

    csv: str | None = Field(default=None, description="the CSV text, header row first")
    files: list[InputFile] = Field(
        default_factory=list, description="files; the first .csv (or CSV-like) one is analysed"
    )
    column: str | None = Field(
        default=None, description="the numeric column to focus on (no question is asked)"
    )
    interactive: bool = Field(
        default=True, description="false: never ask; pick the most plausible column and say so"
    )


def pick_csv(params: CsvAnalystInput, goal: str) -> tuple[str, str]:
    """The (name, text) of the CSV to analyse; raises `Fatal` when the input holds none."""
    data = [f for f in params.files if kind_of(f) == "data" and f.content.strip()]
    data = data or [f for f in params.files if looks_tabular(f.content)]  # e.g. a .txt export
    if data:
        named = [f for f in data if f.name.lower() in goal.lower()]
        chosen = (named or data)[0]
        return chosen.name, chosen.content
    if params.csv and params.csv.strip():
        return "input.csv", params.csv
    sent = ", ".join(f.name for f in params.files) or "no file"
    raise Fatal(
        f"no CSV to analyse (received {sent}); send the data as a .csv file in input.files "
        '([{"name": "sales.csv", "content": "<csv text>"}]) or inline as input.csv'
    )


def _match(wanted: str, names: list[str]) -> str | None:
    exact = [n for n in names if n == wanted]
    folded = [n for n in names if n.lower() == wanted.strip().lower()]
    return next(iter(exact or folded), None)


def resolve_target(
    params: CsvAnalystInput, goal: str, feedback: str | None, loaded: dict[str, Any]
) -> tuple[str | None, str]:
    """The measure to focus on without asking, and a note saying how it was chosen.

    Returns (None, "") when the consumer should be asked; raises `Fatal` for an unknown
    `column`.
    """
    candidates: list[str] = loaded["measures"]
    numeric = [c["name"] for c in loaded["columns"] if c["kind"] == "numeric"]
    if params.column:
        found = _match(params.column, numeric)
        if found is None:
            raise Fatal(f"column {params.column!r} is not a numeric column; use one of {numeric}")
        return found, ""
    if feedback and (named := mentioned(feedback, candidates)):
        return named[0], f"Following the reviewer's feedback, I analysed {named[0]}."
    if named := mentioned(goal, candidates):
        return named[0], ""
    if len(candidates) == 1:
        return candidates[0], ""
    if not candidates:
        return None, ""  # the answer says there is nothing to measure
    if not params.interactive or not needs_question(goal, candidates):
        chosen = plausible_measure(candidates)
        others = ", ".join(c for c in candidates if c != chosen)
        note = f"The goal named no column, so I analysed {chosen}, the most plausible measure"
        return chosen, f"{note} (others: {others})."
    return None, ""


@agent(
    "csv-analyst",
    version="1.0.0",
    description="CSV statistics, outliers, correlations, group growth, PNG charts, a report",
    capabilities=["data-analysis", "csv", "statistics", "charts"],
    input_schema=CsvAnalystInput,
    price="0.02",
    sla=SLA(expected_seconds=5, max_seconds=120),
)
async def csv_analyst(ctx: Context) -> dict[str, Any]:
    """Analyse one CSV for the goal; deliver the answer, profiles, outliers and charts."""
    params: CsvAnalystInput = ctx.input
    source, text = pick_csv(params, ctx.goal)
    top, outlier_limit, chart_limit = LIMITS.get(ctx.profile, LIMITS["balanced"])
    await ctx.plan(PLAN)
    loaded = await ctx.step("load", analysis.load, text)
    target, note = resolve_target(params, ctx.goal, ctx.feedback, loaded)
    if target is None and loaded["measures"]:
        options = loaded["measures"]
        reply = await ctx.ask(
            f"Which column should I analyse? The goal names none of the numeric columns: "
            f"{', '.join(options)}.",
            schema={"type": "string", "enum": options},
        )
        target = _match(str(reply), options)
        if target is None:
            raise Fatal(f"the answer {reply!r} is not one of the columns {options}")
        note = f"You chose {target}."
    columns = len(loaded["columns"])
    await ctx.progress(0.15, f"loaded {loaded['rows']} rows x {columns} columns")
    profiles = await ctx.step("profile", analysis.profile_columns, text, top)
    await ctx.progress(0.35, f"profiled {columns} columns")
    focus = analysis.choose_focus(loaded, f"{ctx.goal} {ctx.feedback or ''}", target)
    found = await ctx.step("outliers", analysis.find_anomalies, text, outlier_limit, focus["group"])
    await ctx.progress(0.5, f"found {len(found['anomalies'])} outliers")
    answer = await ctx.step("answer", analysis.answer_goal, text, focus, found)
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
