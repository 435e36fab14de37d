"""`/docs` (Swagger UI) and `/redoc` (ReDoc), with their scripts and styles served by the service.

FastAPI's own pages load them from a public CDN, a blank page on a network without the internet (a
county's government intranet). Here the pinned files of `docs_assets/` (their versions and licences in
its README, decision 0035) are served under `/docs/assets`, and every URL a page names is local and
carries the prefix the service is served under (the request's root path, ServedUnder). Swagger UI keeps
the bearer token given to its Authorize button across reloads; no online validator, no web fonts.
"""

from collections.abc import Callable
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

ASSETS_DIR = Path(__file__).parent / "docs_assets"
ASSETS_PATH = "/docs/assets"
FAVICON = f"{ASSETS_PATH}/swagger-ui/favicon-32x32.png"
SWAGGER_PARAMETERS = {
    "persistAuthorization": True,  # the token given to Authorize survives a reload of the page
    "validatorUrl": None,  # Swagger UI would otherwise send the document to an online validator
    "displayRequestDuration": True,
}


def install(app: FastAPI) -> None:
    """Serve the API pages and their assets (the app is created with docs_url=redoc_url=None)."""
    app.mount(ASSETS_PATH, StaticFiles(directory=ASSETS_DIR), name="docs-assets")
    openapi_url = app.openapi_url or "/openapi.json"

    @app.get("/docs", include_in_schema=False)
    async def swagger_ui(request: Request) -> HTMLResponse:
        local = _local(request)
        return get_swagger_ui_html(
            openapi_url=local(openapi_url),
            title=f"{app.title} - API",
            swagger_js_url=local(f"{ASSETS_PATH}/swagger-ui/swagger-ui-bundle.js"),
            swagger_css_url=local(f"{ASSETS_PATH}/swagger-ui/swagger-ui.css"),
            swagger_favicon_url=local(FAVICON),
            oauth2_redirect_url=None,
            swagger_ui_parameters=SWAGGER_PARAMETERS,
        )

    @app.get("/redoc", include_in_schema=False)
    async def redoc(request: Request) -> HTMLResponse:
        local = _local(request)
        return get_redoc_html(
            openapi_url=local(openapi_url),
            title=f"{app.title} - API",
            redoc_js_url=local(f"{ASSETS_PATH}/redoc/redoc.standalone.js"),
            redoc_favicon_url=local(FAVICON),
            with_google_fonts=False,
        )


def _local(request: Request) -> Callable[[str], str]:
    """A path of this service as the caller reaches it: under the prefix it is served under."""
    root = request.scope.get("root_path", "").rstrip("/")
    return lambda path: root + path
