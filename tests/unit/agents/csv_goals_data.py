"""A realistic sales table for the csv-analyst goal tests: 4 regions x 50 months from 2021-01.

Built deterministically (no randomness) with what real exports have: missing rows (a region
without a month), empty cells, and one 2.5 M revenue row in South that, left in, makes South
the region with the highest total (it has the lowest without it) and drags the
units ~ revenue correlation from about 0.99 down to about 0.2.

`RECORDS` is the ground truth the tests compute their expected answers from; `goals_csv()`
is the same data as the CSV the agent reads.
"""

from __future__ import annotations

from typing import Any

REGIONS = ("North", "South", "East", "West")
START_YEAR, MONTH_COUNT = 2021, 50
BASE = {"North": 52_000, "South": 40_000, "East": 47_000, "West": 30_000}
SLOPE = {"North": 300, "South": 60, "East": 450, "West": 900}  # revenue gained per month
MISSING_ROWS = {("West", "2021-01"), ("East", "2025-02"), ("East", "2023-07"), ("North", "2022-05")}
EMPTY_CELLS = {
    ("North", "2023-02", "units"),
    ("South", "2022-09", "revenue"),
    ("West", "2024-04", "returns"),
}
OUTLIER = {"region": "South", "month": "2023-06", "revenue": 2_500_000.0}


def month_label(index: int) -> str:
    """ "2021-01" for index 0, one month per index."""
    year, month = divmod(index, 12)
    return f"{START_YEAR + year}-{month + 1:02d}"


def _record(index: int, region: str) -> dict[str, Any]:
    order = REGIONS.index(region)
    month = month_label(index)
    wobble = ((index * 7 + order * 13) % 11 - 5) * 150
    revenue = float(BASE[region] + SLOPE[region] * index + wobble)
    if (region, month) == (OUTLIER["region"], OUTLIER["month"]):
        revenue = float(OUTLIER["revenue"])
    clean_revenue = BASE[region] + SLOPE[region] * index + wobble
    units = clean_revenue // 25 + ((index * 5 + order * 3) % 9 - 4) * 25
    december = 3 if month.endswith("-12") else 0
    returns = units // 40 + (index + order * 2) % 5 + december
    record: dict[str, Any] = {
        "month": month,
        "region": region,
        "revenue": revenue,
        "units": float(units),
        "returns": float(returns),
    }
    for column in ("revenue", "units", "returns"):
        if (region, month, column) in EMPTY_CELLS:
            record[column] = None
    return record


def _build() -> list[dict[str, Any]]:
    rows = []
    for index in range(MONTH_COUNT):
        for region in REGIONS:
            if (region, month_label(index)) not in MISSING_ROWS:
                rows.append(_record(index, region))
    return rows


RECORDS: list[dict[str, Any]] = _build()


def outlier_row() -> int:
    """The 1-based data row (header not counted) of the 2.5 M revenue."""
    return next(
        i + 1
        for i, r in enumerate(RECORDS)
        if (r["region"], r["month"]) == (OUTLIER["region"], OUTLIER["month"])
    )


def goals_csv() -> str:
    """`RECORDS` as CSV text; an empty cell where a value is missing."""
    lines = ["month,region,revenue,units,returns"]
    for r in RECORDS:
        cells = [r["month"], r["region"]]
        cells += ["" if r[c] is None else f"{r[c]:g}" for c in ("revenue", "units", "returns")]
        lines.append(",".join(cells))
    return "\n".join(lines) + "\n"


MEMO_MD = """# Q3 sales memo

Team, revenue grew in every region this quarter, with West leading at 12%, North at 8%
and East at 5%. South was flat; we expect that to change, once the new store opens.

## Next steps

- Hire two account managers for West, one for South.
- Review pricing, by the end of October.
"""

PROSE = """Our sales were strong this year. The West region did particularly well, and the team
expects the trend to continue. Returns were low, which we attribute to better packaging.
"""

JSON_TEXT = '[{"month": "2024-01", "region": "North", "revenue": 1000}, {"month": "2024-02"}]\n'
