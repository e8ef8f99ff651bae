"""The suppression list: which addresses bouncer refuses to send to, and why."""
