"""Identity and permission: API keys, the caller, the checks every door shares."""

from bureau.auth.authenticator import Authenticator
from bureau.auth.caller import Caller, Role
from bureau.auth.keys import IssuedKey, issue_key

__all__ = ["Authenticator", "Caller", "IssuedKey", "Role", "issue_key"]
