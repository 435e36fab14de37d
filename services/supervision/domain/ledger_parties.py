"""The people a ledger entry involves, protected as petitioners are: never stored in clear.

Each party's name (and phone and ID number when given) is encrypted with the platform's personal-data
keys and bound to the entry and field (`ledger:<id>|parties.name`, dispatch_common/crypto.py), kept
masked for views, and recognised by keyed hashes: the phone and ID number by intake's own
(dispatch_common/identity_keys.py), so a party is recognised as the petitioner they are. Views show
the masked forms only; `dispatch.ledger.opened` carries the parties' phone and ID hashes sealed for
the PII-key holders (`party_keys`; the petitioner profile joins entries by them, decision 0046) and
nothing else of a party. Pure.
"""

from typing import Any

from dispatch_common.crypto import (
    PiiKeys,
    decrypt,
    encrypt,
    keyed_hash,
    mask_id_number,
    mask_name,
    mask_phone,
    record_aad,
)
from dispatch_common.identity_keys import id_number_hash, ledger_keys_aad, phone_hash, seal_keys
from dispatch_common.rekey import Resealing

PARTY_NAME = "parties.name"
PARTY_PHONE = "parties.phone"
PARTY_ID_NUMBER = "parties.id_number"
ITEMS = (("name", PARTY_NAME), ("phone", PARTY_PHONE), ("id_number", PARTY_ID_NUMBER))
HASHES = {"name": keyed_hash, "phone": phone_hash, "id_number": id_number_hash}


def ledger_aad(entry_id: str, name: str) -> str:
    """The associated data of an entry's field: `ledger:<id>|<field>`."""
    return record_aad("ledger", entry_id, name)


def protected_party(keys: PiiKeys, entry_id: str, party: dict[str, Any]) -> dict[str, Any]:
    """A party as stored: role, and per item given its ciphertext, mask and keyed hash."""
    stored: dict[str, Any] = {"role": party.get("role") or "party"}
    for item, field, mask in (
        ("name", PARTY_NAME, mask_name),
        ("phone", PARTY_PHONE, mask_phone),
        ("id_number", PARTY_ID_NUMBER, mask_id_number),
    ):
        value = party.get(item)
        if not value:
            continue
        stored[f"{item}_enc"] = encrypt(keys, value, aad=ledger_aad(entry_id, field))
        stored[f"{item}_masked"] = mask(value)
        stored[f"{item}_hash"] = HASHES[item](keys, value)
    return stored


def party_keys(parties: list[dict[str, Any]]) -> list[str]:
    """The keys the entry's parties are recognised by as petitioners: their phone and ID hashes."""
    found = (p.get(f"{item}_hash") for p in parties for item in ("id_number", "phone"))
    return sorted({key for key in found if key})


def sealed_party_keys(keys: PiiKeys, entry_id: str, parties: list[dict[str, Any]]) -> str | None:
    """The parties' keys as `dispatch.ledger.opened` carries them, sealed for the PII-key holders and
    bound to the entry (None: no party gave a phone or ID number)."""
    return seal_keys(keys, party_keys(parties), aad=ledger_keys_aad(entry_id))


def party_shown(party: dict[str, Any]) -> dict[str, Any]:
    """A party as every view shows it: its role and masks."""
    return {
        "role": party["role"],
        "name_masked": party.get("name_masked"),
        "phone_masked": party.get("phone_masked"),
        "id_number_masked": party.get("id_number_masked"),
    }


def reseal_entry(sealing: Resealing, doc: dict[str, Any]) -> dict[str, Any]:
    """An entry's parties with every ciphertext sealed again under the active key (`make rekey`)."""
    if not doc.get("parties"):
        return {}

    def party(p: dict[str, Any]) -> dict[str, Any]:
        out = dict(p)
        for item, field in ITEMS:
            if p.get(f"{item}_enc"):
                aad = ledger_aad(doc["_id"], field)
                out[f"{item}_enc"] = sealing.value(p[f"{item}_enc"], aad=aad)
                # a phone hashed as given before the shared normalisation (decision 0046): hashed again
                again = HASHES[item](sealing.keys, decrypt(sealing.keys, p[f"{item}_enc"], aad=aad))
                if again != p.get(f"{item}_hash"):
                    out[f"{item}_hash"] = again
                    sealing.resealed += 1  # a value made current: the document is written
        return out

    return {"parties": [party(p) for p in doc["parties"]]}
