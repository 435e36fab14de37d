"""The console's own small process: the static UI, its configuration, the county's geography and, in
development only, a token for a chosen role and unit (as `make token` signs)."""

import hashlib
import json
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from console.settings import ConsoleSettings
from dispatch_common.auth import Role
from dispatch_common.county import county_code, county_name

STATIC_DIR = Path(__file__).resolve().parent / "static"
# The console's own files change with a deployment, not while it runs: revalidate, never store stale.
REVALIDATE = {"Cache-Control": "no-cache"}
PROBLEM_JSON = "application/problem+json"


def _problem(status: int, code: str, detail: str) -> JSONResponse:
    body = {"type": f"/problems/{code}", "title": detail, "status": status, "detail": detail, "code": code}
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON)


def _revalidated(request: Request, body: bytes, media_type: str) -> Response:
    """The county's data with an ETag of its content: a browser revalidates it and gets a 304."""
    tag = f'"{hashlib.sha256(body).hexdigest()[:16]}"'
    headers = REVALIDATE | {"ETag": tag}
    if request.headers.get("if-none-match") == tag:
        return Response(status_code=304, headers=headers)
    return Response(body, media_type=media_type, headers=headers)


def _units(county_dir: Path) -> list[dict[str, Any]]:
    raw = json.loads((county_dir / "units.json").read_text(encoding="utf-8"))
    keys = ("code", "name", "type", "level", "jurisdiction")
    return [{k: u.get(k) for k in keys} for u in raw]


def create_console(settings: ConsoleSettings | None = None) -> Starlette:
    """The console app: every answer is public data (no case data passes through it)."""
    settings = settings or ConsoleSettings()
    county_dir = settings.county_dir
    geography = (county_dir / "geography.geojson").read_bytes()
    units = _units(county_dir)
    units_bytes = json.dumps(units, ensure_ascii=False).encode()
    unit_codes = {u["code"]: u for u in units}
    config = {
        "environment": settings.environment,
        "county": {"code": county_code(county_dir), "name": county_name(county_dir)},
        "services": settings.service_urls(),
        "poll_seconds": settings.poll_seconds,
        "health_seconds": settings.health_seconds,
        "sign_in": {
            "dev": settings.dev_sign_in,
            # not a system's, nor the petitioner's (made only by the public progress lookup)
            "roles": [r.value for r in Role if r not in (Role.EXTERNAL_SYSTEM, Role.PETITIONER)],
            "oidc": {
                "issuer": settings.oidc_issuer,
                "client_id": settings.oidc_client_id,
                "scope": settings.oidc_scope,
            }
            if settings.oidc_issuer
            else None,
        },
    }

    async def index(request: Request) -> Response:
        return FileResponse(STATIC_DIR / "index.html", headers=REVALIDATE)

    async def config_json(request: Request) -> Response:
        return JSONResponse(config, headers=REVALIDATE)

    async def geography_json(request: Request) -> Response:
        return _revalidated(request, geography, "application/geo+json")

    async def units_json(request: Request) -> Response:
        return _revalidated(request, units_bytes, "application/json")

    async def healthz(request: Request) -> Response:
        return JSONResponse({"status": "ok", "service": "console"})

    async def dev_token(request: Request) -> Response:
        """Sign a development token: the picker's sign-in (never in production)."""
        from devtools.keys import issue_token  # development tooling, absent from the production image

        try:
            body = await request.json()
        except ValueError:
            return _problem(422, "validation_failed", "send a JSON object {role, unit}")
        role, unit = (body or {}).get("role"), (body or {}).get("unit") or None
        if role not in {r.value for r in Role}:
            return _problem(422, "validation_failed", f"unknown role {role!r}")
        if unit is not None and unit not in unit_codes:
            return _problem(422, "validation_failed", f"unit {unit!r} is not in the county package")
        area = unit_codes[unit]["jurisdiction"] if unit else None
        agent = (body or {}).get("agent") or None  # a proxy agent's id: the token's subject
        if agent is not None and not isinstance(agent, str):
            return _problem(422, "validation_failed", "agent must be a proxy agent's id")
        token = issue_token(settings.run_dir / "keys", role=role, unit=unit, area=area, subject=agent)
        return JSONResponse(
            {"access_token": token, "token_type": "Bearer"}, headers={"Cache-Control": "no-store"}
        )

    routes = [
        Route("/", index),
        Route("/config.json", config_json),
        Route("/geography.geojson", geography_json),
        Route("/units.json", units_json),
        Route("/healthz", healthz),
        Route("/readyz", healthz),
    ]
    if settings.dev_sign_in:
        routes.append(Route("/dev/token", dev_token, methods=["POST"]))
    routes.append(Mount("/static", StaticFiles(directory=STATIC_DIR), name="static"))
    return Starlette(routes=routes)


def main() -> None:
    """Serve the console under uvicorn until SIGINT/SIGTERM."""
    import uvicorn

    settings = ConsoleSettings()
    uvicorn.run(create_console(settings), host=settings.host, port=settings.port, log_config=None)
