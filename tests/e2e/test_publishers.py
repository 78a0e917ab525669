"""A publisher tenant's worker publishes agents; a consumer tenant hires the public one.

Real processes, both backends: the shared server, and a worker that runs with tenant P's
publisher key and `tests/support/publisher_agents.py`. What each side sees is the contract
of `docs/tenancy.md` ("Publishers"): the consumer owns its task (goal, input, events,
artifacts, deliverable); the publisher sees its agents' runs for operations (status,
timings, usage, cost, errors with tracebacks), never the consumer's goal, input or
deliverable; neither sees the other's other tasks.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.support.server import ServerProcess, wait_for

PUBLISHER_AGENTS = str(Path(__file__).parents[1] / "support" / "publisher_agents.py")
SECRET_NOTE = "the consumer's confidential note 7f3a"


@dataclass
class Market:
    operator: httpx.Client
    publisher: httpx.Client  # tenant P's admin
    consumer: httpx.Client  # tenant C's member
    consumer_admin: httpx.Client
    publisher_key: str


def _client(server: ServerProcess, key: str) -> httpx.Client:
    headers = {"Authorization": f"Bearer {key}"}
    return httpx.Client(base_url=server.url, headers=headers, timeout=30)


@pytest.fixture
def market(server: ServerProcess) -> Iterator[Market]:
    with server.client() as operator:
        p, c = (operator.post("/v1/tenants", json={"name": n}).json() for n in ("P", "C"))
        with (
            _client(server, p["admin_key"]["secret"]) as publisher,
            _client(server, c["admin_key"]["secret"]) as c_admin,
        ):
            key = publisher.post("/v1/keys", json={"name": "worker", "role": "publisher"})
            member = c_admin.post("/v1/keys", json={"name": "app", "role": "member"})
            database = server.env.get("BUREAU_DATABASE_URL")
            worker = ServerProcess(
                server.data_dir,
                "worker",
                agents=PUBLISHER_AGENTS,
                publisher_key=key.json()["secret"],
                **({"database_url": database} if database else {}),
            )
            try:
                worker.start()
                with _client(server, member.json()["secret"]) as consumer:
                    yield Market(operator, publisher, consumer, c_admin, key.json()["secret"])
            finally:
                worker.stop()
    worker.assert_clean_log()


def test_a_public_agent_of_one_tenant_is_hired_by_another(market: Market) -> None:
    """One test: publishing twice (a second tenant P) would find the names taken."""
    consumer, publisher = market.consumer, market.publisher
    seen = {a["name"] for a in consumer.get("/v1/agents").json()["agents"]}
    assert "p-echo" in seen and "p-private" not in seen, "public yes, private no"
    assert consumer.post("/v1/tasks", json={"agent": "p-private", "goal": "x"}).status_code == 404
    own = {a["name"] for a in publisher.get("/v1/agents").json()["agents"]}
    assert {"p-echo", "p-private"} <= own

    body = {"agent": "p-echo", "goal": "count my keys", "input": {"note": SECRET_NOTE}}
    task = consumer.post("/v1/tasks", json=body).json()
    done = wait_for(consumer, task["id"], {"completed"})
    assert done["deliverable"]["mirrored"] == {"note": SECRET_NOTE}, "the consumer gets it all"
    assert done["cost"] == "0.25"
    failed = consumer.post("/v1/tasks", json={**body, "goal": "fail"}).json()
    failed = wait_for(consumer, failed["id"], {"failed"}, timeout=60)
    assert "Traceback" not in str(failed), "the consumer sees no traceback"

    runs = publisher.get("/v1/agents/p-echo/runs").json()["runs"]
    by_id = {r["task_id"]: r for r in runs}
    assert {task["id"], failed["id"]} <= set(by_id)
    run = by_id[task["id"]]
    assert run["status"] == "completed" and run["cost"] == "0.25"
    assert run["usage"]["steps"] == 1 and run["duration_seconds"] >= 0
    assert run["started_at"] and run["finished_at"]
    assert "Traceback" in by_id[failed["id"]]["traceback"]
    text = publisher.get("/v1/agents/p-echo/runs").text
    for private in (SECRET_NOTE, "count my keys", "mirrored"):
        assert private not in text, f"the publisher saw the consumer's {private!r}"

    assert publisher.get(f"/v1/tasks/{task['id']}").status_code == 404
    assert publisher.get(f"/v1/tasks/{task['id']}/events").status_code == 404
    assert task["id"] not in publisher.get("/v1/tasks").text
    assert consumer.get("/v1/agents/p-echo/runs").status_code == 403, "a member: no scope"
    for view in ("runs", "failures"):
        found = market.consumer_admin.get(f"/v1/agents/p-echo/{view}")
        assert found.status_code == 404, "not the consumer's agent"

    log = market.publisher.get("/v1/audit", params={"action": "agents.publish"}).json()
    targets = [e["target"] for e in log["records"]]
    assert any("p-echo@1.0.0" in t for t in targets), log
    assert all(market.publisher_key not in str(e) for e in log["records"])


def test_the_demo_agents_are_public_agents_of_the_built_in_publisher(tmp_path: Path) -> None:
    """`bureau serve` with no configuration: the demo agents belong to the built-in publisher
    and every tenant may hire them; a data directory where an earlier Bureau had published
    them into the default tenant is taken over at the next start."""
    server = ServerProcess(tmp_path / "data", demo_agents=True)
    server.start()
    try:
        with server.client() as operator:
            tenants = {t["id"]: t for t in operator.get("/v1/tenants").json()["tenants"]}
            assert "ten_bureau" in tenants
            newcomer = operator.post("/v1/tenants", json={"name": "newcomer"}).json()
            with _client(server, newcomer["admin_key"]["secret"]) as hirer:
                names = {a["name"] for a in hirer.get("/v1/agents").json()["agents"]}
                assert {"csv-analyst", "doc-digest", "brief-writer"} <= names
                assert "noop" in names, "the default tenant's test agents are public too"
            assert operator.get("/v1/agents/doc-digest/runs").status_code == 404
        server.stop()
        with sqlite3.connect(tmp_path / "data" / "bureau.db") as db:
            db.execute("UPDATE agent_versions SET tenant_id = 'default' WHERE name = 'doc-digest'")
        server.start()
        with server.client() as operator:
            text = "Bureau runs agents. Every step is journaled. A crash resumes the task."
            body = {"agent": "doc-digest", "goal": "Summarise this", "input": {"text": text}}
            task = operator.post("/v1/tasks", json=body).json()
            assert wait_for(operator, task["id"], {"completed"}, timeout=30)["deliverable"]
    finally:
        server.stop()
    server.assert_clean_log()
