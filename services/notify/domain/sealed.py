"""The ciphertexts notify stores: the petitioner's contact token (the phone intake sealed, bound to
its case by `crypto.contact_aad`), e-mail token (`crypto.email_aad`) and lookup code on the messages to
the petitioner and on notify's view of a case, and the name and postal address tokens
(`crypto.name_aad`, `crypto.address_aad`) on the view of a case only (a printed letter opens them:
domain/addressee.py). How `make rekey` seals them again. Pure."""

from typing import Any

from dispatch_common.crypto import address_aad, contact_aad, email_aad, is_current, name_aad
from dispatch_common.lookup_code import lookup_aad
from dispatch_common.rekey import Busy, Resealing

# The sealed fields and the associated data each is bound to, from the case id.
TOKENS = {
    "contact_token": contact_aad,
    "email_token": email_aad,
    "lookup_token": lookup_aad,
    "name_token": name_aad,
    "address_token": address_aad,
}


def _resealed(sealing: Resealing, holder: dict[str, Any], case_id: str) -> dict[str, str]:
    return {
        name: sealing.value(holder[name], aad=aad(case_id))
        for name, aad in TOKENS.items()
        if holder.get(name)
    }


def reseal_message(sealing: Resealing, message: dict[str, Any]) -> dict[str, Any]:
    """A message's tokens sealed again; a message being sent right now is left for the next run (its
    sender writes the outcome over the document it read)."""
    held = [message[name] for name in TOKENS if message.get(name)]
    if not held:
        return {}
    if message.get("lease_ts") is not None and not all(is_current(sealing.keys, t) for t in held):
        raise Busy(message["_id"])
    return _resealed(sealing, message, message["case_id"])


def reseal_case_view(sealing: Resealing, view: dict[str, Any]) -> dict[str, Any]:
    """Notify's view of a case with the petitioner's tokens sealed again."""
    petitioner = view.get("petitioner") or {}
    changes = _resealed(sealing, petitioner, view["_id"])
    return {"petitioner": petitioner | changes} if changes else {}
