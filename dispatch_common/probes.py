"""The schemas of the probes' answers (`/healthz`, `/readyz`), for the OpenAPI: what an operator's
tooling or a generated client reads from them."""

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class Health(BaseModel):
    """`/healthz`: the process is up (`503` with the error once its start-up gave up)."""

    status: str = Field(description="`ok`, or `start-up gave up`")
    service: str
    error: str | None = Field(None, description="why start-up gave up")


class Outbox(BaseModel):
    """The events the service owes to NATS."""

    owed_events: int
    limit: int


class Readiness(BaseModel):
    """`/readyz`: what the pod can do now (`503` when it cannot take requests)."""

    model_config = ConfigDict(extra="allow")

    status: str = Field(description="`ready`, `degraded` (events wait for NATS) or `not ready`")
    checks: dict[str, bool] = Field(description="`mongodb`, `nats`, `started`, ...")
    can: dict[str, bool] = Field(description="`take_requests`, `publish_events`, `consume_events`")
    outbox: Outbox
    consumer_lag: dict[str, int | None] = Field(description="each consumer's messages waiting (null: unread)")
    behind: bool = Field(description="whether a consumer is past CONSUMER_LAG_WARNING")
    lag_warning: int = Field(description="CONSUMER_LAG_WARNING: the lag past which `behind` is true")


def answers(model: type[BaseModel]) -> dict[int | str, dict[str, Any]]:
    """The probe's 200 and 503 answers, both in its schema."""
    return {200: {"model": model}, 503: {"model": model, "description": "not up, or not ready"}}
