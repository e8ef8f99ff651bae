"""The console's routes and assets, mounted on the web app by ``install``."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.staticfiles import StaticFiles

from app.console import (
    adding,
    address_page,
    listing_page,
    overview,
    signing_in,
    subscriptions_page,
    transfer_page,
)
from app.console.headers import ConsoleHeaders
from app.console.routing import error_page

_STATIC = Path(__file__).resolve().parent / "static"


def install(app: FastAPI) -> None:
    app.include_router(signing_in.router)
    app.include_router(overview.router)
    app.include_router(listing_page.router)
    app.include_router(address_page.router)
    app.include_router(adding.router)
    app.include_router(transfer_page.router)
    app.include_router(subscriptions_page.router)
    app.mount("/console/static", StaticFiles(directory=_STATIC), name="console-static")
    app.add_middleware(ConsoleHeaders)
    _answer_router_errors_with_pages(app)


# The router's own answers, before any console route runs (ConsoleRoute makes a route's
# errors pages): no such page, or a form's target opened as a page.
_ROUTER_ERRORS = {
    404: "there is no console page at this address",
    405: "this address does not answer a {method}: a form's target is not a page to open, "
    "and a page takes no form; go back and use the console's links and forms",
}


def _answer_router_errors_with_pages(app: FastAPI) -> None:
    """A 404 or 405 under /console is a page, as every other console error; elsewhere the
    handler installed before (the API's JSON) answers as it did."""
    api_handler = app.exception_handlers[HTTPException]

    async def handle(request: Request, err: Exception) -> Response:
        path = request.url.path
        in_console = path == "/console" or path.startswith("/console/")
        if not in_console or not isinstance(err, HTTPException):
            answer = api_handler(request, err)
            return answer if isinstance(answer, Response) else await answer
        message = _ROUTER_ERRORS.get(err.status_code, str(err.detail))
        message = message.replace("{method}", request.method)
        response = error_page(request, message, status_code=err.status_code)
        response.headers.update(err.headers or {})
        return response

    app.add_exception_handler(HTTPException, handle)
