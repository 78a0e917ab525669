"""Time-ordered identifiers (ULID-like): 48-bit milliseconds + 80 random bits, base32."""

from __future__ import annotations

import os
import time

_ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"


_last = 0


def new_id(prefix: str = "") -> str:
    """A 26-character id that sorts by creation time; `prefix` is prepended as is.

    Within one process ids strictly increase, even within the same millisecond.
    """
    global _last
    value = (int(time.time() * 1000) << 80) | int.from_bytes(os.urandom(10), "big")
    if value <= _last:
        value = _last + 1
    _last = value
    chars = []
    for _ in range(26):
        chars.append(_ALPHABET[value & 31])
        value >>= 5
    return prefix + "".join(reversed(chars))
