"""DatabaseGate: closed by a failed batch or by a check made while the queues are quiet,
open again once a check passes."""

from __future__ import annotations

import asyncio

from app.queues.database_gate import DatabaseGate
from app.queues.retry_delays import RetryDelays
from tests.queue_consumer.conftest import wait_for

DOWN = "the database is unreachable (ConnectionRefusedError)"


class Checks:
    """A check answering from a script: None (the database answers) or why not."""

    def __init__(self, *answers: str | None) -> None:
        self.answers = list(answers)
        self.calls = 0

    async def __call__(self) -> str | None:
        self.calls += 1
        await asyncio.sleep(0.01)  # a query takes a moment: others poll meanwhile
        return self.answers.pop(0) if self.answers else None


def gate_of(checks: Checks, *, every: float) -> DatabaseGate:
    return DatabaseGate(checks, RetryDelays(0.05, 0.1), idle_check_seconds=every)


class TestCheckWhileIdle:
    async def test_checked_at_once_then_at_most_every_interval(self) -> None:
        checks = Checks()
        gate = gate_of(checks, every=0.3)
        # Three queues find nothing at once: one check among them.
        await asyncio.gather(*(gate.check_while_idle() for _ in range(3)))
        assert checks.calls == 1
        await gate.check_while_idle()
        assert checks.calls == 1
        await asyncio.sleep(0.3)
        await gate.check_while_idle()
        assert checks.calls == 2
        assert gate.is_open
        await gate.stop()

    async def test_a_failing_check_closes_the_gate_until_one_passes(self) -> None:
        checks = Checks(DOWN, DOWN)
        gate = gate_of(checks, every=0.0)
        await gate.check_while_idle()
        assert not gate.is_open
        assert gate.reason == DOWN
        # Closed: the recovery checks, with its back-off; idle receives add nothing.
        calls = checks.calls
        await gate.check_while_idle()
        assert checks.calls == calls
        await asyncio.wait_for(gate.wait_open(), 5)
        assert gate.reason is None
        assert checks.calls == 3
        await gate.stop()

    async def test_a_batch_that_closed_the_gate_meanwhile_keeps_its_reason(self) -> None:
        checks = Checks(DOWN)
        gate = gate_of(checks, every=0.0)
        idle = asyncio.create_task(gate.check_while_idle())
        await asyncio.sleep(0)
        gate.close("a batch failed", lost="1 message(s) not stored")
        await idle
        assert gate.reason == "a batch failed"
        await wait_for(lambda: gate.is_open, timeout=5, what="the gate to open")
        await gate.stop()
