"""`ctx.llm`: model calls and tool loops, durable and metered, through pydantic-ai.

`await ctx.llm.chat(prompt, tools=[...], output=Model)` runs a pydantic-ai agent whose
model is the agent's models for the task's profile (`@agent(models=...)`, tried in order)
and whose every model call and Python tool call is a journaled step. `ctx.llm.run(agent,
prompt)` does the same for an agent written with pydantic-ai.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pydantic_ai import Agent, Tool, UsageLimits
from pydantic_ai.exceptions import UsageLimitExceeded
from pydantic_ai.toolsets import AbstractToolset, FunctionToolset

from bureau.errors import UsageError
from bureau.llm.durable import JournaledModel, JournaledToolset, _Counter
from bureau.llm.output import conforming
from bureau.llm.registry import ModelRegistry, Resolved
from bureau.sdk.signals import Fatal

if TYPE_CHECKING:
    from bureau.sdk.context import Context


@dataclass(frozen=True)
class ChatResult:
    """What a chat ended with: its output (text, or an instance of the output type) and
    every message of the conversation (pydantic-ai's `ModelMessage`s)."""

    output: Any
    messages: list[Any]


class LLM:
    """Model access of one run (`ctx.llm`)."""

    def __init__(self, ctx: Context, registry: ModelRegistry | None) -> None:
        self._ctx = ctx
        self._registry = registry
        self._calls = _Counter()
        self._tool_calls: dict[str, int] = {}
        """Calls of each tool name in this run: `tool:<name>#n` step names stay unique
        across chats, agents and frameworks."""

    def models_for(self, profile: str | None = None) -> list[str]:
        """The names of the models the agent uses in `profile` (the task's by default), in
        the order they are tried."""
        declared = self._ctx.definition.models
        chosen = declared.get(profile or self._ctx.profile) or declared.get("*") or ()
        return list(chosen)

    def available(self, models: Sequence[str] | None = None) -> bool:
        """Whether the worker has a model for this call: one of `models` (default: the
        profile's) is configured. An agent that also works without a model (its
        deterministic path) asks this first."""
        names = list(models) if models is not None else self.models_for()
        registry = self._registry
        return registry is not None and any(name in registry.specs for name in names)

    async def model(self, models: Sequence[str] | None = None) -> JournaledModel:
        """A pydantic-ai model standing for `models` (default: the profile's), whose
        requests are journaled steps with fallback in that order."""
        return JournaledModel(self._ctx, await self.resolve(models), self._calls)

    async def resolve(self, models: Sequence[str] | None = None) -> list[Resolved]:
        """The models `models` names (default: the profile's), in order, ready to call.
        Raises `UsageError` when there is none to name, `Fatal` when the worker cannot
        provide one."""
        names = list(models) if models is not None else self.models_for()
        if not names:
            raise UsageError(
                f"agent {self._ctx.definition.name!r} names no model for profile "
                f"{self._ctx.profile!r}; declare @agent(models=...)"
            )
        if not self._registry:
            raise Fatal(
                "no model provider is configured on this worker (BUREAU_LLM_MODELS); "
                f"agent {self._ctx.definition.name!r} needs one"
            )
        registry = self._registry
        chain: list[Resolved] = []
        for name in [n for n in names if n in registry.specs] or names:
            try:
                chain.append(await registry.resolve(name, self._ctx._publisher_secret))
            except UsageError as exc:
                raise Fatal(exc.detail) from exc
        return chain

    async def chat(
        self,
        prompt: str,
        *,
        instructions: str | None = None,
        tools: Sequence[Callable[..., Any]] = (),
        ask: bool = False,
        agents: Sequence[str] = (),
        mcp: Sequence[str] = (),
        output: type[Any] | Mapping[str, Any] | None = None,
        max_turns: int = 10,
        models: Sequence[str] | None = None,
    ) -> ChatResult:
        """Let the model answer `prompt`, calling tools as it needs, in at most `max_turns`
        model calls.

        - `tools`: Python functions (their signatures and docstrings describe them); each
          call is a journaled step, so it must return JSON-serialisable data.
        - `ask=True` gives the model the tool `ask_human(question)`: `ctx.ask`, the task
          goes `input-required` until the consumer answers.
        - `agents` lets it delegate to those agents (`delegate_<name>(goal, input)`).
        - `mcp` gives it the tools of those declared MCP servers (`ctx.call_tool`).
        - `output`: a pydantic model or a JSON Schema for a structured answer (an answer
          that does not match is sent back to the model with what is wrong).
        """
        durable = self._durable_tools(ask=ask, agents=agents)
        durable.extend(await self._mcp_tools(mcp))
        toolsets: list[AbstractToolset[Any]] = [
            JournaledToolset(FunctionToolset(list(tools)), self._ctx, self._tool_calls),
            FunctionToolset(durable),
        ]
        output_type: Any = str
        if isinstance(output, Mapping):
            output_type = conforming(output)
        elif output is not None:
            output_type = output
        agent: Agent[None, Any] = Agent(
            output_type=output_type, instructions=instructions, toolsets=toolsets
        )
        return await self._run(agent, prompt, max_turns, models)

    async def run(
        self,
        agent: Agent[Any, Any],
        prompt: str,
        *,
        deps: Any = None,
        max_turns: int = 10,
        models: Sequence[str] | None = None,
    ) -> ChatResult:
        """Run an agent written with pydantic-ai: its model calls go to the profile's
        models (journaled, with fallback) and its tools' calls are journaled steps."""
        # `agent.toolsets` includes the function toolset of its `@agent.tool` tools; with
        # `tools=[]` that one runs only wrapped, not a second time under the same names
        wrapped = [
            JournaledToolset(toolset, self._ctx, self._tool_calls) for toolset in agent.toolsets
        ]
        with agent.override(toolsets=wrapped, tools=[]):
            return await self._run(agent, prompt, max_turns, models, deps=deps)

    async def _run(
        self,
        agent: Agent[Any, Any],
        prompt: str,
        max_turns: int,
        models: Sequence[str] | None,
        deps: Any = None,
    ) -> ChatResult:
        model = await self.model(models)
        try:
            result = await agent.run(
                prompt,
                model=model,
                deps=deps,
                usage_limits=UsageLimits(request_limit=max_turns),
            )
        except UsageLimitExceeded as exc:
            raise Fatal(f"the model did not finish within {max_turns} turns: {exc}") from exc
        return ChatResult(result.output, result.all_messages())

    def _durable_tools(self, *, ask: bool, agents: Sequence[str]) -> list[Tool[Any]]:
        """Tools that are durable calls of their own, so not wrapped in a step."""
        ctx = self._ctx
        out: list[Tool[Any]] = []
        if ask:

            async def ask_human(question: str) -> str:
                """Ask the person who dispatched the task; returns their answer."""
                return str(await ctx.ask(question))

            out.append(Tool(ask_human))
        for name in agents:
            out.append(_delegation(ctx, name))
        return out

    async def _mcp_tools(self, servers: Sequence[str]) -> list[Tool[Any]]:
        ctx = self._ctx
        out: list[Tool[Any]] = []
        for server in servers:
            for listed in await ctx.mcp_tools(server):

                async def call(
                    _server: str = server, _tool: str = listed["name"], **args: Any
                ) -> Any:
                    return await ctx.call_tool(_server, _tool, args)

                schema = listed.get("input_schema") or {"type": "object", "properties": {}}
                out.append(
                    Tool.from_schema(
                        call,
                        name=f"{server}_{listed['name']}",
                        description=listed.get("description") or None,
                        json_schema=schema,
                    )
                )
        return out


def _delegation(ctx: Context, agent: str) -> Tool[Any]:
    async def delegate(goal: str, input: dict[str, Any] | None = None) -> Any:
        return await ctx.delegate(agent, goal, input or {})

    schema = {
        "type": "object",
        "properties": {
            "goal": {"type": "string", "description": "what to ask of the agent, in words"},
            "input": {"type": "object", "description": "the agent's input, if it takes one"},
        },
        "required": ["goal"],
    }
    return Tool.from_schema(
        delegate,
        name=f"delegate_{agent.replace('-', '_')}",
        description=f"Hand a sub-task to the agent {agent!r}; returns its deliverable.",
        json_schema=schema,
    )
