"""Notify's settings."""

import os
from pathlib import Path

from pydantic import Field, SecretStr, field_validator, model_validator

from dispatch_common.paths import DATA_DIR
from dispatch_common.settings import ServiceSettings, port_field
from dispatch_common.systems import DEFAULT_SYSTEMS_FILE

PLACEHOLDERS = frozenset({"", "REPLACE_ME", "changeme", "dev-secret"})
CHANNELS_SENT_OUT = ("sms", "email", "webhook")


class NotifySettings(ServiceSettings):
    """Notify reads these from the environment."""

    service_name: str = "notify"
    port: int = port_field("notify", 8005)
    templates_file: Path = DATA_DIR / "notify" / "templates.json"
    recipients_file: Path = DATA_DIR / "notify" / "recipients.json"
    documents_file: Path = (
        DATA_DIR / "notify" / "documents.json"
    )  # formal documents (规范文书), decision 0043

    # Licensed TrueType fonts for printed letters (GB/T 9704: 仿宋 for the body, 小标宋 for the title), a
    # file the county mounts (.ttf, or a .ttc's first face); unset: reportlab's built-in STSong-Light.
    pdf_body_font: Path | None = None
    pdf_title_font: Path | None = None

    # The SMS gateway: unset, SMS notices wait queued until one is configured.
    sms_gateway_url: str | None = None
    sms_gateway_secret: SecretStr | None = None
    sms_max_segments: int = Field(3, ge=1, le=10)
    # The petitioner's progress page the acceptance SMS links to, with the case number and lookup code
    # in the link's fragment (docs/progress.md); unset: the SMS gives the code without a link.
    progress_page_url: str | None = "http://127.0.0.1:8004/progress/"

    # SMTP: unset host, e-mail notices wait queued.
    smtp_host: str | None = None
    smtp_port: int = Field(25, ge=1, le=65535)
    smtp_from: str = "dispatch@localhost"
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_starttls: bool = False

    # The external systems (a feed webhook of the recipients file names one of them, or an Open311 client).
    ingress_systems_file: Path = DEFAULT_SYSTEMS_FILE
    # Secrets of the webhooks named in the recipients file, by name: {"hotline": "..."}.
    webhook_secrets: dict[str, SecretStr] = Field(default_factory=dict)

    delivery_timeout_seconds: float = Field(10.0, gt=0)
    delivery_max_attempts: int = Field(6, ge=1, le=50)
    delivery_backoff_seconds: float = Field(2.0, gt=0)
    delivery_backoff_max_seconds: float = Field(600.0, gt=0)
    # A message claimed for sending longer than this (the sender died) is taken up again.
    delivery_lease_seconds: float = Field(60.0, gt=0)
    channel_rate_limits: dict[str, float] = Field(
        default_factory=lambda: {"sms": 20.0, "email": 10.0, "webhook": 50.0}
    )
    sender_concurrency: int = Field(16, ge=1, le=512)
    sender_poll_seconds: float = Field(0.5, gt=0)
    # Non-urgent SMS wait for the end of quiet hours (county time); empty: no quiet hours.
    quiet_hours: str = "21:00-08:00"

    @field_validator("channel_rate_limits")
    @classmethod
    def _known_channels(cls, value: dict[str, float]) -> dict[str, float]:
        unknown = set(value) - set(CHANNELS_SENT_OUT)
        if unknown:
            raise ValueError(f"rate limits for unknown channels {sorted(unknown)}")
        if any(rate <= 0 for rate in value.values()):
            raise ValueError("a rate limit is a positive number of messages per second")
        return value

    @field_validator("pdf_body_font", "pdf_title_font", mode="before")
    @classmethod
    def _font_unset_when_empty(cls, value: object) -> object:
        return None if value == "" else value  # PDF_BODY_FONT= in a ConfigMap: the built-in font

    @field_validator("pdf_body_font", "pdf_title_font")
    @classmethod
    def _font_readable(cls, value: Path | None) -> Path | None:
        if value is not None and not (value.is_file() and os.access(value, os.R_OK)):
            raise ValueError(
                f"{value}: no readable font file (mount the county's fonts volume, or unset the setting "
                "to print with the built-in STSong-Light)"
            )
        return value

    @field_validator("quiet_hours")
    @classmethod
    def _quiet_hours_shape(cls, value: str) -> str:
        from services.notify.domain.delivery import parse_quiet_hours

        parse_quiet_hours(value)  # raises ValueError with the reason
        return value

    @model_validator(mode="after")
    def _secrets_are_real_outside_development(self) -> "NotifySettings":
        if self.sms_gateway_url and self.sms_gateway_secret is None:
            raise ValueError("SMS_GATEWAY_SECRET is required with SMS_GATEWAY_URL (requests are signed)")
        if self.environment == "production":
            secrets = [("SMS_GATEWAY_SECRET", self.sms_gateway_secret)] + [
                (f"WEBHOOK_SECRETS[{name}]", value) for name, value in self.webhook_secrets.items()
            ]
            for name, secret in secrets:
                if secret is not None and secret.get_secret_value() in PLACEHOLDERS:
                    raise ValueError(f"{name} is a placeholder; set a real secret in production")
        return self
