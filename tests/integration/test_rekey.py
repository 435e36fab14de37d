"""`make rekey` on the real embedded server: data written under key A (and a value from before key
ids), the ring rotated to key B while the services run, the command run, key A removed, everything
still opens; the walk is idempotent, and safe against writers that change a document meanwhile."""

import asyncio
import base64
import json
import os
import shutil
from typing import Any

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from pymongo import MongoClient

from bench.notify_fakes import screened
from devtools.rekey import SEALED, add_dev_key, rekey
from dispatch_common import store
from dispatch_common.crypto import (
    KeyRing,
    PiiKeys,
    email_aad,
    encrypt,
    key_id,
    name_aad,
    read_key_file,
    write_key_file,
)
from dispatch_common.free_text import id_check_character
from dispatch_common.paths import DEFAULT_COUNTY_DIR
from dispatch_common.rekey import rekey_collection
from dispatch_common.settings import ServiceSettings
from services.intake.domain.protection import case_aad, reseal_case
from services.mediation.domain.parties import opened_document
from tests.intake_support import IntakeHarness, start_intake
from tests.mediation_support import mediate_to_agreement, start_mediation
from tests.notify_support import start_notify, stop_notify
from tests.supervision_support import start_supervision

pytestmark = pytest.mark.integration

ID_NUMBER = "15010219800307123"
ID_NUMBER += id_check_character(ID_NUMBER)
PHONE = "13812345678"
EMAIL = "wangwu@mail.county.example"


def legacy_token(key: bytes, plaintext: str) -> str:
    """A value as it was stored before key ids: base64(nonce + ciphertext), no associated data."""
    nonce = os.urandom(12)
    return base64.b64encode(nonce + AESGCM(key).encrypt(nonce, plaintext.encode(), None)).decode()


def ciphertexts(value: Any) -> list[str]:
    """Every ciphertext in a stored document (the fields that hold them end in _enc, token, sealed)."""
    found: list[str] = []
    if isinstance(value, dict):
        for k, v in value.items():
            if isinstance(v, str) and (k.endswith(("_enc", "_token")) or k in ("enc", "sealed")):
                found.append(v)
            else:
                found += ciphertexts(v)
    elif isinstance(value, list):
        for v in value:
            found += ciphertexts(v)
    return found


async def register_a_visit(h: IntakeHarness, text: str) -> str:
    body = {
        "channel": "petition_visit",
        "text": text,
        "address": f"幸福路88号（电话{PHONE}）",
        "people_count": 6,
        "petitioner": {"name": "王五", "phone": "13900001111", "id_number": ID_NUMBER, "email": EMAIL},
        "representatives": [{"name": "赵六", "phone": "13700002222"}, {"name": "钱七"}],
    }
    async with h.client("reception_clerk") as clerk:
        answer = await clerk.post("/v1/cases", json=body)
    assert answer.status_code == 201, answer.text
    return str(answer.json()["case_id"])


async def open_a_ledger_entry(servers: dict[str, Any]) -> None:
    """A risk-ledger entry whose party supervision seals (docs/ledger.md)."""
    town = next(
        u
        for u in json.loads((DEFAULT_COUNTY_DIR / "units.json").read_text())
        if u["type"] == "town_government"
    )
    supervision = await start_supervision(**servers)
    try:
        body = {
            "kind": "dispute",
            "title": "排查发现的纠纷",
            "place": {"area": town["jurisdiction"]},
            "parties": [{"name": "王五", "phone": PHONE, "id_number": ID_NUMBER}],
            "source": {"kind": "patrol"},
            "risk_level": "low",
            "owner": {"unit": town["code"], "person": "责任人"},
        }
        async with supervision.client("dispatcher") as dispatcher:
            answer = await dispatcher.post("/v1/ledger/entries", json=body)
        assert answer.status_code == 201, answer.text
    finally:
        await supervision.sv.runtime.stop()


async def stored_values(mongodb_url: str, db_prefix: str) -> dict[str, list[str]]:
    """Every ciphertext stored by intake, mediation and notify, by collection."""
    client = store.connect(mongodb_url, app_name="test-rekey")
    try:
        out = {}
        for target in SEALED:
            col = client[f"{db_prefix}{target.service}"][target.collection]
            out[f"{target.service}.{target.collection}"] = ciphertexts(await col.find({}).to_list())
        return out
    finally:
        await client.close()


async def email_tokens(mongodb_url: str, db_prefix: str) -> list[str]:
    """The petitioner's sealed e-mail address where it is stored: intake's first case, notify's e-mail
    message and notify's view of that case; and the name token on that view (a letter's, decision 0045)."""
    client = store.connect(mongodb_url, app_name="test-rekey")
    try:
        intake_cases = client[f"{db_prefix}intake"]["cases"]
        first = await intake_cases.find_one(
            {"petitioner.email_enc": {"$exists": True}}, sort=[("received_at", 1)]
        )
        notify = client[f"{db_prefix}notify"]
        message = await notify["notifications"].find_one({"case_id": "case-mail"})
        view = await notify["case_views"].find_one({"_id": "case-mail"})
        assert first and message and view
        held = view["petitioner"]
        return [
            first["petitioner"]["email_enc"],
            message["email_token"],
            held["email_token"],
            held["name_token"],
        ]
    finally:
        await client.close()


async def test_a_key_is_rotated_while_the_platform_runs_and_the_old_key_is_removed(
    nats_url, mongodb_url, db_prefix, tmp_path, nats_client, run_dir
):
    session_keys, run_dir = run_dir / "keys", tmp_path / "run"
    key_file = run_dir / "keys" / "pii_keys.json"
    key_file.parent.mkdir(parents=True)
    # the services' NATS identities are those the test server was configured with
    shutil.copytree(session_keys / "nats", run_dir / "keys" / "nats")
    key_a = os.urandom(32)  # key A: a key file from before key rings (read as k0, active and legacy)
    key_file.write_text(json.dumps({"encryption_key": base64.b64encode(key_a).decode(), "hash_key": "AAAA"}))
    servers = {"nats_url": nats_url, "mongodb_url": mongodb_url, "db_prefix": db_prefix, "run_dir": run_dir}
    overrides = {"mongodb_url": mongodb_url, "mongodb_db_prefix": db_prefix, "run_dir": run_dir}

    intake = await start_intake(**servers)
    mediation = await start_mediation(**servers)
    notify = await start_notify(
        nats_url=nats_url,
        mongodb_url=mongodb_url,
        run_dir=run_dir,
        nc=nats_client,
        tmp_path=tmp_path,
        mongodb_db_prefix=db_prefix,
    )
    try:
        case_id = await register_a_visit(intake, f"对征地补偿不满，联系电话{PHONE}，身份证{ID_NUMBER}")
        cases = intake.intake.cases.cases  # and one value as it was stored before key ids
        await cases.update_one(
            {"_id": case_id}, {"$set": {"petitioner.name_enc": legacy_token(key_a, "王五")}}
        )
        mid = await mediate_to_agreement(mediation, "case-rekey")
        await open_a_ledger_entry(servers)
        await notify.publish(screened("case-sms", "990102-2026-000001", **notify.contact(PHONE, "case-sms")))
        await notify.settled("case-sms", 1)
        mail = {
            "email_token": encrypt(notify.keys, EMAIL, aad=email_aad("case-mail")),
            "notify_channel": "email",
        }
        event = screened("case-mail", "990102-2026-000002", **mail)
        name_token = encrypt(notify.keys, "王五", aad=name_aad("case-mail"))  # a letter's (decision 0045)
        petitioner = event.data["petitioner"] | {"name_token": name_token}
        await notify.publish(event.model_copy(update={"data": event.data | {"petitioner": petitioner}}))
        await notify.settled("case-mail", 1)
    finally:
        await mediation.med.runtime.stop()
        await stop_notify(notify)
        await intake.intake.runtime.stop()
    before = await stored_values(mongodb_url, db_prefix)
    assert all(before.values()) and {key_id(v) for vs in before.values() for v in vs} == {"k0", None}
    sealed_addresses = await email_tokens(mongodb_url, db_prefix)  # intake's, and notify's message and view
    assert [key_id(v) for v in sealed_addresses] == ["k0"] * 4

    # key B joins the ring and becomes active; the services restart with it and keep registering
    assert add_dev_key(ServiceSettings(run_dir=run_dir, environment="test")) == "k1"
    intake = await start_intake(**servers)
    try:
        writing = asyncio.gather(*(register_a_visit(intake, f"第{i}次来访，电话{PHONE}") for i in range(6)))
        tallies, new_cases = await asyncio.gather(rekey(overrides=overrides), writing)
        assert all(t.complete for t in tallies), [t.line() for t in tallies]
        assert sum(t.rewritten for t in tallies) >= 4 and sum(t.resealed for t in tallies) >= 15
        again = await rekey(overrides=overrides)  # idempotent: nothing left to do
        assert [t.rewritten for t in again] == [0] * len(SEALED) and all(t.complete for t in again)
    finally:
        await intake.intake.runtime.stop()

    # key A leaves the ring: everything stored still opens, with key B alone
    ring = read_key_file(key_file)
    only_b = PiiKeys(KeyRing("k1", {"k1": ring.ring.keys["k1"]}), ring.hash_key)
    write_key_file(key_file, only_b)
    after = await stored_values(mongodb_url, db_prefix)
    assert {key_id(v) for vs in after.values() for v in vs} == {"k1"}
    assert [key_id(v) for v in await email_tokens(mongodb_url, db_prefix)] == ["k1"] * 4
    checked = await rekey(overrides=overrides, dry_run=True)  # opens every value, writes nothing
    assert all(t.complete and t.resealed == 0 for t in checked), [t.line() for t in checked]
    assert sum(t.current for t in checked) == sum(len(vs) for vs in after.values())

    intake = await start_intake(**servers)
    mediation = await start_mediation(**servers)
    try:
        async with intake.client("dispatcher") as dispatcher:
            for cid in [case_id, *new_cases]:
                clear = await dispatcher.get(f"/v1/cases/{cid}", params={"unmask": "true", "reason": "核实"})
                assert clear.status_code == 200 and clear.json()["petitioner"]["phone"] == "13900001111"
            first = (
                await dispatcher.get(f"/v1/cases/{case_id}", params={"unmask": "true", "reason": "核实"})
            ).json()
        assert first["petitioner"] == {
            "anonymous": False,
            "name": "王五",
            "phone": "13900001111",
            "id_number": ID_NUMBER,
            "email": EMAIL,
            "postal_address": None,
        }
        assert PHONE in first["text"] and ID_NUMBER in first["text"]
        async with mediation.client("dispatcher") as dispatcher:
            shown = (await dispatcher.get(f"/v1/mediations/{mid}")).json()
            page = await dispatcher.get(f"/v1/mediations/{mid}/agreement")
        assert [p["name"] for p in shown["parties"]] == ["张三", "李四"]
        assert shown["sessions"][0]["record"]["summary"] == "张三李四当面协商" and "张三" in page.text
        doc = await mediation.med.repo.get(mid)
        assert doc is not None and doc["sessions"][0]["start_at"].tzinfo is not None  # types kept by $set
        assert "李四" in opened_document(only_b, mid, doc["agreement"])
    finally:
        await mediation.med.runtime.stop()
        await intake.intake.runtime.stop()


async def test_a_document_changed_meanwhile_is_read_again_and_a_moved_value_is_reported(
    mongodb_url, db_prefix
):
    material = {"a": os.urandom(32), "b": os.urandom(32)}
    old = PiiKeys(KeyRing("a", {"a": material["a"]}), b"h" * 32)
    new = PiiKeys(KeyRing("b", material), b"h" * 32)

    def case(case_id: str, phone_enc: str) -> dict[str, Any]:
        return {"_id": case_id, "version": 3, "status": "accepted", "petitioner": {"phone_enc": phone_enc}}

    sealed = encrypt(old, PHONE, aad=case_aad("c-1", "petitioner.phone"))
    db = f"{db_prefix}intake"
    client = store.connect(mongodb_url, app_name="test-rekey")
    col = client[db]["cases"]
    await col.insert_many([case("c-1", sealed), case("c-2", sealed)])  # c-2 holds c-1's value, copied
    writer = MongoClient(mongodb_url)  # a service, writing between the walk's read and its write
    raced: list[str] = []

    def reseal_while_a_service_writes(sealing: Any, doc: dict[str, Any]) -> dict[str, Any]:
        if doc["_id"] == "c-1" and not raced:
            raced.append(doc["_id"])
            writer[db]["cases"].update_one(
                {"_id": "c-1"}, {"$set": {"status": "redirected"}, "$inc": {"version": 1}}
            )
        return reseal_case(sealing, doc)

    try:
        tally = await rekey_collection(col, reseal_while_a_service_writes, new, projection=["petitioner"])
        stored = {d["_id"]: d async for d in col.find({})}
    finally:
        writer.close()
        await client.drop_database(db)
        await client.close()
    assert (tally.documents, tally.conflicts, tally.rewritten) == (2, 1, 1)
    assert stored["c-1"]["status"] == "redirected" and stored["c-1"]["version"] == 5  # both writes kept
    assert key_id(stored["c-1"]["petitioner"]["phone_enc"]) == "b"
    assert list(tally.failed) == ["c-2"] and not tally.complete  # the copied value is not rewritten
    assert stored["c-2"]["petitioner"]["phone_enc"] == sealed and stored["c-2"]["version"] == 3
