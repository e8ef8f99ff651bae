"""Wiring SES to bouncer in AWS (SPEC §11): ``bouncer aws setup`` does the console steps,
``bouncer aws doctor`` checks them (``doctor_*``, ``findings``, ``simulate``: read only).

``names`` is what bouncer's wiring is: topic names from the prefix, the topic policy, the
subscription's delivery policy and which event types go where (pure). ``setup_*`` reads
what an account has, compares it with that and applies only the differences.

No database: wiring AWS needs none, and a newcomer runs it before bouncer has one.
"""
