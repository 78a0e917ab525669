"""Hostile input on the protocol doors: every kind of bad request gets a refusal (a 4xx, or
a JSON-RPC error that is not an internal one, or an MCP tool error for tool arguments the
agent's schema refuses), never a 500, never a stalled server, never a traceback in the log;
webhooks (A2A push-notification configs, MCP's `bureau_dispatch`) aimed at the server's own
network are refused with a message that says so. After each request the server still
answers a normal one quickly. Both backends, on a server of the module's own (its log is
checked request by request, and loopback webhooks are not allowed there)."""

from __future__ import annotations

import json
import socket
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from tests.e2e.test_webhooks import Receiver
from tests.support.databases import database_for
from tests.support.server import ServerProcess, wait_for
from tests.support.wire import (
    INTERNAL_ERROR,
    LEGACY,
    MODERN,
    Answer,
    LogWindow,
    mcp_headers,
    mcp_meta,
    mcp_request,
    send,
)

QUICK = 1.0
"""Seconds a normal request may take after a hostile one."""
STALL = 0.25
"""The longest `/healthz` may wait while a large body is handled (as REST's test holds)."""


@dataclass
class Door:
    server: ServerProcess
    key: str
    parked: str
    """A task of the key's tenant waiting for an answer (its webhook must stay unset)."""

    def client(self, key: str | None = "") -> httpx.Client:
        """A client with the server's key (''), another key, or none (None)."""
        key = self.key if key == "" else key
        auth = {"Authorization": f"Bearer {key}"} if key else {}
        return httpx.Client(base_url=self.server.url, headers=auth, timeout=20)

    def send(self, method: str, path: str, key: str | None = "", **kwargs: Any) -> Answer:
        with self.client(key) as client:
            return send(client, method, path, **kwargs)


@pytest.fixture(scope="module")
def door(backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Door]:
    with database_for(backend) as settings:
        server = ServerProcess(tmp_path_factory.mktemp(f"interop-hostile-{backend}"), **settings)
        server.start()
        try:
            with server.client() as rest:
                parked = rest.post("/v1/tasks", json={"agent": "asker", "goal": "wait"}).json()
                wait_for(rest, parked["id"], {"input-required"})
                yield Door(server, server.key, parked["id"])
                rest.post(f"/v1/tasks/{parked['id']}/cancel")
        finally:
            server.stop()


# -- what a refusal is, and a server that still serves ---------------------------------------


def refused(answer: Answer) -> None:
    """A 4xx; or a JSON-RPC error that is not an internal one (JSON-RPC over HTTP answers
    200); or an MCP tool's error result. With a message."""
    assert answer.cut is None, f"the response was cut: {answer.describe()}"
    assert answer.status < 500, f"a server error: {answer.describe()}"
    if answer.status >= 400:
        assert answer.error() or answer.body, f"a refusal without a message: {answer.describe()}"
        return
    code = answer.rpc_code()
    if code is not None:
        assert code != INTERNAL_ERROR, f"an internal error for bad input: {answer.describe()}"
    else:
        assert isinstance(answer.payload, dict), f"not refused: {answer.describe()}"
        assert answer.payload.get("result", {}).get("isError"), f"accepted: {answer.describe()}"
    assert len(answer.error()) > 5, f"a refusal without a message: {answer.describe()}"


def refused_saying(*words: str) -> Callable[[Answer], None]:
    def check(answer: Answer) -> None:
        refused(answer)
        for word in words:
            assert word in answer.error(), f"{word!r} not in {answer.describe()}"

    return check


def answered(answer: Answer) -> None:
    """An oddity a server may ignore (a header it does not need): any answer but a server
    error or a cut stream."""
    assert answer.cut is None and 0 < answer.status < 500, answer.describe()
    assert answer.rpc_code() != INTERNAL_ERROR, answer.describe()


def assert_still_serving(door: Door) -> None:
    """`/healthz`, an A2A call and an MCP call, each answered at once."""
    rpc = {"jsonrpc": "2.0", "id": 1, "method": "GetTask", "params": {"id": door.parked}}
    calls: list[Callable[[], Answer]] = [
        lambda: door.send("GET", "/healthz", key=None),
        lambda: door.send("POST", "/a2a/asker/jsonrpc", json=rpc, headers=A2A_1_0),
        lambda: mcp_request(door.server, door.key, "tools/list", {}),
    ]
    for call in calls:
        started = time.monotonic()
        answer = call()
        took = time.monotonic() - started
        assert answer.succeeded(), f"a normal request after it: {answer.describe()}"
        assert took < QUICK, f"a normal request took {took:.2f} s after it"


# -- the cases ---------------------------------------------------------------------------------

A2A_1_0 = {"A2A-Version": "1.0"}
JSON = {"Content-Type": "application/json"}
DEEP = b"[" * 10_000 + b"]" * 10_000
HUGE_INTEGER = b"1" + b"0" * 5_000  # 10**5000, as a literal
GIANT = 17 * 1024 * 1024  # over the server's 16 MiB body limit


def _message(*, data: bytes | None = None, metadata: bytes = b"{}") -> bytes:
    parts = b'[{"text": "x"}' + (b', {"data": ' + data + b"}" if data is not None else b"") + b"]"
    return (
        b'{"message": {"messageId": "m-hostile", "role": "ROLE_USER", "parts": '
        + parts
        + b', "metadata": '
        + metadata
        + b'}, "configuration": {"returnImmediately": true}}'
    )


def _rpc(method: str, params: bytes) -> bytes:
    return (
        b'{"jsonrpc": "2.0", "id": 1, "method": "'
        + method.encode()
        + b'", "params": '
        + params
        + b"}"
    )


def jsonrpc(
    body: bytes, *, headers: dict[str, Any] | None = None, agent: str = "noop"
) -> Callable[[Door], Answer]:
    """A raw body to the A2A JSON-RPC endpoint (A2A 1.0, JSON, unless `headers` say else)."""

    def call(door: Door) -> Answer:
        sent = {**A2A_1_0, **JSON, **(headers or {})}
        return door.send("POST", f"/a2a/{agent}/jsonrpc", content=body, headers=sent)

    return call


def a2a_rest(
    method: str, path: str, body: bytes | None = None, *, headers: dict[str, Any] | None = None
) -> Callable[[Door], Answer]:
    """A raw request to the A2A HTTP+JSON binding of `asker` (`{parked}` in `path`)."""

    def call(door: Door) -> Answer:
        sent = {**A2A_1_0, **JSON, **(headers or {})}
        url = "/a2a/asker/rest" + path.format(parked=door.parked)
        return door.send(method, url, content=body, headers=sent)

    return call


def subscribe(last_event_id: bytes) -> Callable[[Door], Answer]:
    def call(door: Door) -> Answer:
        body = _rpc("SubscribeToTask", b'{"id": "' + door.parked.encode() + b'"}')
        headers = {**A2A_1_0, **JSON, "Last-Event-ID": last_event_id}
        return door.send("POST", "/a2a/asker/jsonrpc", content=body, headers=headers)

    return call


def mcp(
    body: bytes | None = None,
    *,
    era: str = MODERN,
    method: str | None = "tools/call",
    name: str | None = "noop",
    headers: dict[str, Any] | None = None,
    http_method: str = "POST",
) -> Callable[[Door], Answer]:
    """A raw request to `/mcp`, with the headers a 2026-07-28 (or 2025-11-25) client sends."""

    def call(door: Door) -> Answer:
        sent: dict[str, Any] = {**mcp_headers(method, {"name": name} if name else {}, era), **JSON}
        sent.update(headers or {})
        return door.send(http_method, "/mcp", content=body, headers=sent)

    return call


def _tool_call(arguments: bytes, *, era: str = MODERN, tool: str = "noop") -> bytes:
    meta = b', "_meta": ' + _json(mcp_meta()) if era == MODERN else b""
    return (
        b'{"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "'
        + tool.encode()
        + b'", "arguments": '
        + arguments
        + meta
        + b"}}"
    )


def _json(value: Any) -> bytes:
    return json.dumps(value).encode()


def _list_tools(request_id: bytes, era: str = MODERN) -> bytes:
    meta = b'"_meta": ' + _json(mcp_meta()) if era == MODERN else b""
    return (
        b'{"jsonrpc": "2.0", "id": '
        + request_id
        + b', "method": "tools/list", "params": {'
        + meta
        + b"}}"
    )


def duplicate_authorization(
    path: str, body: bytes, headers: dict[str, str]
) -> Callable[[Door], Answer]:
    """Two `Authorization` headers: the server's own key and another tenant's."""

    def call(door: Door) -> Answer:
        with door.client() as operator:
            other = operator.post("/v1/tenants", json={"name": f"dup {uuid.uuid4()}"}).json()
        pairs = [
            ("Authorization", f"Bearer {door.key}"),
            ("Authorization", f"Bearer {other['admin_key']['secret']}"),
            *headers.items(),
        ]
        with httpx.Client(base_url=door.server.url, timeout=20) as client:
            return send(client, "POST", path, content=body, headers=pairs)

    return call


def giant(path: str, headers: dict[str, str], *, chunked: bool) -> Callable[[Door], Answer]:
    """A body over the server's limit: one string of 17 MiB (sent chunked: no length)."""
    head, tail = b'{"jsonrpc": "2.0", "id": 1, "method": "x", "params": {"s": "', b'"}}'

    def chunks() -> Iterator[bytes]:
        yield head
        for _ in range(GIANT // (1024 * 1024)):
            yield b"x" * (1024 * 1024)
        yield tail

    def call(door: Door) -> Answer:
        body: Any = chunks() if chunked else head + b"x" * GIANT + tail
        return door.send("POST", path, content=body, headers={**JSON, **headers})

    return call


@dataclass(frozen=True)
class Hostile:
    request: Callable[[Door], Answer]
    check: Callable[[Answer], None] = refused


JSONRPC_CASES: dict[str, Hostile] = {
    "a part's data nested 10,000 deep": Hostile(
        jsonrpc(_rpc("SendMessage", _message(data=DEEP))),
    ),
    "metadata nested 10,000 deep": Hostile(
        jsonrpc(_rpc("SendMessage", _message(metadata=b'{"x": ' + DEEP + b"}"))),
    ),
    "metadata nested 500 deep": Hostile(
        jsonrpc(_rpc("SendMessage", _message(metadata=b'{"x": ' + b"[" * 500 + b"]" * 500 + b"}"))),
    ),
    "1e400 in a part's data": Hostile(
        jsonrpc(_rpc("SendMessage", _message(data=b'{"n": 1e400}'))),
    ),
    "10**5000 as a literal": Hostile(
        jsonrpc(_rpc("SendMessage", _message(data=b'{"n": ' + HUGE_INTEGER + b"}"))),
    ),
    "invalid UTF-8": Hostile(
        jsonrpc(_rpc("SendMessage", _message(data=b'{"s": "\xff\xfe"}'))),
    ),
    "a giant string over the body limit": Hostile(
        giant("/a2a/noop/jsonrpc", A2A_1_0, chunked=False)
    ),
    "a giant chunked body": Hostile(giant("/a2a/noop/jsonrpc", A2A_1_0, chunked=True)),
    "Content-Type text/plain": Hostile(
        jsonrpc(_rpc("ListTasks", b"{}"), headers={"Content-Type": "text/plain"}),
        refused_saying("Content-Type"),
    ),
    "a non-ASCII Content-Type": Hostile(
        jsonrpc(_rpc("ListTasks", b"{}"), headers={"Content-Type": "é".encode()})
    ),
    "an A2A-Version of 5,000 digits": Hostile(
        jsonrpc(_rpc("ListTasks", b"{}"), headers={"A2A-Version": "1." + "0" * 5_000}),
    ),
    "an A2A-Version of garbage": Hostile(
        jsonrpc(_rpc("ListTasks", b"{}"), headers={"A2A-Version": "x" * 1_000}),
        refused_saying("not supported"),
    ),
    "a non-ASCII A2A-Version": Hostile(
        jsonrpc(_rpc("ListTasks", b"{}"), headers={"A2A-Version": "1.é".encode()})
    ),
    "a Last-Event-ID of garbage": Hostile(subscribe(b"garbage"), refused_saying("Last-Event-ID")),
    "a non-ASCII Last-Event-ID": Hostile(subscribe("²".encode()), refused_saying("Last-Event-ID")),
    "a Last-Event-ID beyond 64 bits": Hostile(
        subscribe(b"18446744073709551616"),
    ),
    "a non-ASCII X-Request-ID": Hostile(
        jsonrpc(_rpc("ListTasks", b"{}"), headers={"X-Request-ID": "é".encode()}), answered
    ),
    "a non-ASCII key": Hostile(
        jsonrpc(_rpc("ListTasks", b"{}"), headers={"Authorization": "Bearer bk_é".encode()}),
        refused_saying("API key"),
    ),
    "two Authorization headers": Hostile(
        duplicate_authorization("/a2a/noop/jsonrpc", _rpc("ListTasks", b"{}"), {**JSON, **A2A_1_0}),
        refused_saying("one Authorization header"),
    ),
    "a body that is not JSON": Hostile(jsonrpc(b"hello"), refused_saying("Expecting value")),
    "an empty body": Hostile(jsonrpc(b"")),
    "a batch": Hostile(jsonrpc(b"[" + _rpc("ListTasks", b"{}") + b"]"), refused_saying("Batch")),
    "an empty batch": Hostile(
        jsonrpc(b"[]"),
    ),
    "an object as id": Hostile(
        jsonrpc(b'{"jsonrpc": "2.0", "id": {"a": 1}, "method": "ListTasks", "params": {}}'),
    ),
    "a fraction as id": Hostile(
        jsonrpc(b'{"jsonrpc": "2.0", "id": 1.5, "method": "ListTasks", "params": {}}'),
    ),
    "true as id": Hostile(
        jsonrpc(b'{"jsonrpc": "2.0", "id": true, "method": "ListTasks", "params": {}}')
    ),
    "a number as method": Hostile(
        jsonrpc(b'{"jsonrpc": "2.0", "id": 1, "method": 5, "params": {}}'),
    ),
    "an unknown method": Hostile(
        jsonrpc(_rpc("tasks/explode", b"{}")), refused_saying("Method not found")
    ),
    "params of the wrong type": Hostile(
        jsonrpc(_rpc("GetTask", b"[1]")),
    ),
    "0.3 params of the wrong type": Hostile(
        jsonrpc(_rpc("tasks/get", b'"x"'), headers={"A2A-Version": ""}),
    ),
    "jsonrpc 1.0": Hostile(
        jsonrpc(b'{"jsonrpc": "1.0", "id": 1, "method": "ListTasks", "params": {}}')
    ),
}

REST_CASES: dict[str, Hostile] = {
    "a part's data nested 10,000 deep": Hostile(
        a2a_rest("POST", "/message:send", _message(data=DEEP))
    ),
    "1e400 in a part's data": Hostile(
        a2a_rest("POST", "/message:send", _message(data=b'{"n": 1e400}')),
    ),
    "10**5000 as a literal": Hostile(
        a2a_rest("POST", "/message:send", _message(data=b'{"n": ' + HUGE_INTEGER + b"}"))
    ),
    "invalid UTF-8": Hostile(
        a2a_rest("POST", "/message:send", _message(data=b'{"s": "\xff\xfe"}')),
    ),
    "a giant string over the body limit": Hostile(
        giant("/a2a/noop/rest/message:send", A2A_1_0, chunked=False)
    ),
    "Content-Type text/plain": Hostile(
        a2a_rest("POST", "/message:send", _message(), headers={"Content-Type": "text/plain"}),
        refused_saying("Content-Type"),
    ),
    "a body that is not JSON": Hostile(a2a_rest("POST", "/message:send", b"hello")),
    "an array body": Hostile(a2a_rest("POST", "/message:send", b"[1, 2]")),
    "a Last-Event-ID beyond 64 bits": Hostile(
        a2a_rest(
            "GET", "/tasks/{parked}:subscribe", headers={"Last-Event-ID": "18446744073709551616"}
        ),
    ),
    "a historyLength of garbage": Hostile(a2a_rest("GET", "/tasks/{parked}?historyLength=abc")),
    "a 0.3 historyLength of garbage": Hostile(
        a2a_rest("GET", "/v1/tasks/{parked}?historyLength=abc", headers={"A2A-Version": ""}),
    ),
    "a pageSize of garbage": Hostile(a2a_rest("GET", "/tasks?pageSize=abc")),
    "a negative pageSize": Hostile(a2a_rest("GET", "/tasks?pageSize=-1")),
    "a statusTimestampAfter of garbage": Hostile(a2a_rest("GET", "/tasks?statusTimestampAfter=x")),
}

MCP_CASES: dict[str, Hostile] = {}
for era in (MODERN, LEGACY):
    MCP_CASES |= {
        f"{era}: arguments nested 10,000 deep": Hostile(
            mcp(_tool_call(b'{"goal": "x", "x": ' + DEEP + b"}", era=era), era=era)
        ),
        f"{era}: arguments nested 100 deep": Hostile(
            mcp(
                _tool_call(b'{"goal": "x", "x": ' + b"[" * 100 + b"]" * 100 + b"}", era=era),
                era=era,
            ),
            refused_saying("nested deeper than 32 levels"),
        ),
        f"{era}: 1e400 in the arguments": Hostile(
            mcp(_tool_call(b'{"goal": "x", "n": 1e400}', era=era), era=era),
            refused_saying("NaN and Infinity"),
        ),
        f"{era}: 10**5000 as a literal": Hostile(
            mcp(_tool_call(b'{"goal": "x", "n": ' + HUGE_INTEGER + b"}", era=era), era=era)
        ),
        f"{era}: invalid UTF-8": Hostile(
            mcp(_tool_call(b'{"goal": "\xff\xfe"}', era=era), era=era)
        ),
        f"{era}: a body that is not JSON": Hostile(mcp(b"hello", era=era, method=None)),
        f"{era}: a batch": Hostile(mcp(b"[" + _list_tools(b"1", era) + b"]", era=era, method=None)),
        f"{era}: an empty batch": Hostile(mcp(b"[]", era=era, method=None)),
        f"{era}: an unknown method": Hostile(
            mcp(
                b'{"jsonrpc": "2.0", "id": 1, "method": "tools/explode", "params": {"_meta": '
                + _json(mcp_meta())
                + b"}}",
                era=era,
                method="tools/explode",
                name=None,
            ),
            refused_saying("Method not found"),
        ),
        f"{era}: arguments that are a list": Hostile(mcp(_tool_call(b"[1, 2]", era=era), era=era)),
        f"{era}: a webhook to the metadata service": Hostile(
            mcp(
                _tool_call(
                    b'{"agent": "noop", "goal": "x", "webhook": '
                    b'{"url": "http://169.254.169.254/latest/meta-data/"}}',
                    era=era,
                    tool="bureau_dispatch",
                ),
                era=era,
                name="bureau_dispatch",
            ),
            refused_saying("webhook refused", "link-local"),
        ),
        f"{era}: two Authorization headers": Hostile(
            duplicate_authorization(
                "/mcp", _list_tools(b"1", era), {**JSON, **mcp_headers("tools/list", {}, era)}
            ),
            refused_saying("one Authorization header"),
        ),
        f"{era}: a non-ASCII key": Hostile(
            mcp(
                _list_tools(b"1", era),
                era=era,
                method="tools/list",
                name=None,
                headers={"Authorization": "Bearer bk_é".encode()},
            ),
            refused_saying("API key"),
        ),
        f"{era}: Content-Type text/plain": Hostile(
            mcp(
                _list_tools(b"1", era),
                era=era,
                method="tools/list",
                name=None,
                headers={"Content-Type": "text/plain"},
            ),
        ),
        f"{era}: a garbage Last-Event-ID on a call": Hostile(
            mcp(
                _list_tools(b"1", era),
                era=era,
                method="tools/list",
                name=None,
                headers={"Last-Event-ID": "garbage"},
            ),
            answered,
        ),
        f"{era}: a non-ASCII X-Request-ID": Hostile(
            mcp(
                _list_tools(b"1", era),
                era=era,
                method="tools/list",
                name=None,
                headers={"X-Request-ID": "é".encode()},
            ),
            answered,
        ),
        f"{era}: a GET (no stream to offer)": Hostile(
            mcp(era=era, method=None, http_method="GET", headers={"Accept": "text/event-stream"})
        ),
        f"{era}: a GET with a garbage Last-Event-ID": Hostile(
            mcp(
                era=era,
                method=None,
                http_method="GET",
                headers={"Accept": "text/event-stream", "Last-Event-ID": "garbage"},
            ),
        ),
        f"{era}: a giant string over the body limit": Hostile(
            giant("/mcp", mcp_headers("tools/call", {"name": "x"}, era), chunked=False)
        ),
    }
    for label, request_id in {
        "an object": b"{}",
        "an array": b"[]",
        "a fraction": b"1.5",
        "true": b"true",
        "null": b"null",
    }.items():
        MCP_CASES[f"{era}: {label} as id"] = Hostile(
            mcp(_list_tools(request_id, era), era=era, method="tools/list", name=None)
        )
MCP_CASES[f"{MODERN}: an MCP-Protocol-Version of 60,000 characters"] = Hostile(
    mcp(
        _list_tools(b"1"),
        method="tools/list",
        name=None,
        headers={"MCP-Protocol-Version": "9" * 60_000},
    ),
)
MCP_CASES[f"{MODERN}: a non-ASCII Mcp-Method"] = Hostile(
    mcp(_list_tools(b"1"), method="tools/list", name=None, headers={"Mcp-Method": "é".encode()})
)


def _params(cases: dict[str, Hostile]) -> list[Any]:
    return [pytest.param(case, id=name) for name, case in cases.items()]


def _try(door: Door, case: Hostile) -> None:
    log = LogWindow(door.server)
    answer = case.request(door)
    case.check(answer)
    assert_still_serving(door)
    log.assert_clean("a hostile request")


@pytest.mark.parametrize("case", _params(JSONRPC_CASES))
def test_a2a_json_rpc_refuses(door: Door, case: Hostile) -> None:
    _try(door, case)


@pytest.mark.parametrize("case", _params(REST_CASES))
def test_a2a_http_json_refuses(door: Door, case: Hostile) -> None:
    _try(door, case)


@pytest.mark.parametrize("case", _params(MCP_CASES))
def test_mcp_refuses(door: Door, case: Hostile) -> None:
    _try(door, case)


# -- webhooks aimed at the server's own network ------------------------------------------------

INTERNAL_URLS = {
    "http://127.0.0.1/hook": "loopback",
    "http://169.254.169.254/latest/meta-data/": "link-local",
    "http://[::1]/hook": "loopback",
    "http://localhost:8080/hook": "loopback",
}


def _push_config_requests(door: Door, url: str) -> dict[str, Answer]:
    """The URL as a push-notification config, every way A2A takes one, on the parked task."""
    task = door.parked
    message = {"messageId": f"m-{uuid.uuid4()}", "role": "ROLE_USER", "parts": [{"text": "x"}]}
    inline = {"url": url, "id": "inline"}
    message_0_3 = {
        "kind": "message",
        "messageId": f"m-{uuid.uuid4()}",
        "role": "user",
        "parts": [{"kind": "text", "text": "x"}],
    }
    calls: dict[str, tuple[str, dict[str, Any], dict[str, str]]] = {
        "CreateTaskPushNotificationConfig": (
            "/jsonrpc",
            {"method": "CreateTaskPushNotificationConfig", "params": {"taskId": task, "url": url}},
            A2A_1_0,
        ),
        "SendMessage with a config": (
            "/jsonrpc",
            {
                "method": "SendMessage",
                "params": {
                    "message": message,
                    "configuration": {
                        "returnImmediately": True,
                        "taskPushNotificationConfig": inline,
                    },
                },
            },
            A2A_1_0,
        ),
        "0.3 tasks/pushNotificationConfig/set": (
            "/jsonrpc",
            {
                "method": "tasks/pushNotificationConfig/set",
                "params": {"taskId": task, "pushNotificationConfig": {"url": url}},
            },
            {},
        ),
        "0.3 message/send with a config": (
            "/jsonrpc",
            {
                "method": "message/send",
                "params": {
                    "message": message_0_3,
                    "configuration": {"blocking": False, "pushNotificationConfig": {"url": url}},
                },
            },
            {},
        ),
        "HTTP+JSON pushNotificationConfigs": (
            f"/rest/tasks/{task}/pushNotificationConfigs",
            {"url": url},
            A2A_1_0,
        ),
    }
    answers = {}
    with door.client() as client:
        for name, (path, body, headers) in calls.items():
            if path == "/jsonrpc":
                body = {"jsonrpc": "2.0", "id": 1, **body}
            answers[name] = send(client, "POST", f"/a2a/asker{path}", json=body, headers=headers)
    return answers


@pytest.mark.parametrize(("url", "kind"), INTERNAL_URLS.items())
def test_push_configs_to_internal_addresses_are_refused(door: Door, url: str, kind: str) -> None:
    log = LogWindow(door.server)
    with door.client() as rest:
        tasks_before = rest.get("/v1/tasks", params={"limit": 200}).json()["tasks"]
    for name, answer in _push_config_requests(door, url).items():
        assert answer.rpc_code() == -32602 or answer.status == 400, f"{name}: {answer.describe()}"
        message = answer.error()
        assert "webhook refused" in message and kind in message, f"{name}: {message}"
        assert "BUREAU_WEBHOOK_ALLOWED_NETWORKS" in message, f"{name} says how to allow it"
    with door.client() as rest:
        assert rest.get(f"/v1/tasks/{door.parked}").json()["webhook"] is None
        tasks_after = rest.get("/v1/tasks", params={"limit": 200}).json()["tasks"]
    assert len(tasks_after) == len(tasks_before), "a refused dispatch created a task"
    assert_still_serving(door)
    log.assert_clean("refused push configs")


def test_a_push_config_to_a_name_resolving_to_loopback_is_refused_at_delivery(door: Door) -> None:
    """The name is not an address, so the config is taken; it resolves to loopback here,
    so the sender refuses every delivery without connecting, and says so."""
    name = socket.gethostname()
    receiver = Receiver(failures=0)
    port = receiver.http.server_address[1]
    assert {info[4][0] for info in socket.getaddrinfo(name, port)}, f"{name} does not resolve"
    try:
        with door.client() as rest:
            task = rest.post("/v1/tasks", json={"agent": "asker", "goal": "hooked"}).json()
            waiting = wait_for(rest, task["id"], {"input-required"})
            url = f"http://{name}:{port}/hook"
            rpc = {
                "jsonrpc": "2.0",
                "id": 1,
                "method": "CreateTaskPushNotificationConfig",
                "params": {"taskId": task["id"], "url": url},
            }
            made = send(rest, "POST", "/a2a/asker/jsonrpc", json=rpc, headers=A2A_1_0)
            assert made.succeeded(), made.describe()
            reply = {"data": "red", "question_id": waiting["question"]["id"]}
            rest.post(f"/v1/tasks/{task['id']}/messages", json=reply).raise_for_status()
            wait_for(rest, task["id"], {"completed"})
            deadline = time.monotonic() + 15
            while True:
                deliveries = rest.get(f"/v1/tasks/{task['id']}/webhooks").json()["deliveries"]
                if deliveries and all(d["status"] != "pending" for d in deliveries):
                    break
                assert time.monotonic() < deadline, deliveries
                time.sleep(0.1)
    finally:
        receiver.http.shutdown()
        receiver.http.server_close()
    assert {d["status"] for d in deliveries} == {"refused"}, deliveries
    assert all("refused" in d["attempts"][0]["error"] for d in deliveries), deliveries
    assert receiver.calls == 0, "the receiver was reached"


# -- many values: parsed where the event loop does not wait --------------------------------------


def _many(values: int) -> bytes:
    return b"[" + b",".join([b"0"] * values) + b"]"


def _stalls(door: Door, request: Callable[[], Answer]) -> tuple[Answer, float]:
    """The answer to `request`, and the longest `/healthz` took meanwhile."""
    slowest = 0.0
    with door.client(None) as prober, ThreadPoolExecutor(1) as pool:
        prober.get("/healthz")
        sent = pool.submit(request)
        while not sent.done():
            started = time.perf_counter()
            assert prober.get("/healthz").status_code == 200
            slowest = max(slowest, time.perf_counter() - started)
        return sent.result(), slowest


@pytest.mark.parametrize("era", [MODERN, LEGACY])
def test_mcp_does_not_parse_a_body_of_many_values_on_the_event_loop(door: Door, era: str) -> None:
    """1.9 million values (3.8 MB, under the transport's 4 MiB): the SDK parsed it on the
    event loop for about as long as `/healthz` may wait; it is counted in the parser
    process now, and refused."""
    body = _tool_call(b'{"goal": "x", "x": ' + _many(1_900_000) + b"}", era=era)
    headers = {**JSON, **mcp_headers("tools/call", {"name": "noop"}, era)}

    def call() -> Answer:
        return door.send("POST", "/mcp", content=body, headers=headers)

    answer, slowest = _stalls(door, call)
    assert answer.status == 413 and "JSON values" in answer.error(), answer.describe()
    assert slowest < STALL, f"/healthz took {slowest * 1000:.0f} ms during the body"
    assert_still_serving(door)


@pytest.mark.parametrize("binding", ["JSON-RPC", "HTTP+JSON"])
def test_a2a_does_not_parse_a_body_of_many_values_on_the_event_loop(
    door: Door, binding: str
) -> None:
    message = _message(data=b'{"x": ' + _many(300_000) + b"}")
    if binding == "JSON-RPC":
        path, body = "/a2a/noop/jsonrpc", _rpc("SendMessage", message)
    else:
        path, body = "/a2a/noop/rest/message:send", message

    def call() -> Answer:
        return door.send("POST", path, content=body, headers={**JSON, **A2A_1_0})

    answer, slowest = _stalls(door, call)
    refused(answer)
    assert slowest < STALL, f"/healthz took {slowest * 1000:.0f} ms during the body"
