"""Open311 GeoReport v2 answers in the format the path's extension names: `.json` or `.xml`.

XML follows the specification's documents: a root element holding one element per item
(`<services><service>`, `<service_requests><request>`, `<service_definition>`), a field per child
element, a list of values nested (`<attributes><attribute>`, `<values><value>`), booleans as
`true`/`false`, and an unknown value left out. Errors, in both formats, are the specification's:
`[{"code": 400, "description": "..."}]` and `<errors><error><code/><description/></error></errors>`.
The XML is written by the standard library; nothing is parsed from XML here (requests are posted as
form fields or JSON).
"""

import xml.etree.ElementTree as ET
from typing import Any, Literal

from fastapi.responses import JSONResponse, Response

Fmt = Literal["json", "xml"]
FORMATS: tuple[Fmt, ...] = ("json", "xml")
XML_MEDIA = "text/xml; charset=utf-8"
# The element that holds each item of a list in XML, by the list's element name.
ITEM_OF = {
    "services": "service",
    "service_requests": "request",
    "attributes": "attribute",
    "values": "value",
    "errors": "error",
}


def fmt_of(extension: str) -> Fmt | None:
    """The format an extension names, or None."""
    lowered = extension.lower()
    return lowered if lowered in FORMATS else None  # type: ignore[return-value]


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _fill(parent: ET.Element, name: str, value: Any) -> None:
    if value is None:
        return
    element = ET.SubElement(parent, name)
    if isinstance(value, list):
        item = ITEM_OF.get(name, "item")
        for entry in value:
            _fill_item(element, item, entry)
    elif isinstance(value, dict):
        for key, inner in value.items():
            _fill(element, key, inner)
    else:
        element.text = _text(value)


def _fill_item(parent: ET.Element, name: str, entry: Any) -> None:
    if isinstance(entry, dict):
        element = ET.SubElement(parent, name)
        for key, inner in entry.items():
            _fill(element, key, inner)
    else:
        _fill(parent, name, entry)


def to_xml(root: str, payload: list[dict[str, Any]] | dict[str, Any]) -> bytes:
    """A list (of services, requests, errors) or one document (a service definition) as XML."""
    element = ET.Element(root)
    if isinstance(payload, list):
        for entry in payload:
            _fill_item(element, ITEM_OF[root], entry)
    else:
        for key, value in payload.items():
            _fill(element, key, value)
    return ET.tostring(element, encoding="utf-8", xml_declaration=True)


def answer(
    fmt: Fmt,
    root: str,
    payload: list[dict[str, Any]] | dict[str, Any],
    *,
    status: int = 200,
    headers: dict[str, str] | None = None,
) -> Response:
    """An answer in the requested format."""
    if fmt == "xml":
        return Response(to_xml(root, payload), status_code=status, media_type=XML_MEDIA, headers=headers)
    return JSONResponse(payload, status_code=status, headers=headers)


def error(fmt: Fmt, code: int, *descriptions: str) -> Response:
    """The specification's error answer, one entry per problem, with the HTTP status `code`."""
    errors = [{"code": code, "description": d} for d in descriptions]
    return answer(fmt, "errors", errors, status=code)
