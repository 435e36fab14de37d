"""The console's production sign-in, in headless Chromium: OpenID Connect, authorization code with
PKCE (RFC 7636), against a small identity provider this test runs on 127.0.0.1.

The provider checks what a county's would: the client, the redirect URI, the state round trip, the
S256 code challenge, and at the token endpoint that the code is used once, by the same client and
redirect, with the verifier whose SHA-256 is the challenge. It answers with an access token the
platform's services accept (signed with the stack's development key), so the console then reads a
service as the signed-in dispatcher."""

import base64
import contextlib
import hashlib
import secrets
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from console.server import create_console
from console.settings import ConsoleSettings
from devtools.keys import issue_token
from devtools.stack import free_port
from tests.e2e.browser import shot

pytestmark = pytest.mark.e2e

CLIENT_ID = "county-console"


@dataclass
class Provider:
    """What the identity provider saw."""

    keys_dir: Any
    console_origin: str = ""
    codes: dict[str, dict[str, str]] = field(default_factory=dict)
    exchanged: list[dict[str, str]] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)


def _s256(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode()).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def provider_app(p: Provider, base: str) -> Starlette:
    async def discovery(request: Request) -> Response:
        return JSONResponse(
            {
                "issuer": base,
                "authorization_endpoint": f"{base}/authorize",
                "token_endpoint": f"{base}/token",
                "response_types_supported": ["code"],
                "code_challenge_methods_supported": ["S256"],
            }
        )

    async def authorize(request: Request) -> Response:
        q = request.query_params
        if (
            q.get("response_type") != "code"
            or q.get("client_id") != CLIENT_ID
            or q.get("code_challenge_method") != "S256"
            or not q.get("code_challenge")
            or not q.get("state")
            or not str(q.get("redirect_uri", "")).startswith(p.console_origin)
        ):
            p.refused.append(f"authorize {dict(q)}")
            return JSONResponse({"error": "invalid_request"}, status_code=400)
        code = secrets.token_urlsafe(16)  # the person signs in here; the county's provider asks them
        p.codes[code] = {"challenge": q["code_challenge"], "redirect": q["redirect_uri"], "client": CLIENT_ID}
        return RedirectResponse(f"{q['redirect_uri']}?{urlencode({'code': code, 'state': q['state']})}", 302)

    async def token(request: Request) -> Response:
        form = await request.form()
        issued = p.codes.pop(str(form.get("code")), None)  # a code is used once
        verifier = str(form.get("code_verifier") or "")
        if (
            issued is None
            or form.get("grant_type") != "authorization_code"
            or form.get("client_id") != issued["client"]
            or form.get("redirect_uri") != issued["redirect"]
            or _s256(verifier) != issued["challenge"]
        ):
            p.refused.append("token")
            return JSONResponse({"error": "invalid_grant"}, status_code=400)
        p.exchanged.append({"verifier": verifier, "challenge": issued["challenge"]})
        access = issue_token(p.keys_dir, role="dispatcher", subject="idp:zhang.san")
        return JSONResponse({"access_token": access, "token_type": "Bearer", "expires_in": 3600})

    cors = Middleware(CORSMiddleware, allow_origins=[p.console_origin], allow_methods=["GET", "POST"])
    routes = [
        Route("/.well-known/openid-configuration", discovery),
        Route("/authorize", authorize),
        Route("/token", token, methods=["POST"]),
    ]
    return Starlette(routes=routes, middleware=[cors])


@contextlib.contextmanager
def _serve(app: Starlette, port: int) -> Iterator[None]:
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.started, "server did not start"
    try:
        yield
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@pytest.fixture(scope="module")
def production_console(stack) -> Iterator[tuple[str, Provider]]:  # type: ignore[no-untyped-def]
    """A console in production (no development sign-in) and the identity provider it trusts. It takes
    the shared console's port, so the services' CORS_ORIGINS admit it: the shared one is stopped for
    the module and started again after."""
    idp_port = free_port()
    idp = f"http://127.0.0.1:{idp_port}"
    provider = Provider(keys_dir=stack.run_dir / "keys", console_origin=stack.console_url)
    settings = ConsoleSettings(
        environment="production",
        port=stack.console_port,
        oidc_issuer=idp,
        oidc_client_id=CLIENT_ID,
        **{f"{s}_url": stack.url(s) for s in ("intake", "routing", "mediation", "supervision", "notify")},
    )
    stack.procs["console"].stop()
    try:
        with (
            _serve(provider_app(provider, idp), idp_port),
            _serve(create_console(settings), stack.console_port),
        ):
            yield stack.console_url, provider
    finally:
        stack.start_console()


def test_a_dispatcher_signs_in_at_the_county_provider_with_pkce(chromium, production_console) -> None:
    url, provider = production_console
    config = httpx.get(f"{url}/config.json").json()
    assert config["sign_in"]["dev"] is False and config["sign_in"]["oidc"]["client_id"] == CLIENT_ID
    assert httpx.post(f"{url}/dev/token", json={"role": "admin"}).status_code in (404, 405)

    context = chromium.new_context(viewport={"width": 1366, "height": 768}, locale="zh-CN")
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(url)
    assert page.locator("#dev-sign-in").count() == 0  # no role picker in production
    page.click("#oidc-sign-in")
    page.wait_for_selector("#who [data-role='dispatcher']", timeout=20_000)
    assert "code=" not in page.url  # the code left the address bar
    assert provider.refused == [] and len(provider.exchanged) == 1
    exchange = provider.exchanged[0]
    assert len(exchange["verifier"]) >= 43 and _s256(exchange["verifier"]) == exchange["challenge"]
    # the token is the session's, and a service accepts it for the signed-in person
    page.wait_for_selector("svg.county-map path.area.town", timeout=20_000)
    shot(page, "dispatcher-signed-in-at-the-provider")
    assert not errors, errors
    context.close()
