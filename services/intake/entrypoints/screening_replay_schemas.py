"""The shapes of a what-if replay of the screening rules in OpenAPI: the request, the job, its
differences, an approval."""

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from dispatch_common.replay_schemas import Period, ReplayActivation, ReplayJob, ReplayPeriod, known_files
from services.intake.domain.screening import KB_FILE, RULES_FILE

MAX_FILE_CHARS = 10_000_000
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
        return known_files(value, FILES, max_chars=MAX_FILE_CHARS, what="screening rules")


class ScreeningReplayStart(ReplayPeriod):
    """Screen the cases received in [`from`, `to`) again with candidate rules."""

    rules: CandidateRules = Field(default_factory=CandidateRules)


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


class ScreeningReplay(ReplayJob):
    """A screening replay job: its progress while it runs, its totals when done."""

    candidate_version: str = Field(description="the candidate's declared versions (rules+kb)")
    candidate_digest: str = Field(description="the content hash of the candidate's two files")
    baseline_version: str = Field(description="the rules in use the candidate is compared with")
    baseline_digest: str
    result: ScreeningReplayResult | None


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


class RulesActivation(ReplayActivation):
    """Reload naming the screening replay whose report approves the rules on disk."""


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
