"""csv-analyst and doc-digest with a model configured: the model maps a free-form goal onto
the questions the agents compute, every mapping is checked against the table or the goal,
and the figures still come from the deterministic code. Without a model nothing changes
(the other tests of these agents run without one)."""

from __future__ import annotations

from typing import Any

from bureau.agents import csv_analyst, doc_digest
from bureau.agents._csv_analysis import load
from bureau.agents._csv_mapping import CsvGoalMapping, Unmappable, mapped_query
from bureau.testing import ScriptedModel, run_agent, tool_call
from tests.unit.agents.sample_data import HEAT_PUMPS_MD, sales_csv

FREE_FORM = "How did the eastern territory do on takings over the first quarter?"
EAST_Q1 = {
    "answerable": True,
    "kind": "aggregate",
    "measures": ["revenue"],
    "aggregate": "sum",
    "filters": {"region": ["east"]},
    "periods": [{"start": "2024-01", "end": "2024-03"}],
}


def mapping(**fields: Any) -> Any:
    return tool_call("final_result", **fields)


def sales() -> dict[str, Any]:
    return {"files": [{"name": "sales.csv", "content": sales_csv()}]}


def memo() -> dict[str, Any]:
    return {"files": [{"name": "heat-pumps.md", "content": HEAT_PUMPS_MD}]}


async def test_csv_a_free_form_goal_is_mapped_by_the_model_and_computed_by_the_rules() -> None:
    without = await run_agent(csv_analyst, FREE_FORM, sales())
    assert without.status == "rejected"  # the rules alone cannot read it
    model = ScriptedModel(mapping(**EAST_Q1))
    result = await run_agent(csv_analyst, FREE_FORM, sales(), models={"default": model})
    assert result.status == "completed", result.error
    assert result.deliverable["goal_reading"] == {"by": "model"}
    query = result.deliverable["query"]
    assert query["filters"] == {"region": ["East"]}  # the table's own spelling
    assert query["windows"] == [{"label": "Q1 2024", "start": [2024, 1], "end": [2024, 3]}]
    # the same figure as the rules compute for the same question in their words
    rules = await run_agent(csv_analyst, "total revenue of East in Q1 2024", sales())
    assert result.deliverable["result"] == rules.deliverable["result"]
    # East: 900 in January, 900 * 1.08 in February; March's 9,500 is the flagged outlier
    assert result.deliverable["result"]["value"] == 900 + 972
    assert result.deliverable["result"]["value_with_outliers"] == 900 + 972 + 9500
    prompt = str(model.requests[0][0].parts[0].content)  # type: ignore[attr-defined]
    assert "region (categorical): East, North, South, West" in prompt
    assert "The last period in the table is 2024-06." in prompt and FREE_FORM in prompt


async def test_csv_a_mapping_naming_what_the_table_lacks_falls_back_to_the_rules() -> None:
    invented = mapping(**{**EAST_Q1, "measures": ["profit"]})
    readable = await run_agent(
        csv_analyst,
        "total revenue of East in Q1 2024",
        sales(),
        models={"default": ScriptedModel(invented)},
    )
    assert readable.status == "completed"
    reading = readable.deliverable["goal_reading"]
    assert reading["by"] == "rules" and "'profit'" in reading["model_mapping_rejected"]
    unreadable = await run_agent(
        csv_analyst,
        FREE_FORM,
        sales(),
        models={"default": ScriptedModel(mapping(**{**EAST_Q1, "filters": {"region": ["Mars"]}}))},
    )
    assert unreadable.status == "rejected"  # the rules decline; no guess is computed


async def test_csv_a_model_that_never_fits_the_format_leaves_the_goal_to_the_rules() -> None:
    misfit = mapping(**{**EAST_Q1, "kind": "pie-chart"})
    model = ScriptedModel(misfit, misfit)
    result = await run_agent(
        csv_analyst, "total revenue of East in Q1 2024", sales(), models={"default": model}
    )
    assert result.status == "completed" and model.calls == 2
    assert result.deliverable["goal_reading"]["by"] == "rules"
    assert "model_failed" in result.deliverable["goal_reading"]


async def test_csv_a_goal_the_model_finds_beyond_the_analyses_is_declined_with_its_reason() -> None:
    refusal = mapping(answerable=False, reason="It asks for the weather on sales days")
    result = await run_agent(
        csv_analyst,
        "Was it sunny when the eastern territory sold best?",
        sales(),
        models={"default": ScriptedModel(refusal)},
    )
    assert result.status == "rejected"
    assert (result.error or "").startswith("It asks for the weather on sales days.")


async def test_csv_out_of_scope_and_empty_goals_never_reach_the_model() -> None:
    model = ScriptedModel()
    why = await run_agent(csv_analyst, "Why did East grow?", sales(), models={"default": model})
    assert why.status == "rejected" and "explain causes" in (why.error or "")
    overview = await run_agent(
        csv_analyst, "", {**sales(), "interactive": False}, models={"default": model}
    )
    assert overview.status == "completed"
    assert overview.deliverable["goal_reading"] == {"by": "rules"}
    assert model.calls == 0


def test_csv_a_mapping_is_checked_against_the_table() -> None:
    loaded = load(sales_csv())
    good = mapped_query(CsvGoalMapping(**EAST_Q1), loaded)
    assert good["measures"] == ["revenue"] and good["horizon"] == 3
    bad = [
        {"measures": ["region"]},  # not a measure
        {"group": "month"},  # not a text column
        {"aggregate": "variance"},
        {"periods": [{"start": "2024-05", "end": "2024-02"}]},
        {"periods": [{"start": "spring", "end": "2024-02"}]},
        {"kind": "forecast", "horizon": 40},
        {"limit": 0},
        {"aggregate": "distinct", "count_of": "colour"},
    ]
    for change in bad:
        try:
            mapped_query(CsvGoalMapping(**{**EAST_Q1, **change}), loaded)
        except Unmappable:
            continue
        raise AssertionError(f"accepted {change}")
    timeless = load("team,score\nA,1\nB,2\nC,3\n")
    try:
        mapped_query(CsvGoalMapping(answerable=True, kind="growth"), timeless)
    except Unmappable as exc:
        assert "no date" in str(exc)
    else:
        raise AssertionError("growth on a table without time was accepted")


async def test_doc_a_free_form_goal_is_mapped_onto_a_request_the_text_answers() -> None:
    goal = "I'd like every spot where subsidies come up"
    without = await run_agent(doc_digest, goal, memo())
    assert without.status == "rejected"
    model = ScriptedModel(mapping(answerable=True, kind="mentions", subject="subsidies"))
    result = await run_agent(doc_digest, goal, memo(), models={"default": model})
    assert result.status == "completed", result.error
    assert result.deliverable["goal_reading"] == {"by": "model"}
    assert result.deliverable["result"]["kind"] == "mentions"
    rules = await run_agent(doc_digest, "find mentions of subsidies", memo())
    assert result.deliverable["result"] == rules.deliverable["result"]
    prompt = str(model.requests[0][0].parts[0].content)  # type: ignore[attr-defined]
    assert "- heat-pumps.md (Heat pumps in cold climates)" in prompt


async def test_doc_a_subject_not_in_the_goal_is_set_aside_for_the_rules() -> None:
    invented = mapping(answerable=True, kind="about", subject="nuclear power")
    result = await run_agent(
        doc_digest,
        "What does it say about costs?",
        memo(),
        models={"default": ScriptedModel(invented)},
    )
    assert result.status == "completed"
    reading = result.deliverable["goal_reading"]
    assert reading["by"] == "rules" and "not in the goal" in reading["model_mapping_rejected"]
    assert result.deliverable["result"]["kind"] == "about"


async def test_doc_a_refusal_declines_and_out_of_scope_goals_never_reach_the_model() -> None:
    refusal = mapping(answerable=False, reason="it asks for a rhyme about the text")
    refused = await run_agent(
        doc_digest,
        "Sing me the gist as a ballad",
        memo(),
        models={"default": ScriptedModel(refusal)},
    )
    assert refused.status == "rejected"
    assert "doc-digest cannot do this: it asks for a rhyme about the text." in (refused.error or "")
    model = ScriptedModel()
    translate = await run_agent(
        doc_digest, "Translate it into French", memo(), models={"default": model}
    )
    assert translate.status == "rejected" and model.calls == 0
