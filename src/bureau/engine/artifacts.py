"""Artifact files on local disk under the data directory.

Layout: `<root>/<tenant>/<task>/<name>`. Writes go to a temporary file renamed into place,
so a reader never sees half a file and a crash leaves no partial artifact.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from bureau.errors import PayloadTooLarge


class LocalArtifactStore:
    def __init__(self, root: Path, max_bytes: int) -> None:
        self.root = root
        self.max_bytes = max_bytes

    def path(self, tenant_id: str, task_id: str, name: str) -> Path:
        return self.root / tenant_id / task_id / name

    def save(self, tenant_id: str, task_id: str, name: str, content: bytes) -> str:
        """Write the file durably; returns its SHA-256. Raises `PayloadTooLarge`."""
        if len(content) > self.max_bytes:
            raise PayloadTooLarge(
                f"artifact {name!r} is {len(content)} bytes; the limit is {self.max_bytes}"
            )
        target = self.path(tenant_id, task_id, name)
        target.parent.mkdir(parents=True, exist_ok=True)
        temporary = target.with_name(f".{name}.tmp")
        with open(temporary, "wb") as handle:
            handle.write(content)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, target)
        return hashlib.sha256(content).hexdigest()
