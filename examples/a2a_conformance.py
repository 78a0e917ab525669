"""A test agent for the A2A compatibility test kit (TCK, branch `1.0-dev`).

The kit selects what the agent under test does by the prefix of the message id it sends
(its `scenarios/*.feature`). Bureau's A2A door keeps that id in the task's metadata
(`metadata["a2a"]["message_id"]`), which the agent reads as `ctx.metadata`; so this one
agent plays every scenario:

    tck-complete-task (and any other id)  complete: "Hello from TCK"
    tck-input-required                    ask a question (input-required); complete
                                          with the answer once it comes (ask again
                                          while it is "TCK history message ...")
    tck-reject-task                       reject: "rejected"
    tck-fail-task                         fail (not in the kit; for Bureau's own test)
    tck-artifact-text                     complete, deliverable "Generated text content"
    tck-artifact-file                     complete with a file output.txt (text/plain)
    tck-artifact-file-url                 the same file, large enough to come as a URL
    tck-artifact-data                     complete, deliverable {"key": "value", "count": 42}
    tck-message-response                  complete with `Reply("Direct message
                                          response")`: a blocking send gets a Message
    tck-stream-*                          working (progress), an artifact, completed
    test-resubscribe-message-id           working, ~4 s, completed (the kit's
                                          2 x TCK_STREAMING_TIMEOUT)

It takes files of any media type (`accepts_files=["*/*"]`): the kit's 1.0-dev CORE-SEND-003
sends one of an invented type and, its requirement lacking an expected error, counts any
error as a failure. An agent that takes no files (the default) answers such a message
with ContentTypeNotSupportedError, as the specification's text asks.

Serve it with `bureau serve --agents examples/a2a_conformance.py --no-demo-agents`;
the kit calls `/a2a/a2a-conformance` (see `examples/a2a_tck_proxy.py` for the key).
"""

from __future__ import annotations

import asyncio
from typing import Any

from bureau import Context, Decline, Fatal, Reply, agent

STREAM_TEXT = {
    "tck-stream-001": "Stream hello from TCK",
    "tck-stream-003": "Stream task lifecycle",
    "tck-stream-ordering-001": "Ordered output",
    "tck-stream-artifact-text": "Streamed text content",
    "tck-stream-artifact-chunked": "chunk-1 chunk-2",  # Bureau's files come whole
}

URL_SIZE = 20 * 1024
"""Larger than the door's inline limit (16 KiB), so the file comes as a `url`."""


def message_id(ctx: Context) -> str:
    """The A2A message id that dispatched the task ('' for a task not sent over A2A)."""
    a2a = ctx.metadata.get("a2a")
    return str(a2a.get("message_id") or "") if isinstance(a2a, dict) else ""


async def _wait(seconds: float) -> None:
    await asyncio.sleep(seconds)


@agent(
    "a2a-conformance",
    version="1.0.0",
    description="plays the A2A compatibility kit's scenarios, chosen by message id prefix",
    capabilities=["testing"],
    idle_timeout_seconds=60.0,
    accepts_files=["*/*"],  # CORE-SEND-003 sends a file of an invented media type
)
async def a2a_conformance(ctx: Context) -> Any:
    mid = message_id(ctx)
    if mid.startswith("tck-input-required"):
        answer = await ctx.ask("TCK: input required; send a reply on this task")
        while str(answer).startswith("TCK history message"):  # CORE-HIST-005/006
            answer = await ctx.ask("TCK: input still required")
        return f"Hello from TCK: {answer}"
    if mid.startswith("tck-reject-task"):
        raise Decline("rejected")
    if mid.startswith("tck-fail-task"):
        raise Fatal("failed")
    if mid.startswith("tck-artifact-text"):
        return "Generated text content"
    if mid.startswith("tck-artifact-file-url"):
        await ctx.artifact("output.txt", "x" * URL_SIZE, "text/plain")
        return "Hello from TCK"
    if mid.startswith("tck-artifact-file"):
        await ctx.artifact("output.txt", "Generated file content", "text/plain")
        return "Hello from TCK"
    if mid.startswith("tck-artifact-data"):
        return {"key": "value", "count": 42}
    if mid.startswith("tck-message-response"):
        return Reply("Direct message response")
    if mid.startswith("test-resubscribe-message-id"):
        await ctx.progress(0.0, "working")
        await ctx.step("wait", _wait, 4.0)
        return "Hello from TCK"
    if mid.startswith("tck-stream-"):
        await ctx.progress(0.0, "working")
        if mid.startswith("tck-stream-artifact-file"):
            await ctx.artifact("output.txt", "Streamed file content", "text/plain")
            return "Hello from TCK"
        for prefix, text in STREAM_TEXT.items():
            if mid.startswith(prefix):
                return text
        return "Hello from TCK"
    return "Hello from TCK"
