"""`brief-writer`: an orchestrator that routes files to csv-analyst and doc-digest in parallel.

Each CSV goes to its own `csv-analyst` task (non-interactive, so a child never waits on a
question nobody will see) and all documents go to one `doc-digest` task; the children run
at the same time. A failed child becomes a gap noted in the brief; only when every child
fails does the brief fail.
"""

from __future__ import annotations

import asyncio
from typing import Any

from pydantic import BaseModel, Field

from bureau import SLA, Context, DelegationFailed, Fatal, agent
from bureau.agents._brief import assemble
from bureau.agents._inputs import InputFile, kind_of

MAX_DATA_FILES = 5


class BriefWriterInput(BaseModel):
    """Send files (CSV data and text/markdown/HTML documents), or the same inline."""

    files: list[InputFile] = Field(
        default_factory=list, description="CSV files are analysed, documents digested"
    )
    csv: str | None = Field(default=None, description="CSV text, analysed as input.csv")
    text: str | None = Field(default=None, description="a document's text, digested")
    column: str | None = Field(default=None, description="the numeric column the data is about")


def route(params: BriefWriterInput) -> dict[str, list[Any]]:
    """Which files go where: indices of data and document files, names of skipped ones."""
    data: list[int] = []
    documents: list[int] = []
    skipped: list[str] = []
    for index, file in enumerate(params.files):
        kind = kind_of(file)
        if not file.content.strip() or kind == "unsupported":
            skipped.append(file.name)
        elif kind == "data" and len(data) < MAX_DATA_FILES:
            data.append(index)
        elif kind == "data":
            skipped.append(file.name)
        else:
            documents.append(index)
    return {"data": data, "documents": documents, "skipped": skipped}


def child_tasks(
    params: BriefWriterInput, routes: dict[str, list[Any]], goal: str
) -> list[tuple[str, str, dict[str, Any]]]:
    """(agent, goal, input) of each child task to dispatch."""
    files = params.files
    data = [files[i] for i in routes["data"]]
    if params.csv and params.csv.strip():
        data.append(InputFile(name="input.csv", content=params.csv, media_type="text/csv"))
    documents = [files[i] for i in routes["documents"]]
    if params.text and params.text.strip():
        documents.append(InputFile(name="input.txt", content=params.text))
    tasks: list[tuple[str, str, dict[str, Any]]] = []
    for file in data:
        child_input: dict[str, Any] = {"files": [file.model_dump()], "interactive": False}
        if params.column:
            child_input["column"] = params.column
        tasks.append(("csv-analyst", goal, child_input))
    if documents:
        tasks.append(("doc-digest", goal, {"files": [f.model_dump() for f in documents]}))
    return tasks


async def _attempt(
    ctx: Context, agent_name: str, goal: str, child_input: dict[str, Any]
) -> dict[str, Any]:
    names = [f["name"] for f in child_input["files"]]
    outcome: dict[str, Any] = {"agent": agent_name, "inputs": names}
    try:
        deliverable = await ctx.delegate(agent_name, goal, child_input, profile=ctx.profile)
    except DelegationFailed as exc:
        return {**outcome, "status": exc.status, "error": str(exc.error)}
    return {**outcome, "status": "completed", "deliverable": deliverable}


@agent(
    "brief-writer",
    version="1.0.0",
    description="A research brief from data and documents, by csv-analyst and doc-digest",
    capabilities=["orchestration", "research-brief"],
    input_schema=BriefWriterInput,
    price="0.05",
    sla=SLA(expected_seconds=15, max_seconds=300),
)
async def brief_writer(ctx: Context) -> dict[str, Any]:
    """Delegate the files to the specialists in parallel, then assemble one brief."""
    params: BriefWriterInput = ctx.input
    await ctx.plan(
        [
            "route the files",
            "analyse data (csv-analyst) and digest documents (doc-digest) in parallel",
            "assemble the brief",
        ]
    )
    routes = await ctx.step("route", route, params)
    goal = ctx.goal or "Summarise the key findings"
    if ctx.feedback:
        goal = f"{goal} (reviewer feedback: {ctx.feedback})"
    tasks = child_tasks(params, routes, goal)
    if not tasks:
        skipped = ", ".join(routes["skipped"]) or "nothing"
        raise Fatal(
            f"nothing to brief on (received {skipped}); send CSV files and/or text, markdown "
            'or HTML files in input.files ([{"name": "sales.csv", "content": "..."}])'
        )
    await ctx.progress(0.1, f"dispatching {len(tasks)} task(s)")
    outcomes = list(await asyncio.gather(*(_attempt(ctx, *task) for task in tasks)))
    if all(o["status"] != "completed" for o in outcomes):
        errors = "; ".join(f"{o['agent']}: {o['error']}" for o in outcomes)
        raise Fatal(f"every delegated task failed ({errors})")
    await ctx.progress(0.8, f"{sum(o['status'] == 'completed' for o in outcomes)} task(s) done")
    brief = await ctx.step(
        "assemble", assemble, ctx.goal, ctx.feedback, outcomes, routes["skipped"]
    )
    await ctx.artifact("brief.md", brief["brief"], media_type="text/markdown")
    await ctx.progress(1.0, "brief written")
    return {**brief, "report": "brief.md"}
