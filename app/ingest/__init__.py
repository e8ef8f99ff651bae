"""One SNS POST, end to end (``Ingest``); notifications committed in groups; bodies from a
queue or a file (``QueueIngest``)."""

from app.ingest.queue_bodies import Unsigned, read_body
from app.ingest.queued import QueueIngest, Taken
from app.ingest.receiving import Ingest, Notification, Outcome, store_notifications

__all__ = [
    "Ingest",
    "Notification",
    "Outcome",
    "QueueIngest",
    "Taken",
    "Unsigned",
    "read_body",
    "store_notifications",
]
