"""The ciphertexts notify stores: the petitioner's contact token (the phone intake sealed, bound to
its case by `crypto.contact_aad`) on the messages to the petitioner and on notify's view of a case.
How `make rekey` seals them again. Pure."""

from typing import Any

from dispatch_common.crypto import contact_aad, is_current
from dispatch_common.rekey import Busy, Resealing


def reseal_message(sealing: Resealing, message: dict[str, Any]) -> dict[str, Any]:
    """A message's contact token sealed again; a message being sent right now is left for the next run
    (its sender writes the outcome over the document it read)."""
    token = message.get("contact_token")
    if not token:
        return {}
    if message.get("lease_ts") is not None and not is_current(sealing.keys, token):
        raise Busy(message["_id"])
    return {"contact_token": sealing.value(token, aad=contact_aad(message["case_id"]))}


def reseal_case_view(sealing: Resealing, view: dict[str, Any]) -> dict[str, Any]:
    """Notify's view of a case with the petitioner's contact token sealed again."""
    petitioner = view.get("petitioner") or {}
    token = petitioner.get("contact_token")
    if not token:
        return {}
    return {"petitioner": petitioner | {"contact_token": sealing.value(token, aad=contact_aad(view["_id"]))}}
