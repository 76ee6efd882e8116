"""Generate the stubs from proto/ into the packages that use them.

The wire contract (discretion/v1): the server and the Python client each keep a
private copy of the generated code, so neither distribution depends on the
other; the TypeScript and Go clients theirs, written by buf with the plugins
their own toolchains bring (protoc-gen-es from npm, protoc-gen-go and
protoc-gen-go-grpc from the Go module proxy: `make proto` installs them). The
TypeScript client also gets google.rpc's Status and BadRequest, from the
.proto files googleapis-common-protos ships, to read the fields a refusal
names (Go has them in genproto). The compiled form (discretion/ir/v1): the service's `discretion.ir`,
which the compiler writes and the evaluator reads. The native engine
(native/) builds its Rust types from one descriptor set of both, written here
so that building it needs no protoc. `--check` regenerates into
a temporary folder and fails if a committed copy differs (the stale-stub test).
"""

from __future__ import annotations

import argparse
import filecmp
import json
import pathlib
import re
import shutil
import subprocess
import sys
import tempfile

from grpc_tools import protoc
import grpc_tools
import google.rpc

ROOT = pathlib.Path(__file__).resolve().parent.parent
PROTO_ROOT = ROOT / "proto"
# (the proto folder, with gRPC services?, where each copy goes)
SETS = [
    ("discretion/v1", True, [ROOT / "service" / "discretion" / "server" / "_gen",
                             ROOT / "clients" / "python" / "src" / "discretion_client" / "_gen"]),
    ("discretion/ir/v1", False, [ROOT / "service" / "discretion" / "ir" / "_gen"]),
]
# Both sets, with the well-known types they import, for the native engine's build.rs.
DESCRIPTOR_SET = ROOT / "native" / "proto" / "discretion.binpb"
BIN = pathlib.Path(sys.executable).parent
TYPESCRIPT = ROOT / "clients" / "typescript"
GO = ROOT / "clients" / "go"
# buf's plugins: (the plugin, where it is, options), output relative to the client's folder.
BUF_SETS = [
    (TYPESCRIPT / "src" / "gen", [("protoc-gen-es", TYPESCRIPT / "node_modules" / ".bin" / "protoc-gen-es",
                                   ["target=ts", "import_extension=js"])], True),
    (GO / "discretionv1", [("protoc-gen-go", BIN / "protoc-gen-go", ["module=github.com/discretion/discretion/clients/go"]),
                           ("protoc-gen-go-grpc", BIN / "protoc-gen-go-grpc",
                            ["module=github.com/discretion/discretion/clients/go"])], False),
]
# The generated gRPC module imports its messages absolutely
# (`from discretion.v1 import policy_pb2`); inside a private package that must
# be a relative import.
_ABSOLUTE_IMPORT = re.compile(r"^from discretion\.v1 import (\w+)", re.MULTILINE)


def generate(out: pathlib.Path, folder: str, services: bool) -> None:
    out.mkdir(parents=True, exist_ok=True)
    include = pathlib.Path(grpc_tools.__file__).parent / "_proto"
    protos = sorted(str(p.relative_to(PROTO_ROOT)) for p in (PROTO_ROOT / folder).glob("*.proto"))
    args = [
        "protoc",
        f"-I{PROTO_ROOT}",
        f"-I{include}",
        f"--python_out={out}",
        f"--pyi_out={out}",
        *([f"--grpc_python_out={out}"] if services else []),
        *protos,
    ]
    if protoc.main(args) != 0:
        raise SystemExit("protoc failed")
    for path in out.rglob("*.py"):
        text = _ABSOLUTE_IMPORT.sub(r"from . import \1", path.read_text())
        path.write_text(text)
    for folder in [out, *[p for p in out.rglob("*") if p.is_dir()]]:
        (folder / "__init__.py").touch()


def _same_tree(a: pathlib.Path, b: pathlib.Path) -> list[str]:
    cmp = filecmp.dircmp(a, b, ignore=["__pycache__"])
    diffs = [str(b / n) for n in cmp.left_only + cmp.right_only + cmp.diff_files]
    for sub in cmp.common_dirs:
        diffs += _same_tree(a / sub, b / sub)
    return diffs


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--check", action="store_true", help="fail if committed stubs are stale")
    args = parser.parse_args(argv)
    stale = []
    for folder, services, targets in SETS:
        stale += _write(folder, services, targets, args.check)
    stale += _write_descriptor_set(args.check)
    for target, plugins, rpc_details in BUF_SETS:
        stale += _write_with_buf(target, plugins, rpc_details, args.check)
    if stale:
        print("stale generated stubs (run `make proto`):", *stale, sep="\n  ", file=sys.stderr)
        return 1
    return 0


def _write(folder: str, services: bool, targets: list[pathlib.Path], check: bool) -> list[str]:
    """The stale copies of one set when checking; otherwise writes them."""
    with tempfile.TemporaryDirectory() as tmp:
        fresh = pathlib.Path(tmp) / "_gen"
        generate(fresh, folder, services)
        stale = []
        for target in targets:
            if check:
                stale += _same_tree(fresh, target) if target.exists() else [str(target)]
            else:
                shutil.rmtree(target, ignore_errors=True)
                shutil.copytree(fresh, target, ignore=shutil.ignore_patterns("__pycache__"))
    return stale


def _write_descriptor_set(check: bool) -> list[str]:
    """The stale descriptor set when checking; otherwise writes it."""
    include = pathlib.Path(grpc_tools.__file__).parent / "_proto"
    protos = sorted(str(p.relative_to(PROTO_ROOT)) for folder, _, _ in SETS for p in (PROTO_ROOT / folder).glob("*.proto"))
    with tempfile.TemporaryDirectory() as tmp:
        fresh = pathlib.Path(tmp) / DESCRIPTOR_SET.name
        if protoc.main(["protoc", f"-I{PROTO_ROOT}", f"-I{include}", "--include_imports",
                        f"--descriptor_set_out={fresh}", *protos]) != 0:
            raise SystemExit("protoc failed")
        if check:
            same = DESCRIPTOR_SET.exists() and DESCRIPTOR_SET.read_bytes() == fresh.read_bytes()
            return [] if same else [str(DESCRIPTOR_SET)]
        DESCRIPTOR_SET.parent.mkdir(parents=True, exist_ok=True)
        DESCRIPTOR_SET.write_bytes(fresh.read_bytes())
    return []


def _write_with_buf(target: pathlib.Path, plugins: list, rpc_details: bool, check: bool) -> list[str]:
    """A client's generated code, by `buf generate` from discretion/v1 (and google.rpc's details when asked)."""
    missing = [str(path) for _, path, _ in plugins if not path.exists()]
    if missing:
        raise SystemExit(f"missing buf plugins {missing}: run `make proto`, which installs them")
    with tempfile.TemporaryDirectory() as tmp:
        module = pathlib.Path(tmp) / "module"
        shutil.copytree(PROTO_ROOT / "discretion" / "v1", module / "discretion" / "v1")
        if rpc_details:
            (module / "google" / "rpc").mkdir(parents=True)
            for name in ("status.proto", "error_details.proto"):
                shutil.copy(pathlib.Path(google.rpc.__path__[0]) / name, module / "google" / "rpc" / name)
        # The client's module path decides where the code lands: out is the module's root.
        out = pathlib.Path(tmp) / "out"
        template = {"version": "v2", "plugins": [
            {"local": str(path), "out": str(out), "opt": options} for _, path, options in plugins]}
        done = subprocess.run([str(BIN / "buf"), "generate", str(module), "--template", json.dumps(template)],
                              capture_output=True, text=True)
        if done.returncode != 0:
            raise SystemExit(f"buf generate failed: {done.stderr}")
        fresh = out if target.parent == TYPESCRIPT / "src" else out / target.name
        if check:
            return _same_tree(fresh, target) if target.exists() else [str(target)]
        shutil.rmtree(target, ignore_errors=True)
        shutil.copytree(fresh, target)
    return []


if __name__ == "__main__":
    sys.exit(main())
