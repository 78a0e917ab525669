"""A tiny RGB raster canvas and PNG encoder built on zlib and struct only."""

from __future__ import annotations

import struct
import zlib

from bureau.agents import _font

Color = tuple[int, int, int]

WHITE: Color = (255, 255, 255)
BLACK: Color = (0, 0, 0)

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _chunk(kind: bytes, data: bytes) -> bytes:
    crc = zlib.crc32(kind + data) & 0xFFFFFFFF
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)


def encode_png(width: int, height: int, rgb: bytes | bytearray) -> bytes:
    """Encode `rgb` (rows of width*3 bytes, top to bottom) as an 8-bit RGB PNG."""
    stride = width * 3
    if len(rgb) != stride * height:
        raise ValueError(f"expected {stride * height} bytes of pixels, got {len(rgb)}")
    raw = b"".join(b"\x00" + bytes(rgb[y * stride : (y + 1) * stride]) for y in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        PNG_SIGNATURE
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", zlib.compress(raw, 6))
        + _chunk(b"IEND", b"")
    )


class Canvas:
    """A width x height RGB image; drawing clips silently at the edges.

    Coordinates are pixels, origin top-left, x to the right and y downwards.
    """

    def __init__(self, width: int, height: int, background: Color = WHITE) -> None:
        if width <= 0 or height <= 0:
            raise ValueError("a canvas needs a positive width and height")
        self.width = width
        self.height = height
        self.pixels = bytearray(bytes(background) * (width * height))

    def pixel(self, x: int, y: int) -> Color:
        """The color at (x, y)."""
        i = (y * self.width + x) * 3
        return (self.pixels[i], self.pixels[i + 1], self.pixels[i + 2])

    def fill_rect(self, x: int, y: int, w: int, h: int, color: Color) -> None:
        """Fill the rectangle with top-left (x, y) and size w x h."""
        x0, y0 = max(0, x), max(0, y)
        x1, y1 = min(self.width, x + w), min(self.height, y + h)
        if x0 >= x1 or y0 >= y1:
            return
        span = bytes(color) * (x1 - x0)
        for row in range(y0, y1):
            start = (row * self.width + x0) * 3
            self.pixels[start : start + len(span)] = span

    def set_pixel(self, x: int, y: int, color: Color) -> None:
        """Paint one pixel (ignored outside the canvas)."""
        if 0 <= x < self.width and 0 <= y < self.height:
            i = (y * self.width + x) * 3
            self.pixels[i : i + 3] = bytes(color)

    def line(self, x0: int, y0: int, x1: int, y1: int, color: Color, thickness: int = 1) -> None:
        """Draw a straight line (Bresenham) with a square pen of `thickness` pixels."""
        dx, dy = abs(x1 - x0), -abs(y1 - y0)
        sx, sy = (1 if x0 < x1 else -1), (1 if y0 < y1 else -1)
        error = dx + dy
        offset = thickness // 2
        while True:
            self.fill_rect(x0 - offset, y0 - offset, thickness, thickness, color)
            if x0 == x1 and y0 == y1:
                return
            doubled = 2 * error
            if doubled >= dy:
                error += dy
                x0 += sx
            if doubled <= dx:
                error += dx
                y0 += sy

    def rect(self, x: int, y: int, w: int, h: int, color: Color) -> None:
        """Draw the outline of a rectangle."""
        self.fill_rect(x, y, w, 1, color)
        self.fill_rect(x, y + h - 1, w, 1, color)
        self.fill_rect(x, y, 1, h, color)
        self.fill_rect(x + w - 1, y, 1, h, color)

    def text(
        self,
        x: int,
        y: int,
        text: str,
        color: Color = BLACK,
        scale: int = 1,
        *,
        vertical: bool = False,
    ) -> None:
        """Draw `text` with its top-left corner at (x, y) using the 5x7 font.

        With `vertical=True` the text reads bottom to top and (x, y) is its bottom-left.
        """
        for index, char in enumerate(_font.normalize(text)):
            origin = index * _font.ADVANCE * scale
            for gx, gy in _font.GLYPHS[char]:
                if vertical:
                    px, py = x + gy * scale, y - (origin + gx * scale) - scale
                else:
                    px, py = x + origin + gx * scale, y + gy * scale
                self.fill_rect(px, py, scale, scale, color)

    def text_width(self, text: str, scale: int = 1) -> int:
        """Width in pixels `text` takes when drawn at `scale`."""
        return _font.text_width(text, scale)

    def to_png(self) -> bytes:
        """The canvas encoded as PNG bytes."""
        return encode_png(self.width, self.height, self.pixels)
