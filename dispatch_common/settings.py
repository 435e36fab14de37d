"""Settings read from the environment only (pydantic-settings); one base class for every service."""

import json
import socket
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from dispatch_common.paths import DATA_DIR, DEFAULT_COUNTY_DIR, DEFAULT_RUN_DIR


def port_field(service: str, default: int) -> int:
    """A port setting read from `<SERVICE>_PORT`, else `PORT`, else the default."""
    return Field(default, validation_alias=AliasChoices(f"{service.upper()}_PORT", "PORT"))


class ServiceSettings(BaseSettings):
    """What every service needs to run; each service subclasses it with its name and port."""

    model_config = SettingsConfigDict(env_file=None, extra="ignore", case_sensitive=False)

    service_name: str = "service"
    environment: Literal["development", "test", "production"] = "development"
    host: str = "127.0.0.1"
    port: int = 8000

    # One URL, or several of a cluster: comma-separated or a JSON list.
    nats_url: str = "nats://127.0.0.1:4222"
    # The service's NATS identity: one of an nkey seed file (the generated identities), a credentials
    # file (operator/JWT mode) or a user and password. Unset: no authentication (refused in production).
    nats_nkey_seed_file: Path | None = None
    nats_creds_file: Path | None = None
    nats_user: str | None = None
    nats_password: SecretStr | None = None
    # The reply subjects of this service (the server lets only its user subscribe to them).
    nats_inbox_prefix: str | None = None
    nats_tls_ca_file: Path | None = None
    nats_tls_cert_file: Path | None = None
    nats_tls_key_file: Path | None = None
    mongodb_url: str = "mongodb://127.0.0.1:27017/?directConnection=true"
    mongodb_db_prefix: str = "dispatch_"

    run_dir: Path = DEFAULT_RUN_DIR
    county_dir: Path = DEFAULT_COUNTY_DIR
    # Days count by the county's calendar (case numbers per year, working-day limits), not UTC's.
    county_timezone: str = "Asia/Shanghai"
    holiday_calendar_file: Path = DATA_DIR / "policy" / "holidays.json"
    # The time limits (supervision counts them; routing's return limit must agree with the objection one).
    deadline_policy_file: Path = DATA_DIR / "policy" / "deadlines.json"

    # Who may call each HTTP operation, and with which scope (docs/api.md, Authorization).
    authorization_file: Path = DATA_DIR / "policy" / "authorization.yaml"

    jwt_issuer: str = "dispatch-dev"
    jwt_audience: str = "dispatch"
    jwt_algorithms: list[str] = ["RS256"]
    jwt_public_key_file: Path | None = None
    jwt_jwks_url: str | None = None

    consumer_max_deliver: int = Field(5, ge=1, le=100)
    consumer_ack_wait_seconds: float = Field(30.0, gt=0)
    consumer_backoff_seconds: list[float] = [1.0, 5.0, 30.0, 120.0]
    consumer_batch_size: int = Field(16, ge=1, le=512)
    # Past this many messages waiting for one of its consumers, /readyz says the service is behind
    # (it stays ready: the messages are kept, and the service works them off).
    consumer_lag_warning: int = Field(1000, ge=1)
    # A request that has not begun its answer in this time is answered 503 busy with Retry-After (the
    # service or its store cannot keep up), before the caller's or the ingress's own timeout; 0: none.
    request_budget_seconds: float = Field(20.0, ge=0, le=600)
    stream_duplicate_window_seconds: float = Field(600.0, gt=0)
    # Copies of each stream in a NATS cluster (3 in production; a single server holds only 1).
    stream_replicas: int = Field(1, ge=1, le=5)
    # Retention of the streams (JetStream `max_age`, `max_bytes`). A service creates a missing stream
    # with these; it never changes the limits of one that exists (operations own them then).
    # INGRESS_<SYSTEM> holds plaintext submissions: kept only until intake has surely registered them.
    stream_ingress_max_age_days: float = Field(3.0, gt=0)
    stream_ingress_max_bytes: int = Field(128 * 1024**2, ge=-1)  # per system
    # DISPATCH: long enough for a consumer to catch up and for a replay after an outage.
    stream_dispatch_max_age_days: float = Field(60.0, gt=0)
    stream_dispatch_max_bytes: int = Field(4 * 1024**3, ge=-1)
    # DLQ: long enough for an operator to look and act.
    stream_dlq_max_age_days: float = Field(30.0, gt=0)
    stream_dlq_max_bytes: int = Field(512 * 1024**2, ge=-1)
    # OUTCOMES_<SYSTEM>: long enough for a system that was offline for days to read its answers.
    stream_outcomes_max_age_days: float = Field(14.0, gt=0)
    stream_outcomes_max_bytes: int = Field(128 * 1024**2, ge=-1)  # per system
    outbox_poll_seconds: float = Field(1.0, gt=0)
    # A document pending longer than this is published by whichever replica sweeps first (its writer
    # crashed); fresher ones are left to the replica that wrote them (dispatch_common/outbox.py).
    outbox_sweep_grace_seconds: float = Field(5.0, gt=0)
    # Under load (the last round had more than one document) the relay waits this long before a round,
    # so a busy service's events go out in fewer, larger rounds, each marked sent in one round trip.
    outbox_linger_seconds: float = Field(0.02, ge=0, le=1)
    # What the relay published is marked sent within this time, in one bulk write for all that gathered
    # (0: each round marks its own at once). Below the sweep grace, so other replicas leave it alone.
    outbox_mark_delay_seconds: float = Field(1.0, ge=0, le=60)

    # Start-up: how long the service keeps trying to reach MongoDB and NATS before it gives up (then
    # /healthz fails, so Kubernetes restarts the pod); whether it builds its indexes itself (production
    # runs `python -m services.migrate` as a Job before an upgrade and sets this to false).
    start_give_up_seconds: float = Field(600.0, gt=0)
    build_indexes_at_start: bool = True
    # Readiness: a service that takes requests without NATS (intake: its outbox absorbs an outage)
    # stays ready while it owes fewer events than this; None takes the service's own default.
    ready_without_nats: bool | None = None
    outbox_owed_limit: int = Field(20_000, ge=1)
    # The prefix an ingress serves the service under (e.g. "/intake"): /docs and the OpenAPI use it.
    http_root_path: str = ""
    # Browser origins allowed to call the API (CORS), e.g. the console's `http://127.0.0.1:8000`:
    # comma-separated or a JSON list; empty (the default) allows none.
    cors_origins: str = ""
    # Which replica this is, in logs, traces and reload answers (Kubernetes: the pod name).
    replica_name: str = Field(default_factory=lambda: socket.gethostname())

    # Live updates (server-sent events, dispatch_common/live.py): a `: ping` comment this often; how many
    # messages a connection may fall behind before it is cut off; how long one send may take before the
    # reader counts as gone; how many recent events a replica keeps to resume connections from.
    live_heartbeat_seconds: float = Field(15.0, gt=0)
    live_queue_size: int = Field(256, ge=1, le=100_000)
    live_send_timeout_seconds: float = Field(10.0, gt=0)
    live_window: int = Field(4096, ge=1, le=1_000_000)

    log_level: str = "INFO"
    # Client spans of each MongoDB command and each outgoing HTTP request (httpx), beside the HTTP
    # server, publish and process spans (their CPU cost is measured in docs/decisions/0025).
    trace_mongodb_commands: bool = True
    trace_http_clients: bool = True
    trace_file: Path | None = None
    otlp_endpoint: str | None = Field(None, validation_alias=AliasChoices("OTEL_EXPORTER_OTLP_ENDPOINT"))

    @property
    def nats_servers(self) -> list[str]:
        """The NATS URLs: NATS_URL as a JSON list, or comma-separated."""
        text = self.nats_url.strip()
        urls = json.loads(text) if text.startswith("[") else text.split(",")
        return [str(u).strip() for u in urls if str(u).strip()]

    @property
    def cors_origin_list(self) -> list[str]:
        """The allowed browser origins: CORS_ORIGINS as a JSON list, or comma-separated."""
        text = self.cors_origins.strip()
        origins = json.loads(text) if text.startswith("[") else text.split(",")
        return [str(o).strip().rstrip("/") for o in origins if str(o).strip()]

    @property
    def nats_authenticated(self) -> bool:
        """True when the service has a NATS identity to present."""
        return any((self.nats_nkey_seed_file, self.nats_creds_file, self.nats_user))

    @property
    def mongodb_db(self) -> str:
        """This service's own database name."""
        return f"{self.mongodb_db_prefix}{self.service_name}"

    @property
    def keys_dir(self) -> Path:
        """Where development keys are generated (ignored by git)."""
        return self.run_dir / "keys"

    @property
    def public_key_path(self) -> Path:
        """The PEM file of the development token issuer's public key."""
        return self.jwt_public_key_file or self.keys_dir / "jwt_public.pem"

    @model_validator(mode="after")
    def _refuse_development_defaults_in_production(self) -> "ServiceSettings":
        if self.environment == "production":
            if not self.jwt_jwks_url:
                raise ValueError("JWT_JWKS_URL is required in production (development keys are refused)")
            if self.jwt_issuer == "dispatch-dev":
                raise ValueError("JWT_ISSUER must name the county identity provider in production")
            if not self.nats_authenticated:
                raise ValueError(
                    "a NATS identity is required in production: NATS_NKEY_SEED_FILE, NATS_CREDS_FILE "
                    "or NATS_USER with NATS_PASSWORD"
                )
        if self.outbox_mark_delay_seconds >= self.outbox_sweep_grace_seconds:
            raise ValueError(
                "OUTBOX_MARK_DELAY_SECONDS must be below OUTBOX_SWEEP_GRACE_SECONDS (else other replicas "
                "sweep and publish again what waits to be marked)"
            )
        if self.nats_user and self.nats_password is None:
            raise ValueError("NATS_USER needs NATS_PASSWORD")
        if bool(self.nats_tls_cert_file) != bool(self.nats_tls_key_file):
            raise ValueError("NATS_TLS_CERT_FILE and NATS_TLS_KEY_FILE go together (a client certificate)")
        try:
            servers = self.nats_servers
        except ValueError as exc:
            raise ValueError(
                f"NATS_URL is neither a URL, comma-separated URLs nor a JSON list: {exc}"
            ) from exc
        if not servers:
            raise ValueError("NATS_URL names no server")
        try:
            origins = self.cors_origin_list
        except ValueError as exc:
            raise ValueError(f"CORS_ORIGINS is not comma-separated origins nor a JSON list: {exc}") from exc
        if "*" in origins:
            raise ValueError("CORS_ORIGINS names origins; `*` would let any site call with a user's token")
        root = self.http_root_path
        if root and (not root.startswith("/") or root.endswith("/")):
            raise ValueError("HTTP_ROOT_PATH is empty or a path like /intake (a leading, no trailing slash)")
        return self
