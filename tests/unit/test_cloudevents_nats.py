"""CloudEvents on NATS messages, both modes of the NATS binding, checked against the CloudEvents SDK."""

import json
import re

import pytest

from dispatch_common import cloudevents_nats as binding
from dispatch_common.contracts import ContractError, validate_envelope, validate_event
from dispatch_common.envelope import Envelope, make_event
from tests import cloudevents_sdk as sdk

SUBMISSION = {
    "channel": "hotline_12345",
    "text": "路灯坏了",
    "external_ref": {"system": "hotline-12345", "id": "GD-1"},
}
ATTRIBUTES = {
    "type": "ingress.case.submit",
    "source": "/ingress/hotline-12345",
    "subject": "工单 GD-1 €",  # not ASCII: percent-encoded in a header
    "dataschema": "https://12345.example/schemas/submit.json",
    "traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",  # an extension
    "priority": 2,  # an integer extension
}


@pytest.mark.parametrize("mode", [sdk.to_structured, sdk.to_binary])
def test_an_sdk_event_in_either_mode_reads_as_the_same_valid_envelope(mode) -> None:
    made = sdk.event(ATTRIBUTES, SUBMISSION)
    headers, payload = mode(made)
    document = binding.decode(headers, payload)
    validate_envelope(document)
    envelope = Envelope.model_validate(document)
    assert (envelope.id, envelope.type, envelope.source) == (
        made.get_id(),
        made.get_type(),
        made.get_source(),
    )
    assert envelope.subject == "工单 GD-1 €"
    assert envelope.dataschema == ATTRIBUTES["dataschema"]
    assert envelope.extensions["traceparent"] == ATTRIBUTES["traceparent"]
    assert str(envelope.extensions["priority"]) == "2"  # a header carries its canonical string
    assert envelope.time == made.get_time()
    assert envelope.data == SUBMISSION


def test_the_mode_is_told_by_the_content_type_and_a_message_without_headers_is_structured() -> None:
    made = sdk.event(ATTRIBUTES, SUBMISSION)
    _, structured = sdk.to_structured(made)
    assert binding.is_structured({"Content-Type": "application/cloudevents+json; charset=utf-8"})
    assert not binding.is_structured({"ce-specversion": "1.0"})
    assert binding.decode(None, structured)["id"] == made.get_id()  # a publisher that sets no headers


def test_binary_headers_are_case_insensitive_quoted_or_percent_encoded_and_time_may_be_absent() -> None:
    headers = {
        "CE-SpecVersion": "1.0",
        "ce-id": "a b",
        "Ce-Type": "ingress.case.submit",
        "ce-source": '"/ingress/hotline-12345"',  # an older sender's quoted string
        "ce-subject": "%e2%82%ac",  # lower-case hex is accepted
    }
    document = binding.decode(headers, json.dumps(SUBMISSION).encode())
    assert document == {
        "specversion": "1.0",
        "id": "a b",
        "type": "ingress.case.submit",
        "source": "/ingress/hotline-12345",
        "subject": "€",
        "data": SUBMISSION,
    }
    validate_envelope(document)  # time and datacontenttype are optional


@pytest.mark.parametrize(
    ("headers", "payload", "reason"),
    [
        ({"ce-specversion": "1.0", "ce-id": "%C0%A0"}, b"{}", "not UTF-8"),  # an overlong encoding
        ({"ce-specversion": "1.0", "ce-datacontenttype": "application/xml"}, b"<a/>", "must be JSON"),
        ({"ce-specversion": "1.0"}, b"{not json", "not JSON"),
        ({"content-type": "application/cloudevents+json"}, b'{"data_base64": "AA=="}', "data_base64"),
        ({"content-type": "application/cloudevents+json"}, b"[1, 2]", "not a JSON object"),
    ],
)
def test_what_is_no_cloudevent_of_the_binding_is_refused_with_the_reason(headers, payload, reason) -> None:
    with pytest.raises(binding.BindingError, match=reason):
        binding.decode(headers, payload)


@pytest.mark.parametrize("encode", [binding.encode_structured, binding.encode_binary])
def test_the_platforms_events_in_either_mode_are_what_the_sdk_parses(encode) -> None:
    event = make_event(
        type="outcome.case.closed",
        source="/dispatch/intake",
        subject="c-1",
        data={"case_id": "c-1", "note": "已办结 ✓"},
    )
    headers, payload = encode(event.to_document())
    parsed = sdk.from_nats(headers, payload)
    assert parsed.get_id() == event.id and parsed.get_type() == "outcome.case.closed"
    assert parsed.get_time() == event.time
    assert parsed.get_data() == {"case_id": "c-1", "note": "已办结 ✓"}


@pytest.mark.parametrize(
    ("extra", "where"),
    [({"Priority": 1}, "Priority"), ({"data_base64": "AA=="}, "data_base64"), ({"x": {"a": 1}}, "x")],
)
def test_an_extension_must_be_named_and_typed_as_cloudevents_says(extra, where) -> None:
    document = {"specversion": "1.0", "id": "1", "source": "/s", "type": "t", "data": {}} | extra
    with pytest.raises(ContractError, match=where):
        validate_envelope(document)


def test_an_event_of_a_type_without_a_schema_is_refused_with_the_type_named() -> None:
    document = {"specversion": "1.0", "id": "1", "source": "/s", "type": "com.example.other", "data": {}}
    with pytest.raises(ContractError, match=re.escape("com.example.other")):
        validate_event(document)
    validate_envelope(document)  # the envelope alone is valid: the ingress answers the type itself
