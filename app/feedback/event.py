"""One SES event into history rows and suppression changes, exactly once per recipient."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from app.activity import event_log
from app.addresses import Address, InvalidAddress, parse_address
from app.ses.events import SesEvent, SesRecipient
from app.suppression import entry_store, policy, recipient_state
from app.suppression.effects import Insert, Update

log = logging.getLogger("bouncer.events")


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


Target = tuple[Address, SesRecipient]


async def apply_event(
    session: AsyncSession,
    event: SesEvent,
    *,
    sns_message_id: str,
    rules: policy.Rules,
    now: datetime,
) -> Applied:
    applied = Applied()
    targets = targets_of(event, applied)
    await apply_targets(
        session, event, targets, applied, sns_message_id=sns_message_id, rules=rules, now=now
    )
    return applied


def targets_of(event: SesEvent, applied: Applied) -> list[Target]:
    """The event's recipients that are addresses, in address order; the others are
    reported (logged, and in ``applied.skipped``), never stored."""
    targets: list[Target] = []
    for recipient in event.recipients:
        try:
            targets.append((parse_address(recipient.email), recipient))
        except InvalidAddress as err:
            log.warning("skipped SES recipient %r: %s", recipient.email[:100], err)
            applied.skipped.append(recipient.email)
    # A fixed lock order (sorted addresses) so two events naming the same recipients
    # in another order cannot deadlock each other across replicas.
    targets.sort(key=lambda target: target[0].normalized)
    return targets


async def apply_targets(
    session: AsyncSession,
    event: SesEvent,
    targets: list[Target],
    applied: Applied,
    *,
    sns_message_id: str,
    rules: policy.Rules,
    now: datetime,
) -> None:
    """Record and settle the event for ``targets`` (from ``targets_of``) into ``applied``."""
    if not event.recipients:
        await _record_without_recipient(session, event, sns_message_id, now, applied)
        return
    rows = [
        event_record(event, address, recipient, sns_message_id) for address, recipient in targets
    ]
    # One INSERT for every recipient's history row; only the new ones go on.
    new = await event_log.record(session, event, rows, sns_message_id=sns_message_id, now=now)
    applied.duplicates += len(rows) - len(new)
    for (address, recipient), row in zip(targets, rows, strict=True):
        if row.dedupe_key not in new:
            continue
        applied.recorded += 1
        verdict = policy.Verdict(row.verdict)
        if verdict in policy.STATEFUL:
            await _settle(session, event, address, recipient, verdict, rules, now, applied)


async def _record_without_recipient(
    session: AsyncSession, event: SesEvent, sns_message_id: str, now: datetime, applied: Applied
) -> None:
    row = event_log.EventRecord(
        dedupe_key=event_log.dedupe_key(event, None, sns_message_id=sns_message_id),
        email=None,
        email_display=None,
        status=None,
        diagnostic_code=None,
        verdict=policy.Verdict.RECORD_ONLY.value,
    )
    if await event_log.record(session, event, [row], sns_message_id=sns_message_id, now=now):
        applied.recorded += 1
    else:
        applied.duplicates += 1


def event_record(
    event: SesEvent, address: Address, recipient: SesRecipient, sns_message_id: str
) -> event_log.EventRecord:
    return event_log.EventRecord(
        dedupe_key=event_log.dedupe_key(event, address.normalized, sns_message_id=sns_message_id),
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
    """What a new event means for its address: read its state, decide, write."""
    email = address.normalized
    # A hard bounce or complaint is decided as for a new address first (most are, in a
    # bounce storm); the store reads the entry only when its INSERT meets one.
    state = policy.State()
    if verdict in policy.COUNTED:
        # Counting reads the address's history, so it runs under the address's lock.
        await recipient_state.lock_recipient(session, email, now=now)
        bounces, deliveries = await event_log.soft_bounce_history(
            session, email, since=rules.horizon(now)
        )
        state = policy.State(await entry_store.current(session, email), bounces, deliveries)

    def decide(found: policy.Current | None) -> policy.Effects:
        return policy.decide(
            event, recipient, address, replace(state, entry=found), rules=rules, now=now
        )

    effects = decide(state.entry)
    if effects.soft_bounces is not None:
        await recipient_state.save_soft_bounces(session, email, effects.soft_bounces)
    written = await entry_store.settle(
        session, email, effects.write, lambda found: decide(found).write, now=now
    )
    if isinstance(written, Insert | Update):
        applied.suppressed.append(email)
        applied.reasons.append(written.entry.reason)
