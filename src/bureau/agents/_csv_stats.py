"""Statistics over a parsed `Table`: column profiles, outliers, correlations, histograms.

Every function returns JSON-able values the analyst can journal as step results; floats
are trimmed to 12 significant digits, which drops binary noise (0.1 + 0.2) and keeps every
digit a CSV figure has. Rounding for readers happens in the words (`_csv_format`).
"""

from __future__ import annotations

import math
import statistics
from collections import Counter, defaultdict
from typing import Any

from bureau.agents._csv_table import Column, Table, name_words

ROBUST_Z_LIMIT = 3.5  # Iglewicz and Hoaglin's cut-off for the modified z-score
IQR_FENCE = 3.0  # "far out" fences when the MAD is zero


def rounded(value: float) -> float:
    """`value` to 12 significant digits: float noise gone, the data's own digits kept."""
    return float(f"{value:.12g}")


def is_identifier(column: Column) -> bool:
    """Numeric columns that label rows rather than measure them (ids, codes, row numbers)."""
    if {"id", "code", "zip", "phone", "index"} & set(name_words(column.name)):
        return True
    values = column.values()
    numbered = values and values[0] in (0.0, 1.0) and len(values) >= 10
    return bool(numbered) and values == [values[0] + i for i in range(len(values))]


def measures(table: Table) -> list[str]:
    """Names of the numeric columns worth analysing (identifiers excluded)."""
    return [c.name for c in table.of_kind("numeric") if not is_identifier(c)]


def profile(column: Column, top: int = 5) -> dict[str, Any]:
    """Count, missing and the kind's statistics for one column."""
    present = column.present()
    out: dict[str, Any] = {
        "name": column.name,
        "kind": column.kind,
        "count": len(present),
        "missing": len(column.cells) - len(present),
    }
    if column.kind == "numeric" and (values := column.values()):
        quartiles = (
            statistics.quantiles(values, n=4, method="inclusive")
            if len(values) > 1
            else [values[0]] * 3
        )
        out.update(
            mean=statistics.fmean(values),
            median=statistics.median(values),
            std=statistics.stdev(values) if len(values) > 1 else 0.0,
            min=min(values),
            q1=quartiles[0],
            q3=quartiles[2],
            max=max(values),
            sum=math.fsum(values),
        )
        out["invalid"] = len(present) - len(values)
        out.update({k: rounded(v) for k, v in out.items() if isinstance(v, float)})
    elif column.kind == "date":
        dated = sorted((k, c) for k, c in zip(column.periods, column.cells, strict=True) if k)
        out.update(unique=len({k for k, _ in dated}), first=dated[0][1], last=dated[-1][1])
    else:
        counts = Counter(present)
        out["unique"] = len(counts)
        out["top"] = [[value, n] for value, n in counts.most_common(top)]
        if column.kind == "text":
            out["mean_length"] = rounded(statistics.fmean(len(c) for c in present))
    return out


class _Scale:
    """Median, MAD and quartiles of a sample, and the outlier test built on them."""

    def __init__(self, values: list[float]) -> None:
        self.median = statistics.median(values)
        self.mad = statistics.median(abs(v - self.median) for v in values)
        self.q1, _, self.q3 = statistics.quantiles(values, n=4, method="inclusive")

    def score(self, value: float) -> tuple[bool, float, str]:
        """(flagged, score, method) for `value` against this sample."""
        if self.mad > 0:
            score = 0.6745 * (value - self.median) / self.mad
            return abs(score) > ROBUST_Z_LIMIT, score, "robust z-score"
        iqr = self.q3 - self.q1
        score = 0.0 if iqr == 0 else (value - self.median) / iqr
        low, high = self.q1 - IQR_FENCE * iqr, self.q3 + IQR_FENCE * iqr
        return iqr > 0 and not low <= value <= high, score, "IQR fence"


def anomalies(
    table: Table, limit: int | None = None, group: str | None = None
) -> list[dict[str, Any]]:
    """Outlying numbers per measure column, strongest first, with their row and context.

    A value is flagged when its robust z-score (0.6745 * (x - median) / MAD) exceeds 3.5;
    when the MAD is zero, when it lies beyond 3 IQRs from the quartiles. With `group`, a
    value is compared with its own group (when the group has 5 values or more), so a group
    that is simply larger than the others is not an anomaly. `row` counts data rows from 1
    (the header is not a row); `line` is the line in the file.
    """
    context_columns = [c for c in table.columns if c.kind in ("categorical", "date")][:3]
    labels = table.column(group).cells if group else ("",) * table.rows
    found: list[dict[str, Any]] = []
    for name in measures(table):
        numbers = table.column(name).numbers
        members: dict[str, list[float]] = defaultdict(list)
        for label, value in zip(labels, numbers, strict=True):
            if value is not None:
                members[label].append(value)
        if sum(map(len, members.values())) < 5:
            continue
        overall = _Scale([v for v in numbers if v is not None])
        scales = {k: _Scale(v) for k, v in members.items() if len(v) >= 5}
        for index, (label, value) in enumerate(zip(labels, numbers, strict=True)):
            if value is None:
                continue
            scale = scales.get(label, overall)
            flagged, score, method = scale.score(value)
            if not flagged:
                continue
            found.append(
                {
                    "column": name,
                    "row": index + 1,
                    "line": index + 2,
                    "value": rounded(value),
                    "score": rounded(score),
                    "method": method
                    + (f" within {group} {label}" if label in scales and group else ""),
                    "direction": "high" if value > scale.median else "low",
                    "median": rounded(scale.median),
                    "context": {c.name: c.cells[index] for c in context_columns},
                }
            )
    found.sort(key=lambda a: -abs(a["score"]))
    return found[:limit]


def strength(r: float) -> str:
    """Words for a correlation coefficient."""
    size = abs(r)
    label = (
        "very strong"
        if size >= 0.8
        else "strong"
        if size >= 0.6
        else "moderate"
        if size >= 0.4
        else "weak"
    )
    return f"{label} {'positive' if r >= 0 else 'negative'}"


def correlations(
    table: Table, flagged: dict[str, set[int]] | None = None, limit: int = 10
) -> list[dict[str, Any]]:
    """Pearson correlations between measure columns, strongest first.

    Rows `flagged` as outliers in either column (column -> row indexes) are left out of `r`;
    `r_with_outliers` and `n_with_outliers` keep them, so a reader sees what one row does.
    """
    flagged = flagged or {}
    names = measures(table)
    pairs: list[dict[str, Any]] = []
    for i, first in enumerate(names):
        for second in names[i + 1 :]:
            a, b = table.column(first).numbers, table.column(second).numbers
            dropped = flagged.get(first, set()) | flagged.get(second, set())
            both = [
                (row, x, y)
                for row, (x, y) in enumerate(zip(a, b, strict=True))
                if x is not None and y is not None
            ]
            clean = _pearson([(x, y) for row, x, y in both if row not in dropped])
            dirty = _pearson([(x, y) for _, x, y in both])
            if clean is None:
                continue
            pairs.append(
                {
                    "a": first,
                    "b": second,
                    "r": rounded(clean),
                    "n": len(both) - len([1 for row, _, _ in both if row in dropped]),
                    "strength": strength(clean),
                    "r_with_outliers": None if dirty is None else rounded(dirty),
                    "n_with_outliers": len(both),
                }
            )
    pairs.sort(key=lambda p: -abs(p["r"]))
    return pairs[:limit]


def _pearson(points: list[tuple[float, float]]) -> float | None:
    if len(points) < 3:
        return None
    try:
        return statistics.correlation([x for x, _ in points], [y for _, y in points])
    except statistics.StatisticsError:
        return None  # a constant column has no correlation


def histogram_bins(values: list[float], max_bins: int = 20) -> dict[str, Any]:
    """Equal-width bins (Sturges' rule): `{"edges": [...], "counts": [...]}`."""
    low, high = min(values), max(values)
    bins = max(1, min(max_bins, math.ceil(math.log2(len(values))) + 1))
    if high == low:
        return {"edges": [rounded(low - 0.5), rounded(high + 0.5)], "counts": [len(values)]}
    width = (high - low) / bins
    counts = [0] * bins
    for value in values:
        counts[min(bins - 1, int((value - low) / width))] += 1
    return {"edges": [rounded(low + width * i) for i in range(bins + 1)], "counts": counts}
