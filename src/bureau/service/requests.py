"""What callers send: the service's request models (REST uses them as request bodies).

Pydantic checks shape and bounds; the service checks meaning (the agent exists, the input
fits its schema, the question is open).
"""

from __future__ import annotations

import math
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, AnyHttpUrl, BaseModel, ConfigDict, Field, StrictBool

from bureau.auth.scopes import Role, Scope

INT64 = range(-(2**63), 2**63)


class JsonBounds:
    """What any JSON value a caller sends must fit to be stored and read back: at most
    `depth` levels of nesting and `items` values in all, finite numbers, integers within
    64 bits. Well below what the encoders can write back inside a task or an event (they
    stop near 255 levels), so nothing accepted fails to be read."""

    def __init__(self, depth: int, items: int) -> None:
        self.depth, self.items = depth, items

    def __call__(self, value: Any) -> Any:
        stack, seen = [(value, 1)], 0
        while stack:
            node, level = stack.pop()
            seen += 1
            if seen > self.items:
                raise ValueError(f"more than {self.items} values; send large data as a file")
            if isinstance(node, dict | list):
                if level > self.depth:
                    raise ValueError(f"nested deeper than {self.depth} levels; flatten it")
                children = node.values() if isinstance(node, dict) else node
                stack.extend((child, level + 1) for child in children)
            elif isinstance(node, float) and not math.isfinite(node):
                raise ValueError("NaN and Infinity are not JSON numbers; send null or a string")
            elif isinstance(node, int) and not isinstance(node, bool) and node not in INT64:
                raise ValueError("an integer beyond 64 bits; send big numbers as strings")
        return value


Input = Annotated[dict[str, Any], AfterValidator(JsonBounds(depth=32, items=100_000))]
Data = Annotated[Any, AfterValidator(JsonBounds(depth=32, items=100_000))]
Metadata = Annotated[
    dict[str, Any], Field(max_length=64), AfterValidator(JsonBounds(depth=4, items=1_000))
]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


HEADER_NAME = r"^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,100}$"
RESERVED_HEADERS = frozenset(
    {"host", "content-length", "content-type", "transfer-encoding", "connection"}
    | {"webhook-id", "webhook-timestamp", "webhook-signature"}
)


def _sendable(headers: dict[str, str]) -> dict[str, str]:
    for name, value in headers.items():
        if name.lower() in RESERVED_HEADERS:
            raise ValueError(f"header {name!r} is set by Bureau; leave it out")
        if not value.isascii() or not value.isprintable():
            raise ValueError(f"header {name!r}: printable ASCII only (no line breaks)")
    return headers


class WebhookSpec(_Body):
    url: AnyHttpUrl
    headers: (
        Annotated[
            dict[
                Annotated[str, Field(pattern=HEADER_NAME)],
                Annotated[str, Field(max_length=4_000)],
            ],
            Field(max_length=8),
            AfterValidator(_sendable),
        ]
        | None
    ) = Field(
        default=None,
        description="Sent with every delivery (e.g. the receiver's Authorization), beside "
        "Bureau's signature; stored sealed and never shown again",
    )
    format: Literal["bureau", "a2a"] = Field(
        default="bureau",
        description="`bureau`: Bureau's event payload; `a2a`: an A2A push notification "
        "(a StreamResponse holding the task)",
    )


class TaskCreate(_Body):
    agent: str = Field(min_length=1, max_length=140, description="`name` or `name@version`")
    goal: str = Field(max_length=100_000)
    input: Input | None = None
    profile: Literal["fast", "balanced", "thorough"] | None = None
    session_id: str | None = Field(default=None, min_length=1, max_length=200)
    on_busy: Literal["queue", "reject", "interrupt"] = "queue"
    webhook: WebhookSpec | None = None
    deadline_seconds: float | None = Field(default=None, gt=0)
    metadata: Metadata | None = Field(
        default=None, description="Up to 64 keys, 4 levels deep, 1,000 values; echoed back"
    )


class MessageCreate(_Body):
    text: str | None = Field(default=None, max_length=100_000)
    data: Data = None
    question_id: str | None = None


class AcceptBody(_Body):
    rating: int | None = Field(default=None, ge=1, le=5)
    comment: str | None = Field(default=None, max_length=10_000)


class RejectBody(_Body):
    reason: str = Field(min_length=1, max_length=10_000)
    redo: StrictBool = False


MAX_KEY_SECONDS = 10 * 365 * 86400.0
MAX_GRACE_SECONDS = 7 * 86400.0


class KeyCreate(_Body):
    name: str = Field(min_length=1, max_length=200, description="What the key is for")
    role: Role = Role.MEMBER
    scopes: list[Scope] | None = Field(
        default=None,
        max_length=len(Scope),
        description="Narrower than the role's scopes; the role's scopes when absent",
    )
    expires_in_seconds: float | None = Field(
        default=None, gt=0, le=MAX_KEY_SECONDS, description="The key stops working after this"
    )


class KeyRotate(_Body):
    grace_seconds: float = Field(
        default=3600.0,
        ge=0,
        le=MAX_GRACE_SECONDS,
        description="How long the old secret keeps working (default an hour, at most 7 days)",
    )


class TenantCreate(_Body):
    name: str = Field(min_length=1, max_length=200)


class TenantLimits(_Body):
    """Overrides of the configured defaults; an absent or null one uses the default."""

    requests_per_second: int | None = Field(
        default=None, ge=0, le=1_000_000, description="0: no limit"
    )
    running_tasks: int | None = Field(
        default=None,
        ge=0,
        le=1_000_000,
        description="Tasks running at once; more wait queued, in their turn (0: no limit)",
    )
    queued_tasks: int | None = Field(
        default=None,
        ge=0,
        le=100_000_000,
        description="Tasks waiting to run; a dispatch beyond gets 429 (0: no limit)",
    )
    parked_tasks: int | None = Field(
        default=None,
        ge=0,
        le=100_000_000,
        description="Tasks waiting for an answer or a child; a dispatch beyond gets 429 "
        "(0: no limit)",
    )
    body_bytes: int | None = Field(
        default=None,
        ge=0,
        le=1 << 40,
        description="Request body size; larger gets 413 (0: the server's maximum)",
    )
    input_bytes: int | None = Field(
        default=None,
        ge=0,
        le=1 << 40,
        description="A dispatch's input as JSON; larger gets 413 (0: the body limit)",
    )
    artifact_bytes: int | None = Field(
        default=None,
        ge=0,
        le=1 << 40,
        description="An artifact an agent writes for this tenant; larger fails the write "
        "(0: the server's maximum)",
    )
    weight: float | None = Field(
        default=None,
        ge=0.01,
        le=100,
        description="Share of the workers while tenants compete (default 1)",
    )
