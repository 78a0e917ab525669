"""Agents written with pydantic-ai and with the OpenAI Agents SDK, published through
`bureau.llm.adapters`, on a real server whose models are a local OpenAI-compatible server
in a process of its own: the tool loop runs, and a kill -9 right after the second model
call is journaled repeats neither model call nor the tool (the model server's log, written
before each answer, counts the calls)."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from tests.support.databases import database_for
from tests.support.server import ServerProcess, wait_for

AGENTS = str(Path(__file__).parents[1] / "support" / "llm_adapter_agents.py")
SCRIPT = [
    {
        "tool_calls": [{"name": "add", "arguments": {"a": 2, "b": 3}}],
        "usage": {"prompt_tokens": 40, "completion_tokens": 8},
    },
    {"text": "2 + 3 = 5", "usage": {"prompt_tokens": 60, "completion_tokens": 6}},
]
FRAMEWORKS = ["pydantic-adder", "openai-agents-adder"]


@contextmanager
def model_server(directory: Path) -> Iterator[tuple[str, Path]]:
    """`python -m bureau.testing.openai_server` answering `SCRIPT`: its URL and its log."""
    script, log = directory / "script.json", directory / "calls.jsonl"
    script.write_text(json.dumps(SCRIPT))
    command = [sys.executable, "-m", "bureau.testing.openai_server", "--port", "0"]
    command += ["--script", str(script), "--log", str(log), "--api-key", "sk-local"]
    with subprocess.Popen(command, stdout=subprocess.PIPE, text=True) as process:
        try:
            assert process.stdout is not None
            yield process.stdout.readline().split()[-1], log
        finally:
            process.kill()


@pytest.fixture
def served(backend: str, tmp_path: Path) -> Iterator[tuple[ServerProcess, Path]]:
    """A Bureau server with the adapter agents, whose model `local` is the model server."""
    with model_server(tmp_path) as (url, log), database_for(backend) as settings:
        local = {
            "provider": "openai",
            "model": "m1",
            "base_url": url,
            "api_key": "sk-local",
            "price": {"input": "1", "output": "2"},
        }
        server = ServerProcess(
            tmp_path / "server",
            agents=AGENTS,
            lease_seconds=2,
            reaper_interval=0.2,
            llm_models=json.dumps({"local": local}),
            **settings,
        )
        try:
            yield server, log
        finally:
            server.stop()
    if server.log.exists():
        server.assert_clean_log()


def _calls(log: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []


def _step_names(events: list[dict[str, Any]]) -> list[str]:
    return [e["data"]["name"] for e in events if e["type"] == "step.completed"]


@pytest.mark.timeout(30)
@pytest.mark.parametrize("name", FRAMEWORKS)
def test_the_tool_loop_runs_on_the_served_models_as_steps(
    served: tuple[ServerProcess, Path], tmp_path: Path, name: str
) -> None:
    server, log = served
    tool_log = tmp_path / "tool.log"
    server.start()
    with server.client() as client:
        task = client.post(
            "/v1/tasks",
            json={"agent": name, "goal": "What is 2 + 3?", "input": {"tool_log": str(tool_log)}},
        ).json()
        done = wait_for(client, task["id"], {"completed", "failed"})
        events = client.get(f"/v1/tasks/{task['id']}/events").json()["events"]
        runs = client.get(f"/v1/agents/{name}/runs").json()["runs"]
    assert done["status"] == "completed", done.get("error")
    assert done["deliverable"] == "2 + 3 = 5"
    assert _step_names(events) == ["llm#1", "tool:add#1", "llm#2"]
    calls = _calls(log)
    assert [c["model"] for c in calls] == ["m1", "m1"]
    assert "What is 2 + 3?" in calls[0]["messages"][-1]["content"]
    assert calls[1]["messages"][-1] == {
        "role": "tool",
        "tool_call_id": calls[1]["messages"][-2]["tool_calls"][0]["id"],
        "content": "5",
    }
    assert tool_log.read_text() == "add 2 3\n"
    [run] = runs
    assert run["usage"]["llm"]["calls"] == 2
    assert run["usage"]["llm"]["input_tokens"] == 100
    assert run["usage"]["llm"]["cost"] == "0.000128"  # (40 + 60) * 1 + (8 + 6) * 2, per 1e6


@pytest.mark.timeout(30)
@pytest.mark.parametrize("name", FRAMEWORKS)
def test_a_kill_9_after_the_second_model_call_repeats_no_model_call(
    served: tuple[ServerProcess, Path], tmp_path: Path, name: str
) -> None:
    server, log = served
    tool_log, marker, release = tmp_path / "tool.log", tmp_path / "marker", tmp_path / "release"
    server.start()
    with server.client() as client:
        task = client.post(
            "/v1/tasks",
            json={
                "agent": f"{name}-held",
                "goal": "What is 2 + 3?",
                "input": {
                    "tool_log": str(tool_log),
                    "marker": str(marker),
                    "release": str(release),
                },
            },
        ).json()
        deadline = time.monotonic() + 15
        while not marker.exists():
            assert time.monotonic() < deadline, f"the task never got past its model calls: {task}"
            time.sleep(0.02)
    server.kill()
    assert len(_calls(log)) == 2
    release.touch()
    server.start()
    with server.client() as client:
        done = wait_for(client, task["id"], {"completed", "failed"}, timeout=20)
        events = client.get(f"/v1/tasks/{task['id']}/events").json()["events"]
    assert done["status"] == "completed", done.get("error")
    assert done["deliverable"] == "2 + 3 = 5"
    assert len(marker.read_text().splitlines()) == 2, "the hold step did not run again"
    calls = _calls(log)
    assert [c["response_index"] for c in calls] == [0, 1], "a model call was made again"
    assert tool_log.read_text() == "add 2 3\n", "the tool ran again"
    assert _step_names(events) == ["llm#1", "tool:add#1", "llm#2", "hold"]
