"""The console server's settings, from the environment only."""

from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from dispatch_common.paths import DEFAULT_COUNTY_DIR, DEFAULT_RUN_DIR
from dispatch_common.settings import port_field

SERVICES = ("intake", "routing", "mediation", "supervision", "notify")


class ConsoleSettings(BaseSettings):
    """Where the five services are for the browser, and how people sign in."""

    model_config = SettingsConfigDict(env_file=None, extra="ignore", case_sensitive=False)

    environment: Literal["development", "test", "production"] = "development"
    host: str = "127.0.0.1"
    port: int = port_field("console", 8000)
    county_dir: Path = DEFAULT_COUNTY_DIR
    run_dir: Path = DEFAULT_RUN_DIR
    # The base URL of each service as the browser reaches it: absolute (another origin: that service's
    # CORS_ORIGINS must name the console's) or a path on the console's own host (behind the ingress).
    intake_url: str = "http://127.0.0.1:8001"
    routing_url: str = "http://127.0.0.1:8002"
    mediation_url: str = "http://127.0.0.1:8003"
    supervision_url: str = "http://127.0.0.1:8004"
    notify_url: str = "http://127.0.0.1:8005"
    # Production sign-in: OpenID Connect, authorization code with PKCE, at the county's provider.
    oidc_issuer: str | None = None
    oidc_client_id: str | None = None
    oidc_scope: str = "openid profile"
    # How often a list is read again when its service offers no live stream (seconds).
    poll_seconds: float = Field(1.5, gt=0.2, le=60)
    # How often the banner that names services falling behind reads their /readyz (seconds).
    health_seconds: float = Field(10.0, ge=1, le=300)

    @property
    def dev_sign_in(self) -> bool:
        """The role and unit picker and /dev/token: development and tests only, never production."""
        return self.environment != "production"

    def service_urls(self) -> dict[str, str]:
        """Each service's base URL for the browser, without a trailing slash."""
        return {s: str(getattr(self, f"{s}_url")).rstrip("/") for s in SERVICES}

    @model_validator(mode="after")
    def _production_signs_in_at_the_county(self) -> "ConsoleSettings":
        if self.environment == "production" and not (self.oidc_issuer and self.oidc_client_id):
            raise ValueError("OIDC_ISSUER and OIDC_CLIENT_ID are required in production")
        return self
