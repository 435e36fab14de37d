"""What the storage layer asks of the MongoDB server it is given."""

import pytest

from dispatch_common.store import check_client_bulk_write


def test_a_server_older_than_mongodb_8_is_refused_with_the_reason():
    with pytest.raises(RuntimeError, match=r"MongoDB 8\.0 or later.*wire version is 21"):
        check_client_bulk_write({"maxWireVersion": 21})  # MongoDB 7.0


def test_mongodb_8_and_later_are_accepted():
    check_client_bulk_write({"maxWireVersion": 25})
    check_client_bulk_write({"maxWireVersion": 27})
