"""The authorization table (data/policy/authorization.yaml): who may call each HTTP operation, and
with which scope. Every service checks it on each request, before the operation runs.

An operation is `<METHOD> <path template>` as the service's router declares it (`GET
/v1/cases/{case_id}`). An operation the table does not name is refused to everyone (deny by default);
an operation marked `open311` takes no bearer token (the Open311 door checks its own keys), nor one
marked `public` (the petitioner's progress lookup checks the case number and code it is given).
"""

from dataclasses import dataclass
from enum import StrEnum
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from dispatch_common.paths import DATA_DIR

DEFAULT_TABLE = DATA_DIR / "policy" / "authorization.yaml"
OPEN311 = "open311"
PUBLIC = "public"


class Scope(StrEnum):
    """What a role reaches through an operation (the table's header says each in words)."""

    COUNTY = "county"
    AREA = "area"
    UNIT = "unit"
    OWN = "own"
    ANY = "any"


class TableError(ValueError):
    """The table names an unknown role, scope or service; the message lists every problem."""


@dataclass(frozen=True)
class Grant:
    """An operation's entry: the roles allowed with their scope, or open to Open311 clients."""

    roles: dict[str, Scope]
    open311: bool = False
    public: bool = False  # no token: the operation checks its own credential (docs/progress.md)


@dataclass(frozen=True)
class AuthorizationTable:
    """The table, by service and operation."""

    version: int
    operations: dict[str, dict[str, Grant]]
    capabilities: dict[str, dict[str, dict[str, Scope]]]

    def grant(self, service: str, method: str, path: str) -> Grant | None:
        """The entry of `<method> <path>` of a service, or None when the table does not name it."""
        return self.operations.get(service, {}).get(f"{method.upper()} {path}")

    def capabilities_of(self, service: str, role: str) -> dict[str, Scope]:
        """The capabilities a role has in a service, with their scope."""
        named = self.capabilities.get(service, {})
        return {name: roles[role] for name, roles in named.items() if role in roles}

    @classmethod
    def parse(cls, raw: dict[str, Any], roles: set[str]) -> "AuthorizationTable":
        """Read and check the table; raise TableError with every problem at once."""
        problems: list[str] = []
        operations: dict[str, dict[str, Grant]] = {}
        for service, ops in (raw.get("operations") or {}).items():
            operations[service] = {}
            for operation, entry in (ops or {}).items():
                method, _, path = str(operation).partition(" ")
                if method not in ("GET", "POST", "PUT", "PATCH", "DELETE") or not path.startswith("/"):
                    problems.append(f"{service}: {operation!r} is not '<METHOD> <path>'")
                    continue
                if entry in (OPEN311, PUBLIC):
                    operations[service][operation] = Grant(
                        {}, open311=entry == OPEN311, public=entry == PUBLIC
                    )
                    continue
                operations[service][operation] = Grant(
                    _roles(f"{service} {operation}", entry, roles, problems)
                )
        capabilities: dict[str, dict[str, dict[str, Scope]]] = {}
        for service, named in (raw.get("capabilities") or {}).items():
            for name, entry in (named or {}).items():
                grants = _roles(f"{service} capability {name}", entry, roles, problems)
                capabilities.setdefault(service, {})[name] = grants
        if problems:
            raise TableError("; ".join(problems))
        return cls(version=int(raw.get("version") or 1), operations=operations, capabilities=capabilities)


def _roles(where: str, entry: Any, roles: set[str], problems: list[str]) -> dict[str, Scope]:
    """An entry's roles with their scopes, problems noted."""
    if not isinstance(entry, dict) or not entry:
        problems.append(f"{where}: give roles with their scope")
        return {}
    grants: dict[str, Scope] = {}
    for role, scope in entry.items():
        if role not in roles:
            problems.append(f"{where}: unknown role {role!r}")
        elif scope not in Scope.__members__.values():
            problems.append(f"{where}: unknown scope {scope!r} for {role}")
        else:
            grants[role] = Scope(scope)
    return grants


@cache
def load_table(path: Path = DEFAULT_TABLE) -> AuthorizationTable:
    """The table at `path`, read once per process."""
    from dispatch_common.auth import Role

    raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    return AuthorizationTable.parse(raw, {r.value for r in Role})
