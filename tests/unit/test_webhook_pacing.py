"""Issue 8.2: per-receiver and per-tenant in-flight bounds, and a circuit per receiver."""

from __future__ import annotations

import time

from bureau.webhooks.pacing import FAILURES_TO_OPEN, Pacing, receiver_of


def test_a_receiver_at_its_bound_is_deferred_and_another_is_not() -> None:
    pacing = Pacing(per_receiver=2, per_tenant=10)
    dead, alive = receiver_of("http://dead.example/a"), receiver_of("http://alive.example/b")
    assert receiver_of("http://dead.example/other?x=1") == dead
    assert pacing.admit(dead, "t1") is None and pacing.admit(dead, "t1") is None
    assert (pacing.admit(dead, "t1") or 0) > time.time(), "a third delivery in flight"
    assert pacing.admit(alive, "t1") is None
    pacing.done(dead, "t1", ok=False)
    assert pacing.admit(dead, "t1") is None, "a slot came free"


def test_a_tenant_at_its_bound_leaves_room_for_other_tenants() -> None:
    pacing = Pacing(per_receiver=100, per_tenant=3)
    for i in range(3):
        assert pacing.admit(f"http://r{i}:", "busy") is None
    assert pacing.admit("http://r9:", "busy") is not None
    assert pacing.admit("http://r9:", "calm") is None


def test_consecutive_failures_open_the_circuit_and_a_success_closes_it() -> None:
    pacing = Pacing()
    receiver = receiver_of("https://flaky.example")
    for _ in range(FAILURES_TO_OPEN):
        assert pacing.admit(receiver, "t") is None
        pacing.done(receiver, "t", ok=False)
    reopens = pacing.admit(receiver, "t")
    assert reopens is not None and reopens - time.time() > 20, "the circuit did not open"
    other = Pacing()
    for _ in range(FAILURES_TO_OPEN - 1):
        other.admit(receiver, "t")
        other.done(receiver, "t", ok=False)
    other.admit(receiver, "t")
    other.done(receiver, "t", ok=True)
    other.admit(receiver, "t")
    other.done(receiver, "t", ok=False)
    assert other.admit(receiver, "t") is None, "a success must reset the failure count"
