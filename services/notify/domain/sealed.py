"""The ciphertexts notify stores: the petitioner's contact token (the phone intake sealed, bound to
its case by `crypto.contact_aad`) on the messages to the petitioner and on notify's view of a case.
How `make rekey` seals them again. Pure."""

from typing import Any

from dispatch_common.crypto import contact_aad, is_current
from dispatch_common.lookup_code import lookup_aad
from dispatch_common.rekey import Busy, Resealing


def reseal_message(sealing: Resealing, message: dict[str, Any]) -> dict[str, Any]:
    """A message's contact token sealed again; a message being sent right now is left for the next run
    (its sender writes the outcome over the document it read)."""
    token, code = message.get("contact_token"), message.get("lookup_token")
    if not token and not code:
        return {}
    if message.get("lease_ts") is not None and not all(
        is_current(sealing.keys, t) for t in (token, code) if t
    ):
        raise Busy(message["_id"])
    changes = {"contact_token": sealing.value(token, aad=contact_aad(message["case_id"]))} if token else {}
    if code:
        changes["lookup_token"] = sealing.value(code, aad=lookup_aad(message["case_id"]))
    return changes


def reseal_case_view(sealing: Resealing, view: dict[str, Any]) -> dict[str, Any]:
    """Notify's view of a case with the petitioner's contact token sealed again."""
    petitioner = view.get("petitioner") or {}
    token, code = petitioner.get("contact_token"), petitioner.get("lookup_token")
    if not token and not code:
        return {}
    resealed = dict(petitioner)
    if token:
        resealed["contact_token"] = sealing.value(token, aad=contact_aad(view["_id"]))
    if code:
        resealed["lookup_token"] = sealing.value(code, aad=lookup_aad(view["_id"]))
    return {"petitioner": resealed}
