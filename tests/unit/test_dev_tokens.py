"""`make token` (devtools/keys.py): a token for a unit of the county package or a mediation
organization of the organizations file, and none for a code neither knows."""

import sys

import jwt
import pytest

from devtools import keys
from tests.mediation_cases import LABOUR_MEDIATION, POLICE_STATION, TOWN


def token_for(monkeypatch, capsys, tmp_path, unit: str) -> dict:
    argv = ["keys", "--role", "mediator", "--unit", unit, "--run-dir", str(tmp_path)]
    monkeypatch.setattr(sys, "argv", argv)
    keys.main()
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 1  # the token and nothing else, for $(make -s token ...)
    return jwt.decode(out[0], options={"verify_signature": False})


def test_a_unit_of_the_package_gets_its_area_and_an_organization_of_the_file_none(
    monkeypatch, capsys, tmp_path
):
    unit = token_for(monkeypatch, capsys, tmp_path, POLICE_STATION)
    assert (unit["unit"], unit["area"]) == (POLICE_STATION, TOWN)
    organization = token_for(monkeypatch, capsys, tmp_path, LABOUR_MEDIATION)
    assert organization["unit"] == LABOUR_MEDIATION and "area" not in organization


def test_a_code_neither_the_package_nor_the_organizations_file_has_is_refused(monkeypatch, capsys, tmp_path):
    with pytest.raises(SystemExit) as exit_:
        token_for(monkeypatch, capsys, tmp_path, "NO-SUCH-UNIT")
    assert exit_.value.code == 2 and "organization" in capsys.readouterr().err
    assert not keys.is_mediation_organization(tmp_path / "missing.json", LABOUR_MEDIATION)
