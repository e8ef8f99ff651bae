"""What bouncer keeps of the SNS traffic itself: messages received and subscriptions seen."""
