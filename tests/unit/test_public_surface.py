import bureau
import bureau.testing


def test_sdk_surface_is_pinned() -> None:
    assert bureau.__all__ == [
        "SLA",
        "AgentDefinition",
        "BureauError",
        "Context",
        "Decline",
        "DelegationFailed",
        "Fatal",
        "MCPServer",
        "Reply",
        "Retry",
        "RetryPolicy",
        "ToolError",
        "UsageError",
        "agent",
    ]
    assert bureau.__all__ == sorted(bureau.__all__, key=lambda n: (not n.isupper(), n))
    assert bureau.testing.__all__ == [
        "OpenAITestServer",
        "RunResult",
        "ScriptedError",
        "ScriptedModel",
        "ScriptedResponse",
        "ToolCall",
        "Usage",
        "run_agent",
        "said",
        "tool_call",
    ]
    for name in bureau.testing.__all__:
        assert getattr(bureau.testing, name) is not None


def test_sdk_imports_no_server_code() -> None:
    import subprocess
    import sys

    code = (
        "import sys, bureau, bureau.testing; "
        "bad = [m for m in sys.modules if m.startswith(('bureau.store', 'bureau.api', "
        "'bureau.engine', 'fastapi', 'sqlalchemy', 'pydantic_ai'))]; print(bad); assert not bad"
    )
    subprocess.run([sys.executable, "-c", code], check=True, capture_output=True)
