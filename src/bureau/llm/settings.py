"""Model providers and prices of a deployment (`BUREAU_LLM_*`), read once at the edge.

`BUREAU_LLM_MODELS` names the models agents may use, as JSON: each name maps to a provider
(`openai` for any OpenAI-compatible endpoint: OpenAI, vLLM, Ollama, llama.cpp server, LM
Studio, OpenRouter; or `anthropic`), the provider's model id, an optional `base_url`, and
where its API key comes from: `api_key` (the deployment's), or `api_key_secret`, the name
of a secret of the tenant that published the agent (`PUT /v1/secrets/{name}`), so each
publisher pays its own provider. Prices are per million tokens.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class Price(BaseModel):
    """A model's price per million tokens, by kind; cache reads and writes default to the
    input price."""

    model_config = ConfigDict(extra="forbid")

    input: Decimal = Field(Decimal(0), ge=0)
    output: Decimal = Field(Decimal(0), ge=0)
    cache_read: Decimal | None = Field(None, ge=0)
    cache_write: Decimal | None = Field(None, ge=0)


class ModelSpec(BaseModel):
    """One model an agent may name."""

    model_config = ConfigDict(extra="forbid")

    provider: Literal["openai", "anthropic"]
    model: str = Field(min_length=1, max_length=200)
    """The provider's id of the model (`gpt-4.1-mini`, `claude-sonnet-4-5`, `llama3.1:8b`)."""
    base_url: str | None = None
    api_key: SecretStr | None = None
    api_key_secret: str | None = Field(None, pattern=r"^[A-Za-z0-9_.-]{1,100}$")
    timeout_seconds: float = Field(60.0, gt=0)
    """One call's timeout; a call that times out falls back to the profile's next model."""
    max_retries: int = Field(2, ge=0, le=10)
    """Retries of one call by the provider's client (429 and 5xx, honouring Retry-After)."""
    concurrency: int = Field(8, ge=1)
    """Calls in flight at once to this model, per worker process."""
    price: Price = Field(default_factory=Price)


class LLMSettings(BaseSettings):
    """`BUREAU_LLM_MODELS='{"small": {"provider": "openai", "model": "gpt-4.1-mini",
    "api_key_secret": "OPENAI_API_KEY", "price": {"input": "0.4", "output": "1.6"}}}'`."""

    model_config = SettingsConfigDict(env_prefix="BUREAU_LLM_", extra="ignore")

    models: dict[str, ModelSpec] = Field(default_factory=dict)
