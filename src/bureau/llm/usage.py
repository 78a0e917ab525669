"""What a task's model calls used and cost, rolled up from each call's attempts."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

MAX_ATTEMPTS_SHOWN = 100
USAGE_FIELDS = (
    "input_tokens",
    "output_tokens",
    "cache_read_tokens",
    "cache_write_tokens",
    "reasoning_tokens",
)


class ModelUsage:
    """The model attempts of one run, replayed ones included (a replayed call counts as
    it did when it ran)."""

    def __init__(self) -> None:
        self.attempts: list[dict[str, Any]] = []

    @property
    def calls(self) -> int:
        return sum(1 for a in self.attempts if "usage" in a)

    def meter(self, attempts: list[dict[str, Any]]) -> None:
        self.attempts.extend(attempts)

    def summary(self) -> dict[str, Any]:
        """Totals and per-model totals (tokens by kind, calls, cost), and the attempts in
        order (the first `MAX_ATTEMPTS_SHOWN`): `{model, usage, cost, seconds}` for an
        answer, `{model, error, seconds}` for a failure that fell back."""
        totals: dict[str, Any] = dict.fromkeys(USAGE_FIELDS, 0)
        cost = Decimal(0)
        by_model: dict[str, dict[str, Any]] = {}
        for attempt in self.attempts:
            model = by_model.setdefault(
                attempt["model"], {**dict.fromkeys(USAGE_FIELDS, 0), "calls": 0, "failures": 0}
            )
            if "usage" not in attempt:
                model["failures"] += 1
                continue
            model["calls"] += 1
            for kind in USAGE_FIELDS:
                totals[kind] += attempt["usage"].get(kind, 0)
                model[kind] += attempt["usage"].get(kind, 0)
            cost += Decimal(attempt["cost"])
            model["cost"] = str(Decimal(model.get("cost", "0")) + Decimal(attempt["cost"]))
        return {
            **totals,
            "calls": self.calls,
            "cost": str(cost),
            "models": by_model,
            "attempts": self.attempts[:MAX_ATTEMPTS_SHOWN],
        }
