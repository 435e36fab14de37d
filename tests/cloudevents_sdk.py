"""CloudEvents made and read with the CloudEvents Python SDK, on NATS messages as the NATS protocol
binding says: the SDK has bindings for HTTP, Kafka and AMQP but none for NATS, so this maps its events
to and from (headers, payload) pairs. It uses the SDK's own JSON event format and header-value
encoding, never the platform's adapter (dispatch_common/cloudevents_nats.py), so the two check each
other."""

from typing import Any

from cloudevents.core.bindings.common import decode_header_value, encode_header_value
from cloudevents.core.formats.json import JSONFormat
from cloudevents.core.v1.event import CloudEvent

CE = "ce-"
FORMAT = JSONFormat()


def event(attributes: dict[str, Any], data: dict[str, Any] | None) -> CloudEvent:
    """A CloudEvent as an integrator makes one (the SDK fills `id`, `specversion` and `time`)."""
    return CloudEvent(attributes=dict(attributes), data=data)


def to_structured(ce: CloudEvent) -> tuple[dict[str, str], bytes]:
    """The structured mode: the JSON event format as the payload, its media type as Content-Type."""
    return {"content-type": FORMAT.get_content_type()}, FORMAT.write(ce)


def to_binary(ce: CloudEvent) -> tuple[dict[str, str], bytes]:
    """The binary mode: every attribute a `ce-` header (percent-encoded), the data as the payload."""
    attributes = ce.get_attributes()
    headers = {
        f"{CE}{name}": encode_header_value(value) for name, value in attributes.items() if value is not None
    }
    return headers, FORMAT.write_data(ce.get_data(), attributes.get("datacontenttype"))


def from_nats(headers: dict[str, str] | None, payload: bytes) -> CloudEvent:
    """A received message as the SDK's CloudEvent, in whichever mode it came."""
    lowered = {k.lower(): v for k, v in (headers or {}).items()}
    if lowered.get("content-type", "").startswith("application/cloudevents"):
        return FORMAT.read(None, payload)  # type: ignore[return-value]
    attributes = {
        k[len(CE) :]: decode_header_value(k[len(CE) :], v) for k, v in lowered.items() if k.startswith(CE)
    }
    data = FORMAT.read_data(payload, attributes.get("datacontenttype"))
    return CloudEvent(attributes=attributes, data=data)
