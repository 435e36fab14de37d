"""The HTTP shell every service shares: health, readiness, metrics, errors, tracing, auth wiring."""

import asyncio
import gc
import time
from collections.abc import Callable
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse, PlainTextResponse
from fastapi.routing import APIRoute
from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pymongo.errors import ConnectionFailure, ExecutionTimeout
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from dispatch_common import metrics, redact
from dispatch_common.auth import TokenVerifier
from dispatch_common.authz import AuthorizationTable, TableError, load_table
from dispatch_common.runtime import Runtime
from dispatch_common.telemetry import resource, setup_logging, setup_tracing, shutdown_tracing

OPEN_PATHS = ("/healthz", "/readyz", "/metrics")
# What a browser frontend on an allowed origin may send and read (CORS_ORIGINS, docs/api.md "CORS").
CORS_REQUEST_HEADERS = ["Authorization", "Content-Type", "If-Match", "Idempotency-Key", "Last-Event-ID"]
CORS_EXPOSED_HEADERS = ["ETag", "Retry-After", "Location"]
PROBLEM_JSON = "application/problem+json"
STORE_RETRY_AFTER_SECONDS = 5
STORE_UNAVAILABLE = {
    "type": "/problems/store-unavailable",
    "title": "Service Unavailable",
    "status": 503,
    "detail": "the service's database does not answer; nothing was changed by this request, try again",
    "code": "store_unavailable",
}
_PROBLEM_SCHEMA = {
    "type": "object",
    "required": ["type", "title", "status", "detail", "code"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "code": {"type": "string"},
    },
}
UNAVAILABLE_RESPONSE: dict[str, Any] = {
    "description": "A dependency is down (the database): a problem+json with `code` "
    "`store_unavailable` and a `Retry-After` header in seconds; the request changed nothing, send it "
    "again (with the same `Idempotency-Key` where the endpoint takes one) after that time",
    "headers": {"Retry-After": {"schema": {"type": "integer"}, "description": "seconds to wait"}},
    "content": {PROBLEM_JSON: {"schema": _PROBLEM_SCHEMA}},
}


def unavailable(problem: dict[str, Any], retry_after: int) -> JSONResponse:
    """A problem+json 503 with Retry-After: a dependency is down and the client may try again."""
    return JSONResponse(
        problem, status_code=503, media_type=PROBLEM_JSON, headers={"Retry-After": str(retry_after)}
    )


def _validation_errors(exc: RequestValidationError) -> list[dict[str, Any]]:
    """Field-level reasons without echoing the submitted values (they may hold personal data)."""
    return [
        {"loc": list(err.get("loc", ())), "msg": err.get("msg", ""), "type": err.get("type", "")}
        for err in exc.errors()
    ]


class BodyLimit:
    """Refuse request bodies over a size with 413 before they are read into memory."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app, self.max_bytes = app, max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            response = JSONResponse({"detail": f"request body over {self.max_bytes} bytes"}, status_code=413)
            return await response(scope, receive, send)
        received = 0

        async def limited() -> Message:
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > self.max_bytes:
                raise _TooLarge
            return message

        try:
            await self.app(scope, limited, send)
        except _TooLarge:
            response = JSONResponse({"detail": f"request body over {self.max_bytes} bytes"}, status_code=413)
            await response(scope, receive, send)


class _TooLarge(Exception):
    pass


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
    )
    app.state.runtime = runtime
    app.state.freeze_gc = False  # serve() sets it: only a service process of its own freezes
    app.state.token_verifier = TokenVerifier(settings)

    @app.exception_handler(RequestValidationError)
    async def _on_invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        return JSONResponse({"detail": _validation_errors(exc)}, status_code=422)

    @app.exception_handler(ConnectionFailure)
    @app.exception_handler(ExecutionTimeout)
    async def _on_store_down(request: Request, exc: Exception) -> JSONResponse:
        metrics.STORE_UNAVAILABLE.labels(service).inc()
        return unavailable(STORE_UNAVAILABLE, STORE_RETRY_AFTER_SECONDS)

    @app.get("/healthz", tags=["operations"], summary="The process is up (fails once start-up gave up)")
    async def healthz() -> JSONResponse:
        if runtime.gave_up is not None:
            body = {"status": "start-up gave up", "service": service, "error": repr(runtime.gave_up)}
            return JSONResponse(body, status_code=503)
        return JSONResponse({"status": "ok", "service": service})

    @app.get("/readyz", tags=["operations"], summary="What the pod can do now, and the events it owes")
    async def readyz() -> JSONResponse:
        answer = await runtime.ready()
        lag = runtime.bus.lag()
        behind = any((n or 0) > settings.consumer_lag_warning for n in lag.values())
        body = answer.body() | {"consumer_lag": lag, "behind": behind}
        return JSONResponse(body, status_code=200 if answer.ready else 503)

    @app.get("/metrics", tags=["operations"], summary="Prometheus metrics", response_class=PlainTextResponse)
    async def prometheus() -> PlainTextResponse:
        return PlainTextResponse(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    include(app)
    app.state.service_name = service
    for route in app.routes:  # every operation may meet a database that is down: say so in the OpenAPI
        if isinstance(route, APIRoute) and route.path not in OPEN_PATHS:
            route.responses.setdefault(503, UNAVAILABLE_RESPONSE)
    app.state.authorization = load_table(settings.authorization_file)
    check_operations(app, app.state.authorization, service)  # builds (and caches) the OpenAPI: last
    if settings.http_root_path:
        app.add_middleware(ServedUnder, prefix=settings.http_root_path)
    app.add_middleware(BodyLimit, max_bytes=max_body_bytes)
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
