"""Group commit: concurrent notifications share a transaction, each answered after it commits.

Through the real app (ASGI) and the real database: many notifications at once leave what
posting them one by one leaves; the same message twice at once is stored once; one item
that fails does not fail the others; an outage fails every waiting request with a 503.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from app import logs
from app.db import Database
from app.errors import DatabaseUnavailable
from app.ingest.group_commit import GroupCommit
from tests.batches import make_batch, post_in_order, snapshot
from tests.conftest import TOPIC, AppMaker
from tests.databases import DatabaseFactory
from tests.outages import unreachable_database
from tests.ses_payloads import bounce
from tests.signing import SnsSigner, post_args


async def test_concurrent_posts_leave_what_posts_in_order_leave(
    make_client: AppMaker, signer: SnsSigner, databases: DatabaseFactory
) -> None:
    envelopes = make_batch(signer, 300, topic_arn=TOPIC)
    clean_url, busy_url = databases.fresh(), databases.fresh()
    try:
        clean, _ = await make_client(DATABASE_URL=clean_url)
        await post_in_order(clean, envelopes)
        busy, app = await make_client(DATABASE_URL=busy_url)
        batches: list[int] = []
        commits = app.state.services.ingest._commits
        apply = commits._apply

        async def counting(session: AsyncSession, items: Sequence[object]) -> Sequence[object]:
            batches.append(len(items))
            applied: Sequence[object] = await apply(session, items)
            return applied

        commits._apply = counting
        answers = await asyncio.gather(
            *(busy.post("/sns", content=b, headers=h) for b, h in map(post_args, envelopes))
        )
        assert [a.status_code for a in answers] == [200] * len(envelopes)
        assert {a.json()["status"] for a in answers} == {"processed"}
        assert await snapshot(busy_url) == await snapshot(clean_url)
        # They were grouped: fewer transactions than notifications.
        assert sum(batches) == len(envelopes)
        assert len(batches) < len(envelopes) / 5
    finally:
        databases.release(clean_url)
        databases.release(busy_url)


async def test_the_same_message_twice_at_once_is_stored_once(
    make_client: AppMaker, signer: SnsSigner
) -> None:
    client, _ = await make_client()
    body, headers = post_args(make_batch(signer, 1, topic_arn=TOPIC)[0])
    answers = await asyncio.gather(
        *(client.post("/sns", content=body, headers=headers) for _ in range(5))
    )
    assert sorted(a.json()["status"] for a in answers) == ["duplicate"] * 4 + ["processed"]


async def test_an_outage_answers_every_waiting_request_503(
    make_client: AppMaker, signer: SnsSigner, database_url: str, tmp_path: Path
) -> None:
    client, app = await make_client()
    app.state.services.ingest.database = unreachable_database(database_url, tmp_path)
    try:
        answers = await asyncio.gather(
            *(
                client.post("/sns", content=b, headers=h)
                for b, h in map(post_args, make_batch(signer, 20, topic_arn=TOPIC))
            )
        )
    finally:
        await app.state.services.ingest.database.dispose()
    assert [a.status_code for a in answers] == [503] * 20
    assert all("SNS will retry" in a.json()["error"] for a in answers)


class TestOneItemFails:
    """A batch that fails for one item's sake is run again one item per transaction."""

    async def test_only_the_item_at_fault_gets_the_error(self, database_url: str) -> None:
        database = Database(database_url)
        await _make_table(database)

        async def apply(session: AsyncSession, items: Sequence[int]) -> list[int]:
            for item in items:
                if item == 13:
                    raise ValueError("unlucky")
                await session.execute(text("INSERT INTO scratch (n) VALUES (:n)"), {"n": item})
            return [item * 2 for item in items]

        commits: GroupCommit[int, int] = GroupCommit(database.session, apply)
        try:
            results = await asyncio.gather(
                *(commits.submit(n) for n in range(10, 20)), return_exceptions=True
            )
            assert [r for r in results if isinstance(r, Exception)] != []
            assert isinstance(results[3], ValueError)
            assert [r for i, r in enumerate(results) if i != 3] == [
                n * 2 for n in range(10, 20) if n != 13
            ]
            async with database.session() as session:
                stored = (await session.execute(text("SELECT n FROM scratch"))).scalars()
                assert sorted(stored) == [n for n in range(10, 20) if n != 13]
        finally:
            await database.dispose()

    async def test_an_outage_fails_the_whole_batch_at_once(self) -> None:
        """(Through the real app and an unreachable database: the 503 test above.)"""
        calls = 0

        async def apply(session: AsyncSession, items: Sequence[int]) -> list[int]:
            nonlocal calls
            calls += 1
            raise DatabaseUnavailable("OperationalError", retry_hint="retry")

        @asynccontextmanager
        async def no_database() -> AsyncIterator[Any]:
            yield None

        commits: GroupCommit[int, int] = GroupCommit(no_database, apply)
        results = await asyncio.gather(
            *(commits.submit(n) for n in range(8)), return_exceptions=True
        )
        assert all(isinstance(r, DatabaseUnavailable) for r in results)
        # Not retried one by one: SNS retries each message, so that would only wait longer.
        assert calls == 1


async def test_a_cancelled_writer_leaves_no_request_waiting() -> None:
    started = asyncio.Event()

    async def apply(session: AsyncSession, items: Sequence[int]) -> list[int]:
        started.set()
        await asyncio.sleep(3600)
        return list(items)

    @asynccontextmanager
    async def no_database() -> AsyncIterator[Any]:
        yield None  # what is cancelled here is the writer, not a session

    commits: GroupCommit[int, int] = GroupCommit(no_database, apply)
    waiting = [asyncio.ensure_future(commits.submit(n)) for n in range(3)]
    await started.wait()
    assert commits._writer is not None
    commits._writer.cancel()
    done, pending = await asyncio.wait(waiting, timeout=5)
    assert not pending
    assert all(task.cancelled() for task in done)


async def _make_table(database: Database) -> None:
    async with database.session() as session:
        await session.execute(text("CREATE TABLE scratch (n INTEGER PRIMARY KEY)"))


async def test_the_writer_logs_under_no_request_id(
    make_client: AppMaker, signer: SnsSigner
) -> None:
    """What the writer logs for a batch (a recipient that is no address) is not put down
    to whichever request happened to start the writer: the request id a log line gets is
    the one in force where it is emitted."""
    client, _ = await make_client()
    seen: list[tuple[str, str | None]] = []

    class Spy(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            seen.append((record.getMessage(), logs.request_id.get()))

    spy = Spy(logging.WARNING)
    events = logging.getLogger("bouncer.events")
    events.addHandler(spy)
    try:
        odd = signer.make_notification(bounce(["not an address"]), topic_arn=TOPIC)
        body, headers = post_args(odd)
        answer = await client.post("/sns", content=body, headers={**headers, "X-Request-ID": "r1"})
    finally:
        events.removeHandler(spy)
    assert answer.status_code == 200
    assert [rid for message, rid in seen if "skipped SES recipient" in message] == [None]


async def test_a_deadlocked_batch_goes_again_one_item_at_a_time() -> None:
    """A batch PostgreSQL picked as a deadlock's victim: the database is there, so each of
    its items is run again alone instead of all of them answering 503."""
    calls: list[list[int]] = []

    async def apply(session: AsyncSession, items: Sequence[int]) -> list[int]:
        calls.append(list(items))
        if len(items) > 1:
            raise DatabaseUnavailable("DBAPIError", conflict=True, retry_hint="retry")
        return [item * 2 for item in items]

    @asynccontextmanager
    async def no_database() -> AsyncIterator[Any]:
        yield None

    commits: GroupCommit[int, int] = GroupCommit(no_database, apply)
    results = await asyncio.gather(*(commits.submit(n) for n in range(4)))
    assert results == [0, 2, 4, 6]
    assert calls[0] == [0, 1, 2, 3]
    assert calls[1:] == [[0], [1], [2], [3]]


@pytest.mark.postgres
async def test_a_real_deadlock_is_a_503_conflict_not_a_500(database_url: str) -> None:
    """Two transactions locking two rows in opposite orders: PostgreSQL ends one of them,
    and bouncer's unit of work reports it as DatabaseUnavailable(conflict=True)."""
    database = Database(database_url)
    await _make_table(database)
    async with database.session() as session:
        await session.execute(text("INSERT INTO scratch (n) VALUES (1), (2)"))
    both_hold = asyncio.Barrier(2)

    async def lock(first: int, second: int) -> str:
        async with database.session() as session:
            await session.execute(text("UPDATE scratch SET n = n WHERE n = :n"), {"n": first})
            await both_hold.wait()
            await session.execute(text("UPDATE scratch SET n = n WHERE n = :n"), {"n": second})
        return "committed"

    try:
        outcomes = await asyncio.gather(lock(1, 2), lock(2, 1), return_exceptions=True)
    finally:
        await database.dispose()
    assert sorted(map(str, outcomes)).count("committed") == 1
    (victim,) = [o for o in outcomes if isinstance(o, BaseException)]
    assert isinstance(victim, DatabaseUnavailable)
    assert victim.conflict
    assert victim.status_code == 503
    assert "another writer held the same rows" in str(victim)
