"""Prometheus metrics: defined once per process, rendered at GET /metrics."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

REQUEST_LATENCY = Histogram(
    "bouncer_http_request_duration_seconds",
    "Time to answer an HTTP request, by route template, method and status.",
    ["route", "method", "status"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)

SNS_MESSAGES = Counter(
    "bouncer_sns_messages_total",
    "SNS messages received at /sns, by SNS message type and outcome.",
    ["type", "outcome"],
)

SNS_REFUSALS = Counter(
    "bouncer_sns_refusals_total",
    "SNS messages refused, by cause (signature, certificate, topic, expired, malformed, ...).",
    ["cause"],
)

SES_EVENTS = Counter(
    "bouncer_ses_events_total",
    "SES events recorded (after de-duplication), by event type.",
    ["type"],
)

SUPPRESSIONS_ADDED = Counter(
    "bouncer_suppressions_added_total",
    "Addresses added to the suppression list, by reason.",
    ["reason"],
)

SENDS = Counter(
    "bouncer_sends_total",
    "Send attempts through the wrapper, by outcome (sent, partial, all_suppressed, ses_error).",
    ["outcome"],
)

# SPEC §8: `bouncer consume`. ``queue`` is the queue's name (the last part of its URL).
SQS_MESSAGES = Counter(
    "bouncer_sqs_messages_total",
    "Messages received from SQS, by queue and outcome (processed, duplicate, confirmed, "
    "pending, unsubscribed, refused, retry; unavailable: the database failed the batch; "
    "error: the batch failed otherwise, see the log).",
    ["queue", "outcome"],
)

SQS_BATCH_LATENCY = Histogram(
    "bouncer_sqs_batch_duration_seconds",
    "Time from receiving a batch of SQS messages to deleting what it took, by queue.",
    ["queue"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)

SQS_QUEUE_LAG = Gauge(
    "bouncer_sqs_queue_lag_seconds",
    "Now minus the oldest SentTimestamp of the queue's last batch: how far behind it is "
    "(0 once a receive finds the queue empty).",
    ["queue"],
)

SQS_ERRORS = Counter(
    "bouncer_sqs_errors_total",
    "SQS calls that failed, and messages a DeleteMessageBatch left, by queue, action and code.",
    ["queue", "action", "code"],
)

# SPEC §10: each try of a webhook delivery, counted once its outcome is recorded.
WEBHOOK_TRIES = Counter(
    "bouncer_webhook_tries_total",
    "Webhook delivery tries, by outcome (delivered: a 2xx; retry: none, tried again later; "
    "failed: none, and out of retries; unrecorded: the database did not take the outcome, "
    "so the delivery is tried again once its lease ends).",
    ["outcome"],
)
