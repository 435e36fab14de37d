"""The organizations as an admin edits them over the API (调解组织名录维护): overrides on the data. Pure.

The data (the county package's committees and data/mediation/organizations.json) gives the
organizations. An admin creates, changes, deactivates and reactivates them over the API; each edited
organization has one override document in MongoDB (`organization_overrides`, keyed by its code), and
the directory in force is the data with every override laid over it: at start, after each reload, and
every MEDIATION_DIRECTORY_REFRESH_SECONDS in every replica.

- An organization of organizations.json: the fields changed over the API replace the file's; a field
  never changed over the API follows the file.
- A committee of the county package: only `categories`, `note` and `active` are the API's; its name
  and jurisdiction are its unit's (units.json), changed in the package.
- One created over the API: every field is the override's.

An override the data no longer allows (its area or a category gone from the package, or an edit of an
organization the data dropped) is skipped and reported; the data holds until an admin corrects it.
Nothing is deleted: a deactivated organization keeps its mediations, mediators and figures readable.
"""

from dataclasses import replace
from datetime import datetime
from typing import Any, Literal

from pydantic import ValidationError

from services.mediation.domain.organizations import Directory, Organization

PACKAGE_EDITABLE = frozenset({"categories", "note"})
NOT_NULL = ("name", "type", "jurisdiction", "categories")
EDITS_KEPT = 200  # the latest edits kept on an override (who changed what, when)

Problem = tuple[tuple[str | int, ...], str]  # where in the body, and what is wrong (never the value)
Action = Literal["create", "change", "deactivate", "activate"]


def field_problems(fields: dict[str, Any], directory: Directory) -> list[Problem]:
    """What the county package does not know of an organization's area, categories and host unit."""
    problems: list[Problem] = []
    for name in NOT_NULL:
        if name in fields and fields[name] is None:
            problems.append(((name,), "may not be null"))
    area = fields.get("jurisdiction")
    if area is not None and area not in directory.areas:
        problems.append((("jurisdiction",), "not an area (county, town or village) of the county package"))
    for i, code in enumerate(fields.get("categories") or []):
        if code not in directory.categories:
            problems.append((("categories", i), "not a category code of the county package's taxonomy"))
    host = fields.get("host_unit")
    if host is not None and host not in directory.units:
        problems.append((("host_unit",), "not a unit of the county package"))
    return problems


def package_problems(changes: dict[str, Any], org: Organization) -> list[Problem]:
    """The fields of a county package committee that only the package changes."""
    if org.source != "county_package":
        return []
    return [
        ((name,), "comes from the county package's unit directory (units.json); change it there")
        for name in changes
        if name not in PACKAGE_EDITABLE
    ]


def code_taken(code: str, directory: Directory) -> str | None:
    """Why a new organization may not take a code: an organization or a unit of the package has it."""
    if code in directory.organizations:
        return f"organization {code} exists"
    if code in directory.units:
        return f"{code} is a unit of the county package"
    return None


def last_of_its_type(directory: Directory, code: str, *, new_type: str | None = None) -> str | None:
    """Why an organization may not stop taking mediations of its type: it is the last active one."""
    org = directory.organizations[code]
    if not org.active or new_type == org.type:
        return None
    others = [
        o for o in directory.organizations.values() if o.active and o.type == org.type and o.code != code
    ]
    if others:
        return None
    return f"{code} is the last active organization of type {org.type}: such mediations could not be opened"


def merged(base: Organization | None, override: dict[str, Any], directory: Directory) -> Organization:
    """An organization with its override laid over the data (`base` None: created over the API)."""
    fields = dict(override.get("fields") or {})
    if base is not None and base.source == "county_package":
        fields = {k: v for k, v in fields.items() if k in PACKAGE_EDITABLE}
    values = (base.model_dump() if base else {"categories": (), "host_unit": None, "note": None}) | fields
    values |= {
        "code": override["_id"],
        "level": directory.areas[values["jurisdiction"]][0],
        "categories": tuple(values.get("categories") or ()),
        "source": base.source if base else "api",
        "active": bool(override.get("active", True)),  # read with bool(): docs/decisions/0006
        "edited": True,
    }
    return Organization.model_validate(values)


def apply_overrides(directory: Directory, overrides: list[dict[str, Any]]) -> tuple[Directory, list[str]]:
    """The directory in force: the data's organizations with every usable override laid over them,
    and a line for each override skipped."""
    organizations = dict(directory.data_organizations)
    skipped: list[str] = []
    for doc in overrides:
        code = doc["_id"]
        base = directory.data_organizations.get(code)
        if base is None and doc.get("origin") != "api":
            skipped.append(f"{code}: edited over the API, but the data no longer has it; edit not used")
            continue
        wrong = field_problems(doc.get("fields") or {}, directory)
        if wrong:
            reasons = "; ".join(f"{'.'.join(map(str, loc))}: {msg}" for loc, msg in wrong)
            skipped.append(f"{code}: {reasons}; edit not used")
            continue
        try:
            organizations[code] = merged(base, doc, directory)
        except (KeyError, ValidationError) as exc:  # a document written by hand, not by the API
            skipped.append(f"{code}: incomplete override ({type(exc).__name__}); edit not used")
    return replace(directory, organizations=organizations), skipped


def edited(
    current: dict[str, Any] | None,
    code: str,
    *,
    origin: Literal["api", "data"],
    action: Action,
    by: dict[str, Any] | None,
    at: datetime,
    fields: dict[str, Any] | None = None,
    active: bool | None = None,
    reason: str | None = None,
) -> dict[str, Any]:
    """The override document after an edit (new at version 1, or the next version of `current`)."""
    doc = current or {"_id": code, "origin": origin, "fields": {}, "active": True, "edits": [], "version": 0}
    entry = {"action": action, "at": at, "by": by, "fields": sorted(fields or {}), "reason": reason}
    return {
        **doc,
        "fields": {**doc["fields"], **(fields or {})},
        "active": doc["active"] if active is None else active,
        "edits": [*doc["edits"], entry][-EDITS_KEPT:],
        "version": doc["version"] + 1,
    }
