"""Wiring SES to bouncer through SNS, done and checked: ``bouncer aws setup`` and
``bouncer aws doctor`` (SPEC §11)."""
