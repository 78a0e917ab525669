"""`bureau.testing.openai_server`: a scripted OpenAI-compatible server, driven by real clients.

The official `openai` client and pydantic-ai talk to it over real HTTP, in-process; one test
runs it as a separate process and kills it, as the end-to-end tests do.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import httpx
import openai
import pytest
from openai import AsyncOpenAI, OpenAI
from pydantic import BaseModel
from pydantic_ai import Agent, NativeOutput
from pydantic_ai.models.fallback import FallbackModel
from pydantic_ai.models.openai import OpenAIChatModel
from pydantic_ai.providers.openai import OpenAIProvider

from bureau import UsageError
from bureau.testing.openai_server import (
    OpenAITestServer,
    ScriptedError,
    ScriptedResponse,
    ToolCall,
    Usage,
    load_script,
    parse_script,
)

pytestmark = pytest.mark.timeout(10)

HELLO = [{"role": "user", "content": "Say hello to the team"}]


def client_for(server: OpenAITestServer, max_retries: int = 0, timeout: float = 5) -> OpenAI:
    return OpenAI(base_url=server.url, api_key="test", max_retries=max_retries, timeout=timeout)


def chat_model(client: AsyncOpenAI, model: str = "test-model") -> OpenAIChatModel:
    return OpenAIChatModel(model, provider=OpenAIProvider(openai_client=client))


def test_a_text_answer_carries_the_scripted_usage() -> None:
    usage = Usage(prompt_tokens=11, completion_tokens=4, cached_tokens=3, reasoning_tokens=2)
    with OpenAITestServer([ScriptedResponse(text="Hello, team!", usage=usage)]) as server:
        with client_for(server) as client:
            answer = client.chat.completions.create(model="gpt-test", messages=HELLO)
        recorded = server.requests

    assert answer.choices[0].message.content == "Hello, team!"
    assert answer.choices[0].finish_reason == "stop"
    assert answer.model == "gpt-test"
    assert answer.usage is not None
    assert (answer.usage.prompt_tokens, answer.usage.completion_tokens) == (11, 4)
    assert answer.usage.total_tokens == 15
    assert answer.usage.prompt_tokens_details is not None
    assert answer.usage.prompt_tokens_details.cached_tokens == 3
    assert answer.usage.completion_tokens_details is not None
    assert answer.usage.completion_tokens_details.reasoning_tokens == 2
    assert [(r.model, r.messages, r.stream, r.response_index) for r in recorded] == [
        ("gpt-test", HELLO, False, 0)
    ]


def test_usage_not_scripted_counts_words_of_the_prompt_and_of_the_answer() -> None:
    script = [{"text": "Hi all, welcome aboard"}] * 2
    with OpenAITestServer(script) as server, client_for(server) as client:
        usages = [client.chat.completions.create(model="m", messages=HELLO).usage for _ in "ab"]
    assert usages[0] is not None and usages[0] == usages[1], "usage must be deterministic"
    assert (usages[0].prompt_tokens, usages[0].completion_tokens) == (5, 4)
    assert usages[0].total_tokens == 9


async def test_a_pydantic_ai_agent_calls_its_tool_and_sums_the_scripted_usage() -> None:
    script = [
        ScriptedResponse(
            tool_calls=[ToolCall("get_weather", {"city": "Paris"}, id="call_weather")],
            usage=Usage(prompt_tokens=20, completion_tokens=7, cached_tokens=5, reasoning_tokens=3),
        ),
        ScriptedResponse(
            text="It is sunny in Paris.", usage=Usage(prompt_tokens=31, completion_tokens=6)
        ),
    ]
    cities: list[str] = []
    with OpenAITestServer(script) as server:
        async with AsyncOpenAI(base_url=server.url, api_key="test", max_retries=0) as client:
            agent = Agent(chat_model(client), instructions="Answer about the weather.")

            @agent.tool_plain
            def get_weather(city: str) -> str:
                """The weather in a city."""
                cities.append(city)
                return f"sunny in {city}"

            result = await agent.run("What is the weather in Paris?")
        first, second = server.requests

    assert result.output == "It is sunny in Paris."
    assert cities == ["Paris"]
    assert [tool["function"]["name"] for tool in first.tools] == ["get_weather"]
    tool_answer = second.messages[-1]
    assert tool_answer["role"] == "tool" and tool_answer["tool_call_id"] == "call_weather"
    assert tool_answer["content"] == "sunny in Paris"
    usage = result.usage
    assert (usage.requests, usage.tool_calls) == (2, 1)
    assert (usage.input_tokens, usage.output_tokens) == (51, 13)
    assert usage.cache_read_tokens == 5
    assert usage.details.get("reasoning_tokens") == 3


async def test_structured_output_is_a_scripted_json_text() -> None:
    class City(BaseModel):
        name: str
        population: int

    script = [{"text": '{"name": "Lyon", "population": 522000}'}]
    with OpenAITestServer(script) as server:
        async with AsyncOpenAI(base_url=server.url, api_key="test", max_retries=0) as client:
            agent = Agent(chat_model(client), output_type=NativeOutput(City))
            result = await agent.run("The third city of France?")
        (request,) = server.requests

    assert result.output == City(name="Lyon", population=522000)
    assert request.body["response_format"]["type"] == "json_schema"


async def test_streaming_sends_content_and_tool_call_deltas_then_usage() -> None:
    script = [
        {"text": "Three little words", "usage": {"prompt_tokens": 9, "completion_tokens": 3}},
        {"tool_calls": [{"name": "search", "arguments": {"query": "weather in Paris today"}}]},
    ]
    with OpenAITestServer(script) as server:
        async with AsyncOpenAI(base_url=server.url, api_key="test", max_retries=0) as client:
            stream = await client.chat.completions.create(
                model="m",
                messages=HELLO,
                stream=True,
                stream_options={"include_usage": True},
            )
            text_chunks = [chunk async for chunk in stream]
            stream = await client.chat.completions.create(
                model="m",
                messages=HELLO,
                stream=True,
            )
            call_chunks = [chunk async for chunk in stream]
        assert [request.stream for request in server.requests] == [True, True]

    assert all(chunk.object == "chat.completion.chunk" for chunk in text_chunks)
    content = [c.choices[0].delta.content for c in text_chunks if c.choices]
    assert len(content) > 2 and "".join(filter(None, content)) == "Three little words"
    assert text_chunks[-2].choices[0].finish_reason == "stop"
    assert text_chunks[-1].choices == [] and text_chunks[-1].usage is not None
    assert text_chunks[-1].usage.total_tokens == 12

    deltas = [call for c in call_chunks for call in c.choices[0].delta.tool_calls or []]
    assert len(deltas) > 2, "arguments should come in several pieces"
    assert deltas[0].id == "call_2_0" and deltas[0].function is not None
    assert deltas[0].function.name == "search"
    arguments = "".join(d.function.arguments or "" for d in deltas if d.function)
    assert json.loads(arguments) == {"query": "weather in Paris today"}
    assert call_chunks[-1].choices[0].finish_reason == "tool_calls"
    assert all(chunk.usage is None for chunk in call_chunks), "usage only when asked for"


def test_a_429_with_retry_after_and_a_500_reach_the_client() -> None:
    script = [
        ScriptedResponse(error=ScriptedError(429, "Slow down", retry_after=2)),
        {"error": {"status": 500, "message": "The model crashed"}},
    ]
    with OpenAITestServer(script) as server, client_for(server) as client:
        with pytest.raises(openai.RateLimitError) as limited:
            client.chat.completions.create(model="m", messages=HELLO)
        with pytest.raises(openai.InternalServerError) as crashed:
            client.chat.completions.create(model="m", messages=HELLO)

    assert limited.value.status_code == 429
    assert limited.value.response.headers["retry-after"] == "2"
    assert limited.value.code == "rate_limit_exceeded"
    assert limited.value.message == "Error code: 429 - Slow down"
    assert crashed.value.status_code == 500 and crashed.value.type == "server_error"


def test_the_client_waits_out_retry_after_and_retries() -> None:
    # 0.8 s is more than the client's own first backoff (at most 0.5 s)
    script = [{"error": {"status": 429, "retry_after": 0.8}}, {"text": "made it"}]
    with OpenAITestServer(script) as server:
        with client_for(server, max_retries=1) as client:
            answer = client.chat.completions.create(model="m", messages=HELLO)
        first, second = server.requests

    assert answer.choices[0].message.content == "made it"
    assert second.time - first.time >= 0.8, "the client did not see Retry-After"


def test_a_delay_longer_than_the_client_timeout_times_out_and_stop_stays_prompt() -> None:
    server = OpenAITestServer([{"delay": 30, "text": "too late"}]).start()
    try:
        with client_for(server, timeout=0.3) as client, pytest.raises(openai.APITimeoutError):
            client.chat.completions.create(model="m", messages=HELLO)
        assert server.count() == 1
    finally:
        started = time.monotonic()
        server.stop()
    assert time.monotonic() - started < 1, "stop() waited for a scripted delay"


async def test_rules_by_model_let_a_fallback_model_take_over() -> None:
    script = [
        {"model": "slow-model", "delay": 5, "text": "too late", "repeat": True},
        {"model": "broken-model", "error": {"status": 503}, "repeat": True},
        {"model": "good-model", "text": "the good answer", "repeat": True},
    ]
    with OpenAITestServer(script) as server:
        async with AsyncOpenAI(
            base_url=server.url, api_key="test", max_retries=0, timeout=0.2
        ) as client:
            models = [chat_model(client, name) for name in ("slow-model", "broken-model")]
            agent = Agent(FallbackModel(*models, chat_model(client, "good-model")))
            results = [(await agent.run("Anything")).output for _ in range(2)]

    assert results == ["the good answer"] * 2
    assert [server.count(name) for name in ("slow-model", "broken-model", "good-model")] == [
        2,
        2,
        2,
    ]


def test_rules_by_message_answer_in_any_order_and_a_predicate_can_choose() -> None:
    script = [
        ScriptedResponse(
            text="from the predicate", when=lambda r: r.last_user_message.startswith("Urgent")
        ),
        {"match": "weather", "text": "sunny", "repeat": True},
        {"match": "time", "text": "noon", "repeat": True},
    ]
    questions = ["What time is it?", "And the weather?", "Urgent: the time?", "Urgent: the time?"]
    with OpenAITestServer(script) as server, client_for(server) as client:
        answers = [
            client.chat.completions.create(
                model="m", messages=[{"role": "user", "content": question}]
            )
            .choices[0]
            .message.content
            for question in questions
        ]
    assert answers == ["noon", "sunny", "from the predicate", "noon"]


def test_an_exhausted_script_answers_500_saying_so() -> None:
    with OpenAITestServer([{"text": "only one"}]) as server, client_for(server) as client:
        client.chat.completions.create(model="m", messages=HELLO)
        with pytest.raises(openai.InternalServerError) as exhausted:
            client.chat.completions.create(model="m", messages=HELLO)
        assert [r.response_index for r in server.requests] == [0, None]
    assert exhausted.value.code == "script_exhausted"
    assert "no response left" in exhausted.value.message


def test_an_api_key_is_required_when_given() -> None:
    with OpenAITestServer([{"text": "welcome"}], api_key="sk-right") as server:
        with client_for(server) as wrong, pytest.raises(openai.AuthenticationError) as refused:
            wrong.chat.completions.create(model="m", messages=HELLO)
        with OpenAI(base_url=server.url, api_key="sk-right", max_retries=0) as right:
            answer = right.chat.completions.create(model="m", messages=HELLO)
        assert server.count() == 1, "a refused request reached the script"
    assert refused.value.status_code == 401 and refused.value.code == "invalid_api_key"
    assert answer.choices[0].message.content == "welcome"


def test_models_are_the_ones_the_script_names() -> None:
    script = [{"model": "good-model", "text": "a"}, {"text": "b"}, {"model": "slow-model"}]
    with OpenAITestServer(script) as server, client_for(server) as client:
        listed = [model.id for model in client.models.list()]
        assert client.models.retrieve("slow-model").id == "slow-model"
        with pytest.raises(openai.NotFoundError):
            client.models.retrieve("gpt-unknown")
    assert listed == ["good-model", "slow-model"]


def test_the_request_log_and_the_script_are_reachable_over_http() -> None:
    with OpenAITestServer([{"text": "first"}]) as server, client_for(server) as client:
        control = httpx.Client(base_url=server.url.removesuffix("/v1") + "/_test")
        with control:
            client.chat.completions.create(model="a", messages=HELLO)
            replaced = control.post("/script", json=[{"text": "second", "repeat": True}])
            assert replaced.json() == {"responses": 1}
            answers = [
                client.chat.completions.create(model=model, messages=HELLO).choices[0]
                for model in ("a", "b", "b")
            ]
            everything = control.get("/requests").json()
            only_b = control.get("/requests", params={"model": "b"}).json()
            assert control.post("/script", json={"text": "x"}).status_code == 400
            control.delete("/requests")
            assert server.count() == 0

    assert [answer.message.content for answer in answers] == ["second"] * 3
    assert everything["count"] == 4 and only_b["count"] == 2
    assert [r["model"] for r in everything["requests"]] == ["a", "a", "b", "b"]
    assert [r["response_index"] for r in everything["requests"]] == [0, 0, 0, 0]
    assert everything["requests"][0]["messages"] == HELLO


def test_a_script_loads_from_json_and_bad_entries_say_what_is_wrong(tmp_path: Path) -> None:
    path = tmp_path / "script.json"
    calls = [{"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{}"}}]
    path.write_text(json.dumps([{"text": "hi", "delay": 0.5}, {"tool_calls": calls}]))
    assert load_script(path) == [
        ScriptedResponse(text="hi", delay=0.5),
        ScriptedResponse(tool_calls=(ToolCall("f", "{}", "c1"),)),
    ]
    with pytest.raises(UsageError, match="entry 1: unknown keys \\['txt'\\]"):
        parse_script([{"text": "fine"}, {"txt": "typo"}])
    with pytest.raises(UsageError, match="either an error or an answer"):
        parse_script([{"text": "x", "error": {"status": 500}}])
    with pytest.raises(UsageError, match="a list of responses"):
        parse_script({"text": "not a list"})


def test_the_server_process_logs_each_request_before_answering_and_survives_kill(
    tmp_path: Path,
) -> None:
    script, log = tmp_path / "script.json", tmp_path / "requests.jsonl"
    script.write_text(json.dumps([{"text": "one"}, {"delay": 30, "text": "never sent"}]))
    command = [sys.executable, "-m", "bureau.testing.openai_server", "--port", "0"]
    command += ["--script", str(script), "--log", str(log), "--api-key", "sk-test"]
    with subprocess.Popen(command, stdout=subprocess.PIPE, text=True) as process:
        try:
            assert process.stdout is not None
            url = process.stdout.readline().split()[-1]
            with OpenAI(base_url=url, api_key="sk-test", max_retries=0, timeout=0.5) as client:
                first = client.chat.completions.create(model="m", messages=HELLO)
                with pytest.raises(openai.APITimeoutError):
                    client.chat.completions.create(model="n", messages=HELLO)
            served = httpx.get(url.removesuffix("/v1") + "/_test/requests").json()
        finally:
            process.kill()  # SIGKILL: nothing is flushed on the way out

    logged = [json.loads(line) for line in log.read_text().splitlines()]
    assert first.choices[0].message.content == "one"
    assert served["count"] == 2
    assert [(r["model"], r["response_index"]) for r in logged] == [("m", 0), ("n", 1)]
    assert logged[0]["messages"] == HELLO and logged[0]["stream"] is False
