"""The LLM demo agents over HTTP: a real `bureau serve` with the demo agents, its model
`default` served by the local OpenAI-compatible test server; and a server with no model
provider, which starts, lists the LLM agents as needing one, and still answers with the
deterministic agents."""

from __future__ import annotations

import json
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest

from bureau.testing import OpenAITestServer, ScriptedResponse, ToolCall
from tests.e2e.test_openapi import Contract
from tests.support.databases import database_for
from tests.support.server import ServerProcess, wait_for
from tests.unit.agents.sample_data import GRID_HTML, HEAT_PUMPS_MD, sales_csv

DONE = {"completed", "failed", "rejected", "canceled"}
QUESTION = "How much do households save on heating with a heat pump?"
SAVINGS = "Households cut heating costs by 30 to 50 percent compared with oil boilers."
TICKET = "I was charged twice for my March invoice, please refund one of the payments."
DRAFT = "Sorry about the double charge: we are refunding the second payment today."
LLM_AGENTS = {"researcher", "support-triage"}


def _final(**output: Any) -> ScriptedResponse:
    """A structured answer: pydantic-ai's output tool called with the output's fields."""
    return ScriptedResponse(tool_calls=[ToolCall("final_result", output)])


def _documents() -> dict[str, Any]:
    return {
        "files": [
            {"name": "heat-pumps.md", "content": HEAT_PUMPS_MD},
            {"name": "grid.html", "content": GRID_HTML},
        ]
    }


def _dispatch(client: httpx.Client, agent: str, goal: str, input: dict[str, Any]) -> str:
    sent = client.post("/v1/tasks", json={"agent": agent, "goal": goal, "input": input})
    assert sent.status_code == 202, sent.text
    return str(sent.json()["id"])


def _catalog(client: httpx.Client) -> dict[str, dict[str, Any]]:
    listed = client.get("/v1/agents")
    assert listed.status_code == 200, listed.text
    return {agent["name"]: agent for agent in listed.json()["agents"]}


@pytest.fixture(scope="module")
def with_model(
    backend: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[ServerProcess, OpenAITestServer]]:
    """The demo agents, with `BUREAU_LLM_MODELS` naming `default` on the test server."""
    with OpenAITestServer(api_key="test-key") as models, database_for(backend) as settings:
        server = ServerProcess(
            tmp_path_factory.mktemp(f"llm-demo-{backend}"), demo_agents=True, **settings
        )
        server.env["BUREAU_LLM_MODELS"] = json.dumps(
            {
                "default": {
                    "provider": "openai",
                    "model": "demo-model",
                    "base_url": models.url,
                    "api_key": "test-key",
                    "max_retries": 0,
                }
            }
        )
        server.start()
        try:
            yield server, models
        finally:
            server.stop()
    server.assert_clean_log()


@pytest.fixture(scope="module")
def without_model(
    backend: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServerProcess]:
    """The demo agents on a deployment that configures no model."""
    with database_for(backend) as settings:
        server = ServerProcess(
            tmp_path_factory.mktemp(f"no-llm-{backend}"), demo_agents=True, **settings
        )
        server.env.pop("BUREAU_LLM_MODELS", None)
        server.start()
        try:
            yield server
        finally:
            server.stop()
    server.assert_clean_log()


def test_the_researcher_answers_with_citations_quoted_from_the_documents(
    with_model: tuple[ServerProcess, OpenAITestServer],
) -> None:
    server, models = with_model
    models.set_script(
        [
            _final(
                answered=True,
                answer="Heating costs fall by 30 to 50 percent.",
                claims=[{"statement": SAVINGS, "citations": ["p2"]}],
                citations=["p2"],
                confidence=0.9,
            )
        ]
    )
    models.clear_requests()
    with server.client() as client:
        task_id = _dispatch(client, "researcher", QUESTION, _documents())
        done = wait_for(client, task_id, DONE, timeout=30)
        assert done["status"] == "completed", done
        report = client.get(f"/v1/tasks/{task_id}/artifacts/answer.md")
    deliverable = done["deliverable"]
    assert deliverable["answer"] == "Heating costs fall by 30 to 50 percent."
    [cited] = deliverable["citations"]
    assert cited["id"] == "p2" and cited["document"] == "heat-pumps.md"
    assert "households cut heating costs by 30 to 50 percent" in cited["text"]
    assert cited["text"] in " ".join(HEAT_PUMPS_MD.split())  # the document's words
    assert f"> {cited['text']}" in report.text
    # the model was sent the numbered passages and asked for the structured answer
    [request] = models.requests
    assert request.model == "demo-model"
    assert "[p2] (heat-pumps.md, Performance in winter)" in request.last_user_message
    assert any(tool["function"]["name"] == "final_result" for tool in request.tools)
    assert done["usage"]["llm"]["calls"] == 1
    assert Decimal(done["cost"]) == Decimal("0.02")  # the price; the model is priced at 0


def test_the_researcher_declines_when_the_documents_do_not_answer(
    with_model: tuple[ServerProcess, OpenAITestServer],
) -> None:
    server, models = with_model
    models.set_script(
        [_final(answered=False, confidence=0.0, missing="nothing about prices in Japan")]
    )
    with server.client() as client:
        task_id = _dispatch(client, "researcher", "What do heat pumps cost in Japan?", _documents())
        done = wait_for(client, task_id, DONE, timeout=30)
    assert done["status"] == "rejected" and done["cost"] == "0"
    assert "nothing about prices in Japan" in done["error"]["message"]


def test_triage_below_the_threshold_asks_a_person_and_completes_after_the_answer(
    with_model: tuple[ServerProcess, OpenAITestServer],
) -> None:
    server, models = with_model
    models.set_script(
        [
            _final(
                category="billing",
                priority="high",
                confidence=0.55,
                draft_reply=DRAFT,
                rationale="A duplicate charge.",
            )
        ]
    )
    models.clear_requests()
    with server.client() as client:
        task_id = _dispatch(client, "support-triage", "Triage this", {"ticket": TICKET})
        asked = wait_for(client, task_id, {"input-required", *DONE}, timeout=30)
        assert asked["status"] == "input-required", asked
        question = asked["question"]
        assert "55% sure (below the 70% threshold)" in question["text"]
        assert DRAFT in question["text"]
        edited = "We refunded the duplicate payment; you will see it within 3 days."
        reply = client.post(
            f"/v1/tasks/{task_id}/messages",
            json={"question_id": question["id"], "text": edited},
        )
        assert reply.status_code in (200, 202), reply.text
        done = wait_for(client, task_id, DONE, timeout=30)
    assert done["status"] == "completed", done
    deliverable = done["deliverable"]
    assert deliverable["decided_by"] == "person" and deliverable["decision"] == "edit"
    assert deliverable["reply"] == edited and deliverable["category"] == "billing"
    assert deliverable["model_triage"]["draft_reply"] == DRAFT
    assert models.count() == 1  # resumed from the journal: the model was not asked again


def test_csv_analyst_reads_a_free_form_goal_with_the_model(
    with_model: tuple[ServerProcess, OpenAITestServer],
) -> None:
    server, models = with_model
    models.set_script(
        [
            _final(
                answerable=True,
                kind="aggregate",
                measures=["revenue"],
                aggregate="sum",
                filters={"region": ["East"]},
                periods=[{"start": "2024-01", "end": "2024-03"}],
            )
        ]
    )
    goal = "How did the eastern territory do on takings over the first quarter?"
    with server.client() as client:
        task_id = _dispatch(
            client, "csv-analyst", goal, {"files": [{"name": "sales.csv", "content": sales_csv()}]}
        )
        done = wait_for(client, task_id, DONE, timeout=30)
    assert done["status"] == "completed", done
    assert done["deliverable"]["goal_reading"] == {"by": "model"}
    assert done["deliverable"]["result"]["value"] == 900 + 972  # March's outlier left out


def test_the_catalog_says_the_models_are_ready(
    with_model: tuple[ServerProcess, OpenAITestServer],
) -> None:
    server, _ = with_model
    with server.client() as client:
        catalog = _catalog(client)
        one = client.get("/v1/agents/researcher").json()
    for name in LLM_AGENTS:
        assert catalog[name]["models"] == {
            "needs": ["default"],
            "required": True,
            "ready": True,
            "why": None,
        }
    assert catalog["csv-analyst"]["models"]["ready"] is True
    assert "models" not in catalog["brief-writer"]
    assert one["models"]["ready"] is True


def test_without_a_provider_the_llm_agents_are_listed_as_needing_one(
    without_model: ServerProcess,
) -> None:
    contract = Contract(httpx.get(f"{without_model.url}/openapi.json").json())
    with without_model.client() as client:
        catalog = _catalog(client)
        # the field is in the OpenAPI document: the responses validate, closed to extras
        contract.check(client.get("/v1/agents"), "/v1/agents")
        one = contract.check(client.get("/v1/agents/support-triage"), "/v1/agents/{name}")
    assert {"csv-analyst", "doc-digest", "brief-writer"} | LLM_AGENTS <= set(catalog)
    why = "needs a model provider: set BUREAU_LLM_MODELS with a model named 'default'"
    for name in LLM_AGENTS:
        assert catalog[name]["models"] == {
            "needs": ["default"],
            "required": True,
            "ready": False,
            "why": why,
        }
    assert one["models"]["why"] == why
    for name in ("csv-analyst", "doc-digest"):  # they run without it
        assert catalog[name]["models"]["required"] is False
        assert catalog[name]["models"]["why"].startswith("runs without a model")
    assert "models" not in catalog["brief-writer"]


def test_without_a_provider_the_data_agents_answer_and_the_llm_agents_fail_clearly(
    without_model: ServerProcess,
) -> None:
    with without_model.client() as client:
        analysed = _dispatch(
            client,
            "csv-analyst",
            "total revenue of East in Q1 2024",
            {"files": [{"name": "sales.csv", "content": sales_csv()}]},
        )
        researched = _dispatch(client, "researcher", QUESTION, _documents())
        answered = wait_for(client, analysed, DONE, timeout=30)
        failed = wait_for(client, researched, DONE, timeout=30)
    assert answered["status"] == "completed", answered
    assert answered["deliverable"]["goal_reading"] == {"by": "rules"}
    assert answered["deliverable"]["result"]["value"] == 900 + 972
    assert failed["status"] == "failed"
    assert "no model provider is configured" in failed["error"]["message"]
    assert failed["cost"] == "0"


def test_the_cli_lists_the_llm_agents_as_needing_a_provider(
    without_model: ServerProcess, tmp_path: Path
) -> None:
    import os
    import subprocess
    import sys

    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("BUREAU_")},
        "BUREAU_URL": without_model.url,
        "BUREAU_API_KEY": without_model.key,
        "BUREAU_DATA_DIR": str(tmp_path),
    }
    listed = subprocess.run(
        [sys.executable, "-m", "bureau", "agents"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    rows = {line.split()[0]: line for line in listed.stdout.splitlines()[1:]}
    assert "MODELS" in listed.stdout.splitlines()[0]
    assert "default (needs a provider)" in rows["researcher"]
    assert "default (optional, off)" in rows["csv-analyst"]
