"""`brief-writer`: an orchestrator that asks csv-analyst and doc-digest the goal, in parallel.

Each CSV goes to its own `csv-analyst` task and all documents go to one `doc-digest` task,
both non-interactive (a child never waits on a question nobody will see); the children run
at the same time. Each child is asked the part of the goal that concerns it: a clause that
names a CSV column or speaks of data ("which region grew fastest?") goes to csv-analyst, one
about the documents ("what does the memo say about costs?") to doc-digest, the rest to both;
a child with no part of its own is asked for its key findings. On a redo the reviewer's
feedback goes with doc-digest's goal (its words weigh in the summary). The brief opens with the
children's answers; a child that declined or failed is a stated gap. When every child
declines, so does the brief; when none completes, it fails.
"""

from __future__ import annotations

import asyncio
import csv
import io
import re
from typing import Any

from pydantic import BaseModel, Field

from bureau import SLA, Context, Decline, DelegationFailed, Fatal, agent
from bureau.agents._brief import assemble, reason_of
from bureau.agents._doc_goal import out_of_scope
from bureau.agents._inputs import InputFile, kind_of

MAX_DATA_FILES = 5
BROAD_GOAL = "Summarise the key findings"
DATA_WORDS = frozenset(
    """grew grow growth growing fastest slowest trend average mean median total sum outlier
    anomaly anomalies correlation correlate correlated column row highest lowest top bottom
    rank ranking forecast increase decrease decline data dataset csv table spreadsheet
    chart plot revenue sales figures""".split()
)
DOCUMENT_WORDS = frozenset(
    """document documents doc docs memo report notes text say says said mention mentions
    mentioned summary summarise summarize article page action items dates names questions
    outline phrases headings quote quotes written writes""".split()
)
CLAUSE_BREAK = re.compile(
    r"(?<=[?.!;])\s+|,?\s+(?:and|also|then|plus)\s+(?=(?:what|which|who|how|when|where|why|"
    r"list|find|summari[sz]e|give|show|tell|compare|is|are|does|do)\b)",
    re.IGNORECASE,
)


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


def _words(text: str) -> set[str]:
    found = re.findall(r"[a-z0-9]+", text.lower())
    return set(found) | {w[:-1] for w in found if len(w) > 3 and w.endswith("s")}


def header_words(data: list[InputFile]) -> set[str]:
    """The words of the CSV files' column names ("unit_price" -> unit, price)."""
    found: set[str] = set()
    for file in data:
        first = next(csv.reader(io.StringIO(file.content.lstrip())), [])
        found |= {w for cell in first for w in _words(cell) if len(w) > 2}
    return found


def split_goal(goal: str, columns: set[str]) -> dict[str, str]:
    """The part of the goal for the data and the part for the documents.

    Clauses that name a column or data words go to the data, clauses with document words
    to the documents, the others to both; a side with no clause gets `BROAD_GOAL`.
    """
    parts: dict[str, list[str]] = {"data": [], "documents": []}
    for clause in filter(None, (c.strip() for c in CLAUSE_BREAK.split(goal))):
        words = _words(clause)
        about_data = bool(words & (DATA_WORDS | columns))
        about_documents = bool(words & DOCUMENT_WORDS)
        if about_data or not about_documents:
            parts["data"].append(clause)
        if about_documents or not about_data:
            parts["documents"].append(clause)
    return {side: " ".join(clauses) or BROAD_GOAL for side, clauses in parts.items()}


def child_tasks(
    params: BriefWriterInput, routes: dict[str, list[Any]], goal: str, feedback: str | None
) -> list[tuple[str, str, dict[str, Any]]]:
    """(agent, goal, input) of each child task to dispatch."""
    files = params.files
    data = [files[i] for i in routes["data"]]
    if params.csv and params.csv.strip():
        data.append(InputFile(name="input.csv", content=params.csv, media_type="text/csv"))
    documents = [files[i] for i in routes["documents"]]
    if params.text and params.text.strip():
        documents.append(InputFile(name="input.txt", content=params.text))
    goals = split_goal(goal, header_words(data))
    if feedback:  # csv-analyst parses its goal strictly; it is steered with `column`
        goals["documents"] += f" (reviewer feedback: {feedback})"
    tasks: list[tuple[str, str, dict[str, Any]]] = []
    for file in data:
        child_input: dict[str, Any] = {"files": [file.model_dump()], "interactive": False}
        if params.column:
            child_input["column"] = params.column
        tasks.append(("csv-analyst", goals["data"], child_input))
    if documents:
        child_input = {"files": [f.model_dump() for f in documents], "interactive": False}
        tasks.append(("doc-digest", goals["documents"], child_input))
    return tasks


async def _attempt(
    ctx: Context, agent_name: str, goal: str, child_input: dict[str, Any]
) -> dict[str, Any]:
    names = [f["name"] for f in child_input["files"]]
    outcome: dict[str, Any] = {"agent": agent_name, "inputs": names, "goal": goal}
    try:
        deliverable = await ctx.delegate(agent_name, goal, child_input, profile=ctx.profile)
    except DelegationFailed as exc:
        return {**outcome, "status": exc.status, "error": reason_of(exc.error)}
    return {**outcome, "status": "completed", "deliverable": deliverable}


def _check_outcomes(outcomes: list[dict[str, Any]]) -> None:
    """Decline when every child declined; fail when none completed."""
    if any(o["status"] == "completed" for o in outcomes):
        return
    reasons = "; ".join(f"{o['agent']} ({', '.join(o['inputs'])}): {o['error']}" for o in outcomes)
    if all(o["status"] == "rejected" for o in outcomes):
        raise Decline(f"no specialist could answer this goal from the files sent ({reasons})")
    raise Fatal(f"every delegated task failed ({reasons})")


@agent(
    "brief-writer",
    version="1.1.0",
    description=(
        "A brief that answers the goal from data and documents: asks csv-analyst and "
        "doc-digest in parallel, leads with their answers, states what they could not answer"
    ),
    capabilities=["orchestration", "research-brief"],
    input_schema=BriefWriterInput,
    price="0.05",
    sla=SLA(expected_seconds=15, max_seconds=300),
)
async def brief_writer(ctx: Context) -> dict[str, Any]:
    """Ask the specialists the goal in parallel, then write one brief that answers it."""
    params: BriefWriterInput = ctx.input
    if reason := out_of_scope(ctx.goal, allowed=("arithmetic",)):
        raise Decline(
            f"brief-writer cannot do this: {reason}. It answers "
            "a goal from CSV data (via csv-analyst) and text, markdown or HTML documents "
            "(via doc-digest): findings, figures, what the documents say, with the gaps stated"
        )
    routes = route(params)
    tasks = child_tasks(params, routes, ctx.goal or BROAD_GOAL, ctx.feedback)
    if not tasks:
        skipped = ", ".join(routes["skipped"]) or "nothing"
        raise Decline(
            f"nothing to brief on (received {skipped}); send CSV files and/or text, markdown "
            'or HTML files in input.files ([{"name": "sales.csv", "content": "..."}])'
        )
    await ctx.plan(
        [
            "analyse data (csv-analyst) and digest documents (doc-digest) in parallel",
            "assemble the brief: answers first, then findings and gaps",
        ]
    )
    await ctx.progress(0.1, f"dispatching {len(tasks)} task(s)")
    outcomes = list(await asyncio.gather(*(_attempt(ctx, *task) for task in tasks)))
    _check_outcomes(outcomes)
    await ctx.progress(0.8, f"{sum(o['status'] == 'completed' for o in outcomes)} task(s) done")
    brief = await ctx.step(
        "assemble", assemble, ctx.goal, ctx.feedback, outcomes, routes["skipped"]
    )
    await ctx.artifact("brief.md", brief["brief"], media_type="text/markdown")
    await ctx.progress(1.0, "brief written")
    return {**brief, "report": "brief.md"}
