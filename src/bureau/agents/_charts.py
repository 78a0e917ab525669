"""Bar, line and histogram charts drawn on a `Canvas` and returned as PNG bytes.

A chart spec is a JSON-able dict (so an agent can journal it in a step and render it after):
`{"type": "bar", "title", "labels", "values", "y_label"?, "x_label"?, "suffix"?, "integer"?}`,
`{"type": "line", "title", "x", "series": [{"name", "values"}], "y_label"?}` or
`{"type": "histogram", "title", "edges", "counts", "x_label"?}`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from bureau.agents._png import BLACK, WHITE, Canvas, Color

WIDTH, HEIGHT = 800, 480
TITLE_SCALE, LABEL_SCALE = 3, 2
CHAR = 6 * LABEL_SCALE  # horizontal advance of one label character
GRID: Color = (225, 225, 225)
AXIS: Color = (60, 60, 60)
PALETTE: tuple[Color, ...] = (
    (31, 119, 180),
    (255, 127, 14),
    (44, 160, 44),
    (214, 39, 40),
    (148, 103, 189),
    (140, 86, 75),
    (227, 119, 194),
    (127, 127, 127),
    (188, 189, 34),
    (23, 190, 207),
)


def compact_number(value: float, digits: int = 4) -> str:
    """A short label for `value`: 12500 -> "12.5K", 0.25 -> "0.25", 3 -> "3".

    Below 1000, `digits` significant digits are kept (two below 1).
    """
    magnitude = abs(value)
    for divisor, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "K")):
        if magnitude >= divisor:
            return f"{value / divisor:.3g}{suffix}"
    if magnitude == 0:
        return "0"
    return f"{value:.{digits}g}" if magnitude >= 1 else f"{value:.2g}"


def nice_ticks(low: float, high: float, count: int = 5, *, integer: bool = False) -> list[float]:
    """Round tick values covering [low, high], about `count` intervals (whole steps if asked)."""
    if not (math.isfinite(low) and math.isfinite(high)):
        low, high = 0.0, 1.0
    if high <= low:
        high = low + (abs(low) or 1.0)
    raw = (high - low) / count
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    if integer:
        step = max(1.0, float(math.ceil(step)))
    start = math.floor(low / step + 1e-9) * step
    end = math.ceil(high / step - 1e-9) * step
    return [start + i * step for i in range(round((end - start) / step) + 1)]


def _fit(text: str, pixels: int) -> str:
    chars = max(1, pixels // CHAR)
    return text if len(text) <= chars else text[: max(1, chars - 1)] + "."


class _Frame:
    """Title, y axis with grid and tick labels; maps values to pixel rows."""

    def __init__(
        self, title: str, low: float, high: float, y_label: str = "", *, integer: bool = False
    ) -> None:
        self.canvas = Canvas(WIDTH, HEIGHT, WHITE)
        self.ticks = nice_ticks(low, high, integer=integer)
        labels = [compact_number(t) for t in self.ticks]
        self.left = 36 + max(self.canvas.text_width(t, LABEL_SCALE) for t in labels)
        self.right, self.top, self.bottom = WIDTH - 24, 70, HEIGHT - 64
        title = _fit(title, (WIDTH - 20) * LABEL_SCALE // TITLE_SCALE)
        width = self.canvas.text_width(title, TITLE_SCALE)
        self.canvas.text((WIDTH - width) // 2, 14, title, BLACK, TITLE_SCALE)
        if y_label:
            self.canvas.text(
                6, self.bottom, _fit(y_label, self.bottom - self.top), AXIS, 2, vertical=True
            )
        for tick, label in zip(self.ticks, labels, strict=True):
            y = self.y(tick)
            self.canvas.fill_rect(self.left, y, self.right - self.left, 1, GRID)
            w = self.canvas.text_width(label, LABEL_SCALE)
            self.canvas.text(self.left - 8 - w, y - 7, label, AXIS, LABEL_SCALE)
        self.canvas.fill_rect(self.left, self.top, 2, self.bottom - self.top + 1, AXIS)

    def y(self, value: float) -> int:
        low, high = self.ticks[0], self.ticks[-1]
        share = (value - low) / (high - low)
        return round(self.bottom - share * (self.bottom - self.top))

    def x_label(self, center: int, text: str, room: int) -> None:
        label = _fit(text, room)
        w = self.canvas.text_width(label, LABEL_SCALE)
        x = min(max(2, center - w // 2), WIDTH - 2 - w)
        self.canvas.text(x, self.bottom + 10, label, AXIS, LABEL_SCALE)

    def caption(self, text: str) -> None:
        w = self.canvas.text_width(text, LABEL_SCALE)
        self.canvas.text((WIDTH - w) // 2, HEIGHT - 24, _fit(text, WIDTH), AXIS, LABEL_SCALE)


def bar_chart(spec: dict[str, Any]) -> bytes:
    """Vertical bars, one per label, each with its value printed on it."""
    values: list[float] = [float(v) for v in spec["values"]]
    labels: list[str] = [str(label) for label in spec["labels"]]
    suffix = str(spec.get("suffix", ""))
    low, high = min([0.0, *values]), max([0.0, *values])
    whole = bool(spec.get("integer"))
    frame = _Frame(spec["title"], low, high, spec.get("y_label", ""), integer=whole)
    canvas, zero = frame.canvas, frame.y(0.0)
    slot = (frame.right - frame.left) / max(1, len(values))
    bar = max(4, min(90, int(slot * 0.6)))
    for index, (label, value) in enumerate(zip(labels, values, strict=True)):
        center = round(frame.left + slot * (index + 0.5))
        top, bottom = sorted((frame.y(value), zero))
        canvas.fill_rect(center - bar // 2, top, bar, max(1, bottom - top), _color(index))
        text = compact_number(value, 3) + suffix
        w = canvas.text_width(text, LABEL_SCALE)
        if slot >= w + 4:
            y = top - 18 if value >= 0 else bottom + 4
            canvas.text(center - w // 2, y, text, BLACK, LABEL_SCALE)
        frame.x_label(center, label, int(slot) - 4)
    canvas.fill_rect(frame.left, zero, frame.right - frame.left, 2, AXIS)
    if spec.get("x_label"):
        frame.caption(str(spec["x_label"]))
    return canvas.to_png()


def line_chart(spec: dict[str, Any]) -> bytes:
    """One line per series over the shared x labels; gaps where a value is missing."""
    x_labels: list[str] = [str(x) for x in spec["x"]]
    series: list[dict[str, Any]] = spec["series"]
    known = [float(v) for s in series for v in s["values"] if v is not None]
    frame = _Frame(
        spec["title"], min(known, default=0.0), max(known, default=1.0), spec.get("y_label", "")
    )
    canvas = frame.canvas
    step = (frame.right - frame.left - 20) / max(1, len(x_labels) - 1)
    xs = [round(frame.left + 10 + step * i) for i in range(len(x_labels))]
    every = max(
        1,
        math.ceil(
            len(x_labels) * (max(map(len, x_labels)) + 1) * CHAR / (frame.right - frame.left)
        ),
    )
    for i, label in enumerate(x_labels):
        canvas.fill_rect(xs[i], frame.bottom, 1, 6, AXIS)
        if i % every == 0:
            frame.x_label(xs[i], label, int(step * every) - 4)
    for index, line in enumerate(series):
        color = _color(index)
        previous: tuple[int, int] | None = None
        for x, value in zip(xs, line["values"], strict=False):
            if value is None:
                previous = None
                continue
            point = (x, frame.y(float(value)))
            if previous is not None:
                canvas.line(*previous, *point, color, thickness=3)
            canvas.fill_rect(point[0] - 4, point[1] - 4, 9, 9, color)
            previous = point
    canvas.fill_rect(frame.left, frame.bottom, frame.right - frame.left, 2, AXIS)
    _legend(canvas, [str(s["name"]) for s in series], frame.right, 46)
    if spec.get("x_label"):
        frame.caption(str(spec["x_label"]))
    return canvas.to_png()


def histogram(spec: dict[str, Any]) -> bytes:
    """Adjacent bars of `counts` between consecutive `edges`."""
    counts: list[int] = [int(c) for c in spec["counts"]]
    edges: list[float] = [float(e) for e in spec["edges"]]
    frame = _Frame(spec["title"], 0.0, float(max(counts, default=1)), "COUNT", integer=True)
    canvas = frame.canvas
    width = (frame.right - frame.left - 4) / max(1, len(counts))
    every = max(1, math.ceil(7 * CHAR / max(1.0, width)))
    for i, count in enumerate(counts):
        x0 = round(frame.left + 4 + width * i)
        x1 = round(frame.left + 4 + width * (i + 1))
        top = frame.y(count)
        canvas.fill_rect(x0, top, max(1, x1 - x0 - 1), frame.bottom - top, PALETTE[0])
    for i, edge in enumerate(edges):
        if i % every == 0 or i == len(edges) - 1:
            x = round(frame.left + 4 + width * i)
            canvas.fill_rect(x, frame.bottom, 1, 6, AXIS)
            frame.x_label(x, compact_number(edge), int(width * every) - 2)
    canvas.fill_rect(frame.left, frame.bottom, frame.right - frame.left, 2, AXIS)
    frame.caption(str(spec.get("x_label", "")))
    return canvas.to_png()


def _legend(canvas: Canvas, names: Sequence[str], right: int, y: int) -> None:
    x = right
    for index, name in reversed(list(enumerate(names))):
        label = _fit(name, 10 * CHAR)
        x -= canvas.text_width(label, LABEL_SCALE) + 36
        canvas.fill_rect(x, y, 12, 12, _color(index))
        canvas.text(x + 16, y, label, AXIS, LABEL_SCALE)


def _color(index: int) -> Color:
    return PALETTE[index % len(PALETTE)]


def render(spec: dict[str, Any]) -> bytes:
    """PNG bytes for a chart spec; raises `ValueError` for an unknown chart type."""
    kinds = {"bar": bar_chart, "line": line_chart, "histogram": histogram}
    try:
        draw = kinds[spec["type"]]
    except KeyError:
        raise ValueError(f"unknown chart type {spec.get('type')!r}") from None
    return draw(spec)
