"""Agents used by the test suite. Side effects are counted in files named by the input,
so a test (in another process) can tell how often a step really ran."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Any

from bureau import SLA, Context, Fatal, Reply, RetryPolicy, agent


def _count(path: str, label: str) -> int:
    """Append one line to the counter file; returns how many times `label` ran."""
    with open(path, "a") as handle:
        handle.write(label + "\n")
        handle.flush()
        os.fsync(handle.fileno())
    return Path(path).read_text().splitlines().count(label)


async def _one() -> int:
    return 1


@agent("noop", version="1.0.0", description="two no-op journaled steps", price="0.01")
async def noop(ctx: Context) -> dict[str, Any]:
    a = await ctx.step("one", _one)
    b = await ctx.step("two", _one)
    return {"sum": a + b}


@agent(
    "crashable",
    version="1.0.0",
    description="counts its steps; the second one waits for a release file",
    input_schema={
        "type": "object",
        "properties": {"counter": {"type": "string"}, "release": {"type": "string"}},
        "required": ["counter", "release"],
    },
)
async def crashable(ctx: Context) -> dict[str, Any]:
    counter, release = ctx.input["counter"], ctx.input["release"]
    first = await ctx.step("first", _count, counter, "first")

    def second() -> int:
        runs = _count(counter, "second")
        for _ in range(600):  # the test kills the server while this waits
            if Path(release).exists():
                break
            import time

            time.sleep(0.05)
        return runs

    runs = await ctx.step("second", second)
    return {"first_runs": first, "second_runs": runs}


@agent(
    "flaky",
    version="1.0.0",
    description="fails until its attempt number reaches input.succeed_on",
    retry=RetryPolicy(max_attempts=4, initial_delay=1.0, multiplier=2.0),
)
async def flaky(ctx: Context) -> dict[str, Any]:
    await ctx.step("before", _one)
    if ctx.attempt < int(ctx.input.get("succeed_on", 99)):
        raise ConnectionError(f"transient failure on attempt {ctx.attempt}")
    return {"attempt": ctx.attempt}


@agent("doomed", version="1.0.0", retry=RetryPolicy(max_attempts=2, initial_delay=1.0))
async def doomed(ctx: Context) -> None:
    raise RuntimeError("this agent always fails")


@agent("refuser", version="1.0.0")
async def refuser(ctx: Context) -> None:
    raise Fatal("cannot do this goal")


@agent("sleeper", version="1.0.0", sla=SLA(expected_seconds=1, max_seconds=600))
async def sleeper(ctx: Context) -> dict[str, Any]:
    seconds = float(ctx.input.get("seconds", 30))
    await ctx.progress(0.0, "going to sleep")
    await asyncio.sleep(seconds)
    return {"slept": seconds}


@agent("asker", version="1.0.0", description="asks one question, then answers")
async def asker(ctx: Context) -> dict[str, Any]:
    await ctx.plan(["ask", "answer"])
    color = await ctx.ask("Which color?", schema={"type": "string", "enum": ["red", "blue"]})
    await ctx.progress(1.0, f"chose {color}")
    return {"color": color}


@agent("ticker", version="1.0.0", description="emits input.count progress events, spaced")
async def ticker(ctx: Context) -> dict[str, Any]:
    count = int(ctx.input.get("count", 20))
    for index in range(count):
        await ctx.progress((index + 1) / count, f"tick {index}")
        await asyncio.sleep(float(ctx.input.get("interval", 0.05)))
    return {"ticks": count}


@agent("parent", version="1.0.0", description="delegates to sleeper and noop in parallel")
async def parent(ctx: Context) -> dict[str, Any]:
    results = await asyncio.gather(
        ctx.delegate("sleeper", "sleep", {"seconds": ctx.input.get("seconds", 60)}),
        ctx.delegate("noop", "noop"),
    )
    return {"children": results}


@agent(
    "redoable",
    version="1.0.0",
    input_schema={"type": "object", "properties": {"topic": {"type": "string"}}},
)
async def redoable(ctx: Context) -> dict[str, Any]:
    return {"feedback_seen": ctx.feedback, "topic": ctx.input.get("topic")}


@agent("session-counter", version="1.0.0", description="counts tasks run in its session")
async def session_counter(ctx: Context) -> dict[str, Any]:
    seen = int(ctx.session.get("count", 0)) + 1
    ctx.session["count"] = seen
    await ctx.step("pause", asyncio.sleep, float(ctx.input.get("pause", 0)))
    return {"count": seen}


async def _reconcile(ctx: Context, step: str) -> dict[str, Any]:
    return {"reconciled": step}


@agent(
    "charger",
    version="1.0.0",
    description="a non-idempotent step; a crash inside it is reconciled, not re-run",
    reconcile=_reconcile,
)
async def charger(ctx: Context) -> dict[str, Any]:
    counter, release = ctx.input["counter"], ctx.input["release"]

    def charge() -> dict[str, Any]:
        _count(counter, "charge")
        import time

        for _ in range(600):
            if Path(release).exists():
                break
            time.sleep(0.05)
        return {"charged": True}

    return await ctx.step("charge", charge, idempotent=False)  # type: ignore[no-any-return]


@agent("stuck", version="1.0.0", idle_timeout_seconds=0.5)
async def stuck(ctx: Context) -> None:
    await asyncio.sleep(60)


@agent("big-artifact", version="1.0.0")
async def big_artifact(ctx: Context) -> None:
    await ctx.artifact(ctx.input.get("name", "big.bin"), b"x" * int(ctx.input.get("size", 10)))


@agent(
    "beacon",
    version="1.0.0",
    description="appends a line to input.beacon every 50 ms until input.release exists",
    input_schema={
        "type": "object",
        "properties": {"beacon": {"type": "string"}, "release": {"type": "string"}},
        "required": ["beacon"],
    },
)
async def beacon(ctx: Context) -> dict[str, Any]:
    """Only a real cancel of its asyncio task stops it: it makes no durable call that a
    fenced-out lease could fail."""
    await ctx.progress(0.0, "beaming")
    while _beam(ctx.input["beacon"], ctx.input.get("release")):  # noqa: ASYNC110 (a file)
        await asyncio.sleep(0.05)
    return {"released": True}


def _beam(path: str, release: str | None) -> bool:
    """One beat (this process's pid, appended to `path`); False once `release` exists."""
    if release is not None and Path(release).exists():
        return False
    with open(path, "a") as handle:
        handle.write(f"{os.getpid()}\n")
    return True


def beacon_pids(path: Path) -> set[int]:
    """The processes whose runs of `beacon` wrote to `path`."""
    return {int(line) for line in path.read_text().split()} if path.exists() else set()


def assert_beacon_stops(path: Path, timeout: float = 5.0, quiet: float = 0.5) -> None:
    """Within `timeout`, `beacon` stops writing to `path` for `quiet` seconds (ten of its
    beats): the run was really stopped, not only marked canceled."""
    import time

    deadline = time.monotonic() + timeout
    size, since = -1, time.monotonic()
    while time.monotonic() - since < quiet:
        assert time.monotonic() < deadline, f"the run still writes to {path}: it was not stopped"
        current = path.stat().st_size if path.exists() else 0
        if current != size:
            size, since = current, time.monotonic()
        time.sleep(0.02)


@agent(
    "file-taker", version="1.0.0", description="lists the files it got", accepts_files=["text/*"]
)
async def file_taker(ctx: Context) -> Any:
    files = ctx.input.get("files", [])
    return Reply(", ".join(f"{f['name']} ({f['media_type']})" for f in files) or "no files")


def lookup(city: str) -> str:
    """The weather in a city."""
    return f"sunny in {city}"


def _hold(counter: str, release: str) -> int:
    """Say the hold began, then wait for the release file (the test kills the server
    meanwhile)."""
    runs = _count(counter, "hold")
    for _ in range(600):
        if Path(release).exists():
            break
        import time

        time.sleep(0.05)
    return runs


@agent(
    "llm-tooler",
    version="1.0.0",
    description="asks the model, which calls a tool; may hold before answering",
    models={"balanced": ["local"], "thorough": ["slow", "local"]},
)
async def llm_tooler(ctx: Context) -> Any:
    result = await ctx.llm.chat(ctx.goal, tools=[lookup])
    if ctx.input.get("release"):
        await ctx.step("hold", _hold, ctx.input["counter"], ctx.input["release"])
    return result.output
