"""One SNS POST, end to end (``Ingest``); notifications committed in groups."""

from app.ingest.receiving import Ingest, Outcome

__all__ = ["Ingest", "Outcome"]
