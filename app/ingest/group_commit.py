"""Group commit: what concurrent requests hand over is applied in one transaction, and each
request is answered only once that transaction has committed.

A 200 to SNS must mean the notification is stored (SPEC §2), so a request cannot be
answered before its commit; but a commit per request is a round trip (and a WAL flush) per
notification. Here one writer per process takes everything waiting at that moment, applies
it in one transaction, commits, then answers each waiting request. At low load a batch is
the one request there is, and nothing waits for company; under load the requests that
arrive while a batch commits form the next one, so a batch grows with the load.

One item must not fail the others: a batch that fails for a reason other than an outage is
run again one item per transaction, so only the item at fault gets the error. An outage
(DatabaseUnavailable) fails the whole batch at once, each request gets its 503, and SNS
retries every message of it (nothing was committed, so nothing is lost or doubled); a
deadlock with another writer (on PostgreSQL) is run again one item per transaction.
"""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Awaitable, Callable, Sequence
from contextlib import AbstractAsyncContextManager
from typing import Generic, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from app.errors import DatabaseUnavailable

Item = TypeVar("Item")
Result = TypeVar("Result")

# Enough to share one commit among all of a busy worker's requests (SNS opens few
# connections per endpoint), few enough that a batch's statements stay small.
BATCH_LIMIT = 100


class GroupCommit(Generic[Item, Result]):
    """``await submit(item)`` returns ``apply``'s result for the item once it committed."""

    def __init__(
        self,
        begin: Callable[[], AbstractAsyncContextManager[AsyncSession]],
        apply: Callable[[AsyncSession, Sequence[Item]], Awaitable[Sequence[Result]]],
        *,
        limit: int = BATCH_LIMIT,
    ) -> None:
        self._begin = begin
        self._apply = apply
        self._limit = limit
        self._waiting: list[tuple[Item, asyncio.Future[Result]]] = []
        self._writer: asyncio.Task[None] | None = None

    async def submit(self, item: Item) -> Result:
        future: asyncio.Future[Result] = asyncio.get_running_loop().create_future()
        self._waiting.append((item, future))
        if self._writer is None or self._writer.done():
            # An empty context: the writer works for every request of its batches, so it
            # must not log under the request id of the one that happened to start it.
            self._writer = asyncio.create_task(self._write(), context=contextvars.Context())
        # A request cancelled here (its client went away) leaves its item in the batch:
        # committed or not, SNS retries a message it got no 200 for, and the retry is
        # then a duplicate or the first time.
        return await future

    async def _write(self) -> None:
        while self._waiting:
            batch = self._waiting[: self._limit]
            del self._waiting[: self._limit]
            try:
                await self._commit(batch)
            except BaseException as err:
                # Cancelled (shutdown): no waiting request may hang for ever.
                for _, future in batch + self._waiting:
                    _fail(future, err)
                self._waiting.clear()
                raise

    async def _commit(self, batch: list[tuple[Item, asyncio.Future[Result]]]) -> None:
        try:
            async with self._begin() as session:
                results = await self._apply(session, [item for item, _ in batch])
        except DatabaseUnavailable as err:
            if err.conflict and len(batch) > 1:
                # A deadlock with another writer: the database is there, so each item
                # goes again on its own (and a victim again gets its 503, SNS retries).
                for one in batch:
                    await self._commit([one])
                return
            for _, future in batch:
                _fail(future, err)
            return
        except Exception as err:
            if len(batch) == 1:
                _fail(batch[0][1], err)
                return
            for one in batch:
                await self._commit([one])
            return
        for (_, future), result in zip(batch, results, strict=True):
            if not future.done():
                future.set_result(result)


def _fail(future: asyncio.Future[Result], err: BaseException) -> None:
    if not future.done():
        if isinstance(err, asyncio.CancelledError):
            future.cancel()
        else:
            future.set_exception(err)
