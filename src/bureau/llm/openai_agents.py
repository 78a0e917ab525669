"""Agents written with the OpenAI Agents SDK (`openai-agents`), run durably inside a task.

`run_openai_agent(ctx, agent, prompt)` runs `agents.Runner.run` with a `RunConfig` whose
model is `JournaledAgentsModel`: the agent's models for the task's profile, tried in order
(`first_answer`, as for pydantic-ai), each model request one journaled step `llm#n` whose
answer is recorded in the SDK's own item format and replayed after a crash or a park. The
agent's function tools, and those of the agents it hands off to, are wrapped so that each
call is a journaled step `tool:<name>#n`. The SDK's tracing export is off.

Not journaled: tools of an agent used as a tool (`agent.as_tool()`; its model calls are)
and tools of MCP servers attached to the agent; hosted tools run at the provider.
"""

from __future__ import annotations

import copy
from collections.abc import AsyncIterator, Sequence
from typing import TYPE_CHECKING, Any, cast

from agents import (
    Agent,
    FunctionTool,
    Handoff,
    MaxTurnsExceeded,
    Model,
    ModelProvider,
    ModelResponse,
    ModelSettings,
    ModelTracing,
    OpenAIChatCompletionsModel,
    OpenAIResponsesModel,
    RunConfig,
    RunContextWrapper,
    Runner,
    Tool,
)
from agents.agent_output import AgentOutputSchemaBase
from agents.items import TResponseInputItem, TResponseOutputItem, TResponseStreamEvent
from agents.tool_context import ToolContext
from agents.usage import deserialize_usage, serialize_usage
from openai.types.responses.response_prompt_param import ResponsePromptParam
from pydantic import BaseModel, TypeAdapter, ValidationError
from pydantic_core import to_jsonable_python

from bureau.errors import UsageError
from bureau.llm.chat import ChatResult
from bureau.llm.durable import Answer, _Counter, first_answer
from bureau.llm.registry import Resolved
from bureau.sdk.signals import Fatal

if TYPE_CHECKING:
    from bureau.sdk.context import Context

_OUTPUT_ITEM: TypeAdapter[TResponseOutputItem] = TypeAdapter(
    cast(Any, TResponseOutputItem)  # an annotated union, which mypy does not take as a type
)


def usage_of(response: ModelResponse) -> dict[str, int]:
    """One response's tokens by kind, as Bureau meters them."""
    usage = response.usage
    return {
        "input_tokens": usage.input_tokens,
        "output_tokens": usage.output_tokens,
        "cache_read_tokens": usage.input_tokens_details.cached_tokens or 0,
        "cache_write_tokens": getattr(usage.input_tokens_details, "cache_write_tokens", 0) or 0,
        "reasoning_tokens": usage.output_tokens_details.reasoning_tokens or 0,
    }


def encode_response(response: ModelResponse) -> dict[str, Any]:
    """`response` as JSON data: its output items in the Responses API's format (as the
    provider sent them), its usage as the SDK serialises it."""
    return {
        "output": [
            item.model_dump(mode="json", exclude_unset=True)
            if isinstance(item, BaseModel)
            else to_jsonable_python(item)
            for item in response.output
        ],
        "usage": serialize_usage(response.usage),
        "response_id": response.response_id,
        "request_id": response.request_id,
    }


def decode_response(data: dict[str, Any]) -> ModelResponse:
    """The `ModelResponse` that `encode_response` recorded."""
    return ModelResponse(
        output=[_output_item(item) for item in data["output"]],
        usage=deserialize_usage(data["usage"]),
        response_id=data.get("response_id"),
        request_id=data.get("request_id"),
    )


def _output_item(data: Any) -> Any:
    try:
        return _OUTPUT_ITEM.validate_python(data)
    except ValidationError:  # an item type the SDK itself keeps as a dict
        return data


def agents_model(resolved: Resolved) -> Model:
    """The Agents SDK model for one of the worker's models: the same OpenAI client (key,
    base URL, timeout, retries) behind the SDK's own Chat Completions or Responses model;
    a model given ready (`run_agent(models={"main": agents.testing.ScriptedModel(...)})`)
    as it is."""
    from pydantic_ai.models.openai import OpenAIChatModel
    from pydantic_ai.models.openai import OpenAIResponsesModel as PydanticResponsesModel

    model: object = resolved.model
    if isinstance(model, Model):
        return model
    if isinstance(model, PydanticResponsesModel):
        return OpenAIResponsesModel(model=model.model_name, openai_client=model.client)
    if isinstance(model, OpenAIChatModel):
        return OpenAIChatCompletionsModel(model=model.model_name, openai_client=model.client)
    raise Fatal(
        f"model {resolved.name!r} (provider {resolved.spec.provider!r}) cannot serve an agent "
        "of the OpenAI Agents SDK, which speaks the OpenAI API; name an OpenAI-compatible "
        "model in @agent(models=...)"
    )


class JournaledAgentsModel(Model):
    """The models of a profile, in order, as one Agents SDK model whose requests are
    journaled steps `llm#n` (the counter is shared with the run's other `ctx.llm` calls)."""

    def __init__(self, ctx: Context, chain: Sequence[Resolved], counter: _Counter) -> None:
        if not chain:
            raise ValueError("a profile needs at least one model")
        self.ctx = ctx
        self.chain = list(chain)
        self.models = {resolved.name: agents_model(resolved) for resolved in self.chain}
        self.counter = counter

    async def get_response(
        self,
        system_instructions: str | None,
        input: str | list[TResponseInputItem],
        model_settings: ModelSettings,
        tools: list[Tool],
        output_schema: AgentOutputSchemaBase | None,
        handoffs: list[Handoff],
        tracing: ModelTracing,
        *,
        previous_response_id: str | None,
        conversation_id: str | None,
        prompt: ResponsePromptParam | None,
    ) -> ModelResponse:
        async def ask(resolved: Resolved) -> ModelResponse:
            return await self.models[resolved.name].get_response(
                system_instructions,
                input,
                model_settings,
                tools,
                output_schema,
                handoffs,
                tracing,
                previous_response_id=previous_response_id,
                conversation_id=conversation_id,
                prompt=prompt,
            )

        def describe(resolved: Resolved, response: ModelResponse) -> Answer:
            provider_model = getattr(self.models[resolved.name], "model", None)
            return Answer(
                usage_of(response),
                provider_model if isinstance(provider_model, str) else None,
                encode_response(response),
            )

        async def call() -> dict[str, Any]:
            return await first_answer(self.chain, ask, describe)

        recorded = await self.ctx._model_call(f"llm#{self.counter.next()}", call)
        return decode_response(recorded["response"])

    def stream_response(
        self,
        system_instructions: str | None,
        input: str | list[TResponseInputItem],
        model_settings: ModelSettings,
        tools: list[Tool],
        output_schema: AgentOutputSchemaBase | None,
        handoffs: list[Handoff],
        tracing: ModelTracing,
        *,
        previous_response_id: str | None,
        conversation_id: str | None,
        prompt: ResponsePromptParam | None,
    ) -> AsyncIterator[TResponseStreamEvent]:
        raise UsageError(
            "a streamed run cannot be journaled; run the agent with Runner.run (Bureau "
            "streams the task's steps as events)"
        )


class JournaledModelProvider(ModelProvider):
    """Every model name an agent gives resolves to the profile's journaled model."""

    def __init__(self, model: JournaledAgentsModel) -> None:
        self.model = model

    def get_model(self, model_name: str | None) -> Model:
        return self.model


def journaled_agent(
    agent: Agent[Any],
    ctx: Context,
    calls: dict[str, int],
    *,
    _done: dict[int, Agent[Any]] | None = None,
) -> Agent[Any]:
    """A copy of `agent` whose function tools, and those of the agents it hands off to,
    are journaled steps `tool:<name>#n` (`calls` counts the calls of each name)."""
    done = {} if _done is None else _done
    if id(agent) in done:
        return done[id(agent)]
    tools = [
        _journaled_tool(tool, ctx, calls)
        if isinstance(tool, FunctionTool) and not getattr(tool, "_is_agent_tool", False)
        else tool
        for tool in agent.tools
    ]
    clone = agent.clone(tools=tools)
    done[id(agent)] = clone
    handoffs: list[Agent[Any] | Handoff[Any, Any]] = []
    for handoff in agent.handoffs:
        if isinstance(handoff, Agent):
            handoffs.append(journaled_agent(handoff, ctx, calls, _done=done))
        else:
            handoffs.append(_journaled_handoff(handoff, ctx, calls, done))
    clone.handoffs = handoffs
    return clone


def _journaled_tool(tool: FunctionTool, ctx: Context, calls: dict[str, int]) -> FunctionTool:
    journaled = copy.copy(tool)
    invoke = journaled.on_invoke_tool  # the copy's: its error handling names the copy

    async def on_invoke_tool(tool_context: ToolContext[Any], arguments: str) -> Any:
        calls[tool.name] = calls.get(tool.name, 0) + 1

        async def call() -> Any:
            return to_jsonable_python(await invoke(tool_context, arguments))

        return await ctx.step(f"tool:{tool.name}#{calls[tool.name]}", call)

    journaled.on_invoke_tool = on_invoke_tool
    return journaled


def _journaled_handoff(
    handoff: Handoff[Any, Any], ctx: Context, calls: dict[str, int], done: dict[int, Agent[Any]]
) -> Handoff[Any, Any]:
    invoke = handoff.on_invoke_handoff

    async def on_invoke_handoff(context: RunContextWrapper[Any], arguments: str) -> Agent[Any]:
        return journaled_agent(await invoke(context, arguments), ctx, calls, _done=done)

    journaled = copy.copy(handoff)
    journaled.on_invoke_handoff = on_invoke_handoff
    return journaled


async def run_openai_agent(
    ctx: Context,
    agent: Agent[Any],
    prompt: str | list[TResponseInputItem],
    *,
    context: Any = None,
    max_turns: int = 10,
    models: Sequence[str] | None = None,
) -> ChatResult:
    """Run `agent` (OpenAI Agents SDK) on `prompt` inside a task: its model calls go to
    `models` (default: the agent's models for the task's profile), journaled with fallback,
    and its function tools' calls are journaled steps. `context` is the run context its
    tools receive. Returns the final output and the run's items as model input."""
    llm = ctx.llm
    model = JournaledAgentsModel(ctx, await llm.resolve(models), llm._calls)
    config = RunConfig(
        model=model, model_provider=JournaledModelProvider(model), tracing_disabled=True
    )
    journaled = journaled_agent(agent, ctx, llm._tool_calls)
    try:
        result = await Runner.run(
            journaled, prompt, context=context, max_turns=max_turns, run_config=config
        )
    except MaxTurnsExceeded as exc:
        raise Fatal(f"the agent did not finish within {max_turns} turns: {exc}") from exc
    if result.interruptions:
        raise Fatal(
            "the agent's run stopped for tool approval (needs_approval), which Bureau does "
            "not offer; ask the consumer with ctx.ask in the tool instead"
        )
    return ChatResult(result.final_output, list(result.to_input_list()))
