"""Signals agent code raises on purpose, and the control-flow exceptions of a run.

`Retry`, `Fatal` and `Decline` are ordinary exceptions an agent raises. `Suspended` derives from
`BaseException` so agent code that catches `Exception` cannot swallow it.
"""

from __future__ import annotations


class Retry(Exception):
    """Ask Bureau to run the task again later (completed steps are not re-run).

    Args:
        reason: why, recorded on the task.
        after: seconds to wait before the next attempt; default is the agent's backoff.
    """

    def __init__(self, reason: str = "retry requested", *, after: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.after = after


class Fatal(Exception):
    """Fail the task now, without retrying. The message becomes the task's error."""


class Decline(Exception):
    """Decline the task: the agent cannot do what the goal asks (or the input is not what it
    works on). The task ends `rejected` with this message, nothing is billed, and the
    agent's reputation does not count it as a failure. Raise it before doing billable work;
    prefer `ctx.ask` when one answer from the consumer would make the goal clear."""


class Reply:
    """Return `Reply(answer)` instead of `answer` when the deliverable is a direct answer,
    the kind a chat turn gives. It is the task's deliverable as usual (reviewed, billed);
    the A2A door answers a blocking `SendMessage` for it with an agent `Message` holding
    the answer (and the task's id) instead of the task, as A2A agents that reply without
    a task do. Its deliverable event says `"reply": true`."""

    def __init__(self, answer: object) -> None:
        self.answer = answer


class DelegationFailed(Exception):
    """A child task started with `ctx.delegate` did not complete."""

    def __init__(self, agent: str, task_id: str, status: str, error: object) -> None:
        super().__init__(f"delegated task {task_id} ({agent}) ended {status}: {error}")
        self.agent = agent
        self.task_id = task_id
        self.status = status
        self.error = error


class NonDeterminism(Fatal):
    """On replay the agent made a different durable call than the journal recorded."""


class IndeterminateStep(Fatal):
    """A step declared idempotent=False was in flight at a crash; nobody reconciled it."""


class Suspended(BaseException):
    """Raised inside a run to give the worker back: the task parks until it can move on."""
