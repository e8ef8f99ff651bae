"""How far bouncer's list and one region's SES list are apart (SPEC §7): the words a plan
reports drift in, and the counts and samples it sums them to. Pure, as app.suppression.ses_plan."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from enum import StrEnum
from itertools import chain, zip_longest
from typing import Any

from app.vocabulary import Reason

MAX_SAMPLES = 10


class DriftKind(StrEnum):
    ONLY_IN_BOUNCER = "only_in_bouncer"  # an active, lasting bounce/complaint SES lacks
    ONLY_IN_SES = "only_in_ses"  # an SES entry bouncer lacks (remembered removals excepted)
    REASON_DIFFERS = "reason_differs"  # held on both sides, for different reasons


@dataclass(frozen=True)
class DriftSample:
    email: str  # the key
    kind: DriftKind
    bouncer_reason: Reason | None
    ses_reason: Reason | None  # in bouncer's words: bounce, complaint


@dataclass(frozen=True)
class Drift:
    """How far the two lists are apart (SPEC §7), whatever the direction.

    A pass in ``both`` takes ``only_in_bouncer`` and ``only_in_ses`` to zero;
    ``reason_differs`` stays, since neither side's reason is ever overwritten. Entries
    in ``Plan.invalid`` are counted nowhere: no pass can bring them in."""

    only_in_bouncer: int
    only_in_ses: int
    reason_differs: int
    samples: tuple[DriftSample, ...]

    def as_dict(self) -> dict[str, Any]:
        """SPEC §7's shape: the counts, and ``samples`` as ``{"email", "kind",
        "bouncer_reason", "ses_reason"}`` (the words are StrEnums: they are strings)."""
        return asdict(self) | {"samples": [asdict(sample) for sample in self.samples]}


def summed(found: Mapping[DriftKind, list[DriftSample]]) -> Drift:
    """Counts, and up to MAX_SAMPLES samples taken from each kind in turn (each kind's
    sorted by address), so one large kind does not hide the others."""
    ordered = [found.get(kind, []) for kind in DriftKind]
    turns = chain.from_iterable(zip_longest(*ordered))
    samples = tuple(sample for sample in turns if sample is not None)[:MAX_SAMPLES]
    return Drift(
        only_in_bouncer=len(found.get(DriftKind.ONLY_IN_BOUNCER, [])),
        only_in_ses=len(found.get(DriftKind.ONLY_IN_SES, [])),
        reason_differs=len(found.get(DriftKind.REASON_DIFFERS, [])),
        samples=samples,
    )
