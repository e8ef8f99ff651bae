"""Blocking boto3 calls awaited from the event loop, on daemon threads.

Not ``asyncio.to_thread``: the default executor's threads are joined when ``asyncio.run``
ends and again at interpreter exit, so a long poll in progress at SIGTERM (ReceiveMessage
waits up to 20 s) would hold the exit. A daemon thread is abandoned instead: the task
awaiting it is cancelled at once, and whatever the call receives after that is never
deleted, so SQS delivers it again once its visibility timeout passes.
https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-visibility-timeout.html

The threads are kept and reused: starting one waits for it to run, which under load
would stall the event loop on every call.
"""

from __future__ import annotations

import asyncio
import contextlib
import queue
import threading
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


class _DaemonThreads:
    """As many daemon threads as calls have run at once, each reused once idle."""

    def __init__(self, name: str) -> None:
        self._name = name
        self._jobs: queue.SimpleQueue[Callable[[], None]] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._idle = 0
        self._started = 0

    def submit(self, job: Callable[[], None]) -> None:
        with self._lock:
            # Each job put has a thread to take it: an idle one reserved, or a new one.
            grow = self._idle == 0
            if grow:
                self._started += 1
            else:
                self._idle -= 1
        if grow:
            worker = threading.Thread(
                target=self._work, name=f"{self._name}-{self._started}", daemon=True
            )
            worker.start()
        self._jobs.put(job)

    def _work(self) -> None:
        while True:
            self._jobs.get()()
            with self._lock:
                self._idle += 1


_THREADS = _DaemonThreads("sqs")


async def in_daemon_thread(call: Callable[[], T]) -> T:
    """``call()`` on a daemon thread; cancelling the await abandons the call."""
    loop = asyncio.get_running_loop()
    future: asyncio.Future[T] = loop.create_future()

    def settle(result: T | None, error: BaseException | None) -> None:
        if future.done():  # cancelled: nobody waits for this answer any more
            return
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(result)  # type: ignore[arg-type]

    def job() -> None:
        result: T | None = None
        error: BaseException | None = None
        try:
            result = call()
        except BaseException as err:  # handed to the awaiting task, never lost in a thread
            error = err
        # RuntimeError: the loop closed while the call ran, which was then abandoned.
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(settle, result, error)

    _THREADS.submit(job)
    return await future
