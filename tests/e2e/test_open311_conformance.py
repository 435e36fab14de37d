"""The Open311 door as GeoReport v2 clients see it: every endpoint in JSON and in XML, and the errors,
each answer validated against the schemas this project wrote from the specification (tests/open311/).

JSON is read with a third-party client from PyPI (`georeport`); it cannot post, and no maintained
client reads XML, so a small driver (tests/open311_driver.py) posts and reads XML.
"""

import uuid
from collections import Counter

import pytest
from georeport import GeoReport

from tests.open311_driver import Driver, json_problems, xml_items

pytestmark = pytest.mark.e2e

COUNTY = "990102"
FORMATS = ("json", "xml")


class Tally:
    """Answers validated, by endpoint and format, and every problem found."""

    def __init__(self) -> None:
        self.answers: Counter[tuple[str, str]] = Counter()
        self.problems: list[str] = []

    def check(self, endpoint: str, fmt: str, problems: list[str]) -> None:
        self.answers[(endpoint, fmt)] += 1
        self.problems += [f"{endpoint}.{fmt}: {p}" for p in problems]


def test_every_endpoint_answers_in_json_and_xml_as_the_specification_says(stack, open311_keys):
    base = stack.url("intake") + "/open311/v2"
    key = open311_keys["city-311"]
    tally = Tally()
    # JSON, with the third-party client: no key for the service list, definitions and reading
    reader = GeoReport(base, jurisdiction=COUNTY)
    services = reader.get_service_list()
    tally.check("GET services", "json", json_problems(services, "services"))
    asking = next(s["service_code"] for s in services if s["metadata"])  # a service with attributes
    definition = reader.get_service_definition(asking)
    tally.check("GET services/{code}", "json", json_problems(definition, "service_definition"))
    assert definition["service_code"] == asking and definition["attributes"]

    # the attributes the definition names are what a request gives
    attribute = definition["attributes"][0]
    value = attribute["values"][0]["key"] if attribute["values"] else "3"
    fields = {
        "service_code": asking,
        "description": "路灯不亮，晚上很黑。",
        f"attribute[{attribute['code']}]": value,
    }
    app = Driver(base, api_key=key, jurisdiction=COUNTY)
    created = {}
    for fmt in FORMATS:
        answer = app.post(fmt, fields, idempotency_key=str(uuid.uuid4()))
        assert answer.status == 201, answer.raw
        tally.check("POST requests", fmt, answer.problems("created"))
        created[fmt] = (
            answer.document[0]["service_request_id"]
            if fmt == "json"
            else xml_items(answer, "request")[0]["service_request_id"]
        )

    ids = ",".join(created.values())
    listed = reader.get_service_requests(service_request_id=ids)
    tally.check("GET requests", "json", json_problems(listed, "service_requests"))
    assert {r["service_request_id"] for r in listed} == set(created.values())
    one = reader.get_service_request(created["json"])
    tally.check("GET requests/{id}", "json", json_problems([one], "service_requests"))
    assert one["status"] == "open" and one["description"] is None  # keyless: public fields only

    # XML, with the driver
    keyless = Driver(base, jurisdiction=COUNTY)
    tally.check("GET services", "xml", keyless.get("services", "xml").problems("services"))
    tally.check(
        "GET services/{code}", "xml", keyless.get(f"services/{asking}", "xml").problems("service_definition")
    )
    for who in (keyless, app):
        tally.check(
            "GET requests",
            "xml",
            who.get("requests", "xml", service_request_id=ids).problems("service_requests"),
        )
        got = who.get(f"requests/{created['xml']}", "xml")
        tally.check("GET requests/{id}", "xml", got.problems("service_requests"))
    [mine] = xml_items(app.get(f"requests/{created['xml']}", "xml"), "request")
    assert mine["description"] == fields["description"].replace("，", ",")  # its own, in full

    # errors, in the specification's format, in both
    for fmt in FORMATS:
        for answer, status in (
            (keyless.post(fmt, fields), 403),  # submitting needs a key
            (Driver(base, api_key="not-a-key").get("requests", fmt), 403),
            (keyless.get("services/0000", fmt), 404),
            (keyless.get(f"requests/{COUNTY}-1900-000001", fmt), 404),
            (keyless.get("requests", fmt, start_date="yesterday"), 400),
            (keyless.get("services", fmt, jurisdiction_id="elsewhere.example"), 400),
            (
                app.post(fmt, {"service_code": asking, "description": "x"}),
                400,
            ),  # a required attribute missing
        ):
            assert answer.status == status, answer.raw
            tally.check(f"error {status}", fmt, answer.problems("errors"))
    unknown = keyless.http.get(f"{base}/services.yaml")
    assert unknown.status_code == 404 and json_problems(unknown.json(), "errors") == []

    endpoints = {e for e, _ in tally.answers if not e.startswith("error")}
    pairs = {(e, f) for e, f in tally.answers if e in endpoints}
    print(
        f"\nopen311 conformance: {len(endpoints)} endpoints x {len(FORMATS)} formats = {len(pairs)} "
        f"validated ({sum(tally.answers.values())} answers, errors included); "
        f"schema problems {len(tally.problems)}"
    )
    assert len(pairs) == len(endpoints) * len(FORMATS) == 10
    assert tally.problems == []
