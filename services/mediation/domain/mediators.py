"""Mediators (调解员): who they are, what they know, and the rule that picks one for a dispute.

The seed file data/mediation/mediators.json is checked against the organizations and the taxonomy
at load; after that the directory lives in the database and is edited over the API. A mediator's
current load is not stored: it is counted from the open mediations.
"""

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from services.mediation.domain.organizations import Directory, OrganizationsError

LANGUAGE_PATTERN = r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})?$"


class Mediator(BaseModel):
    """A mediator of one organization."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(min_length=1, max_length=32, pattern=r"^[0-9A-Za-z_-]+$")
    name: str = Field(min_length=1, max_length=50)
    organization: str = Field(min_length=1, max_length=32)
    specialties: list[str] = Field(default_factory=list, max_length=30)
    languages: list[str] = Field(default_factory=lambda: ["zh"], min_length=1, max_length=10)
    available: bool = True
    max_load: int = Field(5, ge=0, le=100)

    def specialty(self, category: str | None, subcategory: str | None) -> int:
        """How well the mediator knows a category: 2 its subcategory (or its first level named), 1 its
        first level through a sibling subcategory, 0 not at all."""
        if subcategory and subcategory in self.specialties:
            return 2
        if category and category in self.specialties:
            return 2
        if category and any(s.startswith(category) for s in self.specialties):
            return 1
        return 0


def check_mediator(mediator: Mediator, directory: Directory) -> list[str]:
    """What is wrong with a mediator against the organizations and the taxonomy."""
    problems = []
    if mediator.organization not in directory.organizations:
        problems.append(f"{mediator.id}: unknown organization {mediator.organization}")
    unknown = [c for c in mediator.specialties if c not in directory.categories]
    if unknown:
        problems.append(f"{mediator.id}: unknown specialty codes {unknown}")
    return problems


def load_mediators(path: Path, directory: Directory) -> list[Mediator]:
    """Read and check the seed file; raise OrganizationsError listing every problem."""
    raw = json.loads(path.read_text(encoding="utf-8"))
    problems: list[str] = []
    mediators: list[Mediator] = []
    seen: set[str] = set()
    for i, spec in enumerate(raw.get("mediators") or []):
        try:
            mediator = Mediator.model_validate(spec)
        except ValidationError as exc:
            problems += [
                f"{path.name}: mediators[{i}].{'.'.join(map(str, e['loc']))}: {e['msg']}"
                for e in exc.errors()
            ]
            continue
        if mediator.id in seen:
            problems.append(f"{path.name}: {mediator.id}: id used twice")
        seen.add(mediator.id)
        problems += [f"{path.name}: {p}" for p in check_mediator(mediator, directory)]
        mediators.append(mediator)
    if problems:
        raise OrganizationsError(problems)
    return mediators


@dataclass(frozen=True)
class MediatorChoice:
    """The mediator chosen, if any, and why."""

    mediator: Mediator | None
    explanation: list[str] = field(default_factory=list)


def choose_mediator(
    mediators: list[Mediator],
    loads: Mapping[str, int],
    *,
    category: str | None,
    subcategory: str | None,
    language: str | None = None,
) -> MediatorChoice:
    """The available mediator with room who speaks the parties' language, knows the category best
    and carries the lightest load (as a share of their maximum), then the smallest id."""
    why: list[str] = []
    free = []
    for m in mediators:
        load = loads.get(m.id, 0)
        if not m.available:
            why.append(f"{m.id} ({m.name}) is not available")
        elif load >= m.max_load:
            why.append(f"{m.id} ({m.name}) is at their maximum load {m.max_load}")
        else:
            free.append(m)
    if not free:
        why.append("no mediator of the organization is free: the organization assigns one")
        return MediatorChoice(None, why)

    def rank(m: Mediator) -> tuple[int, int, float, str]:
        speaks = 0 if language is None or language in m.languages else 1
        load = loads.get(m.id, 0)
        return (speaks, -m.specialty(category, subcategory), load / max(m.max_load, 1), m.id)

    chosen = min(free, key=rank)
    load = loads.get(chosen.id, 0)
    reasons = [f"specialty {'/'.join(chosen.specialties) or 'none'}", f"load {load} of {chosen.max_load}"]
    if language:
        reasons.insert(
            0, f"speaks {language}" if language in chosen.languages else f"nobody free speaks {language}"
        )
    why.append(f"mediator {chosen.id} ({chosen.name}): {', '.join(reasons)}")
    return MediatorChoice(chosen, why)
