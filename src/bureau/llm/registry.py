"""The models a worker can call: pydantic-ai models built from `LLMSettings`, per API key.

Providers are reached through pydantic-ai's model classes over the providers' official SDKs
(`openai` for any OpenAI-compatible endpoint, `anthropic`): each call has the model's
timeout, the SDK's retries (429 and 5xx, honouring `Retry-After`) and a per-model bound
on calls in flight in this process.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from bureau.errors import UsageError
from bureau.llm.settings import LLMSettings, ModelSpec

if TYPE_CHECKING:
    from pydantic_ai.models import Model

MILLION = Decimal(1_000_000)


@dataclass(frozen=True)
class Resolved:
    """A model ready to call: its name in the deployment, spec, client and bound."""

    name: str
    spec: ModelSpec
    model: Model
    bound: asyncio.Semaphore


class ModelRegistry:
    """Model names to callable models. A model whose key is a tenant secret is built with
    the secret of the tenant whose agent calls it."""

    def __init__(
        self, settings: LLMSettings | None = None, models: Mapping[str, Model] | None = None
    ) -> None:
        """The models `settings` configures, and ready `models` by name (pydantic-ai
        models: a test's scripted model, or one a program builds itself)."""
        self.specs = dict(settings.models) if settings else {}
        self._built: dict[tuple[str, str], Model] = {}
        for name, model in (models or {}).items():
            self.specs[name] = ModelSpec(provider="openai", model=name)
            self._built[(name, _fingerprint(None))] = model
        self._bounds: dict[str, asyncio.Semaphore] = {}

    def __bool__(self) -> bool:
        return bool(self.specs)

    async def resolve(self, name: str, secret: Callable[[str], Awaitable[str | None]]) -> Resolved:
        """The model `name`; `secret(NAME)` opens a secret of the calling agent's publisher.
        Raises `UsageError` for a model the deployment does not configure or a key that is
        missing."""
        spec = self.specs.get(name)
        if spec is None:
            known = ", ".join(sorted(self.specs)) or "none (set BUREAU_LLM_MODELS)"
            raise UsageError(f"model {name!r} is not configured; the models are: {known}")
        key = spec.api_key.get_secret_value() if spec.api_key else None
        if spec.api_key_secret:
            key = await secret(spec.api_key_secret)
            if key is None:
                raise UsageError(
                    f"model {name!r} takes its API key from the secret {spec.api_key_secret!r}, "
                    "which the agent's publisher has not set (PUT /v1/secrets/"
                    f"{spec.api_key_secret})"
                )
        fingerprint = _fingerprint(key)
        model = self._built.get((name, fingerprint))
        if model is None:
            model = self._built[(name, fingerprint)] = build(spec, key)
        bound = self._bounds.setdefault(name, asyncio.Semaphore(spec.concurrency))
        return Resolved(name, spec, model, bound)


def _fingerprint(key: str | None) -> str:
    return hashlib.sha256((key or "").encode()).hexdigest()


def build(spec: ModelSpec, key: str | None) -> Model:
    """A pydantic-ai model for `spec` over the provider's SDK client."""
    if spec.provider == "anthropic":
        from anthropic import AsyncAnthropic
        from pydantic_ai.models.anthropic import AnthropicModel
        from pydantic_ai.providers.anthropic import AnthropicProvider

        anthropic = AsyncAnthropic(
            api_key=key or "unset",
            base_url=spec.base_url,
            timeout=spec.timeout_seconds,
            max_retries=spec.max_retries,
        )
        return AnthropicModel(spec.model, provider=AnthropicProvider(anthropic_client=anthropic))
    from openai import AsyncOpenAI
    from pydantic_ai.models.openai import OpenAIChatModel
    from pydantic_ai.providers.openai import OpenAIProvider

    openai = AsyncOpenAI(
        api_key=key or "unset",
        base_url=spec.base_url,
        timeout=spec.timeout_seconds,
        max_retries=spec.max_retries,
    )
    return OpenAIChatModel(spec.model, provider=OpenAIProvider(openai_client=openai))


def cost_of(spec: ModelSpec, usage: Mapping[str, Any]) -> Decimal:
    """What `usage` of one call costs at the model's price (cached input at its own price)."""
    price = spec.price
    cache_read = usage.get("cache_read_tokens", 0)
    cache_write = usage.get("cache_write_tokens", 0)
    fresh = max(usage.get("input_tokens", 0) - cache_read - cache_write, 0)
    total = (
        fresh * price.input
        + cache_read * (price.cache_read if price.cache_read is not None else price.input)
        + cache_write * (price.cache_write if price.cache_write is not None else price.input)
        + usage.get("output_tokens", 0) * price.output
    )
    return Decimal(total) / MILLION
