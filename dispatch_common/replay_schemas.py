"""The shapes every what-if replay shares (routing's of the county package, intake's of the screening
rules): the period asked for, the candidate's files, the period and progress of a job."""

from datetime import datetime
from typing import Self

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

MAX_PERIOD_DAYS = 400


def known_files(
    value: dict[str, str], names: tuple[str, ...], *, max_chars: int, what: str
) -> dict[str, str]:
    """A candidate's files, refused (ValueError) when one is not among `names` or is too long."""
    unknown = sorted(set(value) - set(names))
    if unknown:
        raise ValueError(f"not a {what} file: {', '.join(unknown)}; expected {', '.join(names)}")
    big = sorted(name for name, text in value.items() if len(text) > max_chars)
    if big:
        raise ValueError(f"longer than {max_chars} characters: {', '.join(big)}")
    return value


class ReplayPeriod(BaseModel):
    """The period [`from`, `to`) a replay starts on: instants with a zone, at most MAX_PERIOD_DAYS."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    start: AwareDatetime = Field(alias="from", description="the period's first instant (inclusive)")
    end: AwareDatetime = Field(alias="to", description="the period's end (exclusive)")

    @model_validator(mode="after")
    def _period(self) -> Self:
        if self.end <= self.start:
            raise ValueError("`to` must be after `from`")
        if (self.end - self.start).days > MAX_PERIOD_DAYS:
            raise ValueError(f"a period of at most {MAX_PERIOD_DAYS} days")
        return self


class Period(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    start: datetime = Field(alias="from")
    end: datetime = Field(alias="to")


class Progress(BaseModel):
    done: int
    total: int | None = Field(
        description="routes or cases in the period; null until the replay has read them all"
    )
    estimated_total: int | None = Field(
        None,
        description="while running: the routes or cases in the period as guessed from how far into it "
        "the replay is (null before the first step, and where the replay does not estimate)",
    )


class ReplayJob(BaseModel):
    """A replay job as its API shows it (jobs.Jobs.view): its progress while it runs; each kind adds
    the versions compared and its `result`."""

    id: str
    status: str = Field(description="`running`, `done`, `failed` or `cancelled`")
    period: Period
    requested_by: str
    progress: Progress
    differences: int = Field(description="differences stored so far (GET …/differences)")
    started_at: datetime
    updated_at: datetime
    finished_at: datetime | None
    elapsed_seconds: float
    cases_per_second: float | None
    error: str | None


class ReplayActivation(BaseModel):
    """A reload naming the replay whose report approves what is on disk."""

    model_config = ConfigDict(extra="forbid")

    replay_id: str = Field(min_length=1, max_length=64)
