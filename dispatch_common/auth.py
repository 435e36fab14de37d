"""Bearer JWT authentication and the caller's scope.

Locally a development issuer signs tokens with a key generated at first run (`make token`);
in production tokens are verified against the county identity provider's JWKS.
"""

import asyncio
import time
from collections.abc import Awaitable, Callable
from collections.abc import Set as AbstractSet
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import jwt
from fastapi import HTTPException, Request, Security, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel

from dispatch_common.authz import AuthorizationTable, Scope
from dispatch_common.problems import Problem
from dispatch_common.settings import ServiceSettings


class Role(StrEnum):
    """Who a caller is, as the county's identity provider says."""

    RECEPTION_CLERK = "reception_clerk"
    DISPATCHER = "dispatcher"
    UNIT_HANDLER = "unit_handler"
    UNIT_LEADER = "unit_leader"
    SUPERVISOR = "supervisor"
    COUNTY_LEADER = "county_leader"
    MEDIATOR = "mediator"
    AUDITOR = "auditor"
    EXTERNAL_SYSTEM = "external_system"
    ADMIN = "admin"
    GRID_WORKER = "grid_worker"  # 网格员: opens risk-ledger entries from a patrol; scope: its grid (area)
    # A petitioner who opened their case's progress with its number and lookup code (docs/progress.md):
    # never a token's role; the public progress operations make it for the case the code opened.
    PETITIONER = "petitioner"
    PROXY_AGENT = "proxy_agent"  # 信访代办员: the token's `sub` is the agent's id in the directory


# Roles that see every case of the county; the others see what their unit leads or assists on.
COUNTY_WIDE_ROLES = frozenset(
    {Role.DISPATCHER, Role.SUPERVISOR, Role.COUNTY_LEADER, Role.AUDITOR, Role.ADMIN, Role.RECEPTION_CLERK}
)


class Principal(BaseModel):
    """The authenticated caller, with the scope the authorization table gives its role for the
    operation it calls (None outside a request: tools and tests, where the role decides)."""

    subject: str
    role: Role
    unit: str | None = None
    area: str | None = None  # the area code the caller's unit serves (town, village), from the token
    name: str | None = None
    system: str | None = None  # an external system's id (its token's `system` claim): its references
    scope: Scope | None = None
    capabilities: dict[str, Scope] = {}  # finer permissions the table gives its role in this service

    @property
    def county_wide(self) -> bool:
        """True when the caller reaches every record of the county through this operation."""
        if self.scope is not None:
            return self.scope == Scope.COUNTY
        return self.role in COUNTY_WIDE_ROLES

    def may_see(
        self,
        *,
        unit_codes: AbstractSet[str],
        area_codes: AbstractSet[str] = frozenset(),
        confidential: bool = False,
        confidential_readers: AbstractSet[Role] = frozenset(),
    ) -> bool:
        """Whether the caller may see a case led or assisted by these units, or lying in these areas
        (the rule is `may_see` below)."""
        return may_see(
            self,
            unit_codes=unit_codes,
            area_codes=area_codes,
            confidential=confidential,
            confidential_readers=confidential_readers,
        )


def may_see(
    principal: Principal,
    *,
    unit_codes: AbstractSet[str],
    area_codes: AbstractSet[str] = frozenset(),
    confidential: bool = False,
    confidential_readers: AbstractSet[Role] = frozenset(),
) -> bool:
    """The one rule of who sees a case, whatever the service.

    A confidential report (检举控告): the roles the county package names (`confidential_readers`,
    routing_rules.json) and the units the case is assigned to (lead or assisting), nobody else: being
    county-wide or serving the area the case lies in gives nothing, since the accused may be the
    area's own town, station or committee. Any other case: as the caller's scope for the operation
    says (data/policy/authorization.yaml): `county` every case, `area` the units on it and those
    serving the town, village or grid it lies in, `unit` the units on it, `own` and `any` none.
    """
    on_the_case = principal.unit is not None and principal.unit in unit_codes
    if confidential:
        return principal.role in confidential_readers or on_the_case
    if principal.county_wide:
        return True
    if principal.scope in (None, Scope.AREA):  # None: outside a request, the role decides
        return on_the_case or (principal.area is not None and principal.area in area_codes)
    return on_the_case and principal.scope == Scope.UNIT


VERIFIED_TOKENS_KEPT = 10_000


class TokenVerifier:
    """Verifies bearer tokens with the development public key or the configured JWKS."""

    def __init__(self, settings: ServiceSettings) -> None:
        self._settings = settings
        self._key: Any = None
        self._jwks = (
            jwt.PyJWKClient(settings.jwt_jwks_url, cache_keys=True) if settings.jwt_jwks_url else None
        )
        # Tokens verified already, with their expiry: a frontend sends the same token many times, and
        # an RSA check per request costs more than the rest of a small request.
        self._verified: dict[str, tuple[Principal, float]] = {}

    def _public_key(self) -> Any:
        if self._key is None:
            path: Path = self._settings.public_key_path
            self._key = path.read_bytes()
        return self._key

    async def verify(self, token: str) -> Principal:
        """Decode and check a token; raise 401 with the reason when it is not acceptable."""
        known = self._verified.get(token)
        if known is not None and time.time() < known[1]:
            return known[0]
        principal, expires = await self._decode(token)
        if len(self._verified) >= VERIFIED_TOKENS_KEPT:
            self._verified.clear()
        self._verified[token] = (principal, expires)
        return principal

    async def _decode(self, token: str) -> tuple[Principal, float]:
        try:
            if self._jwks:
                signing = await asyncio.to_thread(self._jwks.get_signing_key_from_jwt, token)
                key = signing.key
            else:
                key = self._public_key()
            claims = jwt.decode(
                token,
                key,
                algorithms=self._settings.jwt_algorithms,
                audience=self._settings.jwt_audience,
                issuer=self._settings.jwt_issuer,
                options={"require": ["exp", "iss", "aud", "sub"]},
            )
            principal = Principal(
                subject=claims["sub"],
                role=Role(str(claims.get("role"))),
                unit=claims.get("unit"),
                area=claims.get("area"),
                name=claims.get("name"),
                system=claims.get("system"),
            )
            return principal, float(claims["exp"])
        except (jwt.PyJWTError, ValueError, OSError) as exc:
            raise Problem(
                status.HTTP_401_UNAUTHORIZED,
                f"invalid token: {exc}",
                detail_zh=f"令牌无效：{exc}",
                headers={"WWW-Authenticate": "Bearer"},
            ) from exc


# The bearer scheme in the OpenAPI (`bearerAuth`), on every operation that authenticates its caller, so
# that /docs's Authorize button sends the token; the checks and their answers are authenticate's own.
BEARER = HTTPBearer(
    scheme_name="bearerAuth",
    bearerFormat="JWT",
    description="A JWT from the county's identity provider (locally: `make token ROLE=<role> UNIT=<unit>`)",
    auto_error=False,
)


async def authenticate(
    request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Security(BEARER)]
) -> Principal:
    """FastAPI dependency: the caller from the Authorization header, admitted to the operation it
    calls by the authorization table (403 when its role is not named there), with its scope."""
    if credentials is None:
        raise Problem(
            status.HTTP_401_UNAUTHORIZED,
            "bearer token required",
            detail_zh="需要 Bearer 令牌（Authorization: Bearer <JWT>）",
            headers={"WWW-Authenticate": "Bearer"},
        )
    verifier: TokenVerifier = request.app.state.token_verifier
    principal = await verifier.verify(credentials.credentials)
    route = request.scope.get("route")
    path = getattr(route, "path", None)
    table: AuthorizationTable | None = getattr(request.app.state, "authorization", None)
    if path is None or table is None:  # not a routed request (a test calling a dependency by hand)
        return principal
    service = request.app.state.service_name
    operation = f"{request.method} {path}"
    grant = table.grant(service, request.method, path)
    scope = grant.roles.get(principal.role.value) if grant else None
    if scope is None:
        raise Problem(
            status.HTTP_403_FORBIDDEN,
            f"role {principal.role.value} may not {operation}",
            detail_zh=f"角色 {principal.role.value} 无权调用 {operation}",
        )
    capabilities = table.capabilities_of(service, principal.role.value)
    principal = principal.model_copy(update={"scope": scope, "capabilities": capabilities})
    if scope in (Scope.AREA, Scope.UNIT, Scope.OWN):
        await _within_scope(request, principal)
    return principal


Resolver = Callable[[str, "Principal"], Awaitable[bool]]
"""Whether the record a path parameter names (a case id, a mediation id...) is within the caller's
scope; registered by each service in `app.state.resolvers`, by parameter name."""


async def _within_scope(request: Request, principal: Principal) -> None:
    """Refuse with 404, before the operation reads its body, a record outside a unit's scope (the same
    answer as for an absent one: a unit learns nothing of others' records)."""
    resolvers: dict[str, Resolver] = getattr(request.app.state, "resolvers", {})
    for name, value in request.path_params.items():
        resolver = resolvers.get(name)
        if resolver is not None and not await resolver(str(value), principal):
            what = name.removesuffix("_id")
            raise Problem(status.HTTP_404_NOT_FOUND, f"no {what} {value}", detail_zh=f"未找到 {value}")


def granted(
    principal: Principal, service: str, operation: str, table: AuthorizationTable | None = None
) -> Principal:
    """The caller as the authorization table admits it to `<METHOD> <path>` of a service (its scope and
    capabilities), for tools and tests that call a service's commands without HTTP; PermissionError
    when the table does not admit the role."""
    from dispatch_common.authz import load_table

    table = table or load_table()
    method, _, path = operation.partition(" ")
    grant = table.grant(service, method, path)
    scope = grant.roles.get(principal.role.value) if grant else None
    if scope is None:
        raise PermissionError(f"role {principal.role.value} may not {operation}")
    capabilities = table.capabilities_of(service, principal.role.value)
    return principal.model_copy(update={"scope": scope, "capabilities": capabilities})


def require_capability(principal: Principal, name: str) -> Scope:
    """Refuse with 403 unless the table gives the caller's role this capability; its scope."""
    scope = principal.capabilities.get(name)
    if scope is None:
        raise HTTPException(status.HTTP_403_FORBIDDEN, f"role {principal.role.value} may not {name}")
    return scope


def require_roles(principal: Principal, *roles: Role) -> None:
    """Refuse with 403 unless the caller has one of the roles."""
    if principal.role not in roles:
        raise HTTPException(status.HTTP_403_FORBIDDEN, f"role {principal.role} may not do this")
