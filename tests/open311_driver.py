"""A small Open311 GeoReport v2 driver for what no maintained PyPI client does: posting requests, and
reading XML answers. Every answer can be checked against the project's schemas, written from the
specification (tests/open311/): JSON Schema for JSON, XML Schema for XML."""

import json
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

import httpx
import xmlschema
from jsonschema import Draft202012Validator, FormatChecker

SCHEMAS = Path(__file__).parent / "open311"
ROOTS = {  # the XML root element of each answer's JSON definition
    "services": "services",
    "service_definition": "service_definition",
    "created": "service_requests",
    "service_requests": "service_requests",
    "errors": "errors",
}


FORMATS = FormatChecker()


@FORMATS.checks("date-time", raises=ValueError)
def _datetime(value: object) -> bool:
    """RFC 3339 date and time with a zone, as the specification's W3C format asks (checked here: the
    jsonschema package checks it only with an optional dependency)."""
    if not isinstance(value, str):
        return True
    return datetime.fromisoformat(value.replace("Z", "+00:00")).tzinfo is not None


@cache
def _json_schema() -> dict[str, Any]:
    return json.loads((SCHEMAS / "georeport-v2.schema.json").read_text(encoding="utf-8"))


@cache
def _xsd() -> xmlschema.XMLSchema:
    return xmlschema.XMLSchema(str(SCHEMAS / "georeport-v2.xsd"))


def json_problems(document: Any, definition: str) -> list[str]:
    """Where a JSON answer breaks the GeoReport v2 definition (`services`, `request`, `errors`...)."""
    schema = {"$ref": f"#/$defs/{definition}", "$defs": _json_schema()["$defs"]}
    validator = Draft202012Validator(schema, format_checker=FORMATS)
    return [
        f"{'/'.join(map(str, e.absolute_path)) or '(root)'}: {e.message}"
        for e in validator.iter_errors(document)
    ]


def xml_problems(raw: bytes, definition: str) -> list[str]:
    """Where an XML answer breaks the specification's document for this answer."""
    root = ET.fromstring(raw)
    problems = [] if root.tag == ROOTS[definition] else [f"root <{root.tag}>, not <{ROOTS[definition]}>"]
    problems += [str(e.reason or e) for e in _xsd().iter_errors(raw.decode("utf-8"))]
    if definition == "service_requests":  # what a request listed must carry beyond the post answer's
        for request in root:
            missing = [n for n in ("status", "requested_datetime") if request.find(n) is None]
            problems += [f"<request> without <{n}>" for n in missing]
    return problems


@dataclass
class Answer:
    """One answer: its HTTP status, media type, the body as read, and the raw bytes."""

    status: int
    media_type: str
    document: Any  # JSON value, or the XML root element
    raw: bytes

    def problems(self, definition: str) -> list[str]:
        """Where it breaks the specification (its format told by its media type)."""
        if "xml" in self.media_type:
            return xml_problems(self.raw, definition)
        return json_problems(self.document, definition)


class Driver:
    """Calls one GeoReport v2 endpoint root (…/open311/v2) as a 311 app would."""

    def __init__(self, base: str, *, api_key: str | None = None, jurisdiction: str | None = None) -> None:
        self.base, self.api_key, self.jurisdiction = base.rstrip("/"), api_key, jurisdiction
        self.http = httpx.Client(timeout=10.0)

    def _answer(self, response: httpx.Response) -> Answer:
        media = response.headers.get("content-type", "")
        raw = response.content
        document = ET.fromstring(raw) if "xml" in media else response.json()
        return Answer(response.status_code, media, document, raw)

    def get(self, path: str, fmt: str, **params: Any) -> Answer:
        """GET `<path>.<fmt>` with the client's key and jurisdiction where it has them."""
        query = {k: v for k, v in params.items() if v is not None}
        if self.api_key and "api_key" not in params:
            query["api_key"] = self.api_key
        if self.jurisdiction:
            query.setdefault("jurisdiction_id", self.jurisdiction)
        return self._answer(self.http.get(f"{self.base}/{path}.{fmt}", params=query))

    def post(self, fmt: str, fields: dict[str, Any], *, idempotency_key: str | None = None) -> Answer:
        """POST a request as form fields (the specification's encoding), with the client's key."""
        form = dict(fields)
        if self.api_key and "api_key" not in form:
            form["api_key"] = self.api_key
        if self.jurisdiction:
            form.setdefault("jurisdiction_id", self.jurisdiction)
        headers = {"Idempotency-Key": idempotency_key} if idempotency_key else {}
        return self._answer(self.http.post(f"{self.base}/requests.{fmt}", data=form, headers=headers))


def xml_items(answer: Answer, item: str) -> list[dict[str, str | None]]:
    """The items of an XML list answer as flat dicts of their child elements' text."""
    return [{child.tag: child.text for child in element} for element in answer.document.findall(item)]
