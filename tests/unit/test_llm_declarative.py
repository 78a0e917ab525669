"""Declarative LLM agents (`bureau.llm.declarative`): the file format and its errors, and
the agents it declares, run in process with scripted models."""

from __future__ import annotations

import sys
import textwrap
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from pydantic_ai.messages import ModelRequest, ToolReturnPart, UserPromptPart

from bureau import SLA, UsageError
from bureau.llm.declarative import load_file
from bureau.sdk.loader import load_agents
from bureau.testing import ScriptedModel, run_agent, said, tool_call

pytestmark = pytest.mark.timeout(20)

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "llm_agents.yaml"
MCP_SERVER = ROOT / "tests" / "support" / "mcp_tool_server.py"
NOTES = {
    "notes": "Ship v2 on the 20th: agreed. Ana writes the release notes by Friday.",
    "meeting_date": "2025-03-10",  # a Monday: "Friday" is 2025-03-14
}
ANSWER = {
    "summary": "The team agreed to ship v2 on the 20th.",
    "decisions": [{"decision": "Ship v2 on the 20th", "rationale": None}],
    "action_items": [
        {
            "task": "Write the release notes",
            "owner": "Ana",
            "due": "2025-03-14",
            "source": "Ana writes the release notes by Friday.",
        }
    ],
    "open_questions": [],
}


def _file(tmp_path: Path, text: str, name: str = "agents.yaml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
    return path


def _one(path: Path) -> Any:
    [definition] = load_file(path)
    return definition


def _last_request(model: ScriptedModel, call: int) -> ModelRequest:
    request = model.requests[call][-1]
    assert isinstance(request, ModelRequest)
    return request


def test_the_example_file_declares_the_meeting_notes_agent() -> None:
    [notes] = load_file(EXAMPLE)
    assert notes.ref == "meeting-notes@1.0.0"
    assert notes.price == Decimal("0.01") and notes.sla == SLA(20, 120)
    assert notes.models == {
        "fast": ("small",),
        "balanced": ("small", "large"),
        "thorough": ("large", "small"),
    }
    assert notes.input_schema is not None and notes.input_schema["required"] == [
        "notes",
        "meeting_date",
    ]
    entry = notes.catalog_entry()
    assert entry["output_schema"]["required"][:3] == ["summary", "decisions", "action_items"]
    assert entry["capabilities"] == ["meeting-notes", "action-items", "decisions"]
    assert entry["description"].startswith("Turns meeting notes into a summary")
    assert [d.ref for d in load_agents([str(EXAMPLE)], entry_point_group=False)] == [notes.ref]


async def test_the_example_agent_calls_its_tool_and_delivers_the_structured_answer() -> None:
    model = ScriptedModel(
        tool_call("normalise_date", text="by Friday", meeting_date="2025-03-10"),
        tool_call("final_result", **ANSWER),
    )
    notes = _one(EXAMPLE)
    result = await run_agent(notes, "Record this meeting", NOTES, models={"small": model})
    assert result.status == "completed", result.error
    assert result.deliverable == ANSWER
    steps = {e[1]["name"]: e[1] for e in result.events if e[0] == "step.completed"}
    assert list(steps) == ["llm#1", "tool:normalise_date#1", "llm#2"]
    # the real function ran, and the model was given what it returned
    expected = {"date": "2025-03-14", "weekday": "Friday"}
    assert steps["tool:normalise_date#1"]["result"] == expected
    [returned] = _last_request(model, 1).parts
    assert isinstance(returned, ToolReturnPart) and returned.content == expected
    first = _last_request(model, 0)
    assert first.instructions is not None and "Never\n  guess an owner" in first.instructions
    [prompt] = first.parts
    assert isinstance(prompt, UserPromptPart)
    assert prompt.content == (
        "Record this meeting\n\nThe meeting took place on 2025-03-10. Its notes:\n\n"
        f"{NOTES['notes']}\n"
    )
    assert [a["usage"]["input_tokens"] for a in result.model_calls] == [10, 10]


async def test_an_answer_that_breaks_the_output_schema_goes_back_to_the_model() -> None:
    broken = {key: value for key, value in ANSWER.items() if key != "open_questions"}
    model = ScriptedModel(tool_call("final_result", **broken), tool_call("final_result", **ANSWER))
    result = await run_agent(_one(EXAMPLE), "Record it", NOTES, models={"small": model})
    assert result.status == "completed" and result.deliverable == ANSWER
    [retry] = _last_request(model, 1).parts
    assert isinstance(retry, ToolReturnPart) and retry.outcome == "retried"
    assert "'open_questions' is a required property" in str(retry.content)

    twice = ScriptedModel(tool_call("final_result", **broken), tool_call("final_result", **broken))
    failed = await run_agent(_one(EXAMPLE), "Record it", NOTES, models={"small": twice})
    assert failed.status == "failed" and "not usable" in (failed.error or "")
    assert failed.executions == 1, "replaying the same journaled answers cannot help"


async def test_the_models_are_those_of_the_task_profile() -> None:
    def models() -> dict[str, ScriptedModel]:
        return {
            "small": ScriptedModel(tool_call("final_result", **ANSWER)),
            "large": ScriptedModel(tool_call("final_result", **ANSWER)),
        }

    notes = _one(EXAMPLE)
    for profile, called in [("fast", "small"), ("balanced", "small"), ("thorough", "large")]:
        scripted = models()
        result = await run_agent(notes, "Record it", NOTES, models=scripted, profile=profile)
        assert result.status == "completed", (profile, result.error)
        assert {name: m.calls for name, m in scripted.items()} == {
            name: int(name == called) for name in scripted
        }, profile


async def test_the_default_prompt_is_the_goal_then_the_input_as_json(tmp_path: Path) -> None:
    plain = _one(_file(tmp_path, "agents:\n  - {name: plain, models: [main]}\n"))
    model = ScriptedModel(said("one"), said("two"))
    await run_agent(plain, "Say hi", models={"main": model})
    await run_agent(plain, "Say hi", {"to": ["Ana", "Bo"]}, models={"main": model})
    prompts = [_last_request(model, call).parts[0].content for call in (0, 1)]
    assert prompts == ["Say hi", 'Say hi\n\nInput:\n{\n  "to": [\n    "Ana",\n    "Bo"\n  ]\n}']


async def test_a_prompt_template_fills_goal_input_and_input_fields(tmp_path: Path) -> None:
    templated = _one(
        _file(
            tmp_path,
            """
            agents:
              - name: templated
                models: [main]
                prompt: "{goal} | {input.name} | {input.tags} | {input.absent} | {input}"
            """,
        )
    )
    model = ScriptedModel(said("done"))
    result = await run_agent(
        templated, "Greet", {"name": "Ana", "tags": ["a"]}, models={"main": model}
    )
    assert result.deliverable == "done"
    assert _last_request(model, 0).parts[0].content == (
        'Greet | Ana | [\n  "a"\n] |  | {\n  "name": "Ana",\n  "tags": [\n    "a"\n  ]\n}'
    )


async def test_ask_and_agent_tools_park_the_task_and_delegate(tmp_path: Path) -> None:
    helper = _one(
        _file(
            tmp_path,
            """
            agents:
              - name: helper
                models: [main]
                tools: [{ask: true}, {agent: researcher}]
            """,
        )
    )
    asking = ScriptedModel(tool_call("ask_human", question="Which market?"))
    asked = await run_agent(helper, "Size the market", models={"main": asking})
    assert asked.status == "input-required" and asked.question is not None
    assert asked.question["text"] == "Which market?"

    model = ScriptedModel(
        tool_call("ask_human", question="Which market?"),
        tool_call("delegate_researcher", goal="Size the EU market"),
        said("About 3 million"),
    )
    done = await run_agent(
        helper,
        "Size the market",
        models={"main": model},
        replies=["the EU"],
        delegates={"researcher": {"size": 3_000_000}},
    )
    assert done.status == "completed" and done.deliverable == "About 3 million"
    assert model.calls == 3  # the two parks replayed the journaled model calls
    [delegated] = [e[1] for e in done.events if e[0] == "delegate"]
    assert delegated["agent"] == "researcher" and delegated["goal"] == "Size the EU market"
    [returned] = _last_request(model, 2).parts
    assert isinstance(returned, ToolReturnPart) and returned.content == {"size": 3_000_000}


async def test_the_tools_of_a_declared_mcp_server_are_offered(tmp_path: Path) -> None:
    counter = tmp_path / "counter"
    path = _file(
        tmp_path,
        f"""
        agents:
          - name: mcp-user
            models: [main]
            tools:
              - mcp:
                  local:
                    command: [{sys.executable!r}, {str(MCP_SERVER)!r}, stdio, {str(counter)!r}]
        """,
    )
    user = _one(path)
    assert user.mcp_servers["local"].command[-2:] == ("stdio", str(counter))
    model = ScriptedModel(tool_call("local_add", a=2, b=3), said("5"))
    result = await run_agent(user, "2+3?", models={"main": model})
    assert result.status == "completed" and result.deliverable == "5", result.error
    steps = [e[1]["name"] for e in result.events if e[0] == "step.completed"]
    assert steps == ["mcp:local/tools/list#1", "llm#1", "mcp:local/add#1", "llm#2"]
    [returned] = _last_request(model, 1).parts
    assert isinstance(returned, ToolReturnPart) and "5" in str(returned.content)


async def test_a_tool_module_beside_the_file_is_imported_from_there(tmp_path: Path) -> None:
    (tmp_path / "beside_tools_7f3a.py").write_text(
        'def shout(text: str) -> str:\n    """Upper-case `text`."""\n    return text.upper()\n'
    )
    path = _file(
        tmp_path,
        """
        agents:
          - name: shouter
            models: [main]
            tools: [{python: "beside_tools_7f3a:shout"}]
        """,
    )
    search_path = list(sys.path)
    shouter = _one(path)
    assert sys.path == search_path, "the file's directory is searched only while importing"
    model = ScriptedModel(tool_call("shout", text="hi"), said("HI"))
    result = await run_agent(shouter, "Shout hi", models={"main": model})
    steps = {e[1]["name"]: e[1] for e in result.events if e[0] == "step.completed"}
    assert steps["tool:shout#1"]["result"] == "HI"


def test_yml_and_toml_files_load_through_the_loader(tmp_path: Path) -> None:
    yml = _file(tmp_path, "agents:\n  - {name: from-yml, models: [main]}\n", "a.yml")
    toml = _file(
        tmp_path,
        """
        [[agents]]
        name = "from-toml"
        version = "2.0.0"
        price = "0.5"
        models = { fast = ["small"], thorough = ["large"] }
        tools = [{ python = "json:dumps" }]
        sla = { expected_seconds = 5, max_seconds = 10 }
        """,
        "b.toml",
    )
    loaded = load_agents([str(yml), str(toml)], entry_point_group=False)
    assert [d.ref for d in loaded] == ["from-yml@0.1.0", "from-toml@2.0.0"]
    assert loaded[1].models == {"fast": ("small",), "thorough": ("large",)}
    assert loaded[1].price == Decimal("0.5") and loaded[1].sla == SLA(5, 10)
    with pytest.raises(UsageError, match=r"--agents .*missing\.yaml: no such file"):
        load_agents([str(tmp_path / "missing.yaml")], entry_point_group=False)


AGENT = "agents:\n  - name: broken\n    models: [main]\n"
BAD_FILES = [
    ("agents: []\n", "agents: List should have at least 1 item"),
    ("- name: x\n", "expected a mapping with `agents:`"),
    ("", "expected a mapping with `agents:`"),
    ("agents:\n  - name: broken\n", "agents[0].models: required"),
    (AGENT + "    instruction: hi\n", "agents[0].instruction: unknown field"),
    ("agents:\n  - {name: x, models: {slow: [m]}}\n", "agents[0].models: models is a non-empty"),
    ("agents:\n  - {name: x, models: []}\n", "agents[0].models: models is a non-empty"),
    (
        AGENT + "    tools: [{python: 'json:dumps', agent: other}]\n",
        "agents[0].tools[0]: a tool is exactly one of `python: package.module:function`, "
        "`mcp: {name: {url: ...}}`, `agent: agent-name` or `ask: true`; this one has python "
        "and agent",
    ),
    (AGENT + "    tools: [{function: 'json:dumps'}]\n", "agents[0].tools[0].function: unknown"),
    (AGENT + "    tools: [{python: json.dumps}]\n", "agents[0].tools[0].python: String should"),
    (
        AGENT + "    tools: [{python: 'no_such_module_4c1:f'}]\n",
        "agents[0].tools[0].python: cannot import 'no_such_module_4c1' (No module named",
    ),
    (
        AGENT + "    tools: [{python: 'json:nope'}]\n",
        "agents[0].tools[0].python: module 'json' has no function 'nope'",
    ),
    (
        AGENT + "    tools: [{mcp: {srv: {url: 'http://x/mcp', command: [a]}}}]\n",
        "agents[0].tools[0].mcp.srv: MCPServer takes exactly one of url= or command=",
    ),
    (
        AGENT
        + "    tools: [{mcp: {s: {url: 'http://a/mcp'}}}, {mcp: {s: {url: 'http://b/mcp'}}}]\n",
        "agents[0].tools[1].mcp.s: the MCP server 's' is declared twice",
    ),
    (AGENT + "    tools: [{agent: Other_Agent}]\n", "agents[0].tools[0].agent: String should"),
    (AGENT + "    output_schema: {type: array}\n", "agents[0].output_schema: must describe an"),
    (AGENT + "    input_schema: {type: 12}\n", "agents[0].input_schema: not a valid JSON Schema"),
    (AGENT + "    prompt: 'Do {gaol}'\n", "agents[0]: prompt: unknown placeholder {gaol}"),
    (
        AGENT + "    prompt: '{input.note}'\n"
        "    input_schema: {type: object, properties: {notes: {type: string}}}\n",
        "agents[0]: prompt: {input.note} names no property of input_schema (it has notes)",
    ),
    (AGENT + "    sla: {expected_seconds: 60, max_seconds: 5}\n", "expected_seconds must not"),
    (AGENT + "    version: 1.0\n", "agents[0]: agent version '1.0' must be semver"),
    ("agents:\n  - {name: Bad_Name, models: [m]}\n", "agents[0]: agent name 'Bad_Name' must"),
    (AGENT + "    price: -1\n", "agents[0].price: Input should be greater than or equal to 0"),
    (AGENT + "    visibility: secret\n", "agents[0].visibility: Input should be 'public' or"),
    (AGENT + "    max_turns: 0\n", "agents[0].max_turns: Input should be greater than or equal"),
]


@pytest.mark.parametrize(("text", "expected"), BAD_FILES, ids=[e for _, e in BAD_FILES])
def test_a_bad_file_is_one_line_naming_the_file_and_the_field(
    tmp_path: Path, text: str, expected: str
) -> None:
    path = tmp_path / "agents.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(UsageError) as caught:
        load_file(path)
    message = caught.value.detail
    assert message.startswith(f"{path}: ") and "\n" not in message, message
    assert expected in message, message


def test_a_syntax_error_names_the_line(tmp_path: Path) -> None:
    path = _file(tmp_path, "agents:\n  - name: x\n    models: [a, b\n")
    with pytest.raises(UsageError, match=rf"^{path}:4:1: invalid YAML: expected ',' or ']'"):
        load_file(path)
    toml = _file(tmp_path, "[[agents]\n", "bad.toml")
    with pytest.raises(UsageError, match=rf"^{toml}: invalid TOML: .*line 1"):
        load_file(toml)
