"""Many SES events in one transaction, each with the effect it would have alone.

The ingest's group commit and the SQS consumer hand over what arrived together; this
applies it in a handful of statements instead of a handful per event. An event whose
addresses no other event of the batch names ("alone") is applied with the others like it:
its history row in one INSERT for all, the soft-bounce locks, histories and entries read
for all at once, its decision made exactly as ``apply_event`` makes it (the same pure
policy on the same state, since no other event of the batch can touch that state), and the
new entries written together. The rest (an address named twice in the batch, an event
without recipients) go through ``apply_event`` one by one, in batch order, afterwards: the
two sets share no address, so their order between them changes nothing.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from app.activity import event_log
from app.addresses import Address
from app.feedback.event import Applied, Target, apply_targets, event_record, targets_of
from app.ses.events import SesEvent
from app.suppression import entry_batches, entry_store, policy, recipient_state
from app.suppression.effects import Effects, Insert, Update, Write


@dataclass(frozen=True, slots=True)
class Notice:
    """One SES event to apply, with the MessageId of the SNS message that carried it."""

    event: SesEvent
    sns_message_id: str


@dataclass(slots=True)
class _Row:
    """One recipient of an event that is alone in the batch, on its way through."""

    applied: Applied
    notice: Notice
    target: Target
    record: event_log.EventRecord
    verdict: policy.Verdict


async def apply_batch(
    session: AsyncSession, notices: Sequence[Notice], *, rules: policy.Rules, now: datetime
) -> list[Applied]:
    """Apply every notice inside the caller's transaction; what each did, in order."""
    applied = [Applied() for _ in notices]
    parsed = [targets_of(notice.event, applied[i]) for i, notice in enumerate(notices)]
    named = Counter(address.normalized for targets in parsed for address, _ in targets)
    alone: list[_Row] = []
    crowded: list[int] = []
    for i, (notice, targets) in enumerate(zip(notices, parsed, strict=True)):
        # A batch of one (a quiet moment) takes apply_event's way: on PostgreSQL a new
        # entry and its change line are one statement there, two here.
        single = len(notices) == 1
        if (
            single
            or not notice.event.recipients
            or any(named[a.normalized] > 1 for a, _ in targets)
        ):
            crowded.append(i)
            continue
        for target in targets:
            record = event_record(notice.event, *target, notice.sns_message_id)
            verdict = policy.Verdict(record.verdict)
            alone.append(_Row(applied[i], notice, target, record, verdict))
    await _apply_alone(session, alone, rules=rules, now=now)
    for i in crowded:
        notice = notices[i]
        await apply_targets(
            session,
            notice.event,
            parsed[i],
            applied[i],
            sns_message_id=notice.sns_message_id,
            rules=rules,
            now=now,
        )
    return applied


async def _apply_alone(
    session: AsyncSession, rows: list[_Row], *, rules: policy.Rules, now: datetime
) -> None:
    # One order for every lock the batch takes (history keys, state rows, entries): two
    # transactions naming the same addresses then wait in turn, never in a cycle.
    rows.sort(key=lambda row: row.target[0].normalized)
    new = await event_log.record_many(
        session,
        [(row.notice.event, row.notice.sns_message_id, row.record) for row in rows],
        now=now,
    )
    fresh: list[_Row] = []
    for row in rows:
        if row.record.dedupe_key in new:
            row.applied.recorded += 1
            if row.verdict in policy.STATEFUL:
                fresh.append(row)
        else:
            row.applied.duplicates += 1
    states = await _states(session, fresh, rules=rules, now=now)
    effects = [_decide(row, states.get(row.target[0].normalized), rules, now) for row in fresh]
    await recipient_state.save_soft_bounces_many(
        session,
        [
            (row.target[0].normalized, effect.soft_bounces)
            for row, effect in zip(fresh, effects, strict=True)
            if effect.soft_bounces is not None
        ],
    )
    inserts = [effect.write for effect in effects if isinstance(effect.write, Insert)]
    added = await entry_batches.insert_many(session, inserts, now=now)
    for row, effect in zip(fresh, effects, strict=True):
        write = effect.write
        if write is None:
            continue
        if not (isinstance(write, Insert) and write.entry.email in added):
            # An Update or a Lift, carried out here; or an INSERT that met an entry another
            # writer added since: read it, decide again.
            write = await _settle_one(session, row, write, states, rules=rules, now=now)
        if isinstance(write, Insert | Update):
            row.applied.suppressed.append(write.entry.email)
            row.applied.reasons.append(write.entry.reason)


async def _states(
    session: AsyncSession, rows: list[_Row], *, rules: policy.Rules, now: datetime
) -> dict[str, policy.State]:
    """The state of each address whose verdict counts, under its lock; a hard bounce or
    complaint is decided as for a new address first (most are, in a bounce storm), as
    ``apply_event`` does."""
    counted = [row.target[0].normalized for row in rows if row.verdict in policy.COUNTED]
    if not counted:
        return {}
    await recipient_state.lock_recipients(session, counted, now=now)
    histories = await event_log.soft_bounce_histories(session, counted, since=rules.horizon(now))
    entries = await entry_batches.currents(session, counted)
    return {email: policy.State(entries.get(email), *histories[email]) for email in counted}


def _decide(row: _Row, state: policy.State | None, rules: policy.Rules, now: datetime) -> Effects:
    address, recipient = row.target
    return policy.decide(
        row.notice.event, recipient, address, state or policy.State(), rules=rules, now=now
    )


async def _settle_one(
    session: AsyncSession,
    row: _Row,
    write: Write | None,
    states: dict[str, policy.State],
    *,
    rules: policy.Rules,
    now: datetime,
) -> Write | None:
    address: Address = row.target[0]
    state = states.get(address.normalized) or policy.State()

    def decide(found: policy.Current | None) -> Write | None:
        return _decide(row, replace(state, entry=found), rules, now).write

    if isinstance(write, Insert):
        # Its INSERT met an entry: decide again on the entry as it is now.
        write = decide(await entry_store.current(session, address.normalized))
    return await entry_store.settle(session, address.normalized, write, decide, now=now)
