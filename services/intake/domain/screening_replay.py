"""What a what-if replay of the screening rules compares: the screening question a stored case asked,
two screenings of it, and the totals by outcome. Pure (no I/O): both sides are screened by the same
`Screener.screen` registration calls (handlers._assess); only the comparison lives here.

What screening reads is all stored with the case: the channel, the text (masked, its phone and ID
numbers sealed aside: the caller reveals them before asking), the address, the point (outside the
county or not, by the county boundary in use), the number of people and whether the petitioner is
anonymous. Screening reads nothing of the duplicates context (repeats and incidents are linked after
it), so a replay compares everything screening decides.
"""

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from services.intake.domain.screening import ScreeningInput, ScreeningResult

COMPARED: tuple[str, ...] = (
    "outcome",
    "rule_id",
    "reason",
    "transfer_to",
    "answer",
    "nature",
    "hotline_nature",
    "confidential",
)
"""The parts of a screening a replay reports when they change, in this order (the evidence is shown
beside them, not compared: the same rule may fire on another of its phrases)."""

PROJECTION = {
    "case_no": 1,
    "channel": 1,
    "text": 1,
    "address": 1,
    "free_text_pii": 1,
    "location": 1,
    "people_count": 1,
    "petitioner": 1,  # a whole sub-document: the embedded server drops dotted projections
    "screening": 1,
    "confidential": 1,
    "received_at": 1,
}
"""What a replay reads of a stored case."""


def question(case: dict[str, Any], clear: dict[str, str], outside_county: bool | None) -> ScreeningInput:
    """The screening question of a stored case, as registration asked it: `clear` has the clear text
    of the free-text fields whose numbers were sealed (protection.reveal_free_text), `outside_county`
    is what the county boundary says of its point (None without one)."""
    text = clear.get("text", case.get("text") or "")
    address = clear.get("address", case.get("address"))
    return ScreeningInput(
        channel=case["channel"],
        text=text,
        address=address,
        has_location=case.get("location") is not None or bool(address),
        outside_county=outside_county,
        people_count=case.get("people_count"),
        anonymous=(case.get("petitioner") or {}).get("anonymous", True),
    )


def rules_outcome(stored: dict[str, Any]) -> str:
    """The outcome the rules gave at registration: a case a person screened from the manual queue
    (`screened_by`) was `manual` by the rules."""
    return "manual" if stored.get("screened_by") else str(stored.get("outcome"))


def outline(result: ScreeningResult) -> dict[str, Any]:
    """The compared parts of a screening."""
    return {name: getattr(result, name) for name in COMPARED}


def changed_parts(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    """The compared parts (of two outlines) that differ, in COMPARED order."""
    return [name for name in COMPARED if before.get(name) != after.get(name)]


def side(result: ScreeningResult, *, withheld: bool) -> dict[str, Any]:
    """One side of a difference: the outline, the rules version and the evidence (left out for a
    confidential report: the evidence says what in its text fired)."""
    return {
        **outline(result),
        "rules_version": result.rules_version,
        "evidence": [] if withheld else result.evidence,
    }


@dataclass
class Tally:
    """What a screening replay counts as it goes."""

    cases: int = 0
    changed: int = 0
    drifted: int = 0  # stored rules outcomes the rules in use would now screen otherwise
    parts: Counter[str] = field(default_factory=Counter)
    moves: Counter[tuple[str, str]] = field(default_factory=Counter)

    def add(self, stored: dict[str, Any], before: ScreeningResult, after: ScreeningResult) -> list[str]:
        """Count one case; the parts that change."""
        self.cases += 1
        self.moves[(before.outcome, after.outcome)] += 1
        if rules_outcome(stored) != before.outcome:
            self.drifted += 1
        parts = changed_parts(outline(before), outline(after))
        if parts:
            self.changed += 1
            self.parts.update(parts)
        return parts

    def result(self) -> dict[str, Any]:
        before: Counter[str] = Counter()
        after: Counter[str] = Counter()
        for (was, will), n in self.moves.items():
            before[was] += n
            after[will] += n
        return {
            "cases": self.cases,
            "changed": self.changed,
            "drifted": self.drifted,
            "changed_parts": dict(sorted(self.parts.items())),
            "outcomes": [
                {"before": was, "after": will, "cases": n} for (was, will), n in sorted(self.moves.items())
            ],
            "before": dict(sorted(before.items())),
            "after": dict(sorted(after.items())),
        }
