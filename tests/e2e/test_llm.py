"""LLM agents end to end over HTTP: a real Bureau server, the local OpenAI-compatible
test server (`bureau.testing.OpenAITestServer`), real `kill -9`."""

from __future__ import annotations

import json
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from bureau.testing import OpenAITestServer, ScriptedError, ScriptedResponse, ToolCall, Usage
from tests.e2e.test_durability import _crash_inside
from tests.support.server import ServerProcess, wait_for

CALL_USAGE = [
    Usage(prompt_tokens=31, completion_tokens=7, cached_tokens=11),
    Usage(prompt_tokens=52, completion_tokens=9, reasoning_tokens=4),
]


def _script(text: str = "It is sunny in Paris.") -> list[ScriptedResponse]:
    return [
        ScriptedResponse(tool_calls=[ToolCall("lookup", {"city": "Paris"})], usage=CALL_USAGE[0]),
        ScriptedResponse(text=text, usage=CALL_USAGE[1]),
    ]


def _models(url: str) -> str:
    price = {"input": "2", "output": "8", "cache_read": "0.5"}
    common = {"provider": "openai", "base_url": url, "api_key": "test-key", "max_retries": 0}
    return json.dumps(
        {
            "local": {**common, "model": "local-model", "price": price},
            "slow": {**common, "model": "slow-model", "timeout_seconds": 0.5},
        }
    )


@pytest.fixture
def llm(own_server: ServerProcess) -> Iterator[tuple[ServerProcess, OpenAITestServer]]:
    with OpenAITestServer(api_key="test-key") as models:
        own_server.env["BUREAU_LLM_MODELS"] = _models(models.url)
        yield own_server, models


def _usage_of(calls: list[Usage]) -> dict[str, int]:
    return {
        "input_tokens": sum(c.prompt_tokens or 0 for c in calls),
        "output_tokens": sum(c.completion_tokens or 0 for c in calls),
        "cache_read_tokens": sum(c.cached_tokens for c in calls),
        "reasoning_tokens": sum(c.reasoning_tokens for c in calls),
    }


def test_a_tool_calling_agent_survives_kill_9_without_calling_the_model_again(
    llm: tuple[ServerProcess, OpenAITestServer], tmp_path: Path
) -> None:
    server, models = llm
    models.set_script(_script())
    # kill -9 while the step after model calls 1 and 2 and the tool call holds, restart
    done = _crash_inside(server, "llm-tooler", "hold", tmp_path)
    with server.client() as client:
        events = client.get(f"/v1/tasks/{done['id']}/events").json()["events"]
    assert done["deliverable"] == "It is sunny in Paris."
    assert models.count() == 2, "a model call was made again after the restart"
    assert done["runs"] == ["hold", "hold"]  # only the held step ran again
    steps = [e["data"]["name"] for e in events if e["type"] == "step.completed"]
    assert steps[:3] == ["llm#1", "tool:lookup#1", "llm#2"]
    model_steps = [e["data"] for e in events if e["type"] == "step.completed"]
    assert all("result" not in s for s in model_steps if s["name"].startswith("llm#"))
    # the usage the server reported, per call and in total, is the task's
    llm_usage = done["usage"]["llm"]
    assert [a["usage"]["input_tokens"] for a in llm_usage["attempts"]] == [31, 52]
    assert {k: llm_usage[k] for k in _usage_of(CALL_USAGE)} == _usage_of(CALL_USAGE)
    assert llm_usage["calls"] == 2
    # the agent's price (0) + (83 - 11) input at 2/M + 11 cached at 0.5/M + 16 output at 8/M
    assert Decimal(done["cost"]) == (72 * 2 + Decimal("5.5") + 16 * 8) / 1_000_000


def test_a_model_that_times_out_falls_back_and_both_attempts_are_recorded(
    llm: tuple[ServerProcess, OpenAITestServer],
) -> None:
    server, models = llm
    slow = ScriptedResponse(model="slow-model", delay=5, text="too late", repeat=True)
    models.set_script([slow, *[_with_model(r, "local-model") for r in _script()]])
    server.start()
    with server.client() as client:
        task = client.post(
            "/v1/tasks",
            json={"agent": "llm-tooler", "goal": "Weather in Paris?", "profile": "thorough"},
        ).json()
        done = wait_for(client, task["id"], {"completed"}, timeout=30)
    attempts = done["usage"]["llm"]["attempts"]
    assert [(a["model"], "error" in a) for a in attempts] == [
        ("slow", True),
        ("local", False),
        ("slow", True),
        ("local", False),
    ]
    assert "Timeout" in attempts[0]["error"]
    assert done["usage"]["llm"]["models"]["slow"]["failures"] == 2
    assert done["usage"]["llm"]["calls"] == 2  # billed for what answered
    assert models.count(model="slow-model") == 2 and models.count(model="local-model") == 2


def test_a_429_with_retry_after_is_retried_by_the_provider_client(
    llm: tuple[ServerProcess, OpenAITestServer],
) -> None:
    server, models = llm
    busy = ScriptedResponse(error=ScriptedError(429, "Slow down", retry_after=1))
    models.set_script([busy, *_script()])
    server.env["BUREAU_LLM_MODELS"] = server.env["BUREAU_LLM_MODELS"].replace(
        '"max_retries": 0', '"max_retries": 2'
    )
    server.start()
    with server.client() as client:
        task = client.post("/v1/tasks", json={"agent": "llm-tooler", "goal": "Paris?"}).json()
        done = wait_for(client, task["id"], {"completed"}, timeout=30)
    times = [r.time for r in models.requests]
    assert len(times) == 3 and times[1] - times[0] >= 0.9  # waited as Retry-After said
    assert [a["model"] for a in done["usage"]["llm"]["attempts"]] == ["local", "local"]


def test_a_model_key_can_be_a_secret_of_the_publishers_tenant(
    llm: tuple[ServerProcess, OpenAITestServer],
) -> None:
    """`api_key_secret`: the key is the publishing tenant's sealed secret, not the
    deployment's; without it the task fails naming the secret."""
    server, models = llm
    models.set_script(_script())
    configured = json.loads(server.env["BUREAU_LLM_MODELS"])
    del configured["local"]["api_key"]
    configured["local"]["api_key_secret"] = "LLM_KEY"
    server.env["BUREAU_LLM_MODELS"] = json.dumps(configured)
    server.start()
    with server.client() as client:
        missing = client.post("/v1/tasks", json={"agent": "llm-tooler", "goal": "Paris?"}).json()
        failed = wait_for(client, missing["id"], {"failed"}, timeout=20)
        assert "LLM_KEY" in failed["error"]["message"] and models.count() == 0
        assert client.put("/v1/secrets/LLM_KEY", json={"value": "test-key"}).status_code < 300
        task = client.post("/v1/tasks", json={"agent": "llm-tooler", "goal": "Paris?"}).json()
        done = wait_for(client, task["id"], {"completed"}, timeout=20)
    assert done["deliverable"] == "It is sunny in Paris." and models.count() == 2
    assert "test-key" not in server.log.read_text()


def _with_model(response: ScriptedResponse, model: str) -> ScriptedResponse:
    from dataclasses import replace

    return replace(response, model=model)


def test_an_llm_agent_without_a_provider_fails_saying_so(own_server: ServerProcess) -> None:
    own_server.start()
    with own_server.client() as client:
        task = client.post("/v1/tasks", json={"agent": "llm-tooler", "goal": "hi"}).json()
        done: dict[str, Any] = wait_for(client, task["id"], {"failed"}, timeout=20)
    assert "no model provider is configured" in done["error"]["message"]
