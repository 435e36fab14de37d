"""The people of a mediation as stored: each name encrypted with the platform's personal-data keys
(AES-GCM, as intake stores a petitioner's) and kept masked for events; a party is also recognised by
its keyed hash. A session's record (调解记录: summary and attendees) and the agreement's document,
which name people, are stored encrypted whole. Every ciphertext is bound to the mediation and its
field (`mediation:<id>|parties.name`, see `SEALED_FIELDS`). Only the agreement and the API, for those
who may see the mediation, read them in clear, and each such read is audited (`clear_fields` says
what a view shows in clear). Pure.

What was recorded before names were encrypted (`name`, `record` in clear) is still read.
"""

import json
from datetime import datetime
from typing import Any

from dispatch_common.crypto import PiiKeys, decrypt, encrypt, keyed_hash, mask_name, record_aad
from dispatch_common.rekey import Resealing

PARTY_NAME = "parties.name"
PARTICIPANT_NAME = "sessions.participants.name"
SESSION_RECORD = "sessions.record"
AGREEMENT_DOCUMENT = "agreement.document"
SEALED_FIELDS = (PARTY_NAME, PARTICIPANT_NAME, SESSION_RECORD, AGREEMENT_DOCUMENT)


def mediation_aad(mediation_id: str, name: str) -> str:
    """The associated data of a mediation's field: `mediation:<id>|<field>`."""
    return record_aad("mediation", mediation_id, name)


def protected_person(keys: PiiKeys, mediation_id: str, role: str, name: str) -> dict[str, Any]:
    """A session's participant as stored: role, encrypted and masked name."""
    sealed = encrypt(keys, name, aad=mediation_aad(mediation_id, PARTICIPANT_NAME))
    return {"role": role, "name_enc": sealed, "name_masked": mask_name(name)}


def protected_party(keys: PiiKeys, mediation_id: str, role: str, name: str) -> dict[str, Any]:
    """A new party's stored form, before any answer."""
    return {
        "role": role,
        "name_enc": encrypt(keys, name, aad=mediation_aad(mediation_id, PARTY_NAME)),
        "name_masked": mask_name(name),
        "name_hash": keyed_hash(keys, name),
        "consent": None,
        "answered_at": None,
    }


def party_name(keys: PiiKeys, mediation_id: str, party: dict[str, Any], *, field: str = PARTY_NAME) -> str:
    """A stored party's (or, with `field=PARTICIPANT_NAME`, a participant's) name, in clear."""
    if party.get("name_enc"):
        return decrypt(keys, party["name_enc"], aad=mediation_aad(mediation_id, field))
    return str(party["name"])


def is_party(keys: PiiKeys, party: dict[str, Any], role: str, name: str) -> bool:
    """True when a stored party is this role and name."""
    if party["role"] != role:
        return False
    if party.get("name_hash"):
        return bool(party["name_hash"] == keyed_hash(keys, name))
    return bool(party.get("name") == name)


def sealed_record(keys: PiiKeys, mediation_id: str, record: dict[str, Any], at: datetime) -> dict[str, Any]:
    """A session's record as stored: summary and attendees encrypted together."""
    plain = {"summary": record["summary"], "attendees": list(record.get("attendees") or [])}
    aad = mediation_aad(mediation_id, SESSION_RECORD)
    return {"sealed": encrypt(keys, json.dumps(plain, ensure_ascii=False), aad=aad), "recorded_at": at}


def opened_record(keys: PiiKeys, mediation_id: str, record: dict[str, Any] | None) -> dict[str, Any] | None:
    """A session's record in clear, for those who may see the mediation."""
    if not record:
        return None
    if "sealed" not in record:
        return record
    plain = json.loads(decrypt(keys, record["sealed"], aad=mediation_aad(mediation_id, SESSION_RECORD)))
    return plain | {"recorded_at": record.get("recorded_at")}


def sealed_document(keys: PiiKeys, mediation_id: str, html: str) -> str:
    """The agreement's document as stored (it names the parties)."""
    return encrypt(keys, html, aad=mediation_aad(mediation_id, AGREEMENT_DOCUMENT))


def opened_document(keys: PiiKeys, mediation_id: str, agreement: dict[str, Any]) -> str:
    """The agreement's document in clear."""
    if agreement.get("document_enc"):
        return decrypt(keys, agreement["document_enc"], aad=mediation_aad(mediation_id, AGREEMENT_DOCUMENT))
    return str(agreement["document_html"])  # made before documents were encrypted


def person_shown(keys: PiiKeys, mediation_id: str, person: dict[str, Any]) -> dict[str, Any]:
    """A participant as the API shows it to those who may see the mediation."""
    return {"role": person["role"], "name": party_name(keys, mediation_id, person, field=PARTICIPANT_NAME)}


def party_shown(keys: PiiKeys, mediation_id: str, party: dict[str, Any]) -> dict[str, Any]:
    """A party as the API shows it to those who may see the mediation."""
    return {
        "role": party["role"],
        "name": party_name(keys, mediation_id, party),
        "consent": party.get("consent"),
        "answered_at": party.get("answered_at"),
    }


def clear_fields(doc: dict[str, Any]) -> list[str]:
    """The personal data a mediation's view shows in clear (what its audit entry names)."""
    sessions = doc.get("sessions") or []
    shown = {
        PARTY_NAME: bool(doc.get("parties")),
        PARTICIPANT_NAME: any(s.get("participants") for s in sessions),
        SESSION_RECORD: any(s.get("record") for s in sessions),
    }
    return [name for name, present in shown.items() if present]


def reseal_mediation(sealing: Resealing, doc: dict[str, Any]) -> dict[str, Any]:
    """The fields of a stored mediation that hold ciphertexts, each sealed again (`make rekey`)."""
    mid = doc["_id"]

    def name(person: dict[str, Any], field: str) -> dict[str, Any]:
        if not person.get("name_enc"):
            return person
        return person | {"name_enc": sealing.value(person["name_enc"], aad=mediation_aad(mid, field))}

    def session(s: dict[str, Any]) -> dict[str, Any]:
        out = s | {"participants": [name(p, PARTICIPANT_NAME) for p in s.get("participants") or []]}
        record = s.get("record")
        if record and record.get("sealed"):
            aad = mediation_aad(mid, SESSION_RECORD)
            out["record"] = record | {"sealed": sealing.value(record["sealed"], aad=aad)}
        return out

    changes: dict[str, Any] = {}
    if doc.get("parties"):
        changes["parties"] = [name(p, PARTY_NAME) for p in doc["parties"]]
    if doc.get("sessions"):
        changes["sessions"] = [session(s) for s in doc["sessions"]]
    agreement = doc.get("agreement")
    if agreement and agreement.get("document_enc"):
        aad = mediation_aad(mid, AGREEMENT_DOCUMENT)
        changes["agreement"] = agreement | {"document_enc": sealing.value(agreement["document_enc"], aad=aad)}
    return changes
