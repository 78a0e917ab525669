"""`bureau.llm.adapters` in process: a pydantic-ai agent and an OpenAI Agents SDK agent
published as Bureau agents call their tools through journaled steps, deliver their output,
are metered, and replay their model and tool calls instead of making them again."""

from __future__ import annotations

from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any

import agents
import pydantic_ai
import pytest
from agents.testing import ScriptedModel as AgentsScriptedModel
from agents.testing import assistant_message, function_call
from pydantic import BaseModel
from pydantic_ai.models.openai import OpenAIChatModel
from pydantic_ai.providers.openai import OpenAIProvider

from bureau import Context, agent
from bureau.errors import UsageError
from bureau.llm.adapters import from_openai_agents, from_pydantic_ai
from bureau.llm.openai_agents import decode_response, encode_response
from bureau.sdk.decorator import AgentDefinition
from bureau.testing import OpenAITestServer, ScriptedModel, run_agent, said, tool_call


def steps(events: list[tuple[str, Any]]) -> list[str]:
    return [data["name"] for kind, data in events if kind == "step.completed"]


def crashing_once_after(definition: AgentDefinition) -> tuple[AgentDefinition, list[int]]:
    """`definition`, then a step that fails on its first run: the second execution replays
    the framework's run from the journal."""
    failures: list[int] = []
    run_framework = definition.fn

    def after() -> str:
        if not failures:
            failures.append(1)
            raise RuntimeError("the worker died here")
        return "done"

    async def run(ctx: Context) -> Any:
        output = await run_framework(ctx)
        await ctx.step("after", after)
        return output

    return replace(definition, fn=run), failures


# -- pydantic-ai ---------------------------------------------------------------------------


@dataclass
class Ledger:
    offset: int
    calls: list[tuple[int, int]]


class Sum(BaseModel):
    total: int
    explanation: str


# an agent with its own model (never called), deps, a structured output and an @agent.tool
ledger_agent: pydantic_ai.Agent[Ledger, Sum] = pydantic_ai.Agent(
    "openai:gpt-4.1", deps_type=Ledger, output_type=Sum, defer_model_check=True
)


@ledger_agent.tool
def add(ctx: pydantic_ai.RunContext[Ledger], a: int, b: int) -> int:
    """Add two integers (and the ledger's offset)."""
    ctx.deps.calls.append((a, b))
    return a + b + ctx.deps.offset


async def test_a_pydantic_ai_agent_runs_its_tools_as_steps_and_delivers_its_output() -> None:
    ledger = Ledger(offset=100, calls=[])
    published = from_pydantic_ai(
        ledger_agent, name="ledger", models=["main"], price="0.01", deps=lambda ctx: ledger
    )
    model = ScriptedModel(
        tool_call("add", a=2, b=3),
        tool_call("final_result", input_tokens=30, output_tokens=5, total=105, explanation="ok"),
    )
    result = await run_agent(published, "What is 2 + 3?", {"unit": "eur"}, models={"main": model})
    assert result.status == "completed", result.error
    assert result.deliverable == {"total": 105, "explanation": "ok"}
    assert steps(result.events) == ["llm#1", "tool:add#1", "llm#2"]
    assert ledger.calls == [(2, 3)]  # the agent's own tool ran once, not once per toolset
    prompt = model.requests[0][-1].parts[-1].content
    assert prompt == 'What is 2 + 3?\n\nInput (JSON): {"unit": "eur"}'
    assert [a["usage"]["input_tokens"] for a in result.model_calls] == [10, 30]
    assert published.price == Decimal("0.01") and published.models == {"*": ("main",)}


async def test_a_pydantic_ai_agent_replays_its_model_and_tool_calls_after_a_crash() -> None:
    ledger = Ledger(offset=0, calls=[])
    published, failures = crashing_once_after(
        from_pydantic_ai(ledger_agent, name="ledger", models=["main"], deps=lambda ctx: ledger)
    )
    model = ScriptedModel(
        tool_call("add", a=2, b=3), tool_call("final_result", total=5, explanation="ok")
    )
    result = await run_agent(published, "What is 2 + 3?", models={"main": model})
    assert result.status == "completed" and result.executions == 2 and failures == [1]
    assert model.calls == 2 and ledger.calls == [(2, 3)]
    assert steps(result.events) == ["llm#1", "tool:add#1", "llm#2", "after"]
    assert len(result.model_calls) == 4  # a replayed call is metered as it was


# -- OpenAI Agents SDK ---------------------------------------------------------------------


@agents.function_tool
def multiply(wrapper: agents.RunContextWrapper[list[str]], a: int, b: int) -> int:
    """Multiply two integers."""
    wrapper.context.append(f"multiply {a} {b}")
    return a * b


calculator = agents.Agent[list[str]](
    name="calculator", instructions="Compute with the tools.", tools=[multiply], model="gpt-4.1"
)


def scripted_calculator() -> AgentsScriptedModel:
    return AgentsScriptedModel(
        [
            [function_call("multiply", {"a": 6, "b": 7}, call_id="call-1")],
            [assistant_message("42")],
        ]
    )


async def test_an_openai_agents_sdk_agent_runs_its_tools_as_steps_and_replays_them() -> None:
    log: list[str] = []
    published, failures = crashing_once_after(
        from_openai_agents(calculator, name="calculator", models=["main"], context=lambda c: log)
    )
    model = scripted_calculator()
    result = await run_agent(published, "6 times 7?", models={"main": model})
    assert result.status == "completed", result.error
    assert result.deliverable == "42" and result.executions == 2 and failures == [1]
    assert steps(result.events) == ["llm#1", "tool:multiply#1", "llm#2", "after"]
    assert len(model.calls) == 2 and log == ["multiply 6 7"]
    assert model.calls[1].input[-1]["output"] == "42"  # type: ignore[index]
    assert [a["model"] for a in result.model_calls] == ["main"] * 4


async def test_an_openai_agents_sdk_agent_calls_an_openai_compatible_server() -> None:
    script = [
        {"tool_calls": [{"name": "multiply", "arguments": {"a": 6, "b": 7}}]},
        {
            "text": "42",
            "usage": {
                "prompt_tokens": 50,
                "completion_tokens": 3,
                "cached_tokens": 20,
                "reasoning_tokens": 2,
            },
        },
    ]
    log: list[str] = []
    published = from_openai_agents(
        calculator, name="calculator", models=["main"], context=lambda ctx: log
    )
    with OpenAITestServer(script) as server:
        model = OpenAIChatModel("m1", provider=OpenAIProvider(base_url=server.url, api_key="k"))
        result = await run_agent(published, "6 times 7?", {"n": 1}, models={"main": model})
        await model.client.close()
    assert result.status == "completed", result.error
    assert result.deliverable == "42" and log == ["multiply 6 7"]
    assert steps(result.events) == ["llm#1", "tool:multiply#1", "llm#2"]
    assert [r.model for r in server.requests] == ["m1", "m1"]  # not the agent's gpt-4.1
    assert server.requests[0].messages[-1]["content"] == '6 times 7?\n\nInput (JSON): {"n": 1}'
    assert server.requests[1].messages[-1]["content"] == "42"
    last = result.model_calls[-1]
    assert last["provider_model"] == "m1"
    assert last["usage"] == {
        "input_tokens": 50,
        "output_tokens": 3,
        "cache_read_tokens": 20,
        "cache_write_tokens": 0,
        "reasoning_tokens": 2,
    }


async def test_an_openai_agents_sdk_agent_falls_back_to_the_next_model() -> None:
    published = from_openai_agents(calculator, name="calculator", models=["first", "second"])
    broken = AgentsScriptedModel([RuntimeError("overloaded"), RuntimeError("overloaded")])
    result = await run_agent(
        published, "6 times 7?", models={"first": broken, "second": scripted_calculator()}
    )
    assert result.status == "completed", result.error
    # each model call tries the profile's models in order
    assert [a["model"] for a in result.model_calls] == ["first", "second"] * 2
    assert "overloaded" in result.model_calls[0]["error"]
    assert "usage" not in result.model_calls[0] and "usage" in result.model_calls[1]


specialist = agents.Agent[list[str]](name="specialist", tools=[multiply])
triage = agents.Agent[list[str]](name="triage", handoffs=[specialist])


async def test_the_tools_of_an_agent_handed_off_to_are_steps_too() -> None:
    log: list[str] = []
    published = from_openai_agents(triage, name="triage", models=["main"], context=lambda c: log)
    model = AgentsScriptedModel(
        [
            [function_call("transfer_to_specialist", {}, call_id="call-1")],
            [function_call("multiply", {"a": 6, "b": 7}, call_id="call-2")],
            [assistant_message("42")],
        ]
    )
    result = await run_agent(published, "6 times 7?", models={"main": model})
    assert result.status == "completed", result.error
    assert steps(result.events) == ["llm#1", "llm#2", "tool:multiply#1", "llm#3"]
    assert triage.handoffs == [specialist] and specialist.tools == [multiply]  # not changed


async def test_an_openai_agents_sdk_agent_needs_openai_compatible_models() -> None:
    published = from_openai_agents(calculator, name="calculator", models=["main"])
    result = await run_agent(published, "6 times 7?", models={"main": ScriptedModel(said("42"))})
    assert result.status == "failed"
    assert "cannot serve an agent of the OpenAI Agents SDK" in (result.error or "")


# -- both ----------------------------------------------------------------------------------


def add_plain(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


adding_agent = agents.Agent(name="adder", tools=[agents.function_tool(add_plain)])


@agent("two-frameworks", models=["main"])
async def two_frameworks(ctx: Context) -> Any:
    from bureau.llm.openai_agents import run_openai_agent

    first = await ctx.llm.chat("2+3?", tools=[add_plain])
    second = await ctx.llm.chat("4+5?", tools=[add_plain])
    third = await run_openai_agent(ctx, adding_agent, "6+7?", models=["sdk"])
    return [first.output, second.output, third.output]


async def test_step_names_stay_unique_across_the_runs_of_one_task() -> None:
    pydantic_model = ScriptedModel(
        tool_call("add_plain", a=2, b=3), said("5"), tool_call("add_plain", a=4, b=5), said("9")
    )
    sdk_model = AgentsScriptedModel(
        [[function_call("add_plain", {"a": 6, "b": 7}, call_id="c")], [assistant_message("13")]]
    )
    models = {"main": pydantic_model, "sdk": sdk_model}
    result = await run_agent(two_frameworks, "sums", models=models)
    assert result.status == "completed", result.error
    assert result.deliverable == ["5", "9", "13"]
    assert steps(result.events) == [
        *("llm#1", "tool:add_plain#1", "llm#2"),
        *("llm#3", "tool:add_plain#2", "llm#4"),
        *("llm#5", "tool:add_plain#3", "llm#6"),
    ]


def test_a_recorded_sdk_response_decodes_to_what_the_model_answered() -> None:
    response = agents.ModelResponse(
        output=[function_call("add", {"a": 1}, call_id="c1"), assistant_message("hi")],
        usage=agents.Usage(requests=1, input_tokens=5, output_tokens=2, total_tokens=7),
        response_id="r1",
    )
    assert decode_response(encode_response(response)) == response


def test_an_adapter_needs_models() -> None:
    with pytest.raises(UsageError, match="name the models"):
        from_pydantic_ai(ledger_agent, name="ledger", models=[])
    with pytest.raises(UsageError, match="lowercase"):
        from_openai_agents(calculator, name="Calculator", models=["main"])
