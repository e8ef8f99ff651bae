"""Webhooks (SPEC §10): endpoints with their own secrets, and the change feed delivered
to them per the Standard Webhooks specification (https://www.standardwebhooks.com/)."""
