"""What bouncer kept of SNS: the messages it accepted (messages) and the topics'
subscriptions (subscriptions), one module per table."""
