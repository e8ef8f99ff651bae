"""One SNS POST, end to end (``Ingest``); notifications committed in groups."""

from app.ingest.receiving import Ingest, Notification, Outcome, store_notifications

__all__ = ["Ingest", "Notification", "Outcome", "store_notifications"]
