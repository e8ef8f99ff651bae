"""SES events into history rows and suppression changes, exactly once per recipient:
one event (``apply_event``) or many in one transaction (``apply_batch``)."""

from app.feedback.batch import Notice, apply_batch
from app.feedback.event import Applied, apply_event

__all__ = ["Applied", "Notice", "apply_batch", "apply_event"]
