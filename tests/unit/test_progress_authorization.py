"""Who may call the progress lookup's operations: the petitioner's three need no token (`public`), and
only clerks and supervisors re-issue or revoke a code; no token's role reaches them as a petitioner."""

from dispatch_common.auth import Role
from dispatch_common.authz import AuthorizationTable, load_table

PUBLIC = ("POST /v1/public/progress", "POST /v1/public/progress/rating", "POST /v1/public/progress/review")


def test_the_petitioners_operations_take_no_token_and_no_role():
    table = load_table()
    for operation in PUBLIC:
        grant = table.grant("supervision", *operation.split(" "))
        assert grant is not None and grant.public and not grant.open311 and grant.roles == {}


def test_clerks_and_supervisors_reissue_and_revoke_codes_and_the_petitioner_role_nothing():
    table = load_table()
    for method in ("POST", "DELETE"):
        grant = table.grant("intake", method, "/v1/cases/{case_id}/lookup-code")
        assert grant is not None and set(grant.roles) == {
            "reception_clerk",
            "dispatcher",
            "supervisor",
            "admin",
        }
    granted = [
        f"{service} {operation}"
        for service, operations in table.operations.items()
        for operation, grant in operations.items()
        if Role.PETITIONER.value in grant.roles
    ]
    assert granted == []


def test_public_is_read_as_a_marker_like_open311():
    table = AuthorizationTable.parse(
        {"operations": {"s": {"POST /a": "public", "GET /b": "open311"}}}, {r.value for r in Role}
    )
    assert table.grant("s", "POST", "/a").public and not table.grant("s", "POST", "/a").open311
    assert table.grant("s", "GET", "/b").open311 and not table.grant("s", "GET", "/b").public
