from __future__ import annotations

from pathlib import Path

import pytest

from tests.unit.cli.fake import FakeBureau


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No key, URL or data dir leaks in from the developer's shell or working directory."""
    for name in ("BUREAU_API_KEY", "BUREAU_URL", "BUREAU_DATA_DIR"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)


@pytest.fixture
def fake() -> FakeBureau:
    return FakeBureau()
