"""Editing the mediation organizations over the API: create, change, deactivate, reactivate.

Each command checks the edit against the directory in force (the caller refreshes it from MongoDB
first, so a replica acts on what another wrote) and writes the organization's override under its
version (domain/organization_edits.py); the caller then lays the overrides over the data again.
Failures: OrganizationNotFound (404), FieldProblems (422, per field), NotAllowed (409: a code taken,
the last organization of a type, the wrong state), store.VersionConflict (409: edited meanwhile).
"""

from collections.abc import Callable
from typing import Any

from dispatch_common.auth import Principal
from dispatch_common.clock import Clock
from services.mediation.adapters.repository import MediationStore
from services.mediation.domain.lifecycle import NotAllowed
from services.mediation.domain.models import actor
from services.mediation.domain.organization_edits import (
    Problem,
    code_taken,
    edited,
    field_problems,
    last_of_its_type,
    package_problems,
)
from services.mediation.domain.organizations import Directory, Organization


class OrganizationNotFound(Exception):
    """No mediation organization of that code."""


class FieldProblems(ValueError):
    """Fields of an edit that the county package does not allow, each with where and why."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("; ".join(f"{'.'.join(map(str, loc))}: {msg}" for loc, msg in problems))


def revision(override: dict[str, Any] | None) -> int:
    """An organization's revision (its ETag): its override's version, 0 while never edited over the API."""
    return override["version"] if override else 0


def _known(code: str, directory: Directory) -> Organization:
    org = directory.organizations.get(code)
    if org is None:
        raise OrganizationNotFound(f"no mediation organization {code}")
    return org


async def create_organization(
    fields: dict[str, Any], *, repo: MediationStore, directory: Directory, clock: Clock, caller: Principal
) -> str:
    """A new organization, taking mediations at once; its code."""
    code = fields.pop("code")
    taken = code_taken(code, directory)
    if taken:
        raise NotAllowed(taken)
    problems = field_problems(fields, directory)
    if problems:
        raise FieldProblems(problems)
    doc = edited(None, code, origin="api", action="create", by=actor(caller), at=clock.now(), fields=fields)
    await repo.save_organization_override(None, doc)
    return code


async def change_organization(
    code: str,
    changes: dict[str, Any],
    *,
    repo: MediationStore,
    directory: Directory,
    clock: Clock,
    caller: Principal,
    precondition: Callable[[int], None] | None = None,
) -> None:
    """Change the fields given; a county package committee only its categories and note.
    `precondition` may refuse the override's version read (If-Match; 0: never edited)."""
    org = _known(code, directory)
    if not changes:
        raise FieldProblems([((), "name at least one field to change")])
    problems = package_problems(changes, org) or field_problems(changes, directory)
    if problems:
        raise FieldProblems(problems)
    if "type" in changes:
        last = last_of_its_type(directory, code, new_type=changes["type"])
        if last:
            raise NotAllowed(last)
    current = await repo.organization_override(code)
    if precondition is not None:
        precondition(revision(current))
    origin = "api" if org.source == "api" else "data"
    doc = edited(
        current, code, origin=origin, action="change", by=actor(caller), at=clock.now(), fields=changes
    )
    await repo.save_organization_override(current, doc)


async def set_active(
    code: str,
    active: bool,
    reason: str,
    *,
    repo: MediationStore,
    directory: Directory,
    clock: Clock,
    caller: Principal,
    precondition: Callable[[int], None] | None = None,
) -> None:
    """Deactivate an organization (no new mediations; its open ones go on, its history stays) or take
    it back into service."""
    org = _known(code, directory)
    if org.active == active:
        raise NotAllowed(f"organization {code} is {'active' if active else 'deactivated'} already")
    if not active:
        last = last_of_its_type(directory, code)
        if last:
            raise NotAllowed(last)
    current = await repo.organization_override(code)
    if precondition is not None:
        precondition(revision(current))
    doc = edited(
        current,
        code,
        origin="api" if org.source == "api" else "data",
        action="activate" if active else "deactivate",
        by=actor(caller),
        at=clock.now(),
        active=active,
        reason=reason,
    )
    await repo.save_organization_override(current, doc)
