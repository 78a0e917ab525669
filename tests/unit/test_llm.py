"""`ctx.llm` in process, with scripted pydantic-ai models: the tool loop, journaling and
replay, fallback, structured output, metering."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from pydantic import BaseModel

from bureau import Context, agent
from bureau.errors import UsageError
from bureau.llm.registry import cost_of
from bureau.llm.settings import ModelSpec, Price
from bureau.testing import ScriptedModel, run_agent, said, tool_call


def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


@agent("llm-adder", models=["main"])
async def adder(ctx: Context) -> Any:
    return (await ctx.llm.chat(ctx.goal, tools=[add], ask=True)).output


async def test_a_tool_loop_is_journaled_and_replayed_without_calling_the_model_again() -> None:
    def script() -> ScriptedModel:
        return ScriptedModel(
            tool_call("add", a=2, b=3),
            tool_call("ask_human", question="Words or digits?"),
            said("five", 20, 1),
        )

    waiting = script()
    asked = await run_agent(adder, "2+3?", models={"main": waiting})
    assert asked.status == "input-required" and asked.question is not None
    assert asked.question["text"] == "Words or digits?"
    assert waiting.calls == 2
    answered = script()
    done = await run_agent(adder, "2+3?", models={"main": answered}, replies=["words"])
    assert done.status == "completed" and done.deliverable == "five"
    # after the answer the run replayed model calls 1 and 2 from the journal: 3 calls, not 5
    assert done.executions == 2 and answered.calls == 3
    names = [e[1]["name"] for e in done.events if e[0] == "step.completed"]
    assert names[:3] == ["llm#1", "tool:add#1", "llm#2"]
    completed = {e[1]["name"]: e[1] for e in done.events if e[0] == "step.completed"}
    assert "result" not in completed["llm#1"]  # the completion is not in the event
    assert completed["tool:add#1"]["result"] == 5
    usage = [a["usage"] for a in done.model_calls[-3:]]
    assert [u["input_tokens"] for u in usage] == [10, 10, 20]


@agent("llm-fallback", models={"balanced": ["first", "second"], "fast": ["second"]})
async def fallback(ctx: Context) -> Any:
    return (await ctx.llm.chat(ctx.goal)).output


async def test_a_failing_model_falls_back_to_the_next_and_both_attempts_are_recorded() -> None:
    first = ScriptedModel(RuntimeError("overloaded"))
    second = ScriptedModel(said("from second"), said("from second"))
    models = {"first": first, "second": second}
    result = await run_agent(fallback, "hi", models=models)
    assert result.status == "completed" and result.deliverable == "from second"
    assert [a["model"] for a in result.model_calls] == ["first", "second"]
    assert "overloaded" in result.model_calls[0]["error"]
    assert "usage" not in result.model_calls[0]
    fast = await run_agent(fallback, "hi", models=models, profile="fast")
    assert fast.deliverable == "from second" and first.calls == 1  # fast skips `first`


class Verdict(BaseModel):
    label: str
    confidence: float


@agent("llm-structured", models=["main"])
async def structured(ctx: Context) -> Any:
    verdict = (await ctx.llm.chat(ctx.goal, output=Verdict)).output
    assert isinstance(verdict, Verdict)
    return verdict.model_dump()


async def test_structured_output_is_an_instance_of_the_output_type() -> None:
    answer = tool_call("final_result", label="billing", confidence=0.9)
    result = await run_agent(structured, "classify", models={"main": ScriptedModel(answer)})
    assert result.deliverable == {"label": "billing", "confidence": 0.9}


async def test_an_agent_without_models_or_provider_fails_clearly() -> None:
    @agent("llm-nameless")
    async def nameless(ctx: Context) -> Any:
        return await ctx.llm.chat("hi")

    nothing = await run_agent(nameless, "hi", models={"main": ScriptedModel()})
    assert nothing.status == "failed" and "names no model" in (nothing.error or "")
    unconfigured = await run_agent(adder, "hi")
    assert unconfigured.status == "failed"
    assert "no model provider is configured" in (unconfigured.error or "")
    with pytest.raises(UsageError, match="models is a list"):
        agent("llm-bad", models={"slow": ["x"]})


def test_cost_follows_the_price_table_with_cached_input_at_its_own_price() -> None:
    spec = ModelSpec(
        provider="openai",
        model="m",
        price=Price(input="2", output="8", cache_read="0.5"),  # type: ignore[arg-type]
    )
    usage = {"input_tokens": 1_000_000, "cache_read_tokens": 400_000, "output_tokens": 500_000}
    assert cost_of(spec, usage) == Decimal("1.2") + Decimal("0.2") + Decimal("4")
