"""Public testing helpers for agent publishers (see `bureau.sdk.testing`)."""

from bureau.sdk.testing import RunResult, run_agent

__all__ = ["RunResult", "run_agent"]
