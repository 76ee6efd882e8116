"""The project's own contracts: layering, generated stubs, the proto's lint, the installed command."""

from __future__ import annotations

import pathlib
import shutil
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
BIN = pathlib.Path(sys.executable).parent


def test_imports_point_inward():
    """The core never imports gRPC or metrics, protobuf only as the compiled form, and only policy/ reads rule files."""
    result = subprocess.run([str(BIN / "lint-imports"), str(ROOT / "pyproject.toml")],
                            cwd=ROOT / "service", capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Contracts: 5 kept, 0 broken" in result.stdout


def test_generated_stubs_are_fresh():
    result = subprocess.run([sys.executable, str(ROOT / "proto" / "generate.py"), "--check"],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_buf_lint_passes_on_the_proto():
    buf = shutil.which("buf", path=str(BIN)) or shutil.which("buf")
    assert buf, "buf is installed with the dev extras (buf-bin)"
    result = subprocess.run([buf, "lint"], cwd=ROOT / "proto", capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def buf() -> str:
    found = shutil.which("buf", path=str(BIN)) or shutil.which("buf")
    assert found, "buf is installed with the dev extras (buf-bin)"
    return found


def test_the_wire_contract_breaks_no_client_built_against_its_baseline():
    """`buf breaking` against proto/discretion-v1.binpb, the contract as the clients were built against it."""
    result = subprocess.run([buf(), "breaking", "--path", "discretion/v1", "--against", "discretion-v1.binpb"],
                            cwd=ROOT / "proto", capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_a_change_that_breaks_the_clients_is_caught(tmp_path):
    changed = tmp_path / "proto"
    shutil.copytree(ROOT / "proto", changed)
    policy = changed / "discretion" / "v1" / "policy.proto"
    policy.write_text(policy.read_text().replace("  string decision_id = 8;", "  string decision_ref = 8;"))
    result = subprocess.run([buf(), "breaking", "--path", "discretion/v1", "--against", str(ROOT / "proto" /
                             "discretion-v1.binpb")], cwd=changed, capture_output=True, text=True)
    assert result.returncode != 0 and 'Field "8" on message "CheckResponse" changed name from "decision_id"' in \
        result.stdout, result.stdout + result.stderr


def test_the_go_package_is_where_the_go_client_keeps_the_generated_code():
    module = (ROOT / "clients" / "go" / "go.mod").read_text().splitlines()[0].removeprefix("module ")
    proto = (ROOT / "proto" / "discretion" / "v1" / "policy.proto").read_text()
    assert f'option go_package = "{module}/discretionv1;discretionv1";' in proto
    assert (ROOT / "clients" / "go" / "discretionv1" / "policy.pb.go").exists()


def test_every_shipped_rule_file_names_the_schema():
    for path in sorted((ROOT / "rules").glob("*.yaml")):
        first = path.read_text().splitlines()[0]
        assert first == "# yaml-language-server: $schema=../service/discretion/policy/schema.json", path


def test_the_schema_offers_editors_the_consent_scopes_of_the_model():
    import json

    from discretion.engine.model import CONSENT_SCOPES

    schema = json.loads((ROOT / "service" / "discretion" / "policy" / "schema.json").read_text())
    offered = schema["$defs"]["consentScope"]["anyOf"][0]
    assert dict(zip(offered["enum"], offered["enumDescriptions"], strict=True)) == CONSENT_SCOPES
