"""Reading a csv-analyst goal with a model, when the deployment configures one.

The model maps the goal's words onto a `Query`: one of the kinds the analyst computes and
its parameters, naming only this table's columns and values. It computes nothing: the
figures still come from the deterministic code. `mapped_query` checks every choice against
the loaded table and gives None for a mapping the analyst cannot run; the goal is then read
by the rules (`_csv_query.read_goal`), which answer or decline as they do without a model.
Goals the analyst never takes on (causes, advice, ratios, numeric conditions) are declined
by the rules before the model is asked.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, Field

from bureau import Context
from bureau.agents._csv_query import MAX_HORIZON, Query, decline, out_of_scope, read_goal
from bureau.agents._csv_table import MONTHS
from bureau.agents._csv_time import Window

KINDS = ("overview", "aggregate", "groups", "growth", "correlation", "forecast", "anomalies")
AGGREGATES = ("sum", "mean", "median", "min", "max", "count", "distinct", "missing")
GRAINS = ("year", "quarter", "month")
SHOWN_VALUES = 50
_PERIOD = re.compile(r"^(\d{4})(?:-(\d{1,2}))?$")
INSTRUCTIONS = f"""\
You map a question about one CSV table onto the analyses a deterministic analyst runs. You
compute nothing and you never answer the question yourself. Use only the table's column
names and values, spelled as listed.

kind, one of:
- overview: a profile of the data (of the rows `filters`/`exclude`/`periods` select).
- aggregate: one figure. `aggregate` sum, mean, median, min or max of one measure; count
  (rows, no measure); distinct (how many different values: `count_of` is a text column or
  year/quarter/month); missing (empty cells of the measure, or of every column).
- groups: a figure per value of `group` (a text column) and/or per period (`grain`:
  year, quarter, month), with `aggregate` (default sum); `order` desc or asc and `limit`
  for a top or bottom N ("which region sold most": order desc, limit 1).
- growth: how a measure changed over time, compared per `group` over a common window;
  order desc ranks the fastest growth first, asc the steepest decline.
- correlation: the correlation of two measures (name both, or one, or none).
- forecast: a straight-line trend of a measure `horizon` (1 to {MAX_HORIZON}) periods ahead
  at `grain`.
- anomalies: the outliers.
measures: the numeric columns the question is about, the main one first.
filters / exclude: {{text column: [values]}} of rows kept / left out.
periods: [{{"start": "YYYY-MM", "end": "YYYY-MM"}}], inclusive ("2023": 2023-01 to 2023-12).
If the question asks anything these cannot answer (why something happened, advice, shares,
ratios, conditions like "units > 100", facts outside the table), set `answerable` false
and say why in `reason`. Never pick an analysis that answers a different question.
"""


class Period(BaseModel):
    start: str = Field(description="first month, YYYY-MM")
    end: str = Field(description="last month, YYYY-MM")


class CsvGoalMapping(BaseModel):
    """A goal mapped onto the analyst's query (see `INSTRUCTIONS`); checked before use."""

    answerable: bool
    reason: str = ""
    kind: (
        Literal["overview", "aggregate", "groups", "growth", "correlation", "forecast", "anomalies"]
        | None
    ) = None
    measures: list[str] = Field(default_factory=list)
    aggregate: str | None = None
    count_of: str | None = None
    filters: dict[str, list[str]] = Field(default_factory=dict)
    exclude: dict[str, list[str]] = Field(default_factory=dict)
    periods: list[Period] = Field(default_factory=list)
    group: str | None = None
    grain: str | None = None
    order: str | None = None
    limit: int | None = None
    horizon: int | None = None


class Unmappable(ValueError):
    """The model's mapping names something the table lacks or the analyst cannot run."""


def describe_table(loaded: dict[str, Any]) -> str:
    """The table as the model sees it: columns, kinds, values, the last period."""
    lines = [f"{loaded['rows']} rows. Columns:"]
    for column in loaded["columns"]:
        kind = column["kind"]
        if column["name"] in loaded["measures"]:
            kind = "numeric measure"
        line = f"- {column['name']} ({kind})"
        if values := column.get("values"):
            shown = ", ".join(values[:SHOWN_VALUES])
            more = f", ... ({len(values)} values)" if len(values) > SHOWN_VALUES else ""
            line += f": {shown}{more}"
        lines.append(line)
    if latest := loaded.get("latest"):
        lines.append(f"The last period in the table is {latest[0]}-{latest[1]:02d}.")
    return "\n".join(lines)


def _one_of(wanted: str, names: list[str], what: str) -> str:
    for name in names:
        if name == wanted or name.lower() == " ".join(wanted.lower().split()):
            return name
    raise Unmappable(f"{what} {wanted!r} is not one of {names}")


def _month(text: str, end: bool) -> list[int]:
    match = _PERIOD.match(text.strip())
    if not match:
        raise Unmappable(f"period {text!r} is not YYYY-MM")
    month = int(match[2]) if match[2] else (12 if end else 1)
    if not 1 <= month <= 12:
        raise Unmappable(f"period {text!r} has no month {month}")
    return [int(match[1]), month]


def _label(start: list[int], end: list[int]) -> str:
    if start == end:
        return f"{MONTHS[start[1] - 1].title()} {start[0]}"
    if start[0] == end[0] and (start[1], end[1]) == (1, 12):
        return str(start[0])
    if start[0] == end[0] and start[1] % 3 == 1 and end[1] == start[1] + 2:
        return f"Q{start[1] // 3 + 1} {start[0]}"
    return f"{start[0]}-{start[1]:02d} to {end[0]}-{end[1]:02d}"


def _windows(periods: list[Period]) -> list[Window]:
    windows: list[Window] = []
    for period in periods:
        start, end = _month(period.start, False), _month(period.end, True)
        if start > end:
            raise Unmappable(f"period {period.start} to {period.end} ends before it starts")
        windows.append({"label": _label(start, end), "start": start, "end": end})
    return windows


def _values(
    chosen: dict[str, list[str]], categorical: dict[str, list[str]]
) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for column, values in chosen.items():
        name = _one_of(column, list(categorical), "text column")
        out[name] = [_one_of(v, categorical[name], f"value of {name}") for v in values]
    return {column: values for column, values in out.items() if values}


def mapped_query(mapping: CsvGoalMapping, loaded: dict[str, Any]) -> Query:
    """The mapping as a `Query` the analyst runs; raises `Unmappable` when it names a
    column, value or period the table lacks, or asks what the analyst cannot compute."""
    if not mapping.answerable or mapping.kind is None:
        raise Unmappable(mapping.reason or "the model found no analysis for the goal")
    columns = loaded["columns"]
    categorical = {c["name"]: c.get("values", []) for c in columns if c["kind"] == "categorical"}
    has_time = any(c["kind"] == "date" for c in columns)
    measures = [_one_of(m, loaded["measures"], "measure") for m in mapping.measures]
    if mapping.aggregate is not None and mapping.aggregate not in AGGREGATES:
        raise Unmappable(f"aggregate {mapping.aggregate!r} is not one of {AGGREGATES}")
    count_of = None
    if mapping.aggregate == "distinct":
        wanted = mapping.count_of or ""
        count_of = wanted if wanted in GRAINS else _one_of(wanted, list(categorical), "column")
    group = _one_of(mapping.group, list(categorical), "group") if mapping.group else None
    if mapping.grain is not None and mapping.grain not in GRAINS:
        raise Unmappable(f"grain {mapping.grain!r} is not one of {GRAINS}")
    if mapping.order not in (None, "desc", "asc"):
        raise Unmappable(f"order {mapping.order!r} is not desc or asc")
    if mapping.limit is not None and not 1 <= mapping.limit <= 1000:
        raise Unmappable(f"limit {mapping.limit} is not between 1 and 1000")
    horizon = mapping.horizon or 3
    if not 1 <= horizon <= MAX_HORIZON:
        raise Unmappable(f"horizon {horizon} is not between 1 and {MAX_HORIZON}")
    windows = _windows(mapping.periods)
    timed = windows or mapping.grain or count_of in GRAINS or mapping.kind in ("growth", "forecast")
    if timed and not has_time:
        raise Unmappable("the table has no date or period column")
    return {
        "kind": mapping.kind,
        "measures": list(dict.fromkeys(measures)),
        "aggregate": mapping.aggregate,
        "count_of": count_of,
        "filters": _values(mapping.filters, categorical),
        "exclude": _values(mapping.exclude, categorical),
        "windows": windows,
        "group": group,
        "grain": mapping.grain,
        "order": mapping.order,
        "limit": mapping.limit,
        "horizon": horizon,
    }


async def read_goal_with_model(
    ctx: Context, loaded: dict[str, Any]
) -> tuple[Query, dict[str, Any]]:
    """The goal as a `Query`, and how it was read: `{"by": "model"}`, or `{"by": "rules"}`
    (with why, when the model's mapping was set aside). Without a configured model, or
    with an empty goal, this is `read_goal`. Raises `Decline` as `read_goal` does, and with
    the model's reason when the model finds the goal beyond every analysis."""
    goal = ctx.goal.strip()
    if not goal or not ctx.llm.available():
        return read_goal(ctx.goal, loaded), {"by": "rules"}
    if problem := out_of_scope(goal, loaded):
        raise decline(problem, loaded)
    from pydantic_ai.exceptions import UnexpectedModelBehavior

    feedback = f"\nReviewer feedback on an earlier answer: {ctx.feedback}" if ctx.feedback else ""
    prompt = f"{describe_table(loaded)}\n\nQuestion: {goal}{feedback}"
    try:
        chat = await ctx.llm.chat(prompt, instructions=INSTRUCTIONS, output=CsvGoalMapping)
    except UnexpectedModelBehavior as exc:  # journaled, so the same on every replay
        return read_goal(ctx.goal, loaded), {"by": "rules", "model_failed": str(exc)}
    mapping: CsvGoalMapping = chat.output
    if not mapping.answerable or mapping.kind is None:
        # the model read the goal and found it beyond the analyses: the rules, which match
        # words, would only guess at it
        reason = mapping.reason.strip().rstrip(".") or (
            f"I could not read {goal!r} as a question about this CSV"
        )
        raise decline(f"{reason}.", loaded)
    try:
        return mapped_query(mapping, loaded), {"by": "model"}
    except Unmappable as exc:
        return read_goal(ctx.goal, loaded), {"by": "rules", "model_mapping_rejected": str(exc)}
