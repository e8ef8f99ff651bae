"""The console's routes and assets, mounted on the web app by ``install``."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
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
