"""Taking SES events from queues and files (SPEC §8): the consumer's loop and replay."""
