"""Issue 8.8: a wrong agent signature is refused when it is defined, saying what to write."""

from __future__ import annotations

import pytest

from bureau import Context, UsageError, agent


def test_a_plain_function_agent_is_refused_with_what_to_write() -> None:
    with pytest.raises(UsageError) as refused:

        @agent("plain", version="1.0.0")
        def plain(ctx: Context) -> dict[str, int]:
            return {}

    assert "'plain' is not a coroutine function" in str(refused.value)
    assert "async def plain(ctx: Context)" in str(refused.value)
