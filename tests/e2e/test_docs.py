"""Every code block of the README and of docs/ runs as written (issue 8.7).

Python blocks run in a fresh interpreter; shell blocks run with bash from the project root
(where the README's `.venv` is), both against a real server through `BUREAU_URL` and
`BUREAU_API_KEY`. A block that cannot run here says why in an HTML comment right above it
(`<!-- not run by the docs test: ... -->`) and names what runs it instead; a `text` block is
a picture, not code.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.server import ServerProcess, wait_for

ROOT = Path(__file__).resolve().parents[2]
DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
BLOCK = re.compile(
    r"(?:<!-- not run by the docs test: (?P<reason>.+?) -->\n)?"
    r"```(?P<lang>[a-z]*)\n(?P<code>.*?)```",
    re.DOTALL,
)


def _blocks() -> list[tuple[str, str, str, str | None]]:
    found = []
    for document in DOCUMENTS:
        text = document.read_text(encoding="utf-8")
        for match in BLOCK.finditer(text):
            line = text[: match.start("lang")].count("\n") + 1
            where = f"{document.relative_to(ROOT)}:{line}"
            found.append((where, match["lang"], match["code"], match["reason"]))
    return found


BLOCKS = _blocks()
RUNNABLE = [b for b in BLOCKS if b[3] is None and b[1] != "text"]


def test_every_block_runs_or_says_why_not() -> None:
    assert len(BLOCKS) >= 6, "the block pattern no longer finds the README's blocks"
    for where, lang, _, reason in BLOCKS:
        assert lang in ("python", "sh", "text"), f"{where}: say the block's language"
        assert reason is None or "test" in reason or "run" in reason, where
    assert any(lang == "python" for _, lang, _, _ in RUNNABLE)
    assert any(lang == "sh" for _, lang, _, _ in RUNNABLE)


@pytest.fixture(scope="module")
def demo_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """The README's server: `bureau serve` with the demo agents, on SQLite."""
    server = ServerProcess(tmp_path_factory.mktemp("docs"), demo_agents=True)
    server.start()
    yield server
    server.stop()
    server.assert_clean_log()


@pytest.mark.parametrize(
    ("where", "lang", "code"), [b[:3] for b in RUNNABLE], ids=[b[0] for b in RUNNABLE]
)
def test_the_block_runs(
    demo_server: ServerProcess, tmp_path: Path, where: str, lang: str, code: str
) -> None:
    server = demo_server
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("BUREAU_")},
        "BUREAU_URL": server.url,
        "BUREAU_API_KEY": server.key,
        "BUREAU_DATA_DIR": str(tmp_path / "no-server-here"),
    }
    if lang == "python":
        command = [sys.executable, "-c", code]
    else:
        command = ["bash", "-euo", "pipefail", "-c", code]
    done = subprocess.run(
        command,
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=90,
        stdin=subprocess.DEVNULL,
    )
    assert done.returncode == 0, f"{where} failed:\n{done.stdout}\n{done.stderr}"


def test_a_demo_agent_declines_what_it_cannot_do_and_bills_nothing(
    demo_server: ServerProcess,
) -> None:
    """Issue 8.10: a markdown memo sent as a CSV completed and cost 0.02."""
    memo = "# Q3 memo\n\nRevenue grew in every region.\n\n- hire two analysts\n"
    with demo_server.client() as client:
        sent = client.post(
            "/v1/tasks",
            json={"agent": "csv-analyst", "goal": "Summarize the data", "input": {"csv": memo}},
        ).json()
        declined = wait_for(client, sent["id"], {"completed", "failed", "rejected"})
        agent = client.get("/v1/agents/csv-analyst").json()
    assert declined["status"] == "rejected" and declined["cost"] == "0"
    assert declined["error"]["code"] == "declined"
    assert "markdown" in declined["error"]["message"]
    assert agent["reputation"]["completion_rate"] in (None, 1.0), "a decline is not a failure"
