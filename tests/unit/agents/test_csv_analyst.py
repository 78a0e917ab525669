"""csv-analyst end to end through `bureau.testing.run_agent`."""

from __future__ import annotations

from typing import Any

import orjson

from bureau.agents import csv_analyst
from bureau.testing import RunResult, run_agent
from tests.unit.agents.sample_data import outlier_row, read_png, sales_csv


def sales_input(**extra: Any) -> dict[str, Any]:
    files = [{"name": "sales.csv", "content": sales_csv(), "media_type": "text/csv"}]
    return {"files": files, **extra}


def step_names(result: RunResult) -> list[str]:
    return [data["name"] for kind, data in result.events if kind == "step.completed"]


async def test_the_fastest_growing_region_is_found_without_a_question() -> None:
    result = await run_agent(csv_analyst, "Which region grew fastest in revenue?", sales_input())
    assert result.status == "completed", result.error
    assert "question" not in result.event_types()
    deliverable = result.deliverable
    assert deliverable["answer"].startswith("West grew fastest in revenue: +101.1%")
    assert deliverable["target"] == "revenue"
    assert deliverable["focus"] == {"group": "region", "time": "month"}
    assert [g["group"] for g in deliverable["growth"]] == ["West", "East", "North", "South"]
    assert step_names(result) == [
        "load",
        "select",
        "profile",
        "outliers",
        "answer",
        "charts",
        "report",
    ]
    assert result.event_types()[0] == "plan" and "progress" in result.event_types()
    orjson.dumps(deliverable)  # the deliverable is JSON


async def test_the_injected_outlier_is_reported_with_its_row() -> None:
    result = await run_agent(csv_analyst, "Find unusual revenue values", sales_input())
    anomalies = result.deliverable["anomalies"]
    revenue = [a for a in anomalies if a["column"] == "revenue"]
    assert [(a["row"], a["value"]) for a in revenue] == [(outlier_row(), 9500.0)]
    assert f"row {outlier_row()}" in result.deliverable["answer"]
    report = result.artifacts["report.md"].decode()
    assert "## Outliers" in report and "region=East, month=2024-03" in report


async def test_charts_are_real_pngs_listed_in_the_report() -> None:
    result = await run_agent(csv_analyst, "Which region grew fastest in revenue?", sales_input())
    charts = result.deliverable["charts"]
    assert charts == [
        "chart-revenue-growth-by-region.png",
        "chart-revenue-trend.png",
        "chart-revenue-distribution.png",
    ]
    for name in charts:
        width, height, _ = read_png(result.artifacts[name])
        assert (width, height) == (800, 480)
        assert f"![{name}]({name})" in result.artifacts["report.md"].decode()
    media = {d["name"]: d["media_type"] for kind, d in result.events if kind == "artifact"}
    assert media[charts[0]] == "image/png" and media["report.md"] == "text/markdown"


async def test_an_ambiguous_goal_asks_which_column_then_uses_the_reply() -> None:
    waiting = await run_agent(csv_analyst, "Which region grew fastest?", sales_input())
    assert waiting.status == "input-required"
    assert waiting.question is not None
    assert waiting.question["schema"] == {"type": "string", "enum": ["revenue", "units"]}
    assert "Which column" in waiting.question["text"]

    done = await run_agent(
        csv_analyst, "Which region grew fastest?", sales_input(), replies=["revenue"]
    )
    assert done.status == "completed", done.error
    assert done.deliverable["target"] == "revenue"
    assert done.deliverable["answer"].startswith("West grew fastest in revenue")
    assert "You chose revenue." in done.deliverable["answer"]
    assert step_names(done).count("load") == 1  # journaled before the question, not re-run


async def test_the_reply_decides_the_column() -> None:
    done = await run_agent(csv_analyst, "", sales_input(), replies=["units"])
    assert done.status == "completed", done.error
    assert done.deliverable["target"] == "units"
    assert done.deliverable["answer"].startswith("units: total")


async def test_non_interactive_runs_pick_the_plausible_column_and_say_so() -> None:
    result = await run_agent(
        csv_analyst, "Which region grew fastest?", sales_input(interactive=False)
    )
    assert result.status == "completed" and "question" not in result.event_types()
    assert result.deliverable["target"] == "revenue"
    assert "the most plausible measure" in result.deliverable["answer"]


async def test_a_column_in_the_input_is_used_without_asking() -> None:
    result = await run_agent(csv_analyst, "Which region grew fastest?", sales_input(column="units"))
    assert result.deliverable["target"] == "units"
    assert result.deliverable["answer"].startswith("West grew fastest in units")


async def test_an_unknown_column_is_declined_with_the_columns_to_choose_from() -> None:
    result = await run_agent(csv_analyst, "x", sales_input(column="profit"))
    assert result.status == "rejected"
    assert result.error is not None and "'revenue', 'units'" in result.error


async def test_feedback_naming_a_column_redirects_the_redo() -> None:
    result = await run_agent(
        csv_analyst,
        "Which region grew fastest?",
        sales_input(),
        feedback="use units, not revenue",
    )
    assert result.status == "completed" and "question" not in result.event_types()
    assert result.deliverable["target"] == "units"
    report = result.artifacts["report.md"].decode()
    assert "## Reviewer feedback" in report and "use units, not revenue" in report


async def test_inline_csv_with_semicolons_is_accepted() -> None:
    result = await run_agent(
        csv_analyst, "Which region has the highest revenue?", {"csv": sales_csv(";")}
    )
    assert result.status == "completed", result.error
    assert result.deliverable["source"] == "input.csv"
    assert "has the highest total revenue among region values" in result.deliverable["answer"]
    assert result.deliverable["charts"][0] == "chart-revenue-by-region.png"


async def test_input_without_a_csv_is_declined_saying_what_to_send() -> None:
    result = await run_agent(csv_analyst, "x", {"files": [{"name": "a.md", "content": "# Hi"}]})
    assert result.status == "rejected" and result.executions == 1
    assert result.error is not None and "input.csv" in result.error and "a.md" in result.error
    assert result.event_types() == []  # declined before the plan: nothing was done
    empty = await run_agent(csv_analyst, "x", {})
    assert empty.status == "rejected" and "no CSV" in (empty.error or "")


async def test_a_header_only_csv_is_declined_without_retrying() -> None:
    result = await run_agent(csv_analyst, "total revenue", {"csv": "region,revenue\n"})
    assert result.status == "rejected" and result.executions == 1
    assert "at least one data row" in (result.error or "")


async def test_correlation_goals_are_answered_without_asking() -> None:
    result = await run_agent(csv_analyst, "How are the columns correlated?", sales_input())
    assert result.status == "completed" and "question" not in result.event_types()
    assert "strongest correlation is between revenue and units" in result.deliverable["answer"]


async def test_the_fast_profile_draws_fewer_charts() -> None:
    result = await run_agent(
        csv_analyst, "Which region grew fastest in revenue?", sales_input(), profile="fast"
    )
    assert len(result.deliverable["charts"]) == 2


async def test_a_csv_exported_as_txt_is_still_found() -> None:
    result = await run_agent(
        csv_analyst,
        "Which region grew fastest in revenue?",
        {
            "files": [
                {"name": "notes.md", "content": "# x"},
                {"name": "export.txt", "content": sales_csv()},
            ]
        },
    )
    assert result.status == "completed", result.error
    assert result.deliverable["source"] == "export.txt"


async def test_a_goal_about_every_column_is_answered_without_asking() -> None:
    result = await run_agent(csv_analyst, "Describe all columns", sales_input())
    assert result.status == "completed" and "question" not in result.event_types()
    assert [c["name"] for c in result.deliverable["columns"]] == [
        "region",
        "month",
        "revenue",
        "units",
    ]
    revenue = result.deliverable["columns"][2]
    assert revenue["count"] == 24 and revenue["max"] == 9500.0 and revenue["min"] == 800.0


async def test_a_csv_without_numbers_gets_counts_instead_of_statistics() -> None:
    csv_text = "team,color\na,red\nb,blue\nc,red\nd,green\ne,red\n"
    result = await run_agent(csv_analyst, "", {"csv": csv_text})
    assert result.status == "completed", result.error
    assert result.deliverable["target"] is None
    assert "most frequent color values are red (3)" in result.deliverable["answer"]
    assert result.deliverable["charts"] == ["chart-color-counts.png"]
    read_png(result.artifacts["chart-color-counts.png"])
