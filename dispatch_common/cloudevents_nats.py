"""CloudEvents on NATS messages, as the NATS protocol binding of CloudEvents 1.0 defines them.

A message is in the *structured* mode when its `Content-Type` header starts with
`application/cloudevents` (matched case-insensitively): the payload is the event in the JSON event
format. Otherwise it is in the *binary* mode: every attribute, extensions included, is a header
named `ce-<attribute>` (header names are case-insensitive), its value percent-encoded UTF-8, and the
payload is the event's data. A message with neither (no content type and no `ce-specversion`) is read
as structured, as a publisher that sets no headers (NATS before 2.2) sends it.

The platform publishes in the structured mode; its ingress reads both. The event's data must be
JSON (a `datacontenttype` of another kind is refused with the reason).
"""

import json
import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any
from urllib.parse import quote, unquote_to_bytes

STRUCTURED_PREFIX = "application/cloudevents"
STRUCTURED_JSON = "application/cloudevents+json"
CONTENT_TYPE = "content-type"
CE_PREFIX = "ce-"
JSON_MEDIA = re.compile(r"^(application|text)/([A-Za-z0-9.+-]+\+)?json( *;.*)?$", re.IGNORECASE)
# What a header value must percent-encode: space, double quote, percent, and everything outside the
# printable ASCII range (the binding's rule); the rest stays as it is.
_SAFE = "".join(chr(c) for c in range(0x21, 0x7F) if chr(c) not in '"%')


class BindingError(ValueError):
    """A message that is no CloudEvent of the NATS binding; the message says what is wrong."""


def _unquote_header(value: str) -> str:
    """Undo an RFC 7230 quoted string (older senders quoted values instead of percent-encoding)."""
    value = value.strip()
    if len(value) >= 2 and value[0] == value[-1] == '"':
        return re.sub(r"\\(.)", r"\1", value[1:-1])
    return value


def decode_header_value(name: str, value: str) -> str:
    """An attribute's value from its header: quoted strings undone, then one round of strict
    percent-decoding (a byte sequence that is not UTF-8 is refused)."""
    try:
        return unquote_to_bytes(_unquote_header(value)).decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BindingError(f"header {CE_PREFIX}{name}: percent-encoded bytes that are not UTF-8") from exc


def encode_header_value(value: Any) -> str:
    """An attribute's header value: its canonical string, percent-encoded where the binding says."""
    if isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, datetime):
        text = value.isoformat().replace("+00:00", "Z")
    else:
        text = str(value)
    return quote(text, safe=_SAFE)


def is_structured(headers: Mapping[str, str] | None) -> bool:
    """Whether a message is in the structured mode (else binary, or structured without headers)."""
    lowered = {k.lower(): v for k, v in (headers or {}).items()}
    if lowered.get(CONTENT_TYPE, "").strip().lower().startswith(STRUCTURED_PREFIX):
        return True
    return f"{CE_PREFIX}specversion" not in lowered


def _json_data(payload: bytes, content_type: str | None) -> Any:
    if content_type is not None and not JSON_MEDIA.match(content_type.strip()):
        raise BindingError(f"datacontenttype {content_type!r}: the data of an event must be JSON")
    if not payload:
        return None
    try:
        return json.loads(payload)
    except ValueError as exc:
        raise BindingError(f"data: not JSON ({exc})") from exc


def decode(headers: Mapping[str, str] | None, payload: bytes) -> dict[str, Any]:
    """The event of a NATS message as a JSON-format document (attributes and `data`); raises
    BindingError when it is not one."""
    if is_structured(headers):
        try:
            document = json.loads(payload)
        except ValueError as exc:
            raise BindingError(f"structured mode: the payload is not JSON ({exc})") from exc
        if not isinstance(document, dict):
            raise BindingError("structured mode: the payload is not a JSON object")
        if "data_base64" in document:
            raise BindingError("data_base64: the data of an event must be JSON, not binary")
        # the JSON event format treats an attribute whose value is null as absent
        return {k: v for k, v in document.items() if v is not None or k == "data"}
    document: dict[str, Any] = {}
    for key, value in (headers or {}).items():
        name = key.lower()
        if name.startswith(CE_PREFIX) and len(name) > len(CE_PREFIX):
            attribute = name[len(CE_PREFIX) :]
            if attribute == "data":
                raise BindingError("header ce-data: data travels as the payload in the binary mode")
            document[attribute] = decode_header_value(attribute, value)
    data = _json_data(payload, document.get("datacontenttype"))
    if data is not None:
        document["data"] = data
    return document


def encode_structured(event: Mapping[str, Any]) -> tuple[dict[str, str], bytes]:
    """Headers and payload of an event (a JSON-format document) in the structured mode."""
    body = json.dumps(event, ensure_ascii=False).encode()
    return {CONTENT_TYPE: STRUCTURED_JSON}, body


def encode_binary(event: Mapping[str, Any]) -> tuple[dict[str, str], bytes]:
    """Headers and payload of an event (a JSON-format document) in the binary mode."""
    headers = {
        f"{CE_PREFIX}{name}": encode_header_value(value)
        for name, value in event.items()
        if name != "data" and value is not None
    }
    data = event.get("data")
    body = b"" if data is None else json.dumps(data, ensure_ascii=False).encode()
    return headers, body
