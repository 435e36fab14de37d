"""Test modules have names of their own across tests/: the folders are not packages, so two modules
named alike stop the whole suite at collection (it happened twice when parallel branches met)."""

from collections import Counter

from tests.deploy_support import REPO


def test_no_two_test_modules_share_a_name() -> None:
    names = Counter(path.name for path in (REPO / "tests").rglob("test_*.py"))
    assert [name for name, count in names.items() if count > 1] == []
