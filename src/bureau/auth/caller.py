"""Who is calling, and what their role lets them do."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from bureau.errors import Forbidden


class Role(StrEnum):
    ADMIN = "admin"
    PUBLISHER = "publisher"
    MEMBER = "member"
    VIEWER = "viewer"


WRITE_ROLES = frozenset({Role.ADMIN, Role.PUBLISHER, Role.MEMBER})


@dataclass(frozen=True)
class Caller:
    """The identity behind a request: from the API key only, never from the request body.
    Every service operation takes one and scopes what it touches to `tenant_id`."""

    tenant_id: str
    key_id: str
    role: Role

    def require_write(self) -> None:
        """Raise `Forbidden` unless the role may change tasks (dispatch, reply, review)."""
        if self.role not in WRITE_ROLES:
            raise Forbidden(f"an API key with role {self.role!r} may only read")

    def require_admin(self) -> None:
        """Raise `Forbidden` unless the role is `admin`."""
        if self.role != Role.ADMIN:
            raise Forbidden("this needs an API key with role 'admin'")
