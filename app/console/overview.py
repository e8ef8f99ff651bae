"""GET /console, the overview (SPEC §9): the bounce and complaint rates against the SES
review and pause levels, their daily charts, the list by reason and the subscriptions."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from fastapi import APIRouter, Request
from starlette.responses import Response

from app.activity import daily, stats
from app.api.state import services_of
from app.console import chart
from app.console.access import ViewerDep
from app.console.routing import ConsoleRoute
from app.console.templating import render
from app.models import Subscription
from app.services import Services
from app.suppression import entries, policy

router = APIRouter(prefix="/console", route_class=ConsoleRoute, include_in_schema=False)

WINDOW_NAMES = {"24h": "Last 24 hours", "7d": "Last 7 days", "30d": "Last 30 days"}


@dataclass(frozen=True)
class Overview:
    windows: Sequence[tuple[str, stats.Stats]]  # (row name, figures), 24 h first
    days: Sequence[daily.DayFigures]  # oldest first
    by_reason: Sequence[tuple[str, int]]  # every reason, zeros included
    subscriptions: Sequence[Subscription]


async def gather(services: Services, *, now: datetime) -> Overview:
    # One unit of work; the three windows and the days come from one tally, so they agree.
    async with services.database.session() as session:
        rates, days = await daily.overview(session, now=now)
        counts = await entries.count_by_reason(session, now=now)
    windows = [(WINDOW_NAMES[figures.window], figures) for figures in rates]
    subscriptions = await services.subscribing.list()
    return Overview(
        windows=windows,
        days=days,
        by_reason=[(reason, counts.get(reason, 0)) for reason in policy.REASONS],
        subscriptions=subscriptions,
    )


@router.get("")
async def overview(request: Request, viewer: ViewerDep) -> Response:
    figures = await gather(services_of(request.app), now=datetime.now(UTC))
    bounce = chart.line_chart(
        [(d.day, d.bounce_rate) for d in figures.days],
        review=stats.BOUNCE.review,
        pause=stats.BOUNCE.pause,
        what="bounce rate",
    )
    complaint = chart.line_chart(
        [(d.day, d.complaint_rate) for d in figures.days],
        review=stats.COMPLAINT.review,
        pause=stats.COMPLAINT.pause,
        what="complaint rate",
        digits=3,
    )
    return render(
        request,
        "overview.html",
        {
            "section": "overview",
            "figures": figures,
            "bounce_chart": bounce,
            "complaint_chart": complaint,
            "bounce_level": stats.BOUNCE,
            "complaint_level": stats.COMPLAINT,
            "percent_label": chart.percent_label,
            "day_label": chart.day_label,
        },
        viewer=viewer,
    )
