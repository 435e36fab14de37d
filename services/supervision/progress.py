"""The petitioner's progress lookup (扫码查询进度): a case number and lookup code open a case's
progress, and let the petitioner rate the answer or ask for 复查/复核 through the case's own actions.

Every call is counted first (per client address and per case number, shared across replicas:
dispatch_common/ratelimit.py), then the code is checked against the verifier intake announced
(adapters/lookup_codes.py). An unknown case number, a wrong code and a revoked code are checked with
the same slow hash and answered alike (`NotOpened`): nothing tells whether the case exists.
"""

import asyncio
from typing import Any

from dispatch_common import lookup_code
from dispatch_common.auth import Principal, Role
from dispatch_common.authz import Scope
from services.supervision import commands
from services.supervision.container import Supervision
from services.supervision.domain import progress
from services.supervision.domain.lifecycle import NotAllowed

CLIENT, CASE = "client", "case"


class NotOpened(Exception):
    """No case opens with this number and code (unknown, wrong or revoked: the same answer)."""


class Limited(Exception):
    """Too many lookups from this client or for this case: `seconds` to wait."""

    def __init__(self, seconds: float) -> None:
        super().__init__(f"retry after {seconds:.0f} s")
        self.seconds = seconds


def petitioner(case_id: str) -> Principal:
    """The petitioner of a case, as the code they gave opened it: may take the petitioner's actions."""
    return Principal(subject=f"petitioner:{case_id}", role=Role.PETITIONER, scope=Scope.COUNTY)


async def opened(sv: Supervision, case_no: str, code: str, client: str) -> dict[str, Any]:
    """The case file a number and code open, after counting the lookup; Limited or NotOpened."""
    for kind, who in ((CLIENT, client), (CASE, case_no)):
        wait = await sv.progress_limiter.check(kind, who)
        if wait is not None:
            raise Limited(wait)
    found = await sv.lookup_codes.find(case_no)
    verifier = found.get("verifier") if found else None  # None: unknown or revoked, checked all the same
    check = (lookup_code.verify, code, verifier, sv.lookup_key)
    slow = verifier is not None and verifier.startswith(lookup_code.SCRYPT)  # the first scheme's: a thread
    if not (await asyncio.to_thread(*check) if slow else lookup_code.verify(*check[1:])) or found is None:
        raise NotOpened(case_no)
    doc = await sv.files.get(found["case_id"])
    if doc is None:  # announced but not on file yet: as if unknown, for a moment
        raise NotOpened(case_no)
    return doc


async def view(sv: Supervision, doc: dict[str, Any]) -> dict[str, Any]:
    """The petitioner's view of an opened case."""
    return progress.view(doc, await sv.files.entries(doc["_id"]), sv.clock.now())


async def act(
    sv: Supervision, doc: dict[str, Any], action: str, note: str | None, details: dict[str, Any]
) -> dict[str, Any]:
    """One of the petitioner's own actions on an opened case (NotAllowed when the state or the time
    does not allow it); the case file after it."""
    allowed, _ = progress.may(doc, action, sv.clock.now())
    if not allowed:
        raise NotAllowed(
            f"{action} is not open to the petitioner in state {doc.get('status')} or is past its time"
        )
    saved = await commands.act(
        doc["_id"],
        commands.Command(action, note, details),
        caller=petitioner(doc["_id"]),
        files=sv.files,
        keeper=sv.keeper,
        clock=sv.clock,
        confidential_readers=sv.confidentiality.readers | {Role.PETITIONER},
    )
    sv.runtime.nudge()
    return saved
