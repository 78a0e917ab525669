"""Who is calling, and what their key lets them do."""

from __future__ import annotations

from dataclasses import dataclass, replace

from bureau.auth.scopes import OPERATIONS, ROLE_SCOPES, Role, Scope
from bureau.errors import Forbidden
from bureau.store.ids import new_id

__all__ = ["Caller", "Role"]


@dataclass(frozen=True)
class Caller:
    """The identity behind a request: from the API key only, never from the request body.
    Every service operation takes one, calls `require` first, and scopes what it touches to
    `tenant_id`."""

    tenant_id: str
    key_id: str
    role: Role
    granted: frozenset[Scope] | None = None
    """The key's scopes; None: all its role's."""
    address: str | None = None
    """The client's address, as the door saw it (for the audit log)."""
    request_id: str | None = None

    @property
    def scopes(self) -> frozenset[Scope]:
        return ROLE_SCOPES[self.role] if self.granted is None else self.granted

    def require(self, operation: str) -> None:
        """Raise `Forbidden` unless the key holds the scope `operation` needs
        (`OPERATIONS`)."""
        needed = OPERATIONS[operation]
        if needed not in self.scopes:
            raise Forbidden(
                f"{operation} needs the scope '{needed.value}'; this key (role "
                f"'{self.role.value}') has {', '.join(sorted(self.scopes)) or 'no scope'}"
            )

    def seen_at(self, address: str | None, request_id: str | None) -> Caller:
        """This caller as a door saw it: the client's address and the request's id (the
        client's `X-Request-ID` when it is a sane token, else a new one), for the audit
        log."""
        sane = request_id is not None and (
            0 < len(request_id) <= 64 and request_id.isascii() and request_id.isprintable()
        )
        return replace(self, address=address, request_id=request_id if sane else new_id("req_"))
