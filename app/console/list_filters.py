"""The list page's filter form: what an operator typed, read into app.suppression.listing's
Filters, and what is wrong with each field, named by the label the form shows."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from app import moments
from app.addresses import MAX_LENGTH
from app.suppression import listing, policy

FIELDS = ("reason", "domain", "since", "until", "q", "include_expired")
LABELS = {
    "reason": "Reason",
    "domain": "Domain",
    "since": "Created since",
    "until": "Created until",
    "q": "Address starts with",
    "include_expired": "Include expired",
    "cursor": "Next page",
}
# RFC 1035 §2.3.4 (and RFC 5321 §4.5.3.1.2): no domain name is longer.
_MAX_DOMAIN = 253
# What listing.encode_cursor writes is ~100 characters for the longest address; the API's
# own cap (GET /v1/suppressions) is the same.
_MAX_CURSOR = 2000
_DATE_ONLY = re.compile(r"\d{4}-\d{2}-\d{2}")
_CHECKED = frozenset({"1", "on", "true", "yes"})
_UNCHECKED = frozenset({"", "0", "off", "false", "no"})


@dataclass(frozen=True)
class FilterForm:
    values: dict[str, str]  # every field as typed (stripped), "" when left empty
    filters: listing.Filters
    cursor: str | None
    problems: list[tuple[str, str]] = field(default_factory=list)  # (field, what is wrong)

    def input_type(self, name: str) -> str:
        """``date`` for a date field empty or holding a day; else ``text``: a browser empties
        a date input whose value is not YYYY-MM-DD (HTML's value sanitization), and would
        hide a bound the page filters by (a time from a link) or one it refuses."""
        value = self.values[name]
        refused = any(field == name for field, _ in self.problems)
        return "date" if not value or (_DATE_ONLY.fullmatch(value) and not refused) else "text"

    def query(self) -> dict[str, str]:
        """The filters as a query string keeps them (the next page's link), empty ones out."""
        return {name: value for name, value in self.values.items() if value}


def read_filters(params: Mapping[str, str]) -> FilterForm:
    """The form's fields read and checked; a field that is wrong is named in ``problems``
    (the page is then not queried at all). The domain and the cursor are checked by
    listing.page itself, the one place their rules live (it raises InvalidInput naming
    the field)."""
    values = {name: (params.get(name) or "").strip() for name in FIELDS}
    problems: list[tuple[str, str]] = []

    def moment(name: str) -> datetime | None:
        if not values[name]:
            return None
        try:
            return moments.parse_moment(values[name])
        except ValueError as err:
            problems.append((name, str(err)))
            return None

    since = moment("since")
    until = moment("until")
    if until is not None and _DATE_ONLY.fullmatch(values["until"]):
        # A date picker's "Created until 2026-12-01" means through the end of that day (an
        # operator who picks the same day twice wants that day's entries), while listing's
        # ``until`` is exclusive: the bound is the start of the next day, UTC (SPEC §4: a
        # date without an offset is UTC). Until 9999-12-31 has no next day: no bound.
        try:
            until += timedelta(days=1)
        except OverflowError:
            until = None
    if since is not None and until is not None and since >= until:
        problems.append(("until", "it is not after Created since: no entry could match"))

    if values["reason"] and values["reason"] not in policy.REASONS:
        # listing.page refuses it too; checked here as well so that every wrong field is
        # named at once.
        problems.append(("reason", f"use one of {', '.join(policy.REASONS)}"))

    q = values["q"]
    if len(q) > MAX_LENGTH:
        problems.append(("q", f"no address is longer than {MAX_LENGTH} characters"))
    elif "\x00" in q:
        problems.append(("q", "it contains a NUL character (U+0000)"))
    if len(values["domain"]) > _MAX_DOMAIN:
        problems.append(("domain", f"no domain is longer than {_MAX_DOMAIN} characters"))

    include = values["include_expired"].lower()
    if include not in _CHECKED | _UNCHECKED:
        problems.append(("include_expired", "tick the box or leave it empty"))

    cursor = (params.get("cursor") or "").strip() or None
    if cursor is not None and len(cursor) > _MAX_CURSOR:
        problems.append(("cursor", "this page link is not one the console made: start again"))
        cursor = None

    problems.sort(key=lambda problem: list(LABELS).index(problem[0]))  # in the form's order
    filters = listing.Filters(
        reason=values["reason"] or None,
        domain=values["domain"] or None,
        since=since,
        until=until,
        q=q or None,
        include_expired=include in _CHECKED,
    )
    return FilterForm(values, filters, cursor, problems)
