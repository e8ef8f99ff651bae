"""Review of issue #16: /readyz while the database is gone and the queue is quiet.

SPEC §8: "The database unreachable: the consumer stays up, deletes nothing, backs off and
retries; its health says not ready." The consumer learns of an outage only from a failed
batch, so with the database gone and no message arriving it stays "ready" for as long
as the queue is quiet (a night, a weekend): an orchestrator routes nothing differently,
and an operator's readiness alert never fires until the first bounce is already failing.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from app.settings import Settings
from tests.outages import unreachable_database
from tests.queue_consumer.conftest import (  # noqa: F401 (fixtures)
    Sqs,
    aws_env,
    consumer_settings,
    moto_endpoint,
    running_consumer,
    sqs,
)


async def test_not_ready_while_the_database_is_gone_and_the_queue_is_quiet(
    consumer_settings: Settings,  # noqa: F811
    sqs: Sqs,  # noqa: F811
    tmp_path: Path,
) -> None:
    url, _ = sqs.queue(visibility=1)
    gone = unreachable_database(consumer_settings.database_url, tmp_path)
    try:
        async with running_consumer(consumer_settings, [url], database=gone) as run:
            # Several long polls (SQS_WAIT_SECONDS=1) and back-off periods go by.
            await asyncio.sleep(3)
            assert run.consumer.not_ready() is not None, (
                "/readyz answers 200 ready while every database connection fails"
            )
    finally:
        await gone.dispose()
