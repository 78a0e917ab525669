"""Settings of remote A2A agents (`BUREAU_REMOTE_*`), read once at the edge by the node."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class RemoteSettings(BaseSettings):
    """How workers run remote A2A agents and how they watch the remotes."""

    model_config = SettingsConfigDict(env_prefix="BUREAU_REMOTE_", extra="ignore")

    agents: bool = True
    """Whether this process's worker runs remote A2A agents."""
    refresh_seconds: float = Field(5.0, gt=0)
    """How often the worker reloads the remote agents from the catalog."""
    failure_threshold: int = Field(3, ge=1)
    """Consecutive failures (connection errors, 5xx) that open a remote's circuit."""
    probe_seconds: float = Field(10.0, gt=0)
    """How often an open circuit's remote is probed (its card fetched)."""
    health_seconds: float = Field(60.0, gt=0)
    """How often a closed circuit's remote is health-checked."""
    poll_seconds: float = Field(0.25, gt=0)
    """How soon a running remote task is first polled for its state; each later poll
    waits 1.5 times longer, up to `max_poll_seconds`."""
    max_poll_seconds: float = Field(5.0, gt=0)
    outage_grace_seconds: float = Field(120.0, ge=0)
    """How long a running remote task's remote may be unreachable before the task retries."""
    call_timeout_seconds: float = Field(30.0, gt=0)
    """Timeout of one outbound call."""
    card_max_bytes: int = Field(256 * 1024, gt=0)
    """The largest card Bureau reads."""
    artifact_max_bytes: int = Field(64 * 1024 * 1024, gt=0)
    """The largest remote artifact (by URL) Bureau copies in."""
