"""A bounded schemathesis run against intake's OpenAPI: whatever the schema allows, no server error."""

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

pytestmark = pytest.mark.e2e

EXAMPLES_PER_OPERATION = 30


def test_no_input_the_schema_allows_makes_intake_fail(stack, as_role):
    base = stack.url("intake")
    schema = schemathesis.openapi.from_url(f"{base}/openapi.json")
    headers = {"Authorization": f"Bearer {as_role('dispatcher').token}"}
    failures: list[str] = []
    operations = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        operations += 1

        @settings(
            max_examples=EXAMPLES_PER_OPERATION,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        @given(case=operation.as_strategy())
        def probe(case) -> None:
            response = case.call(base_url=base, headers=headers, timeout=10)
            if response.status_code >= 500:
                failures.append(
                    f"{case.method} {case.formatted_path}: {response.status_code} {response.text[:200]}"
                )

        probe()
    assert operations >= 8
    assert failures == []
