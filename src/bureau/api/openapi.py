"""The OpenAPI 3.1 document: FastAPI's, with every error as `application/problem+json`.

FastAPI documents request validation errors with its own `HTTPValidationError` shape; Bureau
answers them (and every other error) with the `Problem` shape, so the document says so.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from bureau.api.problems import MEANING, PROBLEM_REF, Problem

_FASTAPI_VALIDATION = ("HTTPValidationError", "ValidationError")


def install(app: FastAPI, *, long_poll_max_seconds: float) -> None:
    """Serve the document below; `wait` (long-poll) is documented with this node's limit."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = _document(app, long_poll_max_seconds)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def _document(app: FastAPI, long_poll_max_seconds: float) -> dict[str, Any]:
    document = get_openapi(
        title=app.title,
        version=app.version,
        summary=app.summary,
        description=app.description,
        routes=app.routes,
        tags=app.openapi_tags,
    )
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    problem = Problem.model_json_schema(ref_template="#/components/schemas/{model}")
    schemas.update(problem.pop("$defs", {}))
    schemas["Problem"] = problem
    for name in _FASTAPI_VALIDATION:
        schemas.pop(name, None)
    as_problem = {"application/problem+json": {"schema": {"$ref": PROBLEM_REF}}}
    for operations in document.get("paths", {}).values():
        for operation in operations.values():
            for parameter in operation.get("parameters", []):
                if parameter["in"] == "query" and parameter["name"] == "wait":
                    # the route's bound is static; the node refuses more than its setting
                    parameter["schema"]["maximum"] = long_poll_max_seconds
            for status, response in operation.get("responses", {}).items():
                if status.isdigit() and int(status) >= 400:
                    response["content"] = as_problem
                    response["description"] = MEANING.get(int(status), response["description"])
    return document
