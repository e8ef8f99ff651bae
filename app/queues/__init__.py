"""Taking SES events from queues and files (SPEC §8): `bouncer consume`'s loop and
`bouncer replay`."""
