"""Reading a goal as a structured query the analyst can execute, or declining it.

`read_goal` turns words into a `Query`: what kind of answer (overview, aggregate, groups,
growth, correlation, forecast, anomalies), which measures, which rows (categorical values
and period windows), how to group, rank and limit. It raises `Decline` for what the analyst
does not do (creative writing, translation, causes, advice, the world outside the file),
for numeric conditions it cannot apply, for a word standing where a column or value should
be that the CSV does not have, and for a specific question it cannot read; it never
guesses a different question. Everything here is pure and deterministic.
"""

from __future__ import annotations

import re
from typing import Any, TypedDict

from bureau import Decline
from bureau.agents import _csv_time as time_words
from bureau.agents._csv_goal import NEGATIONS, mentioned, singular
from bureau.agents._csv_table import MONTHS, name_words

AGGREGATES = {
    "total": "sum",
    "sum": "sum",
    "average": "mean",
    "mean": "mean",
    "avg": "mean",
    "median": "median",
    "minimum": "min",
    "min": "min",
    "maximum": "max",
    "max": "max",
    "count": "count",
}
HIGH = frozenset("highest largest biggest most top best greatest peak fastest".split())
LOW = frozenset("lowest smallest least fewest bottom worst slowest".split())
GROWTH = frozenset(
    "grow grew grown growth growing increase increased increasing rise rose risen trend trends "
    "change changed changes decline declined decrease decreased drop dropped fall fell shrink "
    "shrank fastest slowest".split()
)
FALLING = frozenset(
    "decline declined decrease decreased drop dropped fall fell shrink shrank".split()
)
FORECAST = frozenset(
    "forecast forecasts forecasting predict predicts prediction predictions projection "
    "projections project projected extrapolate extrapolation will future outlook".split()
)
ANOMALY = frozenset(
    "anomaly anomalies anomalous outlier outliers unusual odd weird spike spikes strange "
    "suspicious abnormal extreme unexpected".split()
)
CORRELATION = frozenset(
    "correlation correlations correlate correlated correlates relationship related relate "
    "relates association associated".split()
)
BROAD = frozenset(
    "analyse analyze analysis overview summary summarize summarise summarizing summarising "
    "describe description profile explore exploration brief findings insights insight report "
    "statistics statistic stats dataset data file table csv columns column everything general "
    "key look".split()
)
COMPARE = frozenset("compare compared comparing comparison vs versus".split())
ROW_WORDS = frozenset("row rows record records entry entries observation observations".split())
GROUP_MARKERS = frozenset("by per each every which what across top bottom best worst".split())
SLOTS = (
    frozenset(
        "by per each every which what for of where between and vs versus with in across".split()
    )
    | frozenset(AGGREGATES)
    | HIGH
    | LOW
)
SKIPPED = frozenset(
    "the a an all my our this that these those its their is are was were be been do does did "
    "has have had there s of in for to".split()
)
FILLER = SKIPPED | frozenset(
    "me us i we you it they them show tell give find list get compute calculate what which how "
    "who when where please can could would should let see much many number amount value values "
    "figure figures row rows record records entry entries line lines observation observations "
    "overall whole entire combined altogether together over ranked sorted order rank ranking "
    "compare comparison against across between and or vs versus with within during from to "
    "until through since into on at as per by each every any some than then one two so just "
    "also only about around happen happened had been being period periods time times so far "
    "far level levels not no except excluding without including ignore ignoring instead fast "
    "slow quickly quick big small large high low up down out new latest recent last next first "
    "@period q1 q2 q3 q4 going detail details general terms respect interest particular short "
    "words numbers chart charts graph plot breakdown split distribution".split()
)
OUT_OF_SCOPE = (
    (
        "I don't do creative writing",
        "poem poems poetry haiku song songs lyrics story stories joke jokes essay limerick "
        "sonnet novel rap slogan tweet email letter speech blog",
    ),
    ("I don't translate", "translate translated translation translating"),
    (
        "I can't explain causes: the data shows what changed, not why",
        "why cause causes caused causing causal reason reasons because drove driver drivers driven",
    ),
    ("I don't give advice", "should recommend recommendation recommendations advice advise"),
    (
        "I only know what is in this file, not the world outside it",
        "stock stocks market markets weather news economy inflation bitcoin crypto election",
    ),
    ("I don't change or convert files", "convert export excel xlsx pdf delete merge rename"),
    ("I don't write code", "code python sql script program"),
    (
        "I don't compute shares, ratios, running totals, period-over-period changes or spread "
        "(standard deviation, variance)",
        "share shares percent percentage percentages proportion proportions ratio ratios "
        "cumulative running yoy mom qoq standard deviation std stdev variance spread",
    ),
)
_MOVES = re.compile(r"\b(?:go|goes|going|went|gone)\s+(?:up|down)\b")
MAX_HORIZON = 12
_COMPARISON = re.compile(
    r"[<>]=?\s*[-$€£]?\d|=\s*[-$€£]?\d|\b(?:more|less|greater|fewer|higher|lower|bigger|smaller)"
    r"\s+than\s+[-$€£]?\d|\b(?:above|below|over|under|exceeding|exceeds|at least|at most)\s+"
    r"[-$€£]?\d"
)
_TOP = re.compile(r"\b(top|bottom|best|worst|highest|lowest|largest|smallest)\s+(\d+|[a-z]+)\b")
_YEARLESS_MONTH = re.compile(
    r"\b(?:(?:in|during|of|for)\s+(may)|(january|february|march|april|june|july|august|"
    r"september|october|november|december))\b"
)
_YEARLESS_QUARTER = re.compile(r"\bq([1-4])\b")

CAN_DO = (
    "I answer questions about one CSV table: an overview; the total, average, median, "
    "minimum, maximum or count of a numeric column, optionally filtered by a value "
    '("East", "where region is North") or a period ("in 2023", "Q1 2022", "last 12 months"); '
    'breakdowns ("by region", "per month", "by quarter"); top or bottom N ("top 3 months by '
    'revenue", "which region had the highest ..."); growth over a common window; the '
    "correlation between two columns; a naive linear-trend forecast; and outliers."
)


class Query(TypedDict):
    """What a goal asks, in columns and operations (see the module docstring)."""

    kind: str
    measures: list[str]  # measure columns the goal names, in its order
    aggregate: str | None  # sum | mean | median | min | max | count | distinct | missing
    count_of: str | None  # for "distinct": the column or grain whose values are counted
    filters: dict[str, list[str]]  # column -> values kept
    exclude: dict[str, list[str]]  # column -> values left out ("except East")
    windows: list[time_words.Window]
    group: str | None  # a categorical column to group by
    grain: str | None  # a time grain to group by: year | quarter | month | period
    order: str | None  # desc | asc, when the goal ranks
    limit: int | None
    horizon: int


def decline(reason: str, loaded: dict[str, Any]) -> Decline:
    """A `Decline` that says why, what the analyst can do, and how to rephrase."""
    return Decline(f"{reason} {CAN_DO} {examples(loaded)}")


def examples(loaded: dict[str, Any]) -> str:
    """Rephrasings that would work on this CSV, built from its own columns."""
    measures: list[str] = loaded["measures"]
    groups = [c["name"] for c in loaded["columns"] if c["kind"] == "categorical"]
    times = [c["name"] for c in loaded["columns"] if c["kind"] == "date"]
    if not measures:
        return 'Try for example: "summarize the data".'
    measure = measures[0]
    asks = [f"total {measure}"]
    if groups:
        asks.append(f"{measure} by {groups[0]}")
    if times:
        asks.append(f"top 3 {times[0]}s by {measure}")
        asks.append(f"forecast {measure}")
    if len(measures) > 1:
        asks.append(f"correlation between {measures[0]} and {measures[1]}")
    return "Try for example: " + ", ".join(f'"{a}"' for a in asks) + "."


def tokens_of(text: str) -> list[str]:
    """Lowercase word tokens; "what's" gives "what", "s"."""
    return re.findall(r"[a-z0-9@]+", text.lower())


class _Vocabulary:
    """The words a goal may use about this CSV: its columns, their values, time words."""

    def __init__(self, loaded: dict[str, Any]) -> None:
        self.measures: list[str] = loaded["measures"]
        columns = loaded["columns"]
        self.categorical = [c for c in columns if c["kind"] == "categorical"]
        self.times = [c["name"] for c in columns if c["kind"] == "date"]
        self.column_words = {singular(w) for c in columns for w in name_words(c["name"])}
        self.values: dict[str, dict[str, str]] = {
            c["name"]: {" ".join(tokens_of(v)): v for v in c.get("values", []) if tokens_of(v)}
            for c in self.categorical
        }
        self.value_words = {w for by in self.values.values() for v in by for w in v.split()}
        self.group_words: dict[str, str] = {
            singular(w): c["name"] for c in self.categorical for w in name_words(c["name"])
        }
        self.grain_words = {w: "period" for t in self.times for w in name_words(t)}
        self.grain_words.update(time_words.GRAIN_WORDS)
        self.known = (
            FILLER
            | BROAD
            | GROWTH
            | FORECAST
            | ANOMALY
            | CORRELATION
            | HIGH
            | LOW
            | frozenset(AGGREGATES)
            | frozenset(time_words.NUMBER_WORDS)
            | frozenset(MONTHS)
            | frozenset(time_words.GRAIN_WORDS)
            | frozenset("missing empty blank null distinct unique".split())
            | self.column_words
            | self.value_words
        )

    def is_known(self, token: str) -> bool:
        return token.isdigit() or token in self.known or singular(token) in self.known


def scope_problem(text: str, vocabulary: _Vocabulary) -> str | None:
    """Why the goal is outside what the analyst does, or None."""
    words = set(tokens_of(text)) - vocabulary.column_words - vocabulary.value_words
    for refusal, listed in OUT_OF_SCOPE:
        if hit := sorted(words & set(listed.split())):
            return f"{refusal} (the goal says {hit[0]!r})."
    if "%" in text or re.search(r"\b(?:over|on)\s+(?:the\s+)?previous\b", text):
        return "I don't compute shares or period-over-period changes."
    per = re.search(r"\bper\s+(\w+)", text)
    if per and singular(per[1]) in {
        singular(w) for m in vocabulary.measures for w in name_words(m)
    }:
        return f"I don't compute ratios of two columns (the goal says 'per {per[1]}')."
    if _COMPARISON.search(text):
        return (
            "I can't filter rows by a numeric condition (such as 'units > 100'); I filter by "
            "the values of a text column and by period."
        )
    return None


def out_of_scope(goal: str, loaded: dict[str, Any]) -> str | None:
    """Why the goal asks for what the analyst does not do (causes, advice, ratios, numeric
    conditions...), or None; the check `read_goal` makes first."""
    return scope_problem(" ".join(goal.lower().split()), _Vocabulary(loaded))


def _unknown_reference(tokens: list[str], vocabulary: _Vocabulary) -> str | None:
    """A word standing where a column or value belongs ("average profit") that the CSV lacks."""
    for index, token in enumerate(tokens):
        if token not in SLOTS:
            continue
        following = [t for t in tokens[index + 1 : index + 5] if t not in SKIPPED]
        if following and not vocabulary.is_known(following[0]):
            return following[0]
    return None


def _values(
    tokens: list[str], vocabulary: _Vocabulary
) -> tuple[dict[str, list[str]], dict[str, list[str]]]:
    """(kept, left out): the categorical values the goal names, per column."""
    kept: dict[str, list[str]] = {}
    left_out: dict[str, list[str]] = {}
    for column, values in vocabulary.values.items():
        for words, value in values.items():
            parts = words.split()
            for i in range(len(tokens) - len(parts) + 1):
                if tokens[i : i + len(parts)] != parts:
                    continue
                negated = bool(NEGATIONS & set(tokens[max(0, i - 2) : i]))
                bucket = left_out if negated else kept
                if value not in bucket.setdefault(column, []):
                    bucket[column].append(value)
    return kept, left_out


def _introduced(tokens: list[str], index: int, group_words: set[str]) -> bool:
    """True when the group word at `index` follows "by", "per", "which", "top 3"..."""
    for token in reversed(tokens[max(0, index - 4) : index]):
        if token in GROUP_MARKERS:
            return True
        passes = token in SKIPPED or token in group_words or token in time_words.NUMBER_WORDS
        if not (passes or token == "and" or token.isdigit()):
            return False
    return False


def _grouping(tokens: list[str], vocabulary: _Vocabulary) -> tuple[str | None, str | None, bool]:
    """(categorical column, time grain, named in the singular) the goal groups by.

    A column or grain word groups when "by", "per", "which", "top 3"... introduce it, or
    when the goal ranks ("the region with the highest revenue").
    """
    ranks = bool(set(tokens) & (HIGH | LOW | {"rank", "ranking", "ranked"}))
    candidates = set(vocabulary.group_words) | set(vocabulary.grain_words)
    group = grain = None
    singular_named = False
    for index, token in enumerate(tokens):
        word = singular(token)
        if word not in candidates or NEGATIONS & set(tokens[max(0, index - 2) : index]):
            continue
        if not (ranks or _introduced(tokens, index, candidates)):
            continue
        singular_named = singular_named or token == word
        if word in vocabulary.grain_words and word not in vocabulary.group_words:
            grain = grain or vocabulary.grain_words[word]
        else:
            group = group or vocabulary.group_words[word]
    return group, grain, singular_named


def _distinct(tokens: list[str], vocabulary: _Vocabulary) -> str | None:
    """The column or grain in "how many regions" / "number of months", if any."""
    for index, token in enumerate(tokens[:-1]):
        pair = (token, tokens[index + 1])
        if pair not in (("how", "many"), ("number", "of")):
            continue
        for word in tokens[index + 2 : index + 4]:
            base = singular(word)
            if base in vocabulary.grain_words:
                return vocabulary.grain_words[base]
            if base in vocabulary.group_words:
                return vocabulary.group_words[base]
    return None


def _limit(text: str) -> int | None:
    match = _TOP.search(text)
    if not match:
        return None
    word = match[2]
    if word.isdigit():
        return int(word)
    return time_words.NUMBER_WORDS.get(word)


def _yearless(text: str) -> list[time_words.Window]:
    """ "in March", "Q1" without a year: that month or quarter in every year."""
    found: list[time_words.Window] = []
    for match in _YEARLESS_MONTH.finditer(text):
        name = match[1] or match[2]
        month = MONTHS.index(name) + 1
        found.append(_every(name.title(), [month]))
    for match in _YEARLESS_QUARTER.finditer(text):
        first = int(match[1]) * 3 - 2
        found.append(_every(f"Q{match[1]}", [first, first + 1, first + 2]))
    return found


def _every(label: str, months: list[int]) -> time_words.Window:
    return {"label": f"{label} (every year)", "start": [0, 1], "end": [9999, 12], "months": months}


def _kind(words: set[str], query: Query, broad: bool, forecasts: bool) -> str | None:
    if words & ANOMALY:
        return "anomalies"
    if words & CORRELATION or (len(query["measures"]) > 1 and words & {"vs", "versus"}):
        return "correlation"
    if forecasts:
        return "forecast"
    if words & GROWTH:
        return "growth"
    if query["group"] or query["grain"]:
        return "groups"
    if query["aggregate"] or query["order"]:
        return "aggregate"
    if query["measures"] or query["filters"] or query["exclude"] or query["windows"] or broad:
        return "overview"
    return None


def _order(words: set[str], text: str) -> str | None:
    """desc or asc when the goal ranks; "declined the most" ranks the lowest growth first."""
    top = _TOP.search(text)
    if not (words & (HIGH | LOW) or words & FALLING or top):
        return None
    low = bool(top and top[1] in LOW) if top else bool(words & LOW and not words & HIGH)
    if words & FALLING:
        low = not low
    return "asc" if low else "desc"


def _aggregate(tokens: list[str], words: set[str], measures: list[str]) -> str | None:
    """The aggregate the goal names: "how many" counts, "how much" totals."""
    if {"how", "many"} <= words or {"number", "of"} <= words:
        return "missing" if words & {"missing", "empty", "blank", "null"} else "count"
    if {"how", "much"} <= words:
        return "sum"
    named = next((AGGREGATES[t] for t in tokens if t in AGGREGATES), None)
    if named is None and not measures and words & ROW_WORDS:
        return "count"  # "which region has the most rows"
    return named


def _structure(
    text: str, tokens: list[str], windows: list[time_words.Window], vocabulary: _Vocabulary
) -> Query:
    """Every part of the query but its kind."""
    words = set(tokens)
    measures = mentioned(" ".join(tokens), vocabulary.measures)
    kept, left_out = _values(tokens, vocabulary)
    group, grain, singular_named = _grouping(tokens, vocabulary)
    aggregate = _aggregate(tokens, words, measures)
    distinct = _distinct(tokens, vocabulary) if aggregate == "count" else None
    if distinct:
        aggregate, group, grain = "distinct", None, None
    if not group and words & COMPARE:
        group = next((c for c, v in kept.items() if len(v) > 1), None)  # "East vs West"
    order, limit = _order(words, text), _limit(text)
    if aggregate in ("min", "max") and (group or grain) and order:
        aggregate = None  # "which region has the maximum revenue" ranks regions by total
    if order and limit is None and (group or grain) and singular_named:
        limit = 1  # "which month had the most returns": one month
    ahead = time_words.horizon(" ".join(tokens))
    return {
        "kind": "",
        "measures": measures,
        "aggregate": aggregate,
        "count_of": distinct,
        "filters": kept,
        "exclude": left_out,
        "windows": windows,
        "group": group,
        "grain": grain or (ahead[1] if ahead else None),
        "order": order,
        "limit": limit,
        "horizon": ahead[0] if ahead else 3,
    }


def read_goal(goal: str, loaded: dict[str, Any]) -> Query:
    """The goal as a `Query`; raises `Decline` when it cannot be answered from this CSV."""
    text = " ".join(goal.lower().split())
    vocabulary = _Vocabulary(loaded)
    if problem := scope_problem(text, vocabulary):
        raise decline(problem, loaded)
    latest = loaded.get("latest") or [0, 12]
    windows, spans = time_words.windows(text, (latest[0], latest[1]))
    blanked = text
    for start, end in reversed(spans):
        blanked = blanked[:start] + " @period " + blanked[end:]
    tokens = tokens_of(blanked)
    if word := _unknown_reference(tokens, vocabulary):
        columns = ", ".join(c["name"] for c in loaded["columns"])
        raise decline(
            f"The CSV has no column or value called {word!r} (its columns are {columns}).", loaded
        )
    query = _structure(text, tokens, windows + _yearless(blanked), vocabulary)
    names = vocabulary.column_words | vocabulary.value_words
    words = {t for t in tokens if singular(t) not in names}  # a "project" column is no forecast
    broad = not text or bool(words & BROAD)
    forecasts = bool(words & FORECAST) or time_words.horizon(blanked) is not None
    moves = "over time" in text or _MOVES.search(text)
    kind = _kind(words | ({"trend"} if moves else set()), query, broad, forecasts)
    unknown = [t for t in tokens if not vocabulary.is_known(t)]
    if kind is None or (kind == "overview" and not broad and unknown):
        about = f" (I don't know what {unknown[0]!r} asks for)" if unknown else ""
        raise decline(f"I could not read {goal!r} as a question about this CSV{about}.", loaded)
    query["kind"] = kind
    if query["limit"] == 0:
        raise decline("The goal asks for the top 0, which is nothing.", loaded)
    if kind == "forecast" and query["horizon"] > MAX_HORIZON:
        raise decline(
            f"I project at most {MAX_HORIZON} periods ahead: a straight-line trend says little "
            "beyond that.",
            loaded,
        )
    if (
        query["windows"] or query["grain"] or kind in ("growth", "forecast")
    ) and not vocabulary.times:
        raise decline("The CSV has no date or period column, so I can't answer by period.", loaded)
    return query
