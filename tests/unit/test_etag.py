"""ETags and If-Match: which versions a header admits, and the 412 a stale one gets."""

import pytest
from fastapi import HTTPException, Response

from dispatch_common import etag


def test_a_response_carries_the_revision_quoted() -> None:
    response = Response()
    etag.send(response, 7)
    assert response.headers["ETag"] == '"7"'


@pytest.mark.parametrize("header", [None, "*", '"7"', 'W/"7"', '"6", "7"'])
def test_these_headers_admit_revision_7(header: str | None) -> None:
    assert etag.matches(header, 7)
    etag.require(header, 7)


@pytest.mark.parametrize("header", ['"6"', "7", '"77"', 'W/"6", "8"', ""])
def test_a_stale_or_foreign_tag_is_refused_with_412_and_the_current_tag(header: str) -> None:
    assert not etag.matches(header, 7)
    with pytest.raises(HTTPException) as refused:
        etag.require(header, 7)
    assert refused.value.status_code == 412
    assert refused.value.headers == {"ETag": '"7"'}
