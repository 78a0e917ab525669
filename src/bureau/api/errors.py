"""One table from error class to HTTP status; problem+json (RFC 9457) for every error."""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException
from starlette.responses import Response

from bureau import errors

log = logging.getLogger("bureau.api")

STATUS: dict[type[errors.BureauError], int] = {
    errors.InvalidRequest: 422,
    errors.PayloadTooLarge: 413,
    errors.Unauthenticated: 401,
    errors.Forbidden: 403,
    errors.NotFound: 404,
    errors.Conflict: 409,
    errors.UsageError: 400,
    errors.SchemaVersionMismatch: 503,
    errors.RateLimited: 429,
}

HTTP_CODES = {
    400: "bad_request",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "invalid_request",
}


def status_of(error: errors.BureauError) -> int:
    for cls in type(error).__mro__:
        if cls in STATUS:
            return STATUS[cls]
    return 500


def problem(
    status: int,
    code: str,
    title: str,
    detail: str,
    headers: Mapping[str, str] | None = None,
    **extra: Any,
) -> Response:
    body = {
        "type": f"https://bureau.dev/problems/{code}",
        "title": title,
        "status": status,
        "detail": detail,
        "code": code,
        **extra,
    }
    if status == 401:
        headers = {**(headers or {}), "WWW-Authenticate": "Bearer"}
    if status == 429 and "retry_after" in extra:
        headers = {**(headers or {}), "Retry-After": str(extra["retry_after"])}
    return Response(
        orjson.dumps(body),
        status_code=status,
        headers=dict(headers) if headers else None,
        media_type="application/problem+json",
    )


async def _bureau_error(_: Request, exc: Exception) -> Response:
    assert isinstance(exc, errors.BureauError)
    return problem(status_of(exc), exc.code, exc.title, exc.detail, **exc.extra)


async def _validation_error(_: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    problems = []
    for error in exc.errors():
        location = [str(p) for p in error.get("loc", ())]
        if error.get("type") == "json_invalid":
            return problem(
                400,
                "malformed_json",
                "Malformed JSON",
                f"the request body is not valid JSON: {error.get('msg')} "
                f"(at position {location[-1] if location else '?'})",
            )
        problems.append(
            {
                "path": "/" + "/".join(location[1:] if location[:1] == ["body"] else location),
                "message": error.get("msg"),
            }
        )
    listing = "; ".join(f"{p['path']}: {p['message']}" for p in problems)
    return problem(
        422, "invalid_request", "Invalid request", f"fix these fields: {listing}", errors=problems
    )


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    code = HTTP_CODES.get(exc.status_code, "http_error")
    title = detail = str(exc.detail)
    headers = dict(exc.headers or {})
    if exc.status_code == 404 and detail == "Not Found":
        title = detail = "no such endpoint; see /openapi.json for the API"
    elif exc.status_code == 405:
        allow = headers["Allow"] = _documented_methods(request) or headers.get("Allow", "")
        detail = f"this endpoint does not answer {request.method}; it answers {allow}"
    return problem(exc.status_code, code, title, detail, headers=headers)


def _documented_methods(request: Request) -> str | None:
    """The methods the API documents for the request's path. (The router's own `Allow`
    names only the first route whose path matched: `POST` for `/v1/tasks`.)"""
    path = request.scope["path"]
    for template, item in request.app.openapi().get("paths", {}).items():
        if re.fullmatch(re.sub(r"\{[^/}]+\}", "[^/]+", template), path):
            return ", ".join(sorted(method.upper() for method in item))
    return None


async def _unexpected(_: Request, exc: Exception) -> Response:
    log.exception("unexpected error", exc_info=exc)
    return problem(
        500, "internal", "Internal error", "an unexpected error occurred; it has been logged"
    )


def install(app: FastAPI) -> None:
    app.add_exception_handler(errors.BureauError, _bureau_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(HTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected)
