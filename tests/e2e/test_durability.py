"""Crash recovery, retries, dead letters and deadlines against a real server process."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from tests.support.agents import beacon_pids
from tests.support.server import ServerProcess, wait_for


def _crash_inside(server: ServerProcess, agent: str, step: str, tmp_path: Path) -> dict[str, Any]:
    """Run `agent`, `kill -9` the server while `step` runs, restart; the finished task."""
    counter, release = tmp_path / "counter", tmp_path / "release"
    server.start()
    with server.client() as client:
        task = client.post(
            "/v1/tasks",
            json={
                "agent": agent,
                "goal": "survive a crash",
                "input": {"counter": str(counter), "release": str(release)},
            },
        ).json()
        deadline = time.monotonic() + 15
        while step not in (counter.read_text() if counter.exists() else ""):
            assert time.monotonic() < deadline, f"step {step!r} never started"
            time.sleep(0.02)
    server.kill()
    release.touch()
    server.start()
    with server.client() as client:
        done = wait_for(client, task["id"], {"completed"}, timeout=30)
    done["runs"] = counter.read_text().splitlines()
    return done


def test_task_survives_kill_9_in_its_second_step(own_server: ServerProcess, tmp_path: Path) -> None:
    done = _crash_inside(own_server, "crashable", "second", tmp_path)
    assert done["runs"].count("first") == 1, "a journaled step ran again after the crash"
    assert done["runs"].count("second") == 2, "the killed step did not run again"
    assert done["deliverable"]["first_runs"] == 1


def test_transient_errors_are_retried_with_growing_delays(server: ServerProcess) -> None:
    with server.client() as client:
        task = client.post(
            "/v1/tasks", json={"agent": "flaky", "goal": "eventually", "input": {"succeed_on": 3}}
        ).json()
        done = wait_for(client, task["id"], {"completed", "failed"})
        assert done["status"] == "completed", done["error"]
        assert done["deliverable"] == {"attempt": 3}
        events = client.get(f"/v1/tasks/{task['id']}/events").json()["events"]
    delays = [e["data"]["delay_seconds"] for e in events if e["type"] == "retry"]
    assert len(delays) == 2
    assert delays[0] < delays[1], f"backoff did not grow: {delays}"
    steps = [e for e in events if e["type"] == "step.completed"]
    assert len(steps) == 1, "the journaled step before the failure ran again on retry"


def test_a_task_that_always_fails_lands_in_the_dead_letter_list(server: ServerProcess) -> None:
    with server.client() as client:
        task = client.post("/v1/tasks", json={"agent": "doomed", "goal": "fail"}).json()
        failed = wait_for(client, task["id"], {"failed"})
        assert "always fails" in failed["error"]["message"]
        assert failed["attempt"] == 2 and failed["dead_letter"] is True
        dead = client.get("/v1/dead-letters").json()["tasks"]
        assert task["id"] in [t["id"] for t in dead]


def test_fatal_fails_at_once_without_retry(server: ServerProcess) -> None:
    with server.client() as client:
        task = client.post("/v1/tasks", json={"agent": "refuser", "goal": "no"}).json()
        failed = wait_for(client, task["id"], {"failed"})
        assert failed["error"] == {"code": "fatal", "message": "cannot do this goal"}
        assert failed["attempt"] == 1 and failed["dead_letter"] is False


def test_a_task_past_its_deadline_fails_with_a_timeout(server: ServerProcess) -> None:
    with server.client() as client:
        task = client.post(
            "/v1/tasks",
            json={
                "agent": "sleeper",
                "goal": "too slow",
                "input": {"seconds": 60},
                "deadline_seconds": 1,
            },
        ).json()
        failed = wait_for(client, task["id"], {"failed"}, timeout=10)
        assert failed["error"]["code"] == "deadline_exceeded"


def test_an_interrupted_non_idempotent_step_is_reconciled_not_rerun(
    own_server: ServerProcess, tmp_path: Path
) -> None:
    done = _crash_inside(own_server, "charger", "charge", tmp_path)
    assert done["deliverable"] == {"reconciled": "charge"}
    assert done["runs"] == ["charge"]


def test_a_task_without_progress_fails_on_its_idle_timeout(server: ServerProcess) -> None:
    with server.client() as client:
        task = client.post("/v1/tasks", json={"agent": "stuck", "goal": "hang"}).json()
        failed = wait_for(client, task["id"], {"failed"}, timeout=10)
    assert failed["error"]["code"] == "idle_timeout"


def test_child_cost_rolls_up_into_the_parent(server: ServerProcess) -> None:
    with server.client() as client:
        task = client.post(
            "/v1/tasks", json={"agent": "parent", "goal": "delegate", "input": {"seconds": 0.1}}
        ).json()
        done = wait_for(client, task["id"], {"completed"})
    assert done["deliverable"] == {"children": [{"slept": 0.1}, {"sum": 2}]}
    assert done["cost"] == "0.01"


def test_an_oversized_artifact_fails_the_task_with_a_clear_error(
    own_server: ServerProcess,
) -> None:
    own_server.env["BUREAU_MAX_ARTIFACT_BYTES"] = "2048"
    own_server.start()
    with own_server.client() as client:
        task = client.post(
            "/v1/tasks", json={"agent": "big-artifact", "goal": "too big", "input": {"size": 5000}}
        ).json()
        failed = wait_for(client, task["id"], {"failed"})
    assert failed["error"]["code"] == "fatal"
    assert "limit is 2048" in failed["error"]["message"]


def test_sigterm_drains_within_its_grace_and_hands_back_leases(
    own_server: ServerProcess, tmp_path: Path
) -> None:
    """A run longer than the grace is stopped when the grace ends (not awaited), its lease
    handed back, and the next start runs it again."""
    own_server.env["BUREAU_SHUTDOWN_GRACE_SECONDS"] = "0.5"
    own_server.env["BUREAU_LEASE_SECONDS"] = "60"  # only the hand-back frees it in time
    beacon, release = tmp_path / "beacon", tmp_path / "release"
    own_server.start()
    with own_server.client() as client:
        task = client.post(
            "/v1/tasks",
            json={
                "agent": "beacon",
                "goal": "outlive the server",
                "input": {"beacon": str(beacon), "release": str(release)},
            },
        ).json()
        wait_for(client, task["id"], {"working"})
    first_pid = own_server.pid
    started = time.monotonic()
    own_server.stop()
    assert time.monotonic() - started < 5, "the server did not stop when its grace ended"
    assert beacon_pids(beacon) == {first_pid}
    own_server.start()
    with own_server.client() as client:
        deadline = time.monotonic() + 10
        while own_server.pid not in beacon_pids(beacon):
            assert time.monotonic() < deadline, "the handed-back task did not run again"
            time.sleep(0.05)
        release.touch()
        done = wait_for(client, task["id"], {"completed"}, timeout=10)
    assert done["deliverable"] == {"released": True}
