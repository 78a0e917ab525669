"""Bureau: Agent-as-a-Service. This module re-exports the agent SDK."""

from bureau.errors import BureauError, UsageError
from bureau.sdk import (
    SLA,
    AgentDefinition,
    Context,
    Decline,
    DelegationFailed,
    Fatal,
    MCPServer,
    Reply,
    Retry,
    RetryPolicy,
    ToolError,
    agent,
)

__version__ = "0.1.0"

__all__ = [
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
