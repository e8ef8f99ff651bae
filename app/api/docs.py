"""/docs: Swagger UI served by bouncer itself, so it works with no route to a CDN.

FastAPI's own /docs loads Swagger UI from cdn.jsdelivr.net: a blank page on a host
without Internet access, and a third party's script with the operator's token on the
page. The assets come from the swagger-ui-py package (Swagger UI 5, which reads the
OpenAPI 3.1 document FastAPI writes); ReDoc, which has no such package, is switched off.
"""

from __future__ import annotations

import importlib.util
from functools import cache
from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, Response

router = APIRouter(include_in_schema=False)

# The only files served, by name: nothing else of the package's folder is reachable.
_ASSETS = {
    "swagger-ui-bundle.js": "text/javascript",
    "swagger-ui.css": "text/css",
    "favicon-32x32.png": "image/png",
}


@cache
def _asset_dir() -> Path:
    # Found without importing swagger_ui, whose package imports Jinja2 and PyYAML.
    spec = importlib.util.find_spec("swagger_ui")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the swagger-ui-py package is missing: reinstall bouncer")
    return Path(next(iter(spec.submodule_search_locations))) / "static"


@router.get("/docs")
async def swagger_ui(request: Request) -> HTMLResponse:
    root = request.scope.get("root_path", "").rstrip("/")
    return get_swagger_ui_html(
        openapi_url=f"{root}{request.app.openapi_url}",
        title=f"{request.app.title} - API",
        swagger_js_url=f"{root}/docs/assets/swagger-ui-bundle.js",
        swagger_css_url=f"{root}/docs/assets/swagger-ui.css",
        swagger_favicon_url=f"{root}/docs/assets/favicon-32x32.png",
        swagger_ui_parameters={
            # Swagger UI otherwise sends the document to validator.swagger.io for a badge.
            "validatorUrl": None,
            # The token entered under "Authorize" survives a reload of the page.
            "persistAuthorization": True,
        },
    )


@router.get("/docs/assets/{name}")
async def asset(name: str) -> Response:
    media_type = _ASSETS.get(name)
    if media_type is None:
        return JSONResponse({"error": f"no asset {name!r}"}, status_code=404)
    return FileResponse(
        _asset_dir() / name,
        media_type=media_type,
        headers={"Cache-Control": "public, max-age=86400"},
    )
