"""The worker: claims ready tasks, runs them concurrently, keeps their leases alive.

Wake-ups come from the notifier (`queue`), so a dispatched task starts within
milliseconds; a poll every `poll_interval` covers lost notifications and delayed retries.
A `cancel` notification stops the run of a task this worker holds.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from bureau.engine.runner import Runner
from bureau.sdk.decorator import AgentDefinition
from bureau.store.ids import new_id
from bureau.store.limits import LimitBook
from bureau.store.records import ClaimedTask, RunningCaps
from bureau.store.store import Store

log = logging.getLogger("bureau.worker")


@dataclass
class _Run:
    task: asyncio.Task[None]
    token: int
    settling: bool = False


@dataclass(frozen=True)
class WorkerOptions:
    concurrency: int = 64
    lease_seconds: float = 10.0
    poll_interval: float = 1.0


class Worker:
    def __init__(
        self,
        store: Store,
        runner: Runner,
        agent_refs: Sequence[tuple[str, str]],
        options: WorkerOptions,
        limits: LimitBook | None = None,
    ) -> None:
        """`limits` caps each tenant's running tasks (none without it)."""
        self.store = store
        self.limits = limits
        self.queue = store.queue
        self.runner = runner
        self.agent_refs = list(agent_refs)
        self.options = options
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{new_id()[-6:]}"
        self.running: dict[str, _Run] = {}
        self.cancel_requested: set[str] = set()
        """Running tasks whose run a cancel signal stopped (not a park, lease or shutdown)."""
        self.runs_started = 0
        """Runs this worker began (a parked task's resumption is a new run)."""
        self._wake = asyncio.Event()
        self._stopping = False
        self._loops: list[asyncio.Task[None]] = []
        self._unsubscribe: list[Any] = []

    async def start(self) -> None:
        notifier = self.store.notifier
        self._unsubscribe = [
            notifier.subscribe("queue", lambda _: self._wake.set()),
            notifier.subscribe("cancel", self._on_cancel),
        ]
        self._loops = [
            asyncio.create_task(self._claim_loop(), name="bureau-claim"),
            asyncio.create_task(self._heartbeat_loop(), name="bureau-heartbeat"),
        ]

    def _on_cancel(self, task_id: Any) -> None:
        run = self.running.get(str(task_id))
        if run is not None:
            self.cancel_requested.add(str(task_id))
            run.task.cancel()

    def add_agents(self, definitions: Sequence[AgentDefinition]) -> None:
        """Claim and run these agents' tasks too (found after start: remote agents)."""
        for definition in definitions:
            self.runner.add(definition)
            ref = (definition.name, definition.version)
            if ref not in self.agent_refs:
                self.agent_refs.append(ref)
        self._wake.set()

    async def _claim_loop(self) -> None:
        while not self._stopping:
            self._wake.clear()
            free = self.options.concurrency - len(self.running)
            if free > 0 and self.agent_refs:
                try:
                    claimed = await self._claim(free)
                except Exception:
                    log.exception("claiming failed; retrying")
                    claimed = []
                if claimed and len(claimed) == free:
                    continue
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.options.poll_interval)

    async def _claim(self, limit: int) -> list[ClaimedTask]:
        """Claim up to `limit` tasks and start running them."""
        caps = None
        if self.limits is not None:
            default, tenants = await self.limits.running_caps()
            caps = RunningCaps(default, tenants)
        claimed = await self.queue.claim(
            self.owner, self.agent_refs, limit, self.options.lease_seconds, caps
        )
        for one in claimed:
            self._start(one)
        return claimed

    async def drain(self) -> int:
        """Burst mode: claim and run ready tasks until none is ready and none is running,
        then return how many runs there were (a parked task's resumption is a new run).
        Tasks waiting for a reply, or for a retry delay still in the future, stay queued.
        For deterministic tests and one-shot processing; do not mix with `start`."""
        heartbeat = asyncio.create_task(self._heartbeat_loop(), name="bureau-heartbeat")
        stop_canceled = self.store.notifier.subscribe("cancel", self._on_cancel)
        runs = 0
        try:
            while True:
                free = self.options.concurrency - len(self.running)
                claimed = await self._claim(free) if free > 0 and self.agent_refs else []
                runs += len(claimed)
                if not self.running:
                    if not claimed:
                        return runs
                    continue
                if not claimed or len(self.running) >= self.options.concurrency:
                    running = [run.task for run in self.running.values()]
                    await asyncio.wait(running, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stop_canceled()
            heartbeat.cancel()
            await asyncio.gather(heartbeat, return_exceptions=True)

    def _start(self, claimed: ClaimedTask) -> None:
        row = claimed.task
        task = asyncio.create_task(self._run(claimed), name=f"bureau-task-{row.id}")
        self.running[row.id] = _Run(task, row.lease_token)
        self.runs_started += 1

    async def _run(self, claimed: ClaimedTask) -> None:
        row = claimed.task
        try:
            await self.runner.run(claimed, settling=lambda: self._settling(row.id))
        except asyncio.CancelledError:
            log.info("task %s: run stopped (canceled, timed out or lease lost)", row.id)
        except Exception as exc:
            log.exception("task %s: unexpected engine error", row.id)
            await self._fail_on_engine_error(claimed, exc)
        finally:
            current = self.running.get(row.id)
            if current is not None and current.token == row.lease_token:
                del self.running[row.id]
                self.cancel_requested.discard(row.id)
            self._wake.set()

    async def _fail_on_engine_error(self, claimed: ClaimedTask, exc: Exception) -> None:
        """Fail the task with the engine's error: a bug of ours is reported as what it is,
        not, a lease later, as a lost worker. If even that write fails, the lease expires."""
        error = {
            "code": "engine_error",
            "message": f"Bureau failed running this task: {type(exc).__name__}: {exc}",
        }
        try:
            await self.queue.fail(claimed.task, claimed.task.lease_token, error, dead_letter=True)
        except Exception:
            log.exception("task %s: recording the engine error failed too", claimed.task.id)

    def _settling(self, task_id: str) -> None:
        run = self.running.get(task_id)
        if run is not None:
            run.settling = True

    async def _heartbeat_loop(self) -> None:
        interval = self.options.lease_seconds / 3
        while not self._stopping:
            await asyncio.sleep(interval)
            held = {task_id: run.token for task_id, run in self.running.items() if not run.settling}
            try:
                lost = await self.queue.renew_leases(self.owner, held, self.options.lease_seconds)
            except Exception:
                log.exception("renewing leases failed")
                continue
            for task_id in lost:
                run = self.running.get(task_id)
                if run is not None and not run.settling:
                    log.warning("task %s: lease lost; stopping its run", task_id)
                    run.task.cancel()

    async def stop(self, grace: float = 10.0) -> None:
        """Stop claiming, let running tasks finish for `grace` seconds, cancel the rest, and
        hand their leases back so another worker (or the next start) takes them at once."""
        self._stopping = True
        self._wake.set()
        for unsubscribe in self._unsubscribe:
            unsubscribe()
        for loop in self._loops:
            loop.cancel()
        await asyncio.gather(*self._loops, return_exceptions=True)
        running = [run.task for run in self.running.values()]
        if running:
            _, pending = await asyncio.wait(running, timeout=grace)
            for task in pending:
                task.cancel()
            if pending:
                await asyncio.wait(pending)
        released = await self.queue.release_leases(self.owner)
        if released:
            log.info("released %d leases for other workers", released)
