"""The console's Jinja2 templates: autoescaped (addresses and diagnostics are attacker-controlled
text), with the filters every page uses."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse

from app.console.access import Viewer
from app.console.chart import rate_text

_TEMPLATES = Path(__file__).resolve().parent / "templates"

# Autoescape for every template (not only *.html): a template added later as *.j2 must not
# be the one place where a diagnostic line becomes markup. StrictUndefined turns a mistyped
# name into an error in the tests rather than an empty cell on the page.
_ENV = Environment(
    loader=FileSystemLoader(_TEMPLATES),
    autoescape=select_autoescape(default=True, default_for_string=True),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


def _when(moment: datetime | None) -> str:
    if moment is None:
        return "—"
    return moment.strftime("%Y-%m-%d %H:%M UTC")


def _percent(rate: float | None, digits: int = 2) -> str:
    return "—" if rate is None else rate_text(rate, digits)


_ENV.filters["when"] = _when
_ENV.filters["percent"] = _percent


def render(
    request: Request,
    template: str,
    context: dict[str, Any] | None = None,
    *,
    viewer: Viewer | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    """A page; ``viewer`` (who is signed in, their CSRF token; by default whoever get_viewer
    found for this request) feeds the layout's header, ``section`` in the context marks its
    link in the navigation."""
    shown = viewer or getattr(request.state, "console_viewer", None)
    values = {"request": request, "viewer": shown, "section": "", **(context or {})}
    html = _ENV.get_template(template).render(values)
    return HTMLResponse(html, status_code=status_code)
