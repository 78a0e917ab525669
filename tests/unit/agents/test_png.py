"""The PNG canvas, the bitmap font and the charts drawn with them."""

from __future__ import annotations

import pytest

from bureau.agents import _charts, _font
from bureau.agents._png import BLACK, WHITE, Canvas, encode_png
from tests.unit.agents.sample_data import read_png

RED = (255, 0, 0)


def pixel(rows: list[bytes], x: int, y: int) -> tuple[int, int, int]:
    r, g, b = rows[y][x * 3 : x * 3 + 3]
    return (r, g, b)


def test_a_canvas_encodes_to_a_png_that_decodes_to_the_same_pixels() -> None:
    canvas = Canvas(7, 5)
    canvas.fill_rect(1, 1, 3, 2, RED)
    canvas.set_pixel(6, 4, BLACK)
    canvas.set_pixel(99, 99, BLACK)  # outside: ignored
    width, height, rows = read_png(canvas.to_png())
    assert (width, height) == (7, 5)
    assert pixel(rows, 1, 1) == pixel(rows, 3, 2) == RED
    assert pixel(rows, 4, 1) == pixel(rows, 0, 0) == WHITE
    assert pixel(rows, 6, 4) == BLACK


def test_drawing_clips_at_the_edges() -> None:
    canvas = Canvas(4, 4)
    canvas.fill_rect(-10, -10, 12, 12, RED)
    canvas.line(-5, 3, 10, 3, BLACK)
    assert canvas.pixel(1, 1) == RED and canvas.pixel(2, 2) == WHITE
    assert [canvas.pixel(x, 3) for x in range(4)] == [BLACK] * 4


def test_a_line_joins_its_end_points() -> None:
    canvas = Canvas(20, 20)
    canvas.line(2, 3, 17, 15, BLACK)
    assert canvas.pixel(2, 3) == BLACK and canvas.pixel(17, 15) == BLACK
    inked = sum(canvas.pixel(x, y) == BLACK for x in range(20) for y in range(20))
    assert inked == 16  # one pixel per column of a shallow line


def test_text_is_drawn_inside_its_measured_box() -> None:
    canvas = Canvas(60, 20)
    canvas.text(2, 3, "ab 1", BLACK, scale=2)
    inked = [(x, y) for x in range(60) for y in range(20) if canvas.pixel(x, y) == BLACK]
    assert inked
    width = canvas.text_width("ab 1", 2)
    assert width == (4 * _font.ADVANCE - 1) * 2
    assert min(x for x, _ in inked) >= 2 and max(x for x, _ in inked) < 2 + width
    assert min(y for _, y in inked) >= 3 and max(y for _, y in inked) < 3 + 7 * 2


def test_vertical_text_reads_upwards_from_its_origin() -> None:
    canvas = Canvas(20, 40)
    canvas.text(2, 35, "ID", BLACK, vertical=True)
    inked = [(x, y) for x in range(20) for y in range(40) if canvas.pixel(x, y) == BLACK]
    assert max(y for _, y in inked) < 35 and min(y for _, y in inked) >= 35 - 11
    assert max(x for x, _ in inked) < 2 + 7


def test_the_font_uppercases_and_replaces_what_it_cannot_draw() -> None:
    assert _font.normalize("Revenue é ~") == "REVENUE E ?"
    assert all(len(rows) > 0 for char, rows in _font.GLYPHS.items() if char != " ")
    assert all(0 <= x < 5 and 0 <= y < 7 for glyph in _font.GLYPHS.values() for x, y in glyph)


def test_encode_png_rejects_a_wrong_pixel_count() -> None:
    with pytest.raises(ValueError, match="expected 12 bytes"):
        encode_png(2, 2, b"\x00" * 11)


def test_nice_ticks_and_compact_numbers() -> None:
    assert _charts.nice_ticks(0, 97) == [0, 20, 40, 60, 80, 100]
    assert _charts.nice_ticks(-4.2, 61) == [-20, 0, 20, 40, 60, 80]
    assert _charts.nice_ticks(0, 3, integer=True) == [0, 1, 2, 3]
    assert _charts.nice_ticks(5, 5)[0] <= 5 <= _charts.nice_ticks(5, 5)[-1]
    assert [_charts.compact_number(v) for v in (12500, 3, 0.25, -2_000_000, 0)] == [
        "12.5K",
        "3",
        "0.25",
        "-2M",
        "0",
    ]


@pytest.mark.parametrize(
    "spec",
    [
        {"type": "bar", "title": "Growth", "labels": ["North", "South"], "values": [12.5, -4]},
        {
            "type": "line",
            "title": "Revenue by month",
            "x": ["2024-01", "2024-02", "2024-03"],
            "series": [
                {"name": "North", "values": [1, None, 3]},
                {"name": "W", "values": [2, 2, 1]},
            ],
        },
        {"type": "histogram", "title": "Spread", "edges": [0, 1, 2, 3], "counts": [2, 5, 1]},
    ],
)
def test_each_chart_type_renders_a_decodable_png_with_ink(spec: dict[str, object]) -> None:
    width, height, rows = read_png(_charts.render(spec))
    assert (width, height) == (_charts.WIDTH, _charts.HEIGHT)
    colors = {pixel(rows, x, y) for y in range(0, height, 3) for x in range(0, width, 3)}
    assert WHITE in colors and _charts.AXIS in colors
    assert _charts.PALETTE[0] in colors  # the first bar / line / bin


def test_an_unknown_chart_type_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown chart type"):
        _charts.render({"type": "pie"})
