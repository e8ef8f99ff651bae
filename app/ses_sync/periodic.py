"""The service's periodic sync pass (SES_SYNC=pull|both, SES_SYNC_INTERVAL_SECONDS > 0).

Every replica runs this loop; the pass's own lock lets one of them work at a time and
the others skip their turn. Jittered, so replicas started together do not all knock at
once; SES is called from threads and no transaction is held meanwhile, so requests are
never kept waiting by it.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable

from app.errors import BouncerError, SyncBusy
from app.ses_sync.sync import SesSync

log = logging.getLogger("bouncer.ses_sync")

# The first pass comes soon after start (a new deployment wants its drift gone), but
# not at once: within this many seconds, or the interval if that is shorter.
FIRST_PASS_WITHIN = 30.0
JITTER = 0.1  # each wait is the interval ± 10 %


async def run_periodically(
    ses_sync: SesSync,
    *,
    interval: float,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    rng: random.Random | None = None,
) -> None:
    """Runs until cancelled; a failed pass is logged and the next one comes on time."""
    chance = rng or random.Random()  # noqa: S311  (spreading replicas out, not secrecy)
    await sleep(chance.uniform(0.5, 1.0) * min(interval, FIRST_PASS_WITHIN))
    while True:
        await _one_pass(ses_sync)
        await sleep(interval * chance.uniform(1 - JITTER, 1 + JITTER))


async def _one_pass(ses_sync: SesSync) -> None:
    try:
        report = await ses_sync.run_pass(wait=False)
    except SyncBusy:
        log.debug("SES sync: another replica is running the pass; skipping this turn")
        return
    except BouncerError as err:
        log.warning("SES sync pass failed: %s", err.message, extra={"cause": err.cause})
        return
    except Exception:  # the loop must outlive any one pass; the next one may succeed
        log.exception("SES sync pass failed")
        return
    for region in report.regions:
        done = region.as_dict()
        level = logging.WARNING if done.get("failed") or done.get("error") else logging.INFO
        log.log(level, "SES sync pass %s", region.region, extra={"sync": done})
