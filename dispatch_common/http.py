"""The HTTP shell every service shares: health, readiness, metrics, errors, tracing, auth wiring."""

import asyncio
import gc
import time
from collections.abc import Callable
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse, PlainTextResponse
from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from dispatch_common import docs_ui, http_errors, metrics, openapi_contract, probes, redact
from dispatch_common.auth import TokenVerifier
from dispatch_common.authz import AuthorizationTable, TableError, load_table
from dispatch_common.http_budget import RequestBudget
from dispatch_common.runtime import Runtime
from dispatch_common.telemetry import resource, setup_logging, setup_tracing, shutdown_tracing

OPEN_PATHS = ("/healthz", "/readyz", "/metrics")
# What a browser frontend on an allowed origin may send and read (CORS_ORIGINS, docs/api.md "CORS").
CORS_REQUEST_HEADERS = ["Authorization", "Content-Type", "If-Match", "Idempotency-Key", "Last-Event-ID"]
CORS_EXPOSED_HEADERS = ["ETag", "Retry-After", "Location"]


class BodyLimit:
    """Refuse request bodies over a size with 413 before they are read into memory."""

    def __init__(self, app: ASGIApp, max_bytes: int, larger: dict[str, int] | None = None) -> None:
        self.app, self.max_bytes = app, max_bytes
        self.larger = larger or {}  # path → its own limit (a county package to replay)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        limit = self.larger.get(scope.get("path", ""), self.max_bytes)
        headers = dict(scope["headers"])
        declared = headers.get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            return await self._refuse(scope, receive, send, limit)
        received = 0

        async def limited() -> Message:
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > limit:
                raise _TooLarge
            return message

        try:
            await self.app(scope, limited, send)
        except _TooLarge:
            await self._refuse(scope, receive, send, limit)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send, limit: int) -> None:
        await http_errors.answer_asgi(scope, http_errors.too_large(limit))(scope, receive, send)


class _TooLarge(Exception):
    pass


class NoStore:
    """`Cache-Control: no-store` on every answer that does not set its own: the APIs answer scoped and
    personal data (masked or, on the audited clear reads, unmasked), which no browser or proxy cache
    should keep. The API pages' assets are left cacheable."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or docs_ui.ASSETS_PATH + "/" in scope["path"]:
            return await self.app(scope, receive, send)

        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = message.get("headers", [])
                if not any(name.lower() == b"cache-control" for name, _ in headers):
                    message["headers"] = [*headers, (b"cache-control", b"no-store")]
            await send(message)

        await self.app(scope, receive, sending)


class ServedUnder:
    """Serve the app under a prefix an ingress keeps in the path (e.g. /intake): the request's root path
    is the prefix, so routing drops it and /docs loads <prefix>/openapi.json; paths without the prefix
    (probes, Prometheus, in-cluster callers) are routed as before."""

    def __init__(self, app: ASGIApp, prefix: str) -> None:
        self.app, self.prefix = app, prefix

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            scope = {**scope, "root_path": self.prefix}
        await self.app(scope, receive, send)


class RequestMetrics:
    """Count requests and observe their latency by route template (a plain ASGI middleware: cheap)."""

    def __init__(self, app: ASGIApp, service: str) -> None:
        self.app, self.service = app, service

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        started = time.perf_counter()
        status_code = 500

        async def sending(message: Message) -> None:
            nonlocal status_code
            if message["type"] == "http.response.start":
                status_code = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            path = getattr(scope.get("route"), "path", "unmatched")
            method = scope["method"]
            labels = (self.service, method, path, str(status_code))
            metrics.HTTP_REQUESTS.labels(*labels).inc()
            metrics.HTTP_LATENCY.labels(*labels).observe(time.perf_counter() - started)


def create_app(
    runtime: Runtime,
    *,
    title: str,
    description: str,
    version: str = "0.1.0",
    include: Callable[[FastAPI], None],
    max_body_bytes: int = 256 * 1024,
    larger_bodies: dict[str, int] | None = None,
) -> FastAPI:
    """A FastAPI app with the platform's health, metrics, error format, tracing and auth."""
    settings = runtime.settings
    service = settings.service_name
    redact.register_settings(settings)  # its keys, secrets and URL passwords never reach a log or a span
    setup_logging(service, settings.log_level)
    setup_tracing(
        service,
        trace_file=settings.trace_file,
        otlp_endpoint=settings.otlp_endpoint,
        attributes=resource(
            service,
            version=version,
            environment=settings.environment,
            instance=settings.replica_name,
        ),
        http_clients=settings.trace_http_clients,
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI):  # type: ignore[no-untyped-def]
        runtime.start_in_background()
        freezing = asyncio.create_task(_freeze_when_started(runtime)) if app.state.freeze_gc else None
        yield
        if freezing:
            freezing.cancel()
        await runtime.stop()
        shutdown_tracing()

    # Requests are traced by the OpenTelemetry instrumentation below; FastAPI's own telemetry (on by
    # default once a tracer provider is set) would wrap every request in a second layer that defers to it.
    native_telemetry_off = {"tracing": False, "metrics": False, "logs": False, "operation_spans": False}
    app = FastAPI(
        title=title,
        description=description,
        version=version,
        lifespan=lifespan,
        telemetry=native_telemetry_off,
        docs_url=None,  # docs_ui serves /docs and /redoc with their assets, offline
        redoc_url=None,
        generate_unique_id_function=openapi_contract.readable_id,
    )
    app.state.runtime = runtime
    app.state.freeze_gc = False  # serve() sets it: only a service process of its own freezes
    app.state.token_verifier = TokenVerifier(settings)

    http_errors.install(app, service)
    docs_ui.install(app)

    @app.get(
        "/healthz",
        tags=["operations"],
        summary="The process is up (fails once start-up gave up)",
        responses=probes.answers(probes.Health),
    )
    async def healthz() -> JSONResponse:
        if runtime.gave_up is not None:
            body = {"status": "start-up gave up", "service": service, "error": repr(runtime.gave_up)}
            return JSONResponse(body, status_code=503)
        return JSONResponse({"status": "ok", "service": service})

    @app.get(
        "/readyz",
        tags=["operations"],
        summary="What the pod can do now, and the events it owes",
        responses=probes.answers(probes.Readiness),
    )
    async def readyz() -> JSONResponse:
        answer = await runtime.ready()
        lag = runtime.bus.lag()
        behind = any((n or 0) > settings.consumer_lag_warning for n in lag.values())
        body = answer.body() | {
            "consumer_lag": lag,
            "behind": behind,
            "lag_warning": settings.consumer_lag_warning,
        }
        return JSONResponse(body, status_code=200 if answer.ready else 503)

    @app.get("/metrics", tags=["operations"], summary="Prometheus metrics", response_class=PlainTextResponse)
    async def prometheus() -> PlainTextResponse:
        return PlainTextResponse(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    include(app)
    app.state.service_name = service
    foreign = tuple(prefix for prefix, _ in getattr(app.state, "foreign_errors", ()))
    openapi_contract.install(app, foreign, OPEN_PATHS)
    app.state.authorization = load_table(settings.authorization_file)
    check_operations(app, app.state.authorization, service)  # builds (and caches) the OpenAPI: last
    if settings.http_root_path:
        app.add_middleware(ServedUnder, prefix=settings.http_root_path)
    app.add_middleware(BodyLimit, max_bytes=max_body_bytes, larger=larger_bodies)
    # a request not answered in time gets 503 busy (inside CORS and the metrics: the answer carries CORS
    # headers and is counted)
    app.add_middleware(
        RequestBudget, service=service, seconds=settings.request_budget_seconds, root=settings.http_root_path
    )
    app.add_middleware(NoStore)
    if settings.cors_origin_list:  # outside the body limit, so a refused body still carries CORS headers
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origin_list,
            allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
            allow_headers=CORS_REQUEST_HEADERS,
            expose_headers=CORS_EXPOSED_HEADERS,
            max_age=600,
        )
    app.add_middleware(RequestMetrics, service=service)
    FastAPIInstrumentor.instrument_app(
        app,
        excluded_urls=",".join(p.lstrip("/") for p in OPEN_PATHS),
        exclude_spans=["receive", "send"],
        # the URL attributes lose api_key and other secrets as the span starts; captured headers (off
        # unless OTEL_INSTRUMENTATION_HTTP_CAPTURE_HEADERS_* says otherwise) lose their credentials
        server_request_hook=redact.server_request_hook,
        http_capture_headers_sanitize_fields=redact.SENSITIVE_HEADERS,
    )
    return app


def check_operations(app: FastAPI, table: AuthorizationTable, service: str) -> None:
    """Refuse to start a service whose operations the authorization table does not all name: such an
    operation would be refused to everyone, which is a mistake to find now, not in production."""
    missing = [
        f"{method.upper()} {path}"
        for path, operations in app.openapi().get("paths", {}).items()
        if path not in OPEN_PATHS
        for method in operations
        if table.grant(service, method, path) is None
    ]
    if missing:
        raise TableError(f"the authorization table names no entry for {service}: {', '.join(missing)}")


async def _freeze_when_started(runtime: Runtime) -> None:
    """Once started, move everything loaded so far out of the garbage collector's reach.

    Start-up loads packages, dictionaries (jieba's), models and county data: hundreds of thousands of
    long-lived objects that every full collection would walk again, a pause of tens of milliseconds
    that lands on whichever requests are in flight (measured as the latency tail of bench/intake_load).
    Frozen objects are still freed by reference counting; only cycles among them are never collected.
    """
    await runtime.started.wait()
    gc.collect()
    gc.freeze()


def serve(app: FastAPI, *, host: str, port: int) -> None:
    """Run the app under uvicorn until SIGINT/SIGTERM, then drain."""
    import uvicorn

    app.state.freeze_gc = True

    # reset_contextvars: a request queued on a keep-alive connection behind a large body would otherwise
    # start inside the previous request's context, and its span would join that request's trace.
    uvicorn.run(
        app,
        host=host,
        port=port,
        log_config=None,
        access_log=False,
        timeout_graceful_shutdown=10,
        reset_contextvars=True,
    )
