"""Reading a remote A2A agent's card, and the catalog entry Bureau publishes for it."""

from __future__ import annotations

import re
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

import httpx
import orjson
from a2a.client.card_resolver import parse_agent_card
from a2a.types import AgentCard, AgentInterface
from google.protobuf.json_format import ParseError  # type: ignore[import-untyped]

from bureau.remote import RUNTIME
from bureau.remote.outbound import http_client, read_capped
from bureau.webhooks.destinations import Network, RefusedDestination

CARD_PATH = "/.well-known/agent-card.json"
BINDINGS = ("JSONRPC", "HTTP+JSON")
"""The transports Bureau speaks to a remote, in order of preference."""
_SEMVER = re.compile(r"^\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?$")


class CardUnavailable(Exception):
    """The card could not be read: refused destination, network error, HTTP error, too
    large, or not a card. The message says which."""


def card_url_of(url: str) -> str:
    """The card's URL for an agent's URL (or the card's URL itself)."""
    if url.endswith(".json"):
        return url
    return url.rstrip("/") + CARD_PATH


async def fetch_card(
    url: str,
    *,
    allowed: Sequence[Network],
    headers: dict[str, str],
    timeout_seconds: float,
    max_bytes: int,
) -> tuple[dict[str, Any], AgentCard]:
    """The card at `url` (an agent URL or a card URL), as JSON and parsed; raises
    `CardUnavailable`."""
    card_url = card_url_of(url)
    try:
        async with (
            http_client(allowed, headers, timeout_seconds) as http,
            http.stream("GET", card_url) as response,
        ):
            if response.status_code != 200:
                raise CardUnavailable(f"GET {card_url} answered HTTP {response.status_code}")
            body = await read_capped(response, max_bytes)
            if body is None:
                raise CardUnavailable(f"the card at {card_url} is over {max_bytes} bytes")
    except RefusedDestination as exc:
        raise CardUnavailable(f"Bureau does not connect to {card_url}: {exc}") from None
    except httpx.HTTPError as exc:
        raise CardUnavailable(f"could not read {card_url}: {type(exc).__name__}: {exc}") from None
    try:
        data = orjson.loads(body)
        if not isinstance(data, dict):
            raise ValueError("not a JSON object")
        card = parse_agent_card(orjson.loads(body))  # a copy: the parser edits its input
    except (ValueError, ParseError) as exc:
        raise CardUnavailable(f"{card_url} is not an A2A agent card: {exc}") from None
    return data, card


def chosen_interface(card: AgentCard) -> AgentInterface:
    """The interface Bureau calls: protocol 1.0 first, then by binding preference."""
    usable = [i for i in card.supported_interfaces if i.protocol_binding in BINDINGS]
    if not usable:
        raise CardUnavailable(f"the card of {card.name!r} offers no JSONRPC or HTTP+JSON interface")

    def rank(interface: AgentInterface) -> tuple[int, int]:
        version = 0 if interface.protocol_version.startswith("1.") else 1
        return version, BINDINGS.index(interface.protocol_binding)

    best: AgentInterface = sorted(usable, key=rank)[0]
    return best


def agent_name_of(card: AgentCard) -> str:
    """A catalog name made from the card's name: lowercase letters, digits, dashes."""
    name = re.sub(r"[^a-z0-9]+", "-", card.name.lower()).strip("-")
    if not name or not name[0].isalpha():
        name = f"a2a-{name}".strip("-")
    return name[:63].rstrip("-")


def catalog_entry(
    card_json: dict[str, Any],
    card: AgentCard,
    *,
    card_url: str,
    name: str,
    price: Decimal,
    visibility: str,
    credential_secret: str | None,
) -> dict[str, Any]:
    """The catalog entry of a remote agent: its card's terms, runtime `a2a-remote`, and
    in `remote` what a worker needs to call it (never a credential: only the name of the
    publisher's secret holding it)."""
    version = card.version if _SEMVER.match(card.version) else "0.0.0"
    interface = chosen_interface(card)
    capabilities = sorted({tag for s in card.skills for tag in (s.id, *s.tags) if tag})[:50]
    return {
        "name": name,
        "version": version,
        "description": (card.description or f"A2A agent {card.name}")[:2000],
        "capabilities": capabilities,
        "input_schema": None,
        "output_schema": None,
        "price": str(price),
        "sla": {"expected_seconds": 60.0, "max_seconds": 3600.0},
        "profiles": ["fast", "balanced", "thorough"],
        "visibility": visibility,
        "runtime": RUNTIME,
        "max_attempts": 3,
        "idle_timeout_seconds": 3600.0,
        "remote": {
            "card_url": card_url,
            "agent_name": card.name,
            "interface": {
                "url": interface.url,
                "binding": interface.protocol_binding,
                "protocol_version": interface.protocol_version,
            },
            "card": card_json,
            "credential_secret": credential_secret,
        },
    }
