"""A scripted model for unit tests of LLM agents: answers in order, counts its calls.

    from bureau.testing import ScriptedModel, said, tool_call

    model = ScriptedModel(tool_call("add", a=2, b=3), said("5"))
    result = await run_agent(my_agent, "2+3?", models={"main": model})
    assert model.calls == 2

It is a pydantic-ai `FunctionModel`, so it stands wherever a model does; an answer that
is an exception is raised instead (a provider's failure, to test fallback).
"""

from __future__ import annotations

from typing import Any

from pydantic_ai.messages import ModelMessage, ModelResponse, TextPart, ToolCallPart
from pydantic_ai.models.function import AgentInfo, FunctionModel
from pydantic_ai.usage import RequestUsage

from bureau.errors import UsageError


def said(text: str, input_tokens: int = 10, output_tokens: int = 2) -> ModelResponse:
    """A text answer, with its usage."""
    usage = RequestUsage(input_tokens=input_tokens, output_tokens=output_tokens)
    return ModelResponse(parts=[TextPart(text)], usage=usage)


def tool_call(
    name: str, input_tokens: int = 10, output_tokens: int = 2, **args: Any
) -> ModelResponse:
    """An answer that calls the tool `name` with `args` (a structured output is the tool
    `final_result` called with the output's fields)."""
    usage = RequestUsage(input_tokens=input_tokens, output_tokens=output_tokens)
    return ModelResponse(parts=[ToolCallPart(name, args)], usage=usage)


class ScriptedModel(FunctionModel):
    """Answers with `answers` in order; `calls` counts the requests, `requests` keeps the
    messages of each."""

    def __init__(self, *answers: ModelResponse | BaseException) -> None:
        self.answers = list(answers)
        self.calls = 0
        self.requests: list[list[ModelMessage]] = []
        super().__init__(self._answer, model_name="scripted")

    def _answer(self, messages: list[ModelMessage], info: AgentInfo) -> ModelResponse:
        if self.calls >= len(self.answers):
            raise UsageError(
                f"the scripted model has {len(self.answers)} answers; "
                f"call {self.calls + 1} has none"
            )
        answer = self.answers[self.calls]
        self.calls += 1
        self.requests.append(list(messages))
        if isinstance(answer, BaseException):
            raise answer
        return answer
