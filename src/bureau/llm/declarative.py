"""Declarative LLM agents: agents written as a YAML (or TOML) file instead of Python.

A file holds `agents:`, a list. Each agent states what `@agent(...)` takes (name, version,
description, capabilities, price, sla, visibility, models, input and output schemas) and
what its one `ctx.llm.chat` call takes: instructions, tools, `max_turns` and a prompt
template. `load_file(path)` validates the whole file and imports the Python tools it
names, so a mistake stops `bureau serve --agents file.yaml` at once with one line naming
the file and the field. Each agent is an `AgentDefinition` like any other: its task
renders the prompt, runs the chat (every model and tool call a journaled step) and
delivers the answer, the structured object when there is an `output_schema`.
"""

from __future__ import annotations

import importlib
import json
import re
import sys
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any, Literal

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_ai.exceptions import UnexpectedModelBehavior, UserError
from pydantic_ai.output import StructuredDict
from pydantic_core import ErrorDetails

from bureau.errors import UsageError
from bureau.sdk.decorator import SLA, AgentDefinition, agent
from bureau.sdk.mcp_tools import MCPServer
from bureau.sdk.signals import Fatal

if TYPE_CHECKING:
    from bureau.sdk.context import Context

PROFILES = ("fast", "balanced", "thorough")
_PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_.]*)\}")
_INPUT_FIELD = re.compile(r"^input\.([A-Za-z_][A-Za-z0-9_]*)$")
_MAX_ERRORS_SHOWN = 5


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SLASpec(_Strict):
    expected_seconds: float = Field(60.0, gt=0)
    max_seconds: float = Field(3600.0, gt=0)

    @model_validator(mode="after")
    def _ordered(self) -> SLASpec:
        if self.expected_seconds > self.max_seconds:
            raise ValueError("expected_seconds must not exceed max_seconds")
        return self


class MCPServerSpec(_Strict):
    """An `MCPServer`: `url` (streamable HTTP) or `command` (stdio); headers, env and
    command arguments may hold `${secret:NAME}`."""

    url: str | None = None
    command: list[str] | None = None
    headers: dict[str, str] = Field(default_factory=dict)
    env: dict[str, str] = Field(default_factory=dict)
    cwd: str | None = None
    timeout_seconds: float = Field(60.0, gt=0)


class ToolSpec(_Strict):
    """Exactly one of: a Python function by import path, MCP servers, an agent to delegate
    to, or `ask: true` (the model may ask the consumer, `ctx.ask`)."""

    python: str | None = Field(None, pattern=r"^[A-Za-z_][\w.]*:[A-Za-z_]\w*$")
    mcp: dict[str, MCPServerSpec] | None = Field(None, min_length=1)
    agent: str | None = Field(None, pattern=r"^[a-z][a-z0-9-]{0,62}$")
    ask: bool | None = None

    @model_validator(mode="after")
    def _one_kind(self) -> ToolSpec:
        given = [
            kind for kind in ("python", "mcp", "agent", "ask") if getattr(self, kind) is not None
        ]
        if len(given) != 1:
            raise ValueError(
                "a tool is exactly one of `python: package.module:function`, "
                "`mcp: {name: {url: ...}}`, `agent: agent-name` or `ask: true`"
                + (f"; this one has {' and '.join(given)}" if given else "")
            )
        return self


class AgentSpec(_Strict):
    """One declarative agent, as written in the file."""

    name: str
    version: str = "0.1.0"
    description: str = ""
    capabilities: list[str] = Field(default_factory=list)
    price: Decimal = Field(Decimal(0), ge=0)
    sla: SLASpec = Field(default_factory=SLASpec)
    visibility: Literal["public", "private"] = "public"
    models: list[str] | dict[str, list[str]]
    instructions: str | None = None
    tools: list[ToolSpec] = Field(default_factory=list)
    input_schema: dict[str, Any] | None = None
    output_schema: dict[str, Any] | None = None
    max_turns: int = Field(10, ge=1, le=100)
    prompt: str | None = None

    @field_validator("version", mode="before")
    @classmethod
    def _version_text(cls, value: Any) -> Any:
        # YAML reads `version: 1.0` as a number; say what is wrong with it as a version
        return str(value) if isinstance(value, int | float) else value

    @field_validator("models", mode="before")
    @classmethod
    def _models_shape(cls, value: Any) -> Any:
        lists = [value] if isinstance(value, list) else None
        if isinstance(value, dict) and value and set(value) <= set(PROFILES):
            lists = list(value.values())
        if lists is None or not all(isinstance(names, list) and names for names in lists):
            raise ValueError(
                "models is a non-empty list of model names (BUREAU_LLM_MODELS), or a mapping "
                "of fast, balanced and thorough to such lists"
            )
        return value

    @field_validator("input_schema", "output_schema")
    @classmethod
    def _json_schema(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        if value is not None:
            try:
                Draft202012Validator.check_schema(value)
            except SchemaError as exc:
                raise ValueError(f"not a valid JSON Schema: {exc.message}") from None
        return value

    @field_validator("output_schema")
    @classmethod
    def _an_object(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        if value is not None:
            if value.get("type") != "object":
                raise ValueError(
                    "must describe an object (`type: object`): the model answers with its fields"
                )
            try:
                StructuredDict(dict(value))
            except UserError as exc:
                raise ValueError(str(exc)) from None
        return value

    @model_validator(mode="after")
    def _known_placeholders(self) -> AgentSpec:
        if self.prompt is None:
            return self
        fields = (self.input_schema or {}).get("properties")
        for placeholder in _PLACEHOLDER.findall(self.prompt):
            field = _INPUT_FIELD.match(placeholder)
            if placeholder in ("goal", "input"):
                continue
            if field is None:
                raise ValueError(
                    f"prompt: unknown placeholder {{{placeholder}}}; use {{goal}}, {{input}} "
                    "(the input as JSON) or {input.FIELD}"
                )
            if isinstance(fields, dict) and field[1] not in fields:
                raise ValueError(
                    f"prompt: {{{placeholder}}} names no property of input_schema "
                    f"(it has {', '.join(sorted(fields)) or 'none'})"
                )
        return self


class AgentFile(_Strict):
    agents: list[AgentSpec] = Field(min_length=1)


def load_file(path: str | Path) -> list[AgentDefinition]:
    """The agents declared in the YAML (`.yaml`, `.yml`) or TOML (`.toml`) file `path`.

    Python tools are imported now: from the installed modules, else from the file's own
    directory (so `python: my_tools:lookup` finds `my_tools.py` beside the file). Raises
    `UsageError` with one line naming the file and the field for anything wrong.
    """
    path = Path(path)
    data = _read(path)
    if not isinstance(data, dict):
        raise UsageError(f"{path}: expected a mapping with `agents:`, a list of agents")
    try:
        declared = AgentFile.model_validate(data)
    except ValidationError as exc:
        raise UsageError(f"{path}: {_described(exc.errors())}") from None
    return [
        _definition(spec, f"{path}: agents[{index}]", path.parent)
        for index, spec in enumerate(declared.agents)
    ]


def _read(path: Path) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"{path}: cannot read the file ({exc.strerror})") from None
    if path.suffix == ".toml":
        try:
            return tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise UsageError(f"{path}: invalid TOML: {exc}") from None
    try:
        import yaml  # type: ignore[import-untyped, unused-ignore]
    except ImportError:  # pragma: no cover - PyYAML comes with Bureau
        raise UsageError(f"{path}: reading YAML needs PyYAML: pip install pyyaml") from None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark is not None else f"{path}"
        problem = getattr(exc, "problem", None) or str(exc)
        raise UsageError(f"{where}: invalid YAML: {problem}") from None


def _described(errors: list[ErrorDetails]) -> str:
    """Pydantic's errors as one line: `agents[0].tools[1].python: what is wrong; ...`."""
    parts = []
    for error in errors[:_MAX_ERRORS_SHOWN]:
        where = "".join(
            f"[{part}]" if isinstance(part, int) else f".{part}" for part in error["loc"]
        ).lstrip(".")
        if error["type"] == "extra_forbidden":
            message = "unknown field"
        elif error["type"] == "missing":
            message = "required"
        elif error["type"] == "value_error":
            message = str(error.get("ctx", {}).get("error", error["msg"]))
        else:
            message = error["msg"]
        parts.append(f"{where}: {message}" if where else message)
    more = len(errors) - _MAX_ERRORS_SHOWN
    return "; ".join(parts) + (f" (and {more} more)" if more > 0 else "")


@dataclass(frozen=True)
class DeclaredChat:
    """What one declarative agent's task does: render the prompt, run the chat."""

    prompt: str | None
    instructions: str | None
    tools: tuple[Callable[..., Any], ...]
    ask: bool
    agents: tuple[str, ...]
    mcp: tuple[str, ...]
    output: Mapping[str, Any] | None
    max_turns: int

    def render(self, goal: str, input: Mapping[str, Any]) -> str:
        """The prompt: the template with `{goal}`, `{input}` (JSON) and `{input.FIELD}`
        (a string as is, anything else as JSON, nothing when absent) filled in; without a
        template, the goal, then the input as JSON when there is one."""
        if self.prompt is None:
            if not input:
                return goal
            return f"{goal}\n\nInput:\n{_as_json(dict(input))}"

        def fill(match: re.Match[str]) -> str:
            name = match[1]
            if name == "goal":
                return goal
            if name == "input":
                return _as_json(dict(input))
            value = input.get(name.removeprefix("input."))
            if value is None:
                return ""
            return value if isinstance(value, str) else _as_json(value)

        return _PLACEHOLDER.sub(fill, self.prompt)

    async def __call__(self, ctx: Context) -> Any:
        prompt = self.render(ctx.goal, ctx.raw_input)
        try:
            result = await ctx.llm.chat(
                prompt,
                instructions=self.instructions,
                tools=self.tools,
                ask=self.ask,
                agents=self.agents,
                mcp=self.mcp,
                output=self.output,
                max_turns=self.max_turns,
            )
        except UnexpectedModelBehavior as exc:
            # the model's calls are journaled: a retry would replay the same answers
            raise Fatal(f"the model's answer was not usable: {exc}") from exc
        return dict(result.output) if self.output is not None else result.output


def _as_json(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False, default=str)


def _definition(spec: AgentSpec, where: str, base: Path) -> AgentDefinition:
    functions: list[Callable[..., Any]] = []
    servers: dict[str, MCPServer] = {}
    for index, tool in enumerate(spec.tools):
        at = f"{where}.tools[{index}]"
        if tool.python is not None:
            functions.append(_import_function(tool.python, base, f"{at}.python"))
        for name, server in (tool.mcp or {}).items():
            if name in servers:
                raise UsageError(f"{at}.mcp.{name}: the MCP server {name!r} is declared twice")
            try:
                servers[name] = MCPServer(**server.model_dump())
            except UsageError as exc:
                raise UsageError(f"{at}.mcp.{name}: {exc.detail}") from None
    chat = DeclaredChat(
        prompt=spec.prompt,
        instructions=spec.instructions,
        tools=tuple(functions),
        ask=any(tool.ask for tool in spec.tools),
        agents=tuple(tool.agent for tool in spec.tools if tool.agent is not None),
        mcp=tuple(servers),
        output=spec.output_schema,
        max_turns=spec.max_turns,
    )

    async def run(ctx: Context) -> Any:
        return await chat(ctx)

    run.__name__ = run.__qualname__ = spec.name.replace("-", "_")
    try:
        return agent(
            spec.name,
            version=spec.version,
            description=spec.description,
            capabilities=spec.capabilities,
            input_schema=spec.input_schema,
            output_schema=spec.output_schema,
            price=spec.price,
            sla=SLA(spec.sla.expected_seconds, spec.sla.max_seconds),
            visibility=spec.visibility,
            mcp_servers=servers,
            models=spec.models,
        )(run)
    except UsageError as exc:
        raise UsageError(f"{where}: {exc.detail}") from None


def _import_function(reference: str, base: Path, where: str) -> Callable[..., Any]:
    module_name, _, attribute = reference.partition(":")
    try:
        module = _import_module(module_name, base)
    except ImportError as exc:
        raise UsageError(
            f"{where}: cannot import {module_name!r} ({exc}); it is looked for among the "
            f"installed modules and in {base}"
        ) from None
    function = getattr(module, attribute, None)
    if not callable(function):
        raise UsageError(f"{where}: module {module_name!r} has no function {attribute!r}")
    return function  # type: ignore[no-any-return]


def _import_module(name: str, base: Path) -> ModuleType:
    """`name` from the installed modules, or else from `base` (a module beside the file)."""
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as exc:
        # only when `name` itself (or a parent) is missing, not a module it imports
        if exc.name is None or not (name == exc.name or name.startswith(f"{exc.name}.")):
            raise
    directory = str(base.resolve())
    added = directory not in sys.path
    if added:
        sys.path.append(directory)
    try:
        return importlib.import_module(name)
    finally:
        if added:
            sys.path.remove(directory)
