"""Validating task input (and question replies) against JSON Schemas."""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from typing import Any

import orjson
from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError

from bureau.errors import InvalidRequest, UsageError


@lru_cache(maxsize=512)
def _validator(schema_text: str) -> Draft202012Validator:
    schema = orjson.loads(schema_text)
    try:
        Draft202012Validator.check_schema(schema)
    except SchemaError as exc:
        raise UsageError(f"the agent's JSON Schema is invalid: {exc.message}") from exc
    return Draft202012Validator(schema)


def check(schema: Mapping[str, Any] | None, value: Any, what: str) -> None:
    """Raise `InvalidRequest` listing where `value` breaks `schema` (no-op without schema)."""
    if schema is None:
        return
    validator = _validator(orjson.dumps(schema, option=orjson.OPT_SORT_KEYS).decode())
    errors = sorted(validator.iter_errors(value), key=lambda e: list(e.absolute_path))
    if not errors:
        return
    problems = [
        {"path": "/" + "/".join(str(p) for p in error.absolute_path), "message": error.message}
        for error in errors[:10]
    ]
    listing = "; ".join(f"at {p['path']}: {p['message']}" for p in problems)
    raise InvalidRequest(f"{what} does not match the schema: {listing}", errors=problems)


def check_task_input(spec: Mapping[str, Any], value: Any) -> None:
    check(spec.get("input_schema"), value, f"input for agent {spec['name']}@{spec['version']}")
