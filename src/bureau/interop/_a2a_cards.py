"""Agent cards: one per catalog agent, and Bureau's own as a directory of them.

An agent's card lists its endpoint four times: JSON-RPC and HTTP+JSON, protocol 1.0 first
(clients and the TCK take the first interface per binding) and 0.3 after (so
`agent_card_to_dict` adds the 0.3 fields old clients read). Every call needs the bearer
key the card declares.
"""

from __future__ import annotations

from typing import Any

from a2a.types import (
    AgentCapabilities,
    AgentCard,
    AgentInterface,
    AgentProvider,
    AgentSkill,
    HTTPAuthSecurityScheme,
    SecurityRequirement,
    SecurityScheme,
    StringList,
)

from bureau import __version__
from bureau.store.views import Agent, AgentSummary

MODES = ["text/plain", "application/json"]
BINDINGS = ("JSONRPC", "HTTP+JSON")
PATHS = {"JSONRPC": "jsonrpc", "HTTP+JSON": "rest"}


def _secured(**fields: Any) -> AgentCard:
    """A card with Bureau's bearer scheme, required on every call."""
    scheme = HTTPAuthSecurityScheme(
        scheme="Bearer",
        bearer_format="Bureau API key (bk_...)",
        description="An API key of the caller's tenant; its scopes apply as over REST",
    )
    return AgentCard(
        provider=AgentProvider(organization="Bureau", url=fields.pop("base")),
        security_schemes={"bearer": SecurityScheme(http_auth_security_scheme=scheme)},
        security_requirements=[SecurityRequirement(schemes={"bearer": StringList()})],
        default_output_modes=[*MODES, "application/octet-stream"],
        **({"default_input_modes": MODES} | fields),
    )


def agent_card(agent: Agent, base: str) -> AgentCard:
    """The card of `agent` (its latest active version) served from `base`."""
    endpoint = f"{base}/a2a/{agent['name']}"
    interfaces = [
        AgentInterface(
            url=f"{endpoint}/{PATHS[binding]}", protocol_binding=binding, protocol_version=version
        )
        for version in ("1.0", "0.3")
        for binding in BINDINGS
    ]
    schema = agent["input_schema"] or {}
    latest = next(v for v in agent["versions"] if v["version"] == agent["latest_version"])
    modes = [*MODES, *latest["accepts_files"]]
    examples = schema.get("examples")
    skill = AgentSkill(
        id=agent["name"],
        name=agent["name"],
        description=_described(agent["description"], schema),
        tags=agent["capabilities"] or [agent["name"]],
        examples=[e for e in examples if isinstance(e, str)] if isinstance(examples, list) else [],
        input_modes=modes,
        output_modes=[*MODES, "application/octet-stream"],
    )
    return _secured(
        base=base,
        name=agent["name"],
        description=agent["description"] or f"the Bureau agent {agent['name']}",
        version=agent["latest_version"],
        supported_interfaces=interfaces,
        capabilities=AgentCapabilities(
            streaming=True, push_notifications=True, extended_agent_card=True
        ),
        skills=[skill],
        documentation_url=f"{base}/docs",
        default_input_modes=modes,
    )


def _described(description: str, schema: dict[str, Any]) -> str:
    """What the skill does and how to send its input."""
    how = (
        "Send the goal as text; send the input as one data part holding an object "
        "(its JSON Schema is the agent's `input_schema` in GET /v1/agents/{name})."
        if schema
        else "Send the goal as text."
    )
    return f"{description} {how}".strip()


def platform_card(agents: list[AgentSummary], base: str) -> AgentCard:
    """Bureau's card: a directory, not an endpoint. Each agent is a skill whose
    description names its card's URL (the list is the caller's catalog: empty without a
    key). It has no interface of its own: call an agent at its card's interfaces."""
    skills = [
        AgentSkill(
            id=a["name"],
            name=a["name"],
            description=f"{a['description']} Card: {base}/a2a/{a['name']}/.well-known/"
            "agent-card.json".strip(),
            tags=a["capabilities"] or [a["name"]],
        )
        for a in agents
    ]
    return _secured(
        base=base,
        name="Bureau",
        description="Agent-as-a-Service: dispatch goals to agents, follow the work, pay per "
        "accepted result. Each agent has its own A2A card at /a2a/{agent}/.well-known/"
        "agent-card.json; with a bearer key this card lists the agents the key may call.",
        version=__version__,
        capabilities=AgentCapabilities(streaming=True, push_notifications=True),
        skills=skills,
        documentation_url=f"{base}/docs",
    )
