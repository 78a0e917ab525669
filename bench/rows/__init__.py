"""One module per row of BENCHMARKS.md; each exposes `async def run(sizes, tmp) -> dict`."""
