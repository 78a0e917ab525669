"""Public testing helpers for agent publishers.

`run_agent` runs an agent in-process with scripted replies (see `bureau.sdk.testing`) and,
for an LLM agent, scripted models (`ScriptedModel`, `said`, `tool_call`).
`OpenAITestServer` (`bureau.testing.openai_server`) is a local OpenAI-compatible server
answering from a script, for end-to-end tests of LLM agents with no network. The model
helpers import pydantic-ai on first use, so importing `bureau.testing` stays cheap.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from bureau.sdk.testing import RunResult, run_agent
from bureau.testing.openai_server import (
    OpenAITestServer,
    ScriptedError,
    ScriptedResponse,
    ToolCall,
    Usage,
)

if TYPE_CHECKING:
    from bureau.testing.scripted_model import ScriptedModel, said, tool_call

__all__ = [
    "OpenAITestServer",
    "RunResult",
    "ScriptedError",
    "ScriptedModel",
    "ScriptedResponse",
    "ToolCall",
    "Usage",
    "run_agent",
    "said",
    "tool_call",
]


def __getattr__(name: str) -> Any:
    if name in ("ScriptedModel", "said", "tool_call"):
        from bureau.testing import scripted_model

        return getattr(scripted_model, name)
    raise AttributeError(f"module 'bureau.testing' has no attribute {name!r}")
