"""`make clients-check`: generate a Python client for each service from its live OpenAPI document, as a
department's developer would, and call one endpoint with it.

The platform is started on free ports (or `--base-url service=url` names running services), each
service's `/openapi.json` is downloaded and given to `openapi-python-client` (pinned in
requirements/clients.lock, installed in its own virtualenv by the Makefile, since its own pins clash
with ours), and the generated package is imported, in that virtualenv, to call one authenticated read
as a dispatcher; the call must answer 200. It also counts the operations whose success answers have
no schema (a generated client returns them untyped): the figure for what is left to describe.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import urllib.request
from pathlib import Path
from typing import Any

from devtools.keys import issue_token

# One authenticated read per service, by method and path, that a dispatcher may call.
CALLS = {
    "intake": ("get", "/v1/screening/queue"),
    "routing": ("get", "/v1/disputes"),
    "mediation": ("get", "/v1/mediation-organizations"),
    "supervision": ("get", "/v1/cases"),
    "notify": ("get", "/v1/templates"),
}
CALL = """
import importlib, pkgutil, sys
package, module_name, base_url, token = sys.argv[1:5]
client_module = importlib.import_module(package)
api = importlib.import_module(package + ".api")
modules = [m.name for m in pkgutil.walk_packages(api.__path__, package + ".api.")]
operation = importlib.import_module(next(m for m in modules if m.endswith("." + module_name)))
client = client_module.AuthenticatedClient(base_url=base_url, token=token, raise_on_unexpected_status=False)
answer = operation.sync_detailed(client=client)
print(answer.status_code.value if hasattr(answer.status_code, "value") else int(answer.status_code))
"""


def untyped(document: dict[str, Any]) -> list[str]:
    """The operations whose JSON success answers carry no schema a generator can type (none, or an
    object with no declared properties); HTML documents and the metrics' text are not counted."""
    missing = []
    for path, operations in document.get("paths", {}).items():
        for method, operation in operations.items():
            successes = [r for s, r in operation.get("responses", {}).items() if s.startswith("2")]
            contents = [(t, c) for r in successes for t, c in (r.get("content") or {}).items()]
            schemas = [c.get("schema") or {} for t, c in contents if "json" in t]
            described = [s for s in schemas if s.get("$ref") or s.get("properties") or s.get("items")]
            if schemas and not described:
                missing.append(f"{method.upper()} {path}")
    return missing


def snake(name: str) -> str:
    """openapi-python-client's module name of an operation id (camelCase -> snake_case)."""
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in name).lstrip("_")


def check(service: str, base_url: str, token: str, tool_bin: Path, work: Path) -> tuple[int, list[str]]:
    """Generate the service's client (refused when the generator warns: a piece would be missing) and
    call its read; (status, untyped operations)."""
    with urllib.request.urlopen(f"{base_url}/openapi.json", timeout=30) as answer:
        document = json.load(answer)
    spec = work / f"{service}.json"
    spec.write_text(json.dumps(document))
    out = work / f"{service}_client"
    config = work / f"{service}.yaml"
    config.write_text(f"project_name_override: {service}-client\npackage_name_override: {service}_client\n")
    generator = [tool_bin / "openapi-python-client", "generate", "--meta", "none", "--overwrite"]
    generated = subprocess.run(  # its post-hooks (ruff) come from its own virtualenv
        [*generator, "--path", spec, "--output-path", out, "--config", config],
        check=True,
        capture_output=True,
        text=True,
        env=os.environ | {"PATH": f"{tool_bin}{os.pathsep}{os.environ.get('PATH', '')}"},
    )
    if "warning" in (generated.stdout + generated.stderr).lower():
        raise SystemExit(f"{service}: the generator warned:\n{generated.stdout}{generated.stderr}")
    method, path = CALLS[service]
    operation_id = document["paths"][path][method]["operationId"]
    called = subprocess.run(
        [tool_bin / "python", "-c", CALL, f"{service}_client", snake(operation_id), base_url, token],
        check=True,
        capture_output=True,
        text=True,
        cwd=work,
        env={"PYTHONPATH": str(work)},
    )
    return int(called.stdout.strip().splitlines()[-1]), untyped(document)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tool-bin", type=Path, required=True, help="bin/ of openapi-python-client's venv")
    parser.add_argument("--base-url", action="append", default=[], help="service=url of a running service")
    parser.add_argument("--keys-dir", type=Path, help="the running services' keys (with --base-url)")
    args = parser.parse_args()
    args.tool_bin = args.tool_bin.resolve()
    given = dict(item.split("=", 1) for item in args.base_url)
    with tempfile.TemporaryDirectory(prefix="clients-check-") as tmp:
        work = Path(tmp)
        stack = None
        if not given:
            from devtools.stack import SERVICES, Stack, free_port

            stack = Stack(run_dir=work / "run", ports={s: free_port() for s in SERVICES})
            stack.extra_env = {"ENVIRONMENT": "test", "RATE_LIMIT_ENABLED": "false"}
        try:
            if stack is not None:
                stack.start()
            keys = stack.keys_dir if stack is not None else args.keys_dir or Path(".run/keys")
            token = issue_token(keys, role="dispatcher")
            failures, total_untyped, open311 = 0, 0, 0
            for service in CALLS:
                base = given.get(service) or (stack.url(service) if stack else "")
                status, missing = check(service, base, token, args.tool_bin, work)
                total_untyped += len(missing)
                open311 += sum("/open311/" in name for name in missing)
                ok = status == 200
                failures += not ok
                call = f"{CALLS[service][0].upper()} {CALLS[service][1]}"
                print(f"{service}: client generated, {call} -> {status}; untyped: {len(missing)}")
                for name in missing:
                    print(f"    untyped {name}")
            print(f"operations whose JSON answer has no schema: {total_untyped} (Open311's: {open311})")
        finally:
            if stack is not None:
                stack.stop()
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
