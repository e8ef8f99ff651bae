"""The console's routes and assets, mounted on the web app by ``install``."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from starlette.staticfiles import StaticFiles

from app.console import signing_in, subscriptions_page, transfer_page
from app.console.headers import ConsoleHeaders

_STATIC = Path(__file__).resolve().parent / "static"


def install(app: FastAPI) -> None:
    app.include_router(signing_in.router)
    app.include_router(transfer_page.router)
    app.include_router(subscriptions_page.router)
    app.mount("/console/static", StaticFiles(directory=_STATIC), name="console-static")
    app.add_middleware(ConsoleHeaders)
