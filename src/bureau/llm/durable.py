"""Durable model and tool calls for pydantic-ai runs inside a Bureau task.

`JournaledModel` is a pydantic-ai `Model` standing for the ordered models of a profile:
each request is one journaled step (`llm#n`) that tries the models in order (falling back
on an error or a timeout), records every attempt, and returns the first answer. After a
crash or a park the recorded answer is replayed and no provider is called again.
`JournaledToolset` makes each call of a wrapped toolset's tools a journaled step
(`tool:<name>#n`). Tools that are durable calls already (`ctx.ask`, `ctx.delegate`, MCP
tools through `ctx.call_tool`) are not wrapped. `first_answer`, the fallback over a
profile's models, is shared with the adapter for the OpenAI Agents SDK.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from pydantic_ai.messages import ModelMessage, ModelMessagesTypeAdapter, ModelResponse
from pydantic_ai.models import Model, ModelRequestParameters
from pydantic_ai.settings import ModelSettings
from pydantic_ai.tools import RunContext
from pydantic_ai.toolsets import AbstractToolset, WrapperToolset
from pydantic_ai.toolsets.abstract import ToolsetTool
from pydantic_core import to_jsonable_python

from bureau.llm.registry import Resolved, cost_of
from bureau.sdk.signals import Retry

if TYPE_CHECKING:
    from bureau.sdk.context import Context

R = TypeVar("R")


def usage_of(response: ModelResponse) -> dict[str, int]:
    usage = response.usage
    out = {
        "input_tokens": usage.input_tokens,
        "output_tokens": usage.output_tokens,
        "cache_read_tokens": usage.cache_read_tokens,
        "cache_write_tokens": usage.cache_write_tokens,
        "reasoning_tokens": int(usage.details.get("reasoning_tokens", 0)),
    }
    return out


def _described(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return f"{type(exc).__name__}: {text}"[:500]


@dataclass(frozen=True)
class Answer:
    """What `first_answer` records of a model's answer."""

    usage: dict[str, int]
    """Tokens by kind (`input_tokens`, `output_tokens`, `cache_read_tokens`,
    `cache_write_tokens`, `reasoning_tokens`)."""
    provider_model: str | None
    """The model that answered, as the provider names it."""
    encoded: Any
    """The answer as JSON data, decoded again when the call is replayed."""


@dataclass
class _Counter:
    value: int = 0

    def next(self) -> int:
        self.value += 1
        return self.value


async def first_answer(
    chain: Sequence[Resolved],
    ask: Callable[[Resolved], Awaitable[R]],
    describe: Callable[[Resolved, R], Answer],
) -> dict[str, Any]:
    """Ask the models of `chain` in order, each within its timeout and bound on calls in
    flight, until one answers; `describe(model, answer)` reads an answer's usage and its
    JSON form.

    Returns the record of the call: `{"model", "attempts", "response"}`, with every attempt
    (`{model, provider_model, seconds, usage, cost}` for the answer, `{model, error,
    seconds}` for each failure before it). Raises `Retry` when no model answered.
    """
    attempts: list[dict[str, Any]] = []
    for resolved in chain:
        started = time.perf_counter()
        try:
            async with resolved.bound:
                response = await asyncio.wait_for(ask(resolved), resolved.spec.timeout_seconds)
        except Exception as exc:  # a provider error, a timeout: try the next model
            attempts.append(
                {
                    "model": resolved.name,
                    "error": _described(exc),
                    "seconds": round(time.perf_counter() - started, 3),
                }
            )
            continue
        answer = describe(resolved, response)
        attempts.append(
            {
                "model": resolved.name,
                "provider_model": answer.provider_model,
                "seconds": round(time.perf_counter() - started, 3),
                "usage": answer.usage,
                "cost": str(cost_of(resolved.spec, answer.usage)),
            }
        )
        return {"model": resolved.name, "attempts": attempts, "response": answer.encoded}
    tried = "; ".join(f"{a['model']}: {a['error']}" for a in attempts)
    raise Retry(f"no model of the profile answered ({tried})")


class JournaledModel(Model):
    """The models of a profile, in order, as one model whose requests are journaled."""

    def __init__(self, ctx: Context, chain: Sequence[Resolved], counter: _Counter) -> None:
        super().__init__()
        if not chain:
            raise ValueError("a profile needs at least one model")
        self.ctx = ctx
        self.chain = list(chain)
        self.counter = counter

    @property
    def model_name(self) -> str:
        return self.chain[0].name

    @property
    def system(self) -> str:
        return self.chain[0].model.system

    async def request(
        self,
        messages: list[ModelMessage],
        model_settings: ModelSettings | None,
        model_request_parameters: ModelRequestParameters,
    ) -> ModelResponse:
        def ask(resolved: Resolved) -> Awaitable[ModelResponse]:
            return resolved.model.request(messages, model_settings, model_request_parameters)

        def describe(resolved: Resolved, response: ModelResponse) -> Answer:
            [encoded] = ModelMessagesTypeAdapter.dump_python([response], mode="json")
            return Answer(usage_of(response), response.model_name, encoded)

        async def call() -> dict[str, Any]:
            return await first_answer(self.chain, ask, describe)

        recorded = await self.ctx._model_call(f"llm#{self.counter.next()}", call)
        [response] = ModelMessagesTypeAdapter.validate_python([recorded["response"]])
        assert isinstance(response, ModelResponse)
        return response


class JournaledToolset(WrapperToolset[Any]):
    """Each call of the wrapped toolset's tools is a journaled step `tool:<name>#n`."""

    def __init__(
        self, wrapped: AbstractToolset[Any], ctx: Context, calls: dict[str, int] | None = None
    ) -> None:
        """`calls` counts the calls of each tool name; share it between the toolsets of
        one run (`ctx.llm` does) so that step names stay unique across them."""
        super().__init__(wrapped)
        self.ctx = ctx
        self.calls = calls if calls is not None else {}

    async def call_tool(
        self, name: str, tool_args: dict[str, Any], ctx: RunContext[Any], tool: ToolsetTool[Any]
    ) -> Any:
        self.calls[name] = self.calls.get(name, 0) + 1

        async def call() -> Any:
            return to_jsonable_python(await self.wrapped.call_tool(name, tool_args, ctx, tool))

        return await self.ctx.step(f"tool:{name}#{self.calls[name]}", call)
