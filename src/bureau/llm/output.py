"""Structured output from a JSON Schema that the model's answer must match."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from jsonschema import Draft202012Validator
from pydantic import GetCoreSchemaHandler
from pydantic_ai.output import StructuredDict
from pydantic_core import core_schema


def conforming(schema: Mapping[str, Any]) -> type[Any]:
    """A structured output type for `ctx.llm.chat(output=...)` holding `schema`, whose
    answers must match it: one that does not is sent back to the model with what is wrong
    (pydantic-ai's output retry), so the deliverable always matches the schema."""
    validator = Draft202012Validator(dict(schema))

    def check(value: dict[str, Any]) -> dict[str, Any]:
        errors = sorted(validator.iter_errors(value), key=lambda e: list(e.absolute_path))
        if errors:
            raise ValueError(
                "the answer does not match the output schema: "
                + "; ".join(
                    f"at /{'/'.join(str(p) for p in error.absolute_path)}: {error.message}"
                    for error in errors[:10]
                )
            )
        return value

    base: Any = StructuredDict(dict(schema))

    class Conforming(base):  # type: ignore[misc]
        @classmethod
        def __get_pydantic_core_schema__(
            cls, source: Any, handler: GetCoreSchemaHandler
        ) -> core_schema.CoreSchema:
            any_dict = core_schema.dict_schema(
                keys_schema=core_schema.str_schema(), values_schema=core_schema.any_schema()
            )
            return core_schema.no_info_after_validator_function(check, any_dict)

    return Conforming
