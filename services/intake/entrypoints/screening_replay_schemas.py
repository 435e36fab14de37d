"""The shapes of a what-if replay of the screening rules in OpenAPI: the request, the job, its
differences, an approval."""

from datetime import datetime
from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator, model_validator

from services.intake.domain.screening import KB_FILE, RULES_FILE

MAX_FILE_CHARS = 2_000_000
MAX_PERIOD_DAYS = 400
FILES = (RULES_FILE, KB_FILE)


class CandidateRules(BaseModel):
    """Candidate screening rules: the text of each file that changes (the other is the one in use's)."""

    model_config = ConfigDict(extra="forbid")

    files: dict[str, str] = Field(
        default_factory=dict, description=f"file name ({', '.join(FILES)}) → its whole text"
    )

    @field_validator("files")
    @classmethod
    def _known_files(cls, value: dict[str, str]) -> dict[str, str]:
        unknown = sorted(set(value) - set(FILES))
        if unknown:
            raise ValueError(f"not a screening rules file: {', '.join(unknown)}; expected {', '.join(FILES)}")
        big = sorted(name for name, text in value.items() if len(text) > MAX_FILE_CHARS)
        if big:
            raise ValueError(f"longer than {MAX_FILE_CHARS} characters: {', '.join(big)}")
        return value


class ScreeningReplayStart(BaseModel):
    """Screen the cases received in [`from`, `to`) again with candidate rules."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    start: AwareDatetime = Field(alias="from", description="the period's first instant (inclusive)")
    end: AwareDatetime = Field(alias="to", description="the period's end (exclusive)")
    rules: CandidateRules = Field(default_factory=CandidateRules)

    @model_validator(mode="after")
    def _period(self) -> "ScreeningReplayStart":
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
    total: int | None = Field(description="cases in the period; null until counted")


class OutcomeMove(BaseModel):
    before: str = Field(description="the outcome by the rules in use")
    after: str = Field(description="the outcome by the candidate")
    cases: int


class ScreeningReplayResult(BaseModel):
    cases: int = Field(description="cases replayed")
    changed: int = Field(description="cases the candidate screens otherwise")
    drifted: int = Field(
        description="cases whose stored rules outcome the rules in use would now give otherwise "
        "(the period was screened under other rules)"
    )
    changed_parts: dict[str, int] = Field(description="part → cases where it changes")
    outcomes: list[OutcomeMove] = Field(description="cases by outcome before → after (unchanged ones too)")
    before: dict[str, int] = Field(description="cases by outcome, rules in use")
    after: dict[str, int] = Field(description="cases by outcome, candidate")


class ScreeningReplay(BaseModel):
    """A screening replay job: its progress while it runs, its totals when done."""

    id: str
    status: str = Field(description="`running`, `done`, `failed` or `cancelled`")
    period: Period
    candidate_version: str = Field(description="the candidate's declared versions (rules+kb)")
    candidate_digest: str = Field(description="the content hash of the candidate's two files")
    baseline_version: str = Field(description="the rules in use the candidate is compared with")
    baseline_digest: str
    requested_by: str
    progress: Progress
    differences: int = Field(description="differences stored so far (GET …/differences)")
    started_at: datetime
    updated_at: datetime
    finished_at: datetime | None
    elapsed_seconds: float
    cases_per_second: float | None
    result: ScreeningReplayResult | None
    error: str | None


class ScreeningSide(BaseModel):
    """One side of a difference: the screening as the screener gives it."""

    outcome: str
    rule_id: str | None
    reason: str
    transfer_to: str | None
    answer: str | None
    nature: str | None
    hotline_nature: str | None
    confidential: bool
    rules_version: str
    evidence: list[str] = Field(description="what fired; empty for a confidential report")


class ScreeningDifference(BaseModel):
    """A case the candidate screens otherwise, both screenings side by side."""

    case_id: str
    case_no: str
    received_at: datetime
    channel: str
    confidential: bool
    stored_outcome: str | None = Field(
        description="the screening stored on the case (a person's, if screened by hand)"
    )
    changed: list[str] = Field(description="the parts that change")
    before: ScreeningSide = Field(description="the rules in use")
    after: ScreeningSide = Field(description="the candidate")


class RulesActivation(BaseModel):
    """Reload naming the replay whose report approves the rules on disk."""

    model_config = ConfigDict(extra="forbid")

    replay_id: str = Field(min_length=1, max_length=64)


class RulesApproval(BaseModel):
    """The replay report the screening rules in use were activated on."""

    rules_digest: str
    rules_version: str
    replaced_digest: str
    replay_id: str
    period: Period
    report: dict[str, Any] = Field(description="the replay's totals (ScreeningReplayResult)")
    approved_by: str
    approved_at: datetime
