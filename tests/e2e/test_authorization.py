"""The authorization table against the running platform: every operation of every service's live
OpenAPI document, called as every role, by a unit on the record and by a unit that is not.

The platform is seeded with records of known units (a case assigned to a town's unit and answered,
a mediation concluded with an agreement, a legal-aid referral, a confidential report given to the
discipline inspection, a recommendation, a unit's inbox message). Each call names one of them. What
the call shows is compared with data/policy/authorization.yaml:

- a role the table does not name for the operation is refused (401/403);
- a role with the county's scope (or `any`) gets through, whoever's unit it is;
- a role with a narrower scope (area, unit, own) gets through on its own unit's record, and finds
  nothing on another unit's: `404` for one record, the record missing from a list.

"Gets through" means the authorization let the call reach the operation: an answer that is not 401,
403 or 404 (a mutation is sent an invalid body, so it is refused with 422 and changes nothing once it
is admitted). An operation missing from the table is refused to everyone, so it fails here too.
"""

import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from devtools.stack import SERVICES, Stack
from dispatch_common.auth import Role
from dispatch_common.authz import Scope, load_table
from tests.e2e.authorization_calls import CREATES, NARROW, NONE_OF_THEIR_OWN, call_for
from tests.e2e.authorization_world import World, api, seed
from tests.e2e.conftest import Api, start_stack

pytestmark = pytest.mark.e2e

OPEN = {"/healthz", "/readyz", "/metrics"}
DENIED, HIDDEN, ADMITTED = "denied", "hidden", "admitted"
# Lists whose scope filters what they show: the seeded record's key is in the body, or not.
LISTS = {
    ("supervision", "GET", "/v1/worklist"),
    ("supervision", "GET", "/v1/cases"),  # the staff search: a unit finds only the cases it may see
    ("supervision", "GET", "/v1/kpis"),
    ("supervision", "GET", "/v1/units/{unit}/recommendations"),
    ("mediation", "GET", "/v1/mediations"),
    ("mediation", "GET", "/v1/referrals"),
    ("mediation", "GET", "/v1/worklist/mediations"),
    ("mediation", "GET", "/v1/worklist/referrals"),
    ("mediation", "GET", "/v1/mediation-figures"),
    ("notify", "GET", "/v1/inbox"),
    ("supervision", "GET", "/v1/ledger/entries"),  # the risk ledger: an area's, a unit's, one's own
    ("supervision", "GET", "/v1/agent/cases"),  # an agent's own cases (docs/agents.md)
}
# Live streams (server-sent events) that name no record: what they tell a unit is its own (checked by
# content in tests/e2e/test_live_streams.py); here only whether the role is admitted at all.
STREAMS_OF_ONES_OWN = {
    ("supervision", "GET", "/v1/streams/worklist"),
    ("notify", "GET", "/v1/streams/inbox"),
}


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    """A platform of its own (the calls change records and the directory), seeded."""
    stack = start_stack(tmp_path_factory.mktemp("authz"))
    try:
        yield seed(stack)
    finally:
        stack.stop()


def outcome(response: httpx.Response, *, listed: bool, key: str) -> str:
    """What a call shows of the caller's access: a list that does not show the record hides it."""
    if response.status_code in (401, 403):
        return DENIED
    if response.status_code == 404 or (listed and response.status_code == 200 and key not in response.text):
        return HIDDEN
    return ADMITTED


# Roles whose own inbox the seed fills (a unit's, an organization's); another role's own inbox holds
# no seeded message, so its own list is admitted by answering at all.
INBOXES_SEEDED = {"unit_handler", "unit_leader", "mediator"}


def allowed(seen: str, scope: Scope | None, mine: bool, *, listed: bool, creates: bool, role: str) -> bool:
    """Whether what a call showed is what the table says of the role's scope."""
    if scope is None:
        return seen == DENIED
    if creates or scope in (Scope.COUNTY, Scope.ANY):
        return seen == ADMITTED
    if mine:
        unseeded = listed and scope == Scope.OWN and role not in INBOXES_SEEDED
        return seen == ADMITTED or (unseeded and seen == HIDDEN)
    return seen in (DENIED, HIDDEN)


def opened(caller: Api, url: str, query: dict[str, Any]) -> httpx.Response:
    """How a live stream answers (its status and headers; the stream itself goes on, so it is closed)."""
    with caller.client.stream("GET", url, params=query) as response:
        return response


def operations(stack: Stack) -> list[tuple[str, str, str, bool]]:
    """(service, method, path, has a body) of every operation of the live OpenAPI documents."""
    out = []
    for service in SERVICES:
        spec = httpx.get(f"{stack.url(service)}/openapi.json", timeout=10).json()
        for path, ops in spec["paths"].items():
            if path in OPEN:
                continue
            for method, op in ops.items():
                out.append((service, method.upper(), path, "requestBody" in op))
    return out


@pytest.mark.timeout(1200)  # about two thousand calls; a bound on waiting, not a timing figure
def test_every_operation_answers_every_role_as_the_table_says(world: World):
    table = load_table()
    differences: list[str] = []
    tried: Counter[str] = Counter()
    callers: dict[tuple[str, str], Api] = {}
    for service, method, path, body in operations(world.stack):
        grant = table.grant(service, method, path)
        assert grant is not None, f"{service} {method} {path} is not in the authorization table"
        if grant.open311 or grant.public:
            continue  # the Open311 door checks its clients' keys itself (tests/e2e/test_open311*)
        listed = (service, method, path) in LISTS
        creates = (service, method, path) in CREATES
        for role in Role:
            scope = grant.roles.get(role.value)
            for mine in (True, False):
                if mine and scope in NARROW and (service, method, path, role.value) in NONE_OF_THEIR_OWN:
                    tried["unseeded"] += 1
                    continue
                call = call_for(world, (service, method, path, body), role.value, scope, mine)
                caller = callers.get((role.value, call.unit)) or api(world.stack, role.value, call.unit)
                callers[(role.value, call.unit)] = caller
                if path.startswith("/v1/streams/"):
                    if not mine and (service, method, path) in STREAMS_OF_ONES_OWN and scope in NARROW:
                        tried["own stream"] += 1
                        continue
                    r = opened(caller, caller.url(service, call.url), call.query)
                else:
                    sent = {"json": call.body} if call.body is not None else {}
                    r = caller.client.request(
                        method, caller.url(service, call.url), params=call.query, **sent
                    )
                seen = outcome(r, listed=listed, key=call.key)
                tried[seen] += 1
                if not allowed(seen, scope, mine, listed=listed, creates=creates, role=role.value):
                    who = f"{role.value} of {'its own' if mine else 'another'} unit"
                    differences.append(f"{method} {service}{path} as {who}: {seen} ({r.status_code})")
    print(f"authorization calls: {sum(tried.values())} ({dict(tried)})")
    assert not differences, "\n".join(differences)
    assert tried[DENIED] and tried[HIDDEN] and tried[ADMITTED]


def test_an_operation_missing_from_the_table_keeps_its_service_from_starting(tmp_path: Path):
    from fastapi import APIRouter

    from dispatch_common.authz import TableError
    from dispatch_common.http import check_operations

    router = APIRouter()

    @router.get(f"/v1/unlisted-{uuid.uuid4().hex[:6]}")
    async def unlisted() -> dict[str, str]:
        return {}

    from fastapi import FastAPI

    app = FastAPI()
    app.include_router(router)
    with pytest.raises(TableError, match="names no entry"):
        check_operations(app, load_table(), "intake")
