"""What bouncer kept of SNS: the messages it accepted (messages) and the topics'
subscriptions (subscriptions), one module per table, written in units of work that an
outage turns into 503 (unit_of_work)."""
