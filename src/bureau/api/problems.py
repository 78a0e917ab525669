"""The problem+json shape (RFC 9457) of every error, and how routes declare theirs."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class FieldProblem(BaseModel):
    path: str = Field(description="JSON Pointer of the offending value, e.g. `/input/rows/0`")
    message: str


class Problem(BaseModel):
    """What went wrong and what to fix. `code` is stable; `detail` is for people."""

    model_config = ConfigDict(extra="allow", json_schema_extra={"additionalProperties": True})

    type: str = Field(examples=["https://bureau.dev/problems/not_found"])
    title: str
    status: int
    detail: str
    code: str = Field(examples=["not_found"])
    field: str | None = Field(
        default=None, description="The request field to fix, when there is one"
    )
    errors: list[FieldProblem] | None = Field(
        default=None, description="Every invalid field (validation errors)"
    )


MEANING = {
    400: "Malformed request (e.g. the body is not JSON)",
    401: "Missing, malformed, unknown or revoked API key",
    403: "The key's role does not allow this",
    404: "No such task, agent or artifact in the caller's tenant",
    409: "Conflict with the task's state (already answered, finished, reviewed; idempotency "
    "key reused with another body; session busy)",
    413: "Request body or a field too large",
    422: "Invalid request: `errors` lists every invalid field",
    429: "The tenant is over its requests per second; retry after `Retry-After` seconds",
    503: "Not ready (database unreachable, or at the wrong schema version)",
}


HEADERS = {
    429: {
        "Retry-After": {
            "description": "Seconds until the tenant may send again",
            "required": True,
            "schema": {"type": "string"},
        }
    },
    401: {
        "WWW-Authenticate": {
            "description": "`Bearer`: send `Authorization: Bearer bk_...`",
            "required": True,
            "schema": {"type": "string"},
        }
    },
}


def problems(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The `responses=` of a route answering these error statuses with problem+json."""
    return {
        status: {
            "description": MEANING[status],
            "content": {"application/problem+json": {"schema": {"$ref": PROBLEM_REF}}},
            **({"headers": HEADERS[status]} if status in HEADERS else {}),
        }
        for status in statuses
    }


PROBLEM_REF = "#/components/schemas/Problem"
AUTHENTICATED = (401, 422, 429)
"""What any route behind an API key may answer (422: a malformed parameter)."""
