"""The Python client of Bureau's REST API (`/v1`), synchronous, on httpx.

`Client` finds the server and the key the way the CLI does: arguments first, then the
environment (`BUREAU_URL`, `BUREAU_API_KEY`, `BUREAU_DATA_DIR`), then the admin key that
`bureau serve` writes to `DATA_DIR/admin-key`. Every method is one HTTP call except
`stream` (SSE, resumed with `Last-Event-ID` after a dropped connection) and `wait`
(long-polls until the task stops or needs input). Errors the server reports arrive as
`ApiError`; a server that cannot be reached as `BureauUnreachable`.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import quote

import httpx
import orjson

from bureau import __version__
from bureau.errors import BureauError
from bureau.states import STOP_STATUSES, TERMINAL_STATUSES, EventType, TaskStatus

__all__ = [
    "STATUSES",
    "STOP_STATUSES",
    "TERMINAL_STATUSES",
    "ApiError",
    "BureauUnreachable",
    "Client",
    "ClientError",
    "MissingApiKey",
    "SSEDecoder",
    "ServerSentEvent",
    "parse_sse",
]

SERVER_URL_FILE = "server-url"
"""Where a running server records its URL in its data dir, for the CLI and the client."""
DEFAULT_URL = "http://127.0.0.1:8000"
DEFAULT_DATA_DIR = Path(".bureau")
STATUSES = tuple(TaskStatus)
LONG_POLL_SECONDS = 30.0  # one long-poll request; the server allows up to 60 s
STREAM_READ_SECONDS = 30.0  # at least twice the server's heartbeat interval (15 s)

# JSON objects as the API sends them; their fields are listed in ARCHITECTURE.md.
Task = dict[str, Any]
Event = dict[str, Any]
Agent = dict[str, Any]
Key = dict[str, Any]
Tenant = dict[str, Any]


class ClientError(BureauError):
    """Root of the client's errors; `detail` says what happened and what to do."""

    code = "client"
    title = "Client error"


class ApiError(ClientError):
    """The server answered with an error (an RFC 9457 problem+json body).

    `status` is the HTTP status, `code` the problem's stable code, `body` the whole problem.
    """

    def __init__(self, status: int, code: str, detail: str, body: dict[str, Any]) -> None:
        super().__init__(detail)
        self.status = status
        self.code = code
        self.body = body

    def __str__(self) -> str:
        return f"{self.detail} ({self.code}, HTTP {self.status})"


class BureauUnreachable(ClientError):
    """No answer from the server: connection refused, timed out or dropped."""

    code = "unreachable"
    title = "Bureau unreachable"


class MissingApiKey(ClientError):
    """No API key was passed or found; `detail` names where the client looked."""

    code = "missing_api_key"
    title = "No API key"


def resolve_url(url: str | None, data_dir: str | Path | None = None) -> str:
    """The server URL: `url`, else `BUREAU_URL`, else the URL a server running on DATA_DIR
    recorded there (`DATA_DIR/server-url`), else http://127.0.0.1:8000."""
    found = url or os.environ.get("BUREAU_URL")
    if not found:
        directory = Path(data_dir or os.environ.get("BUREAU_DATA_DIR") or DEFAULT_DATA_DIR)
        try:
            found = (directory / SERVER_URL_FILE).read_text(encoding="utf-8").strip()
        except OSError:
            found = DEFAULT_URL
    return (found or DEFAULT_URL).rstrip("/")


def resolve_api_key(api_key: str | None, data_dir: str | Path | None) -> str:
    """The key: `api_key`, else `BUREAU_API_KEY`, else the file DATA_DIR/admin-key.

    DATA_DIR is `data_dir`, else `BUREAU_DATA_DIR`, else ./.bureau.

    Raises:
        MissingApiKey: none of them holds a key.
    """
    key = api_key or os.environ.get("BUREAU_API_KEY")
    if key:
        return key.strip()
    directory = Path(data_dir or os.environ.get("BUREAU_DATA_DIR") or DEFAULT_DATA_DIR)
    key_file = directory / "admin-key"
    try:
        key = key_file.read_text(encoding="utf-8").strip()
    except OSError:
        key = ""
    if key:
        return key
    raise MissingApiKey(
        f"no API key: pass --api-key, set BUREAU_API_KEY, or point --data-dir / "
        f"BUREAU_DATA_DIR at the data directory of `bureau serve` "
        f"(looked for {key_file.resolve()})"
    )


@dataclass(frozen=True)
class ServerSentEvent:
    """One dispatched SSE event (the WHATWG `text/event-stream` model)."""

    data: str
    event: str = "message"
    id: str | None = None


class SSEDecoder:
    """Decodes `text/event-stream` lines (without their line endings) into events.

    Follows the WHATWG rules: `:` starts a comment, one space after the field's colon is
    dropped, `data` lines join with newlines, a blank line dispatches, an event without
    data is not dispatched, `id` persists across events. `retry` (milliseconds) and
    `last_event_id` are kept on the decoder.
    """

    def __init__(self) -> None:
        self.last_event_id: str | None = None
        self.retry: int | None = None
        self._data: list[str] = []
        self._event = ""
        self._id: str | None = None

    def feed(self, line: str) -> ServerSentEvent | None:
        """Take one line; returns an event when `line` is the blank line that ends one."""
        if not line:
            return self._dispatch()
        if line.startswith(":"):
            return None
        field, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if field == "data":
            self._data.append(value)
        elif field == "event":
            self._event = value
        elif field == "id" and "\0" not in value:
            self._id = value
        elif field == "retry" and value.isascii() and value.isdigit():
            self.retry = int(value)
        return None

    def discard_pending(self) -> None:
        """Drop a partly received event (its connection was lost)."""
        self._data, self._event, self._id = [], "", None

    def _dispatch(self) -> ServerSentEvent | None:
        if self._id is not None:
            self.last_event_id = self._id
        data, event = self._data, self._event
        self._data, self._event = [], ""
        if not data:
            return None
        return ServerSentEvent("\n".join(data), event or "message", self.last_event_id)


def parse_sse(lines: Iterable[str]) -> Iterator[ServerSentEvent]:
    """The events in `lines` of a `text/event-stream` (an unterminated last event is dropped)."""
    decoder = SSEDecoder()
    for line in lines:
        if (event := decoder.feed(line)) is not None:
            yield event


def _event_of(sse: ServerSentEvent) -> Event:
    """The task event an SSE event carries (its data is the event object as JSON)."""
    try:
        payload: Any = orjson.loads(sse.data)
    except orjson.JSONDecodeError:
        payload = sse.data
    if isinstance(payload, dict) and "type" in payload and "seq" in payload:
        return payload
    return {"seq": _seq(sse.id) or None, "type": sse.event, "at": None, "data": payload}


def _check(response: httpx.Response) -> None:
    """Raise the server's problem as `ApiError` when `response` is an error."""
    if response.status_code < 400:
        return
    response.read()
    try:
        body = orjson.loads(response.content)
    except orjson.JSONDecodeError:
        body = None
    if not isinstance(body, dict):
        text = response.text.strip()[:200] or response.reason_phrase
        body = {"status": response.status_code, "detail": text, "code": "http_error"}
    detail = str(body.get("detail") or body.get("title") or response.reason_phrase)
    raise ApiError(response.status_code, str(body.get("code") or "http_error"), detail, body)


class Client:
    """A synchronous client of one Bureau server; use it as a context manager or `close()` it.

    Args:
        url: the server, default `BUREAU_URL` or http://127.0.0.1:8000.
        api_key: default `BUREAU_API_KEY` or DATA_DIR/admin-key.
        data_dir: where `bureau serve` keeps its data (default `BUREAU_DATA_DIR` or ./.bureau).
        timeout: seconds for one request (long-polls add their `wait`).
        transport: an httpx transport, e.g. `httpx.MockTransport` in tests.

    Raises:
        MissingApiKey: no key was given or found.
    """

    max_reconnects = 5  # consecutive failed reconnections of `stream` before it gives up

    def __init__(
        self,
        url: str | None = None,
        api_key: str | None = None,
        data_dir: str | Path | None = None,
        timeout: float = 30.0,
        *,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.url = resolve_url(url, data_dir)
        self.timeout = timeout
        self._http = httpx.Client(
            base_url=self.url,
            headers={
                "Authorization": f"Bearer {resolve_api_key(api_key, data_dir)}",
                "Accept": "application/json",
                "User-Agent": f"bureau-client/{__version__}",
            },
            timeout=timeout,
            transport=transport,
        )

    def __enter__(self) -> Client:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()

    def absolute(self, path: str) -> str:
        """`path` (such as an artifact's `url`) as a full URL on this server."""
        return path if "://" in path else self.url + path

    # -- catalog -----------------------------------------------------------------------

    def agents(self, q: str | None = None, capability: str | None = None) -> list[Agent]:
        """The catalog, filtered by text (`q`) and capability tag."""
        found: list[Agent] = self._json("GET", "/v1/agents", q=q, capability=capability)["agents"]
        return found

    def agent(self, name: str) -> Agent:
        """One agent, its `versions` as full version objects."""
        found: Agent = self._json("GET", f"/v1/agents/{_segment(name)}")
        return found

    def add_remote_agent(
        self,
        url: str,
        *,
        name: str | None = None,
        price: str | None = None,
        visibility: str | None = None,
        credential: str | None = None,
        credential_secret: str | None = None,
    ) -> Agent:
        """Publish the remote A2A agent at `url` (its card is read by the server) with
        runtime `a2a-remote`; `credential` (a bearer token or a whole `Authorization` value)
        is kept as a tenant secret, or name an existing one with `credential_secret`."""
        body: dict[str, Any] = {"url": url}
        for key, value in (
            ("name", name),
            ("price", price),
            ("visibility", visibility),
            ("credential", credential),
            ("credential_secret", credential_secret),
        ):
            if value is not None:
                body[key] = value
        found: Agent = self._object("POST", "/v1/remote-agents", body)
        return found

    def failures(self, agent: str, limit: int = 20) -> list[dict[str, Any]]:
        """The latest failed attempts of an agent the caller's tenant publishes, newest first:
        `task_id`, `agent_version`, `status`, `attempt`, `error`, `traceback`, `at`."""
        path = f"/v1/agents/{_segment(agent)}/failures"
        found: list[dict[str, Any]] = self._json("GET", path, limit=limit)["failures"]
        return found

    def runs(
        self, agent: str, *, status: str | None = None, limit: int = 50
    ) -> list[dict[str, Any]]:
        """The latest runs of an agent the caller's tenant publishes, across every consumer,
        newest first: `task_id`, `agent_version`, `status`, `profile`, `attempt`,
        `created_at`, `started_at`, `finished_at`, `duration_seconds`, `usage`, `cost`,
        `review`, `error`, `traceback` (never the consumer's goal, input or deliverable)."""
        path = f"/v1/agents/{_segment(agent)}/runs"
        found: list[dict[str, Any]] = self._json("GET", path, status=status, limit=limit)["runs"]
        return found

    # -- tasks -------------------------------------------------------------------------

    def dispatch(
        self,
        agent: str,
        goal: str,
        input: dict[str, Any] | None = None,
        *,
        profile: str | None = None,
        session_id: str | None = None,
        webhook_url: str | None = None,
        deadline_seconds: float | None = None,
        metadata: dict[str, Any] | None = None,
        on_busy: str | None = None,
        idempotency_key: str | None = None,
    ) -> Task:
        """Dispatch `goal` to `agent` ("name" or "name@version"); returns the new task.

        The server commits the task before answering. Sending the same `idempotency_key`
        with the same body returns the same task (a different body is a 409 `ApiError`).
        """
        body = {
            "agent": agent,
            "goal": goal,
            "input": input,
            "profile": profile,
            "session_id": session_id,
            "webhook": {"url": webhook_url} if webhook_url else None,
            "deadline_seconds": deadline_seconds,
            "metadata": metadata,
            "on_busy": on_busy,
        }
        headers = {"Idempotency-Key": idempotency_key} if idempotency_key else None
        return self._object("POST", "/v1/tasks", body, headers=headers)

    def task(self, id: str) -> Task:
        """The task as it is now."""
        return self._object("GET", _task_path(id))

    def tasks(
        self,
        status: str | None = None,
        agent: str | None = None,
        limit: int | None = None,
        cursor: str | None = None,
    ) -> dict[str, Any]:
        """One page of tasks, newest first: `{"tasks": [...], "next_cursor": str | None}`."""
        page: dict[str, Any] = self._json(
            "GET", "/v1/tasks", status=status, agent=agent, limit=limit, cursor=cursor
        )
        return page

    def dead_letters(self) -> list[Task]:
        """Tasks that failed after exhausting their attempts."""
        found: list[Task] = self._json("GET", "/v1/dead-letters")["tasks"]
        return found

    def events(self, id: str, after: int = 0, wait: float | None = None) -> dict[str, Any]:
        """Events after seq `after`: `{"events": [...], "status": <task status>}`.

        With `wait`, the server holds the request until an event exists or `wait` seconds
        pass (long-poll).
        """
        timeout = self.timeout + (wait or 0)
        page: dict[str, Any] = self._json(
            "GET", _task_path(id, "events"), timeout=timeout, after=after, wait=wait
        )
        return page

    def stream(self, id: str, last_event_id: int | str | None = None) -> Iterator[Event]:
        """The task's events live over SSE, starting after `last_event_id` (default: all).

        Ends after the terminal status event (the server then ends the stream). A stream
        that drops or ends early is resumed with `Last-Event-ID` after the server's `retry`
        delay, so no event is lost or repeated; `max_reconnects` failures in a row raise
        `BureauUnreachable`, as does a server that cannot be reached at all.
        """
        decoder = SSEDecoder()
        decoder.last_event_id = None if last_event_id is None else str(last_event_id)
        headers = {"Accept": "text/event-stream", "Cache-Control": "no-cache"}
        timeout = httpx.Timeout(self.timeout, read=max(self.timeout, STREAM_READ_SECONDS))
        connected, failures = False, 0
        while True:
            status, received = None, False
            if decoder.last_event_id is not None:
                headers["Last-Event-ID"] = decoder.last_event_id
            try:
                with self._http.stream(
                    "GET", _task_path(id, "events"), headers=headers, timeout=timeout
                ) as response:
                    _check(response)
                    connected = True
                    for line in response.iter_lines():
                        if (sse := decoder.feed(line)) is None:
                            continue
                        event, failures, received = _event_of(sse), 0, True
                        if event["type"] == EventType.STATUS and isinstance(event["data"], dict):
                            status = event["data"].get("status")
                        yield event
            except httpx.TransportError as exc:
                failures += 1
                if not connected or failures > self.max_reconnects:
                    raise self._unreachable(exc) from exc
            else:
                if status in TERMINAL_STATUSES:
                    return
                if not received:  # the server ends a stream with nothing new when the task ended
                    page = self.events(id, after=_seq(decoder.last_event_id))
                    if page.get("status") in TERMINAL_STATUSES:
                        yield from page["events"]  # closes the race with a late terminal event
                        return
                    failures += 1
                    if failures > self.max_reconnects:
                        raise BureauUnreachable(f"the event stream of task {id} keeps ending")
            decoder.discard_pending()
            time.sleep((1000 if decoder.retry is None else decoder.retry) / 1000)

    def reply(
        self,
        id: str,
        text: str | None = None,
        data: Any = None,
        question_id: str | None = None,
    ) -> Task:
        """Answer the task's question (or add context mid-run).

        With `question_id` the reply is a compare-and-set: a question already answered or a
        task no longer waiting is a 409 `ApiError`.
        """
        body = {"text": text, "data": data, "question_id": question_id}
        return self._object("POST", _task_path(id, "messages"), body)

    def cancel(self, id: str) -> Task:
        """Request cancellation (durable; the task reaches `canceled` within bounded time)."""
        return self._object("POST", _task_path(id, "cancel"), {})

    def accept(self, id: str, rating: int | None = None, comment: str | None = None) -> Task:
        """Accept a completed task's deliverable (settles its price); `rating` is 1..5."""
        return self._object(
            "POST", _task_path(id, "accept"), {"rating": rating, "comment": comment}
        )

    def reject(self, id: str, reason: str, redo: bool = False) -> Task:
        """Reject a completed task's deliverable; `redo` asks for a new attempt."""
        return self._object("POST", _task_path(id, "reject"), {"reason": reason, "redo": redo})

    def artifact(self, id: str, name: str) -> bytes:
        """The bytes of the task's artifact `name`."""
        return self._send("GET", _task_path(id, "artifacts", name)).content

    def wait(self, id: str, timeout: float | None = None) -> Task:
        """Long-poll until the task is terminal or `input-required`; returns the task.

        After `timeout` seconds (None: no limit) the task is returned as it is then, so
        check its `status`.
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        task = self.task(id)
        status, after, polled = task["status"], 0, False
        while status not in STOP_STATUSES:
            left = LONG_POLL_SECONDS if deadline is None else deadline - time.monotonic()
            if left <= 0:
                break
            page = self.events(id, after=after, wait=min(left, LONG_POLL_SECONDS))
            after = max([after, *(event["seq"] for event in page["events"])])
            status, polled = page.get("status") or status, True
        return self.task(id) if polled else task

    # -- API keys (a tenant's admins) -------------------------------------------------

    def create_key(
        self,
        name: str,
        role: str = "member",
        scopes: list[str] | None = None,
        expires_in_seconds: float | None = None,
    ) -> Key:
        """A new key of the caller's tenant, with its `secret` (in this answer only).

        `scopes` narrows the role's scopes (`[]`: none; None: all of the role's).
        """
        body = {
            "name": name,
            "role": role,
            "scopes": scopes,
            "expires_in_seconds": expires_in_seconds,
        }
        return self._object("POST", "/v1/keys", body)

    def keys(self) -> list[Key]:
        """The tenant's keys, revoked ones too, oldest first; without their secrets."""
        found: list[Key] = self._json("GET", "/v1/keys")["keys"]
        return found

    def key(self, id: str) -> Key:
        """One key of the tenant, without its secret."""
        return self._object("GET", _key_path(id))

    def revoke_key(self, id: str) -> Key:
        """Revoke the key (it stops working at once); returns the key."""
        return self._object("POST", _key_path(id, "revoke"))

    def rotate_key(self, id: str, grace_seconds: float = 3600.0) -> Key:
        """A new secret for the key, in the answer's `secret` (this answer only); the old
        secret keeps working until `previous_secret_until` (`grace_seconds` from now)."""
        return self._object("POST", _key_path(id, "rotate"), {"grace_seconds": grace_seconds})

    def audit(
        self,
        *,
        action: str | None = None,
        key_id: str | None = None,
        limit: int = 50,
        cursor: str | None = None,
    ) -> dict[str, Any]:
        """One page of the tenant's audit log, newest first: `{"records": [...],
        "next_cursor": str | None}`, each record `id`, `at`, `key_id`, `role`, `action`,
        `target`, `outcome`, `address`, `request_id`; only `action` (e.g. `tasks.cancel`)
        or `key_id`'s calls when given."""
        page: dict[str, Any] = self._json(
            "GET", "/v1/audit", action=action, key_id=key_id, limit=limit, cursor=cursor
        )
        return page

    # -- tenants (the operator) --------------------------------------------------------

    def create_tenant(self, name: str) -> Tenant:
        """A new tenant with its first admin key in `admin_key` (its `secret` in this answer
        only)."""
        return self._object("POST", "/v1/tenants", {"name": name})

    def tenants(self) -> list[Tenant]:
        """Every tenant: `id`, `name`, `created_at`, `suspended`."""
        found: list[Tenant] = self._json("GET", "/v1/tenants")["tenants"]
        return found

    def suspend_tenant(self, id: str) -> Tenant:
        """Suspend the tenant (every key of it stops working); returns the tenant."""
        return self._object("POST", _tenant_path(id, "suspend"))

    def resume_tenant(self, id: str) -> Tenant:
        """Lift the tenant's suspension; returns the tenant."""
        return self._object("POST", _tenant_path(id, "resume"))

    # -- plumbing ----------------------------------------------------------------------

    def _object(
        self,
        method: str,
        path: str,
        body: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        found: dict[str, Any] = self._json(method, path, body=body, headers=headers)
        return found

    def _json(self, method: str, path: str, **options: Any) -> Any:
        """The decoded JSON answer of `_send(method, path, **options)`."""
        return orjson.loads(self._send(method, path, **options).content)

    def _send(
        self,
        method: str,
        path: str,
        *,
        body: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
        timeout: float | None = None,
        **params: str | int | float | None,
    ) -> httpx.Response:
        content = None
        if body is not None:
            content = orjson.dumps({k: v for k, v in body.items() if v is not None})
            headers = {**(headers or {}), "Content-Type": "application/json"}
        try:
            response = self._http.request(
                method,
                path,
                params={k: v for k, v in params.items() if v is not None},
                content=content,
                headers=headers,
                timeout=self.timeout if timeout is None else timeout,
            )
        except httpx.TransportError as exc:
            raise self._unreachable(exc) from exc
        _check(response)
        return response

    def _unreachable(self, exc: httpx.TransportError) -> BureauUnreachable:
        if isinstance(exc, httpx.ConnectError):
            why = "is `bureau serve` running?"
        elif isinstance(exc, httpx.TimeoutException):
            why = f"no answer within {self.timeout:g} s"
        else:
            why = f"the connection failed: {exc or type(exc).__name__}"
        return BureauUnreachable(f"cannot reach Bureau at {self.url} — {why}")


def _seq(event_id: str | None) -> int:
    return int(event_id) if event_id and event_id.isdigit() else 0


def _segment(value: str) -> str:
    return quote(value, safe="@")


def _path(collection: str, id: str, *rest: str) -> str:
    return "/".join([collection, _segment(id), *(_segment(part) for part in rest)])


def _task_path(id: str, *rest: str) -> str:
    return _path("/v1/tasks", id, *rest)


def _key_path(id: str, *rest: str) -> str:
    return _path("/v1/keys", id, *rest)


def _tenant_path(id: str, *rest: str) -> str:
    return _path("/v1/tenants", id, *rest)
