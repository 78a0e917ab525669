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
    assert bureau.testing.__all__ == ["RunResult", "run_agent"]


def test_sdk_imports_no_server_code() -> None:
    import subprocess
    import sys

    code = (
        "import sys, bureau, bureau.testing; "
        "bad = [m for m in sys.modules if m.startswith(('bureau.store', 'bureau.api', "
        "'bureau.engine', 'fastapi', 'sqlalchemy'))]; print(bad); assert not bad"
    )
    subprocess.run([sys.executable, "-c", code], check=True, capture_output=True)
