"""Amazon SES: the events it reports through SNS, and sending through it."""
