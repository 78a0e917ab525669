"""brief-writer delegating to csv-analyst and doc-digest, and the demo agents' catalog."""

from __future__ import annotations

import re
from typing import Any

from jsonschema import Draft202012Validator

import bureau.agents
from bureau import Context, Decline, Fatal, RetryPolicy, agent
from bureau.agents import AGENTS, brief_writer, csv_analyst, doc_digest
from bureau.sdk.loader import definitions_in
from bureau.testing import run_agent
from tests.unit.agents.doc_goals_data import UNRELATED_MEMO
from tests.unit.agents.sample_data import GRID_HTML, HEAT_PUMPS_MD, sales_csv

SPECIALISTS = {"csv-analyst": csv_analyst, "doc-digest": doc_digest}


@agent("csv-analyst", version="9.9.9", retry=RetryPolicy(max_attempts=1))
async def broken_analyst(ctx: Context) -> None:
    raise Fatal("the analyst is out of order")


@agent("csv-analyst", version="9.9.8", retry=RetryPolicy(max_attempts=1))
async def declining_analyst(ctx: Context) -> None:
    raise Decline("csv-analyst answers questions about tables, not this one")


CANNED_ANALYSIS = {
    "answer": "West grew fastest in revenue: +101.1%.",
    "summary": "sales.csv: 24 rows x 4 columns.",
    "charts": [],
    "report": "report.md",
}


def section(result: Any, title: str) -> str:
    return str(next(s["content"] for s in result.deliverable["sections"] if s["title"] == title))


def mixed_files(csv_text: str | None = None) -> dict[str, Any]:
    return {
        "files": [
            {"name": "sales.csv", "content": sales_csv() if csv_text is None else csv_text},
            {"name": "heat-pumps.md", "content": HEAT_PUMPS_MD},
            {"name": "grid.html", "content": GRID_HTML, "media_type": "text/html"},
            {"name": "config.json", "content": "{}"},
        ]
    }


async def test_the_brief_delegates_to_both_specialists_in_parallel() -> None:
    result = await run_agent(
        brief_writer, "Which region grew fastest?", mixed_files(), delegates=SPECIALISTS
    )
    assert result.status == "completed", result.error
    # both children were dispatched in the first execution; one more ran after both finished
    assert result.executions == 2
    children = [data for kind, data in result.events if kind == "delegate"]
    assert [c["agent"] for c in children] == ["csv-analyst", "doc-digest"]
    assert children[0]["input"]["interactive"] is False
    assert children[1]["input"]["interactive"] is False
    # the question is about the data (it names a column); the documents are summarised
    assert [c["goal"] for c in children] == [
        "Which region grew fastest?",
        "Summarise the key findings",
    ]
    assert [f["name"] for f in children[0]["input"]["files"]] == ["sales.csv"]
    assert [f["name"] for f in children[1]["input"]["files"]] == ["heat-pumps.md", "grid.html"]

    brief = result.deliverable["brief"]
    assert brief == result.artifacts["brief.md"].decode()
    answer = section(result, "Answer")
    assert answer.startswith("- sales.csv: West grew fastest in revenue")
    assert "Millions of heat pumps add winter peak demand" in answer
    assert "chart-revenue-growth-by-region.png" in brief
    titles = [s["title"] for s in result.deliverable["sections"]]
    assert titles == [
        "Answer",
        "Data: sales.csv",
        "Documents: heat-pumps.md, grid.html",
        "Gaps",
    ]
    assert result.deliverable["sources"] == [
        {"name": "sales.csv", "agent": "csv-analyst", "status": "completed"},
        {"name": "heat-pumps.md", "agent": "doc-digest", "status": "completed"},
        {"name": "grid.html", "agent": "doc-digest", "status": "completed"},
        {"name": "config.json", "agent": None, "status": "skipped"},
    ]


async def test_a_failing_child_becomes_a_gap_in_the_brief() -> None:
    result = await run_agent(
        brief_writer,
        "Brief me",
        mixed_files(),
        delegates={**SPECIALISTS, "csv-analyst": broken_analyst},
    )
    assert result.status == "completed", result.error
    gaps = section(result, "Gaps")
    assert "sales.csv: csv-analyst failed" in gaps
    assert "the analyst is out of order" in gaps
    assert "Not answered from sales.csv: csv-analyst failed" in section(result, "Answer")
    assert "Heat pumps move heat" in result.deliverable["brief"]
    assert {"name": "sales.csv", "agent": "csv-analyst", "status": "failed"} in result.deliverable[
        "sources"
    ]


async def test_a_child_rejecting_its_input_does_not_sink_the_brief() -> None:
    result = await run_agent(
        brief_writer, "Brief me", mixed_files(csv_text="region,revenue\n"), delegates=SPECIALISTS
    )
    assert result.status == "completed", result.error
    assert "at least one data row" in result.deliverable["brief"]


async def test_when_every_child_fails_the_brief_fails() -> None:
    files = {"files": [{"name": "sales.csv", "content": sales_csv()}]}
    result = await run_agent(
        brief_writer, "x", files, delegates={**SPECIALISTS, "csv-analyst": broken_analyst}
    )
    assert result.status == "failed"
    assert "every delegated task failed" in (result.error or "")


async def test_nothing_routable_is_declined_saying_what_to_send() -> None:
    result = await run_agent(
        brief_writer, "x", {"files": [{"name": "a.json", "content": "{}"}]}, delegates=SPECIALISTS
    )
    assert result.status == "rejected" and result.executions == 1
    assert not result.events
    assert "a.json" in (result.error or "") and "input.files" in (result.error or "")


async def test_inline_data_and_text_and_the_column_are_passed_on() -> None:
    result = await run_agent(
        brief_writer,
        "Which region grew fastest?",
        {"csv": sales_csv(), "text": HEAT_PUMPS_MD, "column": "units"},
        delegates=SPECIALISTS,
        feedback="mention units",
    )
    assert result.status == "completed", result.error
    children = [data for kind, data in result.events if kind == "delegate"]
    assert children[0]["input"]["column"] == "units"
    assert children[0]["goal"] == "Which region grew fastest?"
    assert children[1]["goal"].endswith("(reviewer feedback: mention units)")
    assert "West grew fastest in units" in result.deliverable["brief"]
    assert result.deliverable["sections"][0]["title"] == "Reviewer feedback"


async def test_each_specialist_is_asked_its_part_of_the_goal() -> None:
    goal = "Which region grew fastest, and what do the documents say about installation costs?"
    result = await run_agent(brief_writer, goal, mixed_files(), delegates=SPECIALISTS)
    assert result.status == "completed", result.error
    children = [data for kind, data in result.events if kind == "delegate"]
    assert [c["goal"] for c in children] == [
        "Which region grew fastest",
        "what do the documents say about installation costs?",
    ]
    answer = section(result, "Answer").splitlines()
    assert answer[0].startswith("- sales.csv: West grew fastest in revenue")
    assert answer[1].startswith("- heat-pumps.md, grid.html: On installation costs")
    assert "Installation costs between 8,000 and 15,000 euros" in answer[1]
    assert result.deliverable["brief"].index("## Answer") < result.deliverable["brief"].index(
        "## Data: sales.csv"
    )


async def test_a_declining_child_is_a_stated_gap_not_a_silence() -> None:
    files = {
        "files": [
            {"name": "sales.csv", "content": sales_csv()},
            {"name": "memo.txt", "content": UNRELATED_MEMO},
        ]
    }
    result = await run_agent(
        brief_writer,
        "Which region grew fastest? Who won the 2022 world cup?",
        files,
        delegates={"csv-analyst": CANNED_ANALYSIS, "doc-digest": doc_digest},
    )
    assert result.status == "completed", result.error
    answer = section(result, "Answer")
    assert "- sales.csv: West grew fastest in revenue: +101.1%." in answer
    assert "Not answered from memo.txt: doc-digest declined" in answer
    assert "do not answer “Who won the 2022 world cup?”" in answer
    assert "memo.txt: doc-digest declined when asked “Who won the 2022 world cup?”" in section(
        result, "Gaps"
    )
    assert {"name": "memo.txt", "agent": "doc-digest", "status": "rejected"} in (
        result.deliverable["sources"]
    )


async def test_when_every_child_declines_the_brief_declines_with_their_reasons() -> None:
    files = {
        "files": [
            {"name": "sales.csv", "content": sales_csv()},
            {"name": "memo.txt", "content": UNRELATED_MEMO},
        ]
    }
    result = await run_agent(
        brief_writer,
        "Who won the 2022 world cup?",
        files,
        delegates={"csv-analyst": declining_analyst, "doc-digest": doc_digest},
    )
    assert result.status == "rejected"
    error = result.error or ""
    assert "csv-analyst (sales.csv): csv-analyst answers questions about tables" in error
    assert "doc-digest (memo.txt): " in error and "do not answer" in error
    assert "brief.md" not in result.artifacts


async def test_a_goal_no_specialist_serves_is_declined_before_dispatch() -> None:
    result = await run_agent(
        brief_writer, "Write a poem about our sales", mixed_files(), delegates=SPECIALISTS
    )
    assert result.status == "rejected"
    assert "does not write new text" in (result.error or "")
    assert result.executions == 1 and not result.events


def test_the_module_exposes_the_demo_agents_with_valid_schemas() -> None:
    assert [csv_analyst, doc_digest, brief_writer] == AGENTS[:3]
    assert {d.ref for d in definitions_in(bureau.agents)} == {d.ref for d in AGENTS}
    assert {d.name for d in AGENTS} == {
        "csv-analyst",
        "doc-digest",
        "brief-writer",
        "researcher",
        "support-triage",
    }
    for definition in AGENTS:
        entry = definition.catalog_entry()
        assert re.fullmatch(r"\d+\.\d+\.\d+", entry["version"])
        assert entry["description"] and entry["capabilities"]
        assert float(entry["price"]) > 0 and entry["sla"]["expected_seconds"] > 0
        assert entry["input_schema"] is not None
        Draft202012Validator.check_schema(entry["input_schema"])
    schema = csv_analyst.input_schema or {}
    validator = Draft202012Validator(schema)
    assert validator.is_valid({"files": [{"name": "a.csv", "content": "x,y\n1,2"}]})
    assert validator.is_valid({"csv": "x\n1", "column": "x", "interactive": False})
    assert not validator.is_valid({"files": [{"name": "a.csv"}]})
