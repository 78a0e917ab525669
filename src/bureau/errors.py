"""The one error tree of Bureau.

Every error the service reports to a client derives from `BureauError` and carries a
stable `code`; `bureau.api.errors` maps each class to an HTTP status and a problem+json
body in one table. Signals that agent code raises on purpose (`Retry`, `Fatal`) live in
`bureau.sdk.signals`; developer misuse is `UsageError`.
"""

from __future__ import annotations

from typing import Any


class BureauError(Exception):
    """Root of every error Bureau reports. `code` is stable and documented."""

    code = "internal"
    title = "Internal error"

    def __init__(self, detail: str, **extra: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extra = extra


class UsageError(BureauError):
    """A developer used the SDK or configuration wrongly; the message says what to do."""

    code = "usage"
    title = "Usage error"


class InvalidRequest(BureauError):
    code = "invalid_request"
    title = "Invalid request"


class PayloadTooLarge(BureauError):
    code = "payload_too_large"
    title = "Payload too large"


class Unauthenticated(BureauError):
    code = "unauthenticated"
    title = "Missing or invalid API key"


class Forbidden(BureauError):
    code = "forbidden"
    title = "Not allowed"


class NotFound(BureauError):
    code = "not_found"
    title = "Not found"


class Conflict(BureauError):
    code = "conflict"
    title = "Conflict"


class IdempotencyConflict(Conflict):
    code = "idempotency_conflict"
    title = "Idempotency key reused with a different request"


class InvalidState(Conflict):
    """The task is not in a state that allows the operation."""

    code = "invalid_state"
    title = "Task is not in a state that allows this"


class QuestionAlreadyAnswered(Conflict):
    code = "question_answered"
    title = "Question already answered"


class SessionBusy(Conflict):
    code = "session_busy"
    title = "Session is busy"


class LeaseLost(BureauError):
    """A worker tried to commit for a task it no longer holds (fencing)."""

    code = "lease_lost"
    title = "Lease lost"


class RateLimited(BureauError):
    """The tenant sent more requests than its limit; `retry_after` seconds until it may."""

    code = "rate_limited"
    title = "Too many requests"


class QueueFull(RateLimited):
    """The tenant has as many tasks waiting (to run, or for answers) as its limit allows."""

    code = "queue_full"
    title = "Too many waiting tasks"


class SchemaVersionMismatch(BureauError):
    code = "schema_version"
    title = "Database schema is at the wrong version"
