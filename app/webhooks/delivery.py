"""Delivering the change feed to the webhook endpoints (SPEC §10), one step at a time.

A step (``Deliverer.run_once``) is three kinds of unit of work, none held open across the
network: one places the committed events in the feed and fans them out into deliveries;
one claims the due deliveries, each with a lease that outlasts its try; then each claim
is tried (all at once, at most CONCURRENCY) and its outcome recorded in a transaction of
its own. A step that fails anywhere loses nothing: an unplaced event is placed by the
next step, and a claimed delivery whose outcome was not recorded is due again when its
lease ends (at least once: the receiver dedupes on ``webhook-id``).
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlsplit

import httpx

from app import metrics
from app.activity import change_feed
from app.db import Database
from app.errors import DatabaseUnavailable
from app.webhooks import webhook_store
from app.webhooks.endpoints import GIVE_UP_AFTER, retry_delay
from app.webhooks.signing import event_data
from app.webhooks.tries import TryResult, try_once
from app.webhooks.webhook_store import Claimed, TryOutcome

log = logging.getLogger("bouncer.webhooks")

# Tries in flight at once, per process: the claims of one step.
CONCURRENCY = 8
# A claimed delivery is due again this long after its try's time-out: time to record the
# outcome. Only a replica that died (or lost its database) mid-try waits it out.
LEASE_MARGIN = timedelta(seconds=30)
PRUNED = "the event is no longer kept (CHANGES_RETENTION_DAYS): it cannot be delivered"


@dataclass(frozen=True)
class DeliveryStep:
    """What one step did."""

    made: int  # deliveries made from newly placed events
    tried: int  # deliveries tried

    @property
    def busy(self) -> bool:
        """Whether more work may be waiting: the next step should not wait its turn."""
        return self.made > 0 or self.tried >= CONCURRENCY


class Deliverer:
    """Delivers due webhook deliveries; ``run_once`` is one step. One HTTP client for every
    try, reaching the network (``transport``: None) or what a test gives."""

    def __init__(
        self,
        database: Database,
        *,
        retry_seconds: float,
        timeout_seconds: float,
        clock: Callable[[], datetime],
        transport: httpx.AsyncBaseTransport | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.database = database
        self.clock = clock
        self.timeout_seconds = timeout_seconds
        self._retry_seconds = retry_seconds
        self._rng = rng or random.Random()  # noqa: S311  (spreading retries, not secrecy)
        self._lease = timedelta(seconds=timeout_seconds) + LEASE_MARGIN
        # No redirects: a 3xx is a failed try (tries.try_once).
        self._client = httpx.AsyncClient(
            timeout=timeout_seconds, follow_redirects=False, transport=transport
        )

    async def aclose(self) -> None:
        await self._client.aclose()

    async def run_once(self) -> DeliveryStep:
        """Fan out what is new, then try what is due. Raises DatabaseUnavailable when the
        database fails the fan-out or the claim; a try's outcome it cannot record is
        logged, and the delivery tried again after its lease."""
        async with self.database.session() as session:
            if not await webhook_store.any_endpoint(session):
                return DeliveryStep(0, 0)
            await change_feed.place(session)
            made = await webhook_store.fan_out(session, now=self.clock())
        now = self.clock()
        async with self.database.session() as session:
            claims = await webhook_store.claim_due(
                session, now=now, lease_until=now + self._lease, limit=CONCURRENCY
            )
        await asyncio.gather(*(self._deliver(claim) for claim in claims))
        return DeliveryStep(made, len(claims))

    async def _deliver(self, claim: Claimed) -> None:
        result = await self._try(claim)
        now = self.clock()
        outcome = TryOutcome(
            result.delivered,
            result.status_code,
            result.error,
            None if result.delivered or claim.event is None else self._next_try(claim, now),
        )
        _log_try(claim, outcome)
        try:
            async with self.database.session() as session:
                recorded = await webhook_store.record(session, claim, outcome, now=now)
        except DatabaseUnavailable as err:
            metrics.WEBHOOK_TRIES.labels("unrecorded").inc()
            log.warning(
                "webhook %s delivery %d: the outcome of attempt %d was not recorded (%s); "
                "it is tried again when its lease ends",
                claim.webhook_id,
                claim.delivery_id,
                claim.attempt,
                err.what_failed,
            )
            return
        except Exception:  # not an outage: a bug, logged; the lease brings it back
            metrics.WEBHOOK_TRIES.labels("unrecorded").inc()
            log.exception(
                "webhook %s delivery %d: recording attempt %d failed",
                claim.webhook_id,
                claim.delivery_id,
                claim.attempt,
            )
            return
        if not recorded:
            log.info(
                "webhook %s delivery %d: claimed again since attempt %d (its lease ran out); "
                "that attempt's outcome is not recorded",
                claim.webhook_id,
                claim.delivery_id,
                claim.attempt,
            )
            return
        metrics.WEBHOOK_TRIES.labels(_label(outcome)).inc()

    async def _try(self, claim: Claimed) -> TryResult:
        event = claim.event
        if event is None:
            return TryResult(False, None, PRUNED)
        try:
            return await try_once(
                self._client,
                claim.url,
                secret=claim.secret,
                event_id=event.uid,
                type_=str(event.type),
                at=event.at,
                data=event_data(event),
                sent_at=self.clock(),
                total_seconds=self.timeout_seconds,
            )
        except Exception as err:  # e.g. a URL httpx will not send to: a failed try
            return TryResult(False, None, f"not sent: {type(err).__name__}")

    def _next_try(self, claim: Claimed, now: datetime) -> datetime | None:
        """When to try again after this failed try; None: retries are over (SPEC §10:
        for 24 hours after the delivery was made)."""
        delay = retry_delay(claim.attempt, first=self._retry_seconds, rng=self._rng)
        next_try = now + timedelta(seconds=delay)
        return None if next_try > claim.first_due + GIVE_UP_AFTER else next_try


def _label(outcome: TryOutcome) -> str:
    if outcome.delivered:
        return "delivered"
    return "retry" if outcome.next_attempt_at is not None else "failed"


def where(url: str) -> str:
    """The URL as logs show it: scheme and host (and port), never its credentials, path
    or query, which may carry a token."""
    try:
        parts = urlsplit(url)
        host, port = parts.hostname or "?", parts.port
    except ValueError:
        return "?"
    host = f"[{host}]" if ":" in host else host
    return f"{parts.scheme}://{host}" + (f":{port}" if port is not None else "")


def _log_try(claim: Claimed, outcome: TryOutcome) -> None:
    """One line per try; never the secret, nor more of the URL than ``where`` shows."""
    label = _label(outcome)
    if label == "retry":
        then = f"; tried again at {outcome.next_attempt_at:%Y-%m-%dT%H:%M:%SZ}"
    else:
        then = "; out of retries: failed" if label == "failed" else ""
    log.log(
        logging.INFO if outcome.delivered else logging.WARNING,
        "webhook try to %s: %s%s",
        where(claim.url),
        outcome.error or f"answered {outcome.status_code}",
        then,
        extra={
            "webhook_id": claim.webhook_id,
            "delivery_id": claim.delivery_id,
            "event_id": claim.event.uid if claim.event is not None else None,
            "attempt": claim.attempt,
            "status_code": outcome.status_code,
            "outcome": label,
        },
    )
