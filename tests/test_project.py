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


def test_a_generic_validator_reports_the_errors_of_the_kind_of_file_it_is():
    """An editor's validator knows nothing of our diagnostics: the schema itself must send each file to one
    branch, so a broken agreement is told about its own fields, never that it lacks `suite:`."""
    import json

    import jsonschema

    from discretion.source import parse

    def read(text: str):  # as an editor reads YAML: times stay text
        return parse(text, "file.yaml")[0].data

    schema = json.loads((ROOT / "service" / "discretion" / "policy" / "schema.json").read_text())
    assert schema["$id"].endswith(".json") and "oneOf" not in schema
    validator = jsonschema.Draft202012Validator(schema)
    for path in sorted((ROOT / "rules").glob("*.yaml")):
        assert not list(validator.iter_errors(read(path.read_text()))), path
    agreement = read((ROOT / "rules" / "chatham-house.yaml").read_text().replace("effect: allow", "effect: alow", 1))
    errors = list(validator.iter_errors(agreement))
    assert errors and all(list(e.absolute_path)[:1] == ["versions"] for e in errors), [e.message for e in errors]
    suite = read((ROOT / "rules" / "tlp.test.yaml").read_text())
    suite["cases"][0]["expectt"] = suite["cases"][0].pop("expect")
    errors = list(validator.iter_errors(suite))
    assert errors and all(list(e.absolute_path)[:1] == ["cases"] for e in errors), [e.message for e in errors]


def test_the_changelog_has_the_packages_version():
    import tomllib

    version = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    assert f"## [{version}]" in (ROOT / "CHANGELOG.md").read_text()
    assert (ROOT / "LICENSE").read_text().startswith(" " * 33 + "Apache License\n")
