"""Small realistic inputs for the demo agents' tests, and a strict PNG reader."""

from __future__ import annotations

import struct
import zlib

REGION_START = {"North": 1000.0, "South": 1200.0, "East": 900.0, "West": 800.0}
MONTHLY_GROWTH = {"North": 0.05, "South": -0.02, "East": 0.08, "West": 0.15}
OUTLIER = {"region": "East", "month": "2024-03", "revenue": 9500.0}


def sales_csv(delimiter: str = ",") -> str:
    """Revenue and units by region and month; West grows fastest; East has one outlier."""
    lines = [delimiter.join(["region", "month", "revenue", "units"])]
    for month in range(1, 7):
        for region, start in REGION_START.items():
            revenue = round(start * (1 + MONTHLY_GROWTH[region]) ** (month - 1), 2)
            if region == OUTLIER["region"] and f"2024-{month:02d}" == OUTLIER["month"]:
                revenue = OUTLIER["revenue"]
            units = int(revenue // 10) + month
            lines.append(delimiter.join([region, f"2024-{month:02d}", f"{revenue}", f"{units}"]))
    return "\n".join(lines) + "\n"


def outlier_row() -> int:
    """The 1-based data row of the injected outlier."""
    months = int(OUTLIER["month"][-2:])
    return (months - 1) * len(REGION_START) + list(REGION_START).index(OUTLIER["region"]) + 1


HEAT_PUMPS_MD = """# Heat pumps in cold climates

Heat pumps move heat instead of generating it. A modern air-source heat pump delivers two to
four units of heat for every unit of electricity it consumes. This efficiency is the main
reason governments subsidise heat pumps.

## Performance in winter

Older heat pumps lost much of their capacity below freezing. Cold-climate models now keep a
coefficient of performance above 1.5 at -25 degrees. Field trials in Norway and Canada found
that households cut heating costs by 30 to 50 percent compared with oil boilers.

Defrost cycles remain a weakness: ice forms on the outdoor coil and the unit must briefly
reverse. Good installers size the system for the coldest week, not the average one.

## Costs and subsidies

Installation costs between 8,000 and 15,000 euros for a typical house. Subsidies in Germany
cover up to 70 percent of the installation costs for low-income households. Electricity
prices decide the payback time, which ranges from 6 to 15 years.

## Installation

Installers must check the insulation first. A poorly insulated house needs a larger heat
pump, which raises costs. Dr. Smith of the Fraunhofer institute recommends insulating the
walls before replacing the boiler.
"""

GRID_HTML = """<!doctype html><html><head><title>Grid impact</title>
<style>p { color: red }</style><script>var secretScript = 1;</script></head>
<body><h1>Grid impact of electrification</h1>
<p>Millions of heat pumps add winter peak demand to the electricity grid. Grid operators in
the UK expect peak demand to rise by 20 percent by 2035.</p>
<h2>Flexibility</h2>
<p>Smart controls can shift heating by a few hours. Thermal storage in the building fabric
makes this shift almost invisible to residents.</p>
<ul><li>Time-of-use tariffs reward flexibility.</li><li>Batteries are still expensive.</li></ul>
</body></html>"""

PLAIN_NOTES = """Remote work changed how teams meet. Most teams now hold fewer but longer meetings.

Written updates replaced many status meetings. Teams that write things down report fewer
misunderstandings and faster onboarding of new colleagues.

Time zones remain the hardest problem. A team spread over nine hours has almost no shared
working time, so decisions wait a day."""


def read_png(data: bytes) -> tuple[int, int, list[bytes]]:
    """(width, height, rows of RGB bytes) of an 8-bit RGB PNG; checks every CRC."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG signature"
    offset, chunks = 8, []
    while offset < len(data):
        (length,) = struct.unpack(">I", data[offset : offset + 4])
        kind = data[offset + 4 : offset + 8]
        body = data[offset + 8 : offset + 8 + length]
        (crc,) = struct.unpack(">I", data[offset + 8 + length : offset + 12 + length])
        assert crc == zlib.crc32(kind + body) & 0xFFFFFFFF, f"bad CRC in {kind!r}"
        chunks.append((kind, body))
        offset += 12 + length
    assert chunks[0][0] == b"IHDR" and chunks[-1][0] == b"IEND"
    width, height, depth, color, _, _, _ = struct.unpack(">IIBBBBB", chunks[0][1])
    assert (depth, color) == (8, 2), "expected 8-bit RGB"
    raw = zlib.decompress(b"".join(body for kind, body in chunks if kind == b"IDAT"))
    stride = 1 + width * 3
    assert len(raw) == stride * height
    rows = [raw[y * stride : (y + 1) * stride] for y in range(height)]
    assert all(row[0] == 0 for row in rows), "only filter type 0 is written"
    return width, height, [row[1:] for row in rows]
