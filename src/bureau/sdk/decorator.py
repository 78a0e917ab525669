"""The `@agent` decorator and the immutable definition it produces."""

from __future__ import annotations

import functools
import inspect
import re
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from bureau.errors import UsageError
from bureau.sdk.mcp_tools import MCPServer, check_servers

if TYPE_CHECKING:
    from bureau.sdk.context import Context

AgentFunction = Callable[["Context"], Awaitable[Any]]
ReconcileHook = Callable[["Context", str], Awaitable[Any]]

_NAME = re.compile(r"^[a-z][a-z0-9-]{0,62}$")
_SEMVER = re.compile(r"^\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?$")
_MEDIA_TYPE = re.compile(
    r"^(\*/\*|[a-z0-9][a-z0-9!#$&^_.+-]{0,63}/(\*|[a-z0-9][a-z0-9!#$&^_.+-]{0,126}))$"
)


@dataclass(frozen=True)
class SLA:
    """Expected and maximum duration of one task, in seconds."""

    expected_seconds: float = 60.0
    max_seconds: float = 3600.0


@dataclass(frozen=True)
class RetryPolicy:
    """How a failing run is retried: exponential backoff with full jitter."""

    max_attempts: int = 3
    initial_delay: float = 1.0
    max_delay: float = 60.0
    multiplier: float = 2.0


@dataclass(frozen=True)
class AgentDefinition:
    """One version of one agent, as published to the catalog. Immutable."""

    name: str
    version: str
    fn: AgentFunction
    description: str = ""
    capabilities: tuple[str, ...] = ()
    input_schema: dict[str, Any] | None = None
    input_model: Any = None
    output_schema: dict[str, Any] | None = None
    price: Decimal = Decimal("0")
    sla: SLA = field(default_factory=SLA)
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    idle_timeout_seconds: float = 300.0
    profiles: tuple[str, ...] = ("fast", "balanced", "thorough")
    visibility: str = "public"
    reconcile: ReconcileHook | None = None
    mcp_servers: Mapping[str, MCPServer] = field(default_factory=dict)
    accepts_files: tuple[str, ...] = ()
    models: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    """The models it calls through `ctx.llm`, by profile (`"*"`: any profile), in the
    order they are tried."""
    models_required: bool = True
    """False: it works without its models too (`ctx.llm.available()`), less well."""

    @property
    def ref(self) -> str:
        return f"{self.name}@{self.version}"

    def catalog_entry(self) -> dict[str, Any]:
        """The JSON-serialisable description stored in the catalog."""
        return (
            {
                "name": self.name,
                "version": self.version,
                "description": self.description,
                "capabilities": list(self.capabilities),
                "input_schema": self.input_schema,
                "output_schema": self.output_schema,
                "price": str(self.price),
                "sla": {
                    "expected_seconds": self.sla.expected_seconds,
                    "max_seconds": self.sla.max_seconds,
                },
                "profiles": list(self.profiles),
                "visibility": self.visibility,
                "runtime": "python",
                "max_attempts": self.retry.max_attempts,
                "idle_timeout_seconds": self.idle_timeout_seconds,
            }
            | ({"accepts_files": list(self.accepts_files)} if self.accepts_files else {})
            | (
                {"models": {profile: list(names) for profile, names in self.models.items()}}
                if self.models
                else {}
            )
            | ({} if self.models_required else {"models_required": False})
        )


def _schema_of(input_schema: Any) -> tuple[dict[str, Any] | None, Any]:
    if input_schema is None:
        return None, None
    if isinstance(input_schema, Mapping):
        return dict(input_schema), None
    model_json_schema = getattr(input_schema, "model_json_schema", None)
    if callable(model_json_schema):
        return dict(model_json_schema()), input_schema
    raise UsageError(
        "input_schema must be a pydantic model class or a JSON Schema dict, "
        f"not {type(input_schema).__name__}"
    )


def agent(
    name: str,
    *,
    version: str = "0.1.0",
    description: str = "",
    capabilities: list[str] | tuple[str, ...] = (),
    input_schema: Any = None,
    output_schema: dict[str, Any] | None = None,
    price: str | int | Decimal = "0",
    sla: SLA | None = None,
    retry: RetryPolicy | None = None,
    idle_timeout_seconds: float = 300.0,
    visibility: str = "public",
    reconcile: ReconcileHook | None = None,
    mcp_servers: Mapping[str, MCPServer] | None = None,
    accepts_files: Sequence[str] = (),
    models: Sequence[str] | Mapping[str, Sequence[str]] = (),
    models_required: bool = True,
) -> Callable[[AgentFunction], AgentDefinition]:
    """Declare an agent. The decorated coroutine function receives a `Context`.

    `mcp_servers` names the MCP servers the agent uses (`ctx.mcp_tools(name)`,
    `ctx.call_tool(name, tool, arguments)`); their connections close when a run ends.

    `accepts_files` lists the media types of files the agent takes besides its JSON input
    (`["application/pdf", "image/*"]`, or `["*/*"]`): file parts of an A2A message come to
    it in `ctx.input["files"]`, each `{"name", "media_type"}` with `"url"` or `"base64"`
    (an `input_schema` must then allow `files`). Other files are refused.

    `models` names the models (`BUREAU_LLM_MODELS`) its `ctx.llm` calls use: a list for
    every profile, or a list per profile (`{"fast": ["small"], "thorough": ["big",
    "small"]}`); a call tries them in order, falling back on an error or a timeout.
    `models_required=False` says it also works without them (it asks
    `ctx.llm.available()`): the catalog lists it as ready on a deployment without them.

    The result is an `AgentDefinition` (it stays callable through `.fn`). Raises
    `UsageError` at import time for a bad name, version, price or schema.
    """
    if not _NAME.match(name):
        raise UsageError(
            f"agent name {name!r} must be lowercase letters, digits and dashes, "
            "starting with a letter (max 63 characters)"
        )
    if not _SEMVER.match(version):
        raise UsageError(f"agent version {version!r} must be semver, like '1.0.0'")
    try:
        price_value = Decimal(str(price))
    except InvalidOperation:
        raise UsageError(f"price {price!r} must be a decimal number like '0.02'") from None
    if price_value < 0:
        raise UsageError("price must not be negative")
    if visibility not in ("public", "private"):
        raise UsageError("visibility must be 'public' or 'private'")
    schema, model = _schema_of(input_schema)
    servers = check_servers(mcp_servers)
    by_profile = {"*": models} if not isinstance(models, Mapping) else models
    for profile, names in by_profile.items():
        if profile not in ("*", "fast", "balanced", "thorough") or isinstance(names, str):
            raise UsageError(
                "models is a list of model names, or a mapping of fast/balanced/thorough "
                f"to lists; got {profile!r}: {names!r}"
            )
    for media_type in accepts_files:
        if not _MEDIA_TYPE.match(media_type):
            raise UsageError(
                f"accepts_files: {media_type!r} is not a media type like 'application/pdf', "
                "'image/*' or '*/*'"
            )

    def wrap(fn: AgentFunction) -> AgentDefinition:
        if not inspect.iscoroutinefunction(fn):
            raise UsageError(
                f"agent {name!r}: {getattr(fn, '__name__', fn)!r} is not a coroutine function; "
                f"write it as `async def {getattr(fn, '__name__', 'run')}(ctx: Context): ...` "
                "(blocking work goes in `await ctx.step(name, a_plain_function)`)"
            )
        return AgentDefinition(
            name=name,
            version=version,
            fn=_closing_tools(fn) if servers else fn,
            description=description or (fn.__doc__ or "").strip().split("\n")[0],
            capabilities=tuple(capabilities),
            input_schema=schema,
            input_model=model,
            output_schema=output_schema,
            price=price_value,
            sla=sla or SLA(),
            retry=retry or RetryPolicy(),
            idle_timeout_seconds=idle_timeout_seconds,
            visibility=visibility,
            reconcile=reconcile,
            mcp_servers=servers,
            accepts_files=tuple(accepts_files),
            models={profile: tuple(names) for profile, names in by_profile.items() if names},
            models_required=models_required,
        )

    return wrap


def _closing_tools(fn: AgentFunction) -> AgentFunction:
    """`fn`, closing the run's MCP connections however it ends (done, failed, parked)."""

    @functools.wraps(fn)
    async def run(ctx: Context) -> Any:
        try:
            return await fn(ctx)
        finally:
            await ctx.close_tools()

    return run
