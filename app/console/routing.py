"""The console's route class: an error is a page (or the sign-in form), never JSON."""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from app.console.access import SignInNeeded, renew_if_needed, sign_in_url
from app.console.templating import render
from app.errors import BouncerError

log = logging.getLogger("bouncer.console")


class ConsoleRoute(APIRoute):
    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def handle(request: Request) -> Response:
            try:
                response = await handler(request)
            except SignInNeeded as err:
                # 303: a POST that found its session gone comes back as a GET of the form.
                return RedirectResponse(sign_in_url(err.next_path), status_code=303)
            except BouncerError as err:
                return error_page(request, err.message, status_code=err.status_code)
            except RequestValidationError as err:
                return error_page(request, _first_problem(err), status_code=422)
            except HTTPException as err:
                # Starlette's form parser refusing a body (a part too large, too many
                # fields or files, not multipart at all): its fixed wording, as a page.
                return error_page(request, str(err.detail), status_code=err.status_code)
            return renew_if_needed(request, response)

        return handle


def error_page(request: Request, message: str, *, status_code: int) -> Response:
    response = render(
        request,
        "error.html",
        {"message": message, "status_code": status_code},
        status_code=status_code,
    )
    if status_code == 503:
        response.headers["Retry-After"] = "5"
    return response


def _first_problem(err: RequestValidationError) -> str:
    problems = err.errors()
    if not problems:
        return "the request is not valid"
    first = problems[0]
    field = ".".join(str(p) for p in first.get("loc", ()) if p not in ("query", "body", "path"))
    return f"{field}: {first.get('msg')}" if field else str(first.get("msg"))
