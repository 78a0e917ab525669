"""The agent SDK: what publishers import. Nothing here imports the server."""

from bureau.sdk.context import Context
from bureau.sdk.decorator import SLA, AgentDefinition, RetryPolicy, agent
from bureau.sdk.mcp_tools import MCPServer, ToolError
from bureau.sdk.signals import Decline, DelegationFailed, Fatal, Reply, Retry

__all__ = [
    "SLA",
    "AgentDefinition",
    "Context",
    "Decline",
    "DelegationFailed",
    "Fatal",
    "MCPServer",
    "Reply",
    "Retry",
    "RetryPolicy",
    "ToolError",
    "agent",
]
