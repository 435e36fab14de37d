"""What every error answer of the five services looks like (RFC 9457 problem details)."""

import httpx

PROBLEM_KEYS = {"type", "title", "status", "detail", "code"}


def assert_problem(answer: httpx.Response, status: int, code: str | None = None) -> dict:
    """The answer is a problem of this status (and code), its detail a string, field errors in shape."""
    assert answer.status_code == status, (answer.status_code, answer.text[:300])
    assert answer.headers["content-type"] == "application/problem+json", answer.headers["content-type"]
    body = answer.json()
    assert PROBLEM_KEYS <= body.keys() <= PROBLEM_KEYS | {"errors"}, body
    assert body["status"] == status and isinstance(body["detail"], str) and body["detail"]
    assert body["type"] == "/problems/" + body["code"].replace("_", "-")
    if code is not None:
        assert body["code"] == code, body
    for error in body.get("errors") or ():
        assert error.keys() == {"loc", "msg", "type"}, error  # never the submitted value
        assert isinstance(error["loc"], list) and isinstance(error["msg"], str)
    assert answer.headers["cache-control"] == "no-store"
    return body
