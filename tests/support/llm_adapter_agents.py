"""Agents of other frameworks published through `bureau.llm.adapters`, for
tests/e2e/test_llm_adapters.py: a pydantic-ai agent and an OpenAI Agents SDK agent, each
with one tool `add` that logs its calls to the file `tool_log` of the task's input; and
`-held` variants that, once the framework's run is over, write `marker` and wait for
`release` (so a test can kill the server right after the second model call is journaled).
"""

from __future__ import annotations

import dataclasses
import os
import time
from pathlib import Path
from typing import Any

import agents
import pydantic_ai

from bureau import Context
from bureau.llm.adapters import from_openai_agents, from_pydantic_ai
from bureau.sdk.decorator import AgentDefinition

INSTRUCTIONS = "Add the numbers of the question with the tool `add`, then say the sum."


def _log(path: str, line: str) -> None:
    with open(path, "a") as log:
        log.write(f"{line}\n")


def _hold(marker: str, release: str) -> bool:
    """Say this process got here, then wait (at most 30 s) until the test releases it."""
    _log(marker, str(os.getpid()))
    deadline = time.monotonic() + 30
    while not Path(release).exists():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{release} never appeared")
        time.sleep(0.02)
    return True


def held(definition: AgentDefinition) -> AgentDefinition:
    """`definition`, then a step `hold` that waits for the test's release."""
    run_framework = definition.fn

    async def run(ctx: Context) -> Any:
        output = await run_framework(ctx)
        await ctx.step("hold", _hold, ctx.raw_input["marker"], ctx.raw_input["release"])
        return output

    return dataclasses.replace(definition, name=f"{definition.name}-held", fn=run)


# -- pydantic-ai -------------------------------------------------------------------------

adder_pydantic_ai: pydantic_ai.Agent[dict[str, Any], str] = pydantic_ai.Agent(
    deps_type=dict[str, Any], instructions=INSTRUCTIONS
)


@adder_pydantic_ai.tool
def add(ctx: pydantic_ai.RunContext[dict[str, Any]], a: int, b: int) -> int:
    """Add two integers."""
    _log(ctx.deps["tool_log"], f"add {a} {b}")
    return a + b


pydantic_adder = from_pydantic_ai(
    adder_pydantic_ai,
    name="pydantic-adder",
    models=["local"],
    price="0.01",
    deps=lambda ctx: ctx.raw_input,
)
pydantic_adder_held = held(pydantic_adder)


# -- OpenAI Agents SDK --------------------------------------------------------------------


@agents.function_tool(name_override="add")
def add_numbers(wrapper: agents.RunContextWrapper[dict[str, Any]], a: int, b: int) -> int:
    """Add two integers."""
    _log(wrapper.context["tool_log"], f"add {a} {b}")
    return a + b


adder_openai_agents = agents.Agent[dict[str, Any]](
    name="adder", instructions=INSTRUCTIONS, tools=[add_numbers]
)
openai_agents_adder = from_openai_agents(
    adder_openai_agents,
    name="openai-agents-adder",
    models=["local"],
    price="0.01",
    context=lambda ctx: ctx.raw_input,
)
openai_agents_adder_held = held(openai_agents_adder)
