"""`Context`: what an agent function receives, and the replay model behind it.

Every durable call (`step`, `plan`, `progress`, `ask`, `delegate`, `artifact`) takes the
next position of the run. When an earlier execution already journaled that position, the
call returns the recorded result at once and acts no more; that is how a resumed task skips
finished work without duplicating events. Code between durable calls must be
deterministic.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import mimetypes
import time
from collections.abc import Awaitable, Callable, Iterator, MutableMapping
from typing import TYPE_CHECKING, Any, TypeVar

from bureau.errors import UsageError
from bureau.sdk.decorator import AgentDefinition
from bureau.sdk.mcp_tools import (
    MCPConnections,
    MCPHost,
    MCPServer,
    ToolError,
    content_of,
    tool_listing,
    tool_outcome,
)
from bureau.sdk.runtime import JournalEntry, Runtime
from bureau.sdk.signals import DelegationFailed, Fatal, IndeterminateStep, NonDeterminism

if TYPE_CHECKING:
    from bureau.llm.chat import LLM

T = TypeVar("T")


class Context:
    """The handle an agent uses to do durable work for one task.

    Attributes:
        task_id: the task's id.
        goal: what the consumer asked for, in words.
        input: the task input, validated; an instance of the agent's pydantic model when it
            declared one, else a dict.
        session: the session's key/value state (empty dict-like when the task has none);
            changes are saved when the task completes.
        feedback: the reviewer's reason when this run is a redo after a rejection.
        profile: `fast`, `balanced` or `thorough`, as asked by the consumer.
        attempt: 1 for the first execution of this run, 2 after one retry, and so on.
    """

    def __init__(
        self,
        runtime: Runtime,
        definition: AgentDefinition,
        *,
        task_id: str,
        goal: str,
        input: dict[str, Any],
        session: MutableMapping[str, Any] | None = None,
        feedback: str | None = None,
        profile: str = "balanced",
        attempt: int = 1,
        metadata: dict[str, Any] | None = None,
    ) -> None:
        self._runtime = runtime
        self.definition = definition
        self.task_id = task_id
        self.goal = goal
        self.raw_input = input
        self.input: Any = (
            definition.input_model.model_validate(input) if definition.input_model else input
        )
        self.session: MutableMapping[str, Any] = session if session is not None else {}
        self.feedback = feedback
        self.profile = profile
        self.attempt = attempt
        self.metadata = metadata or {}
        self._position = 0
        self._step_names: set[str] = set()
        self.active_steps = 0  # steps running and durable calls being written
        self._tools: MCPConnections | None = None
        self._tool_calls: dict[str, int] = {}
        self._llm: LLM | None = None

    # -- replay bookkeeping -------------------------------------------------------------

    def _next(self, kind: str, name: str) -> tuple[int, JournalEntry | None]:
        self._position += 1
        position = self._position
        entry = self._runtime.journal.get(position)
        if entry is not None and (entry.kind != kind or entry.name != name):
            raise NonDeterminism(
                f"on replay, durable call #{position} was {kind} {name!r} but the journal "
                f"recorded {entry.kind} {entry.name!r}; code between steps must be "
                "deterministic"
            )
        return position, entry

    @contextlib.contextmanager
    def _writing(self) -> Iterator[None]:
        """A durable call being recorded counts as work in flight, like a running step: a
        sibling's park must not cancel the run before the call is recorded."""
        self.active_steps += 1
        try:
            yield
        finally:
            self.active_steps -= 1

    # -- models -------------------------------------------------------------------------

    @property
    def llm(self) -> LLM:
        """Model access: `await ctx.llm.chat(prompt, tools=..., output=...)` (see
        `bureau.llm.chat.LLM`); every model call and tool call is a journaled step."""
        if self._llm is None:
            from bureau.llm.chat import LLM

            self._llm = LLM(self, getattr(self._runtime, "models", None))
        return self._llm

    async def _model_call(self, name: str, fn: Callable[[], Awaitable[Any]]) -> Any:
        """A model call as a journaled step whose prompt and completion stay out of the
        step's event; its usage is metered (when run, and when replayed)."""
        result = await self._step(name, fn, (), {}, preview=False)
        meter = getattr(self._runtime, "meter", None)
        if meter is not None:
            meter(result["attempts"])
        return result

    async def _publisher_secret(self, name: str) -> str | None:
        """The secret `name` of the tenant that published the agent (None when unset)."""
        host = getattr(self._runtime, "mcp_secrets", None)
        found: dict[str, str] = await host([name]) if host is not None else {}
        return found.get(name)

    # -- durable calls ------------------------------------------------------------------

    async def step(
        self,
        name: str,
        fn: Callable[..., Any],
        /,
        *args: Any,
        idempotent: bool = True,
        **kwargs: Any,
    ) -> Any:
        """Run `fn(*args, **kwargs)` once and journal its JSON-serialisable result.

        A sync callable runs in a thread so it cannot stall other tasks. After a crash a
        completed step returns its journaled result without running. `idempotent=False`
        records the start first; if a crash interrupts it, the agent's `reconcile` hook
        decides the result (without one the task fails as indeterminate).
        """
        return await self._step(name, fn, args, kwargs, idempotent=idempotent)

    async def _step(
        self,
        name: str,
        fn: Callable[..., Any],
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        *,
        idempotent: bool = True,
        preview: bool = True,
    ) -> Any:
        """`step`; without `preview` the result stays out of the `step.completed` event."""
        if name in self._step_names:
            raise UsageError(f"step name {name!r} is used twice in one run; add an index")
        self._step_names.add(name)
        position, entry = self._next("step", name)
        if entry is not None and entry.status == "completed":
            return entry.result
        self.active_steps += 1
        try:
            if entry is not None and entry.status == "started":
                reconcile = self.definition.reconcile
                if reconcile is None:
                    raise IndeterminateStep(
                        f"step {name!r} is not idempotent and was interrupted; "
                        "declare reconcile= on the agent to decide its outcome"
                    )
                result = await reconcile(self, name)
            else:
                await self._runtime.step_started(position, name, durable=not idempotent)
                started = time.perf_counter()
                try:
                    result = await _call(fn, args, kwargs)
                except Exception as exc:
                    await self._runtime.step_failed(position, name, _describe(exc))
                    raise
                await self._runtime.step_completed(
                    position, name, result, seconds=time.perf_counter() - started, preview=preview
                )
                return result
            await self._runtime.step_completed(position, name, result, seconds=0.0, preview=preview)
            return result
        finally:
            self.active_steps -= 1

    async def plan(self, steps: list[str]) -> None:
        """Announce the plan: a list of step titles shown to the consumer."""
        if not isinstance(steps, list) or not all(isinstance(s, str) for s in steps):
            raise UsageError("ctx.plan takes a list of strings")
        position, entry = self._next("plan", "plan")
        if entry is None:
            with self._writing():
                await self._runtime.record(position, "plan", "plan", steps)

    async def progress(self, fraction: float | None = None, message: str = "") -> None:
        """Report progress (0..1 and/or a message); resets the idle timeout."""
        if fraction is not None and not 0.0 <= fraction <= 1.0:
            raise UsageError("progress fraction must be between 0 and 1")
        position, entry = self._next("progress", "progress")
        if entry is None:
            with self._writing():
                await self._runtime.record(
                    position, "progress", "progress", {"fraction": fraction, "message": message}
                )

    async def ask(self, text: str, schema: dict[str, Any] | None = None) -> Any:
        """Ask the consumer a question; the task is `input-required` until answered.

        Returns the reply's `data` when a schema was given (validated against it), else
        the reply's `text`. While waiting the task holds no worker and no memory.
        """
        position, entry = self._next("ask", "ask")
        if entry is not None and entry.status == "completed":
            reply: dict[str, Any] = entry.result
            return reply.get("data") if schema is not None else reply.get("text")
        if entry is None:
            with self._writing():
                await self._runtime.ask(position, text, schema)
        await self._runtime.park("question")

    async def delegate(
        self,
        agent: str,
        goal: str,
        input: dict[str, Any] | None = None,
        *,
        profile: str | None = None,
    ) -> Any:
        """Dispatch a child task to another agent and return its deliverable.

        The parent waits durably (it holds no worker); several delegations started with
        `asyncio.gather` run in parallel. Canceling the parent cancels the child; the
        child's cost rolls up into the parent's. Raises `DelegationFailed` if the child
        fails or is canceled.
        """
        position, entry = self._next("delegate", agent)
        if entry is not None and entry.status == "completed":
            outcome: dict[str, Any] = entry.result
            if outcome["status"] != "completed":
                raise DelegationFailed(
                    agent, outcome["task_id"], outcome["status"], outcome.get("error")
                )
            return outcome.get("deliverable")
        if entry is None:
            with self._writing():
                await self._runtime.delegate(position, agent, goal, input or {}, profile)
        await self._runtime.park("child")

    async def artifact(
        self, name: str, content: bytes | str, media_type: str | None = None
    ) -> dict[str, Any]:
        """Store a file as part of the deliverable; returns its description."""
        if not name or "/" in name or "\\" in name or name.startswith("."):
            raise UsageError(f"artifact name {name!r} must be a plain file name")
        data = content.encode() if isinstance(content, str) else content
        kind = media_type or mimetypes.guess_type(name)[0] or "application/octet-stream"
        position, entry = self._next("artifact", name)
        if entry is not None and entry.status == "completed":
            described: dict[str, Any] = entry.result
            return described
        with self._writing():
            return await self._runtime.artifact(position, name, data, kind)

    # -- MCP tools ----------------------------------------------------------------------

    def _connections(self) -> MCPConnections:
        if self._tools is None:
            host: MCPHost | None = (
                self._runtime  # type: ignore[assignment]
                if hasattr(self._runtime, "mcp_secrets")
                else None
            )
            self._tools = MCPConnections(self.definition.mcp_servers, host)
        return self._tools

    def _tool_step(self, server: str, what: str) -> str:
        key = f"mcp:{server}/{what}"
        self._tool_calls[key] = self._tool_calls.get(key, 0) + 1
        return f"{key}#{self._tool_calls[key]}"

    async def mcp_tools(self, server: str | MCPServer) -> list[dict[str, Any]]:
        """The tools of an MCP server: `name`, `description` and `input_schema` of each.
        A journaled step (`mcp:<server>/tools/list#n`).

        `server` is a declared server's name, or an `MCPServer(url=...)` given at run time
        (say, from the task input): it has no command and no secret references, and its
        journal name is `<host>~<digest of the URL>`, stable and distinct per URL.

        Raises `UsageError` for a server it may not use, `Fatal` for a missing secret,
        `RefusedServer` (a `Fatal`) for a URL the outbound rules refuse, `Retry` when the
        server cannot be reached."""
        connections = self._connections()
        name = connections.name_of(server)

        async def listing() -> list[dict[str, Any]]:
            async def fetch(client: Any) -> list[Any]:
                tools: list[Any] = []
                cursor: str | None = None
                while True:
                    page = await client.list_tools(cursor=cursor)
                    tools.extend(page.tools)
                    cursor = page.next_cursor
                    if not cursor:
                        return tools

            return tool_listing(await connections.call(name, fetch, "to list its tools"))

        listed: list[dict[str, Any]] = await self.step(self._tool_step(name, "tools/list"), listing)
        return listed

    async def call_tool(
        self, server: str | MCPServer, tool: str, arguments: dict[str, Any] | None = None
    ) -> Any:
        """Call `tool` of an MCP server (a declared name or an `MCPServer`, as for
        `mcp_tools`); returns its structured content, else its text. A journaled step
        (`mcp:<server>/<tool>#n`): after a crash or a park a completed call returns its
        recorded result and the server is not called again.

        Raises `ToolError` when the tool answers with an error (also journaled), and what
        `mcp_tools` raises."""
        outcome = await self._call(server, tool, arguments)
        return outcome["value"]

    async def call_tool_content(
        self, server: str | MCPServer, tool: str, arguments: dict[str, Any] | None = None
    ) -> list[dict[str, Any]]:
        """Like `call_tool`, one journaled step of the same name, but returns the result's
        content parts: `{"type": "text", "text"}`, `{"type": "resource", "uri",
        "mime_type", "text"}` (an embedded resource; `text` None for binary data),
        `{"type": "resource_link", "uri", "name", "mime_type"}`, or `{"type": "image" |
        "audio", "mime_type"}` (binary data is not journaled)."""
        return content_of(await self._call(server, tool, arguments))

    async def _call(
        self, server: str | MCPServer, tool: str, arguments: dict[str, Any] | None
    ) -> dict[str, Any]:
        connections = self._connections()
        name = connections.name_of(server)

        async def calling() -> dict[str, Any]:
            async def send(client: Any) -> Any:
                return await client.call_tool(tool, arguments or {})

            return tool_outcome(await connections.call(name, send, f"calling {tool!r}"))

        outcome: dict[str, Any] = await self.step(self._tool_step(name, tool), calling)
        if outcome["error"]:
            message = str(outcome["value"]) or "the tool reported an error"
            raise ToolError(connections.display(name), tool, message)
        return outcome

    async def close_tools(self) -> None:
        """Close the run's MCP connections (done for the agent when its run ends)."""
        if self._tools is not None:
            tools, self._tools = self._tools, None
            await tools.close()


async def _call(fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    if inspect.iscoroutinefunction(fn):
        return await fn(*args, **kwargs)
    result = await asyncio.to_thread(fn, *args, **kwargs)
    if inspect.isawaitable(result):
        return await result
    return result


def _describe(exc: BaseException) -> str:
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


__all__ = ["Context", "DelegationFailed", "Fatal", "ToolError"]
