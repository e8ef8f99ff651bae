"""What bouncer kept of SNS: the messages it accepted and the topics' subscriptions."""
