"""The CI entry point itself: CI runs `.ci/run` on a clean checkout, so a shell syntax error there fails
every run before a single test starts (it happened once, after a merge folded two edits into a comment)."""

import shutil
import subprocess

from tests.deploy_support import REPO

CI_RUN = REPO / ".ci" / "run"


def test_the_ci_entry_point_is_valid_shell_and_runs_the_whole_suite() -> None:
    bash = shutil.which("bash")
    assert bash is not None
    parsed = subprocess.run([bash, "-n", str(CI_RUN)], capture_output=True, text=True)
    assert parsed.returncode == 0, parsed.stderr
    commands = [
        line.strip()
        for line in CI_RUN.read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    ]
    assert "set -euo pipefail" in commands, "a failing step must fail the run"
    assert commands[-1] == "make test", "the run's exit status is the suite's"
