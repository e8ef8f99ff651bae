"""``bouncer aws doctor --simulate``: the mailbox-simulator round trip the usual guides
tell people to try by hand. One message to each of SES's simulator addresses goes out
through bouncer's send wrapper, then the event history is watched, for a bounded time,
for the event SES answers each with; which arrived and which did not are findings.

https://docs.aws.amazon.com/ses/latest/dg/send-an-email-from-console.html#send-email-simulator
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass

from app.activity import event_log
from app.aws_wiring.findings import CheckName, Finding, error, info, warning
from app.db import Database
from app.errors import AllRecipientsSuppressed, SesRejected
from app.sending import SesSender, Sleep
from app.ses.request import SendRequest
from app.vocabulary import EventType

# Each simulator address and the event SES answers a message to it with.
SIMULATOR = {
    "success@simulator.amazonses.com": EventType.DELIVERY,
    "bounce@simulator.amazonses.com": EventType.BOUNCE,
    "complaint@simulator.amazonses.com": EventType.COMPLAINT,
    "suppressionlist@simulator.amazonses.com": EventType.BOUNCE,
}
ACTOR = "aws doctor"
POLL_SECONDS = 0.5


@dataclass(frozen=True)
class Sent:
    address: str
    expected: EventType
    message_id: str


async def simulate(
    sender: SesSender,
    database: Database,
    *,
    from_address: str,
    wait: float,
    clock: Callable[[], float] = time.monotonic,
    sleep: Sleep = asyncio.sleep,
) -> list[Finding]:
    """Send to each simulator address, then wait at most ``wait`` seconds for the events."""
    found: list[Finding] = []
    sent: list[Sent] = []
    for address, expected in SIMULATOR.items():
        request = SendRequest.model_validate(
            {
                "from": from_address,
                "to": [address],
                "subject": "bouncer aws doctor --simulate",
                "text": f"A test of SES's feedback to bouncer: SES answers this with a {expected}.",
            }
        )
        try:
            result = await sender.send(request, actor=ACTOR)
        except AllRecipientsSuppressed:
            found.append(
                info(
                    CheckName.SIMULATE,
                    address,
                    f"{address} is on bouncer's suppression list (an earlier simulation's "
                    f"{expected.lower()} arrived, most likely), so it was not sent to",
                    f"bouncer suppressions remove {address}, then simulate again",
                )
            )
        except SesRejected as err:
            found.append(
                error(
                    CheckName.SIMULATE, address, f"SES refused the send to {address}: {err.message}"
                )
            )
        else:
            sent.append(Sent(address, expected, result.message_id))
    arrived = await _wait_for(database, sent, wait=wait, clock=clock, sleep=sleep)
    return found + [_outcome(one, arrived.get(one.message_id, set()), wait) for one in sent]


async def _wait_for(
    database: Database,
    sent: list[Sent],
    *,
    wait: float,
    clock: Callable[[], float],
    sleep: Sleep,
) -> dict[str, set[str]]:
    deadline = clock() + wait
    ids = [one.message_id for one in sent]
    while True:
        async with database.read() as session:
            arrived = await event_log.types_by_message(session, ids)
        done = all(one.expected in arrived.get(one.message_id, set()) for one in sent)
        left = deadline - clock()
        if done or left <= 0:
            return arrived
        await sleep(min(POLL_SECONDS, left))


def _outcome(one: Sent, arrived: set[str], wait: float) -> Finding:
    where = f"{one.address} (SES message id {one.message_id})"
    if one.expected in arrived:
        return info(
            CheckName.SIMULATE, one.address, f"the {one.expected} event for {where} arrived"
        )
    missing = f"no {one.expected} event for {where} within {wait:g} s"
    if one.expected is EventType.DELIVERY:
        return warning(
            CheckName.SIMULATE,
            one.address,
            f"{missing}: deliveries may not be published to bouncer, or are slow",
        )
    return error(
        CheckName.SIMULATE,
        one.address,
        f"{missing}: SES's feedback does not reach bouncer (or took longer: --wait)",
    )
