"""What the app keeps between the lifespan, the middleware and the routes: its services,
and the caller the middleware authenticated."""

from __future__ import annotations

from typing import TYPE_CHECKING

from starlette.applications import Starlette
from starlette.types import Scope

from app.access import Principal

if TYPE_CHECKING:
    # Only a type: importing the middleware does not import every service.
    from app.services import Services

# request.state.principal: set by RequireToken, read by ReadAccess and WriteAccess.
PRINCIPAL = "principal"


def services_of(app: Starlette) -> Services:
    """The services the lifespan built: the one place they are fetched from."""
    services: Services = app.state.services
    return services


def set_principal(scope: Scope, principal: Principal) -> None:
    # Each request has a state of its own (ASGI: a copy of the lifespan's, if any).
    scope.setdefault("state", {})[PRINCIPAL] = principal
