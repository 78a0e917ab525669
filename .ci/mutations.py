"""Mutation check: break each core guarantee on purpose and make sure its tests notice.

For each mutation below: copy the project to a temporary directory, apply the one textual
change to the product (never to the tests), run only the tests that claim to guard that
guarantee (the copy's `src` first on the path, for the test process and for the servers it
starts), and call the mutation caught when that run fails. The unmutated targets run first:
a mutation "caught" by tests that fail anyway would prove nothing. Exits non-zero when the
baseline fails or any mutation survives.

    .venv/bin/python .ci/mutations.py [name ...]    # all mutations, or the named ones

Needs `BUREAU_TEST_DATABASE_URL` (the question compare-and-set can only be raced on
PostgreSQL: SQLite takes its write lock before the read).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PG = "postgresql"


@dataclass(frozen=True)
class Mutation:
    name: str
    what: str
    file: str
    old: str  # occurs exactly once in `file`
    new: str
    tests: tuple[str, ...]
    also: tuple[tuple[str, str], ...] = ()  # more (old, new) changes to the same file

    def changes(self) -> tuple[tuple[str, str], ...]:
        return ((self.old, self.new), *self.also)


MUTATIONS = (
    Mutation(
        "cancel-never-stops-the-run",
        "the worker stops no run on a cancel notification or a lost lease",
        "src/bureau/engine/worker.py",
        "            self.cancel_requested.add(str(task_id))\n            run.task.cancel()\n",
        "            pass\n",
        (
            "tests/e2e/test_cancel.py::test_cancel_a_running_task_directly[sqlite]",
            "tests/e2e/test_sessions.py::test_on_busy_reject_and_interrupt[sqlite]",
            "tests/core/test_engine.py::test_canceling_a_running_task_stops_its_run[sqlite]",
        ),
        also=(("                    run.task.cancel()\n", "                    pass\n"),),
    ),
    Mutation(
        "shutdown-ignores-the-grace",
        "SIGTERM waits for every running task instead of the grace period",
        "src/bureau/engine/worker.py",
        "await asyncio.wait(running, timeout=grace)",
        "await asyncio.wait(running)",
        (
            "tests/e2e/test_durability.py::"
            "test_sigterm_drains_within_its_grace_and_hands_back_leases[sqlite]",
        ),
    ),
    Mutation(
        "reply-without-compare-and-set",
        "answering a question updates the task without the SQL guard",
        "src/bureau/store/sql/tasks.py",
        '        guard="question",\n',
        "        guard=None,\n",
        (
            "tests/core/test_store_tasks.py::"
            f"test_a_reply_checked_against_a_stale_read_is_refused_by_the_compare_and_set[{PG}]",
            "tests/core/test_store_tasks.py::"
            f"test_of_two_concurrent_replies_exactly_one_answers_the_question[{PG}]",
        ),
    ),
    Mutation(
        "question-guard-ignores-the-question-id",
        "the compare-and-set checks the status but not which question is open",
        "src/bureau/store/sql/common.py",
        '    "question": (tasks.c.status == "input-required")\n'
        '    & (tasks.c.question_id == bindparam("_question_id")),\n',
        '    "question": (tasks.c.status == "input-required"),\n',
        (
            "tests/core/test_store_tasks.py::"
            "test_a_reply_to_another_question_is_refused_and_changes_nothing[sqlite]",
            "tests/core/test_service.py::test_replies_are_checked_against_the_open_question[sqlite]",
        ),
    ),
    Mutation(
        "follower-skips-gaps",
        "a live follower never re-reads the log when a notification skips a seq",
        "src/bureau/service/events.py",
        '        if fresh and fresh[0]["seq"] != after + 1:\n            return None\n',
        "",
        (
            "tests/core/test_service.py::"
            "test_a_follower_reads_events_it_was_not_told_about_from_the_log[sqlite]",
        ),
    ),
    Mutation(
        "replay-ignores-the-journal",
        "a resumed run re-executes every step instead of replaying recorded results",
        "src/bureau/sdk/context.py",
        "        entry = self._runtime.journal.get(position)\n",
        "        entry = None\n",
        (
            "tests/core/test_engine.py::"
            "test_a_crashing_run_is_retried_after_its_backoff_without_redoing_steps[sqlite]",
            "tests/e2e/test_durability.py::test_task_survives_kill_9_in_its_second_step[sqlite]",
        ),
    ),
    Mutation(
        "idempotency-key-ignored",
        "dispatch with a seen Idempotency-Key creates another task",
        "src/bureau/store/sql/tasks.py",
        "        if seen is not None:\n",
        "        if False:\n",
        (
            "tests/core/test_store_tasks.py::"
            "test_concurrent_creates_with_one_idempotency_key_create_one_task[sqlite]",
            "tests/core/test_service.py::test_an_idempotent_replay_returns_the_first_task[sqlite]",
        ),
    ),
    Mutation(
        "last-event-id-ignored",
        "an SSE reconnect with Last-Event-ID replays the stream from the start",
        "src/bureau/api/routes/events.py",
        "            start = int(last_event_id)\n",
        "            start = after\n",
        (
            "tests/e2e/test_streaming.py::"
            "test_sse_resumes_with_last_event_id_without_loss_or_duplicates[sqlite]",
        ),
    ),
    Mutation(
        "lease-not-fenced",
        "a write by a worker whose lease was taken over still commits",
        "src/bureau/store/sql/common.py",
        '    if fenced:\n        stmt = stmt.where(tasks.c.lease_token == bindparam("_token"))\n',
        "",
        (
            "tests/core/test_store_queue.py::"
            "test_a_stale_token_cannot_commit_once_the_reaper_recovered_the_lease[sqlite]",
            "tests/core/test_store_queue.py::"
            "test_released_and_canceled_leases_fence_out_their_holder[sqlite]",
        ),
    ),
    Mutation(
        "webhook-signature-skips-the-timestamp",
        "the webhook signature no longer covers the timestamp",
        "src/bureau/webhooks/signing.py",
        'content = f"{message_id}.{timestamp}.".encode() + body',
        'content = f"{message_id}..".encode() + body',
        (
            "tests/unit/test_signing_and_backoff.py",
            "tests/e2e/test_webhooks.py::test_webhooks_are_signed_and_retried[sqlite]",
        ),
    ),
)


def _copy_project(target: Path) -> None:
    for name in ("src", "tests", "pyproject.toml"):
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, target / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(source, target / name)


def _pytest(workdir: Path, tests: tuple[str, ...]) -> tuple[int, str]:
    env = {**os.environ, "PYTHONPATH": str(workdir / "src"), "PYTHONDONTWRITEBYTECODE": "1"}
    env.pop("BUREAU_TEST_REQUIRE_SERVICES", None)  # a failure here must be the mutation's
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-rf", *tests],
        cwd=workdir,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    return result.returncode, result.stdout + result.stderr


def _summary(output: str) -> str:
    lines = [line for line in output.splitlines() if line.strip()]
    return lines[-1] if lines else "(no output)"


def _run(mutation: Mutation | None, tests: tuple[str, ...]) -> tuple[int, str, float]:
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="bureau-mutant-") as tmp:
        workdir = Path(tmp)
        _copy_project(workdir)
        if mutation is not None:
            path = workdir / mutation.file
            text = path.read_text()
            for old, new in mutation.changes():
                if text.count(old) != 1:
                    return -1, f"{old!r} is not in {mutation.file} exactly once", 0.0
                text = text.replace(old, new)
            path.write_text(text)
        code, output = _pytest(workdir, tests)
    return code, output, time.monotonic() - started


def main(names: list[str]) -> int:
    if not os.environ.get("BUREAU_TEST_DATABASE_URL"):
        print("mutations: BUREAU_TEST_DATABASE_URL is unset; some guards need PostgreSQL")
        return 2
    chosen = [m for m in MUTATIONS if not names or m.name in names]
    everything = tuple(dict.fromkeys(t for m in chosen for t in m.tests))
    code, output, seconds = _run(None, everything)
    if code != 0:
        print(f"mutations: the unmutated targets fail ({seconds:.0f} s):\n{output}")
        return 1
    print(f"mutations: baseline, {len(everything)} targets pass ({seconds:.0f} s)")
    survivors = []
    with ThreadPoolExecutor(2) as pool:
        results = pool.map(lambda m: (m, *_run(m, m.tests)), chosen)
        for mutation, code, output, seconds in results:
            caught = code > 0
            verdict = "caught" if caught else "SURVIVED"
            print(f"  {verdict:8} {mutation.name} ({seconds:.0f} s): {_summary(output)}")
            if not caught:
                survivors.append(mutation.name)
                print(output)
    if survivors:
        print(f"mutations: {len(survivors)} survived: {', '.join(survivors)}")
        return 1
    print(f"mutations: all {len(chosen)} caught")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
