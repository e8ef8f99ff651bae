"""Turn one SES event into history rows and suppression changes, exactly once per recipient."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from app.activity import event_log as history
from app.addresses import Address, InvalidAddress, parse_address
from app.db import storable
from app.models import SES_MESSAGE_ID_LENGTH
from app.ses.events import SesEvent, SesRecipient
from app.suppression import policy, store

log = logging.getLogger("bouncer.events")

# Verdicts that read or change an address's state, and so take its lock.
_STATEFUL = frozenset(
    {
        policy.Verdict.HARD_BOUNCE,
        policy.Verdict.SOFT_BOUNCE,
        policy.Verdict.COMPLAINT,
        policy.Verdict.UNSUBSCRIBE,
        policy.Verdict.DELIVERY,
    }
)


@dataclass
class Applied:
    """What one SES event did: new history rows, duplicates skipped, addresses suppressed.

    The caller counts it in the metrics once its transaction has committed.
    """

    recorded: int = 0
    duplicates: int = 0
    suppressed: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    # The reason of each entry added or updated, in the order of ``suppressed``.
    reasons: list[str] = field(default_factory=list)


async def apply_event(
    session: AsyncSession,
    event: SesEvent,
    *,
    sns_message_id: str,
    rules: policy.Rules,
    now: datetime,
) -> Applied:
    applied = Applied()
    targets: list[tuple[Address, SesRecipient]] = []
    for recipient in event.recipients:
        try:
            targets.append((parse_address(recipient.email), recipient))
        except InvalidAddress as err:
            # Not an address: reported, never stored.
            log.warning("skipped SES recipient %r: %s", recipient.email[:100], err)
            applied.skipped.append(recipient.email)
    if not event.recipients:
        await _record_without_recipient(session, event, sns_message_id, now, applied)
        return applied
    # A fixed lock order (sorted addresses) so two events naming the same recipients
    # in another order cannot deadlock each other across replicas.
    targets.sort(key=lambda target: target[0].normalized)
    rows = [
        _event_record(event, address, recipient, sns_message_id) for address, recipient in targets
    ]
    # One INSERT for every recipient's history row; only the new ones go on.
    new = await history.record(session, event, rows, sns_message_id=sns_message_id, now=now)
    applied.duplicates += len(rows) - len(new)
    for (address, recipient), row in zip(targets, rows, strict=True):
        if row.dedupe_key not in new:
            continue
        applied.recorded += 1
        verdict = policy.Verdict(row.verdict)
        if verdict in _STATEFUL:
            await _settle(session, event, address, recipient, verdict, rules, now, applied)
    return applied


async def _record_without_recipient(
    session: AsyncSession, event: SesEvent, sns_message_id: str, now: datetime, applied: Applied
) -> None:
    row = history.EventRecord(
        dedupe_key=history.dedupe_key(event, None, sns_message_id=sns_message_id),
        email=None,
        email_display=None,
        status=None,
        diagnostic_code=None,
        verdict=policy.Verdict.RECORD_ONLY.value,
    )
    if await history.record(session, event, [row], sns_message_id=sns_message_id, now=now):
        applied.recorded += 1
    else:
        applied.duplicates += 1


def _event_record(
    event: SesEvent, address: Address, recipient: SesRecipient, sns_message_id: str
) -> history.EventRecord:
    return history.EventRecord(
        dedupe_key=history.dedupe_key(event, address.normalized, sns_message_id=sns_message_id),
        email=address.normalized,
        email_display=address.display,
        status=recipient.status,
        diagnostic_code=recipient.diagnostic_code,
        verdict=policy.classify(event, recipient).value,
    )


async def _settle(
    session: AsyncSession,
    event: SesEvent,
    address: Address,
    recipient: SesRecipient,
    verdict: policy.Verdict,
    rules: policy.Rules,
    now: datetime,
    applied: Applied,
) -> None:
    """What a new event means for its address's entry."""
    if verdict in (policy.Verdict.SOFT_BOUNCE, policy.Verdict.DELIVERY):
        # Counting reads the address's history, so it runs under the address's lock;
        # a hard bounce or complaint only writes its entry, which store.put makes safe
        # against concurrent writers by itself.
        await store.lock_recipient(session, address.normalized, now=now)
        await _settle_soft_bounces(session, event, address, recipient, rules, now, applied)
        return
    reason = policy.PERMANENT_REASON[verdict]
    entry = _entry(event, address, recipient, reason=reason, expires_at=None)
    change = await store.put(session, entry, actor="sns", now=now, replace_active=False)
    if change != "unchanged":
        applied.suppressed.append(address.normalized)
        applied.reasons.append(reason)


async def _settle_soft_bounces(
    session: AsyncSession,
    event: SesEvent,
    address: Address,
    recipient: SesRecipient,
    rules: policy.Rules,
    now: datetime,
    applied: Applied,
) -> None:
    """Recount the address's soft bounces from its history and settle its entry."""
    # Older events cannot make a suppression that would still be in force.
    horizon = now - timedelta(days=rules.soft_bounce_window_days + rules.soft_bounce_suppress_days)
    bounces, deliveries = await store.soft_bounce_history(
        session, address.normalized, since=horizon
    )
    count, run = policy.soft_bounce_run(bounces, deliveries, rules=rules)
    await store.save_soft_bounce_state(
        session,
        address.normalized,
        count=count,
        last_soft_bounce_at=max(bounces, default=None),
        soft_reset_at=max(deliveries, default=None),
    )
    entry = None
    if run is not None and run.expires_at > now:
        entry = _entry(event, address, recipient, reason="soft_bounce", expires_at=run.expires_at)
    change = await store.settle_soft_bounce(session, entry, address.normalized, now=now)
    if change in ("added", "updated"):
        applied.suppressed.append(address.normalized)
        applied.reasons.append("soft_bounce")


def _entry(
    event: SesEvent,
    address: Address,
    recipient: SesRecipient,
    *,
    reason: str,
    expires_at: datetime | None,
) -> store.Entry:
    return store.Entry(
        email=address.normalized,
        display=address.display,
        reason=reason,
        source="sns",
        subtype=storable(event.subtype),
        diagnostic_code=storable(recipient.diagnostic_code),
        ses_message_id=storable(event.ses_message_id, limit=SES_MESSAGE_ID_LENGTH),
        feedback_id=storable(event.feedback_id),
        expires_at=expires_at,
    )
