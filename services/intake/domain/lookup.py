"""The lookup code (查询码) intake gives each case: made at registration, re-issued or revoked by a
clerk. Pure.

Intake stores no code and no hash of it, only its version and whether it is revoked: the code is
derived from the case id and the version under the PII hash key (HMAC), so intake can seal it again
for notify when a later screening announces the case, and a new version is a new code. The verifier
(dispatch_common/lookup_code.py) leaves with `dispatch.case.received` and
`dispatch.case.lookup_code_changed` for supervision, which answers the public lookup; the clear code
leaves only sealed for notify (`petitioner.lookup_token`, bound to the case like the contact), and
once to the clerk who re-issues it.
"""

import hashlib
import hmac
from dataclasses import dataclass
from typing import Any

from dispatch_common import lookup_code
from dispatch_common.crypto import PiiKeys, encrypt
from dispatch_common.lookup_code import lookup_aad
from services.intake.domain.events import PetitionerView


def derive(keys: PiiKeys, case_id: str, version: int) -> str:
    """The code of a case at a version."""
    mac = hmac.new(keys.hash_key, f"lookup-code|{case_id}|{version}".encode(), hashlib.sha256)
    return lookup_code.from_bytes(mac.digest())


@dataclass(frozen=True)
class Issued:
    """A code just made: its clear form (for the clerk), verifier (for supervision), version."""

    code: str
    verifier: str
    version: int


def issue(keys: PiiKeys, case_id: str, version: int) -> Issued:
    """Make the code of a version with its verifier (two HMACs)."""
    code = derive(keys, case_id, version)
    return Issued(code, lookup_code.make_verifier(code, lookup_code.verifier_key(keys)), version)


def stored(version: int, *, revoked: bool = False) -> dict[str, Any]:
    """What a case keeps of its code."""
    return {"version": version, "revoked": revoked}


def with_token(keys: PiiKeys, view: PetitionerView, case: dict[str, Any]) -> PetitionerView:
    """The petitioner's view with the current code sealed for notify (none when revoked or absent)."""
    state = case.get("lookup") or {}
    if not state or state.get("revoked"):
        return view
    code = derive(keys, case["_id"], int(state["version"]))
    return view.model_copy(update={"lookup_token": encrypt(keys, code, aad=lookup_aad(case["_id"]))})
