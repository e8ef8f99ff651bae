"""Blocking boto3 calls awaited from the event loop, each on a daemon thread of its own.

Not ``asyncio.to_thread``: the default executor's threads are joined when ``asyncio.run``
ends and again at interpreter exit, so a long poll in progress at SIGTERM (ReceiveMessage
waits up to 20 s) would hold the exit. A daemon thread is abandoned instead: the task
awaiting it is cancelled at once, and whatever the call receives after that is never
deleted, so SQS delivers it again once its visibility timeout passes.
https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-visibility-timeout.html
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


async def in_daemon_thread(call: Callable[[], T], *, name: str) -> T:
    """``call()`` on a new daemon thread; cancelling the await abandons the thread."""
    loop = asyncio.get_running_loop()
    future: asyncio.Future[T] = loop.create_future()

    def settle(result: T | None, error: BaseException | None) -> None:
        if future.done():  # cancelled: nobody waits for this answer any more
            return
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(result)  # type: ignore[arg-type]

    def work() -> None:
        result: T | None = None
        error: BaseException | None = None
        try:
            result = call()
        except BaseException as err:  # handed to the awaiting task, never lost in a thread
            error = err
        # RuntimeError: the loop closed while the call ran, which was then abandoned.
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(settle, result, error)

    threading.Thread(target=work, name=name, daemon=True).start()
    return await future
