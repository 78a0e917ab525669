"""The declarative agent of `examples/llm_agents.yaml` end to end: a real `bureau serve
--agents examples/llm_agents.yaml` process, its model the local OpenAI-compatible test
server, tasks dispatched over REST."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest

from bureau.testing import OpenAITestServer, ScriptedResponse, ToolCall, Usage
from tests.support.databases import database_for
from tests.support.server import ServerProcess, free_port, wait_for
from tests.unit.test_llm_declarative import ANSWER, EXAMPLE, NOTES

pytestmark = pytest.mark.timeout(60)

USAGE = [
    Usage(prompt_tokens=120, completion_tokens=14),
    Usage(prompt_tokens=180, completion_tokens=60, cached_tokens=100),
]
SCRIPT = [
    ScriptedResponse(
        tool_calls=[
            ToolCall("normalise_date", {"text": "by Friday", "meeting_date": "2025-03-10"})
        ],
        usage=USAGE[0],
    ),
    ScriptedResponse(tool_calls=[ToolCall("final_result", ANSWER)], usage=USAGE[1]),
]


def _models(url: str) -> str:
    common = {"provider": "openai", "base_url": url, "api_key": "test-key", "max_retries": 0}
    price = {"input": "2", "output": "8", "cache_read": "0.5"}
    return json.dumps(
        {
            "small": {**common, "model": "small-model", "price": price},
            "large": {**common, "model": "large-model", "price": price},
        }
    )


@pytest.fixture
def served(backend: str, tmp_path: Path) -> Iterator[tuple[ServerProcess, OpenAITestServer]]:
    with OpenAITestServer(SCRIPT, api_key="test-key") as models, database_for(backend) as db:
        server = ServerProcess(
            tmp_path / "server", agents=str(EXAMPLE), llm_models=_models(models.url), **db
        )
        try:
            server.start()
            yield server, models
        finally:
            server.stop()
    server.assert_clean_log()


def test_the_example_agent_runs_end_to_end_and_delivers_the_structured_answer(
    served: tuple[ServerProcess, OpenAITestServer],
) -> None:
    server, models = served
    with server.client() as client:
        listed = client.get("/v1/agents/meeting-notes").json()
        refused = client.post(
            "/v1/tasks",
            json={"agent": "meeting-notes", "goal": "Record it", "input": {"notes": "x"}},
        )
        sent = client.post(
            "/v1/tasks",
            json={"agent": "meeting-notes", "goal": "Record this meeting", "input": NOTES},
        )
        assert sent.status_code in (201, 202), sent.text
        done = wait_for(client, sent.json()["id"], {"completed", "failed"}, timeout=30)
        events = client.get(f"/v1/tasks/{done['id']}/events").json()["events"]
    [published] = listed["versions"]
    assert published["version"] == "1.0.0" and published["price"] == "0.01"
    assert published["output_schema"]["required"][:2] == ["summary", "decisions"]
    assert refused.status_code in (400, 422) and "meeting_date" in refused.text
    assert done["status"] == "completed", done
    assert done["deliverable"] == ANSWER
    steps = {e["data"]["name"]: e["data"] for e in events if e["type"] == "step.completed"}
    assert list(steps) == ["llm#1", "tool:normalise_date#1", "llm#2"]
    expected = {"date": "2025-03-14", "weekday": "Friday"}
    assert steps["tool:normalise_date#1"]["result"] == expected

    # what the worker sent: the balanced profile's first model, the instructions, the
    # rendered prompt, the tools; then the tool's result
    first, second = models.requests
    assert first.model == "small-model" and second.model == "small-model"
    assert first.messages[0]["role"] == "system" and "Never" in first.messages[0]["content"]
    assert first.last_user_message.startswith("Record this meeting\n\nThe meeting took place")
    assert {t["function"]["name"] for t in first.tools} == {"normalise_date", "final_result"}
    assert second.messages[-1]["role"] == "tool"
    assert json.loads(second.messages[-1]["content"]) == expected

    # the usage on the task is what the model server reported, and it is billed
    llm = done["usage"]["llm"]
    assert llm["calls"] == 2
    assert [a["usage"]["input_tokens"] for a in llm["attempts"]] == [120, 180]
    assert (llm["input_tokens"], llm["output_tokens"], llm["cache_read_tokens"]) == (300, 74, 100)
    # the price (0.01) + 200 fresh input at 2/M + 100 cached at 0.5/M + 74 output at 8/M
    assert Decimal(done["cost"]) == Decimal("0.01") + Decimal(200 * 2 + 50 + 74 * 8) / 10**6


def test_a_bad_agents_file_stops_serve_with_a_one_line_error(tmp_path: Path) -> None:
    bad = tmp_path / "agents.yaml"
    bad.write_text(
        "agents:\n  - name: notes\n    models: [small]\n    tools: [{python: 'nowhere:f'}]\n"
    )
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "bureau",
            "serve",
            "--agents",
            str(bad),
            "--no-demo-agents",
            "--data-dir",
            str(tmp_path / "data"),
            "--port",
            str(free_port()),
        ],
        capture_output=True,
        text=True,
        timeout=30,
        stdin=subprocess.DEVNULL,
    )
    assert done.returncode == 2
    assert done.stderr.startswith(
        f"error: {bad}: agents[0].tools[0].python: cannot import 'nowhere'"
    )
    assert done.stderr.count("\n") == 1, done.stderr
