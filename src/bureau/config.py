"""Settings, read once at the edge (CLI / app factory) and passed down as a plain object.

Every option can come from the command line or from the environment as `BUREAU_<NAME>`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

from pydantic import BeforeValidator, Field, IPvAnyNetwork, SecretStr
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from bureau.llm.settings import LLMSettings
from bureau.remote.settings import RemoteSettings
from bureau.store.limits import Limits


def _listed(value: Any) -> Any:
    """A list from the environment: JSON (`["a", "b"]`) or comma-separated (`a,b`)."""
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("["):
            return json.loads(text)
        return [item.strip() for item in text.split(",") if item.strip()]
    return value


Networks = Annotated[list[IPvAnyNetwork], NoDecode, BeforeValidator(_listed)]
"""Networks, as a JSON list or comma-separated (`127.0.0.0/8,::1/128`)."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="BUREAU_", extra="ignore")

    data_dir: Path = Path(".bureau")
    host: str = "127.0.0.1"
    port: int = Field(8000, ge=0, le=65535)
    database_url: str | None = None
    redis_url: str | None = None
    agents: list[str] = Field(default_factory=list)
    demo_agents: bool = True
    bootstrap_admin_key: SecretStr | None = None
    publisher_key: SecretStr | None = None
    """A key with `agents:publish`: this process's agents are published into its tenant."""
    publish_tenant: str | None = None
    """Without a publisher key: the tenant this process's agents are published into
    (default: the default tenant)."""
    secret_keys: list[SecretStr] = Field(default_factory=list)
    """Fernet keys sealing per-tenant secrets at rest: the first seals, all open. Default:
    one made in DATA_DIR/secret-key."""

    worker_concurrency: int = Field(64, ge=1)
    lease_seconds: float = Field(10.0, gt=0, le=600)
    poll_interval: float = Field(1.0, gt=0)
    reaper_interval: float = Field(1.0, gt=0)
    shutdown_grace_seconds: float = Field(10.0, ge=0)
    auto_accept_seconds: float = Field(72 * 3600.0, gt=0)
    session_ttl_seconds: float = Field(86400.0, gt=0)
    max_deadline_seconds: float = Field(7 * 86400.0, gt=0)

    max_body_bytes: int = Field(16 * 1024 * 1024, ge=1024)
    # Each tenant's default limits (0: none; sizes: the server's maximum); an operator
    # overrides them per tenant (`PUT /v1/tenants/{id}/limits`). See `store.limits.Limits`.
    tenant_requests_per_second: int = Field(0, ge=0)
    tenant_running_tasks: int = Field(0, ge=0)
    tenant_queued_tasks: int = Field(0, ge=0)
    tenant_parked_tasks: int = Field(0, ge=0)
    tenant_input_bytes: int = Field(0, ge=0)
    request_timeout_seconds: float = Field(30.0, gt=0, le=3600)
    """How long a request's headers, and then its body, may take to arrive: a connection
    that has not sent a complete request by then is closed (slow or idle clients)."""
    keep_alive_seconds: int = Field(75, ge=1, le=3600)
    """How long a connection may idle between requests before the server closes it: longer
    than a load balancer's idle timeout (often 60 s), so the balancer, not the server, closes
    an idle connection and never sends a request on one the server is closing."""
    max_artifact_bytes: int = Field(64 * 1024 * 1024, ge=1024)
    sse_heartbeat_seconds: float = Field(15.0, gt=0, le=15.0)
    long_poll_max_seconds: float = Field(60.0, gt=0)
    webhook_timeout_seconds: float = Field(10.0, gt=0)
    webhook_max_attempts: int = Field(8, ge=1)
    webhook_allowed_networks: Networks = Field(default_factory=list)
    """Private networks webhooks may go to anyway (development: `["127.0.0.0/8"]`)."""

    remote: RemoteSettings = Field(default_factory=RemoteSettings)
    """How workers run remote A2A agents (`BUREAU_REMOTE_*`)."""
    llm: LLMSettings = Field(default_factory=LLMSettings)
    """The models agents may call (`BUREAU_LLM_MODELS`)."""

    log_level: str = "info"

    def tenant_limits(self) -> Limits:
        return Limits(
            requests_per_second=self.tenant_requests_per_second,
            running_tasks=self.tenant_running_tasks,
            queued_tasks=self.tenant_queued_tasks,
            parked_tasks=self.tenant_parked_tasks,
            input_bytes=self.tenant_input_bytes,
        )

    @property
    def sqlite_path(self) -> Path:
        return self.data_dir / "bureau.db"

    @property
    def admin_key_path(self) -> Path:
        return self.data_dir / "admin-key"

    @property
    def artifacts_dir(self) -> Path:
        return self.data_dir / "artifacts"
