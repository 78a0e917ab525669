"""Publish an agent written with another framework as a Bureau agent, in one call.

    support = from_pydantic_ai(support_agent, name="support", models=["small"], price="0.01")
    triage = from_openai_agents(triage_agent, name="triage", models=["small"])

Each returns an `AgentDefinition`, served like any `@agent` (`bureau serve --agents
file.py`). A task runs the framework's agent on the task's goal (and its input, as JSON,
when there is one) and delivers the agent's output. The agent's model calls go to the
models named in `models` for the task's profile (`BUREAU_LLM_MODELS`), whatever model
the agent names itself; each model call and each call of its function tools is a
journaled step (`llm#n`, `tool:<name>#n`): replayed after a crash, metered, shown as
events. The OpenAI Agents SDK is an optional dependency, imported on first use.
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel
from pydantic_core import to_jsonable_python

from bureau.errors import UsageError
from bureau.sdk.decorator import AgentDefinition, AgentFunction, agent

if TYPE_CHECKING:
    import agents
    import pydantic_ai

    from bureau.sdk.context import Context

ContextFactory = Callable[["Context"], Any]
"""Makes a framework run's context (pydantic-ai `deps`, the Agents SDK `context`) from the
task's `Context`; it may be a coroutine function."""


def from_pydantic_ai(
    pydantic_agent: pydantic_ai.Agent[Any, Any],
    *,
    name: str,
    models: Sequence[str] | Mapping[str, Sequence[str]],
    version: str = "0.1.0",
    description: str = "",
    price: str | int | Decimal = "0",
    input_schema: Any = None,
    deps: ContextFactory | None = None,
    max_turns: int = 10,
    **options: Any,
) -> AgentDefinition:
    """A Bureau agent that runs `pydantic_agent` (a `pydantic_ai.Agent`) with
    `ctx.llm.run`: its model is the profile's models from `models`, its tools (`@agent.tool`,
    toolsets) are journaled steps, its output (a pydantic model is dumped to JSON) is the
    deliverable.

    `deps(ctx)` makes the run's dependencies from the task's `Context`; `max_turns` bounds
    the model calls of one task. `options` are the other arguments of `@agent` (`sla`,
    `retry`, `capabilities`, `visibility`, `output_schema`, ...).
    """

    async def run(ctx: Context) -> Any:
        made = await _made(deps, ctx)
        result = await ctx.llm.run(pydantic_agent, prompt_of(ctx), deps=made, max_turns=max_turns)
        return deliverable_of(result.output)

    return _definition(run, name, models, version, description, price, input_schema, options)


def from_openai_agents(
    openai_agent: agents.Agent[Any],
    *,
    name: str,
    models: Sequence[str] | Mapping[str, Sequence[str]],
    version: str = "0.1.0",
    description: str = "",
    price: str | int | Decimal = "0",
    input_schema: Any = None,
    context: ContextFactory | None = None,
    max_turns: int = 10,
    **options: Any,
) -> AgentDefinition:
    """A Bureau agent that runs `openai_agent` (an `agents.Agent` of the OpenAI Agents SDK,
    package `openai-agents`) with `Runner.run`: its model, and that of the agents it hands
    off to, is the profile's models from `models` (OpenAI-compatible ones); its function
    tools are journaled steps; its final output is the deliverable.

    `context(ctx)` makes the run context its tools receive from the task's `Context`;
    `max_turns` bounds the model calls of one task. `options` are the other arguments of
    `@agent`. Raises `UsageError` when `openai-agents` is not installed.
    """
    try:
        from bureau.llm.openai_agents import run_openai_agent
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise UsageError(
            "from_openai_agents needs the OpenAI Agents SDK: pip install 'bureau[openai-agents]'"
        ) from exc

    async def run(ctx: Context) -> Any:
        made = await _made(context, ctx)
        result = await run_openai_agent(
            ctx, openai_agent, prompt_of(ctx), context=made, max_turns=max_turns
        )
        return deliverable_of(result.output)

    description = description or (getattr(openai_agent, "handoff_description", None) or "")
    return _definition(run, name, models, version, description, price, input_schema, options)


def prompt_of(ctx: Context) -> str:
    """What the framework's agent is asked: the goal, then the task's input as JSON when
    there is one."""
    if not ctx.raw_input:
        return ctx.goal
    text = json.dumps(ctx.raw_input, ensure_ascii=False, sort_keys=True, default=str)
    return f"{ctx.goal}\n\nInput (JSON): {text}"


def deliverable_of(output: Any) -> Any:
    """A run's output as a deliverable: a pydantic model as its JSON dump, text as text."""
    if isinstance(output, BaseModel):
        return output.model_dump(mode="json")
    return to_jsonable_python(output)


async def _made(factory: ContextFactory | None, ctx: Context) -> Any:
    if factory is None:
        return None
    made = factory(ctx)
    return await made if inspect.isawaitable(made) else made


def _definition(
    run: AgentFunction,
    name: str,
    models: Sequence[str] | Mapping[str, Sequence[str]],
    version: str,
    description: str,
    price: str | int | Decimal,
    input_schema: Any,
    options: Mapping[str, Any],
) -> AgentDefinition:
    if not models:
        raise UsageError(
            f"agent {name!r}: name the models it uses (models=[...], from BUREAU_LLM_MODELS)"
        )
    return agent(
        name,
        version=version,
        description=description,
        price=price,
        input_schema=input_schema,
        models=models,
        **options,
    )(run)
