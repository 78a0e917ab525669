"""The OpenAPI document tells the truth: every route is in it with its responses, and real
responses (success and error) validate against the schemas it declares.

Routes return their bodies directly (FastAPI does not validate responses), so these tests
are what keeps `bureau.store.views` and the document in step with what the server sends.
"""

from __future__ import annotations

import asyncio
import re
import threading
import time
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urljoin, urlsplit

import fastapi.routing
import httpx
import orjson
import pytest
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from bureau.api.app import create_app
from bureau.config import Settings
from bureau.node import Node
from tests.support.server import ServerProcess, wait_for

DOCUMENT_URI = "urn:bureau:openapi"
PROBLEM = "application/problem+json"
RESPONSE_SCHEMAS = {
    "Task",
    "TaskList",
    "Agent",
    "AgentVersion",
    "AgentSummary",
    "AgentList",
    "Event",
    "EventList",
    "Question",
    "Review",
    "Artifact",
    "WebhookDeliveryView",
    "WebhookDeliveryList",
    "WebhookSecret",
    "Problem",
    "FieldProblem",
}
METHODS = {"get", "put", "post", "delete", "patch", "head", "options", "trace"}


def _pointer(*parts: str) -> str:
    return "/".join(p.replace("~", "~0").replace("/", "~1") for p in ("", *parts))


def _closed(node: Any) -> Any:
    """The schema with every object that lists its properties closed to others, so a real
    response with an undocumented field fails (the served document stays open to additions)."""
    if isinstance(node, list):
        return [_closed(item) for item in node]
    if not isinstance(node, dict):
        return node
    closed = {key: _closed(value) for key, value in node.items()}
    if "properties" in closed and "additionalProperties" not in closed:
        closed["additionalProperties"] = False
    return closed


class Contract:
    """The served document, and a check of real responses against it."""

    def __init__(self, document: dict[str, Any]) -> None:
        self.document = document
        self.registry: Registry[Any] = Registry().with_resource(
            DOCUMENT_URI, Resource(contents=_closed(document), specification=DRAFT202012)
        )

    def operation(self, method: str, template: str) -> dict[str, Any]:
        operation: dict[str, Any] = self.document["paths"][template][method.lower()]
        return operation

    def check(self, response: httpx.Response, template: str) -> Any:
        """Assert `response` (to `template`) is documented: its status, its media type, the
        headers the document requires, and its body against the schema. Returns the body."""
        method = response.request.method.lower()
        status = str(response.status_code)
        described = f"{method.upper()} {template} -> {status}"
        declared = self.operation(method, template)["responses"]
        assert status in declared, f"{described} is not documented: {response.text[:500]}"
        media_type = response.headers["content-type"].split(";")[0].strip()
        content = declared[status]["content"]
        documented = media_type if media_type in content else "*/*"
        assert documented in content, f"{described} sent {media_type}, documented {[*content]}"
        for name, header in declared[status].get("headers", {}).items():
            if header.get("required"):
                assert name in response.headers, f"{described} lacks the header {name}"
        if media_type not in ("application/json", PROBLEM):
            return response.content
        body = response.json()
        where = _pointer("paths", template, method, "responses", status, "content", documented)
        validator = Draft202012Validator(
            {"$ref": f"{DOCUMENT_URI}#{where}/schema"},
            registry=self.registry,
            format_checker=Draft202012Validator.FORMAT_CHECKER,
        )
        errors = [
            f"{'/'.join(map(str, e.absolute_path)) or '(body)'}: {e.message}"
            for e in validator.iter_errors(body)
        ]
        assert not errors, f"{described} does not match its schema:\n" + "\n".join(errors)
        return body

    def problem(self, response: httpx.Response, template: str, status: int) -> dict[str, Any]:
        assert response.status_code == status, response.text
        assert response.headers["content-type"] == PROBLEM
        body: dict[str, Any] = self.check(response, template)
        assert body["status"] == status
        return body


@pytest.fixture(scope="module")
def contract(server: ServerProcess) -> Contract:
    return Contract(httpx.get(f"{server.url}/openapi.json").json())


DOCS_PAGES = {"/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc"}


PROTOCOL_DOORS = {"/.well-known/agent-card.json", "/mcp"}
"""The A2A and MCP doors' routes: their protocols describe them (docs/interop.md)."""


@pytest.fixture(scope="module")
def app_operations(tmp_path_factory: pytest.TempPathFactory) -> set[tuple[str, str]]:
    """(method, path) of every route of the app `bureau serve` runs, but the docs pages."""
    settings = Settings(data_dir=tmp_path_factory.mktemp("app"), database_url=None, redis_url=None)
    node = Node(settings, [])
    try:
        app = create_app(node)
    finally:
        asyncio.run(node.store.close())
    # FastAPI >= 0.16x keeps included routers nested; this lists their routes with prefixes
    flatten = getattr(fastapi.routing, "iter_route_contexts", None)
    routes = flatten(app.routes) if flatten is not None else app.routes
    return {
        (method.lower(), route.path)
        for route in routes
        if getattr(route, "methods", None) and route.path not in DOCS_PAGES | PROTOCOL_DOORS
        for method in route.methods
        if method != "HEAD"
    }


# --- the document ------------------------------------------------------------------------


def _operations(document: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if method in METHODS:
                yield method, path, operation


def test_the_document_is_openapi_3_1_with_every_route(
    contract: Contract, app_operations: set[tuple[str, str]]
) -> None:
    document = contract.document
    assert document["openapi"].startswith("3.1."), document["openapi"]
    documented = {(method, path) for method, path, _ in _operations(document)}
    assert documented == app_operations
    assert set(document["components"]["schemas"]) >= RESPONSE_SCHEMAS
    resolver = contract.registry.resolver(DOCUMENT_URI)
    text = orjson.dumps(document).decode()
    assert "HTTPValidationError" not in text
    for ref in set(re.findall(r'"\$ref":"([^"]+)"', text)):  # every reference resolves
        assert ref.startswith("#/components/schemas/"), ref
        resolver.lookup(ref)


def test_every_v1_operation_requires_the_bearer_scheme(contract: Contract) -> None:
    schemes = contract.document["components"]["securitySchemes"]
    (name,) = schemes
    assert schemes[name]["type"] == "http" and schemes[name]["scheme"] == "bearer"
    for method, path, operation in _operations(contract.document):
        if path.startswith("/v1/"):
            assert operation.get("security") == [{name: []}], f"{method} {path}"
        else:
            assert not operation.get("security"), f"{method} {path} is public"


def test_every_operation_declares_its_responses(contract: Contract) -> None:
    for method, path, operation in _operations(contract.document):
        where = f"{method.upper()} {path}"
        responses = operation["responses"]
        success = [s for s in responses if s.startswith("2")]
        assert len(success) == 1, f"{where} documents {success}"
        content = responses[success[0]].get("content")
        assert content and all("schema" in m for m in content.values()), where
        for status, response in responses.items():
            if int(status) >= 400:
                assert response["content"] == {
                    PROBLEM: {"schema": {"$ref": "#/components/schemas/Problem"}}
                }, f"{where} -> {status}"
        errors = {int(s) for s in responses if int(s) >= 400}
        expected = set()
        if operation.get("security"):
            expected |= {401}
        if operation.get("parameters") or operation.get("requestBody"):
            expected |= {422}
        if operation.get("requestBody"):
            expected |= {400, 413}
        if any(f"{{{p}}}" in path for p in ("task_id", "name", "key_id", "tenant_id")):
            expected |= {404}
        assert expected <= errors, f"{where} does not document {sorted(expected - errors)}"
        if 401 in errors:
            assert "WWW-Authenticate" in responses["401"]["headers"], where


def test_the_events_route_documents_json_and_server_sent_events(contract: Contract) -> None:
    ok = contract.operation("get", "/v1/tasks/{task_id}/events")["responses"]["200"]
    assert ok["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/EventList"}
    assert "text/event-stream" in ok["content"]


def test_dispatch_documents_location(contract: Contract) -> None:
    accepted = contract.operation("post", "/v1/tasks")["responses"]["202"]
    assert accepted["headers"]["Location"]["required"] is True


# --- real responses ----------------------------------------------------------------------


def test_task_lifecycle_responses_match_the_schema(
    server: ServerProcess, contract: Contract
) -> None:
    check = contract.check
    with server.client() as client:
        # reviews go to `redoable`: other tests assert the reputation of `noop`
        reviewed = {"agent": "redoable", "goal": "review me", "input": {"topic": "t"}}
        accept = client.post("/v1/tasks", json=reviewed).json()
        reject = client.post("/v1/tasks", json=reviewed).json()
        once = {"Idempotency-Key": f"conform-{uuid.uuid4()}"}
        dispatched = client.post(
            "/v1/tasks", json={"agent": "noop", "goal": "conform"}, headers=once
        )
        assert dispatched.status_code == 202
        task = check(dispatched, "/v1/tasks")
        assert dispatched.headers["location"] == f"/v1/tasks/{task['id']}"
        replayed = client.post("/v1/tasks", json={"agent": "noop", "goal": "conform"}, headers=once)
        assert check(replayed, "/v1/tasks")["id"] == task["id"]
        assert replayed.headers["idempotent-replayed"] == "true"
        wait_for(client, task["id"], {"completed"})
        done = check(client.get(f"/v1/tasks/{task['id']}"), "/v1/tasks/{task_id}")
        assert done["review"]["status"] == "pending"
        listed = check(client.get("/v1/tasks", params={"limit": 1}), "/v1/tasks")
        assert listed["tasks"] and listed["next_cursor"] is not None
        events = check(client.get(f"/v1/tasks/{task['id']}/events"), "/v1/tasks/{task_id}/events")
        assert events["events"] and events["status"] == "completed"
        wait_for(client, accept["id"], {"completed"})
        accepted = client.post(f"/v1/tasks/{accept['id']}/accept", json={"rating": 5})
        assert check(accepted, "/v1/tasks/{task_id}/accept")["review"]["status"] == "accepted"
        again = client.post(f"/v1/tasks/{accept['id']}/accept")
        contract.problem(again, "/v1/tasks/{task_id}/accept", 409)
        wait_for(client, reject["id"], {"completed"})
        rejected = client.post(f"/v1/tasks/{reject['id']}/reject", json={"reason": "no"})
        assert check(rejected, "/v1/tasks/{task_id}/reject")["review"]["status"] == "rejected"


def test_questions_answers_and_cancel_match_the_schema(
    server: ServerProcess, contract: Contract
) -> None:
    check = contract.check
    with server.client() as client:
        task = client.post("/v1/tasks", json={"agent": "asker", "goal": "pick"}).json()
        wait_for(client, task["id"], {"input-required"})
        waiting = check(client.get(f"/v1/tasks/{task['id']}"), "/v1/tasks/{task_id}")
        question = waiting["question"]
        assert question["schema"] == {"type": "string", "enum": ["red", "blue"]}
        answer = {"question_id": question["id"], "data": "red"}
        answered = client.post(f"/v1/tasks/{task['id']}/messages", json=answer)
        check(answered, "/v1/tasks/{task_id}/messages")
        twice = client.post(f"/v1/tasks/{task['id']}/messages", json=answer)
        contract.problem(twice, "/v1/tasks/{task_id}/messages", 409)
        wait_for(client, task["id"], {"completed"})

        sleeping = client.post(
            "/v1/tasks", json={"agent": "sleeper", "goal": "nap", "input": {"seconds": 30}}
        ).json()
        canceled = client.post(f"/v1/tasks/{sleeping['id']}/cancel")
        assert canceled.status_code == 202
        check(canceled, "/v1/tasks/{task_id}/cancel")
        wait_for(client, sleeping["id"], {"canceled"})
        contract.problem(
            client.post(f"/v1/tasks/{sleeping['id']}/cancel"), "/v1/tasks/{task_id}/cancel", 409
        )


def test_dead_letters_artifacts_and_server_sent_events_match_the_schema(
    server: ServerProcess, contract: Contract
) -> None:
    check = contract.check
    with server.client() as client:
        doomed = client.post("/v1/tasks", json={"agent": "doomed", "goal": "fail"}).json()
        maker = client.post(
            "/v1/tasks", json={"agent": "big-artifact", "goal": "file", "input": {"size": 64}}
        ).json()
        wait_for(client, doomed["id"], {"failed"})
        page = check(client.get("/v1/dead-letters"), "/v1/dead-letters")
        assert doomed["id"] in {t["id"] for t in page["tasks"]}

        made = wait_for(client, maker["id"], {"completed"})
        (artifact,) = check(client.get(f"/v1/tasks/{maker['id']}"), "/v1/tasks/{task_id}")[
            "artifacts"
        ]
        assert artifact == {**artifact, "name": "big.bin", "size": 64}
        assert made["artifacts"] == [artifact]
        download = client.get(artifact["url"])
        assert check(download, "/v1/tasks/{task_id}/artifacts/{name}") == b"x" * 64

        stream = client.get(
            f"/v1/tasks/{maker['id']}/events", headers={"Accept": "text/event-stream"}
        )
        check(stream, "/v1/tasks/{task_id}/events")
    events = [
        orjson.loads(line.removeprefix("data: "))
        for line in stream.text.splitlines()
        if line.startswith("data: ")
    ]
    assert events and events[-1]["data"]["status"] == "completed"
    event_list = {"events": events, "status": "completed"}
    validator = Draft202012Validator(
        {"$ref": f"{DOCUMENT_URI}#/components/schemas/EventList"}, registry=contract.registry
    )
    validator.validate(event_list)


class _Receiver:
    """A webhook receiver that accepts everything."""

    def __init__(self) -> None:
        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers["content-length"]))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.http.server_address[1]}/hook"
        threading.Thread(target=self.http.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.http.shutdown()
        self.http.server_close()


def test_catalog_webhooks_and_health_match_the_schema(
    server: ServerProcess, contract: Contract
) -> None:
    check = contract.check
    receiver = _Receiver()
    try:
        with server.client() as client:
            task = client.post(
                "/v1/tasks",
                json={"agent": "noop", "goal": "hook", "webhook": {"url": receiver.url}},
            ).json()
            agents = check(client.get("/v1/agents"), "/v1/agents")
            assert {"noop", "asker", "crashable"} <= {a["name"] for a in agents["agents"]}
            for name in ("asker", "crashable"):
                check(client.get(f"/v1/agents/{name}"), "/v1/agents/{name}")
            secret = check(client.get("/v1/webhooks/secret"), "/v1/webhooks/secret")
            assert secret["secret"].startswith("whsec_")
            wait_for(client, task["id"], {"completed"})
            deadline = time.monotonic() + 20
            while True:
                deliveries = client.get(f"/v1/tasks/{task['id']}/webhooks")
                body = check(deliveries, "/v1/tasks/{task_id}/webhooks")["deliveries"]
                if body and all(d["status"] == "delivered" for d in body):
                    break
                assert time.monotonic() < deadline, f"webhooks not delivered: {body}"
                time.sleep(0.1)
    finally:
        receiver.close()
    for path in ("/healthz", "/readyz", "/metrics"):
        check(httpx.get(f"{server.url}{path}"), path)


def test_error_responses_match_the_problem_schema(
    server: ServerProcess, contract: Contract
) -> None:
    problem = contract.problem
    with server.client() as client:
        malformed = client.post(
            "/v1/tasks", content=b'{"agent": ', headers={"content-type": "application/json"}
        )
        assert problem(malformed, "/v1/tasks", 400)["code"] == "malformed_json"
        missing = problem(client.get("/v1/tasks/task_nope"), "/v1/tasks/{task_id}", 404)
        assert missing["code"] == "not_found"
        problem(client.get("/v1/agents/nope"), "/v1/agents/{name}", 404)
        problem(client.get("/v1/tasks/task_nope/events"), "/v1/tasks/{task_id}/events", 404)
        invalid = problem(
            client.post("/v1/tasks", json={"agent": "noop", "inptu": {}}), "/v1/tasks", 422
        )
        assert {e["path"] for e in invalid["errors"]} == {"/goal", "/inptu"}
        limit = problem(client.get("/v1/tasks", params={"limit": 0}), "/v1/tasks", 422)
        assert [e["path"] for e in limit["errors"]] == ["/query/limit"]
        schema = problem(
            client.post(
                "/v1/tasks", json={"agent": "crashable", "goal": "x", "input": {"counter": 5}}
            ),
            "/v1/tasks",
            422,
        )
        assert schema["errors"]
    anonymous = httpx.get(f"{server.url}/v1/tasks")
    assert problem(anonymous, "/v1/tasks", 401)["code"] == "unauthenticated"
    assert anonymous.headers["www-authenticate"] == "Bearer"


@pytest.mark.parametrize(
    ("method", "path", "template"),
    [
        ("DELETE", "/v1/tasks", "/v1/tasks"),
        ("GET", "/v1/tasks/task_x/cancel", "/v1/tasks/{task_id}/cancel"),
        ("PUT", "/healthz", "/healthz"),
    ],
)
def test_a_wrong_method_is_told_the_documented_ones(
    server: ServerProcess, contract: Contract, method: str, path: str, template: str
) -> None:
    response = httpx.request(method, f"{server.url}{path}")
    assert response.status_code == 405 and response.headers["content-type"] == PROBLEM
    documented = sorted(m.upper() for m in contract.document["paths"][template])
    assert response.headers["allow"] == ", ".join(documented)
    assert response.json()["code"] == "method_not_allowed"


# --- the interactive docs ----------------------------------------------------------------

_URL = re.compile(r"""(?:src|href)\s*=\s*["']([^"']+)["']|url\s*:\s*["']([^"']+)["']""")


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_the_docs_work_offline(server: ServerProcess, page: str) -> None:
    """Every asset the page loads comes from this server (no CDN), and each one is there."""
    with httpx.Client(base_url=server.url, timeout=30) as client:
        html = client.get(page)
        assert html.status_code == 200 and html.headers["content-type"].startswith("text/html")
        urls = {a or b for a, b in _URL.findall(html.text)}
        urls |= set(re.findall(r"""spec-url\s*=\s*["']([^"']+)["']""", html.text))
        assert "/openapi.json" in urls, urls
        origin = urlsplit(server.url).netloc
        for url in sorted(urls):
            absolute = urljoin(f"{server.url}{page}", url)
            assert urlsplit(absolute).netloc == origin, f"{page} loads {url} from elsewhere"
            assert client.get(absolute).status_code == 200, url
        if page == "/docs":  # else Swagger UI shows a badge from validator.swagger.io
            assert '"validatorUrl": null' in html.text
